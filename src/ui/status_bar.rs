//! The bottom line: embedded broker address, clients, message rates, history memory, thinned history.

use egui::RichText;

use crate::model::{ConnId, ConnStatus, Store, format};

/// The connection shown in the window (`current`), by name; then the embedded broker, named as such.
fn connection_ui(ui: &mut egui::Ui, store: &Store, current: ConnId) {
    let Some(conn) = store.conn(current).filter(|c| c.id != ConnId::LOCAL) else { return };
    let (color, state) = match &conn.status {
        ConnStatus::Connected => (CONNECTED_COLOR, "connected".to_owned()),
        ConnStatus::Connecting | ConnStatus::Idle => (super::RETAINED_COLOR, "connecting".to_owned()),
        ConnStatus::Reconnecting { in_secs, .. } => (super::RETAINED_COLOR, format!("reconnecting in {in_secs} s")),
        ConnStatus::Disconnected { .. } => (super::ALERT_COLOR, "disconnected".to_owned()),
    };
    ui.label(RichText::new("●").monospace().color(color)).on_hover_text(format!("{}: {state}", conn.name));
    ui.label(format!("{} {} · {state}", conn.name, conn.address));
    let root = conn.tree.node(crate::model::NodeId::ROOT);
    ui.label(format!("· {} topics · {} messages", format::count(root.topics_below().into()), format::count(root.msgs_below())));
    ui.separator();
}

/// Green, for a running broker or an open connection.
const CONNECTED_COLOR: egui::Color32 = egui::Color32::from_rgb(0x3c, 0xb3, 0x71);

/// Draw the status bar for `store`, led by the connection shown (`current`).
pub fn ui(ui: &mut egui::Ui, store: &Store, current: ConnId) {
    ui.horizontal_wrapped(|ui| {
        connection_ui(ui, store, current);
        let b = &store.broker;
        let local = if current == ConnId::LOCAL { "Local" } else { "Local (embedded broker)" };
        if let (true, Some(addr)) = (b.running, b.local_addr) {
            ui.label(RichText::new("●").monospace().color(CONNECTED_COLOR)).on_hover_text("Embedded broker running");
            ui.label(format!("{local} {addr}"));
        } else {
            ui.label(RichText::new("●").monospace().color(super::ALERT_COLOR)).on_hover_text("Embedded broker not running");
            ui.label(format!("{local}: stopped"));
        }
        if let Some(note) = &b.note {
            ui.colored_label(super::RETAINED_COLOR, note);
        }
        ui.separator();
        let s = &b.stats;
        ui.label(format!("Local: {} client{}", s.clients_connected, if s.clients_connected == 1 { "" } else { "s" }));
        ui.separator();
        ui.label(format!("Local: {} msg/s in", format::rate(s.msgs_in_per_sec).trim_end_matches("/s")));
        ui.separator();
        let limit: usize = store.conns.iter().map(|c| c.tree.limits().budget_bytes).max().unwrap_or(0);
        ui.label(format!("history {} / {}", format::bytes(store.used_bytes() as u64), format::bytes(limit as u64)))
            .on_hover_text(format!("{} messages evicted to stay within the budget", format::count(store.evicted())));
        ui.separator();
        let thinned = store.thinned();
        let text = format!("thinned {}", format::count(thinned));
        let hover = "Messages counted in the tree but not kept as history: the window fell behind (or was paused) \
                     and kept each topic's latest message and count. No topic and no latest value is ever lost.";
        if thinned > 0 {
            ui.colored_label(super::RETAINED_COLOR, text).on_hover_text(hover);
        } else {
            ui.label(text).on_hover_text(hover);
        }
    });
}
