//! Timed publishing and the sensor simulator, through egui_kittest with the real runtime and
//! embedded broker: started from the window, their messages land in the tree and in a chart.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::model::ConnId;

use crate::common::step_until;

fn type_into(h: &mut egui_kittest::Harness<'static, mqscope::app::ExplorerApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, label).type_text(text);
    h.run();
}

#[test]
fn simulated_sensors_publish_on_their_timer_and_plot() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Simulate sensors…").click();
    h.run();
    type_into(&mut h, "Devices", "3");
    type_into(&mut h, "Every (ms)", "20");
    type_into(&mut h, "Times", "5");
    h.get_by_label_contains("Next: sim/device-1/value");
    h.get_by_role_and_label(Role::Button, "Start on Local").click();
    h.step();
    step_until(&mut h, "five ticks of three devices", |app| {
        let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
        (1..=3).all(|d| tree.find(&format!("sim/device-{d}/value")).is_some_and(|id| tree.node(id).msg_count() == 5))
    });
    step_until(&mut h, "the timer to end", |app| app.timers.running_count() == 0);
    h.get_by_label_contains("sent 15 · ended");

    h.state_mut().plot("sim/device-2/value".into(), None);
    h.run();
    let app = h.state();
    let series = &app.store.charts.charts()[0].series[0];
    assert_eq!(series.points().len(), 5, "every value of device 2 is a point");
    assert!(series.points().iter().all(|p| (0.0..=40.0).contains(&p[1])), "sine around 20");
}

#[test]
fn the_publish_forms_message_repeats_with_its_counter() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_role_and_label(Role::TextInput, "Topic").focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Topic").type_text("counter/{{counter}}");
    h.get_by_role_and_label(Role::MultilineTextInput, "Text payload").click();
    h.run();
    h.get_by_role_and_label(Role::MultilineTextInput, "Text payload").type_text("n={{counter}}");
    h.run();
    h.get_by_label("On a timer…").click();
    h.run();
    type_into(&mut h, "Every (ms)", "10");
    type_into(&mut h, "Times", "3");
    h.get_by_label("Next: counter/1 n=1");
    h.get_by_role_and_label(Role::Button, "Start on Local").click();
    h.step();
    step_until(&mut h, "three messages", |app| {
        let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
        (1..=3).all(|n| {
            tree.find(&format!("counter/{n}"))
                .and_then(|id| tree.node(id).latest())
                .is_some_and(|m| *m.payload == *format!("n={n}").as_bytes())
        })
    });

    // A bad substitution is explained in the window and nothing starts.
    h.state_mut().timers.form.payload = "{{nope}}".into();
    h.run();
    h.get_by_label_contains("unknown substitution");
}
