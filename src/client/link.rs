//! What both protocol loops of a client session share: the [`Link`] to the UI (batches, the
//! coalescing [`Feed`], pauses in reading while the UI is backlogged), the reconnect [`Backoff`],
//! and the [`Outbox`] that tells each publish request's fate.
//!
//! When the UI falls behind, a connection first stops reading for a while (TCP flow control slows
//! the broker down, and history stays whole); if the UI is still behind, its messages are coalesced
//! per topic. Nothing is dropped inside mqscope.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::model::profile::Profile;
use crate::model::{ConnId, ConnStatus, Message, QoS};
use crate::protocol::recording::RecordSlot;
use crate::protocol::{BATCH, Event, EventSink, Feed, PublishId, PublishOutcome};

/// Longest a received message waits in a batch.
pub const BATCH_DELAY: Duration = Duration::from_millis(15);
/// Longest a connection stops reading while the UI is backlogged, at most a quarter of its keep-alive
/// (rumqttc sends its pings while it is polled).
const MAX_READ_PAUSE: Duration = Duration::from_secs(1);

/// Reconnect delays: 1 s, doubling, capped.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max_secs: u16) -> Self {
        Self { next: Duration::from_secs(1), max: Duration::from_secs(u64::from(max_secs.max(1))) }
    }

    /// After a successful CONNACK.
    pub fn reset(&mut self) {
        self.next = Duration::from_secs(1);
    }

    /// The delay before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next.min(self.max);
        self.next = (self.next * 2).min(self.max);
        d
    }
}

/// What both protocol loops share: the sink, the pending batch, the back-off.
#[derive(Debug)]
pub struct Link {
    /// Which connection.
    pub conn_id: ConnId,
    /// To the UI, for control events.
    pub sink: EventSink,
    /// To the UI, for messages.
    feed: Feed,
    /// Messages not yet sent to the UI.
    batch: Vec<Message>,
    /// When the batch goes to the UI at the latest ([`BATCH_DELAY`] after its first message), or
    /// when coalesced runs are offered to the UI again.
    flush_at: tokio::time::Instant,
    /// Fires at `flush_at`: one timer for the connection's life, moved when `flush_at` moves (a new
    /// timer per loop turn would register and cancel one per message in the runtime's timer wheel).
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// How long to stop reading while the UI is backlogged.
    read_pause: Duration,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// This connection's recording, fed before any coalescing.
    recording: Arc<RecordSlot>,
}

impl Link {
    /// A link for connection `conn_id` with `profile`'s keep-alive and reconnect settings.
    #[must_use]
    pub fn new(conn_id: ConnId, profile: &Profile, sink: EventSink, recording: Arc<RecordSlot>) -> Self {
        Self {
            conn_id,
            sink: sink.clone(),
            feed: Feed::new(sink, conn_id),
            batch: Vec::new(),
            flush_at: tokio::time::Instant::now(),
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            read_pause: MAX_READ_PAUSE.min(Duration::from_secs(u64::from(profile.keep_alive_secs.max(1))) / 4),
            backoff: Backoff::new(profile.reconnect_max_secs),
            recording,
        }
    }

    /// Report a new state.
    pub async fn status(&self, status: ConnStatus) {
        self.sink.control(Event::ConnStatus { conn_id: self.conn_id, status }).await;
    }

    /// Queue a received message, and send the batch once it is full (else at [`Self::flush_at`]).
    /// While the UI is backlogged, wait a little for it before reading on; once even that was not
    /// enough (it is coalescing), read on at full speed: a UI that does not fold at all (hidden,
    /// stuck) must not starve the connection of its pings nor leave the broker to drop for us.
    pub async fn push(&mut self, msg: Message) {
        self.recording.offer(&msg);
        if self.batch.is_empty() {
            self.flush_at = tokio::time::Instant::now() + BATCH_DELAY;
        }
        self.batch.push(msg);
        if self.batch.len() >= BATCH {
            self.flush();
            if !self.feed.is_coalescing() {
                self.sink.room(self.read_pause).await;
            }
        }
    }

    /// True when [`Self::flush`] has work: a batch to send or runs to offer.
    #[must_use]
    pub fn flush_due(&self) -> bool {
        !self.batch.is_empty() || self.feed.is_coalescing()
    }

    /// Completes when [`Self::flush`] is due (use with [`Self::flush_due`] as the guard).
    pub async fn flush_timer(&mut self) {
        if self.timer.deadline() != self.flush_at {
            self.timer.as_mut().reset(self.flush_at);
        }
        self.timer.as_mut().await;
    }

    /// Send the batch to the UI (coalesced if it has no room), and offer waiting runs again.
    pub fn flush(&mut self) {
        self.feed.send(std::mem::take(&mut self.batch));
        if !self.feed.flush() {
            self.flush_at = tokio::time::Instant::now() + BATCH_DELAY;
        }
    }

    /// A failed attempt or a lost session: report it, then wait (or give up when auto-reconnect is off).
    /// Returns false when the loop should end.
    pub async fn failed(&mut self, error: String, auto_reconnect: bool) -> bool {
        self.flush();
        if !auto_reconnect {
            self.status(ConnStatus::Disconnected { error: Some(error) }).await;
            return false;
        }
        let delay = self.backoff.next_delay();
        self.status(ConnStatus::Reconnecting { in_secs: delay.as_secs(), error }).await;
        tokio::time::sleep(delay).await;
        self.status(ConnStatus::Connecting).await;
        true
    }

    /// A filter the broker refused.
    pub async fn subscribe_failed(&self, filter: &str, reason: String) {
        self.sink.control(Event::SubscribeFailed { conn_id: self.conn_id, filter: filter.to_owned(), reason }).await;
    }
}

/// The user's publishes on their way through rumqttc, to report each one's outcome truthfully:
/// ids in the order they were handed over and not yet written, then (QoS 1/2) by packet id until
/// the broker acknowledges them. rumqttc writes requests in order, so the n-th
/// `Outgoing::Publish` of a new packet is the n-th request; a retransmission reuses a known packet id.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Handed to rumqttc, not yet written.
    unwritten: VecDeque<(PublishId, QoS)>,
    /// Written with QoS 1 or 2, waiting for PUBACK or PUBCOMP.
    unacked: HashMap<u16, PublishId>,
}

impl Outbox {
    /// A request was handed to rumqttc.
    pub fn handed_over(&mut self, id: PublishId, qos: QoS) {
        self.unwritten.push_back((id, qos));
    }

    /// rumqttc wrote a PUBLISH with this packet id (0 for QoS 0). The outcome, if this settles one.
    pub fn written(&mut self, pkid: u16) -> Option<(PublishId, PublishOutcome)> {
        if pkid != 0 && self.unacked.contains_key(&pkid) {
            return None; // A retransmission after a reconnect.
        }
        let (id, qos) = self.unwritten.pop_front()?;
        if qos == QoS::AtMostOnce {
            return Some((id, PublishOutcome::Sent));
        }
        self.unacked.insert(pkid, id);
        None
    }

    /// The broker acknowledged (PUBACK, PUBCOMP) or refused (an MQTT 5 reason code) this packet id.
    pub fn acknowledged(&mut self, pkid: u16, refusal: Option<String>) -> Option<(PublishId, PublishOutcome)> {
        let id = self.unacked.remove(&pkid)?;
        Some((id, refusal.map_or(PublishOutcome::Delivered, PublishOutcome::Refused)))
    }
}

/// After rumqttc's `try_publish`: remember the request, and say "queued" if the connection is down;
/// or say why it was not taken.
pub async fn handed_over<E: std::fmt::Display>(
    link: &Link,
    outbox: &mut Outbox,
    (id, qos): (PublishId, QoS),
    connected: bool,
    result: Result<(), E>,
) {
    match result {
        Ok(()) => {
            outbox.handed_over(id, qos);
            if !connected {
                report(&link.sink, link.conn_id, Some((id, PublishOutcome::Queued))).await;
            }
        }
        Err(err) => report(&link.sink, link.conn_id, Some((id, PublishOutcome::Refused(format!("not sent: {err}"))))).await,
    }
}

/// Tell the UI what became of a publish (nothing for id 0: nobody waits for it).
pub async fn report(sink: &EventSink, conn_id: ConnId, settled: Option<(PublishId, PublishOutcome)>) {
    if let Some((id, outcome)) = settled
        && id != 0
    {
        sink.control(Event::PublishResult { id, conn_id, outcome }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut b = Backoff::new(5);
        let secs: Vec<u64> = (0..5).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 5, 5]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
    }

    #[test]
    fn outbox_settles_each_request_by_its_own_acknowledgement() {
        let mut o = Outbox::default();
        o.handed_over(1, QoS::AtLeastOnce);
        o.handed_over(2, QoS::AtMostOnce);
        o.handed_over(3, QoS::ExactlyOnce);
        assert_eq!(o.written(7), None, "QoS 1 waits for its PUBACK");
        assert_eq!(o.written(0), Some((2, PublishOutcome::Sent)));
        assert_eq!(o.written(8), None);
        assert_eq!(o.written(7), None, "a retransmission is not a new request");
        assert_eq!(o.acknowledged(8, None), Some((3, PublishOutcome::Delivered)));
        assert_eq!(o.acknowledged(7, Some("not authorized".into())), Some((1, PublishOutcome::Refused("not authorized".into()))));
        assert_eq!(o.acknowledged(7, None), None, "settled once");
    }
}
