//! The selected topic: its latest value (text, JSON or hex), metadata with provenance, and history.
//!
//! Owns: the chosen payload view and how much of a large payload is shown. Payloads are never cut
//! silently: beyond the display limit the panel says how much it shows.

use std::time::SystemTime;

use egui::{RichText, ScrollArea};

use crate::model::payload::{self, PayloadKind};
use crate::model::{Message, NodeId, TopicTree, format};

/// Bytes of a payload laid out by default; the rest is behind "Show all".
const DISPLAY_LIMIT: usize = 64 * 1024;

/// How to show the payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadView {
    /// JSON pretty for JSON, text for UTF-8, hex for binary.
    #[default]
    Auto,
    /// UTF-8 text (lossy).
    Text,
    /// Hex dump.
    Hex,
}

/// The inspector's view state.
#[derive(Debug, Default)]
pub struct MessagePanel {
    view: PayloadView,
    show_all: bool,
}

impl MessagePanel {
    /// Draw the inspector for `selected` in `tree`.
    pub fn ui(&mut self, ui: &mut egui::Ui, tree: &TopicTree, selected: Option<NodeId>, now: SystemTime) {
        let Some(id) = selected else {
            ui.weak("Select a topic in the tree to see its value and history.");
            return;
        };
        let node = tree.node(id);
        let path = tree.path(id);
        ui.horizontal(|ui| {
            ui.heading(RichText::new(&path).monospace());
            if ui.small_button("Copy topic").clicked() {
                ui.ctx().copy_text(path.clone());
            }
        });
        let Some(latest) = node.latest() else {
            ui.weak(format!(
                "No message on this exact topic; {} topics and {} messages below.",
                format::count(node.topics_below().into()),
                format::count(node.msgs_below())
            ));
            return;
        };
        Self::meta_ui(ui, latest, now);
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.view, PayloadView::Auto, "Auto");
            ui.selectable_value(&mut self.view, PayloadView::Text, "Text");
            ui.selectable_value(&mut self.view, PayloadView::Hex, "Hex");
            if ui.small_button("Copy value").clicked() {
                ui.ctx().copy_text(String::from_utf8_lossy(&latest.payload).into_owned());
            }
        });
        self.payload_ui(ui, latest);
        ui.separator();
        ui.strong(format!("History ({} kept of {} received)", node.kept_count(), format::count(node.msg_count())));
        history_ui(ui, node.messages().collect::<Vec<_>>().as_slice());
    }

    fn meta_ui(ui: &mut egui::Ui, msg: &Message, now: SystemTime) {
        ui.horizontal_wrapped(|ui| {
            super::qos_badge(ui, msg.qos);
            if msg.retain {
                super::retained_badge(ui);
            }
            if msg.dup {
                super::badge(ui, "D", super::ALERT_COLOR, "DUP: a retransmission");
            }
            ui.label(format::bytes(msg.payload.len() as u64));
            ui.label(format::clock(msg.received_at)).on_hover_text(format::ago(msg.received_at, now));
            if let Some(meta) = &msg.meta {
                if let Some(publisher) = &meta.publisher {
                    let published = meta.published_qos.map_or(String::new(), |q| format!(" (published {})", q.badge()));
                    ui.label(format!("from client {publisher}{published}"));
                }
                if let Some(ct) = &meta.content_type {
                    ui.label(format!("content type {ct}"));
                }
            }
        });
        if let Some(meta) = &msg.meta {
            for (k, v) in &meta.user_properties {
                ui.label(RichText::new(format!("{k}: {v}")).monospace().small());
            }
        }
    }

    fn payload_ui(&mut self, ui: &mut egui::Ui, msg: &Message) {
        let bytes = &msg.payload[..];
        let kind = payload::detect(bytes);
        let hex = self.view == PayloadView::Hex || (self.view == PayloadView::Auto && kind == PayloadKind::Binary);
        // A hex dump is ~4.5 characters per byte: lay out less of it.
        let display_limit = if hex { DISPLAY_LIMIT / 4 } else { DISPLAY_LIMIT };
        let limit = if self.show_all { bytes.len() } else { display_limit.min(bytes.len()) };
        let shown = &bytes[..limit];
        let text = match (self.view, kind) {
            (PayloadView::Hex, _) | (PayloadView::Auto, PayloadKind::Binary) => payload::hex_dump(shown, 0, shown.len()),
            (PayloadView::Auto, PayloadKind::Json) if limit == bytes.len() => {
                payload::json_pretty(bytes).unwrap_or_else(|| String::from_utf8_lossy(shown).into_owned())
            }
            (PayloadView::Auto, PayloadKind::Empty) => "(empty payload)".to_owned(),
            _ => String::from_utf8_lossy(shown).into_owned(),
        };
        if limit < bytes.len() {
            ui.horizontal(|ui| {
                ui.colored_label(
                    super::RETAINED_COLOR,
                    format!("Showing the first {} of {}.", format::bytes(limit as u64), format::bytes(bytes.len() as u64)),
                );
                if ui.button("Show all").clicked() {
                    self.show_all = true;
                }
            });
        }
        ScrollArea::vertical().id_salt("payload").max_height(ui.available_height() * 0.5).show(ui, |ui| {
            // Read-only but selectable: a `&str` buffer cannot be edited.
            let mut view: &str = &text;
            ui.add(egui::TextEdit::multiline(&mut view).code_editor().desired_width(f32::INFINITY))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::MultilineTextInput, true, "Value"));
        });
    }
}

/// History rows, newest first; only visible rows are laid out.
fn history_ui(ui: &mut egui::Ui, msgs: &[&Message]) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
    ScrollArea::vertical().id_salt("history").auto_shrink(false).show_rows(ui, row_height, msgs.len(), |ui, range| {
        for msg in &msgs[range] {
            ui.horizontal(|ui| {
                ui.monospace(format::clock(msg.received_at));
                super::qos_badge(ui, msg.qos);
                if msg.retain {
                    super::retained_badge(ui);
                }
                ui.weak(format::bytes(msg.payload.len() as u64));
                ui.monospace(payload::preview(&msg.payload, 80));
            });
        }
    });
}
