//! The Availability tab of the bottom dock: every session with a will, online or offline, its
//! will's fate, and the retained value on the will topic now next to the will's payload, so that
//! "why does Home Assistant say unavailable" has its answer on one line; and "publish the will
//! now", returned to the app for confirmation.
//!
//! Owns: [`AvailabilityPanel`] (the filter). Rows come from the store's latest snapshot, taken by
//! the broker while this tab is shown.

use egui::RichText;

use crate::model::availability::{AvailabilityRow, Verdict, WillState};
use crate::model::broker_view::{ClientAction, Snapshot};
use crate::model::format;
use crate::ui::clients_panel::ConfirmAction;
use crate::ui::inside_table::{self, cell, header, row_height};

/// Columns: name and width.
const COLUMNS: [(&str, f32); 9] = [
    ("Client id", 160.0),
    ("State", 60.0),
    ("Will", 150.0),
    ("Status topic", 220.0),
    ("Will payload", 130.0),
    ("Retained now", 130.0),
    ("Set by", 120.0),
    ("Says", 170.0),
    ("", 140.0),
];

/// The Availability tab.
#[derive(Debug, Default)]
pub struct AvailabilityPanel {
    /// Shows only rows whose client id or topic contains this (case-insensitive).
    pub filter: String,
}

impl AvailabilityPanel {
    /// Draw the board from `snap`; returns "publish the will now" to confirm.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: Option<&Snapshot<AvailabilityRow>>) -> Option<ConfirmAction> {
        let Some(snap) = snap else {
            ui.weak("Asking the embedded broker for its clients' wills…");
            return None;
        };
        let needle = self.filter.trim().to_lowercase();
        let shown: Vec<&AvailabilityRow> = snap
            .rows
            .iter()
            .filter(|r| needle.is_empty() || r.client_id.to_lowercase().contains(&needle) || r.topic.to_lowercase().contains(&needle))
            .collect();
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter wills");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(160.0).hint_text("client id or topic")).labelled_by(label.id);
            inside_table::freshness(ui, snap, shown.len(), "clients with a will");
        });
        if snap.rows.is_empty() {
            ui.weak("No client registered a will. Devices announce their availability with a retained will (e.g. zigbee2mqtt/bridge/state = offline).");
        }
        ui.separator();
        let mut out = None;
        egui::ScrollArea::horizontal().id_salt("availability-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("availability-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height(ui),
                shown.len(),
                |ui, range| {
                    for r in &shown[range] {
                        if let Some(action) = row_ui(ui, r) {
                            out = Some(action);
                        }
                    }
                },
            );
        });
        out
    }
}

/// One row; returns "publish the will now" if its button was clicked.
fn row_ui(ui: &mut egui::Ui, r: &AvailabilityRow) -> Option<ConfirmAction> {
    let mut out = None;
    ui.horizontal(|ui| {
        cell(ui, COLUMNS[0].1, &*r.client_id, true);
        let state = if r.online { RichText::new("online") } else { RichText::new("offline").weak() };
        ui.add_sized([COLUMNS[1].1, row_height(ui)], egui::Label::new(state));
        let fate = match r.will_state {
            WillState::Armed => "armed".to_owned(),
            WillState::Pending(secs) => format!("due in {}", format::duration_secs(secs)),
            WillState::Published => "published".to_owned(),
            WillState::Discarded => "not published".to_owned(),
        };
        let retain = if r.will_retain { " R" } else { " (not retained)" };
        cell(ui, COLUMNS[2].1, format!("{fate} · {}{retain}", r.will_qos.badge()), false);
        cell(ui, COLUMNS[3].1, &r.topic, true);
        cell(ui, COLUMNS[4].1, &r.will_payload, true);
        cell(ui, COLUMNS[5].1, r.retained_payload.as_deref().unwrap_or("–"), true);
        cell(ui, COLUMNS[6].1, r.retained_by.as_deref().unwrap_or("–"), true);
        let says = RichText::new(r.verdict.describe());
        let says = match (r.verdict, r.online) {
            // Online but the store says it is gone (or the reverse): what users trip over.
            (Verdict::ShowsWill, true) | (Verdict::ShowsOther, false) => says.color(ui.visuals().warn_fg_color),
            _ => says,
        };
        let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[7].1, row_height(ui)), egui::Sense::hover());
        ui.put(rect, egui::Label::new(says).truncate());
        let can = matches!(r.will_state, WillState::Armed | WillState::Pending(_));
        if ui
            .add_enabled(can, egui::Button::new("Publish will now…").small())
            .on_hover_text(format!("Publish the will of {} on {} now, as the broker would when its connection ends", r.client_id, r.topic))
            .clicked()
        {
            let note = if r.online { " The client stays connected and its will stays armed." } else { "" };
            out = Some(ConfirmAction {
                text: format!("Publish the will of {} ({:?} on {}) now?{note}", r.client_id, r.will_payload, r.topic),
                yes: "Publish will",
                action: ClientAction::PublishWill { client_id: r.client_id.to_string() },
            });
        }
    });
    out
}
