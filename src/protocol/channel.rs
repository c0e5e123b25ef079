//! The event channel's two ends: [`EventSink`] (runtime side, never waits on the high-rate path)
//! and [`EventReceiver`] (UI side), with the count of messages in flight between them that bounds
//! memory and tells when the UI is backlogged. Must not touch: egui.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::{EVENT_CAPACITY, Event};
use crate::model::{Coalesced, ConnId, Message};

/// Wakes the UI after events were sent; a plain closure so that the runtime never depends on egui.
/// Its argument tells whether the UI is backlogged (more than [`BACKLOG`] messages waiting for it).
pub type Waker = Arc<dyn Fn(bool) + Send + Sync>;

/// Messages waiting for the UI above which it counts as backlogged: it is not folding messages
/// in as fast as they come. It then draws fewer frames, and external connections pause reading.
pub const BACKLOG: usize = 20_000;

/// Most messages (or coalesced runs) on their way to the UI at once: sent, not yet folded into the
/// store. The channel is bounded in batches; this bounds it in messages. Beyond it, a [`Feed`]
/// coalesces per topic instead of sending, so a UI that falls behind costs thinned history, never
/// unbounded memory and never a topic or a latest value.
pub const MAX_MESSAGES_IN_FLIGHT: usize = 150_000;

/// Most messages or runs in one event: the UI checks its per-frame time budget between events.
pub const BATCH: usize = 4096;

/// What the sending and receiving ends share.
#[derive(Debug)]
struct Shared {
    /// Messages and runs sent and not yet received.
    in_flight: AtomicUsize,
    /// Most messages and runs in flight ([`MAX_MESSAGES_IN_FLIGHT`] but in tests).
    max_in_flight: usize,
    /// Messages per second into the embedded broker right now, set by the runtime: out of band,
    /// because a figure queued behind 150k messages would tell the UI too late that a flood ended.
    local_rate: AtomicU64,
    /// Notified when `in_flight` falls to half the bound or below, for [`EventSink::room`].
    room: Notify,
}

/// The runtime's sending end of the event channel. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    /// Bounded: a slow UI costs coalesced history, never a stalled broker.
    tx: mpsc::Sender<Event>,
    /// Called after each successful send to schedule a repaint.
    waker: Waker,
    /// Shared with the [`EventReceiver`].
    shared: Arc<Shared>,
}

/// The UI's receiving end: counts messages off as they are received.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<Event>,
    shared: Arc<Shared>,
}

impl EventReceiver {
    /// Messages per second into the embedded broker now (see [`EventSink::set_local_rate`]).
    #[must_use]
    pub fn local_rate(&self) -> u64 {
        self.shared.local_rate.load(Ordering::Relaxed)
    }

    fn account(&self, event: &Event) {
        let n = match event {
            Event::Messages { msgs, .. } => msgs.len(),
            Event::Coalesced { runs, .. } => runs.len(),
            _ => return,
        };
        let before = self.shared.in_flight.fetch_sub(n, Ordering::Relaxed);
        let half = self.shared.max_in_flight / 2;
        if before > half && before - n <= half {
            self.shared.room.notify_waiters();
        }
    }

    /// The next event if one is waiting (the UI thread never waits).
    ///
    /// # Errors
    /// Empty or disconnected, as [`mpsc::Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<Event, mpsc::error::TryRecvError> {
        let event = self.rx.try_recv()?;
        self.account(&event);
        Ok(event)
    }

    /// The next event (tests and headless users).
    pub async fn recv(&mut self) -> Option<Event> {
        let event = self.rx.recv().await?;
        self.account(&event);
        Some(event)
    }

    /// Messages sent but not yet received.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// More than [`BACKLOG`] messages (or a third of the bound, if less) wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > self.shared.backlog()
    }
}

impl Shared {
    /// In flight above this, the UI counts as backlogged.
    fn backlog(&self) -> usize {
        BACKLOG.min(self.max_in_flight / 3)
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

impl EventSink {
    /// A channel pair with [`EVENT_CAPACITY`], for the app and tests.
    #[must_use]
    pub fn channel(waker: Waker) -> (Self, EventReceiver) {
        Self::channel_bounded(waker, MAX_MESSAGES_IN_FLIGHT)
    }

    /// A channel pair that holds at most `max_in_flight` messages (or runs) on their way to the UI:
    /// tests use a small bound to see coalescing without millions of messages.
    #[must_use]
    pub fn channel_bounded(waker: Waker, max_in_flight: usize) -> (Self, EventReceiver) {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared { in_flight: AtomicUsize::new(0), max_in_flight, local_rate: AtomicU64::new(0), room: Notify::new() });
        (Self { tx, waker, shared: Arc::clone(&shared) }, EventReceiver { rx, shared })
    }

    /// Send `n` messages or runs as `event` if the UI has room for them; else give the event back.
    fn try_send_counted(&self, n: usize, event: Event) -> Result<(), Event> {
        let in_flight = &self.shared.in_flight;
        if in_flight.fetch_add(n, Ordering::Relaxed) + n > self.shared.max_in_flight {
            in_flight.fetch_sub(n, Ordering::Relaxed);
            return Err(event);
        }
        match self.tx.try_send(event) {
            Ok(()) => {
                (self.waker)(self.backlogged());
                Ok(())
            }
            Err(TrySendError::Full(event)) => {
                in_flight.fetch_sub(n, Ordering::Relaxed);
                Err(event)
            }
            // The UI is gone and shutdown follows: nothing is left to show them to.
            Err(TrySendError::Closed(_)) => {
                in_flight.fetch_sub(n, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// High-rate path: never waits. Sends the batch if the UI has room for it, else gives it back
    /// (to be coalesced: see [`Feed`]).
    ///
    /// # Errors
    /// The batch itself, when the UI has no room for it.
    pub fn try_messages(&self, conn_id: ConnId, msgs: Vec<Message>) -> Result<(), Vec<Message>> {
        if msgs.is_empty() {
            return Ok(());
        }
        self.try_send_counted(msgs.len(), Event::Messages { conn_id, msgs }).map_err(|event| match event {
            Event::Messages { msgs, .. } => msgs,
            _ => Vec::new(),
        })
    }

    /// Like [`Self::try_messages`], for coalesced runs.
    ///
    /// # Errors
    /// The runs themselves, when the UI has no room for them.
    pub fn try_coalesced(&self, conn_id: ConnId, runs: Vec<Coalesced>) -> Result<(), Vec<Coalesced>> {
        if runs.is_empty() {
            return Ok(());
        }
        self.try_send_counted(runs.len(), Event::Coalesced { conn_id, runs }).map_err(|event| match event {
            Event::Coalesced { runs, .. } => runs,
            _ => Vec::new(),
        })
    }

    /// Rare control events must not be lost: wait for room.
    pub async fn control(&self, event: Event) {
        if self.tx.send(event).await.is_ok() {
            (self.waker)(self.backlogged());
        }
    }

    /// Wait until at most half the bound is in flight, or for at most `max`. A connection that waits
    /// here before reading on lets TCP flow control slow its broker down, instead of thinning
    /// history; half the bound leaves the UI enough to fold while the connection reads on.
    pub async fn room(&self, max: Duration) {
        let notified = self.shared.room.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.in_flight() > self.shared.max_in_flight / 2 && !self.is_closed() {
            tokio::time::timeout(max, notified).await.ok();
        }
    }

    /// Messages sent and not yet taken by the UI.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Tell the UI, at once, how many messages per second the embedded broker takes in now.
    pub fn set_local_rate(&self, msgs_per_sec: f64) {
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a rate, rounded down; negatives are 0")]
        let whole = msgs_per_sec.max(0.0) as u64;
        self.shared.local_rate.store(whole, Ordering::Relaxed);
    }

    /// More than [`BACKLOG`] messages (or a third of the bound, if less) wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > self.backlog()
    }

    fn backlog(&self) -> usize {
        self.shared.backlog()
    }

    /// Most messages or runs in flight at once.
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight
    }

    /// Room for more messages or runs before the bound.
    #[must_use]
    pub fn room_left(&self) -> usize {
        self.shared.max_in_flight.saturating_sub(self.in_flight())
    }

    /// True once the UI has gone away.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::model::QoS;

    fn batch(n: usize) -> Vec<Message> {
        (0..n).map(|_| Message::new("t", "1", QoS::AtMostOnce, false, SystemTime::UNIX_EPOCH)).collect()
    }

    #[test]
    fn messages_in_flight_to_the_ui_are_bounded_and_the_batch_given_back() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        let half = MAX_MESSAGES_IN_FLIGHT / 2;
        assert!(sink.try_messages(ConnId::LOCAL, batch(half)).is_ok());
        assert!(sink.try_messages(ConnId::LOCAL, batch(half)).is_ok());
        assert_eq!(sink.try_messages(ConnId::LOCAL, batch(10)).map_err(|b| b.len()), Err(10), "over the bound: given back");
        assert_eq!(rx.in_flight(), 2 * half);
        assert!(matches!(rx.try_recv(), Ok(Event::Messages { .. })));
        assert_eq!(rx.in_flight(), half, "receiving frees room");
        assert!(sink.try_messages(ConnId::LOCAL, batch(10)).is_ok());
    }

    #[tokio::test]
    async fn room_returns_once_the_ui_catches_up() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        sink.try_messages(ConnId::LOCAL, batch(MAX_MESSAGES_IN_FLIGHT / 2 + 1)).expect("room");
        assert!(sink.backlogged());
        let waiter = {
            let sink = sink.clone();
            tokio::spawn(async move { sink.room(Duration::from_hours(1)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        rx.recv().await.expect("the batch");
        waiter.await.expect("woken when the UI took the batch");
    }
}
