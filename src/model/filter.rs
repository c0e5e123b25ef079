//! Which topics the tree shows: a filter typed by the user.
//!
//! Owns: [`TreeFilter`] (parsed once when the text changes) and [`visible_nodes`], which marks every
//! matching node and its ancestors. Three modes: a case-insensitive substring, an MQTT wildcard
//! filter (`home/+/temp`, `factory/#`), or a regular expression; optionally matched against the
//! latest payload too, and optionally limited to retained values.

use super::topic_tree::{NodeId, TopicTree};

/// How the filter text is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FilterMode {
    /// Case-insensitive substring of the topic.
    #[default]
    Substring,
    /// An MQTT topic filter with `+` and `#`.
    Wildcard,
    /// A regular expression on the topic.
    Regex,
}

impl FilterMode {
    /// Name for the mode picker.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Substring => "Text",
            Self::Wildcard => "MQTT filter",
            Self::Regex => "Regex",
        }
    }
}

/// Payloads longer than this are not searched by the payload filter (only their first bytes are).
pub const PAYLOAD_SEARCH_LIMIT: usize = 64 * 1024;

/// A parsed filter.
#[derive(Clone, Debug)]
pub struct TreeFilter {
    mode: FilterMode,
    /// Lower-cased text for substring mode, the filter for wildcard mode.
    text: String,
    regex: Option<regex::Regex>,
    /// Also match the latest payload (as lossy UTF-8).
    pub on_payload: bool,
    /// Only retained values.
    pub retained_only: bool,
}

/// Why a filter could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The regular expression does not parse.
    #[error("invalid regular expression: {0}")]
    Regex(String),
    /// The MQTT filter breaks the wildcard rules.
    #[error("invalid MQTT filter: '#' must be last and alone in its level, '+' alone in its level")]
    Wildcard,
}

impl TreeFilter {
    /// Parse `text` in `mode`. An empty text matches everything (useful with `retained_only`).
    ///
    /// # Errors
    /// A bad regular expression or MQTT filter.
    pub fn new(text: &str, mode: FilterMode, on_payload: bool, retained_only: bool) -> Result<Self, FilterError> {
        let regex = match mode {
            FilterMode::Regex if !text.is_empty() => {
                Some(regex::RegexBuilder::new(text).size_limit(1 << 20).build().map_err(|e| FilterError::Regex(e.to_string()))?)
            }
            _ => None,
        };
        if mode == FilterMode::Wildcard && !text.is_empty() && crate::topic::validate_topic_filter(text).is_err() {
            return Err(FilterError::Wildcard);
        }
        let text = if mode == FilterMode::Substring { text.to_lowercase() } else { text.to_owned() };
        Ok(Self { mode, text, regex, on_payload, retained_only })
    }

    /// True if this filter lets everything through.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && !self.retained_only
    }

    /// Does a topic with this latest payload pass?
    #[must_use]
    pub fn matches(&self, topic: &str, payload: Option<&[u8]>, retained: bool) -> bool {
        if self.retained_only && !retained {
            return false;
        }
        if self.text.is_empty() {
            return true;
        }
        if self.matches_text(topic, true) {
            return true;
        }
        self.on_payload
            && payload.is_some_and(|p| {
                let p = &p[..p.len().min(PAYLOAD_SEARCH_LIMIT)];
                self.matches_text(&String::from_utf8_lossy(p), false)
            })
    }

    fn matches_text(&self, s: &str, is_topic: bool) -> bool {
        match self.mode {
            FilterMode::Substring => contains_ignore_case(s, &self.text),
            FilterMode::Wildcard if is_topic => crate::topic::matches(&self.text, s),
            FilterMode::Wildcard => s.contains(&self.text),
            FilterMode::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(s)),
        }
    }
}

/// Substring test against an already lower-cased needle, without allocating for ASCII haystacks.
fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    if haystack.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle_lower)
    }
}

/// Marks (by node index) every node that matches `filter`, and every ancestor of one, so that matches keep their path.
/// Returns the marks and the number of matching topics.
#[must_use]
pub fn visible_nodes(tree: &TopicTree, filter: &TreeFilter) -> (Vec<bool>, usize) {
    let mut visible = vec![false; tree.node_count() + 1];
    let mut matched = 0;
    for (topic, id) in tree.topics() {
        let node = tree.node(id);
        let payload = node.latest().map(|m| &m.payload[..]);
        if !filter.matches(topic, payload, node.is_retained()) {
            continue;
        }
        matched += 1;
        let mut cur = id;
        while cur != NodeId::ROOT && !visible[cur.index()] {
            visible[cur.index()] = true;
            cur = tree.node(cur).parent();
        }
    }
    (visible, matched)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::model::{Message, QoS};

    fn tree() -> TopicTree {
        let mut t = TopicTree::default();
        for (topic, payload, retain) in [
            ("home/kitchen/temp", "21.5", true),
            ("home/garage/temp", "12.0", false),
            ("home/garage/door", "open", true),
            ("factory/line1/press", "{\"state\":\"ALARM\"}", false),
            ("$SYS/broker/uptime", "12 seconds", true),
        ] {
            t.insert(Message::new(topic, payload, QoS::AtMostOnce, retain, SystemTime::UNIX_EPOCH));
        }
        t
    }

    fn shown(t: &TopicTree, f: &TreeFilter) -> Vec<String> {
        let (vis, _) = visible_nodes(t, f);
        let mut topics: Vec<String> = t.topics().filter(|(_, id)| vis[id.index()]).map(|(topic, _)| topic.to_string()).collect();
        topics.sort();
        topics
    }

    #[test]
    fn substring_is_case_insensitive_and_keeps_ancestors() {
        let t = tree();
        let f = TreeFilter::new("GARAGE", FilterMode::Substring, false, false).expect("filter");
        assert_eq!(shown(&t, &f), ["home/garage/door", "home/garage/temp"]);
        let (vis, matched) = visible_nodes(&t, &f);
        assert_eq!(matched, 2);
        assert!(vis[t.find_path("home").expect("home").index()], "ancestor stays visible");
        assert!(!vis[t.find_path("home/kitchen").expect("kitchen").index()]);
    }

    #[test]
    fn wildcard_filter_follows_mqtt_rules() {
        let t = tree();
        let f = TreeFilter::new("home/+/temp", FilterMode::Wildcard, false, false).expect("filter");
        assert_eq!(shown(&t, &f), ["home/garage/temp", "home/kitchen/temp"]);
        let all = TreeFilter::new("#", FilterMode::Wildcard, false, false).expect("filter");
        assert!(!shown(&t, &all).iter().any(|s| s.starts_with('$')), "MQTT-4.7.2-1: # does not match $SYS");
        assert_eq!(TreeFilter::new("home/#/x", FilterMode::Wildcard, false, false).err(), Some(FilterError::Wildcard));
    }

    #[test]
    fn regex_and_payload_and_retained_only() {
        let t = tree();
        let f = TreeFilter::new(r"^home/.*/t.mp$", FilterMode::Regex, false, false).expect("filter");
        assert_eq!(shown(&t, &f), ["home/garage/temp", "home/kitchen/temp"]);
        assert!(matches!(TreeFilter::new("(", FilterMode::Regex, false, false), Err(FilterError::Regex(_))));
        let p = TreeFilter::new("alarm", FilterMode::Substring, true, false).expect("filter");
        assert_eq!(shown(&t, &p), ["factory/line1/press"]);
        let r = TreeFilter::new("home", FilterMode::Substring, false, true).expect("filter");
        assert_eq!(shown(&t, &r), ["home/garage/door", "home/kitchen/temp"]);
    }
}
