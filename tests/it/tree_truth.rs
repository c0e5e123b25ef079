//! The tree tells the truth under any load: with the UI side deliberately slow, every topic and
//! every latest value arrives, from an external broker (mosquitto) and from the embedded one, and
//! what could not be kept as history is counted as thinned, never dropped.

use std::sync::Arc;
use std::time::Duration;

use mqscope::broker::BrokerConfig;
use mqscope::client::ClientSessions;
use mqscope::model::profile::{MqttVersion, Profile, SubscriptionDef};
use mqscope::model::{ConnId, QoS, Store};
use mqscope::protocol::{COMMAND_CAPACITY, Event, EventReceiver, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use rumqttc::{AsyncClient, MqttOptions, Packet};
use tokio::sync::mpsc;

use crate::client_mosquitto::Mosquitto;
use crate::common::{guard, wait_v4};

/// A UI that folds one event, then sleeps: far slower than the brokers send.
async fn fold_slowly_until(events: &mut EventReceiver, store: &mut Store, conn_id: ConnId, done: impl Fn(&Store) -> bool) {
    guard("every message in the tree", async {
        while !done(store) {
            let Some(event) = events.recv().await else { panic!("the runtime went away") };
            if let Event::ConnStatus { conn_id: id, status } = &event
                && *id == conn_id
            {
                assert!(!matches!(status, mqscope::model::ConnStatus::Disconnected { .. }), "{status:?}");
            }
            event.apply_to(store);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Publish `topics` retained QoS 0 messages `truth/{i}` = `v{i}` and wait until the broker has them
/// all (a QoS 1 message after them is acknowledged: one connection's messages are handled in order).
async fn publish_retained(port: u16, topics: usize) {
    let mut opts = MqttOptions::new("truth-publisher", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 1000);
    let publisher = tokio::spawn(async move {
        for i in 0..topics {
            client.publish(format!("truth/{i}"), rumqttc::QoS::AtMostOnce, true, format!("v{i}")).await.expect("publish");
        }
        client.publish("truth-done", rumqttc::QoS::AtLeastOnce, false, "done").await.expect("publish");
        client
    });
    wait_v4(&mut el, "the PUBACK after every retained message", |p| matches!(p, Packet::PubAck(_))).await;
    drop(publisher.await.expect("publisher"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_window_gets_every_retained_topic_of_an_external_broker() {
    let topics = 100_000;
    let mosquitto = Mosquitto::start("allow_anonymous true").await;
    publish_retained(mosquitto.port, topics).await;
    // A UI with room for only 5,000 messages in flight, folding slowly: the connection must wait for it
    // (TCP flow control) or coalesce, never drop.
    let (sink, mut events) = EventSink::channel_bounded(Arc::new(|_| {}), 5_000);
    let mut sessions = ClientSessions::new(sink);
    let profile = Profile {
        name: "mosquitto".into(),
        host: "127.0.0.1".into(),
        port: mosquitto.port,
        version: MqttVersion::V311,
        client_id: "truth-explorer".into(),
        subscriptions: vec![SubscriptionDef { filter: "truth/#".into(), qos: QoS::AtMostOnce, ..SubscriptionDef::default() }],
        ..Profile::default()
    };
    let conn_id = ConnId(1);
    let mut store = Store::default();
    store.open_conn("mosquitto", "127.0.0.1");
    sessions.connect(conn_id, profile);
    fold_slowly_until(&mut events, &mut store, conn_id, |s| s.conn(conn_id).is_some_and(|c| c.tree.topic_count() >= topics)).await;
    let tree = &store.conn(conn_id).expect("conn").tree;
    assert_eq!(tree.topic_count(), topics);
    assert_eq!(tree.message_count(), topics as u64, "one retained message each, none lost or doubled");
    for i in 0..topics {
        let node = tree.node(tree.find(&format!("truth/{i}")).unwrap_or_else(|| panic!("truth/{i} missing")));
        let latest = node.latest().expect("latest");
        assert_eq!(&latest.payload[..], format!("v{i}").as_bytes());
        assert!(latest.retain && node.is_retained());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_into_the_embedded_broker_leaves_every_topic_with_its_exact_latest_value() {
    let (topics, rounds) = (10_000, 20);
    // The runtime runs while its command channel is open.
    let (_cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    // Room for 5,000 messages in flight and a UI far slower than the burst: the tap must coalesce.
    let (sink, mut events) = EventSink::channel_bounded(Arc::new(|_| {}), 5_000);
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(std::env::temp_dir().join(format!("mqscope-truth-{}", std::process::id()))),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    let mut store = Store::default();
    let addr = guard("the broker", async {
        loop {
            match events.recv().await {
                Some(Event::BrokerStarted { local_addr, .. }) => return local_addr,
                Some(event) => event.apply_to(&mut store),
                None => panic!("runtime stopped"),
            }
        }
    })
    .await;
    let mut opts = MqttOptions::new("burst", "127.0.0.1", addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 1000);
    let driver = tokio::spawn(async move { while el.poll().await.is_ok() {} });
    for round in 0..rounds {
        for i in 0..topics {
            // Round 0 is retained; the retained value stays stored behind the later live messages.
            client.publish(format!("burst/{i}"), rumqttc::QoS::AtMostOnce, round == 0, format!("{round}")).await.expect("publish");
        }
    }
    let total = (topics * rounds) as u64;
    fold_slowly_until(&mut events, &mut store, ConnId::LOCAL, |s| s.conn(ConnId::LOCAL).is_some_and(|c| c.tree.message_count() >= total))
        .await;
    let tree = &store.conn(ConnId::LOCAL).expect("local").tree;
    assert_eq!(tree.topic_count(), topics);
    assert_eq!(tree.message_count(), total, "every message counted once");
    assert!(tree.thinned() > 0, "a UI this slow cannot keep every message as history: some were thinned");
    for i in 0..topics {
        let node = tree.node(tree.find(&format!("burst/{i}")).expect("every topic"));
        assert_eq!(&node.latest().expect("latest").payload[..], format!("{}", rounds - 1).as_bytes(), "burst/{i}");
        assert_eq!(node.msg_count(), rounds as u64);
        assert_eq!(node.kept_count() as u64 + node.thinned(), rounds as u64, "each message kept or counted as thinned");
        assert!(node.is_retained(), "burst/{i}: the retained value of round 0 is still in the broker");
    }
    driver.abort();
}
