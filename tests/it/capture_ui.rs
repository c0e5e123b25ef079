//! Export from the tree's context menu and "Capture → Open capture…", through egui_kittest with the
//! real runtime: the exported file is a capture that opens as a tab of its own, the same messages in it.

use std::time::{Duration, SystemTime};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::model::capture::CaptureLine;
use mqscope::model::{ConnId, ConnStatus, Message, QoS};

use crate::common::step_until;

fn kitchen() -> Vec<Message> {
    let at = |ago: u64| SystemTime::now() - Duration::from_secs(ago);
    vec![
        Message::new("home/kitchen/temp", "21.5", QoS::AtMostOnce, false, at(40)),
        Message::new("home/kitchen/door", "open, \"wide\"", QoS::AtLeastOnce, true, at(35)),
        Message::new("home/kitchen/temp", "22.0", QoS::AtMostOnce, false, at(30)),
        Message::new("home/kitchen/cam", vec![0xFF, 0xD8, 0x00], QoS::ExactlyOnce, false, at(25)),
        Message::new("garden/rain", "0", QoS::AtMostOnce, false, at(20)),
    ]
}

#[test]
fn export_a_subtree_then_open_the_file_as_a_capture_tab() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.state_mut().store.insert_messages(ConnId::LOCAL, kitchen());
    h.state_mut().tree.flash = false;
    h.run();
    h.get_by_label("home").click();
    h.run();
    h.get_by_label("kitchen").click_secondary();
    h.run();
    h.get_by_label("Export messages…").click();
    h.run();
    h.get_by_label_contains("Export 4 messages under home/kitchen");

    let path = std::env::temp_dir().join(format!("mqscope-export-{}.ndjson", std::process::id()));
    h.state_mut().capture.export.as_mut().expect("the export window").path = path.display().to_string();
    h.get_by_role_and_label(Role::Button, "Export").click();
    h.run();
    step_until(&mut h, "the export to finish", |app| app.capture.export.is_none());
    let text = std::fs::read_to_string(&path).expect("exported");
    let lines: Vec<CaptureLine> = text.lines().enumerate().map(|(i, l)| CaptureLine::parse(l, i + 1).expect("capture line")).collect();
    let order: Vec<(&str, Option<&str>)> = lines.iter().map(|l| (l.topic.as_str(), l.payload.as_deref())).collect();
    assert_eq!(
        order,
        [
            ("home/kitchen/temp", Some("21.5")),
            ("home/kitchen/door", Some("open, \"wide\"")),
            ("home/kitchen/temp", Some("22.0")),
            ("home/kitchen/cam", None),
        ],
        "in time order, nothing from garden/"
    );
    assert_eq!(lines[3].payload_base64.as_deref(), Some("/9gA"));

    // Open it again, as a tab with no broker.
    h.get_by_label("Capture").click();
    h.run();
    h.get_by_label("Open capture…").click();
    h.run();
    h.state_mut().capture.open.as_mut().expect("the open window").path = path.display().to_string();
    h.get_by_role_and_label(Role::Button, "Open").click();
    h.run();
    step_until(&mut h, "the capture to load", |app| {
        app.current != ConnId::LOCAL
            && app
                .store
                .conn(app.current)
                .is_some_and(|c| matches!(c.status, ConnStatus::Disconnected { error: None }) && c.tree.message_count() == 4)
    });
    let name = format!("capture {}", path.file_name().expect("name").to_string_lossy());
    h.get_by_label(&name);
    let app = h.state();
    let conn = app.store.conn(app.current).expect("the capture tab");
    let temp = conn.tree.find("home/kitchen/temp").expect("topic");
    let kept: Vec<String> = conn.tree.node(temp).messages().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).collect();
    assert_eq!(kept, ["22.0", "21.5"], "latest first, history kept");
    assert!(conn.tree.find("home/kitchen/door").is_some_and(|id| conn.tree.node(id).is_retained()));
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_capture_that_is_not_one_says_which_line() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let path = std::env::temp_dir().join(format!("mqscope-bad-capture-{}.ndjson", std::process::id()));
    std::fs::write(&path, "{\"ts\":\"2026-12-03T07:40:01.000Z\",\"topic\":\"a\",\"qos\":0,\"retain\":false,\"payload\":\"x\"}\nnot json\n")
        .expect("write");
    h.state_mut().open_capture_window();
    h.run();
    h.state_mut().capture.open.as_mut().expect("the open window").path = path.display().to_string();
    h.get_by_role_and_label(Role::Button, "Open").click();
    h.run();
    step_until(&mut h, "the error", |app| {
        app.store
            .conn(app.current)
            .is_some_and(|c| matches!(&c.status, ConnStatus::Disconnected { error: Some(e) } if e.contains("line 2")))
    });
    std::fs::remove_file(&path).ok();
}
