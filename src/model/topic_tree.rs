//! The live topic tree of one connection, with bounded per-topic history.
//!
//! Owns: the nodes (an arena indexed by [`NodeId`]), a topic → node index for O(1) ingest, per-node
//! aggregates (messages and topics below, rate, last update) and the history rings with their
//! global byte budget ([`HistoryLimits`]). Must not touch: egui, tokio, the clock (times come in the
//! messages or as arguments).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::coalesce::Coalesced;
use super::message::Message;
use super::rate::Rate;

/// Index of a node in its [`TopicTree`]. Stable for the tree's lifetime (until [`TopicTree::clear`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The invisible root; its children are the first topic levels.
    pub const ROOT: Self = Self(0);

    /// Position in the tree's arena: `0..=node_count()`, handy for per-node marks in a `Vec`.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

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

/// One level of the topic hierarchy.
#[derive(Debug)]
pub struct Node {
    name: Box<str>,
    parent: NodeId,
    depth: u16,
    children: BTreeMap<Box<str>, NodeId>,
    /// Full topic; set once a message arrived at exactly this node.
    topic: Option<Arc<str>>,
    latest: Option<Message>,
    /// Older messages with their global sequence number, oldest first.
    history: VecDeque<(u64, Message)>,
    /// Bytes of `history`.
    history_bytes: usize,
    msg_count: u64,
    /// Messages on exactly this topic counted but not kept as history: the UI was behind (or
    /// paused) and they were coalesced into a later one.
    thinned: u64,
    msgs_below: u64,
    topics_below: u32,
    updated_at: Option<SystemTime>,
    rate: Rate,
    /// A retained value is stored for this topic (set by a retained message, cleared by an empty one or a delete).
    retained: bool,
    /// Retained topics here and below.
    retained_below: u32,
}

impl Node {
    fn new(name: &str, parent: NodeId, depth: u16) -> Self {
        Self {
            name: name.into(),
            parent,
            depth,
            children: BTreeMap::new(),
            topic: None,
            latest: None,
            history: VecDeque::new(),
            history_bytes: 0,
            msg_count: 0,
            thinned: 0,
            msgs_below: 0,
            topics_below: 0,
            updated_at: None,
            rate: Rate::default(),
            retained: false,
            retained_below: 0,
        }
    }

    /// This level's name (may be empty: `a//b` has an empty middle level).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Parent node (the root is its own parent).
    #[must_use]
    pub fn parent(&self) -> NodeId {
        self.parent
    }
    /// Depth: 1 for first-level topics.
    #[must_use]
    pub fn depth(&self) -> u16 {
        self.depth
    }
    /// Full topic, if messages were published to exactly this level.
    #[must_use]
    pub fn topic(&self) -> Option<&Arc<str>> {
        self.topic.as_ref()
    }
    /// Latest message on exactly this topic.
    #[must_use]
    pub fn latest(&self) -> Option<&Message> {
        self.latest.as_ref()
    }
    /// True if the broker holds a retained value for this topic: the last retained message was not empty.
    /// (A later non-retained message does not replace a retained value.)
    #[must_use]
    pub fn is_retained(&self) -> bool {
        self.retained
    }
    /// Retained topics here and below.
    #[must_use]
    pub fn retained_below(&self) -> u32 {
        self.retained_below
    }
    /// Messages received on exactly this topic.
    #[must_use]
    pub fn msg_count(&self) -> u64 {
        self.msg_count
    }
    /// Messages on exactly this topic that were counted but not kept as history (coalesced while
    /// the window was behind or paused).
    #[must_use]
    pub fn thinned(&self) -> u64 {
        self.thinned
    }
    /// Messages received on this topic and every topic below it.
    #[must_use]
    pub fn msgs_below(&self) -> u64 {
        self.msgs_below
    }
    /// Topics (levels that received messages) here and below.
    #[must_use]
    pub fn topics_below(&self) -> u32 {
        self.topics_below
    }
    /// Time of the newest message here or below.
    #[must_use]
    pub fn updated_at(&self) -> Option<SystemTime> {
        self.updated_at
    }
    /// Rate of messages here and below, as of `now`.
    #[must_use]
    pub fn rate_per_sec(&self, now: SystemTime) -> f64 {
        self.rate.per_sec(unix_secs(now))
    }
    /// Payload bytes per second here and below, as of `now`.
    #[must_use]
    pub fn bytes_per_sec(&self, now: SystemTime) -> f64 {
        self.rate.bytes_per_sec(unix_secs(now))
    }
    /// True if this node has child levels.
    #[must_use]
    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }
    /// Number of direct children.
    #[must_use]
    pub fn child_count(&self) -> usize {
        self.children.len()
    }
    /// Children in name order.
    pub fn children(&self) -> impl DoubleEndedIterator<Item = NodeId> + '_ {
        self.children.values().copied()
    }
    /// Messages kept for this topic, newest first (the latest, then history).
    pub fn messages(&self) -> impl Iterator<Item = &Message> + '_ {
        self.latest.iter().chain(self.history.iter().rev().map(|(_, m)| m))
    }
    /// How many messages [`Self::messages`] yields.
    #[must_use]
    pub fn kept_count(&self) -> usize {
        self.history.len() + usize::from(self.latest.is_some())
    }
}

/// Seconds since the Unix epoch, 0 for earlier times.
fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The tree of one connection.
#[derive(Debug)]
pub struct TopicTree {
    nodes: Vec<Node>,
    /// Topic → node. foldhash: several times faster than SipHash on topic strings, and seeded per
    /// process, so topics chosen by a client cannot aim at collisions.
    by_topic: HashMap<Arc<str>, NodeId, foldhash::fast::RandomState>,
    limits: HistoryLimits,
    /// Every history entry in arrival order, for oldest-first eviction across topics; entries whose
    /// message already left its ring are skipped when met, and compacted away when they pile up.
    eviction_order: VecDeque<(NodeId, u64)>,
    history_entries: usize,
    next_seq: u64,
    used_bytes: usize,
    evicted: u64,
    /// Messages counted but not kept as history (see [`Node::thinned`]).
    thinned: u64,
    topic_count: usize,
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
            by_topic: HashMap::default(),
            limits,
            eviction_order: VecDeque::new(),
            history_entries: 0,
            next_seq: 0,
            used_bytes: 0,
            evicted: 0,
            thinned: 0,
            topic_count: 0,
            message_count: 0,
            structure_version: 0,
        }
    }

    /// Drop every node and message.
    pub fn clear(&mut self) {
        *self = Self::new(self.limits);
        self.structure_version += 1;
    }

    /// The node behind `id`. Ids come from this tree, so this only fails after [`Self::clear`]: then the root is returned.
    #[must_use]
    pub fn node(&self, id: NodeId) -> &Node {
        self.nodes.get(id.index()).unwrap_or(&self.nodes[0])
    }

    /// Node of an exact topic, if any message was received on it.
    #[must_use]
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        self.by_topic.get(topic).copied()
    }

    /// Node at a path of levels (also intermediate levels that never received a message).
    #[must_use]
    pub fn find_path(&self, topic: &str) -> Option<NodeId> {
        let mut id = NodeId::ROOT;
        for level in topic.split('/') {
            id = *self.node(id).children.get(level)?;
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
            levels.push(&*node.name);
            cur = node.parent;
        }
        levels.reverse();
        levels.join("/")
    }

    /// Number of distinct topics that received messages.
    #[must_use]
    pub fn topic_count(&self) -> usize {
        self.topic_count
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
        let ids: Vec<NodeId> = self.by_topic.values().copied().collect();
        for id in ids {
            self.trim_topic(id);
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
        let id = match self.by_topic.get(&*msg.topic) {
            Some(&id) => id,
            None => self.create_topic(&msg.topic),
        };
        // Kept messages share the node's topic string instead of each holding its own.
        if let Some(topic) = &self.nodes[id.index()].topic
            && !Arc::ptr_eq(topic, &msg.topic)
        {
            msg.topic = Arc::clone(topic);
        }
        let sec = unix_secs(msg.received_at);
        let at = msg.received_at;
        let msgs = thinned + 1;
        let bytes = thinned_bytes + msg.payload.len() as u64;
        self.used_bytes += msg.cost_bytes();
        self.message_count += msgs;
        self.thinned += thinned;
        let seq = self.next_seq;
        self.next_seq += 1;
        let node = &mut self.nodes[id.index()];
        node.msg_count += msgs;
        node.thinned += thinned;
        let retained_before = node.retained;
        if let Some(state) = retain_state {
            node.retained = state;
        }
        if msg.retain {
            node.retained = !msg.payload.is_empty();
        }
        let retained_change = i32::from(node.retained) - i32::from(retained_before);
        if let Some(prev) = node.latest.replace(msg) {
            node.history_bytes += prev.cost_bytes();
            push_tight(&mut node.history, (seq, prev));
            push_tight(&mut self.eviction_order, (id, seq));
            self.history_entries += 1;
        }
        let mut cur = id;
        loop {
            let n = &mut self.nodes[cur.index()];
            n.msgs_below += msgs;
            n.retained_below = n.retained_below.saturating_add_signed(retained_change);
            n.rate.record_run(sec, msgs, bytes);
            if n.updated_at.is_none_or(|t| t < at) {
                n.updated_at = Some(at);
            }
            if cur == NodeId::ROOT {
                break;
            }
            cur = n.parent;
        }
        self.trim_topic(id);
        self.enforce_budget();
        id
    }

    /// Set a node's retained flag; returns the change in retained count (-1, 0 or 1).
    fn set_retained(node: &mut Node, retained: bool) -> i32 {
        let change = i32::from(retained) - i32::from(node.retained);
        node.retained = retained;
        change
    }

    /// The broker no longer holds a retained value for `topic` (deleted from the store).
    pub fn clear_retained(&mut self, topic: &str) {
        let Some(id) = self.find(topic) else { return };
        let change = Self::set_retained(&mut self.nodes[id.index()], false);
        if change == 0 {
            return;
        }
        let mut cur = id;
        loop {
            let n = &mut self.nodes[cur.index()];
            n.retained_below = n.retained_below.saturating_add_signed(change);
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

    /// Every topic that received messages, with its node, in no particular order.
    pub fn topics(&self) -> impl Iterator<Item = (&Arc<str>, NodeId)> + '_ {
        self.by_topic.iter().map(|(t, id)| (t, *id))
    }

    /// Retained topics at or below `id`, in tree order (for deleting a subtree of retained values).
    #[must_use]
    pub fn retained_topics_below(&self, id: NodeId) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            let node = self.node(cur);
            if node.retained_below == 0 {
                continue;
            }
            if node.retained
                && let Some(topic) = &node.topic
            {
                out.push(Arc::clone(topic));
            }
            stack.extend(node.children().rev());
        }
        out
    }

    fn create_topic(&mut self, topic: &Arc<str>) -> NodeId {
        let mut id = NodeId::ROOT;
        for level in topic.split('/') {
            let depth = self.nodes[id.index()].depth.saturating_add(1);
            id = if let Some(&child) = self.nodes[id.index()].children.get(level) {
                child
            } else {
                let Ok(raw) = u32::try_from(self.nodes.len()) else { break };
                let child = NodeId(raw);
                self.nodes.push(Node::new(level, id, depth));
                self.nodes[id.index()].children.insert(level.into(), child);
                child
            };
        }
        self.nodes[id.index()].topic = Some(Arc::clone(topic));
        self.by_topic.insert(Arc::clone(topic), id);
        self.topic_count += 1;
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
        id
    }

    /// Keep at most `per_topic` history entries and `per_topic_bytes` on one topic.
    fn trim_topic(&mut self, id: NodeId) {
        let (max, max_bytes) = (self.limits.per_topic, self.limits.per_topic_bytes);
        loop {
            let node = &mut self.nodes[id.index()];
            if node.history.len() <= max && node.history_bytes <= max_bytes {
                break;
            }
            let Some((_, old)) = node.history.pop_front() else { break };
            node.history_bytes = node.history_bytes.saturating_sub(old.cost_bytes());
            self.forget(&old);
        }
    }

    fn forget(&mut self, old: &Message) {
        self.used_bytes = self.used_bytes.saturating_sub(old.cost_bytes());
        self.history_entries -= 1;
        self.evicted += 1;
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
            let node = &mut self.nodes[id.index()];
            if node.history.front().is_some_and(|(s, _)| *s == seq)
                && let Some((_, old)) = node.history.pop_front()
            {
                node.history_bytes = node.history_bytes.saturating_sub(old.cost_bytes());
                self.forget(&old);
            }
        }
        // Stale entries (already trimmed per topic) must not pile up forever.
        if self.eviction_order.len() > 1024 && self.eviction_order.len() > 2 * self.history_entries {
            let nodes = &self.nodes;
            // A ring only loses its front, so an entry is live iff it is not older than its ring's front.
            self.eviction_order.retain(|(id, seq)| nodes[id.index()].history.front().is_some_and(|(s, _)| s <= seq));
        }
        self.used_bytes
    }
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
