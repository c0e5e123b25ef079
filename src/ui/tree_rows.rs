//! The tree panel's row list: which nodes are visible, in which order, given expansion, filter and
//! sort. No egui here: the list is rebuilt only when its inputs change, and the panel lays out just
//! the rows on screen.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use crate::model::filter::{self, FilterMode, TreeFilter};
use crate::model::{ConnId, NodeId, TopicTree};

/// Order of siblings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortOrder {
    /// Alphabetical.
    #[default]
    Name,
    /// Most recently updated first.
    Recent,
    /// Most messages (here and below) first.
    Messages,
    /// Highest message rate first.
    Rate,
}

impl SortOrder {
    /// Every order, for the picker.
    pub const ALL: [Self; 4] = [Self::Name, Self::Recent, Self::Messages, Self::Rate];

    /// Label for the picker.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Recent => "most recent",
            Self::Messages => "most messages",
            Self::Rate => "highest rate",
        }
    }

    /// True if the order changes while messages arrive (so rows are re-sorted periodically).
    #[must_use]
    pub fn is_live(self) -> bool {
        self != Self::Name
    }
}

/// One visible row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The node.
    pub id: NodeId,
    /// Its depth (1 for first-level topics).
    pub depth: u16,
}

/// What the rows depend on; rebuilt when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RowsKey {
    conn: ConnId,
    structure: u64,
    view: u64,
    /// Second of the last rebuild, for live sort orders (re-sorted once a second).
    epoch: u64,
}

/// Expansion, filter and sort of one tree, and the resulting rows.
#[derive(Debug, Default)]
pub struct TreeRows {
    expanded: HashSet<NodeId>,
    /// Nodes collapsed by hand while a filter is active (filter results start expanded).
    filter_collapsed: HashSet<NodeId>,
    rows: Vec<Row>,
    key: Option<RowsKey>,
    /// Bumps on every change of expansion, filter or sort.
    view_version: u64,
    sort: SortOrder,
    filter: Option<TreeFilter>,
    /// Visible marks for the current filter, and the number of matching topics.
    visible: Option<(Vec<bool>, usize)>,
    /// (structure version, message count, second) the marks were computed for.
    visible_key: Option<(ConnId, u64, u64, u64)>,
    /// When the rows and marks were last computed, and what that cost: while topics keep arriving,
    /// an expensive list (a million expanded or filtered nodes) is recomputed at most a few times a
    /// second instead of every frame.
    last_cost: Option<(Instant, Duration)>,
}

/// A recomputation this costly or more is not repeated for new topics alone more often than
/// [`REBUILD_SPACING`] times its cost (at most [`REBUILD_MAX_WAIT`]).
const EXPENSIVE: Duration = Duration::from_millis(8);
/// See [`EXPENSIVE`].
const REBUILD_SPACING: u32 = 10;
/// See [`EXPENSIVE`].
const REBUILD_MAX_WAIT: Duration = Duration::from_secs(1);

impl TreeRows {
    /// The rows, after [`Self::update`].
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Sort order in force.
    #[must_use]
    pub fn sort(&self) -> SortOrder {
        self.sort
    }

    /// Change the sort order.
    pub fn set_sort(&mut self, sort: SortOrder) {
        if sort != self.sort {
            self.sort = sort;
            self.view_version += 1;
        }
    }

    /// Set (or clear, with an empty text and no toggles) the filter.
    ///
    /// # Errors
    /// A bad regular expression or MQTT filter; the previous filter is dropped.
    pub fn set_filter(&mut self, text: &str, mode: FilterMode, on_payload: bool, retained_only: bool) -> Result<(), filter::FilterError> {
        self.view_version += 1;
        self.visible = None;
        self.visible_key = None;
        self.filter_collapsed.clear();
        let parsed = TreeFilter::new(text, mode, on_payload, retained_only);
        self.filter = match parsed {
            Ok(f) if f.is_empty() => None,
            Ok(f) => Some(f),
            Err(e) => {
                self.filter = None;
                return Err(e);
            }
        };
        Ok(())
    }

    /// True while a filter is active.
    #[must_use]
    pub fn is_filtering(&self) -> bool {
        self.filter.is_some()
    }

    /// Topics matching the active filter.
    #[must_use]
    pub fn matched(&self) -> Option<usize> {
        self.visible.as_ref().map(|(_, n)| *n)
    }

    /// Is this node shown expanded?
    #[must_use]
    pub fn is_expanded(&self, id: NodeId) -> bool {
        if self.filter.is_some() { !self.filter_collapsed.contains(&id) } else { self.expanded.contains(&id) }
    }

    /// Expand or collapse.
    pub fn set_expanded(&mut self, id: NodeId, expanded: bool) {
        let changed = if self.filter.is_some() {
            if expanded { self.filter_collapsed.remove(&id) } else { self.filter_collapsed.insert(id) }
        } else if expanded {
            self.expanded.insert(id)
        } else {
            self.expanded.remove(&id)
        };
        if changed {
            self.view_version += 1;
        }
    }

    /// Expand every ancestor of `id`.
    pub fn reveal(&mut self, tree: &TopicTree, id: NodeId) {
        let mut cur = tree.node(id).parent();
        while cur != NodeId::ROOT {
            self.set_expanded(cur, true);
            cur = tree.node(cur).parent();
        }
    }

    /// Make the rows be rebuilt on the next update, keeping expansion (a tree shown again).
    pub fn reset_view(&mut self) {
        self.key = None;
        self.visible = None;
        self.visible_key = None;
        self.view_version += 1;
    }

    /// Forget everything (another connection, a cleared tree).
    pub fn reset(&mut self) {
        let (sort, filter) = (self.sort, self.filter.take());
        *self = Self { sort, filter, view_version: self.view_version + 1, ..Self::default() };
    }

    /// True if a recomputation for new topics alone should wait: the last one was expensive and recent.
    fn hold_off(&self) -> bool {
        self.last_cost.is_some_and(|(at, cost)| cost >= EXPENSIVE && at.elapsed() < (cost * REBUILD_SPACING).min(REBUILD_MAX_WAIT))
    }

    /// Rebuild the rows if their inputs changed. Cost: O(visible rows) (plus O(topics) when a
    /// filter's marks are recomputed, at most once a second while messages arrive). New topics alone
    /// trigger an expensive recomputation at most a few times a second.
    pub fn update(&mut self, conn: ConnId, tree: &TopicTree, now: SystemTime) {
        let sec = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let start = Instant::now();
        let mut worked = false;
        if let Some(f) = &self.filter {
            // Marks depend on topics (structure) and, for payload/retained filters, on messages: throttle those to 1/s.
            let msgs = if f.on_payload || f.retained_only { tree.message_count() } else { 0 };
            let vkey = (conn, tree.structure_version(), msgs, if msgs > 0 { sec } else { 0 });
            let only_new_topics = self.visible_key.is_some_and(|k| k.0 == vkey.0 && k.1 != vkey.1);
            let stale = self.visible_key.is_none_or(|k| k.0 != vkey.0 || k.1 != vkey.1 || (k.2 != vkey.2 && k.3 != vkey.3));
            if stale && !(only_new_topics && self.hold_off()) {
                self.visible = Some(filter::visible_nodes(tree, f));
                self.visible_key = Some(vkey);
                self.view_version += 1;
                worked = true;
            }
        }
        let key = RowsKey {
            conn,
            structure: tree.structure_version(),
            view: self.view_version,
            epoch: if self.sort.is_live() { sec } else { 0 },
        };
        if self.key == Some(key) {
            return;
        }
        let only_new_topics = self.key.is_some_and(|k| RowsKey { structure: key.structure, ..k } == key);
        if only_new_topics && !worked && self.hold_off() {
            return;
        }
        self.key = Some(key);
        self.rebuild(tree, now);
        self.last_cost = Some((Instant::now(), start.elapsed()));
    }

    fn rebuild(&mut self, tree: &TopicTree, now: SystemTime) {
        self.rows.clear();
        let visible = self.visible.as_ref().map(|(v, _)| v.as_slice());
        let shown = |id: NodeId| visible.is_none_or(|v| v.get(id.index()).copied().unwrap_or(false));
        // Iterative depth-first walk: topics may be thousands of levels deep.
        let mut stack: Vec<NodeId> = self.sorted_children(tree, NodeId::ROOT, now);
        stack.reverse();
        while let Some(id) = stack.pop() {
            if !shown(id) {
                continue;
            }
            let node = tree.node(id);
            self.rows.push(Row { id, depth: node.depth() });
            if node.has_children() && self.is_expanded(id) {
                let mut children = self.sorted_children(tree, id, now);
                children.reverse();
                stack.extend(children);
            }
        }
    }

    fn sorted_children(&self, tree: &TopicTree, id: NodeId, now: SystemTime) -> Vec<NodeId> {
        // Name order first: the others are stable sorts, so ties stay in name order.
        let mut children = tree.sorted_children(id);
        match self.sort {
            SortOrder::Name => {}
            SortOrder::Recent => children.sort_by_key(|&c| std::cmp::Reverse(tree.node(c).updated_at())),
            SortOrder::Messages => children.sort_by_key(|&c| std::cmp::Reverse(tree.node(c).msgs_below())),
            SortOrder::Rate => children.sort_by(|&a, &b| tree.node(b).rate_per_sec(now).total_cmp(&tree.node(a).rate_per_sec(now))),
        }
        children
    }

    /// Index of a node among the rows.
    #[must_use]
    pub fn position(&self, id: NodeId) -> Option<usize> {
        self.rows.iter().position(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{Message, QoS};

    fn tree() -> TopicTree {
        let mut t = TopicTree::default();
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        for (i, topic) in ["b/x", "a/y", "a/z", "c", "a/z"].iter().enumerate() {
            t.insert(Message::new(*topic, "1", QoS::AtMostOnce, false, at(100 + i as u64)));
        }
        t
    }

    fn names(rows: &TreeRows, t: &TopicTree) -> Vec<String> {
        rows.rows().iter().map(|r| t.path(r.id)).collect()
    }

    #[test]
    fn collapsed_by_default_and_expands_on_demand() {
        let t = tree();
        let mut rows = TreeRows::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "b", "c"]);
        rows.set_expanded(t.find_path("a").expect("a"), true);
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "a/y", "a/z", "b", "c"]);
    }

    #[test]
    fn sort_orders() {
        let t = tree();
        let mut rows = TreeRows::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        rows.set_sort(SortOrder::Messages);
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "b", "c"]);
        rows.set_sort(SortOrder::Recent);
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "c", "b"], "a/z was updated last, then c, then b/x");
    }

    #[test]
    fn filter_shows_matches_with_their_ancestors_expanded() {
        let t = tree();
        let mut rows = TreeRows::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        rows.set_filter("+/z", FilterMode::Wildcard, false, false).expect("filter");
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "a/z"]);
        assert_eq!(rows.matched(), Some(1));
        rows.set_filter("", FilterMode::Wildcard, false, false).expect("clear");
        rows.update(ConnId::LOCAL, &t, now);
        assert_eq!(names(&rows, &t), ["a", "b", "c"]);
        assert!(rows.set_filter("a/#/b", FilterMode::Wildcard, false, false).is_err());
    }
}
