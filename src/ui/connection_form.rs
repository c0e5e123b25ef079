//! The profile form: one labelled row per field, each field's error right under it.

use egui::{DragValue, RichText, TextEdit};

use crate::model::QoS;
use crate::model::profile::{FieldError, MqttVersion, Profile, RetainHandling, SubscriptionDef, Transport, generate_client_id};
use crate::protocol::FileField;

/// A labelled row; returns nothing, shows the field's errors beneath.
fn row(ui: &mut egui::Ui, errors: &[FieldError], label: &'static str, add: impl FnOnce(&mut egui::Ui, egui::Id)) {
    ui.horizontal(|ui| {
        let l = ui.add_sized([150.0, 18.0], egui::Label::new(label));
        add(ui, l.id);
    });
    for e in errors.iter().filter(|e| e.field == label) {
        ui.colored_label(super::ALERT_COLOR, &e.message);
    }
}

fn text(ui: &mut egui::Ui, label: egui::Id, value: &mut String, hint: &str) {
    ui.add(TextEdit::singleline(value).hint_text(hint).desired_width(260.0)).labelled_by(label);
}

fn qos_picker(ui: &mut egui::Ui, qos: &mut QoS, name: &str) {
    for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let r = ui.selectable_value(qos, q, q.badge()).on_hover_text(q.describe());
        let label = format!("{name} {}", q.badge());
        r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, *qos == q, &label));
    }
}

/// Draw the form for `p`; returns a field whose "Pick…" button was pressed.
#[expect(clippy::too_many_lines, reason = "one labelled row per profile field, in form order")]
pub fn ui(ui: &mut egui::Ui, p: &mut Profile, errors: &[FieldError]) -> Option<FileField> {
    let mut pick = None;
    let v5 = p.version == MqttVersion::V5;
    ui.heading("Broker");
    row(ui, errors, "Name", |ui, l| text(ui, l, &mut p.name, "plant broker"));
    row(ui, errors, "Transport", |ui, _| {
        for t in Transport::ALL {
            if ui.selectable_label(p.transport == t, t.scheme()).clicked() && p.transport != t {
                if p.port == p.transport.default_port() {
                    p.port = t.default_port();
                }
                p.transport = t;
            }
        }
    });
    row(ui, errors, "Host", |ui, l| text(ui, l, &mut p.host, "broker.example.com"));
    row(ui, errors, "Port", |ui, l| {
        ui.add(DragValue::new(&mut p.port).range(0..=65_535)).labelled_by(l);
    });
    if p.transport.is_websocket() {
        row(ui, errors, "Path", |ui, l| text(ui, l, &mut p.ws_path, "/mqtt"));
    }
    row(ui, errors, "MQTT version", |ui, _| {
        ui.selectable_value(&mut p.version, MqttVersion::V311, "3.1.1");
        ui.selectable_value(&mut p.version, MqttVersion::V5, "5.0");
    });
    row(ui, errors, "Client ID", |ui, l| {
        text(ui, l, &mut p.client_id, "mqscope-1234abcd");
        if ui.small_button("Regenerate").clicked() {
            p.client_id = generate_client_id(super::clock_seed());
        }
    });
    ui.heading("Authentication");
    row(ui, errors, "Username", |ui, l| text(ui, l, &mut p.username, "(none)"));
    row(ui, errors, "Password", |ui, l| {
        ui.add(TextEdit::singleline(&mut p.password).password(true).desired_width(260.0)).labelled_by(l);
        ui.checkbox(&mut p.save_password, "save it").on_hover_text("Keep the password in the profile file (readable only by you)");
    });
    ui.heading("Session");
    row(ui, errors, "Keep alive", |ui, l| {
        ui.add(DragValue::new(&mut p.keep_alive_secs).range(0..=65_535).suffix(" s")).labelled_by(l);
    });
    row(ui, errors, "Clean start", |ui, _| {
        ui.checkbox(&mut p.clean_start, if v5 { "start a new session" } else { "clean session" });
    });
    if v5 {
        row(ui, errors, "Session expiry", |ui, l| {
            ui.add(DragValue::new(&mut p.session_expiry_secs).suffix(" s")).labelled_by(l);
        });
    }
    row(ui, errors, "Connect timeout", |ui, l| {
        ui.add(DragValue::new(&mut p.connect_timeout_secs).range(0..=600).suffix(" s")).labelled_by(l);
    });
    row(ui, errors, "Reconnect", |ui, l| {
        ui.checkbox(&mut p.auto_reconnect, "automatically, back-off up to");
        ui.add(DragValue::new(&mut p.reconnect_max_secs).range(1..=3600).suffix(" s")).labelled_by(l);
    });
    row(ui, errors, "On launch", |ui, _| {
        ui.checkbox(&mut p.connect_on_launch, "connect when mqscope starts");
    });
    if p.transport.is_tls() {
        ui.heading("TLS");
        for (label, field, value) in [
            ("CA file", FileField::CaFile, &mut p.tls.ca_file),
            ("Client certificate", FileField::ClientCert, &mut p.tls.client_cert_file),
            ("Client key", FileField::ClientKey, &mut p.tls.client_key_file),
        ] {
            row(ui, errors, label, |ui, l| {
                text(ui, l, value, "(none)");
                let name = format!("Pick {label}");
                let r = ui.small_button("Pick…");
                r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                if r.clicked() {
                    pick = Some(field);
                }
            });
        }
        row(ui, errors, "Server name", |ui, l| text(ui, l, &mut p.tls.server_name, "(the host)"));
        row(ui, errors, "Verification", |ui, _| {
            ui.checkbox(&mut p.tls.insecure_skip_verify, "skip certificate verification");
        });
        if p.tls.insecure_skip_verify {
            ui.colored_label(
                super::ALERT_COLOR,
                "Any certificate is accepted: anyone in the path can read and change this traffic. For testing only.",
            );
        }
    }
    egui::CollapsingHeader::new("Last will").id_salt("will").show(ui, |ui| {
        row(ui, errors, "Will topic", |ui, l| text(ui, l, &mut p.will.topic, "(no will)"));
        row(ui, errors, "Will payload", |ui, l| text(ui, l, &mut p.will.payload, "offline"));
        row(ui, errors, "Will QoS", |ui, _| {
            qos_picker(ui, &mut p.will.qos, "Will QoS");
            ui.checkbox(&mut p.will.retain, "retain");
        });
        if v5 {
            row(ui, errors, "Will delay", |ui, l| {
                ui.add(DragValue::new(&mut p.will.delay_secs).suffix(" s")).labelled_by(l);
            });
            row(ui, errors, "Will content type", |ui, l| text(ui, l, &mut p.will.content_type, "text/plain"));
        }
    });
    if v5 {
        egui::CollapsingHeader::new("MQTT 5 connect properties").id_salt("v5-connect").show(ui, |ui| {
            let props = &mut p.properties;
            row(ui, errors, "Receive maximum", |ui, l| {
                ui.add(DragValue::new(&mut props.receive_maximum)).labelled_by(l);
            });
            row(ui, errors, "Maximum packet size", |ui, l| {
                ui.add(DragValue::new(&mut props.maximum_packet_size).suffix(" B")).labelled_by(l);
            });
            row(ui, errors, "Topic alias maximum", |ui, l| {
                ui.add(DragValue::new(&mut props.topic_alias_maximum)).labelled_by(l);
            });
            ui.checkbox(&mut props.request_problem_information, "Request problem information");
            super::publish_form::user_properties_ui(ui, &mut props.user_properties, "Connect property");
        });
    }
    ui.heading("Subscriptions");
    for e in errors.iter().filter(|e| e.field == "Subscriptions") {
        ui.colored_label(super::ALERT_COLOR, &e.message);
    }
    let mut remove = None;
    for (i, s) in p.subscriptions.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            let name = format!("Subscription {} filter", i + 1);
            ui.add(TextEdit::singleline(&mut s.filter).desired_width(180.0).code_editor())
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name));
            qos_picker(ui, &mut s.qos, &format!("Subscription {} QoS", i + 1));
            if v5 {
                ui.checkbox(&mut s.no_local, "no local");
                ui.checkbox(&mut s.retain_as_published, "retain as published");
                egui::ComboBox::from_id_salt(format!("rh-{i}"))
                    .selected_text(match s.retain_handling {
                        RetainHandling::OnSubscribe => "retained: send",
                        RetainHandling::IfNew => "retained: if new",
                        RetainHandling::Never => "retained: never",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut s.retain_handling, RetainHandling::OnSubscribe, "send at subscribe");
                        ui.selectable_value(&mut s.retain_handling, RetainHandling::IfNew, "only if new");
                        ui.selectable_value(&mut s.retain_handling, RetainHandling::Never, "never");
                    })
                    .response
                    .widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::ComboBox, true, format!("Subscription {} retain handling", i + 1))
                    });
            }
            let name = format!("Remove subscription {}", i + 1);
            let r = ui.small_button("Remove");
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if r.clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        p.subscriptions.remove(i);
    }
    if ui.small_button("Add subscription").clicked() {
        p.subscriptions.push(SubscriptionDef { filter: String::new(), ..SubscriptionDef::default() });
    }
    ui.label(RichText::new(p.url()).monospace().weak());
    pick
}
