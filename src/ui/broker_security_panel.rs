//! The Settings window's "Broker TLS and access" section: the embedded broker's TLS listener,
//! anonymous access, password file and ACL file, edited as a draft and applied with one button
//! (the runtime checks the files before anything changes; sessions are kept).
//!
//! Owns: [`BrokerSecurityPanel`] (the draft, whether an Apply is under way, its outcome).

use egui::RichText;

use crate::model::broker_security::BrokerSecuritySettings;

/// View state of the section.
#[derive(Debug, Default)]
pub struct BrokerSecurityPanel {
    /// What is being edited; `None`: the saved settings, untouched.
    draft: Option<BrokerSecuritySettings>,
    /// An Apply was sent and has not answered yet.
    pub busy: bool,
    /// The last outcome: what is in force, or what went wrong.
    pub outcome: Option<Result<String, String>>,
}

/// A checkbox that turns a listener on, and its port (labelled by the checkbox), as one grid row.
fn port_row(ui: &mut egui::Ui, port: &mut Option<u16>, label: &str, default: u16) {
    let mut on = port.is_some();
    let check = ui.checkbox(&mut on, label);
    let mut value = port.unwrap_or(default);
    ui.add_enabled(on, egui::DragValue::new(&mut value).range(0..=65_535))
        .labelled_by(check.id)
        .on_hover_text("On 127.0.0.1; 0 picks a free port");
    *port = on.then_some(value);
    ui.end_row();
}

impl BrokerSecurityPanel {
    /// Draw the section over `saved`; returns the settings to apply when Apply was clicked.
    pub fn ui(&mut self, ui: &mut egui::Ui, saved: &BrokerSecuritySettings) -> Option<BrokerSecuritySettings> {
        ui.label(RichText::new("Broker TLS and access").strong());
        let draft = self.draft.get_or_insert_with(|| saved.clone());
        egui::Grid::new("broker-security").num_columns(2).show(ui, |ui| {
            port_row(ui, &mut draft.tls_port, "TLS listener (mqtts) on port", 8883);
            port_row(ui, &mut draft.wss_port, "WebSocket over TLS (wss) on port", 8884);
            for (label, value, hint) in [
                ("Certificate file", &mut draft.certfile, "server.pem"),
                ("Key file", &mut draft.keyfile, "server-key.pem"),
                ("CA file (client certificates)", &mut draft.cafile, "ca.pem (optional)"),
                ("Password file", &mut draft.password_file, "mosquitto_passwd format (optional)"),
                ("ACL file", &mut draft.acl_file, "mosquitto acl_file format (optional)"),
            ] {
                let l = ui.label(label);
                ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(280.0)).labelled_by(l.id);
                ui.end_row();
            }
        });
        ui.checkbox(&mut draft.require_certificate, "Require a client certificate (mutual TLS)");
        ui.checkbox(&mut draft.allow_anonymous, "Allow anonymous clients");
        let mut applied = None;
        ui.horizontal(|ui| {
            if ui.add_enabled(!self.busy, egui::Button::new("Apply broker settings")).clicked() {
                self.busy = true;
                applied = Some(draft.clone());
            }
            if self.busy {
                ui.spinner();
            }
        });
        match &self.outcome {
            Some(Ok(text)) => {
                ui.label(text);
            }
            Some(Err(err)) => {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
            None => {}
        }
        applied
    }

    /// The runtime answered.
    pub fn finished(&mut self, outcome: Result<String, String>) {
        self.busy = false;
        self.outcome = Some(outcome);
    }

    /// Fill the TLS fields with a generated certificate set (`dir` holds its files).
    pub fn use_certificates(&mut self, saved: &BrokerSecuritySettings, dir: &std::path::Path) {
        let draft = self.draft.get_or_insert_with(|| saved.clone());
        let path = |name: &str| dir.join(name).display().to_string();
        draft.certfile = path("server.pem");
        draft.keyfile = path("server-key.pem");
        draft.cafile = path("ca.pem");
        draft.tls_port.get_or_insert(8883);
    }
}
