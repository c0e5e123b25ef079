//! The explorer's window into the broker: every routed message, without a `#` subscription.
//!
//! Owns: [`Tap`], the buffer the router appends to under its lock, and [`forward`], the task that
//! moves it into the UI's [`Feed`]. Up to [`TAP_CAPACITY`] messages wait in order; beyond that, or
//! while the UI has no room, messages are coalesced per topic (latest value and counters), so the
//! explorer loses no topic and no latest value whatever the load. Must not touch: egui.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::client_state::Routed;
use crate::model::{Coalescer, ConnId, Message, MessageMeta, QoS};
use crate::protocol::{BATCH, EventSink, Feed};

/// Most messages waiting in order in the tap before new ones are coalesced: about 50 ms of a million
/// messages a second, as [`forward`] empties it every 15 ms.
pub const TAP_CAPACITY: usize = 50_000;

/// Payloads up to this size are copied into an allocation of their own for the explorer. A payload
/// as routed is a slice of the connection's 64 KiB read buffer: kept in history, it would keep that
/// whole buffer alive, whatever the explorer dropped or evicted from it.
const COPY_PAYLOAD_UP_TO: usize = 64 * 1024;

/// Publishers whose shared provenance is cached before the cache starts over.
const PROVENANCE_CACHE: usize = 4096;

/// What the router appends to, under the tap's lock.
#[derive(Debug, Default)]
struct Buffer {
    /// Messages not yet forwarded, in order; bounded by [`TAP_CAPACITY`].
    msgs: Vec<Message>,
    /// Messages that came after `msgs` while it was full or the UI had no room, one run per topic.
    overflow: Coalescer,
    /// Provenance-only metadata per publisher and QoS, shared by all their messages without
    /// properties (one reference count each instead of one allocation each).
    provenance: HashMap<Arc<str>, [Option<Arc<MessageMeta>>; 3], foldhash::fast::RandomState>,
}

impl Buffer {
    fn provenance(&mut self, publisher: &Arc<str>, qos: QoS) -> Arc<MessageMeta> {
        if !self.provenance.contains_key(publisher) && self.provenance.len() >= PROVENANCE_CACHE {
            self.provenance.clear();
        }
        let slots = self.provenance.entry(Arc::clone(publisher)).or_default();
        let slot = &mut slots[usize::from(qos.as_u8()).min(2)];
        Arc::clone(slot.get_or_insert_with(|| {
            Arc::new(MessageMeta { publisher: Some(Arc::clone(publisher)), published_qos: Some(qos), ..MessageMeta::default() })
        }))
    }
}

/// Buffer between the router and the UI.
#[derive(Debug, Default)]
pub struct Tap {
    buf: Mutex<Buffer>,
    /// Wakes [`forward`] when the buffer goes from empty to non-empty.
    notify: Notify,
    /// Set by [`forward`] while the UI has no room for another buffer's worth: messages are then
    /// coalesced at once instead of buffered in order to be coalesced later.
    ui_full: AtomicBool,
    /// A recording of the embedded broker's traffic, fed here before any coalescing.
    pub recording: crate::protocol::recording::RecordSlot,
}

impl Tap {
    /// A new, empty tap.
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Append the explorer's copy of one routed message, with its provenance (called by the router
    /// for every message it routes).
    pub fn record(&self, msg: &Routed) {
        let Ok(mut buf) = self.buf.lock() else { return };
        let qos = QoS::from_u8(msg.published_qos as u8);
        let meta = match (&msg.properties, msg.expires_at) {
            (None, None) => buf.provenance(&msg.publisher, qos),
            (props, expires_at) => {
                let p = props.as_deref();
                Arc::new(MessageMeta {
                    publisher: Some(Arc::clone(&msg.publisher)),
                    published_qos: Some(qos),
                    payload_format: p.and_then(|p| p.payload_format_indicator),
                    message_expiry_secs: expires_at
                        .map(|at| u32::try_from(at.saturating_duration_since(Instant::now()).as_secs()).unwrap_or(u32::MAX)),
                    content_type: p.and_then(|p| p.content_type.clone()),
                    response_topic: p.and_then(|p| p.response_topic.clone()),
                    correlation_data: p.and_then(|p| p.correlation_data.clone()),
                    user_properties: p.map(|p| p.user_properties.clone()).unwrap_or_default(),
                })
            }
        };
        let was_empty = buf.msgs.is_empty() && buf.overflow.is_empty();
        let msg = Message {
            topic: Arc::clone(&msg.topic),
            payload: if msg.payload.len() <= COPY_PAYLOAD_UP_TO { Bytes::copy_from_slice(&msg.payload) } else { msg.payload.clone() },
            qos,
            retain: msg.retain,
            dup: false,
            received_at: SystemTime::now(),
            meta: Some(meta),
        };
        self.recording.offer(&msg);
        if buf.overflow.is_empty() && buf.msgs.len() < TAP_CAPACITY && !self.ui_full.load(Relaxed) {
            buf.msgs.push(msg);
        } else {
            buf.overflow.push(msg);
        }
        drop(buf);
        if was_empty {
            self.notify.notify_one();
        }
    }

    /// Take everything buffered: the messages in order, then the runs that came after them.
    pub fn take(&self) -> (Vec<Message>, Coalescer) {
        self.buf.lock().map(|mut b| (std::mem::take(&mut b.msgs), std::mem::take(&mut b.overflow))).unwrap_or_default()
    }
}

/// Move what the tap holds into the UI's feed until the UI goes away. Batches for at most ~15 ms so
/// that a burst of 100k msgs/s costs a few dozen channel sends a second, not 100k.
pub async fn forward(tap: Arc<Tap>, sink: EventSink) {
    let mut feed = Feed::new(sink, ConnId::LOCAL);
    loop {
        if !feed.is_coalescing() {
            tap.notify.notified().await;
        }
        // While coalescing, look again soon whether or not a message arrives: runs wait for room.
        tokio::time::sleep(Duration::from_millis(15)).await;
        let (msgs, runs) = tap.take();
        let mut msgs = msgs.into_iter();
        loop {
            let batch: Vec<Message> = msgs.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            feed.send(batch);
        }
        feed.absorb(runs);
        feed.flush();
        tap.ui_full.store(feed.is_coalescing() || feed.sink().room_left() < TAP_CAPACITY.min(feed.sink().max_in_flight() / 3), Relaxed);
        if feed.sink().is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::codec::{self, Properties};
    use crate::broker::router::routed;

    #[test]
    fn provenance_is_shared_per_publisher_and_qos_and_properties_are_kept() {
        let tap = Tap::new();
        let publish = |publisher: &str, qos, props: &Properties| {
            tap.record(&routed("t".into(), Bytes::from_static(b"v"), qos, false, props, publisher.into()));
        };
        let none = Properties::default();
        publish("a", codec::QoS::AtLeastOnce, &none);
        publish("a", codec::QoS::AtLeastOnce, &none);
        publish("a", codec::QoS::AtMostOnce, &none);
        publish("b", codec::QoS::AtLeastOnce, &none);
        let typed = Properties { content_type: Some("text/plain".into()), ..Properties::default() };
        publish("a", codec::QoS::AtLeastOnce, &typed);
        let (msgs, _) = tap.take();
        let meta: Vec<Arc<MessageMeta>> = msgs.iter().map(|m| Arc::clone(m.meta.as_ref().expect("provenance"))).collect();
        assert!(Arc::ptr_eq(&meta[0], &meta[1]), "same publisher and QoS: one shared block");
        assert!(!Arc::ptr_eq(&meta[0], &meta[2]) && !Arc::ptr_eq(&meta[0], &meta[3]));
        assert_eq!((meta[2].publisher.as_deref(), meta[2].published_qos), (Some("a"), Some(QoS::AtMostOnce)));
        assert_eq!(meta[3].publisher.as_deref(), Some("b"));
        assert_eq!(meta[4].content_type.as_deref(), Some("text/plain"));
        assert_eq!(meta[4].publisher.as_deref(), Some("a"));
        assert!(!meta[0].has_properties() && meta[4].has_properties());
    }

    #[test]
    fn while_the_ui_is_full_messages_are_coalesced_per_topic() {
        let tap = Tap::new();
        let msg = |topic: &str, payload: &'static [u8]| {
            routed(topic.into(), Bytes::from_static(payload), codec::QoS::AtMostOnce, false, &Properties::default(), "p".into())
        };
        tap.record(&msg("a", b"1"));
        tap.ui_full.store(true, Relaxed);
        tap.record(&msg("a", b"2"));
        tap.record(&msg("b", b"1"));
        tap.record(&msg("a", b"3"));
        tap.ui_full.store(false, Relaxed);
        tap.record(&msg("a", b"4"));
        let (kept, runs) = tap.take();
        assert_eq!(kept.len(), 1, "in order until the UI was full");
        let runs = {
            let mut runs = runs;
            runs.take_all()
        };
        assert_eq!(runs.len(), 2, "then one run per topic, also after the UI has room again");
        assert_eq!((&runs[0].latest.payload[..], runs[0].thinned), (&b"4"[..], 2));
        assert_eq!((&runs[1].latest.payload[..], runs[1].thinned), (&b"1"[..], 0));
        let msg = msg("t", b"v");
        tap.record(&msg);
        let (kept, _) = tap.take();
        assert_eq!(kept.len(), 1);
        // The payload is the explorer's own copy, not a slice of the broker's read buffer.
        assert_eq!(&kept[0].payload[..], b"v");
        assert_ne!(kept[0].payload.as_ptr(), msg.payload.as_ptr());
    }
}
