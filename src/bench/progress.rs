//! Live counters shared by the bench's tasks, and the once-a-second progress line on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Counters bumped once per batch (not per message) by publishers and subscribers.
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages written by publishers (or connections opened).
    pub sent: AtomicU64,
    /// QoS 1/2 flows completed, added when a publisher ends.
    pub acked: AtomicU64,
    /// Messages read by subscribers (or pings answered).
    pub received: AtomicU64,
}

/// Print `[  3s] <sent_label> N (r/s)  <received_label> N (r/s)` every second until aborted.
pub fn spawn_ticker(progress: Arc<Progress>, sent_label: &'static str, received_label: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
        let (mut last_sent, mut last_received) = (0, 0);
        loop {
            tick.tick().await;
            let sent = progress.sent.load(Ordering::Relaxed);
            let received = progress.received.load(Ordering::Relaxed);
            eprintln!(
                "[{:>3}s] {sent_label} {sent} ({}/s)  {received_label} {received} ({}/s)",
                start.elapsed().as_secs(),
                sent - last_sent,
                received - last_received
            );
            (last_sent, last_received) = (sent, received);
        }
    })
}
