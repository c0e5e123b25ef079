//! The Sparkplug B command editor: a window with a metric list (name, datatype, value) for one
//! edge node (NCMD) or device (DCMD), prefilled from its BIRTH; each value is checked against its
//! datatype and explained next to the field, and Send stays disabled until all fit. Sends the
//! encoded payload as a [`Command::Publish`] (QoS 0, not retained, as Sparkplug wants commands) and
//! shows its outcome.
//!
//! Owns: [`CommandWindow`] (the open editor, if any, and the last send's status). The encoding is
//! the model's ([`crate::model::decode::sparkplug::encode`]); nothing here waits.

use std::time::SystemTime;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::model::decode::sparkplug::encode::{self, COMMAND_DATATYPES, CommandMetric};
use crate::model::decode::sparkplug::{NAMESPACE, datatype_name};
use crate::model::{Conn, ConnId, MessageMeta, QoS};
use crate::protocol::{Command, PublishId, PublishOutcome, PublishRequest};

/// Publish ids of commands start here, far above the publish panel's (which count from 1), so
/// that each outcome finds its sender.
const FIRST_ID: PublishId = 1 << 48;

/// One metric being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricRow {
    /// Metric name.
    pub name: String,
    /// Sparkplug datatype code.
    pub datatype: u32,
    /// The value as typed.
    pub value: String,
}

/// The editor of one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandForm {
    /// Connection to publish on, and its name.
    pub conn_id: ConnId,
    conn_name: String,
    /// `spBv1.0/group/NCMD/node` or `spBv1.0/group/DCMD/node/device`.
    pub topic: String,
    /// The metrics the BIRTH named: (name, datatype, value as text).
    pub known: Vec<(String, u32, String)>,
    /// The metrics to send.
    pub rows: Vec<MetricRow>,
}

/// What the last Send came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendStatus {
    /// Handed to the runtime; waiting for its outcome.
    Sending(PublishId, String),
    /// The outcome, as a sentence.
    Done(String),
    /// Not sent, and why.
    Failed(String),
}

/// The command editor window.
#[derive(Debug)]
pub struct CommandWindow {
    /// The editor, while open.
    pub form: Option<CommandForm>,
    /// The last Send's status.
    pub status: Option<SendStatus>,
    /// Id of the last command sent.
    last_id: PublishId,
}

impl Default for CommandWindow {
    fn default() -> Self {
        Self { form: None, status: None, last_id: FIRST_ID }
    }
}

impl CommandWindow {
    /// Open the editor for `node` of `group` (or its `device`) on `conn`, with the metrics of the
    /// BIRTH the tree keeps; the first is prefilled with its BIRTH value.
    pub fn open(&mut self, conn: &Conn, group: &str, node: &str, device: Option<&str>) {
        let birth = match device {
            Some(d) => format!("{NAMESPACE}/{group}/DBIRTH/{node}/{d}"),
            None => format!("{NAMESPACE}/{group}/NBIRTH/{node}"),
        };
        let known = conn
            .tree
            .find(&birth)
            .and_then(|id| conn.tree.node(id).latest())
            .map(|m| encode::birth_metrics(&m.payload))
            .unwrap_or_default();
        let first = known.first().map_or_else(
            || MetricRow { name: String::new(), datatype: 11, value: String::new() },
            |(name, datatype, value)| MetricRow { name: name.clone(), datatype: *datatype, value: value.clone() },
        );
        self.form = Some(CommandForm {
            conn_id: conn.id,
            conn_name: conn.name.clone(),
            topic: encode::command_topic(group, node, device),
            known,
            rows: vec![first],
        });
        self.status = None;
    }

    /// The runtime's answer to a publish; false if it was not one of ours.
    pub fn result(&mut self, id: PublishId, outcome: &PublishOutcome) -> bool {
        let ours = id > FIRST_ID && id <= self.last_id;
        let Some(SendStatus::Sending(sent, what)) = &self.status else { return ours };
        if *sent != id {
            return ours;
        }
        let what = what.clone();
        self.status = Some(match outcome {
            PublishOutcome::Sent => SendStatus::Done(format!("Sent {what} (QoS 0: the broker does not acknowledge).")),
            PublishOutcome::Delivered => SendStatus::Done(format!("Published {what}.")),
            PublishOutcome::Queued => SendStatus::Done(format!("Queued {what}: the connection is down; it goes out once it is up.")),
            PublishOutcome::Refused(reason) => SendStatus::Failed(format!("Not published: {reason}")),
        });
        true
    }

    /// Draw the window (if open); `now` stamps a command sent.
    pub fn ui(&mut self, ctx: &egui::Context, commands: &mpsc::Sender<Command>, now: SystemTime) {
        let Some(form) = &mut self.form else { return };
        let mut open = true;
        let mut send = None;
        egui::Window::new("Send a Sparkplug command")
            // Over the publish panel (a command is a publish), clear of the Sparkplug tab below.
            .pivot(egui::Align2::RIGHT_TOP)
            .default_pos(ctx.content_rect().right_top() + egui::vec2(-12.0, 90.0))
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(egui::RichText::new(&form.topic).monospace());
                ui.weak(format!("on {} · QoS 0, not retained (Sparkplug commands are never retained)", form.conn_name));
                ui.separator();
                let valid = rows_ui(ui, form);
                ui.horizontal(|ui| {
                    add_menu(ui, form);
                    let ready = valid.as_ref().is_ok_and(|m| !m.is_empty());
                    let hover = match &valid {
                        Ok(m) if m.is_empty() => "Add a metric first".to_owned(),
                        Ok(_) => format!("Publish to {}", form.topic),
                        Err(reason) => reason.clone(),
                    };
                    if ui.add_enabled(ready, egui::Button::new("Send")).on_hover_text(&hover).on_disabled_hover_text(&hover).clicked() {
                        send = valid.ok();
                    }
                });
                match &self.status {
                    Some(SendStatus::Sending(_, what)) => ui.label(format!("Sending {what}…")),
                    Some(SendStatus::Done(text)) => ui.label(text),
                    Some(SendStatus::Failed(text)) => ui.colored_label(super::ALERT_COLOR, text),
                    None => ui.label(""),
                };
            });
        if let Some(metrics) = send {
            self.send(metrics, commands, now);
        }
        if !open {
            self.form = None;
        }
    }

    /// Encode and hand the command to the runtime.
    fn send(&mut self, metrics: Vec<CommandMetric>, commands: &mpsc::Sender<Command>, now: SystemTime) {
        let Some(form) = &self.form else { return };
        let ms = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let what = format!("{} metric{} to {} on {}", metrics.len(), if metrics.len() == 1 { "" } else { "s" }, form.topic, form.conn_name);
        self.last_id += 1;
        let req = PublishRequest {
            id: self.last_id,
            conn_id: form.conn_id,
            topic: form.topic.clone(),
            payload: Bytes::from(encode::encode_command(ms, metrics)),
            qos: QoS::AtMostOnce,
            retain: false,
            meta: MessageMeta::default(),
        };
        self.status = Some(match commands.try_send(Command::Publish(req)) {
            Ok(()) => SendStatus::Sending(self.last_id, what),
            Err(mpsc::error::TrySendError::Full(_)) => SendStatus::Failed("Not sent: the runtime is busy; try again.".to_owned()),
            Err(mpsc::error::TrySendError::Closed(_)) => SendStatus::Failed("Not sent: the runtime has stopped.".to_owned()),
        });
    }
}

/// The metric rows, each value checked against its datatype (the reason beside the field);
/// returns the metrics to send, or the first reason why not.
fn rows_ui(ui: &mut egui::Ui, form: &mut CommandForm) -> Result<Vec<CommandMetric>, String> {
    let mut metrics = Ok(Vec::new());
    let mut remove = None;
    egui::Grid::new("sparkplug-command-rows").num_columns(5).spacing([6.0, 4.0]).show(ui, |ui| {
        ui.strong("Name");
        ui.strong("Datatype");
        ui.strong("Value");
        ui.label("");
        ui.label("");
        ui.end_row();
        for (i, row) in form.rows.iter_mut().enumerate() {
            let n = i + 1;
            named_edit(ui, &mut row.name, 180.0, &format!("Metric {n} name"));
            let combo =
                egui::ComboBox::from_id_salt(("sparkplug-datatype", i)).selected_text(datatype_name(row.datatype)).show_ui(ui, |ui| {
                    for dt in COMMAND_DATATYPES {
                        ui.selectable_value(&mut row.datatype, dt, datatype_name(dt));
                    }
                });
            let dt_name = format!("Metric {n} datatype");
            combo.response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, &dt_name));
            named_edit(ui, &mut row.value, 140.0, &format!("Metric {n} value"));
            let checked = if row.name.trim().is_empty() {
                Err("a metric needs a name".to_owned())
            } else {
                encode::parse_value(row.datatype, &row.value)
            };
            match checked {
                Ok(value) => {
                    ui.label("");
                    if let Ok(list) = &mut metrics {
                        list.push(CommandMetric { name: row.name.trim().to_owned(), datatype: row.datatype, value });
                    }
                }
                Err(reason) => {
                    ui.colored_label(super::ALERT_COLOR, &reason);
                    if metrics.is_ok() {
                        metrics = Err(format!("Metric {n}: {reason}"));
                    }
                }
            }
            let name = format!("Remove metric {n}");
            let button = ui.small_button("x").on_hover_text(&name);
            button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if button.clicked() {
                remove = Some(i);
            }
            ui.end_row();
        }
    });
    if let Some(i) = remove {
        form.rows.remove(i);
    }
    metrics
}

/// "Add metric": one of the BIRTH's metrics (name, datatype and current value), or an empty row.
fn add_menu(ui: &mut egui::Ui, form: &mut CommandForm) {
    ui.menu_button("Add metric", |ui| {
        for (name, datatype, value) in &form.known {
            let text = egui::RichText::new(format!("{name} ({})", datatype_name(*datatype))).monospace();
            if ui.button(text).on_hover_text(format!("In the BIRTH: {value}")).clicked() {
                form.rows.push(MetricRow { name: name.clone(), datatype: *datatype, value: value.clone() });
                ui.close();
            }
        }
        if !form.known.is_empty() {
            ui.separator();
        }
        if ui.button("Another metric").on_hover_text("A metric the BIRTH did not name").clicked() {
            form.rows.push(MetricRow { name: String::new(), datatype: 11, value: String::new() });
            ui.close();
        }
    });
}

/// A one-line text field whose accessible name is `name`.
fn named_edit(ui: &mut egui::Ui, text: &mut String, width: f32, name: &str) {
    let response = ui.add_sized([width, ui.spacing().interact_size.y], egui::TextEdit::singleline(text));
    let value = text.clone();
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::labeled(egui::Role::TextInput, true, name);
        info.current_text_value = Some(value.clone());
        info
    });
}
