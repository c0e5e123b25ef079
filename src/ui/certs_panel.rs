//! The Settings window's "Broker TLS certificates" section: generate (or reuse) a CA, a server and a
//! client certificate in a directory, off the UI thread, and show how to use them.
//!
//! Owns: [`CertsPanel`] (the directory typed, whether a generation is under way, its outcome).

use std::path::PathBuf;

use egui::RichText;

use crate::protocol::Command;

/// View state of the section.
#[derive(Debug, Default)]
pub struct CertsPanel {
    /// Directory typed; empty: `tls` in mqscope's config directory.
    pub dir: String,
    /// A generation was asked for and has not answered yet.
    pub busy: bool,
    /// The last outcome: the directory and how to use the files, or why there are none.
    pub outcome: Option<Result<(PathBuf, String), String>>,
}

/// What the user asked for.
#[derive(Debug)]
pub enum CertsAction {
    /// Generate (or reuse) a set: send this.
    Generate(Command),
    /// Fill the broker's TLS fields with the set in this directory.
    Use(PathBuf),
    /// Add a saved connection to the embedded broker's TLS listener with the set in this
    /// directory (the CA, and the client certificate for mutual TLS).
    Profile(PathBuf),
}

impl CertsPanel {
    /// Draw the section; returns what a button asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<CertsAction> {
        ui.label(RichText::new("Broker TLS certificates").strong());
        ui.weak("A CA, a server certificate (localhost, 127.0.0.1, ::1, this host) and a client certificate, readable by you only. Existing files are reused, never overwritten.");
        let mut command = None;
        ui.horizontal(|ui| {
            let label = ui.label("Directory");
            ui.add(egui::TextEdit::singleline(&mut self.dir).hint_text("config dir/tls").desired_width(260.0)).labelled_by(label.id);
            let button = ui.add_enabled(!self.busy, egui::Button::new("Generate certificates"));
            if button.clicked() {
                self.busy = true;
                let dir = self.dir.trim();
                command = Some(CertsAction::Generate(Command::GenerateCertificates { dir: (!dir.is_empty()).then(|| PathBuf::from(dir)) }));
            }
        });
        if self.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Generating…");
            });
        }
        match &self.outcome {
            Some(Ok((dir, usage))) => {
                let mut text = usage.as_str();
                ui.add(egui::TextEdit::multiline(&mut text).code_editor().desired_rows(4).desired_width(f32::INFINITY));
                if ui.button("Use them for the TLS listener").on_hover_text("Fill the certificate, key and CA files above").clicked() {
                    command = Some(CertsAction::Use(dir.clone()));
                }
                if ui
                    .button("Add a connection that uses them")
                    .on_hover_text(
                        "A saved connection to this TLS listener: mqtts://localhost, trusting the CA, with the client certificate",
                    )
                    .clicked()
                {
                    command = Some(CertsAction::Profile(dir.clone()));
                }
            }
            Some(Err(err)) => {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
            None => {}
        }
        command
    }

    /// The runtime answered.
    pub fn finished(&mut self, outcome: Result<(PathBuf, String), String>) {
        self.busy = false;
        self.outcome = Some(outcome);
    }

    /// The command could not be sent: the button is usable again.
    pub fn not_sent(&mut self) {
        self.busy = false;
    }
}
