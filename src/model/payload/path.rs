//! [`JsonPath`]: a path into a JSON value, with a text form that users can type.
//!
//! Grammar: an optional bare first key, then any number of `.key`, `[index]` or
//! `["quoted key"]` (a JSON string literal, so `\"` and `\\` escapes work). A bare key is
//! any run of characters other than `.`, `[`, `]` and `"`. Surrounding whitespace of the
//! whole text is ignored; the empty text is the root path. A jq-style leading `.` is
//! accepted too (`.a[0]`, `.["a.b"]`, `.` for the root) but never written.

use std::fmt;

use serde_json::Value;

use super::PayloadError;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A path into a JSON value: keys and array indices. Keys may contain dots.
///
/// Text form (see [`JsonPath::parse`] and `Display`, which round-trip): `temperature`,
/// `sensors[0].value`, `["a.b"].c`, `data.values[3]`; the root path is the empty text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(pub Vec<PathSegment>);

impl JsonPath {
    /// Parses the text form described in the module docs.
    ///
    /// # Errors
    /// [`PayloadError::InvalidPath`] with the (0-based character) position of the problem.
    pub fn parse(s: &str) -> Result<Self, PayloadError> {
        let lead = s.chars().take_while(|c| c.is_whitespace()).count();
        let chars: Vec<char> = s.trim().chars().collect();
        let err = |position: usize, reason| PayloadError::InvalidPath { position: lead + position, reason };
        let mut segments = Vec::new();
        // An optional jq-style leading '.': `.a[0]` is `a[0]`, `.` is the root.
        let mut i = usize::from(chars.first() == Some(&'.'));
        if chars.get(i).is_some_and(|&c| c != '[') {
            let (key, next) = bare_key(&chars, i).map_err(|(p, r)| err(p, r))?;
            segments.push(PathSegment::Key(key));
            i = next;
        }
        while let Some(&c) = chars.get(i) {
            let (segment, next) = match c {
                '.' => bare_key(&chars, i + 1).map(|(key, next)| (PathSegment::Key(key), next)),
                '[' => bracket(&chars, i),
                ']' => Err((i, "unmatched ']'")),
                '"' => Err((i, "quoted keys must be written [\"...\"]")),
                _ => Err((i, "expected '.', '[' or the end of the path")),
            }
            .map_err(|(p, r)| err(p, r))?;
            segments.push(segment);
            i = next;
        }
        Ok(Self(segments))
    }

    /// The value at this path inside `v`. Lenient: a key made of digits also indexes an
    /// array, so `sensors.0.value` works like `sensors[0].value`.
    #[must_use]
    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(v, |current, segment| match (segment, current) {
            (PathSegment::Key(k), Value::Object(map)) => map.get(k),
            (PathSegment::Key(k), Value::Array(items)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
                k.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            (PathSegment::Index(i), Value::Array(items)) => items.get(*i),
            _ => None,
        })
    }

    /// Whether this is the root path (no segments).
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This path extended by one segment.
    #[must_use]
    pub fn child(&self, segment: PathSegment) -> Self {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        Self(segments)
    }
}

type ParseResult<T> = Result<T, (usize, &'static str)>;

/// A bare key starting at `start`: must not be empty.
fn bare_key(chars: &[char], start: usize) -> ParseResult<(String, usize)> {
    let rest = chars.get(start..).unwrap_or_default();
    let len = rest.iter().take_while(|c| !matches!(c, '.' | '[' | ']' | '"')).count();
    if len == 0 {
        return Err((start, "expected a key"));
    }
    Ok((rest[..len].iter().collect(), start + len))
}

/// `[123]` or `["key"]` starting at `open` (the `[`).
fn bracket(chars: &[char], open: usize) -> ParseResult<(PathSegment, usize)> {
    let start = open + 1;
    let rest = chars.get(start..).unwrap_or_default();
    if rest.first() == Some(&'"') {
        let mut k = 1;
        loop {
            match rest.get(k) {
                None => return Err((open, "unterminated quoted key")),
                Some('\\') => k += 2,
                Some('"') => break,
                Some(_) => k += 1,
            }
        }
        let literal: String = rest[..=k].iter().collect();
        let key: String = serde_json::from_str(&literal).map_err(|_| (start, "invalid escape in quoted key"))?;
        return match rest.get(k + 1) {
            Some(']') => Ok((PathSegment::Key(key), start + k + 2)),
            _ => Err((start + k + 1, "expected ']' after the quoted key")),
        };
    }
    let len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return Err((start, "expected an index or a quoted key after '['"));
    }
    if rest.get(len) != Some(&']') {
        return Err((start + len, "expected ']'"));
    }
    let digits: String = rest[..len].iter().collect();
    let index = digits.parse().map_err(|_| (start, "index too large"))?;
    Ok((PathSegment::Index(index), start + len + 1))
}

/// Keys that cannot be written bare (or would not survive parsing's trimming).
fn needs_quotes(key: &str) -> bool {
    key.is_empty()
        || key.starts_with(char::is_whitespace)
        || key.ends_with(char::is_whitespace)
        || key.chars().any(|c| matches!(c, '.' | '[' | ']' | '"' | '\\') || c.is_control())
}

impl fmt::Display for JsonPath {
    /// Round-trips with [`JsonPath::parse`]; keys that contain `.`, `[`, `]`, `"`, `\`,
    /// control characters, surrounding whitespace, or are empty are written `["..."]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                PathSegment::Key(k) if needs_quotes(k) => {
                    let literal = serde_json::to_string(k).map_err(|_| fmt::Error)?;
                    write!(f, "[{literal}]")?;
                }
                PathSegment::Key(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for JsonPath {
    type Err = PayloadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for JsonPath {
    /// As its text form, so saved chart definitions stay readable.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for JsonPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}
