//! The explorer through egui_kittest's accessibility tree, with the real runtime and embedded
//! broker behind it: what a person does with the mouse and keyboard.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::broker::BrokerConfig;
use mqscope::protocol::{COMMAND_CAPACITY, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::sync::mpsc;

use crate::common::step_until;

/// An explorer wired to a real runtime on a free port, keeping its files in a fresh directory.
pub(crate) fn explorer() -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    explorer_in(&fresh_dir())
}

fn fresh_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("mqscope-ui-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn explorer_in(config_dir: &Path) -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    explorer_sized(config_dir, [1280.0, 800.0])
}

/// An explorer of this size, wired to a real runtime on a free port, with its files in `config_dir`.
pub(crate) fn explorer_sized(config_dir: &Path, size: [f32; 2]) -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(config_dir.to_path_buf()),
        stats_file: None,
    };
    rt.spawn(runtime::run(config, cmd_rx, sink));
    let app = ExplorerApp::new(cmd_tx, ev_rx);
    let harness = Harness::builder().with_size(size).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    (rt, harness)
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

#[test]
fn a_new_connection_is_saved_connects_and_shows_its_own_tree() {
    let dir = fresh_dir();
    let (rt, mut h) = explorer_in(&dir);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let port = h.state().store.broker.local_addr.expect("addr").port();
    h.get_by_label("Connections…").click();
    h.run();
    // Name and host typed; the port is a drag value, set as a user would have.
    let name = h.get_by_role_and_label(Role::TextInput, "Name");
    name.click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Name").type_text("local twin");
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Host").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Host").type_text("127.0.0.1");
    h.run();
    h.state_mut().connections.editing.port = port;
    h.get_by_label("Save and connect").click();
    step_until(&mut h, "the connection", |app| app.store.conns.iter().any(|c| c.name == "local twin" && c.status.is_connected()));
    // It subscribed to # like any client: publish on the embedded broker and see it in the twin's tree.
    rt.block_on(async {
        let (c, mut el) = crate::common::client_v4(([127, 0, 0, 1], port).into(), "twin-feeder", true).await;
        c.publish("twin/value", rumqttc::QoS::AtLeastOnce, false, "42").await.expect("publish");
        // The broker has it once it acknowledged it (not after a guessed sleep).
        crate::common::wait_v4(&mut el, "PUBACK", |p| matches!(p, rumqttc::Packet::PubAck(_))).await;
    });
    step_until(&mut h, "the message on the twin", |app| {
        app.store.conns.iter().any(|c| c.name == "local twin" && c.tree.find("twin/value").is_some())
    });
    // The file holds the profile, readable only by the user.
    let text = std::fs::read_to_string(dir.join("profiles.toml")).expect("profiles.toml");
    assert!(text.contains("name = \"local twin\""), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(dir.join("profiles.toml")).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    // A broken edit is explained next to the field and not saved.
    h.get_by_role_and_label(Role::TextInput, "Host").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Enter the broker's host name or address.");
    let again = std::fs::read_to_string(dir.join("profiles.toml")).expect("profiles.toml");
    assert_eq!(again, text, "the broken profile was not written");
    // A restart reads it back.
    drop(h);
    drop(rt);
    let (_rt2, mut h2) = explorer_in(&dir);
    step_until(&mut h2, "the saved profiles", |app| app.connections.loaded);
    assert_eq!(h2.state().connections.profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["local twin"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn settings_have_the_switch_that_keeps_the_brokers_state_and_say_when_it_applies() {
    let (_rt, mut h) = explorer();
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label_contains("Applies at the next start");
    assert!(!h.state().settings.keep_broker_state, "off by default");
    h.get_by_role_and_label(Role::CheckBox, "Keep retained messages and sessions across restarts").click();
    h.run();
    assert!(h.state().settings.keep_broker_state, "saved with the settings, read at the next start");
}
