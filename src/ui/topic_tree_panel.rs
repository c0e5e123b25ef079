//! The live topic tree: virtualised (only visible rows are laid out), with per-node counts, value
//! preview and rate.
//!
//! Owns: selection and expansion, and the cached list of visible rows (rebuilt only when the tree's
//! structure or the expansion changes).

use std::collections::HashSet;
use std::time::SystemTime;

use egui::{RichText, ScrollArea};

use crate::model::{ConnId, NodeId, TopicTree, format, payload};

/// One visible row.
#[derive(Clone, Copy, Debug)]
struct Row {
    id: NodeId,
    depth: u16,
}

/// Characters of value preview per row.
const PREVIEW_CHARS: usize = 60;

/// The tree panel's view state.
#[derive(Debug, Default)]
pub struct TopicTreePanel {
    /// Selected node, if any.
    pub selected: Option<NodeId>,
    expanded: HashSet<NodeId>,
    rows: Vec<Row>,
    /// (connection, structure version, expansion version) the rows were built for.
    rows_key: Option<(ConnId, u64, u64)>,
    expand_version: u64,
}

impl TopicTreePanel {
    /// Expand or collapse a node.
    pub fn toggle(&mut self, id: NodeId) {
        if !self.expanded.remove(&id) {
            self.expanded.insert(id);
        }
        self.expand_version += 1;
    }

    /// Expand every ancestor of `id` and select it.
    pub fn reveal(&mut self, tree: &TopicTree, id: NodeId) {
        let mut cur = tree.node(id).parent();
        while cur != NodeId::ROOT {
            self.expanded.insert(cur);
            cur = tree.node(cur).parent();
        }
        self.selected = Some(id);
        self.expand_version += 1;
    }

    /// Forget selection and expansion (the connection changed or its tree was cleared).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    fn rebuild_rows(&mut self, tree: &TopicTree) {
        self.rows.clear();
        // Iterative depth-first walk: topics may be 1000 levels deep.
        let mut stack: Vec<NodeId> = tree.node(NodeId::ROOT).children().rev().collect();
        while let Some(id) = stack.pop() {
            let node = tree.node(id);
            self.rows.push(Row { id, depth: node.depth() });
            if self.expanded.contains(&id) {
                stack.extend(node.children().rev());
            }
        }
    }

    /// Draw the tree of `conn_id`'s `tree`. `empty_hint` is shown while it has no topics.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, tree: &TopicTree, now: SystemTime, empty_hint: &str) {
        let key = (conn_id, tree.structure_version(), self.expand_version);
        if self.rows_key != Some(key) {
            self.rebuild_rows(tree);
            self.rows_key = Some(key);
        }
        let root = tree.node(NodeId::ROOT);
        ui.horizontal(|ui| {
            ui.strong("Topics");
            ui.weak(format!("{} topics · {} messages", format::count(root.topics_below().into()), format::count(root.msgs_below())));
        });
        ui.separator();
        if self.rows.is_empty() {
            ui.add_space(12.0);
            ui.label(RichText::new(empty_hint).weak());
            return;
        }
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
        let mut toggled = None;
        ScrollArea::both().auto_shrink(false).show_rows(ui, row_height, self.rows.len(), |ui, range| {
            for row in &self.rows[range] {
                if let Some(clicked) = self.row_ui(ui, tree, *row, now) {
                    toggled = Some(clicked);
                }
            }
        });
        if let Some(id) = toggled {
            self.selected = Some(id);
            if tree.node(id).has_children() {
                self.toggle(id);
            }
        }
    }

    /// One row; returns the node if its name was clicked.
    fn row_ui(&self, ui: &mut egui::Ui, tree: &TopicTree, row: Row, now: SystemTime) -> Option<NodeId> {
        let node = tree.node(row.id);
        let mut clicked = None;
        ui.horizontal(|ui| {
            ui.add_space(f32::from(row.depth.saturating_sub(1).min(64)) * 14.0);
            if node.has_children() {
                let arrow = if self.expanded.contains(&row.id) { "▾" } else { "▸" };
                if ui
                    .add(egui::Button::new(RichText::new(arrow).monospace()).frame(false).small())
                    .on_hover_text("Expand or collapse")
                    .clicked()
                {
                    clicked = Some(row.id);
                }
            } else {
                ui.add_space(ui.spacing().icon_width);
            }
            let name = if node.name().is_empty() { "(empty)" } else { node.name() };
            let selected = self.selected == Some(row.id);
            if ui.selectable_label(selected, RichText::new(name).monospace()).clicked() {
                clicked = Some(row.id);
            }
            if let Some(latest) = node.latest() {
                ui.label(RichText::new(format!("= {}", payload::preview(&latest.payload, PREVIEW_CHARS))).monospace().weak());
                if node.is_retained() {
                    super::retained_badge(ui);
                }
                super::qos_badge(ui, latest.qos);
            }
            if node.has_children() {
                ui.weak(format!("{} t · {} m", format::count(node.topics_below().into()), format::count(node.msgs_below())));
            }
            let rate = node.rate_per_sec(now);
            if rate > 0.0 {
                ui.weak(format::rate(rate));
            }
        });
        clicked
    }
}
