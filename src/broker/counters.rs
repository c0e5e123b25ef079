//! Per-session traffic counters for the explorer's clients view.
//!
//! Owns: [`ClientCounters`], relaxed atomics on a cache line of their own, written only by the
//! session's connection task (once per socket read or write, once per drained batch; PUBLISH
//! packets received are counted in a plain field and added once per read) and read only when the UI asks for a snapshot. No lock is taken for them, and
//! they share no cache line with the session's mutex, which the router takes for every message.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Traffic of one session, over all its connections.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct ClientCounters {
    /// PUBLISH packets received from the client.
    pub msgs_in: AtomicU64,
    /// PUBLISH packets sent to the client.
    pub msgs_out: AtomicU64,
    /// Bytes read from the client.
    pub bytes_in: AtomicU64,
    /// Bytes written to the client.
    pub bytes_out: AtomicU64,
    /// When a packet last came in: milliseconds after [`epoch`], plus one (0: never).
    last_activity: AtomicU64,
}

/// The instant activity times count from (the first use in the process).
fn epoch() -> (Instant, SystemTime) {
    static EPOCH: OnceLock<(Instant, SystemTime)> = OnceLock::new();
    *EPOCH.get_or_init(|| (Instant::now(), SystemTime::now()))
}

impl ClientCounters {
    /// `n` bytes holding `msgs` PUBLISH packets were read and handled at `now` (once per socket read).
    pub fn read(&self, n: usize, msgs: u64, now: Instant) {
        self.bytes_in.fetch_add(n as u64, Relaxed);
        if msgs > 0 {
            self.msgs_in.fetch_add(msgs, Relaxed);
        }
        let ms = u64::try_from(now.saturating_duration_since(epoch().0).as_millis()).unwrap_or(u64::MAX - 1);
        self.last_activity.store(ms + 1, Relaxed);
    }

    /// Bytes went out.
    pub fn wrote(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Relaxed);
    }

    /// When a packet last came in, as wall-clock time.
    #[must_use]
    pub fn last_activity(&self) -> Option<SystemTime> {
        let ms = self.last_activity.load(Relaxed).checked_sub(1)?;
        Some(epoch().1 + Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_move_the_last_activity_and_count_bytes() {
        let c = ClientCounters::default();
        assert_eq!(c.last_activity(), None);
        let start = epoch().1;
        c.read(10, 2, Instant::now() + Duration::from_secs(5));
        c.read(5, 0, Instant::now() + Duration::from_secs(5));
        c.wrote(7);
        assert_eq!((c.bytes_in.load(Relaxed), c.bytes_out.load(Relaxed), c.msgs_in.load(Relaxed)), (15, 7, 2));
        let at = c.last_activity().expect("set");
        assert!(at >= start + Duration::from_secs(5), "{at:?} vs {start:?}");
        assert_eq!(std::mem::align_of::<ClientCounters>(), 64, "a cache line of its own");
    }
}
