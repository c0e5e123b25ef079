//! What one subscriber saw: a bit per (publisher, sequence number) to tell first deliveries from
//! duplicates, and a latency histogram.
//!
//! The histogram is log-linear (32 sub-buckets per power of two, so about 3 % resolution) over
//! nanoseconds, fixed size, no allocation per sample. Owns counting only; no I/O.

/// Sub-buckets per power of two (a power of two itself).
const SUB_BUCKETS: u64 = 32;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Values below this are counted exactly.
const LINEAR: u64 = 2 * SUB_BUCKETS;
/// 64 exact values, then 32 sub-buckets for each power of two from 2^6 to 2^63.
const BUCKETS: usize = 64 + 58 * 32;

/// Latency histogram in nanoseconds.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0, max: 0 }
    }
}

fn bucket_of(value: u64) -> usize {
    if value < LINEAR {
        return usize::try_from(value).unwrap_or(0);
    }
    let exp = value.ilog2(); // >= SUB_BITS + 1
    let mantissa = (value >> (exp - SUB_BITS)) & (SUB_BUCKETS - 1);
    let index = LINEAR + u64::from(exp - SUB_BITS - 1) * SUB_BUCKETS + mantissa;
    usize::try_from(index).unwrap_or(BUCKETS - 1).min(BUCKETS - 1)
}

/// The largest value that falls in `bucket`.
fn bucket_high(bucket: usize) -> u64 {
    let bucket = u64::try_from(bucket).unwrap_or(0);
    if bucket < LINEAR {
        return bucket;
    }
    let exp = u32::try_from((bucket - LINEAR) / SUB_BUCKETS).unwrap_or(0) + SUB_BITS + 1;
    let mantissa = (bucket - LINEAR) % SUB_BUCKETS;
    let low = (SUB_BUCKETS + mantissa) << (exp - SUB_BITS);
    low + ((1 << (exp - SUB_BITS)) - 1)
}

impl Histogram {
    /// Count one sample.
    pub fn record(&mut self, value_ns: u64) {
        if let Some(count) = self.counts.get_mut(bucket_of(value_ns)) {
            *count += 1;
        }
        self.total += 1;
        self.max = self.max.max(value_ns);
    }

    /// Add another histogram's samples.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// `true` with no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Largest sample (exact).
    #[must_use]
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1), as the upper edge of its bucket (never above the max).
    #[must_use]
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "rank within u64")]
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_high(bucket).min(self.max);
            }
        }
        self.max
    }
}

/// First deliveries and duplicates per (publisher, sequence number).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// One bit per sequence number, per publisher index; grows as numbers arrive.
    seen: Vec<Vec<u64>>,
    /// Distinct messages received.
    pub unique: u64,
    /// Messages received again.
    pub duplicates: u64,
    /// Time from publish to receipt.
    pub latency: Histogram,
}

impl Tally {
    /// Count one delivery; returns `true` if it is the first of this (publisher, seq).
    pub fn record(&mut self, publisher: u32, seq: u64, latency_ns: u64) -> bool {
        let publisher = usize::try_from(publisher).unwrap_or(usize::MAX);
        let word = usize::try_from(seq / 64).unwrap_or(usize::MAX);
        if publisher >= self.seen.len() {
            self.seen.resize_with(publisher.saturating_add(1), Vec::new);
        }
        let Some(bits) = self.seen.get_mut(publisher) else { return false };
        if word >= bits.len() {
            bits.resize(word.saturating_add(1).max(bits.len() * 2), 0);
        }
        let Some(slot) = bits.get_mut(word) else { return false };
        let mask = 1u64 << (seq % 64);
        self.latency.record(latency_ns);
        if *slot & mask == 0 {
            *slot |= mask;
            self.unique += 1;
            true
        } else {
            self.duplicates += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut last = 0;
        for v in [0u64, 1, 63, 64, 65, 100, 1000, 65_535, 1 << 20, 123_456_789, u64::MAX / 2, u64::MAX] {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            assert!(bucket_high(b) >= v, "{v}: bucket {b} tops at {}", bucket_high(b));
            last = b;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_a_few_percent() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        let p99 = h.quantile(0.99);
        assert!((5_000_000..=5_200_000).contains(&p50), "{p50}");
        assert!((9_900_000..=10_000_000).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), 10_000_000);
        assert_eq!(h.max(), 10_000_000);
        let mut twice = h.clone();
        twice.merge(&h);
        assert_eq!((twice.len(), twice.quantile(0.5)), (20_000, p50));
    }

    #[test]
    fn duplicates_are_told_from_first_deliveries() {
        let mut t = Tally::default();
        assert!(t.record(0, 0, 5));
        assert!(t.record(3, 1_000_000, 5));
        assert!(!t.record(0, 0, 5));
        assert!(t.record(0, 1, 5));
        assert_eq!((t.unique, t.duplicates, t.latency.len()), (3, 1, 4));
    }
}
