//! Where a protobuf message stops making sense: prost says *what* is wrong but not *where*, so the
//! wire format is walked (keys, varints, lengths) to find the first field that does not frame,
//! descending into the metric that fails to decode.

use prost::Message as _;

use super::sparkplug::proto::Metric;

/// Byte offset of the first problem in a Sparkplug payload that prost rejected (0 when the
/// framing is sound and the problem is in a value, e.g. invalid UTF-8 in a top-level string).
pub(super) fn sparkplug_error_offset(bytes: &[u8]) -> usize {
    walk(bytes, true).unwrap_or(0)
}

/// Byte offset of the first top-level field of any protobuf message that does not frame (0 when
/// the framing is sound and the problem is inside a field).
pub(super) fn error_offset(bytes: &[u8]) -> usize {
    walk(bytes, false).unwrap_or(0)
}

/// The offset of the first framing error in `bytes`; at the top level, inside the failing metric.
fn walk(bytes: &[u8], top: bool) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let Some((key, n)) = varint(&bytes[at..]) else { return Some(start) };
        at += n;
        let need = match key & 7 {
            0 => {
                let Some((_, n)) = varint(&bytes[at..]) else { return Some(start) };
                n
            }
            1 => 8,
            5 => 4,
            2 => {
                let Some((len, n)) = varint(&bytes[at..]) else { return Some(start) };
                let data = at + n;
                let Some(end) = usize::try_from(len).ok().and_then(|len| data.checked_add(len)).filter(|&e| e <= bytes.len()) else {
                    return Some(start);
                };
                if top && key >> 3 == 2 && Metric::decode(&bytes[data..end]).is_err() {
                    return Some(data + walk(&bytes[data..end], false).unwrap_or(0));
                }
                end - at
            }
            _ => return Some(start),
        };
        if at + need > bytes.len() {
            return Some(start);
        }
        at += need;
    }
    None
}

/// A base-128 varint and its length; `None` when truncated or longer than 10 bytes.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The value of the last top-level varint field numbered `field` of a protobuf message, read
/// without decoding the rest (length-delimited fields are skipped by their length): how the
/// Sparkplug hierarchy reads a DATA message's `seq` for the cost of a few varints. `None` when the
/// field is absent; where the framing breaks, what was found before it.
pub(super) fn varint_field(bytes: &[u8], field: u64) -> Option<u64> {
    let mut at = 0;
    let mut found = None;
    while at < bytes.len() {
        let Some((key, n)) = varint(&bytes[at..]) else { break };
        at += n;
        let next = match key & 7 {
            0 => varint(&bytes[at..]).map(|(value, n)| {
                if key >> 3 == field {
                    found = Some(value);
                }
                at + n
            }),
            1 => Some(at + 8),
            5 => Some(at + 4),
            2 => varint(&bytes[at..]).and_then(|(len, n)| usize::try_from(len).ok().and_then(|len| (at + n).checked_add(len))),
            _ => None,
        };
        match next {
            Some(next) if next <= bytes.len() => at = next,
            _ => break,
        }
    }
    found
}
