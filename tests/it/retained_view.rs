//! The Retained tab: the embedded broker's retained store as rows (stored by real clients over
//! sockets, checked at model level), deleting from it through the Retained tab with the mouse and
//! its confirmation, and deleting a 100k-topic subtree through the runtime's command.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::{DockTab, ExplorerApp};
use mqscope::broker::{BrokerConfig, inspect};
use mqscope::model::broker_view::InsideUpdate;
use mqscope::model::{ConnId, MessageMeta, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventSink, InspectRequest, PublishRequest};
use mqscope::runtime::{self, RuntimeConfig};
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use tokio::sync::mpsc;

use crate::common::step_until;
use crate::common::{self, client_v4, drive_v4, guard, until};
use crate::inside_ui::explorer;

#[tokio::test]
async fn the_snapshot_lists_the_real_store_with_size_setter_qos_and_expiry() {
    let (addr, broker) = common::start_broker().await;
    let (thermo, el) = client_v4(addr, "thermo-1", true).await;
    let _thermo_driver = drive_v4(el);
    thermo.publish("home/kitchen/temp", rumqttc::QoS::AtLeastOnce, true, "21.5").await.expect("publish");
    thermo.publish("home/hall/temp", rumqttc::QoS::AtMostOnce, true, "19").await.expect("publish");
    thermo.publish("home/hall/live", rumqttc::QoS::AtMostOnce, false, "not kept").await.expect("publish");
    let (pump, mut el5) = common::client_v5(addr, "pump-5").await;
    let _pump_driver = tokio::spawn(async move { while el5.poll().await.is_ok() {} });
    let props = PublishProperties { message_expiry_interval: Some(3600), ..PublishProperties::default() };
    pump.publish_with_properties("status/pump", rumqttc::v5::mqttbytes::QoS::ExactlyOnce, true, "online", props).await.expect("publish");
    until("three retained values", || inspect::retained(broker.shared(), "").total == 3).await;

    let before = SystemTime::now();
    let snap = inspect::retained(broker.shared(), "");
    let topics: Vec<&str> = snap.rows.iter().map(|r| &*r.topic).collect();
    assert_eq!(topics, ["home/hall/temp", "home/kitchen/temp", "status/pump"], "by topic; a non-retained message is not stored");
    let kitchen = &snap.rows[1];
    assert_eq!((kitchen.size, &*kitchen.publisher, kitchen.qos, kitchen.expires_in_secs), (4, "thermo-1", QoS::AtLeastOnce, None));
    assert_eq!((snap.rows[0].size, snap.rows[0].qos), (2, QoS::AtMostOnce));
    let pump_row = &snap.rows[2];
    assert_eq!((pump_row.size, &*pump_row.publisher, pump_row.qos), (6, "pump-5", QoS::ExactlyOnce));
    let left = pump_row.expires_in_secs.expect("5.0 Message Expiry Interval kept");
    assert!((3590..=3600).contains(&left), "expiry left counts down from 3600: {left}");
    for r in &snap.rows {
        let age = before.duration_since(r.stored_at).unwrap_or_default();
        assert!(age < Duration::from_mins(1), "stored during this test: {:?} for {}", r.stored_at, r.topic);
    }

    // Text selects topics containing it (any case); with a wildcard it is an MQTT filter.
    let names = |filter: &str| inspect::retained(broker.shared(), filter).rows.iter().map(|r| r.topic.to_string()).collect::<Vec<_>>();
    assert_eq!(names("KITCHEN"), ["home/kitchen/temp"]);
    assert_eq!(names("home/+/temp"), ["home/hall/temp", "home/kitchen/temp"]);
    assert_eq!(names("status/#"), ["status/pump"]);
    assert!(names("home/#/temp").is_empty(), "an invalid filter selects nothing");

    // An empty retained payload clears the topic (MQTT-3.3.1-6): the store, and so the view, loses it.
    thermo.publish("home/hall/temp", rumqttc::QoS::AtLeastOnce, true, "").await.expect("publish");
    until("the cleared topic gone", || inspect::retained(broker.shared(), "").total == 2).await;
}

fn retained_rows(app: &ExplorerApp) -> Option<Vec<String>> {
    app.store.broker.inside.retained.as_ref().map(|s| s.rows.iter().map(|r| r.topic.to_string()).collect())
}

#[test]
fn deleting_from_the_retained_tab_asks_first_and_removes_it_from_the_store() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let _driver = rt.block_on(async {
        let (c, el) = client_v4(addr, "setter", true).await;
        let driver = drive_v4(el);
        c.publish("plant/a", rumqttc::QoS::AtLeastOnce, true, "1").await.expect("publish");
        c.publish("plant/b", rumqttc::QoS::AtLeastOnce, true, "22").await.expect("publish");
        c.publish("plant/c", rumqttc::QoS::AtLeastOnce, true, "333").await.expect("publish");
        c.publish("office/d", rumqttc::QoS::AtLeastOnce, true, "4").await.expect("publish");
        (c, driver)
    });
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Retained").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Retained);
    step_until(&mut h, "the four values in the tab", |app| {
        retained_rows(app).is_some_and(|r| r == ["office/d", "plant/a", "plant/b", "plant/c"])
    });
    h.get_by_label("plant/a");
    assert!(h.query_all_by_label("setter").count() >= 4, "set by, on each row");
    h.get_by_label_contains("4 of 4 retained values");

    h.get_by_role_and_label(Role::Button, "Delete plant/a").click();
    h.run();
    h.get_by_label("Delete the retained value of plant/a?");
    h.get_by_role_and_label(Role::Button, "Delete").click();
    step_until(&mut h, "the store without it", |app| retained_rows(app).is_some_and(|r| r == ["office/d", "plant/b", "plant/c"]));
    assert!(h.query_by_label("Delete the retained value of plant/a?").is_none(), "the dialog closed");
    h.get_by_label_contains("3 of 3 retained values");

    // The filter goes to the broker (an MQTT filter here); "Delete all shown" deletes what it selects.
    h.get_by_role_and_label(Role::TextInput, "Filter retained").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter retained").type_text("plant/#");
    step_until(&mut h, "the plant/# selection", |app| retained_rows(app).is_some_and(|r| r == ["plant/b", "plant/c"]));
    h.get_by_label_contains("2 of 2 retained values");
    h.get_by_role_and_label(Role::Button, "Delete all shown…").click();
    h.run();
    h.get_by_label("Delete 2 retained values matching plant/#?");
    h.get_by_role_and_label(Role::Button, "Delete").click();
    step_until(&mut h, "an empty selection", |app| retained_rows(app).is_some_and(|r| r.is_empty()));
    h.state_mut().retained.filter.clear();
    step_until(&mut h, "the value outside the selection", |app| retained_rows(app).is_some_and(|r| r == ["office/d"]));
}

#[test]
fn the_retained_tab_of_an_external_connection_says_why_it_is_empty() {
    let (_rt, mut h) = explorer();
    let id = h.state_mut().store.open_conn("plant", "plant.example:1883");
    h.state_mut().current = id;
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Retained").click();
    h.run();
    h.get_by_label_contains("The Retained view shows the embedded broker (Local) from inside. plant is another broker");
    assert!(h.state().store.broker.inside.retained.is_none(), "nothing asked of the embedded broker");
}

/// Next event that `pick` keeps, skipping the others (the tap's messages among them).
async fn next_event<T>(events: &mut mqscope::protocol::EventReceiver, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    guard(what, async {
        loop {
            if let Some(found) = events.recv().await.and_then(&mut pick) {
                return found;
            }
        }
    })
    .await
}

async fn inspect_retained(commands: &mpsc::Sender<Command>, events: &mut mqscope::protocol::EventReceiver, filter: &str) -> (usize, usize) {
    commands.send(Command::Inspect(InspectRequest::Retained { filter: filter.to_owned() })).await.expect("inspect");
    next_event(events, "the retained snapshot", |e| match e {
        Event::BrokerInside(InsideUpdate::Retained(s)) => Some((s.rows.len(), s.total)),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_100k_topic_subtree_empties_the_store_below_it() {
    const N: usize = 100_000;
    let (commands, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(std::env::temp_dir().join(format!("mqscope-retained-100k-{}", std::process::id()))),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    next_event(&mut events, "BrokerStarted", |e| matches!(e, Event::BrokerStarted { .. }).then_some(())).await;

    // Stored straight into the embedded broker (a publish from inside, no socket), in command
    // order: the snapshot asked for after them sees every one.
    let topics: Vec<Arc<str>> = (0..N).map(|i| format!("bulk/{}/{}", i / 1000, i % 1000).into()).collect();
    let sender = {
        let (commands, topics) = (commands.clone(), topics.clone());
        tokio::spawn(async move {
            let publish = |topic: &str| PublishRequest {
                id: 0,
                conn_id: ConnId::LOCAL,
                topic: topic.to_owned(),
                payload: bytes::Bytes::from_static(b"v"),
                qos: QoS::AtMostOnce,
                retain: true,
                meta: MessageMeta::default(),
            };
            for topic in topics.iter().map(|t| &**t).chain(["keep/me"]) {
                commands.send(Command::Publish(publish(topic))).await.expect("publish");
            }
        })
    };
    // The events are read meanwhile (the tap's messages would otherwise fill the channel).
    let mut sender = sender;
    guard("the publishes sent", async {
        loop {
            tokio::select! {
                done = &mut sender => break done.expect("sender"),
                _ = events.recv() => {}
            }
        }
    })
    .await;
    let (listed, total) = inspect_retained(&commands, &mut events, "bulk/#").await;
    assert_eq!((listed, total), (mqscope::model::broker_view::MAX_ROWS, N), "all stored; the snapshot bounded");

    commands.send(Command::DeleteRetained { conn_id: ConnId::LOCAL, topics }).await.expect("delete");
    let deleted = next_event(&mut events, "RetainedDeleted", |e| match e {
        Event::RetainedDeleted { conn_id, topics } => Some((conn_id, topics.len())),
        _ => None,
    })
    .await;
    assert_eq!(deleted, (ConnId::LOCAL, N));
    assert_eq!(inspect_retained(&commands, &mut events, "bulk/#").await, (0, 0), "nothing left below bulk/");
    assert_eq!(inspect_retained(&commands, &mut events, "").await, (1, 1), "keep/me, outside the subtree, stays");
    commands.send(Command::Shutdown).await.expect("shutdown");
}
