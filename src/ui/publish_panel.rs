//! Publish by hand: topic, payload, QoS, retain; the Publish button or Ctrl+Enter.
//!
//! Owns: the form's fields and the last error or result. Sends [`Command::Publish`] with
//! `try_send`; a full command channel shows "busy", never blocks.

use egui::RichText;
use tokio::sync::mpsc;

use crate::model::{ConnId, MessageMeta, QoS};
use crate::protocol::{Command, PublishRequest};

/// The publish form.
#[derive(Debug, Default)]
pub struct PublishPanel {
    /// Topic to publish to.
    pub topic: String,
    /// Payload text.
    pub payload: String,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// Error under the topic field.
    topic_error: Option<String>,
    /// Result of the last publish.
    status: Option<String>,
}

/// Why a topic cannot be published to, if it cannot (MQTT-4.7.3-1, MQTT-3.3.2-2).
#[must_use]
pub fn topic_problem(topic: &str) -> Option<&'static str> {
    if topic.is_empty() {
        Some("Enter a topic.")
    } else if topic.contains(['+', '#']) {
        Some("A topic name cannot contain the wildcards + or #.")
    } else if topic.len() > 65_535 {
        Some("A topic is at most 65,535 bytes.")
    } else if topic.contains('\0') {
        Some("A topic cannot contain the null character.")
    } else {
        None
    }
}

impl PublishPanel {
    /// Draw the form; publishes on `conn_id` through `commands`.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, commands: &mpsc::Sender<Command>) {
        ui.strong("Publish");
        ui.add_space(4.0);
        let topic_label = ui.label("Topic");
        ui.add(egui::TextEdit::singleline(&mut self.topic).hint_text("home/kitchen/temp").code_editor().desired_width(f32::INFINITY))
            .labelled_by(topic_label.id);
        if let Some(err) = &self.topic_error {
            ui.colored_label(super::ALERT_COLOR, err);
        }
        let payload_label = ui.label("Payload");
        ui.add(egui::TextEdit::multiline(&mut self.payload).hint_text("21.5").code_editor().desired_rows(6).desired_width(f32::INFINITY))
            .labelled_by(payload_label.id);
        ui.horizontal(|ui| {
            ui.label("QoS");
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                ui.selectable_value(&mut self.qos, qos, qos.as_u8().to_string()).on_hover_text(qos.describe());
            }
            ui.checkbox(&mut self.retain, "Retain");
        });
        let shortcut = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
        let clicked = ui.button("Publish").on_hover_text("Publish (Ctrl+Enter)").clicked();
        if clicked || shortcut {
            self.publish(conn_id, commands);
        }
        if let Some(status) = &self.status {
            ui.label(RichText::new(status).weak());
        }
    }

    /// Validate and send.
    fn publish(&mut self, conn_id: ConnId, commands: &mpsc::Sender<Command>) {
        self.topic_error = topic_problem(&self.topic).map(str::to_owned);
        if self.topic_error.is_some() {
            return;
        }
        let req = PublishRequest {
            conn_id,
            topic: self.topic.clone(),
            payload: self.payload.clone().into_bytes().into(),
            qos: self.qos,
            retain: self.retain,
            meta: MessageMeta::default(),
        };
        self.status = Some(match commands.try_send(Command::Publish(req)) {
            Ok(()) => format!("Published {} bytes to {}", self.payload.len(), self.topic),
            Err(mpsc::error::TrySendError::Full(_)) => "Busy: the runtime is behind; try again.".to_owned(),
            Err(mpsc::error::TrySendError::Closed(_)) => "The runtime has stopped.".to_owned(),
        });
    }
}
