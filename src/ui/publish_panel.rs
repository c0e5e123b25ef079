//! Publish by hand: topic (with completion from the tree), payload in a format (text, JSON with
//! validation, hex, base64), QoS, retain, MQTT 5 properties; a history of what was sent and named
//! templates — "Postman for MQTT".
//!
//! Owns: the form, the history and the templates (the app saves them through the runtime; this panel
//! does no I/O). Sends [`Command::Publish`] with `try_send`; a full channel shows "busy", never blocks.

use bytes::Bytes;
use egui::RichText;
use tokio::sync::mpsc;

use super::publish_form::properties_ui;
use crate::model::publish::{PayloadFormat, PublishForm, Template};
use crate::model::{ConnId, NodeId, QoS, TopicTree, payload};
use crate::protocol::{Command, PublishRequest};

/// Most entries kept in the publish history.
pub const HISTORY_LEN: usize = 100;

/// The publish panel.
#[derive(Debug, Default)]
pub struct PublishPanel {
    /// The form being edited.
    pub form: PublishForm,
    /// What was published, newest first.
    pub history: Vec<PublishForm>,
    /// Saved templates, by name.
    pub templates: Vec<Template>,
    /// Set when templates changed, so the app saves them.
    pub templates_dirty: bool,
    /// A payload loaded from a file (name, bytes): sent as is instead of the editor's text.
    pub file_payload: Option<(String, Bytes)>,
    /// Set when "From file…" was pressed, so the app asks the runtime for the file dialog.
    pub load_requested: bool,
    /// Name typed for a new template.
    template_name: String,
    topic_error: Option<String>,
    payload_error: Option<String>,
    status: Option<String>,
}

/// Why a topic cannot be published to, if it cannot (MQTT-4.7.3-1, MQTT-3.3.2-2).
#[must_use]
pub fn topic_problem(topic: &str) -> Option<&'static str> {
    use crate::topic::TopicError;
    crate::topic::validate_topic_name(topic).err().map(|err| match err {
        TopicError::Empty => "Enter a topic.",
        TopicError::WildcardInTopicName => "A topic name cannot contain the wildcards + or #.",
        TopicError::TooLong => "A topic is at most 65,535 bytes.",
        TopicError::NullCharacter => "A topic cannot contain the null character.",
        TopicError::InvalidWildcard | TopicError::InvalidShareName => "This is not a valid topic name.",
    })
}

/// Next-level completions for a partly typed topic: children of the typed parent that start with the last level.
fn completions(tree: &TopicTree, typed: &str, limit: usize) -> Vec<String> {
    let (parent, last) = typed.rsplit_once('/').map_or(("", typed), |(p, l)| (p, l));
    let parent_id = if parent.is_empty() && !typed.contains('/') { Some(NodeId::ROOT) } else { tree.find_path(parent) };
    let Some(parent_id) = parent_id else { return Vec::new() };
    let prefix = if typed.contains('/') { format!("{parent}/") } else { String::new() };
    let mut matches: Vec<_> =
        tree.node(parent_id).children().map(|c| tree.node(c)).filter(|n| n.name().starts_with(last) && n.name() != last).collect();
    matches.sort_by_key(crate::model::NodeRef::name);
    matches.truncate(limit);
    matches.into_iter().map(|n| format!("{prefix}{}{}", n.name(), if n.has_children() { "/" } else { "" })).collect()
}

/// A small button whose accessible name (and hover text) says more than its caption.
fn named_button(ui: &mut egui::Ui, caption: &str, name: &str) -> egui::Response {
    let response = ui.small_button(caption).on_hover_text(name);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, name));
    response
}

impl PublishPanel {
    /// Fill the form with a topic and payload (from the tree's "Publish to this topic").
    pub fn prefill(&mut self, topic: String, payload: String) {
        self.form.topic = topic;
        self.form.payload = payload;
        self.form.format = PayloadFormat::Text;
    }

    /// Draw the panel; publishes on `conn_id` through `commands`.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, tree: &TopicTree, commands: &mpsc::Sender<Command>) {
        ui.heading("Publish");
        egui::ScrollArea::vertical().id_salt("publish-scroll").show(ui, |ui| {
            self.form_ui(ui, tree);
            let shortcut = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
            let clicked = ui.button("Publish").on_hover_text("Publish (Ctrl+Enter)").clicked();
            if clicked || shortcut {
                self.publish(conn_id, commands);
            }
            if let Some(status) = &self.status {
                ui.label(RichText::new(status).weak());
            }
            ui.separator();
            self.templates_ui(ui);
            self.history_ui(ui, conn_id, commands);
        });
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, tree: &TopicTree) {
        let f = &mut self.form;
        let topic_label = ui.label("Topic");
        let topic_edit = ui
            .add(
                egui::TextEdit::singleline(&mut f.topic)
                    .id_salt("publish-topic")
                    .hint_text("home/kitchen/temp")
                    .code_editor()
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(topic_label.id);
        // Completions float below the field, so the form's layout never shifts under the pointer.
        let options = if topic_edit.has_focus() && !f.topic.is_empty() { completions(tree, &f.topic, 8) } else { Vec::new() };
        let popup =
            egui::Popup::from_response(&topic_edit).open(!options.is_empty()).close_behavior(egui::PopupCloseBehavior::IgnoreClicks);
        popup.show(|ui| {
            for option in options {
                if ui.button(RichText::new(&option).monospace()).on_hover_text("Complete the topic").clicked() {
                    f.topic = option;
                    topic_edit.request_focus();
                }
            }
        });
        if let Some(err) = &self.topic_error {
            ui.colored_label(super::ALERT_COLOR, err);
        }
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("payload format").selected_text(f.format.label()).show_ui(ui, |ui| {
                for format in PayloadFormat::ALL {
                    ui.selectable_value(&mut f.format, format, format.label());
                }
            });
            if ui.small_button("From file…").on_hover_text("Publish a file's bytes as the payload").clicked() {
                self.load_requested = true;
            }
            if f.format == PayloadFormat::Json && ui.small_button("Format").on_hover_text("Pretty-print the JSON").clicked() {
                match payload::json_pretty(f.payload.as_bytes()) {
                    Some(pretty) => f.payload = pretty,
                    None => self.payload_error = Some("Not valid JSON: nothing to format.".to_owned()),
                }
            }
        });
        if let Some((name, bytes)) = &self.file_payload {
            let mut clear = false;
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Payload from file {name} ({})", crate::model::format::bytes(bytes.len() as u64))).strong());
                clear = ui.small_button("Clear file").on_hover_text("Go back to the typed payload").clicked();
            });
            ui.monospace(payload::preview(bytes, 60));
            if clear {
                self.file_payload = None;
            }
        } else {
            self.payload_editor_ui(ui);
        }
        let f = &mut self.form;
        ui.horizontal(|ui| {
            ui.label("QoS");
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                ui.selectable_value(&mut f.qos, qos, qos.as_u8().to_string()).on_hover_text(qos.describe());
            }
            ui.checkbox(&mut f.retain, "Retain");
        });
        egui::CollapsingHeader::new("MQTT 5 properties").id_salt("v5-props").show(ui, |ui| properties_ui(f, ui));
    }

    /// The payload text editor, validated as typed.
    fn payload_editor_ui(&mut self, ui: &mut egui::Ui) {
        let f = &mut self.form;
        let payload_label = ui.label(format!("{} payload", f.format.label()));
        let edit = ui
            .add(
                egui::TextEdit::multiline(&mut f.payload)
                    .id_salt("publish-payload")
                    .hint_text(f.format.hint())
                    .code_editor()
                    .desired_rows(6)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(payload_label.id);
        if edit.changed() {
            self.payload_error = f.payload_bytes().err();
        }
        if let Some(err) = &self.payload_error {
            ui.colored_label(super::ALERT_COLOR, err);
        }
    }

    /// Validate and send.
    fn publish(&mut self, conn_id: ConnId, commands: &mpsc::Sender<Command>) {
        self.topic_error = topic_problem(&self.form.topic).map(str::to_owned);
        let payload = match &self.file_payload {
            Some((_, bytes)) => Ok(bytes.to_vec()),
            None => self.form.payload_bytes(),
        };
        self.payload_error = payload.as_ref().err().cloned();
        let (None, Ok(payload)) = (&self.topic_error, payload) else { return };
        let meta = match self.form.meta() {
            Ok(meta) => meta,
            Err(err) => {
                self.payload_error = Some(err);
                return;
            }
        };
        let len = payload.len();
        let req = PublishRequest {
            conn_id,
            topic: self.form.topic.clone(),
            payload: Bytes::from(payload),
            qos: self.form.qos,
            retain: self.form.retain,
            meta,
        };
        self.status = Some(match commands.try_send(Command::Publish(req)) {
            Ok(()) => {
                self.history.retain(|h| h != &self.form);
                self.history.insert(0, self.form.clone());
                self.history.truncate(HISTORY_LEN);
                format!("Published {len} bytes to {}", self.form.topic)
            }
            Err(mpsc::error::TrySendError::Full(_)) => "Busy: the runtime is behind; try again.".to_owned(),
            Err(mpsc::error::TrySendError::Closed(_)) => "The runtime has stopped.".to_owned(),
        });
    }

    fn templates_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new(format!("Templates ({})", self.templates.len())).id_salt("templates").default_open(true).show(
            ui,
            |ui| {
                ui.horizontal(|ui| {
                    let label = ui.label("Template name");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.template_name)
                            .id_salt("template-name")
                            .hint_text("kitchen sensor")
                            .desired_width(140.0),
                    )
                    .labelled_by(label.id);
                    let name = self.template_name.trim().to_owned();
                    if ui.add_enabled(!name.is_empty(), egui::Button::new("Save as template")).clicked() {
                        self.templates.retain(|t| t.name != name);
                        self.templates.push(Template { name, form: self.form.clone() });
                        self.templates.sort_by(|a, b| a.name.cmp(&b.name));
                        self.templates_dirty = true;
                        self.template_name.clear();
                    }
                });
                let mut remove = None;
                for (i, t) in self.templates.iter().enumerate() {
                    ui.horizontal(|ui| {
                        if named_button(ui, "Load", &format!("Load template {}", t.name)).clicked() {
                            self.form = t.form.clone();
                        }
                        if named_button(ui, "Delete", &format!("Delete template {}", t.name)).clicked() {
                            remove = Some(i);
                        }
                        ui.label(RichText::new(&t.name).strong()).on_hover_text(format!(
                            "{} = {}",
                            t.form.topic,
                            payload::preview(t.form.payload.as_bytes(), 80)
                        ));
                        ui.weak(RichText::new(&t.form.topic).monospace());
                    });
                }
                if let Some(i) = remove {
                    self.templates.remove(i);
                    self.templates_dirty = true;
                }
            },
        );
    }

    fn history_ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, commands: &mpsc::Sender<Command>) {
        egui::CollapsingHeader::new(format!("History ({})", self.history.len())).id_salt("publish-history").show(ui, |ui| {
            let mut load = None;
            let mut resend = None;
            for (i, h) in self.history.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui.small_button("Edit").on_hover_text("Load into the form").clicked() {
                        load = Some(i);
                    }
                    if ui.small_button("Send").on_hover_text("Publish again as it was").clicked() {
                        resend = Some(i);
                    }
                    super::qos_badge(ui, h.qos);
                    ui.label(RichText::new(&h.topic).monospace());
                    ui.weak(payload::preview(h.payload.as_bytes(), 40));
                });
            }
            if let Some(i) = load.or(resend) {
                self.form = self.history[i].clone();
            }
            if resend.is_some() {
                self.publish(conn_id, commands);
            }
        });
    }
}
