//! The live topic tree: virtualised (only the rows on screen are laid out), with per-node value
//! preview, badges, counts and rate, an update flash, filter and sort, keyboard navigation and a
//! context menu.
//!
//! Owns: selection, the filter form, and the [`TreeRows`] cache. Actions that change data (delete
//! retained values, publish) are returned as [`TreeAction`]s for the app to confirm and send.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use egui::{Color32, Key, Modifiers, RichText, ScrollArea};

use super::tree_rows::{Row, SortOrder, TreeRows};
use crate::model::filter::FilterMode;
use crate::model::{ConnId, NodeId, TopicTree, format, payload};

/// Characters of value preview per row.
const PREVIEW_CHARS: usize = 60;
/// Row width (after the name) below which the byte rate is left out, then the counts.
const ROOM_FOR_BYTE_RATE: f32 = 340.0;
/// See [`ROOM_FOR_BYTE_RATE`].
const ROOM_FOR_COUNTS: f32 = 240.0;
/// How long an updated row glows.
const FLASH: Duration = Duration::from_millis(300);

/// Something the user asked for that the app carries out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeAction {
    /// Delete these retained values (after the app's confirmation).
    DeleteRetained {
        /// The retained topics.
        topics: Vec<Arc<str>>,
        /// The node they are under, for the confirmation text.
        under: String,
    },
    /// Fill the publish panel with this topic (and payload).
    PublishTo {
        /// Topic.
        topic: String,
        /// Latest payload as text, to edit and re-send.
        payload: String,
    },
    /// Export the messages kept at and below this topic path.
    Export {
        /// The node's path.
        under: String,
    },
    /// Decode payloads at and below a topic with this decoder (a binding of `filter`), or remove
    /// that binding (`None`).
    BindDecoder {
        /// The filter bound: `path/#`.
        filter: String,
        /// The decoder; `None` removes the binding.
        decoder: Option<crate::model::decode::Decoder>,
    },
    /// Open the Sparkplug command editor for the edge node (or device) of this topic.
    SparkplugCommand {
        /// Group id.
        group: String,
        /// Edge node id.
        node: String,
        /// Device id, for a DCMD.
        device: Option<String>,
    },
    /// Open the Decoders window to bind `filter` to a Protobuf message type.
    BindProtobuf {
        /// The filter to bind: `path/#`.
        filter: String,
    },
    /// Chart this topic's values (the whole payload, or a JSON field).
    Plot {
        /// Topic.
        topic: String,
        /// JSON field, if not the whole payload.
        path: Option<payload::JsonPath>,
    },
}

/// The tree panel's view state.
#[derive(Debug)]
#[expect(clippy::struct_excessive_bools, reason = "independent toggles of the filter form")]
pub struct TopicTreePanel {
    /// Selected node, if any.
    pub selected: Option<NodeId>,
    /// Rows, expansion, filter and sort.
    pub rows: TreeRows,
    /// Filter text as typed.
    pub filter_text: String,
    /// How the filter text is read.
    pub filter_mode: FilterMode,
    /// Also search latest payloads.
    pub filter_payload: bool,
    /// Only retained values.
    pub retained_only: bool,
    /// Why the filter text is not usable.
    filter_error: Option<String>,
    /// Flash rows when they update.
    pub flash: bool,
    /// Longest wait before the next frame while a flash fades, set by the app each frame
    /// (`app::frame_interval`): no extra frames while messages stream in.
    pub frame_interval: Duration,
    /// While the view is paused, rates are shown as of this time (the pause), set by the app.
    pub rates_at: Option<SystemTime>,
    /// Move the keyboard focus to the filter box next frame.
    focus_filter: bool,
    /// Scroll so that this row index is visible.
    scroll_to_row: Option<usize>,
    /// Rows laid out last frame, to know whether a keyboard move left the screen.
    shown_rows: std::ops::Range<usize>,
    /// Connection the panel shows.
    conn: Option<ConnId>,
    /// Selection and expansion of the other connections' trees, restored when their tab is shown again.
    parked: std::collections::HashMap<ConnId, (Option<NodeId>, TreeRows)>,
    /// Topics that no subscription of the embedded broker matches, sorted; set by the app each
    /// frame while the Subscriptions tab shows a fresh snapshot (else `None`: no badge, never a stale one).
    pub unheard: Option<Arc<Vec<Arc<str>>>>,
}

impl Default for TopicTreePanel {
    fn default() -> Self {
        Self {
            selected: None,
            rows: TreeRows::default(),
            filter_text: String::new(),
            filter_mode: FilterMode::default(),
            filter_payload: false,
            retained_only: false,
            filter_error: None,
            flash: true,
            frame_interval: super::DATA_FRAME_INTERVAL,
            rates_at: None,
            focus_filter: false,
            scroll_to_row: None,
            shown_rows: 0..0,
            conn: None,
            parked: std::collections::HashMap::new(),
            unheard: None,
        }
    }
}

impl TopicTreePanel {
    /// Expand every ancestor of `id`, select it and scroll to it.
    pub fn reveal(&mut self, tree: &TopicTree, id: NodeId) {
        self.rows.reveal(tree, id);
        self.selected = Some(id);
        self.scroll_to_row = None;
    }

    /// Show another connection's tree: park this one's selection and expansion, take that one's back
    /// (sort and filter apply to every tree).
    fn switch_to(&mut self, conn_id: ConnId) {
        let (selected, mut rows) = self.parked.remove(&conn_id).unwrap_or_default();
        rows.reset_view();
        rows.set_sort(self.rows.sort());
        let old_rows = std::mem::replace(&mut self.rows, rows);
        if let Some(old) = self.conn.replace(conn_id) {
            self.parked.insert(old, (self.selected, old_rows));
        }
        self.selected = selected;
        self.scroll_to_row = None;
        self.apply_filter();
    }

    fn apply_filter(&mut self) {
        self.filter_error =
            self.rows.set_filter(&self.filter_text, self.filter_mode, self.filter_payload, self.retained_only).err().map(|e| e.to_string());
    }

    /// The filter and sort bar (Ctrl+F focuses the filter, Esc clears it).
    pub fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        if ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::F)) {
            self.focus_filter = true;
        }
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter");
            let esc = ui.input(|i| i.key_pressed(Key::Escape));
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.filter_text)
                    .id_salt("tree-filter")
                    .hint_text(match self.filter_mode {
                        FilterMode::Substring => "text in topic (Ctrl+F)",
                        FilterMode::Wildcard => "home/+/temp or factory/#",
                        FilterMode::Regex => "^home/.*/temp$",
                    })
                    .desired_width(220.0)
                    .code_editor()
                    .text_color_opt(self.filter_error.is_some().then_some(super::ALERT_COLOR)),
            );
            let edit = edit.labelled_by(label.id);
            if std::mem::take(&mut self.focus_filter) {
                edit.request_focus();
            }
            // Esc makes egui drop the focus before this runs: the field has it, or just lost it.
            if esc && (edit.has_focus() || edit.lost_focus()) && !self.filter_text.is_empty() {
                self.filter_text.clear();
                changed = true;
            }
            changed |= edit.changed();
            let before = self.filter_mode;
            let as_label = ui.label("as");
            egui::ComboBox::from_id_salt("filter-mode")
                .width(110.0)
                .selected_text(self.filter_mode.label())
                .show_ui(ui, |ui| {
                    for mode in [FilterMode::Substring, FilterMode::Wildcard, FilterMode::Regex] {
                        ui.selectable_value(&mut self.filter_mode, mode, mode.label());
                    }
                })
                .response
                .labelled_by(as_label.id);
            changed |= before != self.filter_mode;
            changed |= ui
                .checkbox(&mut self.filter_payload, "also in values")
                .on_hover_text("Also search the latest value of each topic")
                .changed();
            changed |= ui.checkbox(&mut self.retained_only, "retained only").on_hover_text("Only topics with a retained value").changed();
            if changed {
                self.apply_filter();
            }
            // One slot of fixed width for the match count or the filter's error: nothing after it
            // moves while typing, and a long regex error is cut (in full on hover).
            let slot = egui::vec2(150.0, ui.spacing().interact_size.y);
            ui.allocate_ui_with_layout(slot, egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.set_min_size(slot);
                if let Some(err) = &self.filter_error {
                    ui.add(egui::Label::new(RichText::new(one_line(err)).color(super::ALERT_COLOR)).truncate()).on_hover_text(err);
                } else if let Some(n) = self.rows.matched() {
                    ui.weak(format!("{} matching", format::count(n as u64)));
                }
            });
            ui.separator();
            let mut sort = self.rows.sort();
            let sort_label = ui.label("sort by");
            egui::ComboBox::from_id_salt("tree-sort")
                .width(130.0)
                .selected_text(sort.label())
                .show_ui(ui, |ui| {
                    for order in SortOrder::ALL {
                        ui.selectable_value(&mut sort, order, order.label());
                    }
                })
                .response
                .labelled_by(sort_label.id);
            self.rows.set_sort(sort);
        });
    }

    /// Draw the tree of one connection. `empty_hint` is shown while it has no topics.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, tree: &TopicTree, now: SystemTime, empty_hint: &str) -> Option<TreeAction> {
        if self.conn != Some(conn_id) {
            self.switch_to(conn_id);
        }
        self.rows.update(conn_id, tree, now);
        let root = tree.node(NodeId::ROOT);
        ui.horizontal(|ui| {
            ui.strong("Topics");
            let summary = format!(
                "{} topics · {} messages · {} retained",
                format::count(root.topics_below().into()),
                format::count(root.msgs_below()),
                format::count(root.retained_below().into())
            );
            // Cut, not wider than the panel: a wide line here would widen every row below it.
            ui.add(egui::Label::new(RichText::new(&summary).weak()).truncate()).on_hover_text(summary);
        });
        ui.separator();
        if self.rows.rows().is_empty() {
            ui.add_space(12.0);
            let hint = if self.rows.is_filtering() { "No topic matches the filter." } else { empty_hint };
            ui.label(RichText::new(hint).weak());
            return None;
        }
        let mut action = self.keyboard(ui, tree);
        let action_ref = &mut action;
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
        let mut clicked = None;
        let mut right_clicked = None;
        let mut flashing = false;
        let mut area = ScrollArea::both().auto_shrink(false);
        if let Some(idx) = self.scroll_to_row.take()
            && (!self.shown_rows.contains(&idx) || idx + 1 >= self.shown_rows.end)
        {
            #[expect(clippy::cast_precision_loss, reason = "row index times row height is a pixel offset")]
            let offset = (idx as f32 * (row_height + ui.spacing().item_spacing.y) - ui.available_height() / 2.0).max(0.0);
            area = area.vertical_scroll_offset(offset);
        }
        let rows = self.rows.rows().to_vec();
        area.show_rows(ui, row_height, rows.len(), |ui, range| {
            self.shown_rows = range.clone();
            for row in &rows[range] {
                let (c, r, a, f) = self.row_ui(ui, tree, *row, now, row_height);
                clicked = c.or(clicked);
                right_clicked = r.or(right_clicked);
                if a.is_some() {
                    *action_ref = a;
                }
                flashing |= f;
            }
        });
        // The row a context menu was opened on is the one it acts on: select it.
        if let Some(id) = right_clicked {
            self.selected = Some(id);
        }
        if let Some(id) = clicked {
            self.selected = Some(id);
            if tree.node(id).has_children() {
                let open = self.rows.is_expanded(id);
                self.rows.set_expanded(id, !open);
            }
        }
        if flashing {
            ui.ctx().request_repaint_after(self.frame_interval);
        }
        action
    }

    /// Arrow keys move and fold, Ctrl+C copies the topic, Del deletes a retained value; only while no text field has focus.
    fn keyboard(&mut self, ui: &egui::Ui, tree: &TopicTree) -> Option<TreeAction> {
        if ui.ctx().text_edit_focused() || egui::Popup::is_any_open(ui.ctx()) {
            return None;
        }
        let rows = self.rows.rows();
        let pos = self.selected.and_then(|id| self.rows.position(id));
        let (up, down, left, right, del) = ui.input(|i| {
            (
                i.key_pressed(Key::ArrowUp),
                i.key_pressed(Key::ArrowDown),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Delete),
            )
        });
        let copy = ui.input(|i| i.events.iter().any(|e| matches!(e, egui::Event::Copy)));
        let target = match (pos, up, down) {
            (None, true, _) | (None, _, true) => Some(0),
            (Some(p), true, _) => Some(p.saturating_sub(1)),
            (Some(p), _, true) => Some((p + 1).min(rows.len().saturating_sub(1))),
            _ => None,
        };
        if let Some(t) = target
            && let Some(row) = rows.get(t)
        {
            self.selected = Some(row.id);
            self.scroll_to_row = Some(t);
        }
        let id = self.selected?;
        let node = tree.node(id);
        if left {
            if node.has_children() && self.rows.is_expanded(id) {
                self.rows.set_expanded(id, false);
            } else if node.parent() != NodeId::ROOT {
                self.selected = Some(node.parent());
            }
        }
        if right && node.has_children() {
            if self.rows.is_expanded(id) {
                // Its first child as shown (in the sort order in force): the next row.
                let next = self.rows.position(id).and_then(|p| self.rows.rows().get(p + 1)).filter(|r| r.depth > node.depth());
                self.selected = next.map(|r| r.id).or(Some(id));
            } else {
                self.rows.set_expanded(id, true);
            }
        }
        if copy {
            ui.ctx().copy_text(tree.path(id));
        }
        if del && node.retained_below() > 0 {
            return Some(TreeAction::DeleteRetained { topics: tree.retained_topics_below(id), under: tree.path(id) });
        }
        None
    }

    /// One row; returns (clicked node, right-clicked node, action, still flashing).
    fn row_ui(
        &self,
        ui: &mut egui::Ui,
        tree: &TopicTree,
        row: Row,
        now: SystemTime,
        row_height: f32,
    ) -> (Option<NodeId>, Option<NodeId>, Option<TreeAction>, bool) {
        let node = tree.node(row.id);
        let mut clicked = None;
        let mut right_clicked = None;
        let mut action = None;
        let age = node.updated_at().and_then(|t| now.duration_since(t).ok()).unwrap_or(Duration::MAX);
        let flashing = self.flash && age < FLASH;
        if flashing {
            let strength = 1.0 - age.as_secs_f32() / FLASH.as_secs_f32();
            let rect = egui::Rect::from_min_size(ui.cursor().min, egui::vec2(ui.available_width(), row_height));
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "strength is in 0..=1, so the alpha is in 0..=60")]
            let alpha = (strength.clamp(0.0, 1.0) * 60.0) as u8;
            ui.painter().rect_filled(rect, 2.0, Color32::from_rgba_unmultiplied(0x3d, 0x8b, 0xfd, alpha));
        }
        ui.horizontal(|ui| {
            ui.add_space(f32::from(row.depth.saturating_sub(1).min(64)) * 14.0);
            if node.has_children() {
                let arrow = if self.rows.is_expanded(row.id) { "▾" } else { "▸" };
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
            let response = ui.selectable_label(self.selected == Some(row.id), RichText::new(name).monospace());
            if response.clicked() {
                clicked = Some(row.id);
            }
            if response.secondary_clicked() {
                right_clicked = Some(row.id);
            }
            response.context_menu(|ui| action = context_menu(ui, tree, row.id));
            // Badges, counts and rate sit at the right edge and are laid out first; the value preview
            // takes what is left and is cut, so a long value never pushes the badges out of sight.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                // In a narrow tree the figures give way (bytes, then counts), never the badges.
                let room = ui.available_width();
                let rates_at = self.rates_at.unwrap_or(now);
                let rate = node.rate_per_sec(rates_at);
                if rate > 0.0 {
                    let bytes = format::byte_rate(node.bytes_per_sec(rates_at));
                    let text = if room > ROOM_FOR_BYTE_RATE { format!("{} · {bytes}", format::rate(rate)) } else { format::rate(rate) };
                    ui.weak(text)
                        .on_hover_text(format!("{} messages and {bytes} of payload per second, here and below", format::rate(rate)));
                }
                if node.has_children() && room > ROOM_FOR_COUNTS {
                    ui.weak(format!("{} t · {} m", format::count(node.topics_below().into()), format::count(node.msgs_below())));
                }
                if let Some(latest) = node.latest() {
                    if let (Some(unheard), Some(topic)) = (&self.unheard, node.topic())
                        && unheard.binary_search(topic).is_ok()
                    {
                        super::badge(
                            ui,
                            "no sub",
                            ui.visuals().weak_text_color(),
                            "No subscriber: no subscription of the embedded broker matches this topic now, so nobody receives \
                             what is published here (the explorer sees it from inside, it is not a subscriber)",
                        );
                    }
                    super::qos_badge(ui, latest.qos);
                    if node.is_retained() {
                        super::retained_badge(ui);
                    }
                    let preview = format!("= {}", payload::preview(&latest.payload, PREVIEW_CHARS));
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        ui.add(egui::Label::new(RichText::new(preview).monospace().weak()).truncate());
                    });
                }
            });
        });
        (clicked, right_clicked, action, flashing)
    }
}

/// A filter error in one line: the regex crate's multi-line report becomes its last line
/// ("invalid regular expression: unclosed group").
fn one_line(err: &str) -> String {
    match (err.split_once(':'), err.rsplit_once("error: ")) {
        (Some((what, _)), Some((_, why))) if err.contains('\n') => format!("{what}: {}", why.trim()),
        _ => err.lines().next().unwrap_or_default().to_owned(),
    }
}

/// The row's context menu.
fn context_menu(ui: &mut egui::Ui, tree: &TopicTree, id: NodeId) -> Option<TreeAction> {
    let node = tree.node(id);
    let path = tree.path(id);
    let mut action = None;
    if ui.button("Copy topic").clicked() {
        ui.ctx().copy_text(path.clone());
        ui.close();
    }
    if let Some(latest) = node.latest()
        && ui.button("Copy value").clicked()
    {
        ui.ctx().copy_text(String::from_utf8_lossy(&latest.payload).into_owned());
        ui.close();
    }
    if ui.button("Publish to this topic").clicked() {
        let payload = node.latest().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).unwrap_or_default();
        action = Some(TreeAction::PublishTo { topic: path.clone(), payload });
        ui.close();
    }
    if let Some((group, edge, device)) = crate::model::decode::sparkplug::hierarchy::node_of(&path)
        && ui
            .button("Send Sparkplug command…")
            .on_hover_text(format!("An {}CMD with a metric list to {edge}", if device.is_some() { "D" } else { "N" }))
            .clicked()
    {
        action = Some(TreeAction::SparkplugCommand { group: group.to_owned(), node: edge.to_owned(), device: device.map(str::to_owned) });
        ui.close();
    }
    if let Some(latest) = node.latest() {
        action = action.or_else(|| plot_menu(ui, &path, &latest.payload));
    }
    if ui.button("Export messages…").on_hover_text("Save what history holds here and below, as NDJSON or CSV").clicked() {
        action = Some(TreeAction::Export { under: path.clone() });
        ui.close();
    }
    ui.menu_button("Decode below here as …", |ui| {
        let filter = format!("{path}/#");
        for decoder in crate::model::decode::Decoder::ALL {
            if ui.button(decoder.label()).on_hover_text(format!("Show payloads of {filter} decoded as {}", decoder.label())).clicked() {
                action = Some(TreeAction::BindDecoder { filter: filter.clone(), decoder: Some(decoder) });
                ui.close();
            }
        }
        if ui.button("Protobuf…").on_hover_text(format!("Pick a .proto file and message type for {filter}")).clicked() {
            action = Some(TreeAction::BindProtobuf { filter: filter.clone() });
            ui.close();
        }
        ui.separator();
        if ui.button("No binding").on_hover_text(format!("Remove the binding of {filter}, if there is one")).clicked() {
            action = Some(TreeAction::BindDecoder { filter: filter.clone(), decoder: None });
            ui.close();
        }
    });
    let below = node.retained_below();
    if node.is_retained() || (node.has_children() && below > 0) {
        ui.separator();
    }
    if node.is_retained() && ui.button("Delete retained value").clicked() {
        if let Some(topic) = node.topic() {
            action = Some(TreeAction::DeleteRetained { topics: vec![Arc::clone(topic)], under: path.clone() });
        }
        ui.close();
    }
    if node.has_children()
        && below > 0
        && ui.button(format!("Delete {} retained values under {path}/…", format::count(below.into()))).clicked()
    {
        action = Some(TreeAction::DeleteRetained { topics: tree.retained_topics_below(id), under: path });
        ui.close();
    }
    action
}

/// Payloads larger than this offer no "Plot field" menu (it parses the JSON every frame it is open).
const PLOT_FIELDS_MAX_BYTES: usize = 64 * 1024;

/// "Plot" for a numeric payload, or a "Plot field" menu of a JSON payload's numeric fields.
fn plot_menu(ui: &mut egui::Ui, topic: &str, latest: &[u8]) -> Option<TreeAction> {
    let mut action = None;
    if payload::numeric_value(latest, None).is_some() {
        if ui.button("Plot").on_hover_text("Chart this topic's values over time").clicked() {
            action = Some(TreeAction::Plot { topic: topic.to_owned(), path: None });
            ui.close();
        }
        return action;
    }
    if latest.len() > PLOT_FIELDS_MAX_BYTES {
        return None;
    }
    let fields = payload::numeric_paths(latest, 30);
    if fields.is_empty() {
        return None;
    }
    ui.menu_button("Plot field", |ui| {
        for (path, value) in fields {
            if ui.button(RichText::new(format!("{path} = {}", format::value(value))).monospace()).clicked() {
                action = Some(TreeAction::Plot { topic: topic.to_owned(), path: Some(path) });
                ui.close();
            }
        }
    });
    action
}
