//! Publish by hand: topic (with completion from the tree), payload in a format (text, JSON with
//! validation, hex, base64, or JSON encoded as CBOR, MessagePack or Protobuf through a decoder
//! binding), QoS, retain, MQTT 5 properties; a history of what was sent and named templates —
//! "Postman for MQTT".
//!
//! Owns: the form, the history and the templates (the app saves them through the runtime; this panel
//! does no I/O). Sends [`Command::Publish`] with `try_send`; a full channel shows "busy", never blocks.

use bytes::Bytes;
use egui::RichText;
use tokio::sync::mpsc;

use super::publish_encode::{self, EncodeAs, Encoded};
use super::publish_form::properties_ui;
use crate::model::decode::Decoders;
use crate::model::publish::{PayloadFormat, PublishForm, Template};
use crate::model::{Conn, ConnId, ConnStatus, NodeId, QoS, TopicTree, payload};
use crate::protocol::{Command, PublishId, PublishOutcome, PublishRequest};

/// Most entries kept in the publish history.
pub const HISTORY_LEN: usize = 100;

/// The publish panel.
#[derive(Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "requests to the app and form flags, independent of each other")]
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
    /// Set when "On a timer…" was pressed, so the app opens the timed publishing window.
    pub timer_requested: bool,
    /// Name typed for a new template.
    template_name: String,
    topic_error: Option<String>,
    payload_error: Option<String>,
    /// What became of the latest publish (or why it was not sent).
    status: Option<Status>,
    /// Publishes sent to the runtime whose outcome has not come back (or that wait, queued).
    pending: Vec<Pending>,
    /// Id of the next request (ids start at 1; 0 means "no result wanted").
    last_id: PublishId,
    /// An empty retained publish waiting for the user's yes: it deletes the retained value.
    confirm_empty: Option<(PublishRequest, PublishForm)>,
    /// The payload format changed this frame (the payload is validated again).
    format_changed: bool,
    /// Embedded broker only: publish as this client id (empty: as `mqscope`), to test No Local
    /// and what a device would see of another's message. Not part of templates or history.
    pub as_client: String,
    /// How the typed payload becomes bytes: as typed, or JSON encoded through a binding.
    pub encode_as: EncodeAs,
    /// The typed JSON encoded, once per edit: its size or why it does not fit.
    encoded: Encoded,
}

/// The line under the Publish button.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Under way or done.
    Info(String),
    /// Not published.
    Error(String),
}

/// A publish the runtime has not answered yet.
#[derive(Clone, Debug)]
struct Pending {
    id: PublishId,
    conn_id: ConnId,
    conn_name: String,
    form: PublishForm,
    bytes: usize,
}

impl Pending {
    /// "4 bytes to home/t".
    fn what(&self) -> String {
        format!("{} to {}", crate::model::format::bytes(self.bytes as u64), self.form.topic)
    }
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

/// Completions of the level being typed: children of `parent` (a topic path, "" for the top
/// level) whose name starts with `typed`; each inserts the name, with a `/` if it has children.
fn completions(tree: &TopicTree, parent: Option<&str>, typed: &str, limit: usize) -> Vec<egui::Suggestion> {
    let parent_id = match parent {
        None => Some(NodeId::ROOT),
        Some(path) => tree.find_path(path),
    };
    let Some(parent_id) = parent_id else { return Vec::new() };
    let mut matches: Vec<_> = tree
        .node(parent_id)
        .children()
        .map(|c| tree.node(c))
        .filter(|n| n.name().starts_with(typed) && (n.name() != typed || n.has_children()))
        .collect();
    matches.sort_by_key(crate::model::NodeRef::name);
    matches.truncate(limit);
    matches
        .into_iter()
        .map(|n| {
            let insert = format!("{}{}", n.name(), if n.has_children() { "/" } else { "" });
            egui::Suggestion::new(insert.clone()).content(RichText::new(insert).monospace())
        })
        .collect()
}

/// What a queued publish is told.
fn queued_text(p: &Pending) -> String {
    format!("Queued: {} is not connected; {} goes out once it is.", p.conn_name, p.what())
}

/// A connection's state in a few words.
fn conn_state(status: &ConnStatus) -> String {
    match status {
        ConnStatus::Connected => "connected".to_owned(),
        ConnStatus::Connecting | ConnStatus::Idle => "connecting".to_owned(),
        ConnStatus::Reconnecting { in_secs, .. } => format!("reconnecting in {in_secs} s"),
        ConnStatus::Disconnected { .. } => "disconnected".to_owned(),
    }
}

/// One line of text that is always laid out (blank when there is nothing to say), so that text
/// appearing there never moves the controls below; a long text is cut, in full on hover.
fn status_line(ui: &mut egui::Ui, status: Option<&Status>) {
    let (text, color) = match status {
        Some(Status::Info(t)) => (t.as_str(), ui.visuals().weak_text_color()),
        Some(Status::Error(t)) => (t.as_str(), super::ALERT_COLOR),
        None => ("", ui.visuals().weak_text_color()),
    };
    super::error_line(ui, text, color);
}

/// The payload editor under its label (the label is its accessible name).
fn payload_edit(ui: &mut egui::Ui, text: &mut String, label: &str, hint: &str) -> egui::Response {
    let label = ui.label(label);
    let edit = egui::TextEdit::multiline(text)
        .id_salt("publish-payload")
        .hint_text(hint)
        .code_editor()
        .desired_rows(6)
        .desired_width(f32::INFINITY);
    ui.add(edit).labelled_by(label.id)
}

impl PublishPanel {
    /// Fill the form with a topic and payload (from the tree's "Publish to this topic").
    pub fn prefill(&mut self, topic: String, payload: String) {
        self.form.topic = topic;
        self.form.payload = payload;
        self.form.format = PayloadFormat::Text;
    }

    /// The latest publish's status line, if any.
    #[must_use]
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// The runtime's answer to a publish: say what happened, and file what went out in the history.
    pub fn result(&mut self, id: PublishId, outcome: PublishOutcome) {
        let Some(i) = self.pending.iter().position(|p| p.id == id) else { return };
        let latest = id == self.last_id;
        let p = if outcome == PublishOutcome::Queued { self.pending[i].clone() } else { self.pending.remove(i) };
        // Filed in the history only once it really went out (a queued one, when it does).
        let went_out = matches!(outcome, PublishOutcome::Sent | PublishOutcome::Delivered);
        let status = match outcome {
            PublishOutcome::Queued => Status::Info(queued_text(&p)),
            PublishOutcome::Sent => Status::Info(format!("Sent {} on {} (QoS 0: the broker does not acknowledge).", p.what(), p.conn_name)),
            PublishOutcome::Delivered if p.conn_id == ConnId::LOCAL => {
                Status::Info(format!("Published {} on {} (taken by the embedded broker).", p.what(), p.conn_name))
            }
            PublishOutcome::Delivered => {
                let ack = if p.form.qos == QoS::ExactlyOnce { "PUBCOMP" } else { "PUBACK" };
                Status::Info(format!("Delivered to the broker ({ack}): {} on {}.", p.what(), p.conn_name))
            }
            PublishOutcome::Refused(reason) => Status::Error(format!("Not published to {} on {}: {reason}", p.form.topic, p.conn_name)),
        };
        if went_out {
            self.file(p.form);
        }
        if latest {
            self.status = Some(status);
        }
    }

    /// "Not published: see the form." no longer applies once the form is edited.
    fn clear_refusal(&mut self) {
        if matches!(self.status, Some(Status::Error(_))) {
            self.status = None;
        }
    }

    /// Put a sent form at the top of the history.
    fn file(&mut self, form: PublishForm) {
        self.history.retain(|h| h != &form);
        self.history.insert(0, form);
        self.history.truncate(HISTORY_LEN);
        self.templates_dirty = true;
    }

    /// Draw the panel; publishes on `conn` through `commands`.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn: &Conn, commands: &mpsc::Sender<Command>, decoders: &Decoders) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Publish");
            ui.label(RichText::new(format!("to {}", conn.name)).strong()).on_hover_text(format!(
                "{} — {}",
                conn.address,
                conn_state(&conn.status)
            ));
        });
        if !conn.status.is_connected() {
            ui.colored_label(
                super::RETAINED_COLOR,
                format!("{} is {}: messages wait until it connects.", conn.name, conn_state(&conn.status)),
            );
        }
        // Both ways: a wide row scrolls here instead of widening the panel over the inspector.
        egui::ScrollArea::both().id_salt("publish-scroll").show(ui, |ui| {
            let encodes = self.form_ui(ui, &conn.tree, decoders);
            if conn.id == ConnId::LOCAL {
                ui.horizontal(|ui| {
                    let label = ui.label("As client id");
                    ui.add(egui::TextEdit::singleline(&mut self.as_client).hint_text("mqscope").desired_width(140.0))
                        .labelled_by(label.id)
                        .on_hover_text(
                            "Publish as if this client had: the inspector shows it as the publisher, and its own \
                             subscriptions with No Local do not receive the message. Empty: as mqscope.",
                        );
                });
            }
            let shortcut = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
            let hover =
                if encodes { format!("Publish on {} (Ctrl+Enter)", conn.name) } else { "The JSON does not encode: see above".to_owned() };
            let clicked =
                ui.add_enabled(encodes, egui::Button::new("Publish")).on_hover_text(&hover).on_disabled_hover_text(&hover).clicked();
            if clicked || (shortcut && encodes) {
                self.publish(conn, commands, decoders);
            }
            if ui
                .small_button("On a timer…")
                .on_hover_text("Publish this message every N ms, with {{counter}}, {{random(a,b)}}, … substituted")
                .clicked()
            {
                self.timer_requested = true;
            }
            // One line, always there: a new status never moves what is below.
            status_line(ui, self.status.as_ref());
            ui.separator();
            self.templates_ui(ui);
            self.history_ui(ui, conn, commands, decoders);
        });
        self.confirm_ui(ui.ctx(), conn, commands);
    }

    /// Ask before an empty retained publish: it deletes the topic's retained value.
    fn confirm_ui(&mut self, ctx: &egui::Context, conn: &Conn, commands: &mpsc::Sender<Command>) {
        let Some((req, _)) = &self.confirm_empty else { return };
        let text = format!(
            "Publish an empty retained message to {} on {}? The broker then deletes that topic's retained value.",
            req.topic, conn.name
        );
        let answer = super::confirm_modal(ctx, "confirm-empty-retained", &text, "Delete retained value");
        if let Some(yes) = answer
            && let Some((req, form)) = self.confirm_empty.take()
        {
            if yes {
                self.send(req, form, conn, commands);
            } else {
                self.status = Some(Status::Info("Not published: the retained value stays.".to_owned()));
            }
        }
    }

    /// The form; false while the typed JSON does not encode as the encoding in force asks.
    fn form_ui(&mut self, ui: &mut egui::Ui, tree: &TopicTree, decoders: &Decoders) -> bool {
        let f = &mut self.form;
        let topic_label = ui.label("Topic");
        // egui's completion popup: Enter, Tab or a click accepts; arrows move; Esc dismisses. It floats
        // below the field, so the form's layout never shifts under the pointer.
        let output = egui::CompletionPopup::new(egui::Id::unique("publish-topic"))
            .word_boundary(|c| c == '/')
            .align(egui::RectAlign::BOTTOM_START)
            .show(
                ui,
                egui::TextEdit::singleline(&mut f.topic).hint_text("e.g. home/kitchen/temp").code_editor().desired_width(f32::INFINITY),
                |query| {
                    if query.text.is_empty() {
                        return Vec::new();
                    }
                    let before: String = query.text.chars().take(query.word_range.start.0).collect();
                    completions(tree, before.strip_suffix('/'), query.word, 8)
                },
            );
        let topic_edit = output.text_edit.response.response.labelled_by(topic_label.id);
        if topic_edit.changed() || output.accepted.is_some() {
            // Validated as typed; "Enter a topic." only once Publish was pressed.
            self.topic_error = if f.topic.is_empty() { None } else { topic_problem(&f.topic).map(str::to_owned) };
            if matches!(self.status, Some(Status::Error(_))) {
                self.status = None;
            }
        }
        super::error_line(ui, self.topic_error.as_deref().unwrap_or_default(), super::ALERT_COLOR);
        ui.horizontal_wrapped(|ui| {
            let before = f.format;
            egui::ComboBox::from_label("payload format").selected_text(f.format.label()).show_ui(ui, |ui| {
                for format in PayloadFormat::ALL {
                    ui.selectable_value(&mut f.format, format, format.label());
                }
            });
            self.format_changed = before != f.format;
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
        // On a line of its own: in the panel's width it would wrap between its label and its box.
        ui.horizontal(|ui| publish_encode::picker_ui(ui, &mut self.encode_as, decoders));
        let mut encodes = true;
        if let Some((name, bytes)) = &self.file_payload {
            let mut clear = false;
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("Payload from file {name} ({})", crate::model::format::bytes(bytes.len() as u64))).strong());
                clear = ui.small_button("Clear file").on_hover_text("Go back to the typed payload").clicked();
            });
            ui.monospace(payload::preview(bytes, 60));
            if clear {
                self.file_payload = None;
            }
        } else if let Some(encoding) = self.encode_as.resolve(decoders, &self.form.topic) {
            encodes = self.json_editor_ui(ui, decoders, &encoding);
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
        encodes
    }

    /// The payload as JSON to encode: the editor, then the encoded size or why it does not encode.
    fn json_editor_ui(&mut self, ui: &mut egui::Ui, decoders: &Decoders, encoding: &publish_encode::Encoding) -> bool {
        let what = encoding.1.as_ref().map_or_else(|| encoding.0.label().to_owned(), |p| format!("{} {}", encoding.0.label(), p.message));
        let hint = "{\"temperature\": 21.5, \"raw\": {\"$bytes\": \"AAE=\"}}";
        let edit = payload_edit(ui, &mut self.form.payload, &format!("JSON payload, published as {what}"), hint);
        if edit.changed() {
            self.clear_refusal();
        }
        let outcome = self.encoded.update(decoders, encoding, &self.form.payload);
        publish_encode::outcome_ui(ui, encoding, &outcome);
        outcome.is_ok()
    }

    /// The payload text editor, validated as typed.
    fn payload_editor_ui(&mut self, ui: &mut egui::Ui) {
        let f = &mut self.form;
        let edit = payload_edit(ui, &mut f.payload, &format!("{} payload", f.format.label()), f.format.hint());
        if edit.changed() {
            self.clear_refusal();
        }
        let f = &mut self.form;
        if edit.changed() || self.format_changed {
            self.payload_error = f.payload_bytes().err();
        }
        super::error_line(ui, self.payload_error.as_deref().unwrap_or_default(), super::ALERT_COLOR);
    }

    /// Validate, ask before an empty retained publish, and send.
    fn publish(&mut self, conn: &Conn, commands: &mpsc::Sender<Command>, decoders: &Decoders) {
        self.topic_error = topic_problem(&self.form.topic).map(str::to_owned);
        let payload = match (&self.file_payload, self.encode_as.resolve(decoders, &self.form.topic)) {
            (Some((_, bytes)), _) => Ok(bytes.to_vec()),
            (None, Some(encoding)) => publish_encode::encode(decoders, &encoding, &self.form.payload),
            (None, None) => self.form.payload_bytes(),
        };
        self.payload_error = payload.as_ref().err().cloned();
        let meta = self.form.meta();
        if let Err(err) = &meta {
            self.payload_error.get_or_insert_with(|| err.clone());
        }
        let (None, Ok(payload), Ok(meta)) = (&self.topic_error, payload, meta) else {
            // An old "Published …" line next to a new error would be untrue.
            self.status = Some(Status::Error("Not published: see the form.".to_owned()));
            return;
        };
        let mut meta = meta;
        let as_client = self.as_client.trim();
        if conn.id == ConnId::LOCAL && !as_client.is_empty() {
            // The embedded broker publishes under this client id (`broker::router::publish_internal`).
            meta.publisher = Some(as_client.into());
        }
        let req = PublishRequest {
            id: 0,
            conn_id: conn.id,
            topic: self.form.topic.clone(),
            payload: Bytes::from(payload),
            qos: self.form.qos,
            retain: self.form.retain,
            meta,
        };
        if req.payload.is_empty() && req.retain {
            self.confirm_empty = Some((req, self.form.clone()));
            return;
        }
        let form = self.form.clone();
        self.send(req, form, conn, commands);
    }

    /// Hand a request to the runtime; its outcome comes back through [`Self::result`].
    fn send(&mut self, mut req: PublishRequest, form: PublishForm, conn: &Conn, commands: &mpsc::Sender<Command>) {
        self.last_id += 1;
        req.id = self.last_id;
        let pending = Pending { id: req.id, conn_id: conn.id, conn_name: conn.name.clone(), form, bytes: req.payload.len() };
        self.status = Some(match commands.try_send(Command::Publish(req)) {
            Ok(()) => {
                // A session waiting to reconnect takes the request only after its back-off: say now
                // what it will report then (a closed one refuses at once instead).
                let waiting = matches!(conn.status, ConnStatus::Reconnecting { .. } | ConnStatus::Connecting | ConnStatus::Idle);
                let text = if waiting && conn.id != ConnId::LOCAL {
                    queued_text(&pending)
                } else {
                    format!("Publishing {} on {}…", pending.what(), pending.conn_name)
                };
                self.pending.push(pending);
                Status::Info(text)
            }
            Err(mpsc::error::TrySendError::Full(_)) => Status::Error("Not published: the runtime is busy; try again.".to_owned()),
            Err(mpsc::error::TrySendError::Closed(_)) => Status::Error("Not published: the runtime has stopped.".to_owned()),
        });
    }

    fn templates_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new(format!("Templates ({})", self.templates.len())).id_salt("templates").default_open(true).show(
            ui,
            |ui| {
                ui.horizontal_wrapped(|ui| {
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
                        if super::named_button(ui, "Load", &format!("Load template {}", t.name)).clicked() {
                            self.form = t.form.clone();
                        }
                        if super::named_button(ui, "Delete", &format!("Delete template {}", t.name)).clicked() {
                            remove = Some(i);
                        }
                        ui.label(RichText::new(&t.name).strong()).on_hover_text(format!(
                            "{} = {}",
                            t.form.topic,
                            payload::preview(t.form.payload.as_bytes(), 80)
                        ));
                        ui.add(egui::Label::new(RichText::new(&t.form.topic).monospace().weak()).truncate());
                    });
                }
                if let Some(i) = remove {
                    self.templates.remove(i);
                    self.templates_dirty = true;
                }
            },
        );
    }

    fn history_ui(&mut self, ui: &mut egui::Ui, conn: &Conn, commands: &mpsc::Sender<Command>, decoders: &Decoders) {
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
                    // Cut to the panel's width: a long topic never widens the panel over the inspector.
                    ui.add(egui::Label::new(RichText::new(&h.topic).monospace()).truncate());
                    // The tree's font, so that ↵ and friends show the same here.
                    ui.add(egui::Label::new(RichText::new(payload::preview(h.payload.as_bytes(), 40)).monospace().weak()).truncate());
                });
            }
            if let Some(i) = load.or(resend) {
                self.form = self.history[i].clone();
            }
            if resend.is_some() {
                self.publish(conn, commands, decoders);
            }
        });
    }
}
