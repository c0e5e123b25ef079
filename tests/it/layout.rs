//! The window at 800×600, 1000×650 and 1280×800 (issue 17, items 6–9): panels keep their minimum
//! widths, nothing overlaps or leaves the window, badges stay in view beside long values, and the
//! hex view keeps its ASCII column.

use std::sync::Arc;
use std::time::SystemTime;

use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use mqscope::app::ExplorerApp;
use mqscope::model::{ConnId, Message, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, EventSink};
use tokio::sync::mpsc;

pub struct Fixture {
    pub harness: Harness<'static, ExplorerApp>,
    pub commands: mpsc::Receiver<Command>,
    pub sink: EventSink,
}

pub fn messages() -> Vec<Message> {
    let now = SystemTime::now();
    let long = format!("{{\"reading\": \"{}\"}}", "x".repeat(400));
    vec![
        Message::new("home/kitchen/temp", "21.5", QoS::AtLeastOnce, true, now),
        Message::new("home/kitchen/long", long, QoS::ExactlyOnce, true, now),
        Message::new("home/garage/door", "open", QoS::AtMostOnce, false, now),
        Message::new("bin/blob", (0u8..=255).collect::<Vec<u8>>(), QoS::AtMostOnce, false, now),
    ]
}

pub fn fixture(size: [f32; 2], msgs: Vec<Message>) -> Fixture {
    let (cmd_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.store.insert_messages(ConnId::LOCAL, msgs);
    app.tree.flash = false;
    let mut harness = Harness::builder().with_size(size).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    harness.run();
    Fixture { harness, commands, sink }
}

fn rect(h: &Harness<'static, ExplorerApp>, role: Role, label: &str) -> Rect {
    h.get_by_role_and_label(role, label).rect()
}

#[test]
fn every_size_from_800x600_shows_all_panels_without_overlap() {
    for size in [[800.0, 600.0], [1000.0, 650.0], [1280.0, 800.0]] {
        let mut f = fixture(size, messages());
        let h = &mut f.harness;
        h.state_mut().pending_select = Some("home/kitchen/temp".into());
        h.state_mut().plot("home/kitchen/temp".into(), None);
        // A long topic and a two-line payload in the publish history: it must neither widen the
        // panel over the inspector nor show missing-glyph boxes (the harness fails on those).
        let long_topic = format!("plant/{}/speed", "line".repeat(40));
        h.state_mut().publish.history.push(mqscope::model::publish::PublishForm {
            topic: long_topic,
            payload: "line 1\nline 2".into(),
            ..Default::default()
        });
        h.run();
        h.get_by_label("History (1)").click();
        h.run();
        let window = Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
        let filter = rect(h, Role::TextInput, "Filter");
        let topic = rect(h, Role::TextInput, "Topic");
        let publish = rect(h, Role::Button, "Publish");
        let base64 = h.get_by_label("Base64").rect();
        let heading =
            h.query_all_by_label("home/kitchen/temp").map(|n| n.rect()).min_by(|a, b| a.min.y.total_cmp(&b.min.y)).expect("heading");
        let remove = rect(h, Role::Button, "Remove home/kitchen/temp");
        let pause = h.get_by_label("Pause").rect();
        for (what, r) in [
            ("filter", filter),
            ("publish topic", topic),
            ("Publish", publish),
            ("Base64 tab", base64),
            ("inspector heading", heading),
            ("chart Remove", remove),
            ("Pause", pause),
        ] {
            assert!(window.contains_rect(r), "{size:?}: {what} {r:?} is inside the window");
        }
        // The inspector sits between the tree and the publish panel, at its minimum width or more.
        assert!(base64.max.x <= topic.min.x && heading.max.x <= topic.min.x, "{size:?}: the publish panel covers nothing");
        assert!(topic.min.x - heading.min.x >= 280.0, "{size:?}: the inspector keeps its width");
        assert!(filter.width() >= 100.0, "{size:?}: the filter is usable");
    }
}

#[test]
fn the_publish_panel_folds_to_a_strip_and_back() {
    let mut f = fixture([1000.0, 650.0], messages());
    let h = &mut f.harness;
    h.get_by_label("Fold the publish panel").click();
    h.run();
    assert!(h.query_by_role_and_label(Role::TextInput, "Topic").is_none());
    h.get_by_label("Show the publish panel").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Topic");
}

#[test]
fn long_values_are_cut_and_their_badges_stay_in_view() {
    for size in [[800.0, 600.0], [1000.0, 650.0]] {
        long_value_badges_at(size);
    }
}

fn long_value_badges_at(size: [f32; 2]) {
    let mut f = fixture(size, messages());
    let h = &mut f.harness;
    h.get_by_label("home").click();
    h.run();
    h.get_by_label("kitchen").click();
    h.run();
    let row = h.get_by_label("long").rect();
    // Clicking kitchen selected it: the inspector's heading marks where the tree ends.
    let inspector = h.query_all_by_label("home/kitchen").map(|n| n.rect()).min_by(|a, b| a.min.y.total_cmp(&b.min.y)).expect("heading");
    let badge = h
        .query_all_by_label("Q2")
        .map(|n| n.rect())
        .find(|r| (r.center().y - row.center().y).abs() < row.height())
        .expect("the Q2 badge on the long row");
    assert!(badge.max.x <= inspector.min.x, "badge {badge:?} is inside the tree, left of the inspector {inspector:?}");
    let retained = h.query_all_by_label("R").map(|n| n.rect()).find(|r| (r.center().y - row.center().y).abs() < row.height());
    assert!(retained.is_some_and(|r| r.max.x <= inspector.min.x), "and so is the R badge");
}

#[test]
fn the_hex_view_keeps_its_ascii_column_in_a_narrow_inspector() {
    let mut f = fixture([1000.0, 650.0], messages());
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("bin/blob".into());
    h.run();
    h.get_by_label("Hex").click();
    h.run();
    let first = h.query_all(egui_kittest::kittest::By::new().label_contains("00000000")).next().expect("the first hex row");
    let node = first.accesskit_node();
    let text = format!("{}{}", node.label().unwrap_or_default(), node.value().unwrap_or_default());
    assert!(text.contains('|'), "the ASCII column is there: {text}");
    let topic = rect(h, Role::TextInput, "Topic");
    assert!(first.rect().max.x <= topic.min.x, "the row {:?} fits left of the publish panel", first.rect());
}
