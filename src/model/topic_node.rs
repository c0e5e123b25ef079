//! One level of a [`super::TopicTree`], kept small: a million topics must fit in a few hundred
//! megabytes, whatever their shape.
//!
//! Owns: [`NodeId`], the node's storage ([`Node`]: name, parent, children, aggregates; every level
//! has one), what only a topic that received messages has ([`TopicData`]: latest message, history,
//! counts), and [`NodeRef`], the read-only view of both that the UI uses. An inner level such as
//! `sensors/17` in `sensors/17/temp` costs about 100 bytes: no message slot, no history ring, no
//! per-child map (children are a plain list; lookups go through the tree's hash tables).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::message::Message;
use super::rate::Rate;

/// Index of a node in its [`super::TopicTree`]. Stable for the tree's lifetime (until
/// [`super::TopicTree::clear`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(super) u32);

impl NodeId {
    /// The invisible root; its children are the first topic levels.
    pub const ROOT: Self = Self(0);

    /// Position in the tree's arena: `0..=node_count()`, handy for per-node marks in a `Vec`.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// `Node::data` of a level that never received a message itself.
pub(super) const NO_DATA: u32 = u32::MAX;

/// Storage of one level (every level has one).
#[derive(Debug)]
pub(super) struct Node {
    pub(super) name: Box<str>,
    /// Child levels, in creation order (views sort them).
    pub(super) children: Children,
    pub(super) msgs_below: u64,
    /// Microseconds since the Unix epoch, plus one, of the newest message here or below; 0: none.
    pub(super) updated: u64,
    pub(super) rate: Rate,
    pub(super) parent: NodeId,
    pub(super) topics_below: u32,
    /// Retained topics here and below.
    pub(super) retained_below: u32,
    /// Index of this level's [`TopicData`], or [`NO_DATA`].
    pub(super) data: u32,
    pub(super) depth: u16,
}

impl Node {
    pub(super) fn new(name: &str, parent: NodeId, depth: u16) -> Self {
        Self {
            name: name.into(),
            children: Children::None,
            msgs_below: 0,
            updated: 0,
            rate: Rate::default(),
            parent,
            topics_below: 0,
            retained_below: 0,
            data: NO_DATA,
            depth,
        }
    }

    /// Note a message received at `at`.
    pub(super) fn touch(&mut self, at: SystemTime) {
        let micros = at.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX - 1)) + 1;
        self.updated = self.updated.max(micros);
    }
}

/// The child levels of a [`Node`]. Most inner levels of real topic shapes have exactly one child
/// (`sensors/{id}/temp`): kept inline, it costs no allocation of its own.
#[derive(Debug, Default)]
pub(super) enum Children {
    #[default]
    None,
    One(NodeId),
    Many(Vec<NodeId>),
}

// No bigger than the `Vec` it replaces.
const _: () = assert!(std::mem::size_of::<Children>() == std::mem::size_of::<Vec<NodeId>>());

impl Children {
    pub(super) fn push(&mut self, child: NodeId) {
        *self = match std::mem::take(self) {
            Self::None => Self::One(child),
            Self::One(first) => Self::Many(vec![first, child]),
            Self::Many(mut all) => {
                all.push(child);
                Self::Many(all)
            }
        };
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::One(_) => 1,
            Self::Many(all) => all.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }

    pub(super) fn as_slice(&self) -> &[NodeId] {
        match self {
            Self::None => &[],
            Self::One(only) => std::slice::from_ref(only),
            Self::Many(all) => all,
        }
    }
}

/// What a level that received messages itself has besides its [`Node`].
#[derive(Debug)]
pub(super) struct TopicData {
    /// The newest message; its topic string is the one every kept message of the topic shares.
    pub(super) latest: Message,
    /// Older messages, allocated at the second message.
    pub(super) history: Option<Box<History>>,
    pub(super) msg_count: u64,
    /// Messages counted but not kept as history (coalesced while the window was behind or paused).
    pub(super) thinned: u64,
    pub(super) node: NodeId,
    /// The broker holds a retained value for this topic.
    pub(super) retained: bool,
}

/// Older messages of one topic, with their global sequence numbers, oldest first.
#[derive(Debug, Default)]
pub(super) struct History {
    pub(super) ring: VecDeque<(u64, Message)>,
    /// Bytes of `ring`, as [`Message::cost_bytes`] counts them.
    pub(super) bytes: usize,
}

/// A node as the views read it: its level, and its topic's messages if it has any.
#[derive(Clone, Copy, Debug)]
pub struct NodeRef<'a> {
    pub(super) node: &'a Node,
    pub(super) data: Option<&'a TopicData>,
}

impl<'a> NodeRef<'a> {
    /// This level's name (may be empty: `a//b` has an empty middle level).
    #[must_use]
    pub fn name(&self) -> &'a str {
        &self.node.name
    }
    /// Parent node (the root is its own parent).
    #[must_use]
    pub fn parent(&self) -> NodeId {
        self.node.parent
    }
    /// Depth: 1 for first-level topics.
    #[must_use]
    pub fn depth(&self) -> u16 {
        self.node.depth
    }
    /// Full topic, if messages were published to exactly this level.
    #[must_use]
    pub fn topic(&self) -> Option<&'a Arc<str>> {
        self.data.map(|d| &d.latest.topic)
    }
    /// Latest message on exactly this topic.
    #[must_use]
    pub fn latest(&self) -> Option<&'a Message> {
        self.data.map(|d| &d.latest)
    }
    /// True if the broker holds a retained value for this topic: the last retained message was not empty.
    /// (A later non-retained message does not replace a retained value.)
    #[must_use]
    pub fn is_retained(&self) -> bool {
        self.data.is_some_and(|d| d.retained)
    }
    /// Retained topics here and below.
    #[must_use]
    pub fn retained_below(&self) -> u32 {
        self.node.retained_below
    }
    /// Messages received on exactly this topic.
    #[must_use]
    pub fn msg_count(&self) -> u64 {
        self.data.map_or(0, |d| d.msg_count)
    }
    /// Messages on exactly this topic that were counted but not kept as history (coalesced while
    /// the window was behind or paused).
    #[must_use]
    pub fn thinned(&self) -> u64 {
        self.data.map_or(0, |d| d.thinned)
    }
    /// Messages received on this topic and every topic below it.
    #[must_use]
    pub fn msgs_below(&self) -> u64 {
        self.node.msgs_below
    }
    /// Topics (levels that received messages) here and below.
    #[must_use]
    pub fn topics_below(&self) -> u32 {
        self.node.topics_below
    }
    /// Time of the newest message here or below.
    #[must_use]
    pub fn updated_at(&self) -> Option<SystemTime> {
        self.node.updated.checked_sub(1).filter(|_| self.node.updated > 0).map(|micros| UNIX_EPOCH + Duration::from_micros(micros))
    }
    /// Rate of messages here and below, as of `now`.
    #[must_use]
    pub fn rate_per_sec(&self, now: SystemTime) -> f64 {
        self.node.rate.per_sec(unix_secs(now))
    }
    /// Payload bytes per second here and below, as of `now`.
    #[must_use]
    pub fn bytes_per_sec(&self, now: SystemTime) -> f64 {
        self.node.rate.bytes_per_sec(unix_secs(now))
    }
    /// True if this node has child levels.
    #[must_use]
    pub fn has_children(&self) -> bool {
        !self.node.children.is_empty()
    }
    /// Number of direct children.
    #[must_use]
    pub fn child_count(&self) -> usize {
        self.node.children.len()
    }
    /// Children in creation order (see [`super::TopicTree::sorted_children`] for name order).
    pub fn children(&self) -> impl DoubleEndedIterator<Item = NodeId> + 'a {
        self.node.children.as_slice().iter().copied()
    }
    /// Messages kept for this topic, newest first (the latest, then history).
    pub fn messages(&self) -> impl Iterator<Item = &'a Message> + 'a {
        let latest = self.data.map(|d| &d.latest);
        let history = self.data.and_then(|d| d.history.as_deref()).into_iter().flat_map(|h| h.ring.iter().rev().map(|(_, m)| m));
        latest.into_iter().chain(history)
    }
    /// How many messages [`Self::messages`] yields.
    #[must_use]
    pub fn kept_count(&self) -> usize {
        self.data.map_or(0, |d| 1 + d.history.as_ref().map_or(0, |h| h.ring.len()))
    }
}

/// Seconds since the Unix epoch, 0 for earlier times.
pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
