//! The Clients tab of the bottom dock: every session of the embedded broker, connected or offline,
//! with its figures; sort, filter, a virtualised list; and the actions on the selected client
//! (disconnect with a reason code, drop the connection, expire an offline session), each returned
//! to the app for confirmation.
//!
//! Owns: [`ClientsPanel`] (filter, sort, selection, the reason code picked). The rows come from the
//! latest snapshot in the store; the app asks for a new one while this tab is shown.

use std::sync::Arc;

use egui::RichText;

use crate::model::broker_view::{ClientAction, ClientRow, ClientSort, DISCONNECT_REASONS, Snapshot, client_order};
use crate::model::format;
use crate::ui::inside_table::{self, cell, header, row_height};

/// Columns: name and width.
const COLUMNS: [(&str, f32); 13] = [
    ("Client id", 170.0),
    ("State", 60.0),
    ("Address", 130.0),
    ("MQTT", 40.0),
    ("Keep-alive", 70.0),
    ("Session", 110.0),
    ("Will", 150.0),
    ("In flight out/in", 100.0),
    ("Queued", 110.0),
    ("Dropped", 60.0),
    ("In", 110.0),
    ("Out", 110.0),
    ("Connected / last activity", 170.0),
];

/// An action the user asked for, with the question to confirm it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmAction {
    /// The question ("Disconnect sensor-1 with 0x98 Administrative action? Its will is published.").
    pub text: String,
    /// The button that confirms.
    pub yes: &'static str,
    /// What to do.
    pub action: ClientAction,
}

/// The Clients tab.
#[derive(Debug)]
pub struct ClientsPanel {
    /// Shows only clients whose id or address contains this.
    pub filter: String,
    /// Sort column.
    pub sort: ClientSort,
    /// Descending.
    pub desc: bool,
    /// Selected client id.
    pub selected: Option<Arc<str>>,
    /// Reason code for Disconnect.
    pub reason: u8,
}

impl Default for ClientsPanel {
    fn default() -> Self {
        Self { filter: String::new(), sort: ClientSort::Id, desc: false, selected: None, reason: 0x98 }
    }
}

impl ClientsPanel {
    /// Draw the list from `snap` (none yet: a note); returns an action to confirm, and a switch of
    /// tracing to carry out at once.
    pub fn ui(&mut self, ui: &mut egui::Ui, snap: Option<&Snapshot<ClientRow>>) -> (Option<ConfirmAction>, Option<ClientAction>) {
        let Some(snap) = snap else {
            ui.weak("Asking the embedded broker for its clients…");
            return (None, None);
        };
        let mut trace = None;
        let order = client_order(&snap.rows, &self.filter, self.sort, self.desc);
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter clients");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(160.0).hint_text("client id or address"))
                .labelled_by(label.id);
            self.sort_ui(ui);
            inside_table::freshness(ui, snap, order.len(), "sessions");
        });
        let selected = self.selected.as_ref().and_then(|id| snap.rows.iter().find(|r| r.client_id == *id));
        ui.horizontal_wrapped(|ui| match selected {
            Some(row) => {
                let mut on = row.traced;
                if ui
                    .checkbox(&mut on, "Trace packets")
                    .on_hover_text("Record every packet of this client, both ways, in the Trace tab")
                    .changed()
                {
                    trace = Some(ClientAction::Trace { client_id: Some(row.client_id.to_string()), on });
                }
                action = self.actions_ui(ui, row);
            }
            None => {
                ui.weak("Select a client for its actions (trace, disconnect, drop, expire).");
            }
        });
        ui.separator();
        egui::ScrollArea::horizontal().id_salt("clients-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("clients-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height(ui),
                order.len(),
                |ui, range| {
                    for &i in &order[range] {
                        self.row_ui(ui, &snap.rows[i], snap);
                    }
                },
            );
        });
        (action, trace)
    }

    fn sort_ui(&mut self, ui: &mut egui::Ui) {
        let name = |s: ClientSort| match s {
            ClientSort::Id => "client id",
            ClientSort::Address => "address",
            ClientSort::Queued => "queued",
            ClientSort::Dropped => "dropped",
            ClientSort::MsgsIn => "messages in",
            ClientSort::MsgsOut => "messages out",
            ClientSort::LastActivity => "last activity",
        };
        let label = ui.label("Sort by");
        egui::ComboBox::from_id_salt("clients-sort")
            .selected_text(name(self.sort))
            .show_ui(ui, |ui| {
                for s in [
                    ClientSort::Id,
                    ClientSort::Address,
                    ClientSort::Queued,
                    ClientSort::Dropped,
                    ClientSort::MsgsIn,
                    ClientSort::MsgsOut,
                    ClientSort::LastActivity,
                ] {
                    ui.selectable_value(&mut self.sort, s, name(s));
                }
            })
            .response
            .labelled_by(label.id);
        ui.checkbox(&mut self.desc, "descending");
    }

    fn row_ui(&mut self, ui: &mut egui::Ui, r: &ClientRow, snap: &Snapshot<ClientRow>) {
        ui.horizontal(|ui| {
            let selected = self.selected.as_ref() == Some(&r.client_id);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[0].1, row_height(ui)), egui::Sense::hover());
            let id = ui.put(rect, egui::Button::selectable(selected, RichText::new(&*r.client_id).monospace()).truncate());
            if id.on_hover_text(format!("Select {}", r.client_id)).clicked() {
                self.selected = if selected { None } else { Some(Arc::clone(&r.client_id)) };
            }
            let state = if r.online { RichText::new("online") } else { RichText::new("offline").weak() };
            ui.add_sized([COLUMNS[1].1, row_height(ui)], egui::Label::new(state));
            cell(ui, COLUMNS[2].1, r.address.map_or_else(|| "–".to_owned(), |a| a.to_string()), true);
            cell(ui, COLUMNS[3].1, if r.protocol == 5 { "5.0" } else { "3.1.1" }, false);
            cell(ui, COLUMNS[4].1, if r.keep_alive_secs == 0 { "off".to_owned() } else { format!("{} s", r.keep_alive_secs) }, false);
            cell(ui, COLUMNS[5].1, session_text(r), false);
            let will = r.will.as_ref().map_or_else(
                || "–".to_owned(),
                |w| {
                    let mut t = format!("{} {}", w.topic, w.qos.badge());
                    if w.retain {
                        t.push_str(" R");
                    }
                    if w.delay_secs > 0 {
                        t.push_str(" +");
                        t.push_str(&format::duration_secs(u64::from(w.delay_secs)));
                    }
                    t
                },
            );
            cell(ui, COLUMNS[6].1, will, true);
            cell(ui, COLUMNS[7].1, format!("{} / {}", r.inflight_out, r.inflight_in), false);
            cell(ui, COLUMNS[8].1, format!("{} · {}", format::count(r.queued_msgs as u64), format::bytes(r.queued_bytes as u64)), false);
            cell(ui, COLUMNS[9].1, format::count(r.dropped), false);
            cell(ui, COLUMNS[10].1, format!("{} · {}", format::count(r.msgs_in), format::bytes(r.bytes_in)), false);
            cell(ui, COLUMNS[11].1, format!("{} · {}", format::count(r.msgs_out), format::bytes(r.bytes_out)), false);
            let times =
                format!("{} / {}", inside_table::ago(r.connected_at, snap.taken_at), inside_table::ago(r.last_activity, snap.taken_at));
            cell(ui, COLUMNS[12].1, times, false);
        });
    }

    /// The actions on the selected client; returns one to confirm.
    fn actions_ui(&mut self, ui: &mut egui::Ui, r: &ClientRow) -> Option<ConfirmAction> {
        let id = r.client_id.to_string();
        ui.label(RichText::new(&id).monospace().strong());
        let mut out = None;
        if r.online {
            let label = ui.label("Reason");
            let reason_name = |code: u8| DISCONNECT_REASONS.iter().find(|(c, _)| *c == code).map_or("?", |(_, n)| *n);
            egui::ComboBox::from_id_salt("disconnect-reason")
                .selected_text(reason_name(self.reason))
                .width(230.0)
                .show_ui(ui, |ui| {
                    for (code, name) in DISCONNECT_REASONS {
                        ui.selectable_value(&mut self.reason, code, name);
                    }
                })
                .response
                .labelled_by(label.id);
            let will = if self.reason == 0 { "Its will is discarded." } else { "Its will is published." };
            let how = if r.protocol == 5 { "" } else { " (a 3.1.1 client just sees the connection close)" };
            if ui.button("Disconnect…").on_hover_text("End the connection with DISCONNECT and this reason code").clicked() {
                out = Some(ConfirmAction {
                    text: format!("Disconnect {id} with {}{how}? {will}", reason_name(self.reason)),
                    yes: "Disconnect",
                    action: ClientAction::Disconnect { client_id: id.clone(), code: self.reason },
                });
            }
            if ui.button("Drop connection…").on_hover_text("Close the socket without DISCONNECT, as a network failure would").clicked() {
                let will = if r.will.is_some() { "Its will is published." } else { "It has no will." };
                out = Some(ConfirmAction {
                    text: format!("Drop the connection of {id} without DISCONNECT? {will}"),
                    yes: "Drop",
                    action: ClientAction::Drop { client_id: id },
                });
            }
        } else if ui.button("Expire session…").on_hover_text("End this offline session now, as if its expiry had run out").clicked() {
            out = Some(ConfirmAction {
                text: format!(
                    "Expire the session of {id}? Its {} subscriptions and {} queued messages go.",
                    r.subscriptions,
                    format::count(r.queued_msgs as u64)
                ),
                yes: "Expire",
                action: ClientAction::Expire { client_id: id },
            });
        }
        out
    }
}

/// "clean start · ends with it", "persistent · never expires", "… · expiry 5 min", or the time left offline.
fn session_text(r: &ClientRow) -> String {
    let start = if r.clean_start { "clean start" } else { "persistent" };
    let expiry = match (r.online, r.session_expiry_secs, r.expires_in_secs) {
        (_, 0, _) => "ends with it".to_owned(),
        (_, u32::MAX, _) => "never expires".to_owned(),
        (false, _, Some(left)) => format!("{} left", format::duration_secs(left)),
        (_, secs, _) => format!("expiry {}", format::duration_secs(u64::from(secs))),
    };
    format!("{start} · {expiry}")
}
