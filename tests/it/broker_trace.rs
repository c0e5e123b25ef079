//! The packet trace with real clients over sockets: a QoS 2 handshake with its packet ids, a
//! refused SUBSCRIBE with its reason code, a password that never shows, and a client not traced
//! that leaves no row.

use mqscope::broker::codec::{self, ProtocolVersion, QoS};
use mqscope::broker::{BrokerConfig, trace};
use mqscope::model::packet_trace::{Direction, TracedPacket};

use crate::common::{self, start_broker, start_broker_with, until};
use crate::raw::{self, Raw};

/// Every packet traced so far.
fn traced(broker: &mqscope::broker::Broker) -> Vec<TracedPacket> {
    broker.shared().trace.since(0).packets
}

/// (direction, type, packet id) of `client`'s packets, in order.
fn flow(packets: &[TracedPacket], client: &str) -> Vec<(Direction, &'static str, Option<u16>)> {
    packets.iter().filter(|p| &*p.client_id == client).map(|p| (p.direction, p.kind, p.pkid)).collect()
}

#[tokio::test]
async fn a_qos2_handshake_shows_all_four_packets_with_their_id_and_others_stay_untraced() {
    // MQTT-4.3.3: PUBLISH → PUBREC → PUBREL → PUBCOMP, one packet id for the four.
    let (addr, broker) = start_broker().await;
    trace::set(broker.shared(), Some("sender"), true);
    let (client, el) = common::client_v4(addr, "sender", true).await;
    let _driver = common::drive_v4(el);
    let (quiet, quiet_el) = common::client_v4(addr, "quiet", true).await;
    let _quiet_driver = common::drive_v4(quiet_el);
    quiet.publish("q/t", rumqttc::QoS::ExactlyOnce, false, "not traced").await.expect("publish");
    client.publish("q/t", rumqttc::QoS::ExactlyOnce, false, "21.5").await.expect("publish");
    until("PUBCOMP traced", || traced(&broker).iter().any(|p| p.kind == "PUBCOMP")).await;
    let packets = traced(&broker);
    let steps = flow(&packets, "sender");
    let publish = packets.iter().find(|p| p.kind == "PUBLISH").expect("PUBLISH traced");
    let id = publish.pkid.expect("a QoS 2 PUBLISH has a packet id");
    assert_eq!(
        steps,
        [
            (Direction::In, "CONNECT", None),
            (Direction::Out, "CONNACK", None),
            (Direction::In, "PUBLISH", Some(id)),
            (Direction::Out, "PUBREC", Some(id)),
            (Direction::In, "PUBREL", Some(id)),
            (Direction::Out, "PUBCOMP", Some(id)),
        ]
    );
    assert_eq!((publish.qos, publish.topic.as_deref()), (Some(mqscope::model::QoS::ExactlyOnce), Some("q/t")));
    assert!(publish.detail.contains("payload: \"21.5\""), "{}", publish.detail);
    assert!(packets.iter().all(|p| &*p.client_id == "sender"), "quiet is not traced: {packets:?}");
    // Sizes are the bytes on the wire: a PUBREC of 3.1.1 is 4 bytes.
    assert_eq!(packets.iter().find(|p| p.kind == "PUBREC").map(|p| p.size), Some(4));
}

#[tokio::test]
async fn a_refused_subscribe_shows_its_reason_code() {
    // 5.0 §3.9.3: a filter past our per-client limit is refused in SUBACK with 0x97 Quota exceeded.
    let (addr, broker) =
        start_broker_with(BrokerConfig { sys_interval: None, max_subscriptions_per_client: 1, ..BrokerConfig::default() }).await;
    trace::set(broker.shared(), None, true);
    let mut raw = Raw::connected(addr, ProtocolVersion::V5, "greedy").await;
    assert_eq!(raw.subscribe(1, "a/#", raw::qos(QoS::AtLeastOnce)).await, [1]);
    assert_eq!(raw.subscribe(2, "b/#", raw::qos(QoS::AtLeastOnce)).await, [codec::reason::QUOTA_EXCEEDED]);
    until("the second SUBACK traced", || traced(&broker).iter().filter(|p| p.kind == "SUBACK").count() == 2).await;
    let packets = traced(&broker);
    let refused = packets.iter().filter(|p| p.kind == "SUBACK").nth(1).expect("second SUBACK");
    assert_eq!((refused.direction, refused.pkid, refused.reason), (Direction::Out, Some(2), Some(0x97)));
    assert!(refused.detail.contains("0x97 Quota exceeded"), "{}", refused.detail);
    let asked = packets.iter().find(|p| p.kind == "SUBSCRIBE" && p.pkid == Some(2)).expect("SUBSCRIBE traced");
    assert_eq!(asked.topic.as_deref(), Some("b/#"));
}

#[tokio::test]
async fn a_password_is_never_in_the_trace() {
    let (addr, broker) = start_broker().await;
    trace::set(broker.shared(), None, true);
    let mut opts = rumqttc::v5::MqttOptions::new("secretive", addr.ip().to_string(), addr.port());
    opts.set_credentials("alice", "s3cret-pa55");
    let (_client, mut el) = rumqttc::v5::AsyncClient::new(opts, 10);
    common::wait_v5(&mut el, "CONNACK", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::ConnAck(_))).await;
    until("CONNACK traced", || traced(&broker).iter().any(|p| p.kind == "CONNACK")).await;
    let packets = traced(&broker);
    let connect = packets.iter().find(|p| p.kind == "CONNECT").expect("CONNECT traced");
    assert!(connect.detail.contains("user name: alice") && connect.detail.contains("password: <redacted>"), "{}", connect.detail);
    assert!(packets.iter().all(|p| !p.detail.contains("s3cret")), "the password leaked: {packets:?}");
}

#[tokio::test]
async fn switching_off_stops_the_trace_of_a_connected_client() {
    let (addr, broker) = start_broker().await;
    let mut raw = Raw::connected(addr, ProtocolVersion::V5, "switch").await;
    raw.ping().await;
    assert!(traced(&broker).is_empty(), "off by default");
    trace::set(broker.shared(), Some("switch"), true);
    raw.ping().await;
    assert_eq!(flow(&traced(&broker), "switch"), [(Direction::In, "PINGREQ", None), (Direction::Out, "PINGRESP", None)]);
    trace::set(broker.shared(), Some("switch"), false);
    raw.ping().await;
    assert_eq!(traced(&broker).len(), 2, "nothing after the switch went off");
    assert!(broker.shared().trace.targets().is_empty());
}
