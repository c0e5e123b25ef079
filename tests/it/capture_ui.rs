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
    // The job's progress repaints on its own: step, don't wait for the UI to settle.
    h.step();
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
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Open capture…").click();
    h.run();
    h.state_mut().capture.open.as_mut().expect("the open window").path = path.display().to_string();
    h.get_by_role_and_label(Role::Button, "Open").click();
    // The job's progress repaints on its own: step, don't wait for the UI to settle.
    h.step();
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
    // The job's progress repaints on its own: step, don't wait for the UI to settle.
    h.step();
    step_until(&mut h, "the error", |app| {
        app.store
            .conn(app.current)
            .is_some_and(|c| matches!(&c.status, ConnStatus::Disconnected { error: Some(e) } if e.contains("line 2")))
    });
    std::fs::remove_file(&path).ok();
}

/// Record the embedded broker from the Capture menu while a flood leaves the window far behind (it
/// is not drawn at all meanwhile, so it thins its history): the file still has every message, in
/// order, each with its publisher.
#[test]
fn a_recording_of_the_embedded_broker_keeps_every_message_while_the_window_is_behind() {
    use std::sync::atomic::Ordering::Relaxed;
    const FLOOD: u64 = 200_000;
    let (rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let addr = h.state().store.broker.local_addr.expect("address");
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Record Local…").click();
    h.run();
    let path = std::env::temp_dir().join(format!("mqscope-record-{}.ndjson", std::process::id()));
    h.state_mut().capture.record.as_mut().expect("the record window").path = path.display().to_string();
    h.get_by_role_and_label(Role::Button, "Start recording").click();
    // The job's progress repaints on its own: step, don't wait for the UI to settle.
    h.step();
    let stats = std::sync::Arc::clone(&h.state().recordings.get(&ConnId::LOCAL).expect("a recording").stats);

    let (client, mut el) = rt.block_on(crate::common::client_v4(addr, "flooder", true));
    let pump = rt.spawn(async move { while el.poll().await.is_ok() {} });
    // A first message, published until the recording has it: the recording is running.
    rt.block_on(crate::common::guard("the recording to start", async {
        while stats.messages.load(Relaxed) == 0 {
            client.publish("flood/start", rumqttc::QoS::AtMostOnce, false, "0").await.expect("publish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }));
    let before = stats.messages.load(Relaxed);
    rt.block_on(async {
        for i in 0..FLOOD {
            client.publish(format!("flood/{}", i % 100), rumqttc::QoS::AtMostOnce, false, i.to_string()).await.expect("publish");
        }
    });
    rt.block_on(crate::common::until("every message recorded", || stats.messages.load(Relaxed) >= before + FLOOD));
    pump.abort();

    h.step();
    h.get_by_label("Stop recording").click();
    // The job's progress repaints on its own: step, don't wait for the UI to settle.
    h.step();
    step_until(&mut h, "the recording to end", |app| app.recordings.is_empty());
    // The window keeps at most 1,000 messages a topic (and thins when behind); the recording has all.
    let app = h.state();
    let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
    let kept = tree.find("flood/0").map_or(0, |id| tree.node(id).kept_count());
    assert!(kept < 2000, "the window kept {kept} of flood/0's 2,000 messages");
    assert_eq!(stats.dropped.load(Relaxed), 0);
    let text = std::fs::read_to_string(&path).expect("recorded");
    let lines: Vec<CaptureLine> = text.lines().enumerate().map(|(i, l)| CaptureLine::parse(l, i + 1).expect("capture line")).collect();
    let flood: Vec<&CaptureLine> = lines.iter().filter(|l| l.topic != "flood/start").collect();
    assert_eq!(flood.len() as u64, FLOOD, "every message of the flood");
    assert_eq!(flood.iter().filter(|l| l.topic == "flood/0").count(), 2000);
    for (i, line) in flood.iter().enumerate() {
        assert_eq!(line.payload.as_deref(), Some(i.to_string().as_str()), "in order");
    }
    assert!(lines.iter().all(|l| l.publisher.as_deref() == Some("flooder")));
    std::fs::remove_file(&path).ok();
}

/// Tools → Replay: a capture's messages published into the embedded broker (as fast as possible,
/// a prefix remapped), seen in the tree with their payloads, QoS and retain flags.
#[test]
fn replaying_a_capture_into_the_embedded_broker_fills_the_tree() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let path = std::env::temp_dir().join(format!("mqscope-replay-{}.ndjson", std::process::id()));
    let lines = [
        r#"{"ts":"2026-12-03T07:40:01.000Z","topic":"site1/temp","qos":1,"retain":true,"payload":"21.5"}"#,
        r#"{"ts":"2026-12-03T07:40:02.000Z","topic":"site1/cam","qos":0,"retain":false,"payload_base64":"/9gA"}"#,
        r#"{"ts":"2026-12-03T07:40:03.000Z","topic":"site1/temp","qos":1,"retain":true,"payload":"22.0","content_type":"text/plain"}"#,
    ];
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Replay a capture into Local…").click();
    h.run();
    let form = h.state_mut().capture.replay.as_mut().expect("the replay window");
    form.path = path.display().to_string();
    form.from = "site1/".into();
    form.to = "copy/".into();
    h.get_by_label("as fast as possible").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Start replay").click();
    h.step();
    step_until(&mut h, "the replayed messages", |app| {
        let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
        tree.find("copy/temp").and_then(|id| tree.node(id).latest()).is_some_and(|m| &m.payload[..] == b"22.0")
            && tree.find("copy/cam").is_some()
    });
    step_until(&mut h, "the replay window to close", |app| app.capture.replay.is_none());
    let app = h.state();
    let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
    let temp = tree.node(tree.find("copy/temp").expect("topic"));
    assert!(temp.is_retained());
    assert_eq!(temp.latest().map(|m| m.qos), Some(QoS::AtLeastOnce));
    let cam = tree.node(tree.find("copy/cam").expect("topic"));
    assert_eq!(cam.latest().map(|m| m.payload.to_vec()), Some(vec![0xFF, 0xD8, 0x00]));
    assert!(tree.find("site1/temp").is_none(), "the prefix was remapped");
    std::fs::remove_file(&path).ok();
}
