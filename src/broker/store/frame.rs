//! Framing of the journal: every record is `MAGIC, length, CRC32, body`, so that a torn write at the
//! end and damage in the middle are both detected, and the reader can find the next intact record
//! after damage instead of giving up on the rest of the file.
//!
//! Owns: [`frame`] and [`Frames`]. Knows nothing of what a record means.

/// Marks the start of a record (also what the reader looks for after damage).
pub const MAGIC: [u8; 4] = *b"MQJ1";
/// Bytes before a record's body: magic, little-endian body length, little-endian CRC32 of the body.
pub const HEADER: usize = 12;
/// Longest body we accept: a larger length can only be damage.
pub const MAX_BODY: usize = 512 * 1024 * 1024;

/// Append one framed record holding `body` to `out`.
pub fn frame(body: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
}

/// What reading a journal found besides its intact records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Bytes skipped in the middle of the file (bad checksum, bad length, garbage) before an intact record.
    pub skipped_bytes: u64,
    /// Places where the middle of the file was damaged.
    pub gaps: u64,
    /// Bytes at the end that do not form an intact record (a write cut short by a crash).
    pub torn_tail: u64,
    /// Offset just past the last intact record: appending may continue from there.
    pub valid_end: u64,
}

impl Damage {
    /// True if anything was skipped or cut.
    #[must_use]
    pub const fn any(&self) -> bool {
        self.skipped_bytes > 0 || self.torn_tail > 0
    }
}

/// The intact record bodies of a journal, in order; [`Frames::damage`] says what was skipped.
pub struct Frames<'a> {
    data: &'a [u8],
    pos: usize,
    damage: Damage,
}

impl<'a> Frames<'a> {
    /// Read the records of `data`.
    #[must_use]
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, damage: Damage { skipped_bytes: 0, gaps: 0, torn_tail: 0, valid_end: 0 } }
    }

    /// What was skipped so far (all of it once the iterator is done).
    #[must_use]
    pub const fn damage(&self) -> Damage {
        self.damage
    }

    /// The record at `at`, if one is intact there: (body, end offset).
    fn intact_at(&self, at: usize) -> Option<(&'a [u8], usize)> {
        let head = self.data.get(at..at + HEADER)?;
        if head[..4] != MAGIC {
            return None;
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let crc = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if len > MAX_BODY {
            return None;
        }
        let body = self.data.get(at + HEADER..at + HEADER + len)?;
        (crc32fast::hash(body) == crc).then_some((body, at + HEADER + len))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.data.len() {
            return None;
        }
        if let Some((body, end)) = self.intact_at(self.pos) {
            self.pos = end;
            self.damage.valid_end = end as u64;
            return Some(body);
        }
        // Damage: look for the next intact record. None at all: the rest is a torn tail.
        let start = self.pos;
        let mut at = start + 1;
        while let Some(i) = self.data.get(at..).and_then(|rest| rest.windows(4).position(|w| w == MAGIC)) {
            at += i;
            if let Some((body, end)) = self.intact_at(at) {
                self.damage.skipped_bytes += (at - start) as u64;
                self.damage.gaps += 1;
                self.pos = end;
                self.damage.valid_end = end as u64;
                return Some(body);
            }
            at += 1;
        }
        self.damage.torn_tail = (self.data.len() - start) as u64;
        self.pos = self.data.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in bodies {
            frame(b, &mut out);
        }
        out
    }

    #[test]
    fn reads_back_every_record() {
        let data = journal(&[b"one", b"", b"three"]);
        let mut frames = Frames::new(&data);
        let got: Vec<&[u8]> = frames.by_ref().collect();
        assert_eq!(got, [&b"one"[..], b"", b"three"]);
        assert_eq!(frames.damage(), Damage { valid_end: data.len() as u64, ..Damage::default() });
    }

    #[test]
    fn a_torn_tail_is_reported_and_the_rest_kept() {
        let mut data = journal(&[b"one", b"two"]);
        let whole = data.len();
        data.truncate(whole - 2);
        let mut frames = Frames::new(&data);
        assert_eq!(frames.by_ref().collect::<Vec<_>>(), [&b"one"[..]]);
        let d = frames.damage();
        assert_eq!((d.torn_tail, d.skipped_bytes, d.valid_end), ((HEADER + 3 - 2) as u64, 0, (HEADER + 3) as u64));
    }

    #[test]
    fn a_flipped_bit_in_the_middle_skips_that_record_only() {
        let mut data = journal(&[b"one", b"two", b"three"]);
        data[HEADER + 3 + HEADER] ^= 0x01; // first byte of "two"
        let mut frames = Frames::new(&data);
        assert_eq!(frames.by_ref().collect::<Vec<_>>(), [&b"one"[..], b"three"]);
        let d = frames.damage();
        assert_eq!((d.gaps, d.skipped_bytes, d.torn_tail), (1, (HEADER + 3) as u64, 0));
    }
}
