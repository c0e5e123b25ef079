//! The Trace tab of the bottom dock: the packets the embedded broker read from and wrote to the
//! clients being traced, both ways, live: time, direction, client, type, packet id, QoS, flags,
//! reason code, size, topic; pause, filter by client/type/topic, clear; the selected packet
//! decoded below the table, properties included (passwords never: the broker leaves them out).
//!
//! Owns: [`TracePanel`] (filter, pause, selection). Tracing is off until switched on here (for one
//! client or all) or in the Clients tab; the rows come from the store's bounded copy
//! ([`crate::model::packet_trace`]), which the app tops up while this tab is shown and not paused.

use std::sync::Arc;

use egui::RichText;

use crate::model::broker_view::{ClientAction, ClientRow, Snapshot};
use crate::model::format;
use crate::model::packet_trace::{PACKET_KINDS, PacketTrace, TRACE_CAPACITY, TraceFilter, TracedPacket, trace_order};
use crate::ui::inside_table::{cell, header, row_height};
use crate::ui::qos_color;

/// Columns: name and width.
const COLUMNS: [(&str, f32); 10] = [
    ("Time", 115.0),
    ("Dir", 45.0),
    ("Client", 140.0),
    ("Type", 95.0),
    ("Topic", 200.0),
    ("Id", 50.0),
    ("QoS", 35.0),
    ("Flags", 90.0),
    ("Reason", 55.0),
    ("Size", 60.0),
];

/// The Trace tab.
#[derive(Debug, Default)]
pub struct TracePanel {
    /// What the table shows (the client picked is also the one the switch acts on).
    pub filter: TraceFilter,
    /// New packets are not fetched while paused (the broker's ring keeps the last ones meanwhile).
    pub paused: bool,
    /// Sequence number of the selected packet.
    pub selected: Option<u64>,
}

impl TracePanel {
    /// Draw the trace; `clients` (the latest sessions snapshot) feeds the client picker. Returns a
    /// switch of tracing to carry out, and whether Clear was clicked.
    pub fn ui(&mut self, ui: &mut egui::Ui, trace: &PacketTrace, clients: Option<&Snapshot<ClientRow>>) -> (Option<ClientAction>, bool) {
        let mut action = None;
        let mut clear = false;
        ui.horizontal_wrapped(|ui| {
            self.client_picker(ui, clients);
            let who = self.filter.client.as_deref();
            let mut on = who.map_or(trace.targets.all, |id| trace.targets.covers(id));
            let label = who.map_or_else(|| "Trace all clients".to_owned(), |id| format!("Trace {id}"));
            if ui
                .checkbox(&mut on, label)
                .on_hover_text("Record every packet this client (or every client) sends and receives. Off by default; a client not traced costs the broker nothing more.")
                .changed()
            {
                action = Some(ClientAction::Trace { client_id: who.map(ToString::to_string), on });
            }
            ui.separator();
            ui.checkbox(&mut self.paused, "Pause").on_hover_text("Stop fetching new packets (the broker keeps the last 5,000)");
            if ui.button("Clear").on_hover_text("Forget the packets shown").clicked() {
                clear = true;
                self.selected = None;
            }
        });
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Type");
            egui::ComboBox::from_id_salt("trace-kind")
                .selected_text(self.filter.kind.unwrap_or("any"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.kind, None, "any");
                    for kind in PACKET_KINDS {
                        ui.selectable_value(&mut self.filter.kind, Some(kind), kind);
                    }
                })
                .response
                .labelled_by(label.id);
            let label = ui.label("Topic contains");
            ui.add(egui::TextEdit::singleline(&mut self.filter.topic).desired_width(160.0).hint_text("text")).labelled_by(label.id);
            bound_line(ui, trace);
        });
        ui.separator();
        let order = trace_order(&trace.rows, &self.filter);
        if trace.targets.is_empty() && trace.rows.is_empty() {
            ui.weak("No client is traced. Tick \"Trace …\" above (or \"Trace packets\" in the Clients tab) and its packets appear here.");
        }
        // The selected packet, decoded, beside the table (so the table keeps its height).
        if let Some(seq) = self.selected
            && let Some(p) = trace.rows.iter().find(|p| p.seq == seq)
        {
            egui::Panel::right("trace-detail").resizable(true).default_size(380.0).show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("trace-detail").show(ui, |ui| {
                    ui.label(RichText::new(format!("{} {} {} #{}", p.kind, p.direction.arrow(), p.client_id, p.seq)).strong());
                    ui.label(RichText::new(&p.detail).monospace());
                });
            });
        }
        egui::ScrollArea::horizontal().id_salt("trace-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("trace-v").auto_shrink([false, false]).stick_to_bottom(true).show_rows(
                ui,
                row_height(ui),
                order.len(),
                |ui, range| {
                    for &i in &order[range] {
                        self.row_ui(ui, &trace.rows[i]);
                    }
                },
            );
        });
        (action, clear)
    }

    fn client_picker(&mut self, ui: &mut egui::Ui, clients: Option<&Snapshot<ClientRow>>) {
        let label = ui.label("Client");
        let shown = self.filter.client.as_deref().unwrap_or("all clients").to_owned();
        egui::ComboBox::from_id_salt("trace-client")
            .selected_text(shown)
            .width(180.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.filter.client, None, "all clients");
                for row in clients.map_or(&[][..], |s| &s.rows[..]) {
                    ui.selectable_value(&mut self.filter.client, Some(Arc::clone(&row.client_id)), &*row.client_id);
                }
            })
            .response
            .labelled_by(label.id);
    }

    fn row_ui(&mut self, ui: &mut egui::Ui, p: &TracedPacket) {
        ui.horizontal(|ui| {
            let selected = self.selected == Some(p.seq);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[0].1, row_height(ui)), egui::Sense::hover());
            let time = ui.put(rect, egui::Button::selectable(selected, RichText::new(format::clock(p.at)).monospace()).truncate());
            if time.on_hover_text(format!("Show packet #{} decoded", p.seq)).clicked() {
                self.selected = if selected { None } else { Some(p.seq) };
            }
            cell(ui, COLUMNS[1].1, p.direction.arrow(), false);
            cell(ui, COLUMNS[2].1, &*p.client_id, true);
            cell(ui, COLUMNS[3].1, p.kind, false);
            cell(ui, COLUMNS[4].1, p.topic.as_deref().unwrap_or(""), true);
            cell(ui, COLUMNS[5].1, p.pkid.map_or_else(String::new, |id| id.to_string()), false);
            match p.qos {
                Some(q) => {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[6].1, row_height(ui)), egui::Sense::hover());
                    ui.put(rect, egui::Label::new(RichText::new(q.badge()).color(qos_color(q)))).on_hover_text(q.describe());
                }
                None => {
                    cell(ui, COLUMNS[6].1, "", false);
                }
            }
            cell(ui, COLUMNS[7].1, &p.flags, false);
            let reason = p.reason.map_or_else(String::new, |c| format!("0x{c:02X}"));
            let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[8].1, row_height(ui)), egui::Sense::hover());
            let text = if p.reason.is_some_and(|c| c >= 0x80) {
                RichText::new(reason).color(ui.visuals().error_fg_color)
            } else {
                RichText::new(reason)
            };
            ui.put(rect, egui::Label::new(text));
            cell(ui, COLUMNS[9].1, format::bytes(p.size as u64), false);
        });
    }
}

/// "1,204 of 5,000 kept · 12 lost · tracing: all clients".
fn bound_line(ui: &mut egui::Ui, trace: &PacketTrace) {
    let whom = if trace.targets.all {
        "all clients".to_owned()
    } else if trace.targets.clients.is_empty() {
        "nobody".to_owned()
    } else {
        trace.targets.clients.iter().map(|c| &**c).collect::<Vec<_>>().join(", ")
    };
    let mut text =
        format!("{} of {} packets kept · tracing: {whom}", format::count(trace.rows.len() as u64), format::count(TRACE_CAPACITY as u64));
    if trace.lost > 0 {
        text.push_str(" · ");
        text.push_str(&format::count(trace.lost));
        text.push_str(" older ones dropped by the bound");
    }
    ui.weak(text);
}
