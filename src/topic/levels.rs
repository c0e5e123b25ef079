//! Building blocks shared by the two tries: level splitting, child maps keyed by level name, and a
//! small inline stack for the allocation-free hot path.

use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, RandomState};
use std::sync::OnceLock;

/// Splits off the first level: `"a/b/c"` → `("a", Some("b/c"))`, `"c"` → `("c", None)`,
/// `"a/"` → `("a", Some(""))`.
pub(super) fn split_level(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((level, rest)) => (level, Some(rest)),
        None => (s, None),
    }
}

/// Zero-sized hasher builder over one process-wide random `SipHash` key: level names come from
/// clients, so the hash must resist flooding, yet a per-map `RandomState` would add 16 bytes to
/// every map.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LevelHasher;

impl BuildHasher for LevelHasher {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        static KEYS: OnceLock<RandomState> = OnceLock::new();
        KEYS.get_or_init(RandomState::new).build_hasher()
    }
}

/// Children of a trie node, by level name. Nodes keep only their own level, never their whole
/// path: a path key per node would cost O(depth²) bytes for a 32,768-level topic.
pub(super) type ChildMap<N> = HashMap<Box<str>, N, LevelHasher>;

/// A LIFO stack that keeps its first `N` items inline and spills to the heap past that, so a walk
/// over a trie of normal depth does not allocate.
pub(super) struct InlineStack<T: Copy, const N: usize> {
    inline: [Option<T>; N],
    len: usize,
    spill: Vec<T>,
}

impl<T: Copy, const N: usize> InlineStack<T, N> {
    pub(super) fn new() -> Self {
        Self { inline: [None; N], len: 0, spill: Vec::new() }
    }

    pub(super) fn push(&mut self, item: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(item);
                self.len += 1;
            }
            None => self.spill.push(item),
        }
    }

    pub(super) fn pop(&mut self) -> Option<T> {
        if let Some(item) = self.spill.pop() {
            return Some(item);
        }
        self.len = self.len.checked_sub(1)?;
        self.inline.get_mut(self.len)?.take()
    }
}
