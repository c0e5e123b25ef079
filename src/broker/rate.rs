//! [`ConnectRate`]: `max_connection_rate`, new connections accepted per second, as a token bucket
//! that holds one second's worth (so a burst of up to the rate passes, then the rate is kept).
//! A CONNECT past it is answered with CONNACK 0x9F Connection rate exceeded (5.0) / 0x03 Server
//! unavailable (3.1.1), counted in `$SYS/broker/limits/connection_rate`.

use std::sync::Mutex;
use std::time::Instant;

/// The bucket; a rate of 0 admits everything without taking the lock.
#[derive(Debug)]
pub struct ConnectRate {
    per_sec: f64,
    /// Tokens left and when they were counted.
    bucket: Mutex<(f64, Instant)>,
}

impl ConnectRate {
    /// A bucket admitting `per_sec` new connections per second (0: no limit), full at start.
    #[must_use]
    pub fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec);
        Self { per_sec, bucket: Mutex::new((per_sec, Instant::now())) }
    }

    /// Take a token for a connection arriving now: `false` when the rate is exceeded.
    pub fn admit(&self) -> bool {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> bool {
        if self.per_sec <= 0.0 {
            return true;
        }
        let Ok(mut bucket) = self.bucket.lock() else { return true };
        let (tokens, at) = *bucket;
        let refilled = (tokens + now.saturating_duration_since(at).as_secs_f64() * self.per_sec).min(self.per_sec);
        let admitted = refilled >= 1.0;
        *bucket = (if admitted { refilled - 1.0 } else { refilled }, now.max(at));
        admitted
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_of_the_rate_passes_then_the_rate_is_kept() {
        let gate = ConnectRate::new(10);
        let t0 = Instant::now();
        let first: usize = (0..25).filter(|_| gate.admit_at(t0)).count();
        assert_eq!(first, 10, "a full bucket holds one second's worth");
        assert!(!gate.admit_at(t0 + Duration::from_millis(50)), "half a token is not a connection");
        assert!(gate.admit_at(t0 + Duration::from_millis(100)), "one token back after 1/rate s");
        let later: usize = (0..25).filter(|_| gate.admit_at(t0 + Duration::from_mins(1))).count();
        assert_eq!(later, 10, "an idle minute refills to one second's worth, not more");
    }

    #[test]
    fn zero_means_no_limit() {
        let gate = ConnectRate::new(0);
        let t0 = Instant::now();
        assert!((0..100_000).all(|_| gate.admit_at(t0)));
    }
}
