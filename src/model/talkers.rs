//! Top talkers: the topics and subtrees that carry the most messages or bytes per second now.
//!
//! Owns: [`top_talkers`], a pure pass over a [`TopicTree`] (a few milliseconds for a million
//! nodes, so views recompute it about once a second, not every frame). Must not touch: egui, tokio,
//! the clock (`now` is an argument).

use std::time::SystemTime;

use super::topic_tree::{NodeId, TopicTree};

/// One node and its rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Talker {
    /// The node.
    pub id: NodeId,
    /// Messages per second here and below.
    pub msgs_per_sec: f64,
    /// Payload bytes per second here and below.
    pub bytes_per_sec: f64,
}

/// What to rank by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankBy {
    /// Messages per second.
    #[default]
    Messages,
    /// Payload bytes per second.
    Bytes,
}

impl Talker {
    fn key(&self, by: RankBy) -> f64 {
        match by {
            RankBy::Messages => self.msgs_per_sec,
            RankBy::Bytes => self.bytes_per_sec,
        }
    }
}

/// The top `n` topics (nodes that received messages themselves, by their own subtree rate when they
/// are leaves) and the top `n` subtrees (nodes with children), busiest first; idle nodes are left out.
#[must_use]
pub fn top_talkers(tree: &TopicTree, now: SystemTime, n: usize, by: RankBy) -> (Vec<Talker>, Vec<Talker>) {
    let mut topics = Vec::new();
    let mut subtrees = Vec::new();
    for id in tree.node_ids() {
        let node = tree.node(id);
        let talker = Talker { id, msgs_per_sec: node.rate_per_sec(now), bytes_per_sec: node.bytes_per_sec(now) };
        if talker.key(by) <= 0.0 {
            continue;
        }
        if node.has_children() {
            subtrees.push(talker);
        } else {
            topics.push(talker);
        }
    }
    (best(topics, n, by), best(subtrees, n, by))
}

/// The `n` largest by `by`, largest first; ties in tree order.
fn best(mut all: Vec<Talker>, n: usize, by: RankBy) -> Vec<Talker> {
    let desc = |a: &Talker, b: &Talker| b.key(by).total_cmp(&a.key(by)).then(a.id.cmp(&b.id));
    if all.len() > n && n > 0 {
        all.select_nth_unstable_by(n - 1, desc);
        all.truncate(n);
    }
    all.sort_by(desc);
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::{Message, QoS};

    #[test]
    fn busiest_topics_and_subtrees_first() {
        let mut tree = TopicTree::default();
        let at = UNIX_EPOCH + Duration::from_secs(1_000);
        for (topic, count, size) in [("a/x", 50, 1), ("a/y", 10, 100), ("b/z", 30, 10), ("c", 5, 1)] {
            for _ in 0..count {
                tree.insert(Message::new(topic, vec![b'v'; size], QoS::AtMostOnce, false, at));
            }
        }
        let now = at + Duration::from_secs(1);
        let name = |t: &Talker| tree.path(t.id);
        let (topics, subtrees) = top_talkers(&tree, now, 3, RankBy::Messages);
        assert_eq!(topics.iter().map(name).collect::<Vec<_>>(), ["a/x", "b/z", "a/y"]);
        assert_eq!(subtrees.iter().map(name).collect::<Vec<_>>(), ["a", "b"]);
        let (topics, _) = top_talkers(&tree, now, 2, RankBy::Bytes);
        assert_eq!(topics.iter().map(name).collect::<Vec<_>>(), ["a/y", "b/z"], "1000 B/s and 300 B/s");
        assert!(topics[0].bytes_per_sec > 10.0 * topics[0].msgs_per_sec);
        let (topics, _) = top_talkers(&tree, now + Duration::from_mins(10), 3, RankBy::Messages);
        assert!(topics.is_empty(), "idle topics are not talkers");
    }
}
