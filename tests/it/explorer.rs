//! The explorer's panels through egui_kittest's accessibility tree, fed directly with messages (no
//! broker): filter, sort, keyboard selection, diff, publish with MQTT 5 properties, templates,
//! deleting retained values, and payloads that must not break anything.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::model::{ConnId, Message, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventSink};
use tokio::sync::mpsc;

struct Fixture {
    harness: Harness<'static, ExplorerApp>,
    commands: mpsc::Receiver<Command>,
    /// Keeps the event channel open, and feeds it.
    sink: EventSink,
}

fn at(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(1000) + Duration::from_secs(secs)
}

fn msg(topic: &str, payload: impl Into<bytes::Bytes>, retain: bool, secs: u64) -> Message {
    Message::new(topic, payload.into(), QoS::AtLeastOnce, retain, at(secs))
}

fn fixture(msgs: Vec<Message>, allow_tofu: bool) -> Fixture {
    let (cmd_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.store.insert_messages(ConnId::LOCAL, msgs);
    app.tree.flash = false;
    let mut builder = Harness::builder().with_size([1400.0, 900.0]);
    if allow_tofu {
        builder = builder.allow_missing_glyphs();
    }
    let mut harness = builder.build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    harness.run();
    Fixture { harness, commands, sink }
}

fn home() -> Vec<Message> {
    vec![
        msg("home/kitchen/temp", "21.5", true, 1),
        msg("home/garage/door", "open", true, 2),
        msg("home/garage/temp", "12.0", false, 3),
        msg("factory/line1/press", r#"{"state":"run","temperature":61.5}"#, false, 4),
        msg("factory/line1/press", r#"{"state":"run","temperature":63.0,"alarm":true}"#, false, 5),
    ]
}

fn type_into(h: &mut Harness<'static, ExplorerApp>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
}

#[test]
fn filter_keeps_matches_and_their_ancestors() {
    let mut f = fixture(home(), false);
    let h = &mut f.harness;
    h.get_by_label("home").click();
    h.run();
    assert!(h.query_by_label("kitchen").is_some());
    type_into(h, Role::TextInput, "Filter", "garage");
    assert!(h.query_by_label("garage").is_some());
    assert!(h.query_by_label("kitchen").is_none(), "non-matching siblings are hidden");
    assert!(h.query_by_label("factory").is_none());
    assert!(h.query_by_label("door").is_some(), "matches show expanded");
    h.get_by_label_contains("2 matching");
    // An MQTT wildcard filter: pick the mode, then replace the text.
    h.get_all_by_role(Role::ComboBox).next().expect("the filter mode picker comes first").click();
    h.run();
    h.get_by_label("MQTT filter").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Filter").type_text("+/+/temp");
    h.run();
    assert_eq!(h.state().tree.filter_text, "+/+/temp");
    assert!(h.query_by_label("kitchen").is_some());
    assert!(h.query_by_label("door").is_none());
}

#[test]
fn sort_by_most_messages_puts_the_busiest_subtree_first() {
    let mut msgs = home();
    for i in 0..5 {
        msgs.push(msg("zebra/x", i.to_string(), false, 10 + i));
    }
    let mut f = fixture(msgs, false);
    let h = &mut f.harness;
    let order = |h: &Harness<'static, ExplorerApp>| {
        let tops: Vec<String> = ["factory", "home", "zebra"].iter().map(|s| (*s).to_owned()).collect();
        let mut pos: Vec<(f32, String)> = tops.iter().map(|t| (h.get_by_label(t).rect().min.y, t.clone())).collect();
        pos.sort_by(|a, b| a.0.total_cmp(&b.0));
        pos.into_iter().map(|(_, t)| t).collect::<Vec<_>>()
    };
    assert_eq!(order(h), ["factory", "home", "zebra"]);
    h.state_mut().tree.rows.set_sort(mqscope::ui::tree_rows::SortOrder::Messages);
    h.run();
    assert_eq!(order(h), ["zebra", "home", "factory"], "5, 3 and 2 messages");
}

#[test]
fn arrow_keys_move_and_fold_and_ctrl_c_is_safe() {
    let mut f = fixture(home(), false);
    let h = &mut f.harness;
    h.key_press(egui::Key::ArrowDown);
    h.run();
    let first = h.state().tree.selected.expect("first row selected");
    assert_eq!(h.state().store.conns[0].tree.path(first), "factory");
    h.key_press(egui::Key::ArrowDown);
    h.run();
    h.key_press(egui::Key::ArrowRight);
    h.run();
    assert!(h.query_by_label("kitchen").is_some(), "Right expands home");
    h.key_press(egui::Key::ArrowRight);
    h.run();
    let sel = h.state().tree.selected.expect("selected");
    assert_eq!(h.state().store.conns[0].tree.path(sel), "home/garage", "Right on an expanded node goes to its first child");
    h.key_press(egui::Key::ArrowLeft);
    h.run();
    let sel = h.state().tree.selected.expect("selected");
    assert_eq!(h.state().store.conns[0].tree.path(sel), "home", "Left on a collapsed node goes to its parent");
    h.key_press(egui::Key::ArrowLeft);
    h.run();
    assert!(h.query_by_label("kitchen").is_none(), "Left collapses");
}

#[test]
fn two_json_messages_compare_structurally() {
    let mut f = fixture(home(), false);
    let h = &mut f.harness;
    let id = h.state().store.conns[0].tree.find("factory/line1/press").expect("press");
    // Reveal through the public API, as `--select` does.
    h.state_mut().pending_select = Some("factory/line1/press".into());
    h.run();
    assert_eq!(h.state().tree.selected, Some(id));
    h.get_by_label("Compare message 1").click();
    h.run();
    h.get_by_label("Compare message 2").click();
    h.run();
    h.get_by_label("~ temperature: 61.5 → 63.0");
    h.get_by_label("+ alarm: true");
}

#[test]
fn publish_with_mqtt5_properties_sends_them() {
    let mut f = fixture(home(), false);
    {
        let h = &mut f.harness;
        type_into(h, Role::TextInput, "Topic", "plant/line1/speed");
        type_into(h, Role::MultilineTextInput, "Text payload", "1200");
        h.get_by_label("MQTT 5 properties").click();
        h.run();
        type_into(h, Role::TextInput, "Content type", "text/plain");
        h.get_by_label("Add user property").click();
        h.run();
        type_into(h, Role::TextInput, "User property 1 key", "unit");
        type_into(h, Role::TextInput, "User property 1 value", "rpm");
        h.get_by_role_and_label(Role::Button, "2").click(); // QoS 2
        h.run();
        h.get_by_role_and_label(Role::Button, "Publish").click();
        h.run();
    }
    let Ok(Command::Publish(req)) = f.commands.try_recv() else { panic!("a Publish command") };
    assert_eq!((req.topic.as_str(), &req.payload[..], req.qos), ("plant/line1/speed", &b"1200"[..], QoS::ExactlyOnce));
    assert_eq!(req.meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(req.meta.user_properties, vec![("unit".to_owned(), "rpm".to_owned())]);
}

#[test]
fn a_saved_template_comes_back() {
    let mut f = fixture(home(), false);
    {
        let h = &mut f.harness;
        type_into(h, Role::TextInput, "Topic", "home/kitchen/light");
        type_into(h, Role::MultilineTextInput, "Text payload", "on");
        type_into(h, Role::TextInput, "Template name", "kitchen light on");
        h.get_by_label("Save as template").click();
        h.run();
    }
    let Ok(Command::SaveTemplates(file)) = f.commands.try_recv() else { panic!("templates are saved") };
    assert_eq!(file.templates.len(), 1);
    assert_eq!(file.templates[0].form.topic, "home/kitchen/light");
    let h = &mut f.harness;
    h.state_mut().publish.form = mqscope::model::publish::PublishForm::default();
    h.run();
    h.get_by_label("Load template kitchen light on").click();
    h.run();
    assert_eq!(h.state().publish.form.topic, "home/kitchen/light");
    assert_eq!(h.state().publish.form.payload, "on");
}

#[test]
fn deleting_a_retained_subtree_asks_first_with_the_count() {
    let mut f = fixture(home(), false);
    {
        let h = &mut f.harness;
        h.get_by_label("home").click_secondary();
        h.run();
        h.get_by_label("Delete 2 retained values under home/…").click();
        h.run();
        h.get_by_label("Delete 2 retained values under home/?");
        h.get_by_label("Delete").click();
        h.run();
    }
    let Ok(Command::DeleteRetained { conn_id, topics }) = f.commands.try_recv() else { panic!("a DeleteRetained command") };
    assert_eq!(conn_id, ConnId::LOCAL);
    let mut topics: Vec<String> = topics.iter().map(ToString::to_string).collect();
    topics.sort();
    assert_eq!(topics, ["home/garage/door", "home/kitchen/temp"]);
    // The runtime's answer clears the marks.
    let sink = f.sink.clone();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
    rt.block_on(sink.control(Event::RetainedDeleted { conn_id, topics: vec!["home/garage/door".into(), "home/kitchen/temp".into()] }));
    f.harness.run();
    f.harness.get_by_label_contains("0 retained");
}

#[test]
fn hostile_payloads_and_topics_render_without_freezing_or_panicking() {
    let mut big = vec![0u8; 16 * 1024 * 1024];
    for (i, b) in big.iter_mut().enumerate() {
        *b = u8::try_from(i * 7919 % 251).unwrap_or(0);
    }
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_topic = vec!["l"; 1000].join("/");
    let long_topic = "t".repeat(65_535);
    let msgs = vec![
        msg("bad/binary16m", big, false, 1),
        msg("bad/utf8", vec![0xff, 0xfe, b'a', 0xc3, 0x28], false, 2),
        msg("bad/deepjson", deep_json, false, 3),
        msg(&deep_topic, "deep", false, 4),
        msg("a//b", "empty level", false, 5),
        msg("/a", "leading slash", false, 6),
        msg("a/", "trailing slash", false, 7),
        msg(&long_topic, "long", false, 8),
        msg("bad/one-line-4m", "x".repeat(4 * 1024 * 1024), false, 9),
    ];
    let topics: Vec<String> = msgs.iter().map(|m| m.topic.to_string()).collect();
    let mut f = fixture(msgs, true);
    let h = &mut f.harness;
    for topic in topics {
        h.state_mut().pending_select = Some(topic.clone());
        h.run();
        let selected = h.state().tree.selected.expect("selected");
        assert_eq!(h.state().store.conns[0].tree.path(selected), topic);
        for view in ["Text", "Hex", "Base64", "JSON", "Auto"] {
            h.get_by_role_and_label(Role::Button, view).click();
            h.run();
        }
    }
    assert!(h.query_all_by_label_contains("4.0 MiB").count() >= 1);
}

#[test]
fn a_file_can_be_the_payload() {
    let mut f = fixture(home(), false);
    f.harness.get_by_label("From file…").click();
    f.harness.run();
    assert!(matches!(f.commands.try_recv(), Ok(Command::LoadPayloadFile)), "the dialog is the runtime's job");
    // The runtime's answer: the file's bytes (binary here).
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
    let bytes = bytes::Bytes::from(vec![0x1f, 0x8b, 0x08, 0x00, 0xff]);
    rt.block_on(f.sink.control(Event::PayloadFile { name: "firmware.bin".into(), bytes: bytes.clone() }));
    let h = &mut f.harness;
    h.run();
    h.get_by_label("Payload from file firmware.bin (5 B)");
    type_into(h, Role::TextInput, "Topic", "devices/7/ota");
    h.get_by_role_and_label(Role::Button, "Publish").click();
    h.run();
    let Ok(Command::Publish(req)) = f.commands.try_recv() else { panic!("a Publish command") };
    assert_eq!(req.payload, bytes);
    f.harness.get_by_label("Clear file").click();
    f.harness.run();
    f.harness.get_by_role_and_label(Role::MultilineTextInput, "Text payload");
}

#[test]
fn top_talkers_rank_topics_by_rate_and_select_on_click() {
    let a_second_ago = SystemTime::now() - Duration::from_secs(1);
    let mut msgs = Vec::new();
    for (topic, n) in [("busy/b", 10), ("busy/a", 40), ("calm/c", 2)] {
        msgs.extend((0..n).map(|_| Message::new(topic, "1", QoS::AtMostOnce, false, a_second_ago)));
    }
    let mut f = fixture(msgs, false);
    f.harness.get_by_label("Top talkers").click();
    f.harness.run();
    let y = |f: &Fixture, label: &str| f.harness.get_by_label(label).rect().min.y;
    assert!(y(&f, "busy/a") < y(&f, "busy/b"), "40 msgs/s above 10");
    assert!(y(&f, "busy/b") < y(&f, "calm/c"), "10 msgs/s above 2");
    f.harness.get_by_label("busy/b").click();
    f.harness.run();
    let app = f.harness.state();
    let tree = &app.store.conn(ConnId::LOCAL).expect("local").tree;
    assert_eq!(app.tree.selected, tree.find("busy/b"), "clicking a talker selects it in the tree");
}

#[test]
fn pause_holds_new_messages_counts_them_and_resume_folds_them_all_in() {
    let mut f = fixture(home(), false);
    f.harness.get_by_label("Pause").click();
    f.harness.run();
    let now = SystemTime::now();
    let batch: Vec<Message> = (0..3).map(|i| Message::new("paused/topic", format!("{i}"), QoS::AtMostOnce, false, now)).collect();
    f.sink.try_messages(ConnId::LOCAL, batch).expect("room");
    f.harness.run();
    // The button counts messages (not batches), and the view does not change while paused.
    f.harness.get_by_label("Resume (3 waiting)");
    assert!(f.harness.query_by_label("paused").is_none(), "a paused view shows no new topic");
    f.harness.get_by_label("Resume (3 waiting)").click();
    f.harness.run();
    f.harness.get_by_label("Pause");
    let tree = &f.harness.state().store.conn(ConnId::LOCAL).expect("local").tree;
    let node = tree.node(tree.find("paused/topic").expect("folded in on resume"));
    assert_eq!((node.msg_count(), node.kept_count(), &node.latest().expect("latest").payload[..]), (3, 3, &b"2"[..]));
}
