//! Fault injection with real clients: a refused CONNECT as mosquitto_pub reports it, a withheld
//! PUBACK that makes the client send its PUBLISH again with DUP=1, delayed deliveries that keep
//! their order, a takeover, and the list emptied in one call.

use bytes::Bytes;
use mqscope::broker::codec::{self, LastWill, Packet, Properties, ProtocolVersion, QoS, reason};
use mqscope::broker::faults;
use mqscope::model::faults::{Fault, FaultAction};
use mqscope::model::packet_trace::Direction;
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::{guard, start_broker, until};
use crate::raw::{self, Raw, connect_packet};

/// Run mosquitto_pub once (5.0) and return (success, stderr + stdout).
async fn mosquitto_pub(addr: std::net::SocketAddr, id: &str) -> (bool, String) {
    let out = guard(
        "mosquitto_pub",
        Command::new("mosquitto_pub")
            .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "-V", "mqttv5", "-i", id, "-t", "f/t", "-m", "x"])
            .output(),
    )
    .await
    .expect("mosquitto_pub is installed (apt-get install mosquitto-clients)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn refusing_the_next_connect_with_0x87_is_what_mosquitto_pub_reports_and_it_is_used_once() {
    // 5.0 §3.2.2.2: CONNACK 0x87 Not authorized; MQTT-3.2.2-7: the server then closes the connection.
    let (addr, broker) = start_broker().await;
    faults::act(broker.shared(), &FaultAction::Add(Fault::RefuseConnect { client_id: Some("device".into()), code: 0x87 }));
    let (ok, said) = mosquitto_pub(addr, "device").await;
    assert!(!ok, "mosquitto_pub must fail: {said}");
    assert!(said.to_lowercase().contains("not authori"), "mosquitto_pub says why: {said}");
    assert!(broker.shared().faults.list().is_empty(), "one shot: used up");
    let (ok, said) = mosquitto_pub(addr, "device").await;
    assert!(ok, "the next CONNECT is accepted: {said}");
}

#[tokio::test]
async fn refusing_every_connect_maps_the_code_for_3_1_1_and_stays_until_cleared() {
    // 3.1.1 §3.2.2.3: 0x87 Not authorized is return code 5 for a 3.1.1 client.
    let (addr, broker) = start_broker().await;
    faults::act(broker.shared(), &FaultAction::Add(Fault::RefuseConnect { client_id: None, code: 0x87 }));
    for id in ["a", "b"] {
        let (_raw, ack) = Raw::connect(addr, connect_packet(ProtocolVersion::V311, id, true, 60)).await;
        assert_eq!(ack.code, reason::CONNACK_V3_NOT_AUTHORIZED, "{id}");
    }
    faults::act(broker.shared(), &FaultAction::ClearAll);
    Raw::connected(addr, ProtocolVersion::V311, "c").await;
}

#[tokio::test]
async fn a_withheld_puback_makes_the_client_send_the_publish_again_with_dup() {
    // MQTT-4.4.0-1 (5.0) / MQTT-4.4.0-1 (3.1.1): a client that reconnects without Clean Start
    // re-sends an unacknowledged PUBLISH with DUP=1 (MQTT-3.3.1-1); the broker acknowledges it then.
    let (addr, broker) = start_broker().await;
    mqscope::broker::trace::set(broker.shared(), Some("flaky"), true);
    faults::act(broker.shared(), &FaultAction::Add(Fault::WithholdAcks { client_id: "flaky".into(), left: 1 }));
    let mut persistent = connect_packet(ProtocolVersion::V5, "flaky", true, 60);
    persistent.properties.session_expiry_interval = Some(600);
    let (mut raw, ack) = Raw::connect(addr, persistent.clone()).await;
    assert_eq!(ack.code, 0);
    raw.send(&Packet::Publish(raw::publish("f/t", QoS::AtLeastOnce, 5, b"v"))).await;
    // The PINGRESP comes first: the PUBACK was withheld, not late.
    raw.send(&Packet::PingReq).await;
    assert_eq!(raw.expect("PINGRESP").await, Packet::PingResp, "no PUBACK before it");
    until("the fault used up", || broker.shared().faults.list().is_empty()).await;
    // The client, seeing no PUBACK, reconnects and sends the PUBLISH again with DUP=1.
    drop(raw);
    persistent.clean_start = false;
    let (mut raw, ack) = Raw::connect(addr, persistent).await;
    assert!(ack.session_present);
    let mut again = raw::publish("f/t", QoS::AtLeastOnce, 5, b"v");
    again.dup = true;
    raw.send(&Packet::Publish(again)).await;
    match raw.expect("PUBACK").await {
        Packet::PubAck(a) => assert_eq!(a.pkid, 5),
        other => panic!("expected PUBACK 5, got {other:?}"),
    }
    let trace = broker.shared().trace.since(0).packets;
    let publishes: Vec<&str> = trace.iter().filter(|p| p.kind == "PUBLISH").map(|p| p.flags.as_str()).collect();
    assert_eq!(publishes, ["", "DUP"], "the first PUBLISH, then the DUP one");
    let acks: Vec<(Direction, Option<u16>)> = trace.iter().filter(|p| p.kind == "PUBACK").map(|p| (p.direction, p.pkid)).collect();
    assert_eq!(acks, [(Direction::Out, Some(5))], "only the second was acknowledged");
}

#[tokio::test]
async fn delayed_deliveries_arrive_no_sooner_than_the_delay_and_in_order() {
    let (addr, broker) = start_broker().await;
    let mut sub = Raw::connected(addr, ProtocolVersion::V5, "slow-link").await;
    assert_eq!(sub.subscribe(1, "d/#", raw::qos(QoS::AtLeastOnce)).await, [1]);
    faults::act(broker.shared(), &FaultAction::Add(Fault::DelayDeliveries { client_id: "slow-link".into(), delay_ms: 300 }));
    let mut publisher = Raw::connected(addr, ProtocolVersion::V5, "pub").await;
    let sent_at = Instant::now();
    for (i, payload) in [&b"1"[..], b"2", b"3"].into_iter().enumerate() {
        let mut p = raw::publish("d/t", QoS::AtLeastOnce, u16::try_from(i + 1).expect("small"), b"");
        p.payload = Bytes::from_static(payload);
        publisher.send(&Packet::Publish(p)).await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let p = sub.expect_publish().await;
        sub.send(&Packet::PubAck(raw::ack(p.pkid))).await;
        got.push(p.payload.to_vec());
    }
    assert!(sent_at.elapsed() >= std::time::Duration::from_millis(300), "held for the delay: {:?}", sent_at.elapsed());
    assert_eq!(got, [b"1".to_vec(), b"2".to_vec(), b"3".to_vec()], "in order");
    // Cleared: the next one is not held (it still comes after the held ones, which are all out).
    faults::act(broker.shared(), &FaultAction::Clear(Fault::DelayDeliveries { client_id: "slow-link".into(), delay_ms: 0 }));
    assert!(broker.shared().faults.list().is_empty());
    publisher.send(&Packet::Publish(raw::publish("d/t", QoS::AtMostOnce, 0, b"4"))).await;
    assert_eq!(&sub.expect_publish().await.payload[..], b"4");
}

#[tokio::test]
async fn taking_a_session_over_sends_0x8e_and_publishes_the_will() {
    // MQTT-3.1.4-3: the existing connection of a client id taken over is closed, in 5.0 with
    // DISCONNECT 0x8E Session taken over; MQTT-3.1.2-8: its will is published.
    let (addr, broker) = start_broker().await;
    let mut watcher = Raw::connected(addr, ProtocolVersion::V5, "watcher").await;
    assert_eq!(watcher.subscribe(1, "wills/#", raw::qos(QoS::AtMostOnce)).await, [0]);
    let mut connect = connect_packet(ProtocolVersion::V5, "victim", true, 60);
    connect.will = Some(LastWill {
        topic: "wills/victim".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    });
    let (mut victim, _) = Raw::connect(addr, connect).await;
    let said =
        mqscope::broker::inspect::act(broker.shared(), &mqscope::model::broker_view::ClientAction::TakeOver { client_id: "victim".into() })
            .expect("online");
    assert!(said.contains("0x8E"), "{said}");
    victim.expect_disconnect(codec::reason::SESSION_TAKEN_OVER).await;
    assert_eq!(&watcher.expect_publish().await.payload[..], b"gone");
}

#[tokio::test]
async fn restarting_in_place_ends_every_connection_with_0x8b_and_keeps_or_drops_sessions() {
    // 5.0 §3.14.2.1: 0x8B Server shutting down; MQTT-3.2.2-2 / -3: Session Present tells whether
    // the session survived.
    let (addr, broker) = start_broker().await;
    let mut keeper_connect = connect_packet(ProtocolVersion::V5, "keeper", true, 60);
    keeper_connect.properties.session_expiry_interval = Some(600);
    let (mut keeper, _) = Raw::connect(addr, keeper_connect.clone()).await;
    assert_eq!(keeper.subscribe(1, "k/#", raw::qos(QoS::AtLeastOnce)).await, [1]);
    let said = faults::act(broker.shared(), &FaultAction::Restart { keep_sessions: true });
    assert!(said.contains("1 sessions kept"), "{said}");
    keeper.expect_disconnect(reason::SERVER_SHUTTING_DOWN).await;
    keeper_connect.clean_start = false;
    let (mut keeper, ack) = Raw::connect(addr, keeper_connect.clone()).await;
    assert!(ack.session_present, "kept");
    assert!(crate::common::has_subscription(&broker, "keeper", "k/#"));
    faults::act(broker.shared(), &FaultAction::Restart { keep_sessions: false });
    keeper.expect_disconnect(reason::SERVER_SHUTTING_DOWN).await;
    let (_keeper, ack) = Raw::connect(addr, keeper_connect).await;
    assert!(!ack.session_present, "dropped");
    assert!(!crate::common::has_subscription(&broker, "keeper", "k/#"));
}
