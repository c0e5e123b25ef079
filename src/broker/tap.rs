//! The explorer's window into the broker: every routed message, without a `#` subscription.
//!
//! Owns: [`Tap`], a bounded buffer the router appends to under its lock, and [`forward`], the task that
//! moves batches into the UI's [`EventSink`]. When the buffer is full, messages are counted as
//! dropped and reported, never silently lost. Must not touch: egui.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::Notify;

use crate::model::{ConnId, Message};
use crate::protocol::{Event, EventSink};

/// Most messages waiting in the tap before new ones count as dropped.
pub const TAP_CAPACITY: usize = 200_000;

/// Buffer between the router and the UI.
#[derive(Debug, Default)]
pub struct Tap {
    /// Messages not yet forwarded; bounded by [`TAP_CAPACITY`].
    buf: Mutex<Vec<Message>>,
    /// Wakes [`forward`] when the buffer goes from empty to non-empty.
    notify: Notify,
    /// Messages dropped because the buffer was full.
    dropped: AtomicU64,
}

impl Tap {
    /// A new, empty tap.
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Append one message (called by the router for every message it routes).
    pub fn push(&self, msg: Message) {
        let Ok(mut buf) = self.buf.lock() else { return };
        if buf.len() >= TAP_CAPACITY {
            self.dropped.fetch_add(1, Relaxed);
            return;
        }
        let was_empty = buf.is_empty();
        buf.push(msg);
        drop(buf);
        if was_empty {
            self.notify.notify_one();
        }
    }

    /// Take everything buffered.
    pub fn take(&self) -> Vec<Message> {
        self.buf.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

/// Move batches from `tap` to `sink` until the UI goes away. Batches for at most ~15 ms so that a
/// burst of 100k msgs/s costs a few dozen channel sends a second, not 100k.
pub async fn forward(tap: Arc<Tap>, sink: EventSink) {
    let mut reported_drops = 0;
    loop {
        tap.notify.notified().await;
        tokio::time::sleep(Duration::from_millis(15)).await;
        let msgs = tap.take();
        let mut dropped = sink.messages(ConnId::LOCAL, msgs);
        let tap_dropped = tap.dropped.load(Relaxed);
        dropped += tap_dropped - reported_drops;
        reported_drops = tap_dropped;
        if dropped > 0 {
            sink.control(Event::Dropped { conn_id: ConnId::LOCAL, count: dropped }).await;
        }
        if sink.is_closed() {
            return;
        }
    }
}
