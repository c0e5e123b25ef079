//! [`TopicTrie`]: the retained-message index, exact topic names queried by wildcard filters.

use std::fmt;
use std::hash::BuildHasher as _;

use super::levels::LevelHasher;

#[path = "topic_trie_kids.rs"]
mod kids;
#[path = "topic_trie_walk.rs"]
mod walk;

use kids::Kids;

/// A value stored in a [`TopicTrie`] that may carry its own topic name. When it does, the node
/// holding it need not store its level name again: for a million retained messages under one
/// level, that is a million strings (about 32 bytes each) fewer.
pub trait TopicValue {
    /// The full topic this value is stored under, if the value carries it. It must be exactly the
    /// topic the value is inserted with.
    fn topic(&self) -> Option<&[u8]> {
        None
    }
}

impl TopicValue for () {}
impl TopicValue for usize {}
impl TopicValue for i32 {}
impl TopicValue for u32 {}

/// Exact topic names → `V`, with wildcard queries ("which retained topics match `home/+/temp`").
///
/// One node per distinct topic prefix, keyed by its level name only (so a 32,768-level topic costs
/// O(its length), not O(depth²)); a node whose value carries its topic ([`TopicValue`]) reads its
/// level from there instead of keeping a copy. Queries rebuild the topics they report in one reused
/// buffer; [`TopicTrie::for_each_value_matching`] does not build them at all. Every walk is
/// iterative, so deep topics overflow neither matching nor dropping. Invalid topics (empty, with
/// wildcards) are stored like any other string and never panic, but should be rejected with
/// [`super::validate_topic_name`] first.
///
/// Memory: a node is 16 bytes in its parent (inline when it is the only child, else in the
/// parent's hash table, plus the table's slack): the value, and one pointer to what only inner
/// nodes need (their children, and a level name where no value names it). An inner node with one
/// child, the device level of `sensors/{id}/temp`, has no table ([`kids::Kids`]). Routing-side costs on this 2-core machine: a `+` query over 100 subtrees of 100
/// topics ≈ 70 µs, a `#` visit of 1M topics ≈ 40-70 ms.
pub struct TopicTrie<V: TopicValue> {
    root: Node<V>,
    len: usize,
}

struct Node<V: TopicValue> {
    /// `None` for a leaf whose value names it: most nodes of a large store.
    inner: Option<Box<Inner<V>>>,
    value: Option<V>,
}

struct Inner<V: TopicValue> {
    /// This node's level name; `None` while the value carries it (the last level of its topic).
    level: Option<Level>,
    children: Kids<V>,
}

/// A stored level name (bytes of a valid topic name), behind a thin pointer.
type Level = triomphe::ThinArc<(), u8>;

/// The last level of a topic: `a/b/c` → `c`, `a/` → ``.
fn last_level(topic: &[u8]) -> &[u8] {
    topic.rsplit(|&b| b == b'/').next().unwrap_or(topic)
}

fn hash_level(level: &[u8]) -> u64 {
    LevelHasher.hash_one(level)
}

impl<V: TopicValue> Drop for Node<V> {
    /// Dismantles the subtree iteratively: a recursive drop of a 32,768-level chain would overflow
    /// the stack.
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut pending = vec![inner];
        while let Some(mut inner) = pending.pop() {
            for mut child in inner.children.take() {
                pending.extend(child.inner.take());
            }
        }
    }
}

impl<V: TopicValue> Node<V> {
    /// A node named `level`, with no value yet.
    fn named(level: &[u8]) -> Self {
        let inner = Inner { level: Some(Level::from_header_and_slice((), level)), children: Kids::None };
        Self { inner: Some(Box::new(inner)), value: None }
    }

    /// This node's level name (empty for the root).
    fn level(&self) -> &[u8] {
        match self.inner.as_ref().and_then(|i| i.level.as_ref()) {
            Some(level) => &level.slice,
            None => self.value.as_ref().and_then(TopicValue::topic).map_or(&[], last_level),
        }
    }

    /// The level name as text; levels come from valid topic names, so this never falls back.
    fn level_str(&self) -> &str {
        std::str::from_utf8(self.level()).unwrap_or_default()
    }

    fn kids(&self) -> Option<&Kids<V>> {
        self.inner.as_ref().map(|i| &i.children)
    }

    fn child(&self, level: &str) -> Option<&Self> {
        self.kids()?.find(level.as_bytes())
    }

    fn child_mut(&mut self, level: &str) -> Option<&mut Self> {
        self.inner.as_mut()?.children.find_mut(level.as_bytes())
    }

    fn inner_mut(&mut self) -> &mut Inner<V> {
        self.inner.get_or_insert_with(|| Box::new(Inner { level: None, children: Kids::None }))
    }

    /// The child for `level`, created (with its level name stored) if missing.
    fn child_or_insert(&mut self, level: &str) -> &mut Self {
        let bytes = level.as_bytes();
        let kids = &mut self.inner_mut().children;
        if kids.find(bytes).is_none() {
            return kids.insert_unique(Self::named(bytes));
        }
        kids.find_mut(bytes).unwrap_or_else(|| unreachable!("found just before"))
    }

    /// Add a child known to be absent.
    fn add_child(&mut self, child: Self) {
        self.inner_mut().children.insert_unique(child);
    }

    /// Detach the child for `level`, if any.
    fn remove_child(&mut self, level: &str) -> Option<Self> {
        let inner = self.inner.as_mut()?;
        let child = inner.children.remove(level.as_bytes())?;
        self.shed_inner();
        Some(child)
    }

    fn child_count(&self) -> usize {
        self.kids().map_or(0, Kids::len)
    }

    fn children(&self) -> impl Iterator<Item = &Self> {
        self.kids().into_iter().flat_map(Kids::iter)
    }

    /// Make sure the level name is stored, before the value that carries it goes.
    fn own_level(&mut self) {
        if self.inner.as_ref().is_none_or(|i| i.level.is_none()) {
            let level = Level::from_header_and_slice((), self.level());
            self.inner_mut().level = Some(level);
        }
    }

    /// Stop storing the level name: the value (which names this node) carries it.
    fn drop_level(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.level = None;
        }
        self.shed_inner();
    }

    /// Free the inner part once it holds nothing.
    fn shed_inner(&mut self) {
        if self.inner.as_ref().is_some_and(|i| i.level.is_none() && i.children.is_empty()) {
            self.inner = None;
        }
    }
}

/// What is left to match below a node during a walk.
#[derive(Clone, Copy)]
enum Rest<'a> {
    /// These filter levels (`None`: the filter is used up, the node itself is matched).
    Filter(Option<&'a str>),
    /// The node and its whole subtree match (under a `#`).
    All,
    /// The node and its whole subtree match; report the node once as a subtree root.
    Cut,
}

/// How a walk reports a node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hit {
    /// The node (which has a value) is matched.
    Value,
    /// The node and its whole subtree are matched (only when not expanding `#`).
    Subtree,
}

/// Work item of a walk: a node, its level, the length of its parent's path in the path buffer
/// (`None` for a child of the root), and what is left to match.
struct Item<'a, V: TopicValue> {
    node: &'a Node<V>,
    level: &'a str,
    parent: Option<usize>,
    rest: Rest<'a>,
}

impl<V: TopicValue> Default for TopicTrie<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: TopicValue> fmt::Debug for TopicTrie<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicTrie").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<V: TopicValue> TopicTrie<V> {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self { root: Node { inner: None, value: None }, len: 0 }
    }

    /// Number of stored topics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no topic is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every topic.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    fn node(&self, topic: &str) -> Option<&Node<V>> {
        topic.split('/').try_fold(&self.root, |node, level| node.child(level))
    }

    fn node_mut(&mut self, topic: &str) -> Option<&mut Node<V>> {
        let mut node = &mut self.root;
        for level in topic.split('/') {
            node = node.child_mut(level)?;
        }
        Some(node)
    }

    /// The value stored for exactly `topic`.
    #[must_use]
    pub fn get(&self, topic: &str) -> Option<&V> {
        self.node(topic)?.value.as_ref()
    }

    /// The value stored for exactly `topic`, mutably.
    pub fn get_mut(&mut self, topic: &str) -> Option<&mut V> {
        self.node_mut(topic)?.value.as_mut()
    }

    /// Stores `value` for `topic`, returning the value it replaces.
    pub fn insert(&mut self, topic: &str, value: V) -> Option<V> {
        let named = value.topic().is_some();
        debug_assert!(value.topic().is_none_or(|t| t == topic.as_bytes()), "a value names the topic it is stored under");
        // Fast path, no allocation: the topic's node exists (typical for a retained update).
        if let Some(node) = self.node_mut(topic) {
            if !named {
                node.own_level();
            }
            let old = node.value.replace(value);
            if named {
                node.drop_level();
            }
            if old.is_none() {
                self.len += 1;
            }
            return old;
        }
        let (parents, last) = topic.rsplit_once('/').map_or((None, topic), |(p, l)| (Some(p), l));
        let mut node = &mut self.root;
        for level in parents.into_iter().flat_map(|p| p.split('/')) {
            node = node.child_or_insert(level);
        }
        // The last level is new (else the node would have been found): a leaf named by its value
        // needs nothing else.
        let mut leaf = if named { Node { inner: None, value: None } } else { Node::named(last.as_bytes()) };
        leaf.value = Some(value);
        node.add_child(leaf);
        self.len += 1;
        None
    }

    /// Removes `topic`, returning its value; nodes left without values or children are pruned.
    pub fn remove(&mut self, topic: &str) -> Option<V> {
        let node = self.node_mut(topic)?;
        node.value.as_ref()?;
        node.own_level();
        let old = node.value.take()?;
        let leaf = node.child_count() == 0;
        self.len -= 1;
        if leaf {
            self.prune(topic);
        }
        Some(old)
    }

    /// Detaches the node at `path` (with its subtree) and every ancestor that exists only for it.
    /// The caller keeps `len` right.
    fn prune(&mut self, path: &str) {
        // Pass 1: the deepest ancestor that must stay (the root, or one with a value or another
        // child); everything below it on the path goes.
        let mut keep = 0;
        let mut node = &self.root;
        for (depth, level) in path.split('/').enumerate() {
            if depth > 0 && (node.value.is_some() || node.child_count() > 1) {
                keep = depth;
            }
            match node.child(level) {
                Some(child) => node = child,
                None => return,
            }
        }
        // Pass 2: cut the edge below that ancestor; `Node::drop` dismantles the cut chain.
        let mut node = &mut self.root;
        for (depth, level) in path.split('/').enumerate() {
            if depth == keep {
                node.remove_child(level);
                return;
            }
            match node.child_mut(level) {
                Some(child) => node = child,
                None => return,
            }
        }
    }
}
