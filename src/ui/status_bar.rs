//! The bottom line: embedded broker address, clients, message rates, history memory, thinned history.

use egui::RichText;

use crate::model::{Store, format};

/// Draw the status bar for `store`.
pub fn ui(ui: &mut egui::Ui, store: &Store) {
    ui.horizontal_wrapped(|ui| {
        let b = &store.broker;
        if let (true, Some(addr)) = (b.running, b.local_addr) {
            ui.label(RichText::new("●").monospace().color(egui::Color32::from_rgb(0x3c, 0xb3, 0x71)))
                .on_hover_text("Embedded broker running");
            ui.label(format!("Local {addr}"));
        } else {
            ui.label(RichText::new("●").monospace().color(super::ALERT_COLOR)).on_hover_text("Embedded broker not running");
            ui.label("Local broker stopped");
        }
        if let Some(note) = &b.note {
            ui.colored_label(super::RETAINED_COLOR, note);
        }
        ui.separator();
        let s = &b.stats;
        ui.label(format!("{} client{}", s.clients_connected, if s.clients_connected == 1 { "" } else { "s" }));
        ui.separator();
        ui.label(format!("{} msg/s in", format::rate(s.msgs_in_per_sec).trim_end_matches("/s")));
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
