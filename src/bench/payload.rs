//! What every bench message carries, and the clock it is stamped with.
//!
//! Layout (big-endian): bytes 0..8 the send time in nanoseconds since the run's [`Clock`] started;
//! bytes 8..16 the publisher index (top 24 bits) and that publisher's sequence number (low 40
//! bits); then zero padding up to the message size (at least [`HEADER_LEN`]).

use std::time::Instant;

use bytes::{BufMut as _, BytesMut};

/// Bytes of the stamp; the smallest allowed `--size`.
pub const HEADER_LEN: usize = 16;
/// Bits of the second word that hold the sequence number.
const SEQ_BITS: u32 = 40;
/// Largest sequence number a publisher may use.
pub const MAX_SEQ: u64 = (1 << SEQ_BITS) - 1;
/// Most publishers one run may have.
pub const MAX_PUBLISHERS: u32 = 1 << (64 - SEQ_BITS);

/// One monotonic clock shared by every publisher and subscriber of a run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    #[must_use]
    pub fn start() -> Self {
        Self { start: Instant::now() }
    }

    /// Nanoseconds since the clock started (saturating after 584 years).
    #[must_use]
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What a received payload says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Send time, ns on the run's clock.
    pub sent_ns: u64,
    /// Index of the publisher.
    pub publisher: u32,
    /// The publisher's sequence number.
    pub seq: u64,
}

/// Appends a payload of `size` bytes (at least [`HEADER_LEN`]), or none for `size` 0 (an empty
/// retained message, which clears its topic).
pub fn write(out: &mut BytesMut, stamp: Stamp, size: usize) {
    if size == 0 {
        return;
    }
    out.put_u64(stamp.sent_ns);
    out.put_u64(u64::from(stamp.publisher) << SEQ_BITS | (stamp.seq & MAX_SEQ));
    out.put_bytes(0, size.saturating_sub(HEADER_LEN));
}

/// Reads the stamp of a payload; `None` if it is too short to be ours.
#[must_use]
pub fn read(payload: &[u8]) -> Option<Stamp> {
    let sent_ns = u64::from_be_bytes(payload.get(0..8)?.try_into().ok()?);
    let word = u64::from_be_bytes(payload.get(8..16)?.try_into().ok()?);
    let publisher = u32::try_from(word >> SEQ_BITS).ok()?;
    Some(Stamp { sent_ns, publisher, seq: word & MAX_SEQ })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_pad() {
        let stamp = Stamp { sent_ns: 123_456_789, publisher: MAX_PUBLISHERS - 1, seq: MAX_SEQ };
        let mut out = BytesMut::new();
        write(&mut out, stamp, 64);
        assert_eq!(out.len(), 64);
        assert_eq!(read(&out), Some(stamp));
        assert!(out[16..].iter().all(|&b| b == 0));
        assert_eq!(read(&out[..15]), None);
    }

    #[test]
    fn the_clock_moves_forward() {
        let clock = Clock::start();
        let a = clock.now_ns();
        assert!(clock.now_ns() >= a);
    }
}
