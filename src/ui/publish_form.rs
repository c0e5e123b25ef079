//! The editor for a publish form's MQTT 5 properties.

use egui::RichText;

use crate::model::publish::PublishForm;

/// The MQTT 5 properties editor.
pub fn properties_ui(form: &mut PublishForm, ui: &mut egui::Ui) {
    egui::Grid::new("v5-props-grid").num_columns(2).show(ui, |ui| {
        for (label, value, hint) in [
            ("Content type", &mut form.content_type, "application/json"),
            ("Message expiry (s)", &mut form.expiry_secs, "none"),
            ("Response topic", &mut form.response_topic, "reply/to"),
            ("Correlation data", &mut form.correlation, "request-42"),
        ] {
            let l = ui.label(label);
            ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(120.0)).labelled_by(l.id);
            ui.end_row();
        }
    });
    ui.checkbox(&mut form.utf8, "Payload is UTF-8 (format indicator)");
    user_properties_ui(ui, &mut form.user_properties, "User property");
}

/// Editable key/value pairs; `name` prefixes each field's accessible name ("User property 1 key").
pub fn user_properties_ui(ui: &mut egui::Ui, props: &mut Vec<(String, String)>, name: &str) {
    ui.label(RichText::new("User properties").strong());
    let mut remove = None;
    for (i, (k, v)) in props.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(k).hint_text("key").desired_width(90.0))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, format!("{name} {} key", i + 1)));
            ui.add(egui::TextEdit::singleline(v).hint_text("value").desired_width(90.0))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, format!("{name} {} value", i + 1)));
            let remove_name = format!("Remove {name} {}", i + 1);
            let r = ui.small_button("x").on_hover_text("Remove this property");
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &remove_name));
            if r.clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        props.remove(i);
    }
    if ui.small_button(format!("Add {}", name.to_lowercase())).clicked() {
        props.push((String::new(), String::new()));
    }
}
