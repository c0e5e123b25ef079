//! Payload inspection: kind detection, previews, hex/base64 conversion, pretty JSON,
//! JSON paths (submodule `path`) and the numeric value of a payload for charts
//! (submodule `numeric`); everything is re-exported here.
//!
//! Everything here is pure and bounded: the text/binary decision looks at no more than
//! [`TEXT_SCAN_LIMIT`] bytes, JSON is only parsed up to [`JSON_LIMIT`] bytes (and
//! `serde_json`'s recursion limit of 128 turns absurdly deep nesting into "not JSON"),
//! and [`preview`] is O(`max_chars`) whatever the payload size.

use std::fmt::{self, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::Value;

mod numeric;
mod path;
#[cfg(test)]
mod tests;

pub use numeric::{numeric_at, numeric_paths, numeric_value};
pub use path::{JsonPath, PathSegment};

/// At most this many leading bytes decide whether a payload is text or binary.
pub const TEXT_SCAN_LIMIT: usize = 64 * 1024;
/// Payloads larger than this are never parsed as JSON.
pub const JSON_LIMIT: usize = 4 * 1024 * 1024;

/// How a payload is best shown. Decided once per message by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// Zero bytes.
    Empty,
    /// A JSON object or array (a bare JSON scalar such as `21.5` is [`PayloadKind::Text`]).
    Json,
    /// UTF-8 text with few control characters.
    Text,
    /// Anything else: invalid UTF-8, NUL bytes, many control characters.
    Binary,
}

/// Errors of the user-input parsers ([`from_hex`], [`from_base64`], [`JsonPath::parse`]).
///
/// Every `position` is a 0-based character index into the text as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// A character that is neither a hex digit nor a separator.
    InvalidHexDigit {
        /// The offending character.
        ch: char,
        /// 0-based character index.
        position: usize,
        /// 1-based line number.
        line: usize,
        /// 1-based character column within the line.
        column: usize,
    },
    /// A group of more than one hex digit with an odd number of digits, e.g. `486`.
    OddHexDigits {
        /// 0-based character index of the group's first digit.
        position: usize,
        /// Number of digits in the group.
        digits: usize,
    },
    /// Base64 that does not decode.
    InvalidBase64 {
        /// 0-based character index of the culprit, when there is one.
        position: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A [`JsonPath`] that does not parse.
    InvalidPath {
        /// 0-based character index of the problem.
        position: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHexDigit { ch, position, line, column } => {
                write!(f, "invalid hex digit {ch:?} at position {position}")?;
                if *line > 1 {
                    write!(f, " (line {line}, column {column})")?;
                }
                Ok(())
            }
            Self::OddHexDigits { position, digits } => {
                write!(f, "odd number of hex digits ({digits}) in the group at position {position}")
            }
            Self::InvalidBase64 { position: Some(p), reason } => {
                write!(f, "invalid base64 at position {p}: {reason}")
            }
            Self::InvalidBase64 { position: None, reason } => write!(f, "invalid base64: {reason}"),
            Self::InvalidPath { position, reason } => {
                write!(f, "invalid path at position {position}: {reason}")
            }
        }
    }
}

impl std::error::Error for PayloadError {}

/// Decides how to show `payload`: bounded scan of the first [`TEXT_SCAN_LIMIT`] bytes for
/// text vs binary; `Json` only for objects/arrays of at most [`JSON_LIMIT`] bytes that parse.
#[must_use]
pub fn detect(payload: &[u8]) -> PayloadKind {
    if payload.is_empty() {
        return PayloadKind::Empty;
    }
    let prefix = &payload[..payload.len().min(TEXT_SCAN_LIMIT)];
    if text_prefix(prefix, prefix.len() < payload.len()).is_none() {
        return PayloadKind::Binary;
    }
    let opens_container = matches!(strip_bom(prefix).trim_ascii_start().first(), Some(b'{' | b'['));
    if opens_container && parse_json(payload).is_some() { PayloadKind::Json } else { PayloadKind::Text }
}

/// The prefix as text if it looks like text: valid UTF-8 (a character cut at the end is
/// allowed when `cut`), no NUL, and at most 5 % other control characters (tab, newlines,
/// form feed and ESC are fine).
fn text_prefix(bytes: &[u8], cut: bool) -> Option<&str> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) if cut && e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        Err(_) => return None,
    };
    let (mut total, mut controls) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c == '\0' {
            return None;
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b') {
            controls += 1;
        }
    }
    (controls * 20 <= total).then_some(text)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
}

/// Parses a payload of at most [`JSON_LIMIT`] bytes (a leading UTF-8 BOM is ignored).
fn parse_json(payload: &[u8]) -> Option<Value> {
    if payload.len() > JSON_LIMIT {
        return None;
    }
    serde_json::from_slice(strip_bom(payload)).ok()
}

/// One-line preview of at most `max_chars` characters, ending in `…` when cut.
///
/// Text: surrounding whitespace trimmed, each line break becomes `↵` (the next line's
/// indentation is dropped), tabs and other control characters become a space.
/// Binary (judged on the scanned prefix only): hex bytes such as `0x1f 8b 08 …`.
/// Scans at most about `8 * max_chars` bytes, so it is O(`max_chars`), not O(len).
#[must_use]
pub fn preview(payload: &[u8], max_chars: usize) -> String {
    if max_chars == 0 || payload.is_empty() {
        return String::new();
    }
    let scan = max_chars.saturating_mul(8).saturating_add(64).min(TEXT_SCAN_LIMIT);
    let prefix = &payload[..payload.len().min(scan)];
    let more = prefix.len() < payload.len();
    let Some(text) = text_prefix(prefix, more) else {
        return hex_preview(payload, max_chars);
    };
    let text = if more { text.trim_start() } else { text.trim() };
    let mut out = String::new();
    let mut count = 0;
    let mut chars = text.chars().peekable();
    while count < max_chars
        && let Some(c) = chars.next()
    {
        let shown = match c {
            '\r' | '\n' => {
                if c == '\r' {
                    chars.next_if_eq(&'\n');
                }
                while chars.next_if(|c| matches!(c, ' ' | '\t')).is_some() {}
                '↵'
            }
            c if c.is_control() => ' ',
            c => c,
        };
        out.push(shown);
        count += 1;
    }
    if more || chars.peek().is_some() {
        if count == max_chars {
            out.pop();
        }
        out.push('…');
    }
    out
}

fn hex_preview(payload: &[u8], max_chars: usize) -> String {
    // "0x" + 2 chars for the first byte, 3 chars for each further one, " …" when cut.
    let shown = if 3 * payload.len().min(max_chars) < max_chars { payload.len() } else { max_chars.saturating_sub(3) / 3 };
    if shown == 0 {
        return "…".into();
    }
    let mut out = String::from("0x");
    for (i, b) in payload.iter().take(shown).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_hex(&mut out, *b);
    }
    if shown < payload.len() {
        out.push_str(" …");
    }
    out
}

fn push_hex(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
}

/// Classic `hexdump -C` style dump of at most `max_bytes` bytes starting at `offset`
/// (offsets shown are absolute), lines separated by `\n`, no trailing newline:
/// `00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 03  |Hello world.....|`
#[must_use]
pub fn hex_dump(payload: &[u8], offset: usize, max_bytes: usize) -> String {
    hex_dump_by(payload, offset, max_bytes, 16)
}

/// Characters of one [`hex_dump_by`] line of `per_line` bytes.
#[must_use]
pub fn hex_line_chars(per_line: usize) -> usize {
    // Offset and two spaces, "xx " per byte, the middle gap, " |", the ASCII column, "|".
    10 + 3 * per_line + usize::from(per_line > 8) + 2 + per_line + 1
}

/// As [`hex_dump`], `per_line` bytes a line (a gap after the first 8 when there are more).
#[must_use]
pub fn hex_dump_by(payload: &[u8], offset: usize, max_bytes: usize, per_line: usize) -> String {
    let per_line = per_line.max(1);
    let start = offset.min(payload.len());
    let end = start.saturating_add(max_bytes).min(payload.len());
    let mut out = String::with_capacity((end - start).div_ceil(per_line) * (hex_line_chars(per_line) + 1));
    for (line, chunk) in payload[start..end].chunks(per_line).enumerate() {
        if line > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{:08x}  ", start + line * per_line);
        for i in 0..per_line {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => {
                    push_hex(&mut out, *b);
                    out.push(' ');
                }
                None => out.push_str("   "),
            }
        }
        out.push_str(" |");
        out.extend(chunk.iter().map(|&b| if b == b' ' || b.is_ascii_graphic() { char::from(b) } else { '.' }));
        out.push('|');
    }
    out
}

/// Standard base64 with padding.
#[must_use]
pub fn to_base64(payload: &[u8]) -> String {
    STANDARD.encode(payload)
}

/// Decodes base64 typed or pasted by a user: whitespace is ignored, padding is optional and
/// the URL-safe alphabet (`-`, `_`) is accepted too.
///
/// # Errors
/// [`PayloadError::InvalidBase64`] with the position of the offending character if any.
pub fn from_base64(s: &str) -> Result<Vec<u8>, PayloadError> {
    let mut compact = Vec::with_capacity(s.len());
    for (position, ch) in s.chars().enumerate() {
        if ch.is_whitespace() {
            continue;
        }
        let Some(b) = u8::try_from(ch).ok().filter(u8::is_ascii) else {
            return Err(PayloadError::InvalidBase64 { position: Some(position), reason: format!("unexpected character {ch:?}") });
        };
        compact.push(b);
    }
    // Padding is optional: drop it and decode unpadded (a '=' elsewhere is then an error).
    let pad_start = compact.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let (body, padding) = compact.split_at(pad_start);
    let engine = if body.iter().any(|b| matches!(b, b'-' | b'_')) { URL_SAFE_NO_PAD } else { STANDARD_NO_PAD };
    // Position in `s` of the i-th non-whitespace character (only computed for errors).
    let at = |i: usize| s.chars().enumerate().filter(|(_, c)| !c.is_whitespace()).nth(i).map(|(p, _)| p);
    let decoded = engine.decode(body).map_err(|e| match e {
        base64::DecodeError::InvalidByte(i, b) => {
            PayloadError::InvalidBase64 { position: at(i), reason: format!("unexpected character {:?}", char::from(b)) }
        }
        base64::DecodeError::InvalidLastSymbol(i, b) => PayloadError::InvalidBase64 {
            position: at(i),
            reason: format!("{:?} cannot be the last character (truncated or corrupted input)", char::from(b)),
        },
        base64::DecodeError::InvalidLength(_) => PayloadError::InvalidBase64 {
            position: None,
            reason: format!("length {} (without padding) is impossible, something is missing", body.len()),
        },
        base64::DecodeError::InvalidPadding => PayloadError::InvalidBase64 { position: None, reason: "invalid padding".into() },
    })?;
    if padding.len() > 2 || (!padding.is_empty() && (body.len() + padding.len()) % 4 != 0) {
        return Err(PayloadError::InvalidBase64 { position: at(pad_start), reason: "wrong amount of '=' padding".into() });
    }
    Ok(decoded)
}

/// Parses hex typed by a user: `48 65 6c`, `48656c`, `0x48 0x65`, `48:65:6c`, over several
/// lines. Whitespace, `,`, `:` and `-` separate groups; a group may start with `0x`; a group
/// of one digit is one byte (`0x4` = 4), longer groups need an even number of digits.
///
/// # Errors
/// [`PayloadError::InvalidHexDigit`] or [`PayloadError::OddHexDigits`], saying where.
pub fn from_hex(s: &str) -> Result<Vec<u8>, PayloadError> {
    let mut out = Vec::with_capacity(s.len() / 2);
    let (mut line, mut column) = (1, 0);
    let mut group_start = 0;
    let mut digits = 0usize;
    let mut high = 0u8;
    let mut chars = s.chars().enumerate().peekable();
    let finish = |out: &mut Vec<u8>, digits: usize, high: u8, start: usize| match digits {
        1 => {
            out.push(high);
            Ok(())
        }
        d if d % 2 == 1 => Err(PayloadError::OddHexDigits { position: start, digits: d }),
        _ => Ok(()),
    };
    while let Some((position, ch)) = chars.next() {
        column += 1;
        if ch.is_whitespace() || matches!(ch, ',' | ':' | '-') {
            finish(&mut out, digits, high, group_start)?;
            digits = 0;
            if ch == '\n' {
                (line, column) = (line + 1, 0);
            }
        } else if digits == 0 && ch == '0' && chars.next_if(|(_, c)| matches!(c, 'x' | 'X')).is_some() {
            column += 1;
        } else if let Some(v) = ch.to_digit(16).and_then(|v| u8::try_from(v).ok()) {
            if digits == 0 {
                group_start = position;
            }
            if digits.is_multiple_of(2) {
                high = v;
            } else {
                out.push(high << 4 | v);
            }
            digits += 1;
        } else {
            return Err(PayloadError::InvalidHexDigit { ch, position, line, column });
        }
    }
    finish(&mut out, digits, high, group_start)?;
    Ok(out)
}

/// Pretty JSON (2-space indent), or `None` if the payload is not JSON (or over
/// [`JSON_LIMIT`], or nested deeper than `serde_json`'s recursion limit of 128).
#[must_use]
pub fn json_pretty(payload: &[u8]) -> Option<String> {
    parse_json(payload).and_then(|v| serde_json::to_string_pretty(&v).ok())
}
