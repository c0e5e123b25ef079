//! Small helpers shared by the dock's broker tabs (Clients, Subscriptions, Retained): fixed-width
//! cells so that columns line up in a virtualised list (`ScrollArea::show_rows` draws only the
//! rows in view), a header row, the line that says how fresh and how complete a snapshot is, and
//! the note shown for a connection that is not the embedded broker.

use std::time::SystemTime;

use egui::{RichText, Sense};

use crate::model::broker_view::Snapshot;
use crate::model::format;

/// Height of one row.
#[must_use]
pub fn row_height(ui: &egui::Ui) -> f32 {
    ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y
}

/// One cell of `width` points: the text, clipped, monospace if asked, with the whole text on hover.
pub fn cell(ui: &mut egui::Ui, width: f32, text: impl Into<String>, mono: bool) -> egui::Response {
    let text = text.into();
    let rich = if mono { RichText::new(&text).monospace() } else { RichText::new(&text) };
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, row_height(ui)), Sense::hover());
    let response = ui.put(rect, egui::Label::new(rich).truncate());
    response.on_hover_text(text)
}

/// The header of a table: names at the widths its cells use.
pub fn header(ui: &mut egui::Ui, columns: &[(&str, f32)]) {
    ui.horizontal(|ui| {
        for (name, width) in columns {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(*width, row_height(ui)), Sense::hover());
            ui.put(rect, egui::Label::new(RichText::new(*name).strong()).truncate());
        }
    });
}

/// "12 shown of 40 · as of 12:00:01.234", and the bound when the snapshot was cut.
pub fn freshness<T>(ui: &mut egui::Ui, snap: &Snapshot<T>, shown: usize, what: &str) {
    let mut text =
        format!("{} of {} {what} · as of {}", format::count(shown as u64), format::count(snap.total as u64), format::clock(snap.taken_at));
    if snap.cut() > 0 {
        let (listed, left) = (format::count(snap.rows.len() as u64), format::count(snap.cut() as u64));
        text.push_str(" · first ");
        text.push_str(&listed);
        text.push_str(" listed (");
        text.push_str(&left);
        text.push_str(" left out: narrow the filter)");
    }
    ui.weak(text);
}

/// Why a broker tab is empty for a connection other than the embedded broker.
pub fn external_note(ui: &mut egui::Ui, view: &str, conn_name: &str) {
    ui.label(format!(
        "The {view} view shows the embedded broker (Local) from inside. {conn_name} is another broker: MQTT gives its \
         clients no way to list its sessions, subscriptions or store, so only Local has this view."
    ));
}

/// "2 s ago" for a time in a snapshot, relative to when the snapshot was taken.
#[must_use]
pub fn ago(t: Option<SystemTime>, taken_at: SystemTime) -> String {
    t.map_or_else(|| "–".to_owned(), |t| format::ago(t, taken_at))
}
