//! The connection manager: saved profiles (add, edit, clone, delete, import, export) and the form
//! that edits one, with every bad field explained next to it.
//!
//! Owns: the list as last saved, the working copy, and its errors. Saving, file pickers and
//! connecting are returned as [`ConnAction`]s; the runtime does the I/O.

use egui::RichText;

use super::connection_form;
use crate::model::ConnStatus;
use crate::model::profile::{FieldError, Profile, ProfileFile, generate_client_id};
use crate::protocol::FileField;

/// What the manager asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnAction {
    /// Save every profile, checking `check`'s files first.
    Save {
        /// All profiles.
        file: ProfileFile,
        /// The edited one.
        check: Box<Profile>,
    },
    /// Connect with this profile (already saved).
    Connect(Box<Profile>),
    /// Show the tab of this open connection (by profile name).
    Show(String),
    /// Pick a file for a field.
    PickFile(FileField),
    /// Export all profiles.
    Export(ProfileFile),
    /// Import profiles from a file.
    Import,
}

/// The manager's state.
#[derive(Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "independent flags: window open, connect after save, loaded, live validation")]
pub struct ConnectionPanel {
    /// Window visible.
    pub open: bool,
    /// Profiles as saved.
    pub profiles: Vec<Profile>,
    /// Index of the profile being edited; `None` for a new one.
    selected: Option<usize>,
    /// The working copy.
    pub editing: Profile,
    /// Problems to show next to fields.
    pub errors: Vec<FieldError>,
    /// Connect once the save that is under way succeeds.
    connect_after_save: bool,
    /// Set after the first load from disk.
    pub loaded: bool,
    /// The working copy as last checked: a change re-validates (errors that no longer apply go).
    checked: Option<Profile>,
    /// A save was refused: from then on the form is validated as the user types.
    validate_live: bool,
}

impl ConnectionPanel {
    /// Start editing a fresh profile.
    pub fn new_profile(&mut self, seed: u64) {
        self.selected = None;
        self.editing = Profile { client_id: generate_client_id(seed), ..Profile::default() };
        self.editing.name = self.unique_name("New connection");
        self.errors.clear();
        self.validate_live = false;
    }

    fn unique_name(&self, base: &str) -> String {
        let taken = |n: &str| self.profiles.iter().any(|p| p.name == n);
        if !taken(base) {
            return base.to_owned();
        }
        (2..=self.profiles.len() + 2).map(|i| format!("{base} {i}")).find(|n| !taken(n)).unwrap_or_else(|| base.to_owned())
    }

    /// Profiles arrived from disk, a save or an import. Returns the profile to connect, if a save was for connecting.
    pub fn profiles_updated(&mut self, file: ProfileFile, imported: bool) -> Option<Profile> {
        if imported {
            for mut p in file.profiles {
                p.name = self.unique_name(&p.name);
                self.profiles.push(p);
            }
            return None;
        }
        self.profiles = file.profiles;
        self.loaded = true;
        self.selected = self.profiles.iter().position(|p| p.name == self.editing.name.trim());
        self.errors.clear();
        self.validate_live = false;
        std::mem::take(&mut self.connect_after_save).then(|| self.editing.clone())
    }

    /// The runtime refused the save (an unusable file).
    pub fn rejected(&mut self, field: &'static str, message: String) {
        self.connect_after_save = false;
        self.errors = vec![FieldError { field, message }];
        self.checked = Some(self.editing.clone());
    }

    /// A file was picked for a field.
    pub fn file_picked(&mut self, field: FileField, path: String) {
        let tls = &mut self.editing.tls;
        match field {
            FileField::CaFile => tls.ca_file = path,
            FileField::ClientCert => tls.client_cert_file = path,
            FileField::ClientKey => tls.client_key_file = path,
            // Not profile fields: the capture panel takes these.
            FileField::ExportFile | FileField::CaptureFile | FileField::RecordFile | FileField::ReplayFile | FileField::ProtoFile => {}
        }
    }

    /// The names of the other profiles (a name must be unique).
    fn other_names(&self) -> Vec<&str> {
        self.profiles.iter().enumerate().filter(|(i, _)| Some(*i) != self.selected).map(|(_, p)| p.name.as_str()).collect()
    }

    /// After an edit: once a save was refused, validate again as the user types; any other error
    /// (a file the runtime could not use) no longer applies to the changed form.
    fn revalidate_if_changed(&mut self) {
        if self.checked.as_ref() == Some(&self.editing) {
            return;
        }
        self.checked = Some(self.editing.clone());
        self.errors = if self.validate_live { self.editing.validate(&self.other_names()) } else { Vec::new() };
    }

    /// Validate the working copy and, if it is sound, ask to save it (and connect).
    fn save(&mut self, connect: bool) -> Option<ConnAction> {
        self.editing.name = self.editing.name.trim().to_owned();
        self.errors = self.editing.validate(&self.other_names());
        self.checked = Some(self.editing.clone());
        self.validate_live = !self.errors.is_empty();
        if !self.errors.is_empty() {
            return None;
        }
        let mut profiles = self.profiles.clone();
        match self.selected {
            Some(i) if i < profiles.len() => profiles[i] = self.editing.clone(),
            _ => profiles.push(self.editing.clone()),
        }
        self.connect_after_save = connect;
        Some(ConnAction::Save { file: ProfileFile { profiles }, check: Box::new(self.editing.clone()) })
    }

    /// Draw the window; `open_conns` lists the connections open now (profile name, state).
    pub fn ui(&mut self, ctx: &egui::Context, seed: u64, open_conns: &[(String, ConnStatus)]) -> Option<ConnAction> {
        let mut open = self.open;
        let mut action = None;
        self.revalidate_if_changed();
        egui::Window::new("Connections").open(&mut open).default_size([760.0, 560.0]).show(ctx, |ui| {
            egui::Panel::left("profile-list").resizable(true).default_size(200.0).show(ui, |ui| {
                action = self.list_ui(ui, seed, open_conns).or(action.take());
            });
            // The actions stay in view however long the form is.
            egui::Panel::bottom("profile-actions").show(ui, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        action = self.save(false);
                    }
                    if ui.button("Save and connect").clicked() {
                        action = self.save(true);
                    }
                    if ui.button("Revert").on_hover_text("Forget the changes").clicked() {
                        self.editing = self.selected.and_then(|i| self.profiles.get(i).cloned()).unwrap_or_default();
                        self.errors.clear();
                        self.validate_live = false;
                    }
                });
                if !self.errors.is_empty() {
                    ui.colored_label(
                        super::ALERT_COLOR,
                        format!("Not saved: {} field(s) need attention (see the form).", self.errors.len()),
                    );
                }
            });
            egui::CentralPanel::default().show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("profile-form").show(ui, |ui| {
                    action = connection_form::ui(ui, &mut self.editing, &self.errors).map(ConnAction::PickFile).or(action.take());
                });
            });
        });
        self.open = open;
        action
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, seed: u64, open: &[(String, ConnStatus)]) -> Option<ConnAction> {
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            if ui.button("New").clicked() {
                self.new_profile(seed);
            }
            if ui.add_enabled(self.selected.is_some(), egui::Button::new("Clone")).clicked() {
                let name = self.unique_name(&format!("{} copy", self.editing.name));
                self.editing = Profile { name, client_id: generate_client_id(seed), ..self.editing.clone() };
                self.selected = None;
            }
            if ui.add_enabled(self.selected.is_some(), egui::Button::new("Delete")).clicked()
                && let Some(i) = self.selected.take()
                && i < self.profiles.len()
            {
                let mut profiles = self.profiles.clone();
                profiles.remove(i);
                action = Some(ConnAction::Save { file: ProfileFile { profiles }, check: Box::new(Profile::default()) });
                self.new_profile(seed);
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Import…").clicked() {
                action = Some(ConnAction::Import);
            }
            if ui.button("Export…").on_hover_text("Passwords are not exported").clicked() {
                action = Some(ConnAction::Export(ProfileFile { profiles: self.profiles.clone() }));
            }
        });
        ui.separator();
        if self.profiles.is_empty() {
            ui.weak("No saved connections yet: fill in the form and press Save.");
        }
        let mut pick = None;
        for (i, p) in self.profiles.iter().enumerate() {
            let r = ui.selectable_label(self.selected == Some(i), RichText::new(&p.name).strong());
            if r.on_hover_text(p.url()).clicked() {
                pick = Some(i);
            }
            // The button says what is in force: an open connection is shown, not opened twice.
            let state = open.iter().find(|(name, _)| *name == p.name).map(|(_, status)| status);
            ui.horizontal(|ui| match state {
                Some(status @ (ConnStatus::Connected | ConnStatus::Connecting | ConnStatus::Idle | ConnStatus::Reconnecting { .. })) => {
                    let word = match status {
                        ConnStatus::Connected => "connected".to_owned(),
                        ConnStatus::Reconnecting { in_secs, .. } => format!("reconnecting in {in_secs} s"),
                        _ => "connecting".to_owned(),
                    };
                    ui.weak(&word);
                    let name = format!("Show {}", p.name);
                    let r = ui.small_button("Show").on_hover_text(format!("{} is {word}: show its tab", p.name));
                    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                    if r.clicked() {
                        action = Some(ConnAction::Show(p.name.clone()));
                    }
                }
                Some(ConnStatus::Disconnected { .. }) => {
                    ui.weak("disconnected");
                    let name = format!("Reconnect {}", p.name);
                    let r = ui.small_button("Reconnect").on_hover_text(format!("Connect to {} again", p.name));
                    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                    if r.clicked() {
                        action = Some(ConnAction::Connect(Box::new(p.clone())));
                    }
                }
                None => {
                    if ui.small_button("Connect").on_hover_text(format!("Connect to {}", p.name)).clicked() {
                        action = Some(ConnAction::Connect(Box::new(p.clone())));
                    }
                }
            });
        }
        if let Some(i) = pick {
            self.selected = Some(i);
            self.editing = self.profiles[i].clone();
            self.errors.clear();
            self.validate_live = false;
        }
        action
    }
}
