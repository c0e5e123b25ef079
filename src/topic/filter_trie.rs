//! [`FilterTrie`]: the subscription table, topic filters → entries keyed by session, matched per
//! published topic.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use super::levels::{ChildMap, InlineStack, split_level};

/// Topic filter → entries keyed by `K` (e.g. a session key), each with a `V` (e.g. the
/// subscription options).
///
/// A trie over filter levels with a dedicated `+` child and a `#` slot per node, so matching a
/// topic costs O(levels × matching branches), independent of the number of filters. Filters are
/// expected valid ([`super::validate_topic_filter`]); for a shared subscription insert the inner
/// filter of [`super::parse_shared`] under a key that names the group. Invalid filters never
/// panic: a `#` that is not last is stored as a literal level, which no topic can match.
pub struct FilterTrie<K, V> {
    root: Node<K, V>,
    len: usize,
}

struct Node<K, V> {
    /// Literal levels; `None` rather than an empty map.
    children: Option<Box<ChildMap<Node<K, V>>>>,
    /// The `+` level.
    plus: Option<Box<Node<K, V>>>,
    /// Entries whose filter ends at this node.
    exact: Option<Box<Subs<K, V>>>,
    /// Entries whose filter is this node's path followed by `/#` (just `#` at the root).
    multi: Option<Box<Subs<K, V>>>,
}

/// The entries of one filter.
struct Subs<K, V> {
    filter: Box<str>,
    entries: HashMap<K, V>,
}

impl<K, V> Default for Node<K, V> {
    fn default() -> Self {
        Self { children: None, plus: None, exact: None, multi: None }
    }
}

impl<K, V> Drop for Node<K, V> {
    /// Dismantles the subtree iteratively: a recursive drop of a 32,768-level chain would overflow
    /// the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Self> = Vec::new();
        let detach = |node: &mut Self, stack: &mut Vec<Self>| {
            if let Some(mut map) = node.children.take() {
                stack.extend(map.drain().map(|(_, child)| child));
            }
            stack.extend(node.plus.take().map(|plus| *plus));
        };
        detach(self, &mut stack);
        while let Some(mut node) = stack.pop() {
            detach(&mut node, &mut stack);
        }
    }
}

impl<K, V> Node<K, V> {
    fn child(&self, level: &str) -> Option<&Self> {
        self.children.as_ref()?.get(level)
    }

    /// The node one level down: the `+` child for `+`, else the literal child.
    fn next(&self, level: &str) -> Option<&Self> {
        if level == "+" { self.plus.as_deref() } else { self.child(level) }
    }

    fn next_mut(&mut self, level: &str) -> Option<&mut Self> {
        if level == "+" { self.plus.as_deref_mut() } else { self.children.as_mut()?.get_mut(level) }
    }

    fn branches(&self) -> usize {
        self.children.as_ref().map_or(0, |c| c.len()) + usize::from(self.plus.is_some())
    }

    fn is_empty(&self) -> bool {
        self.exact.is_none() && self.multi.is_none() && self.branches() == 0
    }

    fn slot(&self, multi: bool) -> Option<&Subs<K, V>> {
        if multi { &self.multi } else { &self.exact }.as_deref()
    }

    fn slot_mut(&mut self, multi: bool) -> &mut Option<Box<Subs<K, V>>> {
        if multi { &mut self.multi } else { &mut self.exact }
    }

    /// Children in any order, for whole-trie walks.
    fn all_children(&self) -> impl Iterator<Item = &Self> {
        let literal = self.children.iter().flat_map(|c| c.values());
        literal.chain(self.plus.as_deref())
    }
}

/// Calls `f` for every entry of `subs`.
fn emit<K, V>(subs: &Subs<K, V>, f: &mut impl FnMut(&str, &K, &V)) {
    for (k, v) in &subs.entries {
        f(&subs.filter, k, v);
    }
}

/// Splits a filter into the path of the node holding it and whether it ends in `#`:
/// `"a/b"` → `(Some("a/b"), false)`, `"a/#"` → `(Some("a"), true)`, `"#"` → `(None, true)`.
fn split_multi(filter: &str) -> (Option<&str>, bool) {
    if filter == "#" {
        (None, true)
    } else if let Some(path) = filter.strip_suffix("/#") {
        (Some(path), true)
    } else {
        (Some(filter), false)
    }
}

impl<K, V> Default for FilterTrie<K, V> {
    fn default() -> Self {
        Self { root: Node::default(), len: 0 }
    }
}

impl<K, V> fmt::Debug for FilterTrie<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterTrie").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, V> FilterTrie<K, V> {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of (filter, key) entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The node holding `filter` and whether its slot is the `#` one.
    fn node(&self, filter: &str) -> Option<(&Node<K, V>, bool)> {
        let (path, multi) = split_multi(filter);
        let node = path.into_iter().flat_map(|p| p.split('/')).try_fold(&self.root, |node, level| node.next(level))?;
        Some((node, multi))
    }

    fn node_mut(&mut self, filter: &str) -> Option<(&mut Node<K, V>, bool)> {
        let (path, multi) = split_multi(filter);
        let mut node = &mut self.root;
        for level in path.into_iter().flat_map(|p| p.split('/')) {
            node = node.next_mut(level)?;
        }
        Some((node, multi))
    }

    /// The value of `key`'s subscription to exactly `filter`.
    #[must_use]
    pub fn get(&self, filter: &str, key: &K) -> Option<&V> {
        let (node, multi) = self.node(filter)?;
        node.slot(multi)?.entries.get(key)
    }

    /// The value of `key`'s subscription to exactly `filter`, mutably.
    pub fn get_mut(&mut self, filter: &str, key: &K) -> Option<&mut V> {
        let (node, multi) = self.node_mut(filter)?;
        node.slot_mut(multi).as_mut()?.entries.get_mut(key)
    }

    /// Inserts or replaces `key`'s subscription to `filter`, returning the value it replaces.
    pub fn insert(&mut self, filter: &str, key: K, value: V) -> Option<V> {
        let (path, multi) = split_multi(filter);
        let mut node = &mut self.root;
        for level in path.into_iter().flat_map(|p| p.split('/')) {
            node = if level == "+" {
                node.plus.get_or_insert_with(Box::default)
            } else {
                node.children.get_or_insert_with(Box::default).entry(level.into()).or_default()
            };
        }
        let subs = node.slot_mut(multi).get_or_insert_with(|| Box::new(Subs { filter: filter.into(), entries: HashMap::new() }));
        let old = subs.entries.insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`'s subscription to `filter`, returning its value; nodes left empty are pruned.
    pub fn remove(&mut self, filter: &str, key: &K) -> Option<V> {
        let (node, multi) = self.node_mut(filter)?;
        let slot = node.slot_mut(multi);
        let subs = slot.as_mut()?;
        let old = subs.entries.remove(key)?;
        if subs.entries.is_empty() {
            *slot = None;
        }
        let empty = node.is_empty();
        self.len -= 1;
        if empty {
            self.prune(split_multi(filter).0);
        }
        Some(old)
    }

    /// Detaches the (empty) node at `path` and every ancestor that exists only for it.
    fn prune(&mut self, path: Option<&str>) {
        let Some(path) = path else { return };
        // Pass 1: the deepest ancestor that must stay (the root, or one with entries or another
        // branch).
        let mut keep = 0;
        let mut node = &self.root;
        for (depth, level) in path.split('/').enumerate() {
            if depth > 0 && (node.exact.is_some() || node.multi.is_some() || node.branches() > 1) {
                keep = depth;
            }
            match node.next(level) {
                Some(next) => node = next,
                None => return,
            }
        }
        // Pass 2: cut the edge below it; `Node::drop` dismantles the cut chain.
        let mut node = &mut self.root;
        for (depth, level) in path.split('/').enumerate() {
            if depth == keep {
                if level == "+" {
                    node.plus = None;
                } else if let Some(map) = node.children.as_mut() {
                    map.remove(level);
                    if map.is_empty() {
                        node.children = None;
                    }
                }
                return;
            }
            match node.next_mut(level) {
                Some(next) => node = next,
                None => return,
            }
        }
    }

    /// Calls `f(filter, key, value)` for every entry whose filter matches `topic`, each once, in
    /// no particular order. A topic starting with `$` is not matched by filters starting with `+`
    /// or `#` (MQTT-4.7.2-1). A key with several matching filters is reported once per filter:
    /// merging overlapping subscriptions (MQTT 5.0 §4.7.1, MQTT-3.3.4-2) is the caller's job.
    /// Does not allocate unless the walk holds more than 16 pending branches.
    pub fn for_each_match(&self, topic: &str, mut f: impl FnMut(&str, &K, &V)) {
        let mut stack: InlineStack<(&Node<K, V>, Option<&str>), 16> = InlineStack::new();
        let wild_at_root = !topic.starts_with('$');
        Self::visit(&self.root, Some(topic), wild_at_root, &mut stack, &mut f);
        while let Some((node, rest)) = stack.pop() {
            Self::visit(node, rest, true, &mut stack, &mut f);
        }
    }

    /// One step of [`Self::for_each_match`]: `node` matched the topic so far, `rest` is what is
    /// left of the topic; `wild` is false where wildcards must not match (the root of a `$` topic).
    fn visit<'a>(
        node: &'a Node<K, V>,
        rest: Option<&'a str>,
        wild: bool,
        stack: &mut InlineStack<(&'a Node<K, V>, Option<&'a str>), 16>,
        f: &mut impl FnMut(&str, &K, &V),
    ) {
        if wild && let Some(multi) = &node.multi {
            emit(multi, f);
        }
        let Some(rest) = rest else {
            if let Some(exact) = &node.exact {
                emit(exact, f);
            }
            return;
        };
        let (level, next) = split_level(rest);
        if let Some(child) = node.child(level) {
            stack.push((child, next));
        }
        if wild && let Some(plus) = &node.plus {
            stack.push((plus, next));
        }
    }

    /// Every (filter, key, value) entry, in no particular order (for the UI's subscription list).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &K, &V)> {
        let mut subs = Vec::new();
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            subs.extend(node.exact.as_deref());
            subs.extend(node.multi.as_deref());
            stack.extend(node.all_children());
        }
        subs.into_iter().flat_map(|s: &Subs<K, V>| s.entries.iter().map(move |(k, v)| (&*s.filter, k, v)))
    }

    /// Number of nodes, root included (for tests of pruning).
    #[cfg(test)]
    pub(super) fn node_count(&self) -> usize {
        let mut stack = vec![&self.root];
        let mut count = 0;
        while let Some(node) = stack.pop() {
            count += 1;
            stack.extend(node.all_children());
        }
        count
    }
}
