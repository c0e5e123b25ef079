//! MQTT topic names and topic filters: validation, wildcard matching and the two indexes the
//! broker routes with. Plain data and rules, no I/O: the broker, its codec and the explorer's model
//! (filters, profiles, the publish form) all check topics here.
//!
//! This module owns the rules of OASIS MQTT 5.0 §4.7 / §4.8.2 and MQTT 3.1.1 §4.7:
//!
//! - [`validate_topic_name`] and [`validate_topic_filter`] check the syntax of what a client sends
//!   (non-empty, at most 65,535 bytes, no U+0000, wildcards only in filters and only as whole
//!   levels, `#` only last);
//! - [`matches()`] is the reference matcher for one filter against one topic name, including the
//!   rule that filters starting with a wildcard do not match topics starting with `$`;
//! - [`parse_shared`] splits a `$share/{ShareName}/{filter}` shared-subscription filter (MQTT 5);
//! - [`FilterTrie`] is the subscription table (filter → entries keyed by session), matched per
//!   published topic in O(levels × matching branches) instead of O(subscriptions);
//! - [`TopicTrie`] is the retained-message index (exact topics), queried with wildcard filters.
//!
//! Nothing here normalises names (MQTT-4.7.3-4): levels are compared byte for byte, and an empty
//! level (`a//b`, `/a`, `a/`) is a level like any other. Every walk over the tries is iterative, so a
//! 65,535-byte topic of 32,768 levels neither overflows the stack when matched nor when dropped.

mod filter_trie;
mod levels;
mod topic_trie;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_trie;

pub use filter_trie::FilterTrie;
pub use topic_trie::{TopicTrie, TopicValue};

/// Longest topic name or filter in bytes: a UTF-8 Encoded String has a 16-bit length
/// (MQTT-4.7.3-3, MQTT 5.0 §1.5.4).
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The prefix that makes a topic filter a shared subscription (MQTT 5.0 §4.8.2).
pub const SHARED_PREFIX: &str = "$share/";

/// Why a topic name, topic filter or shared-subscription filter is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Topic names and filters must be at least one character long (MQTT-4.7.3-1).
    #[error("topic must be at least one character long")]
    Empty,
    /// Topic names and filters must not encode to more than 65,535 bytes (MQTT-4.7.3-3).
    #[error("topic must not be longer than 65535 bytes")]
    TooLong,
    /// `+` or `#` in a topic name (MQTT 5.0: MQTT-4.7.0-1; 3.1.1: MQTT-4.7.1-1; MQTT-3.3.2-2).
    #[error("topic name must not contain the wildcard characters '+' or '#'")]
    WildcardInTopicName,
    /// `#` not alone in the last level (5.0: MQTT-4.7.1-1; 3.1.1: MQTT-4.7.1-2), or `+` not alone
    /// in its level (5.0: MQTT-4.7.1-2; 3.1.1: MQTT-4.7.1-3).
    #[error("wildcard must occupy a whole level, and '#' must be the last level")]
    InvalidWildcard,
    /// Topic names and filters must not contain U+0000 (MQTT-4.7.3-2).
    #[error("topic must not contain the null character U+0000")]
    NullCharacter,
    /// `$share/` not followed by a non-empty share name free of `/`, `+` and `#` and then `/`
    /// (MQTT-4.8.2-1, MQTT-4.8.2-2).
    #[error("shared subscription must be $share/{{ShareName}}/{{filter}} with a non-empty ShareName without '/', '+' or '#'")]
    InvalidShareName,
}

/// Checks what every topic name and filter must satisfy: non-empty (MQTT-4.7.3-1), at most
/// [`MAX_TOPIC_LEN`] bytes (MQTT-4.7.3-3), no U+0000 (MQTT-4.7.3-2).
fn validate_common(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        Err(TopicError::Empty)
    } else if s.len() > MAX_TOPIC_LEN {
        Err(TopicError::TooLong)
    } else if s.as_bytes().contains(&0) {
        Err(TopicError::NullCharacter)
    } else {
        Ok(())
    }
}

/// Validates a topic name as used in PUBLISH, a Will, or a retained-store key.
///
/// Rules: non-empty (MQTT-4.7.3-1), at most 65,535 bytes (MQTT-4.7.3-3), no U+0000
/// (MQTT-4.7.3-2), no `+` or `#` (MQTT-4.7.0-1 in 5.0, MQTT-4.7.1-1 in 3.1.1). Empty levels and a
/// leading `$` are allowed. UTF-8 well-formedness is guaranteed by `&str`.
///
/// # Errors
/// The first rule broken, checked in the order above.
pub fn validate_topic_name(topic: &str) -> Result<(), TopicError> {
    validate_common(topic)?;
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInTopicName);
    }
    Ok(())
}

/// Validates a topic filter as used in SUBSCRIBE / UNSUBSCRIBE.
///
/// Besides the rules shared with names (non-empty, ≤ 65,535 bytes, no U+0000), `#` must be alone
/// in the last level (MQTT-4.7.1-1 in 5.0, MQTT-4.7.1-2 in 3.1.1) and `+` alone in its level
/// (MQTT-4.7.1-2 in 5.0, MQTT-4.7.1-3 in 3.1.1). This checks plain-filter syntax only: a
/// `$share/...` filter is also a syntactically valid plain filter; use [`parse_shared`] for MQTT 5
/// shared subscriptions.
///
/// # Errors
/// The first rule broken.
pub fn validate_topic_filter(filter: &str) -> Result<(), TopicError> {
    validate_common(filter)?;
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let wild = level.bytes().any(|b| b == b'+' || b == b'#');
        let ok = !wild || level == "+" || (level == "#" && levels.peek().is_none());
        if !ok {
            return Err(TopicError::InvalidWildcard);
        }
    }
    Ok(())
}

/// True if `filter` matches `topic`; both are expected to be valid.
///
/// Level by level: `+` matches exactly one level, which may be empty (`+/+` matches `/finance`);
/// `#` matches the parent level and any number of child levels (`sport/#` matches `sport`); other
/// levels match byte for byte. A filter starting with `+` or `#` never matches a topic starting
/// with `$` (MQTT-4.7.2-1). Invalid input gives an unspecified result but never panics.
#[must_use]
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) | (None, None) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            _ => return false,
        }
    }
}

/// Checks a filter as a SUBSCRIBE carries it: a topic filter, or a shared subscription
/// `$share/{ShareName}/{filter}` with a valid share name and filter (§4.8.2).
///
/// # Errors
/// As [`parse_shared`] and [`validate_topic_filter`].
pub fn validate_subscription(filter: &str) -> Result<(), TopicError> {
    match parse_shared(filter)? {
        Some(_) => Ok(()),
        None => validate_topic_filter(filter),
    }
}

/// Splits an MQTT 5 shared-subscription filter `$share/{ShareName}/{filter}` (§4.8.2).
///
/// Returns `Ok(None)` for a filter that does not start with `$share/` (including `$share` alone and
/// `$SHARE/...`), `Ok(Some((share_name, filter)))` for a well-formed one. The share name must be
/// non-empty (MQTT-4.8.2-1), free of `/`, `+`, `#` and followed by `/` and a valid topic filter
/// (MQTT-4.8.2-2). MQTT 3.1.1 has no shared subscriptions: callers serving a 3.1.1 client should
/// not call this.
///
/// # Errors
/// [`TopicError::InvalidShareName`] for a bad or unterminated share name, [`TopicError::TooLong`] /
/// [`TopicError::NullCharacter`] for the whole string, and any [`validate_topic_filter`] error of
/// the inner filter (an empty inner filter is [`TopicError::Empty`]).
pub fn parse_shared(filter: &str) -> Result<Option<(&str, &str)>, TopicError> {
    let Some(rest) = filter.strip_prefix(SHARED_PREFIX) else {
        return Ok(None);
    };
    let Some((group, inner)) = rest.split_once('/') else {
        return Err(TopicError::InvalidShareName);
    };
    if group.is_empty() || group.contains(['+', '#']) {
        return Err(TopicError::InvalidShareName);
    }
    if filter.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    if group.contains('\0') {
        return Err(TopicError::NullCharacter);
    }
    validate_topic_filter(inner)?;
    Ok(Some((group, inner)))
}
