//! Writing the MQTT data representations. The encoder emits every packet through [`Sink`] twice:
//! once into a [`Counter`] (which gives `encoded_len` and the Remaining Length) and once into
//! the output `BytesMut`, so the announced lengths always match the written bytes.

use bytes::{BufMut, BytesMut};

/// Longest string or binary field the two-byte length prefix can announce.
const MAX_FIELD: usize = u16::MAX as usize;

/// Destination of encoded fields.
pub(super) trait Sink {
    /// Raw bytes.
    fn raw(&mut self, bytes: &[u8]);
    /// Variable Byte Integer (values above 268,435,455 produce an over-long, invalid encoding).
    fn varint(&mut self, value: u32);

    /// One byte.
    fn u8(&mut self, v: u8) {
        self.raw(&[v]);
    }
    /// Two Byte Integer.
    fn u16(&mut self, v: u16) {
        self.raw(&v.to_be_bytes());
    }
    /// Four Byte Integer.
    fn u32(&mut self, v: u32) {
        self.raw(&v.to_be_bytes());
    }
    /// Binary Data (truncated to 65,535 bytes).
    fn bin(&mut self, b: &[u8]) {
        let b = b.get(..MAX_FIELD).unwrap_or(b);
        self.u16(u16::try_from(b.len()).unwrap_or(u16::MAX));
        self.raw(b);
    }
    /// UTF-8 Encoded String (truncated to 65,535 bytes at a char boundary).
    fn str(&mut self, s: &str) {
        self.bin(clamp_str(s).as_bytes());
    }
}

/// `s` cut to at most 65,535 bytes without splitting a character.
fn clamp_str(s: &str) -> &str {
    let mut end = s.len().min(MAX_FIELD);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Number of bytes of the Variable Byte Integer encoding of `value`.
pub(super) const fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    }
}

/// Counts bytes instead of writing them.
#[derive(Default)]
pub(super) struct Counter(pub(super) usize);

impl Sink for Counter {
    fn raw(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    fn varint(&mut self, value: u32) {
        self.0 += varint_len(value);
    }
}

impl Sink for BytesMut {
    fn raw(&mut self, bytes: &[u8]) {
        self.put_slice(bytes);
    }
    fn u8(&mut self, v: u8) {
        self.put_u8(v);
    }
    fn varint(&mut self, mut value: u32) {
        loop {
            let low = u8::try_from(value & 0x7F).unwrap_or_default();
            value >>= 7;
            if value == 0 {
                self.put_u8(low);
                return;
            }
            self.put_u8(low | 0x80);
        }
    }
}

/// Converts a computed length to the `u32` a Variable Byte Integer carries (saturating).
pub(super) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
