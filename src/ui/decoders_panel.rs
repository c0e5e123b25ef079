//! The "Decoders" window: every binding of an MQTT filter to a payload decoder with its status (a
//! Protobuf binding's .proto compiled, or its compile error), and a form to add or edit one.
//!
//! Owns: whether the window is open, and the form. The bindings and the compiled schemas are the
//! app's ([`Decoders`]). No I/O here: picking a file, compiling and saving are [`DecodersAction`]s
//! the app hands to the runtime.

use std::path::PathBuf;

use egui::RichText;

use crate::model::decode::{BindingFile, DecoderBinding, Decoders, ProtoRef, SchemaStatus};
use crate::model::decode::{Decoder, protobuf::ProtoFile};
use crate::topic::TopicError;

/// Something the window asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodersAction {
    /// Adopt and save these bindings.
    Save(BindingFile),
    /// Pick the form's .proto file in a dialog (off the UI thread).
    Browse,
    /// Compile this .proto file.
    Compile(PathBuf),
}

/// The binding being added or edited.
#[derive(Clone, Debug)]
struct BindingForm {
    /// The filter of the binding being edited (`None`: a new binding).
    editing: Option<String>,
    filter: String,
    decoder: Decoder,
    /// The .proto file, as typed or picked.
    file: String,
    /// The message type, picked from those the compiled file has.
    message: String,
}

impl Default for BindingForm {
    fn default() -> Self {
        Self { editing: None, filter: String::new(), decoder: Decoder::Protobuf, file: String::new(), message: String::new() }
    }
}

/// The Decoders window's state.
#[derive(Debug, Default)]
pub struct DecodersPanel {
    /// The window is shown.
    pub open: bool,
    form: BindingForm,
}

/// Why `filter` cannot be bound, if it cannot.
#[must_use]
pub fn filter_problem(filter: &str) -> Option<&'static str> {
    crate::topic::validate_topic_filter(filter).err().map(|err| match err {
        TopicError::Empty => "Enter an MQTT filter, e.g. factory/+/pb/#.",
        TopicError::InvalidWildcard => {
            "Not an MQTT filter: + must fill a whole level, and # must be the whole last level (factory/+/pb/#)."
        }
        TopicError::TooLong => "A filter is at most 65,535 bytes.",
        TopicError::NullCharacter => "A filter cannot contain the null character.",
        TopicError::WildcardInTopicName | TopicError::InvalidShareName => "This is not a valid MQTT filter.",
    })
}

/// A binding's status in a few words, and whether it is an error.
fn status(binding: &DecoderBinding, decoders: &Decoders) -> (String, bool) {
    if let Some(problem) = filter_problem(&binding.filter) {
        return (problem.to_owned(), true);
    }
    match (binding.decoder, &binding.proto) {
        (Decoder::Protobuf, None) => ("no .proto file named".to_owned(), true),
        (Decoder::Protobuf, Some(proto)) => match decoders.schemas.status(proto) {
            SchemaStatus::Compiling => ("compiling…".to_owned(), false),
            SchemaStatus::NotCompiled => ("not compiled".to_owned(), false),
            SchemaStatus::Ready(_) => ("ok".to_owned(), false),
            SchemaStatus::Failed(err) => (err, true),
        },
        _ => ("ok".to_owned(), false),
    }
}

impl DecodersPanel {
    /// Open the window with the form set to bind `filter` to `decoder` (the binding of `filter`
    /// is edited if there is one).
    pub fn open_for(&mut self, filter: String, decoder: Decoder, bindings: &BindingFile) {
        self.open = true;
        self.form = match bindings.bindings.iter().find(|b| b.filter == filter) {
            Some(b) if b.decoder == decoder => Self::form_of(b),
            _ => BindingForm { filter, decoder, ..BindingForm::default() },
        };
    }

    /// A .proto picked in the dialog: it goes in the form, to be compiled.
    pub fn file_picked(&mut self, path: String) -> DecodersAction {
        self.form.file = path;
        DecodersAction::Compile(self.form.file.clone().into())
    }

    fn form_of(b: &DecoderBinding) -> BindingForm {
        BindingForm {
            editing: Some(b.filter.clone()),
            filter: b.filter.clone(),
            decoder: b.decoder,
            file: b.proto.as_ref().map(|p| p.file.display().to_string()).unwrap_or_default(),
            message: b.proto.as_ref().map(|p| p.message.clone()).unwrap_or_default(),
        }
    }

    /// Draw the window (when open).
    pub fn ui(&mut self, ctx: &egui::Context, decoders: &Decoders) -> Option<DecodersAction> {
        let mut open = self.open;
        let mut action = None;
        super::centred_window("Decoders", ctx).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.set_max_width(620.0);
            ui.weak("Payloads of topics matching a filter are decoded (the most specific filter wins) and can be published encoded.");
            action = self.list_ui(ui, decoders);
            ui.separator();
            action = self.form_ui(ui, decoders).or(action.take());
        });
        self.open = open;
        action
    }

    /// The bindings, with Edit and Remove.
    fn list_ui(&mut self, ui: &mut egui::Ui, decoders: &Decoders) -> Option<DecodersAction> {
        let bindings = &decoders.bindings.bindings;
        if bindings.is_empty() {
            ui.weak("No binding yet (Sparkplug B is detected under spBv1.0/ without one).");
            return None;
        }
        let mut action = None;
        egui::Grid::new("decoder-bindings").num_columns(5).striped(true).show(ui, |ui| {
            for h in ["Filter", "Decoder", "Schema", "Status", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for b in bindings {
                ui.monospace(&b.filter);
                ui.label(b.decoder.label());
                match &b.proto {
                    Some(p) => {
                        let name = p.file.file_name().map_or_else(|| p.file.display().to_string(), |n| n.to_string_lossy().into_owned());
                        ui.label(format!("{} ({name})", p.message)).on_hover_text(p.file.display().to_string());
                    }
                    None => {
                        ui.weak("—");
                    }
                }
                let (text, bad) = status(b, decoders);
                if bad {
                    ui.add(egui::Label::new(RichText::new(text).color(super::ALERT_COLOR)).wrap());
                } else {
                    ui.label(text);
                }
                ui.horizontal(|ui| {
                    if super::named_button(ui, "Edit", &format!("Edit binding {}", b.filter)).clicked() {
                        self.form = Self::form_of(b);
                    }
                    if super::named_button(ui, "Remove", &format!("Remove binding {}", b.filter)).clicked() {
                        let mut file = decoders.bindings.clone();
                        file.unbind(&b.filter);
                        action = Some(DecodersAction::Save(file));
                    }
                });
                ui.end_row();
            }
        });
        action
    }

    /// Add or edit one binding.
    fn form_ui(&mut self, ui: &mut egui::Ui, decoders: &Decoders) -> Option<DecodersAction> {
        let mut action = None;
        let f = &mut self.form;
        ui.strong(match &f.editing {
            Some(filter) => format!("Edit the binding of {filter}"),
            None => "Add a binding".to_owned(),
        });
        let filter_problem = filter_problem(f.filter.trim());
        egui::Grid::new("decoder-form").num_columns(2).show(ui, |ui| {
            let label = ui.label("Binding filter");
            ui.vertical(|ui| {
                ui.add(egui::TextEdit::singleline(&mut f.filter).hint_text("factory/+/pb/#").code_editor().desired_width(360.0))
                    .labelled_by(label.id);
                let text = if f.filter.is_empty() { "" } else { filter_problem.unwrap_or_default() };
                super::error_line(ui, text, super::ALERT_COLOR);
            });
            ui.end_row();
            let label = ui.label("Decoder");
            egui::ComboBox::from_id_salt("binding-decoder")
                .selected_text(f.decoder.label())
                .show_ui(ui, |ui| {
                    for d in Decoder::ALL.into_iter().chain([Decoder::Protobuf]) {
                        ui.selectable_value(&mut f.decoder, d, d.label());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            if f.decoder == Decoder::Protobuf {
                action = schema_rows_ui(ui, f, decoders);
            }
        });
        let binding = self.binding(decoders, filter_problem.is_some());
        ui.horizontal(|ui| {
            let verb = if self.form.editing.is_some() { "Save binding" } else { "Add binding" };
            if ui.add_enabled(binding.is_some(), egui::Button::new(verb)).clicked()
                && let Some(binding) = binding
            {
                let mut file = decoders.bindings.clone();
                if let Some(old) = self.form.editing.as_deref().filter(|old| *old != binding.filter) {
                    file.unbind(old);
                }
                self.form.editing = Some(binding.filter.clone());
                file.set(binding);
                action = Some(DecodersAction::Save(file));
            }
            if ui.button("New").on_hover_text("Clear the form for a new binding").clicked() {
                self.form = BindingForm::default();
            }
        });
        action
    }

    /// The binding the form describes, if it is complete and usable.
    fn binding(&self, decoders: &Decoders, bad_filter: bool) -> Option<DecoderBinding> {
        let f = &self.form;
        if bad_filter {
            return None;
        }
        let proto = if f.decoder == Decoder::Protobuf {
            let proto = ProtoRef { file: f.file.trim().into(), message: f.message.clone() };
            if !matches!(decoders.schemas.status(&proto), SchemaStatus::Ready(_)) {
                return None;
            }
            Some(proto)
        } else {
            None
        };
        Some(DecoderBinding { filter: f.filter.trim().to_owned(), decoder: f.decoder, proto })
    }
}

/// The .proto file (typed, or Browse…; compiled on Enter or Compile) with its compile error, and
/// the message type picked from those it has.
fn schema_rows_ui(ui: &mut egui::Ui, f: &mut BindingForm, decoders: &Decoders) -> Option<DecodersAction> {
    let mut action = None;
    let path = PathBuf::from(f.file.trim());
    let compiled: Option<&Result<ProtoFile, String>> = decoders.schemas.file(&path).filter(|_| !f.file.trim().is_empty());
    let label = ui.label("Schema file (.proto)");
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            let edit = ui
                .add(egui::TextEdit::singleline(&mut f.file).hint_text("/path/to/machine.proto").code_editor().desired_width(260.0))
                .labelled_by(label.id);
            let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Browse…").on_hover_text("Choose the .proto file in a dialog").clicked() {
                action = Some(DecodersAction::Browse);
            }
            let compile = ui.add_enabled(!f.file.trim().is_empty(), egui::Button::new("Compile"));
            if (compile.on_hover_text("Compile the file and its imports (again)").clicked() || entered) && !f.file.trim().is_empty() {
                action = Some(DecodersAction::Compile(f.file.trim().into()));
            }
        });
        match compiled {
            Some(Err(err)) => {
                ui.add(egui::Label::new(RichText::new(err).color(super::ALERT_COLOR)).wrap());
            }
            Some(Ok(file)) => {
                ui.weak(format!("compiled: {} message types", file.messages().len()));
            }
            None if !f.file.trim().is_empty() => {
                ui.weak("not compiled yet: press Compile (or Enter)");
            }
            None => {
                ui.weak(" ");
            }
        }
    });
    ui.end_row();
    let label = ui.label("Message type");
    let messages = match compiled {
        Some(Ok(file)) => file.messages(),
        _ => Vec::new(),
    };
    ui.add_enabled_ui(!messages.is_empty(), |ui| {
        let shown = if f.message.is_empty() { "pick one" } else { f.message.as_str() };
        egui::ComboBox::from_id_salt("binding-message")
            .selected_text(shown)
            .width(260.0)
            .show_ui(ui, |ui| {
                for m in messages {
                    let text = m.clone();
                    ui.selectable_value(&mut f.message, m, text);
                }
            })
            .response
            .labelled_by(label.id);
    });
    ui.end_row();
    action
}
