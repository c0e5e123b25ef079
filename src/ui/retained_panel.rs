//! The Retained tab of the bottom dock: the embedded broker's retained store itself (not a retain
//! flag some client saw): topic, payload size, when it was stored and its age, the client that set
//! it, its QoS and the Message Expiry left; filtered by topic substring or MQTT filter, virtualised;
//! and deleting one value or every value shown, each returned to the app for confirmation.
//!
//! Owns: [`RetainedPanel`] (the filter). Rows come from the store's latest snapshot, taken by the
//! broker with the filter applied; the app asks for a new one while this tab is shown.

use std::sync::Arc;

use egui::{RichText, Role, WidgetInfo};

use crate::model::broker_view::{RetainedRow, Snapshot};
use crate::model::format;
use crate::ui::inside_table::{self, cell, header, row_height};
use crate::ui::qos_color;

/// Columns: name and width.
const COLUMNS: [(&str, f32); 7] =
    [("Topic", 320.0), ("Size", 80.0), ("Stored at (age)", 190.0), ("Set by", 160.0), ("QoS", 40.0), ("Expiry left", 100.0), ("", 70.0)];

/// Retained values the user asked to delete, with the question to confirm it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRetained {
    /// The question ("Delete the retained value of a/b?").
    pub text: String,
    /// The topics.
    pub topics: Vec<Arc<str>>,
}

/// The Retained tab.
#[derive(Debug, Default)]
pub struct RetainedPanel {
    /// Topic substring, or an MQTT filter when it holds `+` or `#`; applied by the broker.
    pub filter: String,
}

impl RetainedPanel {
    /// Draw the store from `snap` (none yet: a note); returns a deletion to confirm.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: Option<&Snapshot<RetainedRow>>) -> Option<DeleteRetained> {
        let mut out = None;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter retained");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(200.0).hint_text("topic text or MQTT filter (a/+/c, a/#)"))
                .labelled_by(label.id)
                .on_hover_text("Text: topics containing it (any case). With + or #: an MQTT filter, as a subscription would match.");
            let Some(snap) = snap else { return };
            inside_table::freshness(ui, snap, snap.rows.len(), "retained values");
            let shown = snap.rows.len();
            if ui
                .add_enabled(shown > 0, egui::Button::new("Delete all shown…"))
                .on_hover_text("Delete every retained value listed here from the store (asks first)")
                .clicked()
            {
                out = Some(self.delete_all(snap));
            }
        });
        let Some(snap) = snap else {
            ui.weak("Asking the embedded broker for its retained store…");
            return out;
        };
        egui::ScrollArea::horizontal().id_salt("retained-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("retained-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height(ui),
                snap.rows.len(),
                |ui, range| {
                    for r in &snap.rows[range] {
                        if row_ui(ui, r, snap) {
                            out = Some(DeleteRetained {
                                text: format!("Delete the retained value of {}?", r.topic),
                                topics: vec![Arc::clone(&r.topic)],
                            });
                        }
                    }
                },
            );
        });
        out
    }

    /// The question for "Delete all shown": how many, which filter, and what the bound left out.
    fn delete_all(&self, snap: &Snapshot<RetainedRow>) -> DeleteRetained {
        let n = format::count(snap.rows.len() as u64);
        let filter = self.filter.trim();
        let what = if filter.is_empty() { String::new() } else { format!(" matching {filter}") };
        let rest = match snap.cut() {
            0 => String::new(),
            cut => format!(" {} more match but are not listed; they stay.", format::count(cut as u64)),
        };
        let text = format!("Delete {n} retained values{what}?{rest}");
        DeleteRetained { text, topics: snap.rows.iter().map(|r| Arc::clone(&r.topic)).collect() }
    }
}

/// One row; true when its Delete was clicked.
fn row_ui(ui: &mut egui::Ui, r: &RetainedRow, snap: &Snapshot<RetainedRow>) -> bool {
    ui.horizontal(|ui| {
        cell(ui, COLUMNS[0].1, r.topic.to_string(), true);
        cell(ui, COLUMNS[1].1, format::bytes(r.size as u64), false);
        cell(ui, COLUMNS[2].1, format!("{} ({})", format::clock(r.stored_at), format::ago(r.stored_at, snap.taken_at)), false);
        cell(ui, COLUMNS[3].1, r.publisher.to_string(), true);
        let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[4].1, row_height(ui)), egui::Sense::hover());
        ui.put(rect, egui::Label::new(RichText::new(r.qos.badge()).monospace().color(qos_color(r.qos)))).on_hover_text(r.qos.describe());
        cell(ui, COLUMNS[5].1, r.expires_in_secs.map_or_else(|| "never".to_owned(), format::duration_secs), false);
        let button = ui.small_button("Delete").on_hover_text("Delete this retained value from the store (asks first)");
        let name = format!("Delete {}", r.topic);
        button.widget_info(|| WidgetInfo::labeled(Role::Button, true, &name));
        button.clicked()
    })
    .inner
}
