//! [`Kids`]: the children of a [`TopicTrie`](super::TopicTrie) node, sized for the shapes fleets
//! use. An inner node with a single child (a value's node that also has one child below it, a
//! chain level shared by two topics) would waste a hash table on one entry (a 96-byte
//! allocation), so a single child is kept inline and a table is made only at the second; the
//! table is boxed, so that the inline form sets the size (24 bytes).
//!
//! Children are found by level name. A child's name may be read from its value's topic at the
//! byte offset where the children's level starts (`at`, the same for all of them), so every
//! method that compares or hashes names takes it.

use hashbrown::HashTable;
use hashbrown::hash_table;

use super::{Node, TopicValue, hash_level};

/// No child, one child inline, or a table once there are two or more.
pub(super) enum Kids<V: TopicValue> {
    None,
    One(Node<V>),
    Many(Box<HashTable<Node<V>>>),
}

impl<V: TopicValue> Kids<V> {
    pub(super) fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::One(_) => 1,
            Self::Many(table) => table.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }

    pub(super) fn find(&self, level: &[u8], at: usize) -> Option<&Node<V>> {
        match self {
            Self::None => None,
            Self::One(child) => (child.level(at) == level).then_some(child),
            Self::Many(table) => table.find(hash_level(level), |n| n.level(at) == level),
        }
    }

    pub(super) fn find_mut(&mut self, level: &[u8], at: usize) -> Option<&mut Node<V>> {
        match self {
            Self::None => None,
            Self::One(child) => (child.level(at) == level).then_some(child),
            Self::Many(table) => table.find_mut(hash_level(level), |n| n.level(at) == level),
        }
    }

    /// Adds a child known to be absent and returns it.
    pub(super) fn insert_unique(&mut self, child: Node<V>, at: usize) -> &mut Node<V> {
        let hasher = |n: &Node<V>| hash_level(n.level(at));
        if let Self::None = self {
            *self = Self::One(child);
            let Self::One(only) = self else { unreachable!("just placed") };
            return only;
        }
        if let Self::One(_) = self
            && let Self::One(first) = std::mem::replace(self, Self::Many(Box::new(HashTable::with_capacity(2))))
            && let Self::Many(table) = self
        {
            table.insert_unique(hash_level(first.level(at)), first, hasher);
        }
        let Self::Many(table) = self else { unreachable!("two or more children live in a table") };
        table.insert_unique(hash_level(child.level(at)), child, hasher).into_mut()
    }

    /// Detaches the child named `level`; a table left with one child gives way to the inline form.
    pub(super) fn remove(&mut self, level: &[u8], at: usize) -> Option<Node<V>> {
        match self {
            Self::One(child) if child.level(at) == level => match std::mem::replace(self, Self::None) {
                Self::One(child) => Some(child),
                _ => None,
            },
            Self::None | Self::One(_) => None,
            Self::Many(table) => {
                let (child, _) = table.find_entry(hash_level(level), |n| n.level(at) == level).ok()?.remove();
                if table.len() == 1 {
                    let last = table.drain().next();
                    *self = last.map_or(Self::None, Self::One);
                }
                Some(child)
            }
        }
    }

    /// The child of a node with exactly one.
    pub(super) fn only(&self) -> Option<&Node<V>> {
        match self {
            Self::One(child) => Some(child),
            Self::None | Self::Many(_) => None,
        }
    }

    pub(super) fn iter(&self) -> Iter<'_, V> {
        match self {
            Self::None => Iter::One(None),
            Self::One(child) => Iter::One(Some(child)),
            Self::Many(table) => Iter::Many(table.iter()),
        }
    }

    /// Takes every child out, leaving none (for the iterative drop).
    pub(super) fn take(&mut self) -> IntoIter<V> {
        match std::mem::replace(self, Self::None) {
            Self::None => IntoIter::One(None),
            Self::One(child) => IntoIter::One(Some(child)),
            Self::Many(table) => IntoIter::Many((*table).into_iter()),
        }
    }
}

/// The children of a node, by reference.
pub(super) enum Iter<'a, V: TopicValue> {
    One(Option<&'a Node<V>>),
    Many(hash_table::Iter<'a, Node<V>>),
}

impl<'a, V: TopicValue> Iterator for Iter<'a, V> {
    type Item = &'a Node<V>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::One(child) => child.take(),
            Self::Many(iter) => iter.next(),
        }
    }
}

/// The children of a node, taken out.
pub(super) enum IntoIter<V: TopicValue> {
    One(Option<Node<V>>),
    Many(hash_table::IntoIter<Node<V>>),
}

impl<V: TopicValue> Iterator for IntoIter<V> {
    type Item = Node<V>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::One(child) => child.take(),
            Self::Many(iter) => iter.next(),
        }
    }
}
