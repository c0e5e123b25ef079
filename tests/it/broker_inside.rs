//! The embedded broker from inside (`broker::inspect`): the clients, subscriptions and retained
//! views filled by real rumqttc clients over sockets, and the clients view's actions (disconnect
//! with a reason code, drop, expire) with what the clients and a will watcher see.

use std::time::{Duration, SystemTime};

use mqscope::broker::{Broker, inspect};
use mqscope::model::QoS;
use mqscope::model::broker_view::{ClientAction, ClientRow};
use rumqttc::v5::mqttbytes::QoS as Q5;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet as P5};
use rumqttc::v5::{ConnectionError, StateError};

use mqscope::broker::codec::{self, ProtocolVersion};

use crate::common::{self, client_v4, drive_v4, guard, next_publish_v4, until, wait_v5};
use crate::raw::{Raw, connect_packet};

fn row(broker: &Broker, id: &str) -> Option<ClientRow> {
    inspect::clients(broker.shared()).rows.into_iter().find(|r| &*r.client_id == id)
}

/// A 5.0 client with a will on `wills/{id}` and a session that outlives it by `expiry` seconds.
async fn v5_with_will(addr: std::net::SocketAddr, id: &str, expiry: u32) -> (rumqttc::v5::AsyncClient, rumqttc::v5::EventLoop) {
    let mut opts = rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(25));
    opts.set_session_expiry_interval(Some(expiry));
    opts.set_clean_start(true);
    opts.set_last_will(LastWill::new(format!("wills/{id}"), "gone", Q5::AtLeastOnce, false, None));
    let (client, mut el) = rumqttc::v5::AsyncClient::new(opts, 100);
    wait_v5(&mut el, "CONNACK", |p| matches!(p, P5::ConnAck(_))).await;
    (client, el)
}

/// A 5.0 byte-level peer with a will on `wills/{id}`.
async fn with_will(addr: std::net::SocketAddr, id: &str) -> Raw {
    let mut connect = connect_packet(ProtocolVersion::V5, id, true, 60);
    connect.will = Some(codec::LastWill {
        topic: format!("wills/{id}"),
        payload: bytes::Bytes::from_static(b"gone"),
        qos: codec::QoS::AtLeastOnce,
        retain: false,
        properties: codec::Properties::default(),
    });
    let (raw, ack) = Raw::connect(addr, connect).await;
    assert_eq!(ack.code, 0);
    raw
}

/// A 3.1.1 client with a will on `wills/{id}`.
async fn v4_with_will(addr: std::net::SocketAddr, id: &str) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut opts = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_last_will(rumqttc::LastWill::new(format!("wills/{id}"), "gone", rumqttc::QoS::AtLeastOnce, false));
    let (client, mut el) = rumqttc::AsyncClient::new(opts, 100);
    common::wait_v4(&mut el, "CONNACK", |p| matches!(p, rumqttc::Packet::ConnAck(_))).await;
    (client, el)
}

/// A 3.1.1 client subscribed to `wills/#`.
async fn will_watcher(addr: std::net::SocketAddr) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let (c, mut el) = client_v4(addr, "will-watcher", true).await;
    c.subscribe("wills/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
    common::wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    (c, el)
}

#[tokio::test]
async fn clients_view_shows_each_session_with_its_figures_online_and_offline() {
    let (addr, broker) = common::start_broker().await;
    let before = SystemTime::now() - Duration::from_secs(1);
    let (pub5, mut el5) = v5_with_will(addr, "sensor-5", 300).await;
    let (sub4, mut el4) = client_v4(addr, "display-4", false).await;
    sub4.subscribe("plant/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
    common::wait_v4(&mut el4, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    for i in 0..3 {
        pub5.publish(format!("plant/t{i}"), Q5::AtLeastOnce, false, "21.5").await.expect("publish");
        wait_v5(&mut el5, "PUBACK", |p| matches!(p, P5::PubAck(_))).await;
    }
    for _ in 0..3 {
        next_publish_v4(&mut el4).await;
    }
    until("the counters", || row(&broker, "display-4").is_some_and(|r| r.msgs_out == 3)).await;

    let s5 = row(&broker, "sensor-5").expect("sensor-5 listed");
    assert!(s5.online && s5.address.is_some_and(|a| a.ip().is_loopback()));
    assert_eq!((s5.protocol, s5.keep_alive_secs, s5.clean_start, s5.session_expiry_secs), (5, 25, true, 300));
    let will = s5.will.as_ref().expect("will listed");
    assert_eq!((will.topic.as_str(), will.qos, will.retain, will.payload_len), ("wills/sensor-5", QoS::AtLeastOnce, false, 4));
    assert_eq!((s5.msgs_in, s5.msgs_out), (3, 0));
    assert!(s5.bytes_in > 3 * 4 && s5.bytes_out > 0, "{s5:?}");
    assert!(s5.connected_at.is_some_and(|t| t >= before) && s5.last_activity.is_some_and(|t| t >= before));
    let d4 = row(&broker, "display-4").expect("display-4 listed");
    assert_eq!((d4.protocol, d4.clean_start, d4.session_expiry_secs, d4.subscriptions), (4, false, u32::MAX, 1));
    assert_eq!((d4.msgs_in, d4.msgs_out, d4.will.is_none()), (0, 3, true));

    // Offline: display-4 goes; what is published for it now waits in its queue (QoS 1, MQTT-3.1.2-5 / 3.1.1).
    drop((sub4, el4));
    until("display-4 offline", || row(&broker, "display-4").is_some_and(|r| !r.online)).await;
    pub5.publish("plant/t9", Q5::AtLeastOnce, false, "22").await.expect("publish");
    wait_v5(&mut el5, "PUBACK", |p| matches!(p, P5::PubAck(_))).await;
    until("the queued message", || row(&broker, "display-4").is_some_and(|r| r.queued_msgs == 1)).await;
    let d4 = row(&broker, "display-4").expect("listed offline");
    assert!(d4.address.is_none() && d4.queued_bytes > 0 && d4.expires_in_secs.is_none(), "never expires: {d4:?}");
    // A 5.0 session with Session Expiry 300 s shows its time left once offline.
    pub5.disconnect().await.expect("disconnect");
    guard("the DISCONNECT sent", async { while el5.poll().await.is_ok() {} }).await;
    until("sensor-5 offline", || row(&broker, "sensor-5").is_some_and(|r| !r.online)).await;
    let left = row(&broker, "sensor-5").and_then(|r| r.expires_in_secs).expect("time left");
    assert!((290..=300).contains(&left), "{left}");
}

#[tokio::test]
async fn disconnect_with_0x00_discards_the_will_and_with_0x04_publishes_it() {
    // MQTT-3.14.4-3: ended as by a normal disconnection the will is discarded; 0x04 asks for it.
    // A 5.0 client gets the DISCONNECT with the reason code chosen (5.0 §3.14.2.1).
    let (addr, broker) = common::start_broker().await;
    let (_w, mut watcher) = will_watcher(addr).await;
    // Byte-level peers: rumqttc 0.25 cannot decode a DISCONNECT without Property Length, which
    // 5.0 §3.14.2.2.1 allows (and our codec sends) when the Remaining Length is under 2.
    let mut calm = with_will(addr, "calm").await;
    let mut loud = with_will(addr, "loud").await;
    let shared = broker.shared();
    let said = inspect::act(shared, &ClientAction::Disconnect { client_id: "calm".into(), code: 0x00 }).expect("act");
    assert!(said.contains("will discarded"), "{said}");
    calm.expect_disconnect(0x00).await;
    until("calm gone", || row(&broker, "calm").is_none()).await;
    inspect::act(shared, &ClientAction::Disconnect { client_id: "loud".into(), code: 0x04 }).expect("act");
    loud.expect_disconnect(0x04).await;
    // Routed in order: had calm's will gone out, the watcher would see it first.
    let first = next_publish_v4(&mut watcher).await;
    assert_eq!(&first.topic, "wills/loud");
    assert_eq!(
        inspect::act(shared, &ClientAction::Disconnect { client_id: "nobody".into(), code: 0 }),
        Err(inspect::ActionError::NoSession("nobody".into()))
    );
}

#[tokio::test]
async fn dropping_a_connection_closes_it_without_disconnect_and_publishes_the_will() {
    // MQTT-3.1.2-8: the will is published when the connection closes without DISCONNECT 0x00.
    let (addr, broker) = common::start_broker().await;
    let (_w, mut watcher) = will_watcher(addr).await;
    let (_c, mut el) = v4_with_will(addr, "dropped-4").await;
    let (_c5, mut el5) = v5_with_will(addr, "dropped-5", 0).await;
    for id in ["dropped-4", "dropped-5"] {
        inspect::act(broker.shared(), &ClientAction::Drop { client_id: id.into() }).expect("drop");
        assert_eq!(next_publish_v4(&mut watcher).await.topic, format!("wills/{id}"));
    }
    let closed = guard("the close", async {
        loop {
            if let Err(err) = el.poll().await {
                return err;
            }
        }
    })
    .await;
    assert!(matches!(closed, rumqttc::ConnectionError::Io(_) | rumqttc::ConnectionError::MqttState(_)), "{closed:?}");
    let closed5 = guard("the close (5.0)", async {
        loop {
            if let Err(err) = el5.poll().await {
                return err;
            }
        }
    })
    .await;
    assert!(!matches!(closed5, ConnectionError::MqttState(StateError::ServerDisconnect { .. })), "no DISCONNECT: {closed5:?}");
}

#[tokio::test]
async fn expiring_an_offline_session_ends_it_and_a_new_connection_finds_none() {
    let (addr, broker) = common::start_broker().await;
    let (c, mut el) = client_v4(addr, "sleeper", false).await;
    c.subscribe("mail/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
    common::wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    assert_eq!(
        inspect::act(broker.shared(), &ClientAction::Expire { client_id: "sleeper".into() }),
        Err(inspect::ActionError::Online("sleeper".into())),
        "a connected session is not expired"
    );
    drop((c, el));
    until("sleeper offline", || row(&broker, "sleeper").is_some_and(|r| !r.online)).await;
    inspect::act(broker.shared(), &ClientAction::Expire { client_id: "sleeper".into() }).expect("expire");
    assert!(row(&broker, "sleeper").is_none());
    assert_eq!(common::subscription_count(&broker), 0, "its subscriptions went with it");
    // MQTT-3.2.2-2 (3.1.1: Session Present 0 when no session is there).
    let mut opts = rumqttc::MqttOptions::new("sleeper", addr.ip().to_string(), addr.port());
    opts.set_clean_session(false);
    let (_c, mut el) = rumqttc::AsyncClient::new(opts, 10);
    let ack = common::wait_v4(&mut el, "CONNACK", |p| matches!(p, rumqttc::Packet::ConnAck(_))).await;
    assert!(matches!(ack, rumqttc::Packet::ConnAck(a) if !a.session_present));
    drive_v4(el);
}

#[tokio::test]
async fn subscriptions_view_lists_every_option_and_who_receives_a_topic() {
    use rumqttc::v5::mqttbytes::v5::{Filter, RetainForwardRule, SubscribeProperties};
    let (addr, broker) = common::start_broker().await;
    let (c5, mut el5) = common::client_v5(addr, "opts-5").await;
    let mut f = Filter::new("home/+/temp", Q5::ExactlyOnce);
    f.nolocal = true;
    f.preserve_retain = true;
    f.retain_forward_rule = RetainForwardRule::Never;
    let props = SubscribeProperties { id: Some(7), user_properties: Vec::new() };
    c5.subscribe_many_with_properties([f], props).await.expect("subscribe");
    wait_v5(&mut el5, "SUBACK", |p| matches!(p, P5::SubAck(_))).await;
    c5.subscribe("home/#", Q5::AtMostOnce).await.expect("subscribe");
    wait_v5(&mut el5, "SUBACK", |p| matches!(p, P5::SubAck(_))).await;
    let mut members = Vec::new();
    for id in ["worker-a", "worker-b"] {
        let (c, mut el) = client_v4(addr, id, true).await;
        c.subscribe("$share/pool/home/kitchen/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
        common::wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
        members.push((c, el));
    }
    let snap = inspect::subscriptions(broker.shared());
    assert_eq!(snap.total, 4);
    let temp = snap.rows.iter().find(|r| r.filter == "home/+/temp").expect("listed");
    assert_eq!(&*temp.client_id, "opts-5");
    assert_eq!(
        (temp.qos, temp.no_local, temp.retain_as_published, temp.retain_handling, temp.subscription_id, temp.share_group.as_deref()),
        (QoS::ExactlyOnce, true, true, 2, Some(7), None)
    );
    let shared: Vec<_> = snap.rows.iter().filter(|r| r.share_group.as_deref() == Some("pool")).collect();
    assert_eq!(shared.len(), 2);
    assert!(shared.iter().all(|r| r.filter == "home/kitchen/#" && r.qos == QoS::AtLeastOnce && r.online));

    // MQTT-3.3.4-2: one copy per session, at the highest QoS of its matching subscriptions; 5.0
    // §4.8.2: a shared group gets one copy for all its members.
    let who = inspect::receivers(broker.shared(), "home/kitchen/temp");
    assert_eq!(who.len(), 2, "{who:?}");
    assert_eq!((&*who[0].client_id, who[0].max_qos, who[0].filters.len()), ("opts-5", QoS::ExactlyOnce, 2));
    assert_eq!((who[1].share_group.as_deref(), who[1].members, who[1].max_qos), (Some("pool"), 2, QoS::AtLeastOnce));
    let garage = inspect::receivers(broker.shared(), "home/garage/door");
    assert_eq!(garage.len(), 1);
    assert_eq!((&*garage[0].client_id, garage[0].max_qos), ("opts-5", QoS::AtMostOnce));
    assert!(inspect::receivers(broker.shared(), "office/x").is_empty());
}
