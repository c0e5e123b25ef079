//! The Faults tab of the bottom dock, and the red strip that lists every active fault above the
//! status bar whatever is shown: fault injection into the embedded broker, for testing devices.
//!
//! Owns: [`FaultsPanel`] (the form: kind, client id, reason code, delay, count) and [`strip_ui`].
//! The active list comes from the store; changes go back to the app as [`FaultAction`]s (and a
//! takeover, to confirm), carried out by the runtime.

use egui::RichText;

use crate::model::broker_view::{ClientRow, Snapshot};
use crate::model::faults::{CONNACK_REASONS, Fault, FaultAction, connack_name};

/// Kinds of fault the form sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultKind {
    /// Refuse the next CONNECT of a client id, or every CONNECT.
    #[default]
    RefuseConnect,
    /// Delay deliveries to a client.
    Delay,
    /// Withhold the next acknowledgements to a client.
    Withhold,
}

impl FaultKind {
    const fn name(self) -> &'static str {
        match self {
            Self::RefuseConnect => "Refuse CONNECT",
            Self::Delay => "Delay deliveries",
            Self::Withhold => "Withhold acknowledgements",
        }
    }
}

/// The Faults tab.
#[derive(Debug)]
pub struct FaultsPanel {
    /// Kind picked.
    pub kind: FaultKind,
    /// Client id typed (or picked).
    pub client_id: String,
    /// Refuse every client's CONNECT (not only the next of one client id).
    pub every_client: bool,
    /// CONNACK reason code for a refusal.
    pub code: u8,
    /// Delay, milliseconds.
    pub delay_ms: u64,
    /// Acknowledgements to withhold.
    pub count: u32,
}

impl Default for FaultsPanel {
    fn default() -> Self {
        Self { kind: FaultKind::default(), client_id: String::new(), every_client: false, code: 0x87, delay_ms: 2000, count: 1 }
    }
}

/// What the Faults tab asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultsOutput {
    /// Change the faults.
    Fault(FaultAction),
    /// Take this client's session over (to confirm first).
    TakeOver(String),
    /// Restart the broker in place (to confirm first).
    Restart {
        /// Keep every session.
        keep_sessions: bool,
    },
}

impl FaultsPanel {
    /// Draw the form and the active faults; `clients` feeds the client picker.
    pub fn ui(&mut self, ui: &mut egui::Ui, active: &[Fault], clients: Option<&Snapshot<ClientRow>>) -> Option<FaultsOutput> {
        let mut out = None;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Fault");
            egui::ComboBox::from_id_salt("fault-kind")
                .selected_text(self.kind.name())
                .show_ui(ui, |ui| {
                    for kind in [FaultKind::RefuseConnect, FaultKind::Delay, FaultKind::Withhold] {
                        ui.selectable_value(&mut self.kind, kind, kind.name());
                    }
                })
                .response
                .labelled_by(label.id);
            let every = self.kind == FaultKind::RefuseConnect && self.every_client;
            ui.add_enabled_ui(!every, |ui| {
                let label = ui.label("Client id");
                ui.add(egui::TextEdit::singleline(&mut self.client_id).desired_width(150.0).hint_text("client id")).labelled_by(label.id);
                self.client_picker(ui, clients);
            });
            match self.kind {
                FaultKind::RefuseConnect => {
                    ui.checkbox(&mut self.every_client, "every client").on_hover_text("Refuse every CONNECT until cleared");
                    let label = ui.label("Reason");
                    egui::ComboBox::from_id_salt("fault-code")
                        .selected_text(connack_name(self.code))
                        .width(230.0)
                        .show_ui(ui, |ui| {
                            for (code, name) in CONNACK_REASONS {
                                ui.selectable_value(&mut self.code, code, name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                }
                FaultKind::Delay => {
                    let label = ui.label("Delay (ms)");
                    ui.add(egui::DragValue::new(&mut self.delay_ms).range(1..=600_000)).labelled_by(label.id);
                }
                FaultKind::Withhold => {
                    let label = ui.label("Count");
                    ui.add(egui::DragValue::new(&mut self.count).range(1..=10_000)).labelled_by(label.id);
                }
            }
            let fault = self.fault();
            if ui
                .add_enabled(fault.is_some(), egui::Button::new("Add fault"))
                .on_hover_text("Start this fault now; it shows in red above the status bar until cleared")
                .clicked()
                && let Some(fault) = fault
            {
                out = Some(FaultsOutput::Fault(FaultAction::Add(fault)));
            }
        });
        ui.horizontal_wrapped(|ui| {
            let id = self.client_id.trim().to_owned();
            let online = clients.is_some_and(|s| s.rows.iter().any(|r| *r.client_id == *id && r.online));
            if ui
                .add_enabled(online, egui::Button::new("Take over session…"))
                .on_hover_text(
                    "End the connection of this client id as a second connection with the same id would: DISCONNECT 0x8E, will published",
                )
                .clicked()
            {
                out = Some(FaultsOutput::TakeOver(id));
            }
            ui.separator();
            if ui
                .button("Restart, keep sessions…")
                .on_hover_text("End every connection as at shutdown (DISCONNECT 0x8B); sessions stay, as with persistence")
                .clicked()
            {
                out = Some(FaultsOutput::Restart { keep_sessions: true });
            }
            if ui
                .button("Restart, drop sessions…")
                .on_hover_text("End every connection as at shutdown (DISCONNECT 0x8B) and forget every session, as without persistence")
                .clicked()
            {
                out = Some(FaultsOutput::Restart { keep_sessions: false });
            }
        });
        ui.separator();
        if active.is_empty() {
            ui.weak("No fault is active: the broker behaves normally.");
        }
        for fault in active {
            ui.horizontal(|ui| {
                ui.label(RichText::new(fault.describe()).color(ui.visuals().error_fg_color));
                if ui.small_button("Clear fault").on_hover_text(format!("End: {}", fault.describe())).clicked() {
                    out = Some(FaultsOutput::Fault(FaultAction::Clear(fault.clone())));
                }
            });
        }
        out
    }

    fn client_picker(&mut self, ui: &mut egui::Ui, clients: Option<&Snapshot<ClientRow>>) {
        egui::ComboBox::from_id_salt("fault-client")
            .selected_text("pick")
            .width(60.0)
            .show_ui(ui, |ui| {
                for row in clients.map_or(&[][..], |s| &s.rows[..]) {
                    if ui.selectable_label(*row.client_id == *self.client_id, &*row.client_id).clicked() {
                        self.client_id = row.client_id.to_string();
                    }
                }
            })
            .response
            .on_hover_text("Pick a client id from the broker's sessions");
    }

    /// The fault the form describes, if complete.
    fn fault(&self) -> Option<Fault> {
        let id = self.client_id.trim();
        let id = (!id.is_empty()).then(|| id.to_owned());
        match self.kind {
            FaultKind::RefuseConnect if self.every_client => Some(Fault::RefuseConnect { client_id: None, code: self.code }),
            FaultKind::RefuseConnect => Some(Fault::RefuseConnect { client_id: Some(id?), code: self.code }),
            FaultKind::Delay => Some(Fault::DelayDeliveries { client_id: id?, delay_ms: self.delay_ms }),
            FaultKind::Withhold => Some(Fault::WithholdAcks { client_id: id?, left: self.count }),
        }
    }
}

/// The red strip: every active fault, each with its Clear button, and Clear all. Draws nothing
/// when none is active.
pub fn strip_ui(ui: &mut egui::Ui, active: &[Fault]) -> Option<FaultAction> {
    let mut out = None;
    ui.horizontal_wrapped(|ui| {
        let red = ui.visuals().error_fg_color;
        ui.label(
            RichText::new(format!("{} fault{} injected:", active.len(), if active.len() == 1 { "" } else { "s" })).strong().color(red),
        );
        for fault in active {
            ui.label(RichText::new(fault.describe()).color(red));
            if ui.small_button("Clear").on_hover_text(format!("Clear: {}", fault.describe())).clicked() {
                out = Some(FaultAction::Clear(fault.clone()));
            }
            ui.separator();
        }
        if ui.button("Clear all faults").on_hover_text("End every injected fault: the broker behaves normally again").clicked() {
            out = Some(FaultAction::ClearAll);
        }
    });
    out
}
