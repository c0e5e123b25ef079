//! The live topic tree of one connection, with bounded per-topic history.
//!
//! Owns: the nodes (an arena indexed by [`NodeId`], see [`super::topic_node`]), two hash tables of
//! 4-byte entries (topic → its data, (parent, level name) → child) for O(1) ingest, per-node
//! aggregates (messages and topics below, rates, last update) and the history rings with their
//! global byte budget ([`HistoryLimits`]). Must not touch: egui, tokio, the clock (times come in the
//! messages or as arguments).

use std::collections::VecDeque;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use hashbrown::HashTable;

use super::coalesce::Coalesced;
use super::message::Message;
use super::topic_node::{NO_DATA, Node, TopicData, unix_secs};
pub use super::topic_node::{NodeId, NodeRef};

/// How much history is kept. The latest message of every topic is always kept whole, outside these limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryLimits {
    /// Older messages kept per topic (besides the latest).
    pub per_topic: usize,
    /// Bytes of older messages kept per topic (besides the latest).
    #[serde(default = "default_per_topic_bytes")]
    pub per_topic_bytes: usize,
    /// Total bytes of all history in this tree; oldest messages (of any topic) are evicted first.
    pub budget_bytes: usize,
}

fn default_per_topic_bytes() -> usize {
    32 * 1024 * 1024
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self { per_topic: 1000, per_topic_bytes: default_per_topic_bytes(), budget_bytes: 256 * 1024 * 1024 }
    }
}

/// The tree of one connection.
#[derive(Debug)]
pub struct TopicTree {
    nodes: Vec<Node>,
    /// What the levels that received messages have besides their node.
    topics: Vec<TopicData>,
    /// Full topic → index in `topics`, hashed by the topic string its data holds.
    by_topic: HashTable<u32>,
    /// (parent, level name) → child, hashed from the child's own fields: no key strings stored.
    by_name: HashTable<NodeId>,
    /// foldhash: several times faster than SipHash on topic strings, and seeded per process, so
    /// topics chosen by a client cannot aim at collisions.
    hasher: foldhash::fast::RandomState,
    limits: HistoryLimits,
    /// Every history entry in arrival order, for oldest-first eviction across topics; entries whose
    /// message already left its ring are skipped when met, and compacted away when they pile up.
    eviction_order: VecDeque<(NodeId, u64)>,
    history_entries: usize,
    next_seq: u64,
    used_bytes: usize,
    evicted: u64,
    /// Messages counted but not kept as history (see [`NodeRef::thinned`]).
    thinned: u64,
    message_count: u64,
    structure_version: u64,
}

impl Default for TopicTree {
    fn default() -> Self {
        Self::new(HistoryLimits::default())
    }
}

impl TopicTree {
    /// An empty tree.
    #[must_use]
    pub fn new(limits: HistoryLimits) -> Self {
        Self {
            nodes: vec![Node::new("", NodeId::ROOT, 0)],
            topics: Vec::new(),
            by_topic: HashTable::new(),
            by_name: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            limits,
            eviction_order: VecDeque::new(),
            history_entries: 0,
            next_seq: 0,
            used_bytes: 0,
            evicted: 0,
            thinned: 0,
            message_count: 0,
            structure_version: 0,
        }
    }

    /// Drop every node and message.
    pub fn clear(&mut self) {
        let version = self.structure_version;
        *self = Self::new(self.limits);
        self.structure_version = version + 1;
    }

    /// The node behind `id`. Ids come from this tree, so this only fails after [`Self::clear`]: then the root is returned.
    #[must_use]
    pub fn node(&self, id: NodeId) -> NodeRef<'_> {
        let node = self.nodes.get(id.index()).unwrap_or(&self.nodes[0]);
        NodeRef { node, data: self.topics.get(node.data as usize) }
    }

    fn topic_hash(&self, topic: &str) -> u64 {
        self.hasher.hash_one(topic)
    }

    fn name_hash(&self, parent: NodeId, name: &str) -> u64 {
        self.hasher.hash_one((parent.0, name))
    }

    /// Index in `topics` of an exact topic.
    fn topic_index(&self, topic: &str) -> Option<u32> {
        let topics = &self.topics;
        self.by_topic.find(self.topic_hash(topic), |&i| &*topics[i as usize].latest.topic == topic).copied()
    }

    /// The child of `parent` named `name`.
    fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        let nodes = &self.nodes;
        self.by_name.find(self.name_hash(parent, name), |&c| nodes[c.index()].parent == parent && &*nodes[c.index()].name == name).copied()
    }

    /// Node of an exact topic, if any message was received on it.
    #[must_use]
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        self.topic_index(topic).map(|i| self.topics[i as usize].node)
    }

    /// Node at a path of levels (also intermediate levels that never received a message).
    #[must_use]
    pub fn find_path(&self, topic: &str) -> Option<NodeId> {
        let mut id = NodeId::ROOT;
        for level in topic.split('/') {
            id = self.child(id, level)?;
        }
        Some(id)
    }

    /// Full path of a node, e.g. `home/kitchen` (also for intermediate nodes).
    #[must_use]
    pub fn path(&self, id: NodeId) -> String {
        if let Some(topic) = self.node(id).topic() {
            return topic.to_string();
        }
        let mut levels = Vec::new();
        let mut cur = id;
        while cur != NodeId::ROOT {
            let node = self.node(cur);
            levels.push(node.name());
            cur = node.parent();
        }
        levels.reverse();
        levels.join("/")
    }

    /// The children of `id` in name order.
    #[must_use]
    pub fn sorted_children(&self, id: NodeId) -> Vec<NodeId> {
        let mut children: Vec<NodeId> = self.node(id).children().collect();
        children.sort_by(|&a, &b| self.nodes[a.index()].name.cmp(&self.nodes[b.index()].name));
        children
    }

    /// Number of distinct topics that received messages.
    #[must_use]
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }
    /// Number of nodes, including intermediate levels (not the root).
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes.len() - 1
    }
    /// Messages received in total.
    #[must_use]
    pub fn message_count(&self) -> u64 {
        self.message_count
    }
    /// Bytes held by kept messages (latest and history).
    #[must_use]
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }
    /// Messages evicted from history to stay within the limits.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
    /// Messages counted but not kept as history: coalesced while the window was behind or paused.
    #[must_use]
    pub fn thinned(&self) -> u64 {
        self.thinned
    }
    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> HistoryLimits {
        self.limits
    }
    /// Bumps whenever a node is added or removed, so views can cache their row lists.
    #[must_use]
    pub fn structure_version(&self) -> u64 {
        self.structure_version
    }

    /// Change the limits, evicting at once what no longer fits.
    pub fn set_limits(&mut self, limits: HistoryLimits) {
        self.limits = limits;
        for i in 0..self.topics.len() {
            self.trim_topic(i);
        }
        self.enforce_budget();
    }

    /// Ingest one message: create the path if new, update aggregates, keep it as the latest and push the previous latest into history.
    pub fn insert(&mut self, msg: Message) -> NodeId {
        self.insert_run(msg, 0, 0, None)
    }

    /// Ingest a coalesced run of messages on one topic: every message is counted (topic, subtree and
    /// rates), the latest is kept exactly as [`Self::insert`] keeps it, the retained state is the
    /// one the whole run left, and the thinned messages are counted as such, not kept.
    pub fn insert_coalesced(&mut self, run: Coalesced) -> NodeId {
        let Coalesced { latest, thinned, thinned_bytes, retain_state } = run;
        self.insert_run(latest, thinned, thinned_bytes, retain_state)
    }

    fn insert_run(&mut self, mut msg: Message, thinned: u64, thinned_bytes: u64, retain_state: Option<bool>) -> NodeId {
        let at = msg.received_at;
        let sec = unix_secs(at);
        let msgs = thinned + 1;
        let bytes = thinned_bytes + msg.payload.len() as u64;
        self.used_bytes += msg.cost_bytes();
        self.message_count += msgs;
        self.thinned += thinned;
        let (index, retained_change) = if let Some(index) = self.topic_index(&msg.topic) {
            let data = &mut self.topics[index as usize];
            // Kept messages share the node's topic string instead of each holding its own.
            if !Arc::ptr_eq(&data.latest.topic, &msg.topic) {
                msg.topic = Arc::clone(&data.latest.topic);
            }
            let change = apply_retain(data, retain_state, &msg);
            data.msg_count += msgs;
            data.thinned += thinned;
            let prev = std::mem::replace(&mut data.latest, msg);
            let seq = self.next_seq;
            self.next_seq += 1;
            let history = data.history.get_or_insert_with(Box::default);
            history.bytes += prev.cost_bytes();
            push_tight(&mut history.ring, (seq, prev));
            push_tight(&mut self.eviction_order, (data.node, seq));
            self.history_entries += 1;
            (index as usize, change)
        } else {
            self.create_topic(msg, msgs, thinned, retain_state)
        };
        let id = self.topics[index].node;
        let mut cur = id;
        loop {
            let n = &mut self.nodes[cur.index()];
            n.msgs_below += msgs;
            n.retained_below = n.retained_below.saturating_add_signed(retained_change);
            n.rate.record_run(sec, msgs, bytes);
            n.touch(at);
            if cur == NodeId::ROOT {
                break;
            }
            cur = n.parent;
        }
        self.trim_topic(index);
        self.enforce_budget();
        id
    }

    /// The first message of a topic: its levels (those not there yet), its data. Returns the data's
    /// index and the change in retained count.
    fn create_topic(&mut self, msg: Message, msgs: u64, thinned: u64, retain_state: Option<bool>) -> (usize, i32) {
        let mut id = NodeId::ROOT;
        for level in msg.topic.split('/') {
            id = if let Some(child) = self.child(id, level) {
                child
            } else {
                let Ok(raw) = u32::try_from(self.nodes.len()) else { break };
                let child = NodeId(raw);
                let depth = self.nodes[id.index()].depth.saturating_add(1);
                self.nodes.push(Node::new(level, id, depth));
                self.nodes[id.index()].children.push(child);
                let hash = self.name_hash(id, level);
                let Self { by_name, nodes, hasher, .. } = self;
                by_name.insert_unique(hash, child, |&c| {
                    let n = &nodes[c.index()];
                    hasher.hash_one((n.parent.0, &*n.name))
                });
                child
            };
        }
        let index = self.topics.len();
        let mut data = TopicData {
            latest: Message::new("", bytes::Bytes::new(), msg.qos, false, msg.received_at),
            history: None,
            msg_count: msgs,
            thinned,
            node: id,
            retained: false,
        };
        let change = apply_retain(&mut data, retain_state, &msg);
        data.latest = msg;
        let hash = self.topic_hash(&data.latest.topic);
        self.topics.push(data);
        self.nodes[id.index()].data = u32::try_from(index).unwrap_or(NO_DATA);
        let Self { by_topic, topics, hasher, .. } = self;
        by_topic.insert_unique(hash, u32::try_from(index).unwrap_or(NO_DATA), |&i| hasher.hash_one(&*topics[i as usize].latest.topic));
        self.structure_version += 1;
        let mut cur = id;
        loop {
            let n = &mut self.nodes[cur.index()];
            n.topics_below += 1;
            if cur == NodeId::ROOT {
                break;
            }
            cur = n.parent;
        }
        (index, change)
    }

    /// The broker no longer holds a retained value for `topic` (deleted from the store).
    pub fn clear_retained(&mut self, topic: &str) {
        let Some(index) = self.topic_index(topic) else { return };
        let data = &mut self.topics[index as usize];
        if !data.retained {
            return;
        }
        data.retained = false;
        let mut cur = data.node;
        loop {
            let n = &mut self.nodes[cur.index()];
            n.retained_below = n.retained_below.saturating_sub(1);
            if cur == NodeId::ROOT {
                break;
            }
            cur = n.parent;
        }
    }

    /// Every node but the root, in creation order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (1..u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)).map(NodeId)
    }

    /// Every topic that received messages, with its node, in the order they first arrived.
    pub fn topics(&self) -> impl Iterator<Item = (&Arc<str>, NodeId)> + '_ {
        self.topics.iter().map(|d| (&d.latest.topic, d.node))
    }

    /// Copies of the messages kept at or below `id` (latest values and history; payloads shared, not
    /// copied), topic by topic, for an export to sort by time.
    #[must_use]
    pub fn messages_below(&self, id: NodeId) -> Vec<Message> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            let node = self.node(cur);
            out.extend(node.messages().cloned());
            stack.extend(node.children());
        }
        out
    }

    /// Retained topics at or below `id`, in tree order (for deleting a subtree of retained values).
    #[must_use]
    pub fn retained_topics_below(&self, id: NodeId) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            let node = self.node(cur);
            if node.retained_below() == 0 {
                continue;
            }
            if node.is_retained()
                && let Some(topic) = node.topic()
            {
                out.push(Arc::clone(topic));
            }
            stack.extend(self.sorted_children(cur).into_iter().rev());
        }
        out
    }

    /// Keep at most `per_topic` history entries and `per_topic_bytes` on one topic.
    fn trim_topic(&mut self, index: usize) {
        let (max, max_bytes) = (self.limits.per_topic, self.limits.per_topic_bytes);
        let Some(history) = self.topics[index].history.as_deref_mut() else { return };
        let mut freed = 0;
        let mut count = 0;
        while history.ring.len() > max || history.bytes > max_bytes {
            let Some((_, old)) = history.ring.pop_front() else { break };
            history.bytes = history.bytes.saturating_sub(old.cost_bytes());
            freed += old.cost_bytes();
            count += 1;
        }
        self.forget(freed, count);
    }

    /// `count` history entries of `bytes` in all left their rings.
    fn forget(&mut self, bytes: usize, count: usize) {
        self.used_bytes = self.used_bytes.saturating_sub(bytes);
        self.history_entries -= count;
        self.evicted += count as u64;
    }

    /// Evict the oldest history entries of any topic until the budget holds (latest messages stay).
    fn enforce_budget(&mut self) {
        self.shrink_to(self.limits.budget_bytes);
    }

    /// Evict the oldest history entries (latest messages stay) until at most `target` bytes are used,
    /// or nothing more can go. Returns the bytes now used.
    pub fn shrink_to(&mut self, target: usize) -> usize {
        while self.used_bytes > target {
            let Some((id, seq)) = self.eviction_order.pop_front() else { break };
            let data = self.nodes[id.index()].data as usize;
            let Some(history) = self.topics.get_mut(data).and_then(|d| d.history.as_deref_mut()) else { continue };
            if history.ring.front().is_some_and(|(s, _)| *s == seq)
                && let Some((_, old)) = history.ring.pop_front()
            {
                history.bytes = history.bytes.saturating_sub(old.cost_bytes());
                self.forget(old.cost_bytes(), 1);
            }
        }
        // Stale entries (already trimmed per topic) must not pile up forever.
        if self.eviction_order.len() > 1024 && self.eviction_order.len() > 2 * self.history_entries {
            let (nodes, topics) = (&self.nodes, &self.topics);
            // A ring only loses its front, so an entry is live iff it is not older than its ring's front.
            self.eviction_order.retain(|(id, seq)| {
                topics
                    .get(nodes[id.index()].data as usize)
                    .and_then(|d| d.history.as_deref())
                    .is_some_and(|h| h.ring.front().is_some_and(|(s, _)| s <= seq))
            });
        }
        self.used_bytes
    }
}

/// Apply what a run on a topic says of its retained value: the state the thinned messages left,
/// then the latest message's own retain flag. Returns the change in retained count (-1, 0 or 1).
fn apply_retain(data: &mut TopicData, retain_state: Option<bool>, latest: &Message) -> i32 {
    let before = data.retained;
    if let Some(state) = retain_state {
        data.retained = state;
    }
    if latest.retain {
        data.retained = !latest.payload.is_empty();
    }
    i32::from(data.retained) - i32::from(before)
}

/// Push onto a ring that grows by half at a time instead of doubling, so that its unused capacity
/// stays near the slack [`Message::cost_bytes`] counts (doubled rings of 10,000 topics × 129
/// messages would hold 10,000 × 256 slots of 88 bytes: 100 MB more than their messages). Growing by
/// a quarter would waste less, but costs a quarter of the ingest rate in copies (`cargo bench`).
fn push_tight<T>(ring: &mut VecDeque<T>, item: T) {
    if ring.len() == ring.capacity() {
        ring.reserve_exact((ring.len() / 2).max(4));
    }
    ring.push_back(item);
}

#[cfg(test)]
#[path = "topic_tree_tests.rs"]
mod tests;
