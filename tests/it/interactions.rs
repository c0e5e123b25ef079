//! What the mouse and keyboard do in the tree, the toolbar and the inspector (issue 17, items 7,
//! 11–14): Esc clears the filter, each connection keeps its own expansion and selection, a new topic
//! opens the inspector at the top, right-click selects, and a bad regex moves nothing.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::model::{ConnId, Message, QoS};

use crate::layout::{fixture, messages};

fn history(topic: &str, n: u64) -> Vec<Message> {
    let start = std::time::SystemTime::now() - std::time::Duration::from_secs(n + 10);
    (0..n).map(|i| Message::new(topic, i.to_string(), QoS::AtMostOnce, false, start + std::time::Duration::from_secs(i))).collect()
}

#[test]
fn esc_clears_the_filter() {
    let mut f = fixture([1280.0, 800.0], messages());
    let h = &mut f.harness;
    h.get_by_role_and_label(Role::TextInput, "Filter").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter").type_text("garage");
    h.run();
    assert!(h.query_by_label("bin").is_none(), "filtered");
    h.key_press(egui::Key::Escape);
    h.run();
    assert_eq!(h.state().tree.filter_text, "");
    h.get_by_label("bin");
}

#[test]
fn each_connection_tab_keeps_its_own_expansion_and_selection() {
    let mut f = fixture([1280.0, 800.0], messages());
    let h = &mut f.harness;
    let other = h.state_mut().store.open_conn("plant", "plant:1883");
    h.state_mut().store.insert_messages(other, history("line/speed", 3));
    h.get_by_label("home").click();
    h.run();
    h.get_by_label("garage").click();
    h.run();
    let garage = h.state().tree.selected.expect("selected");
    h.get_by_label("plant").click();
    h.run();
    assert_eq!(h.state().current, other);
    assert_eq!(h.state().tree.selected, None, "plant has its own selection");
    h.get_by_label("line").click();
    h.run();
    h.get_by_label("Local").click();
    h.run();
    assert_eq!(h.state().tree.selected, Some(garage), "Local's selection is back");
    h.get_by_label("door");
    h.get_by_label("plant").click();
    h.run();
    h.get_by_label("speed");
    let line = h.state().store.conn(other).and_then(|c| c.tree.find_path("line"));
    assert_eq!(h.state().tree.selected, line);
}

#[test]
fn a_newly_selected_topic_opens_at_the_top_of_its_history() {
    let mut msgs = history("a/many", 300);
    msgs.extend(history("b/many", 300));
    let mut f = fixture([1280.0, 800.0], msgs);
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("a/many".into());
    h.run();
    let first = h.get_by_role_and_label(Role::CheckBox, "Compare message 1").rect();
    h.hover_at(first.center());
    h.run();
    for _ in 0..20 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -400.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run_steps(8);
    assert!(h.query_by_role_and_label(Role::CheckBox, "Compare message 1").is_none(), "scrolled down a/many's history");
    h.state_mut().pending_select = Some("b/many".into());
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "Compare message 1");
}

#[test]
fn right_click_selects_the_row_its_menu_acts_on() {
    let mut f = fixture([1280.0, 800.0], messages());
    let h = &mut f.harness;
    h.get_by_label("home").click();
    h.run();
    h.get_by_label("garage").click();
    h.run();
    h.get_by_label("door").click_secondary();
    h.run();
    let door = h.state().store.conn(ConnId::LOCAL).and_then(|c| c.tree.find("home/garage/door"));
    assert_eq!(h.state().tree.selected, door);
    assert_eq!(h.query_all_by_label("Copy topic").count(), 2, "the menu's and the inspector's (door is selected)");
    assert!(h.query_by_label("Delete retained value").is_none(), "door has no retained value");
}

#[test]
fn a_half_typed_regex_moves_nothing_and_says_what_is_wrong_in_one_line() {
    let mut f = fixture([1280.0, 800.0], messages());
    let h = &mut f.harness;
    let before: Vec<egui::Rect> = ["Pause", "Charts", "Settings", "Topics"].iter().map(|l| h.get_by_label(l).rect()).collect();
    h.get_by_role_and_label(Role::ComboBox, "as").click();
    h.run();
    h.get_by_label("Regex").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter").type_text("(home");
    h.run();
    h.get_by_label("invalid regular expression: unclosed group");
    let after: Vec<egui::Rect> = ["Pause", "Charts", "Settings", "Topics"].iter().map(|l| h.get_by_label(l).rect()).collect();
    assert_eq!(before, after, "nothing moved");
    // The sort box and the match count do not move Pause either.
    h.get_by_role_and_label(Role::TextInput, "Filter").type_text(")");
    h.run();
    h.get_by_label_contains("matching");
    h.get_by_role_and_label(Role::ComboBox, "sort by").click();
    h.run();
    h.get_by_label("most messages").click();
    h.run();
    assert_eq!(h.get_by_label("Pause").rect(), before[0]);
}

#[test]
fn a_connection_form_error_goes_as_soon_as_the_field_is_fixed() {
    let mut f = fixture([1280.0, 800.0], messages());
    let h = &mut f.harness;
    h.get_by_label("Connections…").click();
    h.run();
    h.state_mut().connections.editing.port = 0;
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("The port must be between 1 and 65535.");
    h.get_by_label("Not saved: 1 field(s) need attention (see the form).");
    // The user fixes the port (a drag value; set as typed): the error and the summary go at once.
    h.state_mut().connections.editing.port = 1883;
    h.run();
    assert!(h.query_by_label("The port must be between 1 and 65535.").is_none());
    assert!(h.query_by_label_contains("Not saved").is_none());
    // And a new mistake shows as it is typed.
    h.get_by_role_and_label(Role::TextInput, "Host").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Host").type_text(" x");
    h.run();
    h.get_by_label("Only the host name, without scheme or spaces (pick the transport below).");
}

#[test]
fn invalid_json_says_where() {
    let bad = vec![Message::new("cfg/bad", "{\"a\": 1,\n \"b\": }", QoS::AtMostOnce, false, std::time::SystemTime::now())];
    let mut f = fixture([1280.0, 800.0], bad);
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("cfg/bad".into());
    h.run();
    h.get_by_label("JSON").click();
    h.run();
    h.get_by_label_contains("(not valid JSON: line 2, column 7");
}

#[test]
fn without_a_file_dialog_a_save_asks_for_a_path_and_says_why() {
    let mut f = fixture([1280.0, 800.0], messages());
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(f.sink.control(mqscope::protocol::Event::SaveNeedsPath {
        bytes: "time,t\n".into(),
        path: "/home/me/Chart_1.csv".into(),
        title: "Export chart data as CSV".into(),
        reason: "no desktop portal (xdg-desktop-portal) and no zenity".into(),
    }));
    let h = &mut f.harness;
    h.run();
    h.get_by_label("Export chart data as CSV: no file dialog can open here (no desktop portal (xdg-desktop-portal) and no zenity).");
    h.get_by_role_and_label(Role::TextInput, "Save to path").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Save to path").type_text("/tmp/chart.csv");
    h.run();
    h.get_by_role_and_label(Role::Button, "Save").click();
    h.run();
    let saved = std::iter::from_fn(|| f.commands.try_recv().ok()).find_map(|c| match c {
        mqscope::protocol::Command::SaveTo { path, bytes } => Some((path, bytes)),
        _ => None,
    });
    assert_eq!(saved, Some(("/tmp/chart.csv".into(), "time,t\n".into())));
}
