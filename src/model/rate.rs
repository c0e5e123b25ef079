//! Message rate as an exponentially weighted moving average over one-second buckets.
//!
//! Owns: [`Rate`]. Cheap to update on every message (no `exp`, no clock read): the caller passes the
//! message's own timestamp in whole seconds, and the display passes `now`.

/// Smoothing per second: weight of the newest full second.
const ALPHA: f32 = 0.5;

/// Messages per second, EWMA over whole seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    /// Second (Unix time) the open bucket counts.
    sec: u64,
    /// Messages in the open bucket.
    count: u32,
    /// Average up to, not including, the open bucket.
    ewma: f32,
}

impl Rate {
    /// Count one message received at `sec` (Unix seconds).
    pub fn record(&mut self, sec: u64) {
        if sec > self.sec {
            self.ewma = self.rolled(sec);
            self.sec = sec;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
    }

    /// EWMA as it stands at the start of second `now_sec`, with the open bucket closed if `now_sec` is past it.
    fn rolled(&self, now_sec: u64) -> f32 {
        if now_sec <= self.sec {
            return self.ewma;
        }
        let gap = i32::try_from((now_sec - self.sec).min(64)).unwrap_or(64);
        #[expect(clippy::cast_precision_loss, reason = "a per-second message count fits f32 well enough for display")]
        let closed = self.ewma * (1.0 - ALPHA) + ALPHA * self.count as f32;
        closed * (1.0 - ALPHA).powi(gap - 1)
    }

    /// Messages per second as of `now_sec`; 0 when idle for a while.
    #[must_use]
    pub fn per_sec(&self, now_sec: u64) -> f64 {
        let v = f64::from(self.rolled(now_sec));
        if v < 0.01 { 0.0 } else { v }
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
                r.record(sec);
            }
        }
        let v = r.per_sec(120);
        assert!((v - 10.0).abs() < 0.1, "{v}");
    }

    #[test]
    fn decays_when_idle() {
        let mut r = Rate::default();
        for _ in 0..100 {
            r.record(10);
        }
        assert!(r.per_sec(11) > 40.0);
        assert!(r.per_sec(30) < 0.01);
        assert!(r.per_sec(1000).abs() < f64::EPSILON);
    }
}
