//! Recording a connection's traffic to a capture file, fed from where messages arrive (the
//! embedded broker's tap, an external connection's link), not from what the window kept: a window
//! that falls behind thins its history, never a recording.
//!
//! [`RecordSlot`] is what the feeding side holds: when no recording runs, [`RecordSlot::offer`] is
//! one relaxed atomic load. The messages go through a bounded channel to a writer thread (the
//! runtime's); if the disk cannot keep up for [`RECORD_QUEUE`] messages, further ones are counted as
//! dropped and the window shows that count next to the red dot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};

use crate::model::Message;

/// Messages waiting for the writer before new ones are dropped (and counted).
pub const RECORD_QUEUE: usize = 1 << 20;

/// What a recording has done so far, shared with the window.
#[derive(Debug, Default)]
pub struct RecordStats {
    /// Messages written.
    pub messages: AtomicU64,
    /// Bytes written.
    pub bytes: AtomicU64,
    /// Messages that found the writer's queue full.
    pub dropped: AtomicU64,
    /// The writer has stopped (bound reached, stopped, or failed).
    pub finished: AtomicBool,
    /// Why it failed, if it did.
    pub error: Mutex<Option<String>>,
}

/// One running recording.
#[derive(Debug)]
pub struct Recorder {
    tx: SyncSender<Message>,
    filter: Option<String>,
    /// Shared with the writer and the window.
    pub stats: Arc<RecordStats>,
}

impl Recorder {
    /// A recorder of messages matching `filter` (all when `None`), and the writer's end.
    #[must_use]
    pub fn new(filter: Option<String>, stats: Arc<RecordStats>) -> (Self, Receiver<Message>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(RECORD_QUEUE);
        (Self { tx, filter, stats }, rx)
    }

    fn offer(&self, msg: &Message) {
        if self.stats.finished.load(Relaxed) || self.filter.as_deref().is_some_and(|f| !crate::topic::matches(f, &msg.topic)) {
            return;
        }
        match self.tx.try_send(msg.clone()) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

/// Where a connection's messages are offered to its recording, if one runs.
#[derive(Debug, Default)]
pub struct RecordSlot {
    on: AtomicBool,
    recorder: RwLock<Option<Recorder>>,
}

impl RecordSlot {
    /// Offer one message (a clone goes to the writer if a recording runs and the filter matches).
    pub fn offer(&self, msg: &Message) {
        if !self.on.load(Relaxed) {
            return;
        }
        if let Ok(guard) = self.recorder.read()
            && let Some(rec) = guard.as_ref()
        {
            rec.offer(msg);
        }
    }

    /// Start recording with `recorder` (replacing one that ran).
    pub fn start(&self, recorder: Recorder) {
        if let Ok(mut slot) = self.recorder.write() {
            *slot = Some(recorder);
            self.on.store(true, Relaxed);
        }
    }

    /// Stop: the writer drains what is queued, then finishes.
    pub fn stop(&self) {
        if let Ok(mut slot) = self.recorder.write() {
            self.on.store(false, Relaxed);
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::model::QoS;

    fn msg(topic: &str) -> Message {
        Message::new(topic, "x", QoS::AtMostOnce, false, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn only_a_running_recording_with_a_matching_filter_gets_messages() {
        let slot = RecordSlot::default();
        slot.offer(&msg("a/b"));
        let stats = Arc::new(RecordStats::default());
        let (rec, rx) = Recorder::new(Some("a/#".into()), Arc::clone(&stats));
        slot.start(rec);
        slot.offer(&msg("a/b"));
        slot.offer(&msg("c"));
        slot.offer(&msg("a"));
        slot.stop();
        slot.offer(&msg("a/late"));
        let got: Vec<String> = rx.iter().map(|m| m.topic.to_string()).collect();
        assert_eq!(got, ["a/b", "a"]);
        assert_eq!(stats.dropped.load(Relaxed), 0);
    }
}
