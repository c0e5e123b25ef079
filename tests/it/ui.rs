//! The explorer through egui_kittest's accessibility tree, with the real runtime and embedded
//! broker behind it: what a person does with the mouse and keyboard.

use std::sync::Arc;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::broker::BrokerConfig;
use mqscope::protocol::{COMMAND_CAPACITY, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::sync::mpsc;

/// An explorer wired to a real runtime on a free port.
fn explorer() -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
    };
    rt.spawn(runtime::run(config, cmd_rx, sink));
    let app = ExplorerApp::new(cmd_tx, ev_rx);
    let harness = Harness::builder().with_size([1280.0, 800.0]).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    (rt, harness)
}

/// Step frames until `done` holds; a bounded number of tries, never a speed assertion.
fn step_until(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl Fn(&ExplorerApp) -> bool) {
    for _ in 0..1000 {
        h.step();
        if done(h.state()) {
            h.run();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("gave up waiting for {what}");
}

#[test]
fn publish_from_the_panel_shows_the_topic_in_the_tree_and_its_value_in_the_inspector() {
    let (_rt, mut h) = explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_label_contains("Waiting for messages on 127.0.0.1");

    h.get_by_role_and_label(Role::TextInput, "Topic").focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Topic").type_text("home/kitchen/temp");
    h.get_by_role_and_label(Role::MultilineTextInput, "Text payload").click();
    h.run();
    h.get_by_role_and_label(Role::MultilineTextInput, "Text payload").type_text("21.5");
    h.run();
    h.get_by_role_and_label(Role::Button, "Publish").click();
    h.run();
    step_until(&mut h, "the message in the tree", |app| app.store.conns[0].tree.find("home/kitchen/temp").is_some());

    h.get_by_label("home").click();
    h.run();
    h.get_by_label("kitchen").click();
    h.run();
    h.get_by_label("temp").click();
    h.run();
    h.get_by_label("= 21.5");
    h.get_by_label("home/kitchen/temp");
    // The value viewer and the history row both show it (the tree row says "= 21.5").
    assert_eq!(h.query_all_by_label("21.5").count(), 2);
}

#[test]
fn a_wildcard_topic_is_refused_next_to_the_field() {
    let (_rt, mut h) = explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_role_and_label(Role::TextInput, "Topic").focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Topic").type_text("home/+/temp");
    h.run();
    h.get_by_role_and_label(Role::Button, "Publish").click();
    h.run();
    h.get_by_label("A topic name cannot contain the wildcards + or #.");
}
