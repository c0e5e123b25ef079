//! [`TopicPattern`]: `--pattern`, the shape of the topics a run publishes to.
//!
//! Fleets do not name topics `prefix/{n}`: every device is an inner node with a child or two
//! (`sensors/{id}/temp`, `site/{s}/line/{l}/dev/{id}/temp`, `zigbee2mqtt/{name}/availability`),
//! and a broker's memory per topic depends on that shape. A pattern is a topic name with fields:
//! `{i}` is the topic's number (0, 1, … `--topics` − 1), `{i%N}` its remainder by N and `{i/N}`
//! its quotient by N. `site/{i%100}/line/{i%1000}/dev/{i}/temp` gives a plant of 100 sites,
//! 1,000 lines and one device per topic.

use std::fmt::{self, Write as _};

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `{i}`.
    Index,
    /// `{i%N}`.
    Rem(u64),
    /// `{i/N}`.
    Div(u64),
}

/// A topic pattern, parsed once; [`TopicPattern::topic`] expands it for one topic number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    source: String,
    pieces: Vec<Piece>,
}

/// Why a pattern was refused, with the byte offset of the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--pattern {pattern:?}: {what} at byte {at}")]
pub struct PatternError {
    pattern: String,
    what: &'static str,
    at: usize,
}

impl TopicPattern {
    /// Parses `source`.
    ///
    /// # Errors
    /// An unclosed or unknown `{…}` field, a modulus or divisor of 0, wildcards (`+`, `#`), a
    /// pattern without `{i}` (every topic must be distinct), or a leading `/` or `$`.
    pub fn parse(source: &str) -> Result<Self, PatternError> {
        let fail = |what, at| PatternError { pattern: source.to_owned(), what, at };
        if let Some(at) = source.find(['+', '#']) {
            return Err(fail("wildcards are not topic names", at));
        }
        if source.starts_with(['/', '$']) || source.is_empty() {
            return Err(fail("a pattern starts with a level name (it is put below the run's own prefix)", 0));
        }
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            let at = source.len() - rest.len() + open;
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or_else(|| fail("unclosed {", at))?;
            let field = &rest[open + 1..open + close];
            pieces.push(parse_field(field).map_err(|what| fail(what, at))?);
            rest = &rest[open + close + 1..];
        }
        if let Some(at) = rest.find('}') {
            return Err(fail("} without {", source.len() - rest.len() + at));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        if !pieces.contains(&Piece::Index) {
            return Err(fail("no {i}: every topic of a run must be distinct", 0));
        }
        Ok(Self { source: source.to_owned(), pieces })
    }

    /// The topic of number `i`, below `prefix` (the run's token).
    #[must_use]
    pub fn topic(&self, prefix: &str, i: u64) -> String {
        let mut out = String::with_capacity(prefix.len() + 1 + self.source.len() + 16);
        out.push_str(prefix);
        out.push('/');
        for piece in &self.pieces {
            // Writing to a String cannot fail.
            let _ = match piece {
                Piece::Text(text) => out.write_str(text),
                Piece::Index => write!(out, "{i}"),
                Piece::Rem(n) => write!(out, "{}", i % n),
                Piece::Div(n) => write!(out, "{}", i / n),
            };
        }
        out
    }
}

fn parse_field(field: &str) -> Result<Piece, &'static str> {
    let number = |n: &str| n.trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or("the number after % or / must be a whole number above 0");
    match field.trim() {
        "i" => Ok(Piece::Index),
        f => {
            if let Some(n) = f.strip_prefix('i').map(str::trim_start).and_then(|f| f.strip_prefix('%')) {
                number(n).map(Piece::Rem)
            } else if let Some(n) = f.strip_prefix('i').map(str::trim_start).and_then(|f| f.strip_prefix('/')) {
                number(n).map(Piece::Div)
            } else {
                Err("unknown field (use {i}, {i%N} or {i/N})")
            }
        }
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for TopicPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_index_remainder_and_quotient() {
        let p = TopicPattern::parse("site/{i%100}/line/{i%1000}/dev/{i}/temp").unwrap();
        assert_eq!(p.topic("mb/x", 123_456), "mb/x/site/56/line/456/dev/123456/temp");
        let p = TopicPattern::parse("plant{i/1000}/dev{i}/{i%2}").unwrap();
        assert_eq!(p.topic("t", 2_345), "t/plant2/dev2345/1");
        let p = TopicPattern::parse("sensors/{ i }/temp").unwrap();
        assert_eq!(p.topic("t", 0), "t/sensors/0/temp");
    }

    #[test]
    fn refuses_what_would_not_make_distinct_topic_names() {
        let err = |s: &str| TopicPattern::parse(s).unwrap_err().to_string();
        assert!(err("a/{i").contains("unclosed { at byte 2"), "{}", err("a/{i"));
        assert!(err("a/{j}").contains("unknown field"));
        assert!(err("a/{i%0}").contains("above 0"));
        assert!(err("a/+/{i}").contains("wildcards"));
        assert!(err("a/{i%10}").contains("no {i}"));
        assert!(err("/a/{i}").contains("starts with a level"));
        assert!(err("a/{i}}").contains("} without {"));
    }
}
