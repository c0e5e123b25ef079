//! Queries of a [`TopicTrie`] by wildcard filter: the walk that skips every subtree that cannot
//! match, and what is built on it (matching values, removal below a filter, counts). A tail (one
//! topic's remaining levels in one node) is matched against the rest of the filter in one go.

use super::{Hit, Item, Node, Rest, TopicTrie, TopicValue, tail_matches};
use crate::topic::levels::split_level;

impl<V: TopicValue> TopicTrie<V> {
    /// Walks the nodes that `start` reaches below the root, skipping every subtree that cannot
    /// match, and calls `hit(path, node, how)`. At the first level, `+` and `#` skip topics
    /// starting with `$` (MQTT-4.7.2-1). With `expand`, a `#` reports each valued node of its
    /// subtree; without, it reports the subtree root once.
    fn walk<'a>(&'a self, start: Rest<'a>, expand: bool, mut hit: impl FnMut(&str, &'a Node<V>, Hit)) {
        let mut stack = Vec::new();
        Self::step(&self.root, None, "", start, expand, &mut stack, &mut hit);
        let mut path = String::new();
        while let Some(item) = stack.pop() {
            // Everything popped since the parent was visited lies below it, so the buffer still
            // starts with the parent's path.
            path.truncate(item.parent.unwrap_or(0));
            if item.parent.is_some() {
                path.push('/');
            }
            path.push_str(item.level);
            let here = Some(path.len());
            Self::step(item.node, here, &path, item.rest, expand, &mut stack, &mut hit);
        }
    }

    /// One step of [`Self::walk`] at `node`, whose path is `path` (`here` is its length, `None`
    /// for the root).
    fn step<'a>(
        node: &'a Node<V>,
        here: Option<usize>,
        path: &str,
        rest: Rest<'a>,
        expand: bool,
        stack: &mut Vec<Item<'a, V>>,
        hit: &mut impl FnMut(&str, &'a Node<V>, Hit),
    ) {
        if let Some(end) = here
            && let Some(below) = node.tail(end)
        {
            // A tail: one topic, whose levels below this one are matched in one go.
            let matched = match rest {
                Rest::Cut => return hit(path, node, Hit::Subtree),
                Rest::All => true,
                Rest::Filter(filter) => filter.is_some_and(|f| tail_matches(f, below)),
            };
            if matched {
                hit(node.tail_topic(), node, Hit::Value);
            }
            return;
        }
        let root = here.is_none();
        let at = here.map_or(0, |end| end + 1);
        let mut push = |rest: Rest<'a>, skip_dollar: bool| {
            let children = node.children().filter(|n| !(skip_dollar && n.level(at).starts_with(b"$")));
            stack.extend(children.map(|node| Item { node, level: node.level_str(at), parent: here, rest }));
        };
        let all = if expand { Rest::All } else { Rest::Cut };
        match rest {
            Rest::Cut => hit(path, node, Hit::Subtree),
            Rest::All | Rest::Filter(None) => {
                if node.value.is_some() {
                    hit(path, node, Hit::Value);
                }
                if matches!(rest, Rest::All) {
                    push(Rest::All, false);
                }
            }
            Rest::Filter(Some(filter)) => match split_level(filter) {
                ("#", _) if root => push(all, true),
                ("#", _) => Self::step(node, here, path, all, expand, stack, hit),
                ("+", next) => push(Rest::Filter(next), root),
                (level, next) => {
                    if let Some(node) = node.child(level, at) {
                        stack.push(Item { node, level: node.level_str(at), parent: here, rest: Rest::Filter(next) });
                    }
                }
            },
        }
    }

    /// Calls `f(topic, value)` for every stored topic that `filter` matches, in no particular
    /// order. Only subtrees that can match are walked (`a/b/#` walks only under `a/b`), and
    /// `+`/`#` in the first level skip `$` topics (MQTT-4.7.2-1).
    pub fn for_each_matching(&self, filter: &str, mut f: impl FnMut(&str, &V)) {
        self.walk(Rest::Filter(Some(filter)), true, |path, node, _| {
            if let Some(v) = &node.value {
                f(path, v);
            }
        });
    }

    /// Calls `f(topic, value)` for every stored topic, `$` topics included, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        self.walk(Rest::All, true, |path, node, _| {
            if let Some(v) = &node.value {
                f(path, v);
            }
        });
    }

    /// Calls `f(value)` for every stored topic that `filter` matches (same rules as
    /// [`Self::for_each_matching`]), without rebuilding topic names: the retained replay to a new
    /// subscriber. Under a `#` the walk holds one iterator per level, never a whole level's
    /// children, so a level of a million topics costs no extra memory. The values are lent for as
    /// long as the trie is, so that the caller may batch them.
    pub fn for_each_value_matching<'a>(&'a self, filter: &str, mut f: impl FnMut(&'a V)) {
        // A node, the filter left below it, and where its level ends in the topic (`None`: the root).
        let mut pending: Vec<(&Node<V>, Option<&str>, Option<usize>)> = vec![(&self.root, Some(filter), None)];
        let mut subtrees: Vec<(&Node<V>, bool)> = Vec::new();
        while let Some((node, rest, end)) = pending.pop() {
            if let Some(below) = end.and_then(|end| node.tail(end)) {
                if rest.is_some_and(|f| tail_matches(f, below)) {
                    f_value(node, &mut f);
                }
                continue;
            }
            let Some(rest) = rest else {
                f_value(node, &mut f);
                continue;
            };
            let root = end.is_none();
            let at = end.map_or(0, |end| end + 1);
            match split_level(rest) {
                ("#", _) => subtrees.push((node, root)),
                ("+", next) => {
                    let children = node.children().filter(|n| !(root && n.level(at).starts_with(b"$")));
                    pending.extend(children.map(|n| (n, next, Some(at + n.level(at).len()))));
                }
                (level, next) => pending.extend(node.child(level, at).map(|n| (n, next, Some(at + level.len())))),
            }
        }
        for (top, root) in subtrees {
            // `a/#` matches `a` itself (MQTT-4.7.1-2); `#` at the root skips `$` topics (MQTT-4.7.2-1).
            if !root {
                f_value(top, &mut f);
            }
            let mut iters: Vec<super::kids::Iter<'_, V>> = top.kids().map(super::kids::Kids::iter).into_iter().collect();
            while let Some(iter) = iters.last_mut() {
                let Some(node) = iter.next() else {
                    iters.pop();
                    continue;
                };
                if root && iters.len() == 1 && node.level(0).starts_with(b"$") {
                    continue;
                }
                f_value(node, &mut f);
                iters.extend(node.kids().map(super::kids::Kids::iter));
            }
        }
    }

    /// Removes every topic that `filter` matches (same rules as [`Self::for_each_matching`]),
    /// returning how many were removed; a `#` cuts whole subtrees at once.
    pub fn remove_matching(&mut self, filter: &str) -> usize {
        let mut exact: Vec<Box<str>> = Vec::new();
        let mut subtrees: Vec<(Box<str>, usize)> = Vec::new();
        self.walk(Rest::Filter(Some(filter)), false, |path, node, how| match how {
            Hit::Value => exact.push(path.into()),
            Hit::Subtree => subtrees.push((path.into(), count_values(node))),
        });
        let mut removed = 0;
        // Cuts first: they only take nodes away, so the other paths stay valid; folding a chain
        // into a tail could hide a path, so that comes after, and exact removals go by topic.
        for (path, count) in &subtrees {
            self.prune(path);
            self.len -= count;
            removed += count;
        }
        for (path, _) in &subtrees {
            self.fold(path);
        }
        for topic in exact {
            removed += usize::from(self.remove(&topic).is_some());
        }
        removed
    }

    /// Number of nodes, root included (for tests of pruning).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        let mut stack = vec![&self.root];
        let mut count = 0;
        while let Some(node) = stack.pop() {
            count += 1;
            stack.extend(node.children());
        }
        count
    }
}

fn f_value<'a, V: TopicValue>(node: &'a Node<V>, f: &mut impl FnMut(&'a V)) {
    if let Some(v) = &node.value {
        f(v);
    }
}

/// Number of values in the subtree rooted at `node`, itself included.
fn count_values<V: TopicValue>(node: &Node<V>) -> usize {
    let mut stack = vec![node];
    let mut count = 0;
    while let Some(node) = stack.pop() {
        count += usize::from(node.value.is_some());
        stack.extend(node.children());
    }
    count
}
