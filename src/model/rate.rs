//! Message and byte rates as exponentially weighted moving averages over one-second buckets.
//!
//! Owns: [`Rate`]. Cheap to update on every message (no `exp`, no clock read): the caller passes the
//! message's own timestamp in whole seconds, and the display passes `now`.

/// Smoothing per second: weight of the newest full second.
const ALPHA: f32 = 0.5;

/// Messages and payload bytes per second, EWMA over whole seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    /// Second (Unix time) the open bucket counts (u32: good until 2106, and 4 bytes less per node).
    sec: u32,
    /// Messages in the open bucket.
    count: u32,
    /// Payload bytes in the open bucket (saturating: 4 GiB in one second of one subtree is beyond loopback).
    bytes: u32,
    /// Message average up to, not including, the open bucket.
    ewma: f32,
    /// Byte average up to, not including, the open bucket.
    bytes_ewma: f32,
}

impl Rate {
    /// Count one message of `bytes` payload bytes received at `sec` (Unix seconds).
    pub fn record(&mut self, sec: u64, bytes: usize) {
        self.record_run(sec, 1, bytes as u64);
    }

    /// Count `msgs` messages with `bytes` payload bytes in all, the last received at `sec`.
    pub fn record_run(&mut self, sec: u64, msgs: u64, bytes: u64) {
        let sec = u32::try_from(sec).unwrap_or(u32::MAX);
        if sec > self.sec {
            self.ewma = Self::rolled(self.ewma, self.count, self.sec, u64::from(sec));
            self.bytes_ewma = Self::rolled(self.bytes_ewma, self.bytes, self.sec, u64::from(sec));
            self.sec = sec;
            self.count = 0;
            self.bytes = 0;
        }
        self.count = self.count.saturating_add(u32::try_from(msgs).unwrap_or(u32::MAX));
        self.bytes = self.bytes.saturating_add(u32::try_from(bytes).unwrap_or(u32::MAX));
    }

    /// An EWMA as it stands at the start of second `now_sec`, with the open bucket (`count` in
    /// second `sec`) closed if `now_sec` is past it.
    fn rolled(ewma: f32, count: u32, sec: u32, now_sec: u64) -> f32 {
        let sec = u64::from(sec);
        if now_sec <= sec {
            return ewma;
        }
        let gap = i32::try_from((now_sec - sec).min(64)).unwrap_or(64);
        #[expect(clippy::cast_precision_loss, reason = "a per-second count fits f32 well enough for display")]
        let closed = ewma * (1.0 - ALPHA) + ALPHA * count as f32;
        closed * (1.0 - ALPHA).powi(gap - 1)
    }

    /// Messages per second as of `now_sec`; 0 once the stream has stopped (see [`Self::stopped`]).
    #[must_use]
    pub fn per_sec(&self, now_sec: u64) -> f64 {
        if self.stopped(now_sec) {
            return 0.0;
        }
        let v = f64::from(Self::rolled(self.ewma, self.count, self.sec, now_sec));
        if v < 0.01 { 0.0 } else { v }
    }

    /// Payload bytes per second as of `now_sec`; 0 once the stream has stopped.
    #[must_use]
    pub fn bytes_per_sec(&self, now_sec: u64) -> f64 {
        if self.stopped(now_sec) {
            return 0.0;
        }
        let v = f64::from(Self::rolled(self.bytes_ewma, self.bytes, self.sec, now_sec));
        if v < 0.01 { 0.0 } else { v }
    }

    /// Nothing arrived for longer than the stream's usual gap allows (4 mean intervals, at least 3 s):
    /// an average that merely decays would go on showing a stopped flood as thousands per second.
    fn stopped(&self, now_sec: u64) -> bool {
        let idle = now_sec.saturating_sub(u64::from(self.sec));
        let rate = f64::from(self.ewma.max(1e-6));
        #[expect(clippy::cast_precision_loss, reason = "seconds of idleness")]
        let stopped = idle as f64 > (4.0 / rate).max(3.0);
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_converges() {
        let mut r = Rate::default();
        for sec in 100..120 {
            for _ in 0..10 {
                r.record(sec, 4);
            }
        }
        let v = r.per_sec(120);
        assert!((v - 10.0).abs() < 0.1, "{v}");
    }

    #[test]
    fn decays_when_idle() {
        let mut r = Rate::default();
        for _ in 0..100 {
            r.record(10, 4);
        }
        assert!(r.per_sec(11) > 40.0);
        assert!(r.per_sec(30) < 0.01);
        assert!(r.per_sec(1000).abs() < f64::EPSILON);
    }

    #[test]
    fn a_stopped_flood_reads_zero_but_a_slow_topic_keeps_its_rate() {
        let mut flood = Rate::default();
        for sec in 100..110 {
            flood.record_run(sec, 50_000, 0);
        }
        assert!(flood.per_sec(111) > 10_000.0);
        assert!(flood.per_sec(114).abs() < f64::EPSILON, "3 s without a message: it stopped");
        let mut slow = Rate::default();
        for sec in (100..200).step_by(5) {
            slow.record(sec, 1);
        }
        assert!(slow.per_sec(197) > 0.0, "a message every 5 s is not a stopped stream after 2 s");
    }

    #[test]
    fn a_run_counts_like_its_messages_one_by_one() {
        let (mut one_by_one, mut run) = (Rate::default(), Rate::default());
        for sec in 100..110 {
            for _ in 0..50 {
                one_by_one.record(sec, 10);
            }
            run.record_run(sec, 50, 500);
        }
        assert!((one_by_one.per_sec(110) - run.per_sec(110)).abs() < 1e-6);
        assert!((run.bytes_per_sec(110) - 10.0 * run.per_sec(110)).abs() < 1e-3);
    }
}
