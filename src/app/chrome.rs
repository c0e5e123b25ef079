//! The window's chrome around the panels: the connection tabs, the Tools menu, the connection
//! manager window and the confirmation dialog for destructive actions. Methods of [`ExplorerApp`], kept apart so that
//! `app.rs` stays about the frame's flow.

use egui::RichText;

use super::ExplorerApp;
use crate::model::{ConnId, ConnStatus};
use crate::protocol::Command;
use crate::ui::connection_panel::ConnAction;

impl ExplorerApp {
    /// One tab per connection (the embedded broker first), with its state; and the manager button.
    pub(super) fn tabs_ui(&mut self, ui: &mut egui::Ui) {
        let mut close = None;
        let (mut stop, mut ended) = (None, Vec::new());
        ui.horizontal_wrapped(|ui| {
            for conn in &self.store.conns {
                let (color, state) = match &conn.status {
                    ConnStatus::Connected => (egui::Color32::from_rgb(0x3c, 0xb3, 0x71), "connected".to_owned()),
                    ConnStatus::Connecting | ConnStatus::Idle => (crate::ui::RETAINED_COLOR, "connecting…".to_owned()),
                    ConnStatus::Reconnecting { in_secs, error } => {
                        (crate::ui::RETAINED_COLOR, format!("reconnecting in {in_secs} s: {error}"))
                    }
                    ConnStatus::Disconnected { error: Some(e) } => (crate::ui::ALERT_COLOR, format!("disconnected: {e}")),
                    ConnStatus::Disconnected { error: None } => (egui::Color32::GRAY, "disconnected".to_owned()),
                };
                let mut hover = format!("{} — {state}", conn.address);
                for (filter, reason) in &conn.sub_failures {
                    hover.push_str("\nsubscription ");
                    hover.push_str(filter);
                    hover.push_str(" refused: ");
                    hover.push_str(reason);
                }
                ui.label(RichText::new("●").monospace().color(color));
                let text = if conn.sub_failures.is_empty() {
                    conn.name.clone()
                } else {
                    format!("{} ({} refused)", conn.name, conn.sub_failures.len())
                };
                if ui.selectable_label(self.current == conn.id, text).on_hover_text(hover).clicked() {
                    self.current = conn.id;
                }
                if let ConnStatus::Reconnecting { in_secs, .. } = &conn.status {
                    ui.weak(format!("reconnecting in {in_secs} s"));
                }
                if let Some(rec) = self.recordings.get(&conn.id) {
                    match super::capture::badge_ui(ui, rec) {
                        super::capture::Badge::Running => {}
                        super::capture::Badge::Stop => stop = Some(conn.id),
                        super::capture::Badge::Ended(text) => ended.push((conn.id, text)),
                    }
                }
                if conn.id != ConnId::LOCAL {
                    let name = format!("Close {}", conn.name);
                    let r = ui.small_button("x").on_hover_text(&name);
                    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                    if r.clicked() {
                        close = Some(conn.id);
                    }
                }
                ui.separator();
            }
            self.tools_menu(ui);
            let running = self.timers.running_count();
            if running > 0
                && ui
                    .link(format!("{running} timer{} running", if running == 1 { "" } else { "s" }))
                    .on_hover_text("Show the running timers")
                    .clicked()
            {
                self.timers.open = true;
            }
            if ui.button("Connections…").on_hover_text("Saved connections: add, edit, connect").clicked() {
                self.connections.open = !self.connections.open;
                if self.connections.profiles.is_empty() && self.connections.editing.host.is_empty() {
                    self.connections.new_profile(crate::ui::clock_seed());
                }
            }
        });
        if let Some(id) = stop {
            self.stop_recording(id);
        }
        for (id, text) in ended {
            self.recordings.remove(&id);
            self.toast = Some((text, std::time::Instant::now()));
        }
        if let Some(id) = close {
            // Closing the tab ends its recording with it (the runtime stops the writer).
            self.recordings.remove(&id);
            self.send(Command::Disconnect { conn_id: id });
            self.store.close_conn(id);
            if self.current == id {
                self.current = ConnId::LOCAL;
            }
        }
    }

    /// The connection manager window and what it asks for.
    pub(super) fn connections_ui(&mut self, ctx: &egui::Context) {
        let open: Vec<(String, ConnStatus)> =
            self.store.conns.iter().filter(|c| c.id != ConnId::LOCAL).map(|c| (c.name.clone(), c.status.clone())).collect();
        let Some(action) = self.connections.ui(ctx, crate::ui::clock_seed(), &open) else { return };
        match action {
            ConnAction::Save { file, check } => self.send(Command::SaveProfiles { file, check: Some(check) }),
            ConnAction::Connect(profile) => self.connect(*profile),
            ConnAction::Show(name) => {
                if let Some(conn) = self.store.conns.iter().find(|c| c.id != ConnId::LOCAL && c.name == name) {
                    self.current = conn.id;
                }
            }
            ConnAction::PickFile(field) => self.send(Command::PickFile { field }),
            ConnAction::Export(file) => self.send(Command::ExportProfiles(file)),
            ConnAction::Import => self.send(Command::ImportProfiles),
        }
    }

    /// The Tools menu: record, open a capture, export, simulate, timers.
    fn tools_menu(&mut self, ui: &mut egui::Ui) {
        ui.menu_button("Tools", |ui| {
            let name = self.store.conn(self.current).map(|c| c.name.clone()).unwrap_or_default();
            if self.recordings.contains_key(&self.current) {
                if ui.button(format!("Stop recording {name}")).clicked() {
                    self.stop_recording(self.current);
                    ui.close();
                }
            } else if ui
                .button(format!("Record {name}…"))
                .on_hover_text("Write every message of this connection to a capture file, as it arrives")
                .clicked()
            {
                self.record_window();
                ui.close();
            }
            if ui
                .button(format!("Replay a capture into {name}…"))
                .on_hover_text("Publish a capture's messages, at their recorded pace or faster")
                .clicked()
            {
                self.capture.replay.get_or_insert_with(Default::default);
                ui.close();
            }
            if ui.button("Open capture…").on_hover_text("Browse a capture file (NDJSON) offline, as a tab of its own").clicked() {
                self.open_capture_window();
                ui.close();
            }
            if ui.button("Export all messages…").on_hover_text("Save what history holds for this connection, as NDJSON or CSV").clicked()
            {
                self.export_below(None);
                ui.close();
            }
            if ui
                .button("Sparkplug B edge nodes")
                .on_hover_text("Edge nodes and devices of this connection: online, offline, sequence gaps; send them commands")
                .clicked()
            {
                self.dock_open = true;
                self.dock_tab = super::DockTab::Sparkplug;
                ui.close();
            }
            ui.separator();
            if ui.button("Simulate sensors…").on_hover_text("Devices publishing numeric series, for charts and demos").clicked() {
                self.timers.open_simulator();
                ui.close();
            }
            if ui.button("Timed publishing…").on_hover_text("Publish the publish form's message on a timer; running timers").clicked() {
                self.timers.open_with(self.publish.form.clone());
                ui.close();
            }
            ui.separator();
            if ui
                .button("Decoders…")
                .on_hover_text("Bind topics to payload decoders: Sparkplug B, Protobuf (.proto files), CBOR, MessagePack")
                .clicked()
            {
                self.decoders_window.open = true;
                ui.close();
            }
        });
    }

    /// The tool windows: export, open, record and replay; Decoders; timed publishing.
    pub(super) fn tool_windows_ui(&mut self, ctx: &egui::Context) {
        if let Some(action) = self.capture.ui(ctx) {
            self.capture_act(action);
        }
        self.decoders_ui(ctx);
        if self.timers.open {
            let name = self.store.conn(self.current).map(|c| c.name.clone()).unwrap_or_default();
            if let Some(spec) = self.timers.ui(ctx, self.current, &name) {
                self.start_timer(spec, name);
            }
        }
    }

    /// The confirmation dialog for a destructive action.
    pub(super) fn confirm_ui(&mut self, ctx: &egui::Context) {
        let Some(confirm) = &self.confirm else { return };
        let answer = crate::ui::confirm_modal(ctx, "confirm", &confirm.text, confirm.yes);
        if let Some(yes) = answer
            && let Some(confirm) = self.confirm.take()
            && yes
        {
            self.send(confirm.command);
        }
    }

    /// Where no file dialog can open: say so, and take a typed path instead.
    pub(super) fn save_to_ui(&mut self, ctx: &egui::Context) {
        let Some(save) = &mut self.save_to else { return };
        let mut answer = None;
        egui::Window::new("Save to a file").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.set_max_width(460.0);
            ui.label(format!("{}: no file dialog can open here ({}).", save.title, save.reason));
            let label = ui.label("Save to path");
            ui.add(egui::TextEdit::singleline(&mut save.path).desired_width(440.0).code_editor()).labelled_by(label.id);
            ui.horizontal(|ui| {
                if ui.add_enabled(!save.path.trim().is_empty(), egui::Button::new("Save")).clicked() {
                    answer = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(false);
                }
            });
        });
        if let Some(yes) = answer
            && let Some(save) = self.save_to.take()
            && yes
        {
            self.send(Command::SaveTo { path: save.path.trim().into(), bytes: save.bytes });
        }
    }
}
