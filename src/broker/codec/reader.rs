//! Bounds-checked reading of the MQTT data representations (5.0 §1.5 / 3.1.1 §1.5) from one
//! complete frame. Reading past the end of the frame (or of a property block) is a Malformed Packet.

use bytes::Bytes;

use super::error::DecodeError;

const SHORT: DecodeError = DecodeError::MalformedPacket("packet shorter than its fields");

/// A cursor over `frame[pos..end]`; binary fields are returned as zero-copy slices of `frame`.
pub(super) struct Reader<'a> {
    frame: &'a Bytes,
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// Reads `frame[pos..]`.
    pub(super) fn new(frame: &'a Bytes, pos: usize) -> Self {
        Self { frame, pos, end: frame.len() }
    }

    /// `true` when every byte has been consumed.
    pub(super) const fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Malformed Packet unless every byte has been consumed (the Remaining Length must match
    /// the content exactly).
    pub(super) const fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() { Ok(()) } else { Err(DecodeError::MalformedPacket("bytes left over after the last field")) }
    }

    /// Consumes `n` bytes and returns their range in the frame.
    fn take(&mut self, n: usize) -> Result<std::ops::Range<usize>, DecodeError> {
        let start = self.pos;
        let end = start.checked_add(n).filter(|&e| e <= self.end).ok_or(SHORT)?;
        self.pos = end;
        Ok(start..end)
    }

    /// Consumes `n` bytes and returns them.
    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let range = self.take(n)?;
        let frame: &'a [u8] = self.frame;
        frame.get(range).ok_or(SHORT)
    }

    /// A sub-reader over the next `n` bytes (e.g. a property block), which are consumed here.
    pub(super) fn split(&mut self, n: usize) -> Result<Self, DecodeError> {
        let range = self.take(n)?;
        Ok(Self { frame: self.frame, pos: range.start, end: range.end })
    }

    /// One byte.
    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        let frame: &'a [u8] = self.frame;
        let b = *frame.get(self.pos).filter(|_| self.pos < self.end).ok_or(SHORT)?;
        self.pos += 1;
        Ok(b)
    }

    /// Two Byte Integer (big-endian).
    pub(super) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        let arr: [u8; 2] = b.try_into().map_err(|_| SHORT)?;
        Ok(u16::from_be_bytes(arr))
    }

    /// Four Byte Integer (big-endian).
    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        let arr: [u8; 4] = b.try_into().map_err(|_| SHORT)?;
        Ok(u32::from_be_bytes(arr))
    }

    /// Variable Byte Integer: at most 4 bytes; non-minimal encodings are accepted.
    pub(super) fn varint(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for shift in [0, 7, 14, 21] {
            let b = self.u8()?;
            value |= u32::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedPacket("variable byte integer longer than 4 bytes"))
    }

    /// Binary Data: two-byte length then bytes, as a zero-copy slice of the frame.
    pub(super) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let n = usize::from(self.u16()?);
        let range = self.take(n)?;
        // `take` checked `range.end <= self.end <= frame.len()`, so `slice` cannot panic.
        Ok(self.frame.slice(range))
    }

    /// UTF-8 Encoded String, validated (MQTT-1.5.4-1, MQTT-1.5.4-2) and borrowed from the frame.
    pub(super) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = usize::from(self.u16()?);
        check_utf8(self.bytes(n)?)
    }

    /// UTF-8 Encoded String as an owned `String` (the only allocation a string field costs).
    pub(super) fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }

    /// UTF-8 String Pair (User Property).
    pub(super) fn string_pair(&mut self) -> Result<(String, String), DecodeError> {
        Ok((self.string()?, self.string()?))
    }

    /// All remaining bytes as a zero-copy slice of the frame (PUBLISH payload).
    pub(super) fn rest(&mut self) -> Bytes {
        let start = self.pos.min(self.end);
        self.pos = self.end;
        self.frame.slice(start..self.end)
    }

    /// All remaining bytes, borrowed (reason code lists).
    pub(super) fn rest_bytes(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.end);
        self.pos = self.end;
        let frame: &'a [u8] = self.frame;
        frame.get(start..self.end).unwrap_or_default()
    }
}

/// Well-formed UTF-8 (which excludes surrogates U+D800..U+DFFF) without U+0000. A leading
/// U+FEFF (BOM) is kept as is, never stripped (MQTT-1.5.4-3).
pub(super) fn check_utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    if bytes.contains(&0) {
        return Err(DecodeError::InvalidUtf8);
    }
    Ok(s)
}
