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
            ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(150.0)).labelled_by(l.id);
            ui.end_row();
        }
    });
    ui.checkbox(&mut form.utf8, "Payload is UTF-8 (format indicator)");
    ui.label(RichText::new("User properties").strong());
    let mut remove = None;
    for (i, (k, v)) in form.user_properties.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(k).hint_text("key").desired_width(90.0))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, format!("User property {} key", i + 1)));
            ui.add(egui::TextEdit::singleline(v).hint_text("value").desired_width(90.0))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, format!("User property {} value", i + 1)));
            if ui.small_button("x").on_hover_text("Remove this property").clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        form.user_properties.remove(i);
    }
    if ui.small_button("Add user property").clicked() {
        form.user_properties.push((String::new(), String::new()));
    }
}
