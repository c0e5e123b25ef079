//! QoS 0/1/2 in both directions (5.0 §4.3, §4.9; 3.1.1 §4.3): packet identifiers, flow control by
//! Receive Maximum, acknowledgements and their reason codes, delivered QoS, ordering.

use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{
    Connect, Packet, Properties,
    ProtocolVersion::{V5, V311},
    PubResp, QoS, reason,
};

use crate::common::{start_broker, start_broker_with};
use crate::raw::{Raw, ack, connect_packet, publish, qos};

#[tokio::test]
async fn delivered_qos_is_min_of_published_and_granted() {
    // 5.0 MQTT-3.8.4-8 / 3.1.1 MQTT-3.8.4-6.
    let (addr, _b) = start_broker().await;
    for (granted, published, want) in [
        (QoS::AtMostOnce, QoS::ExactlyOnce, QoS::AtMostOnce),
        (QoS::AtLeastOnce, QoS::ExactlyOnce, QoS::AtLeastOnce),
        (QoS::ExactlyOnce, QoS::AtLeastOnce, QoS::AtLeastOnce),
        (QoS::ExactlyOnce, QoS::ExactlyOnce, QoS::ExactlyOnce),
    ] {
        let mut s = Raw::connected(addr, V5, "minq").await;
        assert_eq!(s.subscribe(1, "m", qos(granted)).await, [granted as u8], "MQTT-3.8.4-7: granted QoS in SUBACK");
        let mut p = Raw::connected(addr, V311, "minq-pub").await;
        p.send(&Packet::Publish(publish("m", published, 1, b"x"))).await;
        assert_eq!(s.expect_publish().await.qos, want, "granted {granted:?}, published {published:?}");
    }
}

#[tokio::test]
async fn outgoing_qos1_respects_the_clients_receive_maximum() {
    // MQTT-3.3.4-9, MQTT-4.9.0-2: at most Receive Maximum unacknowledged QoS 1/2 PUBLISHes in flight;
    // MQTT-3.3.4-10: other packets (PINGRESP) are not held back meanwhile; MQTT-2.2.1-4: distinct non-zero ids.
    let (addr, _b) = start_broker().await;
    let mut req: Connect = connect_packet(V5, "window", true, 60);
    req.properties.receive_maximum = Some(2);
    let (mut sub, _) = Raw::connect(addr, req).await;
    sub.subscribe(1, "w", qos(QoS::AtLeastOnce)).await;
    let mut p = Raw::connected(addr, V5, "window-pub").await;
    for (i, payload) in [&b"0"[..], b"1", b"2", b"3"].into_iter().enumerate() {
        p.send(&Packet::Publish(publish("w", QoS::AtLeastOnce, u16::try_from(i + 1).expect("id"), payload))).await;
    }
    let a = sub.expect_publish().await;
    let b = sub.expect_publish().await;
    assert!(a.pkid != 0 && b.pkid != 0 && a.pkid != b.pkid);
    sub.expect_nothing().await; // The third must wait for an acknowledgement.
    sub.send(&Packet::PubAck(ack(a.pkid))).await;
    let c3 = sub.expect_publish().await;
    assert_eq!(&c3.payload[..], b"2", "MQTT-4.6.0-6: in order");
    sub.expect_nothing().await;
    sub.send(&Packet::PubAck(ack(b.pkid))).await;
    assert_eq!(&sub.expect_publish().await.payload[..], b"3");
}

#[tokio::test]
async fn exceeding_our_receive_maximum_gets_disconnect_0x93() {
    // MQTT-3.3.4-7: a 5.0 client must not exceed the Receive Maximum in our CONNACK; §3.3.4: DISCONNECT 0x93.
    let (addr, _b) = start_broker_with(BrokerConfig { sys_interval: None, receive_maximum: 2, ..BrokerConfig::default() }).await;
    let mut p = Raw::connected(addr, V5, "greedy").await;
    for id in 1..=3 {
        p.send(&Packet::Publish(publish("g", QoS::ExactlyOnce, id, b"x"))).await;
    }
    let rest = p.until_closed().await;
    assert!(matches!(rest.last(), Some(Packet::Disconnect(d)) if d.code == reason::RECEIVE_MAXIMUM_EXCEEDED), "{rest:?}");
}

#[tokio::test]
async fn pubrel_for_an_unknown_packet_id_gets_pubcomp_0x92() {
    // 5.0 §3.7.2.1 / MQTT-4.3.3-11: PUBCOMP answers every PUBREL; an unknown id gets 0x92 Packet Identifier not found.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V5, "norel").await;
    p.send(&Packet::PubRel(ack(42))).await;
    assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(c) if c.pkid == 42 && c.code == reason::PACKET_IDENTIFIER_NOT_FOUND));
    // 3.1.1 has no reason codes: a plain PUBCOMP.
    let mut p = Raw::connected(addr, V311, "norel4").await;
    p.send(&Packet::PubRel(ack(42))).await;
    assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(c) if c.pkid == 42 && c.code == 0));
}

#[tokio::test]
async fn pubrec_with_an_error_code_ends_the_flow_without_pubrel() {
    // MQTT-4.3.3-4: PUBREL only after a PUBREC below 0x80; MQTT-4.4.0-2: an error PUBREC counts as acknowledged,
    // the message is not retransmitted and its packet id (and send quota) is free again (MQTT-3.3.4-9).
    let (addr, _b) = start_broker().await;
    let mut c: Connect = connect_packet(V5, "refuser", true, 60);
    c.properties.receive_maximum = Some(1);
    let (mut s, _) = Raw::connect(addr, c).await;
    s.subscribe(1, "r", qos(QoS::ExactlyOnce)).await;
    let mut p = Raw::connected(addr, V5, "refuser-pub").await;
    p.send(&Packet::Publish(publish("r", QoS::AtMostOnce, 0, b"1"))).await;
    let first = s.expect_publish().await;
    assert_eq!(first.qos, QoS::AtMostOnce);
    p.send(&Packet::Publish(publish("r", QoS::ExactlyOnce, 1, b"2"))).await;
    p.send(&Packet::Publish(publish("r", QoS::ExactlyOnce, 2, b"3"))).await;
    let second = s.expect_publish().await;
    s.send(&Packet::PubRec(PubResp { pkid: second.pkid, code: reason::UNSPECIFIED_ERROR, properties: Properties::default() })).await;
    let third = s.expect_publish().await;
    assert_eq!(&third.payload[..], b"3", "window freed, no PUBREL for the refused one");
}

#[tokio::test]
async fn pubrec_for_an_unknown_packet_id_gets_pubrel_0x92() {
    // 5.0 §3.6.2.1: PUBREL 0x92 Packet Identifier not found.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "unknown-rec").await;
    s.send(&Packet::PubRec(ack(9))).await;
    assert!(matches!(s.expect("PUBREL").await, Packet::PubRel(r) if r.pkid == 9 && r.code == reason::PACKET_IDENTIFIER_NOT_FOUND));
}

#[tokio::test]
async fn qos1_and_qos2_are_acknowledged_with_the_packet_identifier() {
    // MQTT-4.3.2-4 (PUBACK), MQTT-4.3.3-8 (PUBREC), MQTT-4.3.3-11 (PUBCOMP), MQTT-2.2.1-5: same Packet Identifier.
    let (addr, _b) = start_broker().await;
    for version in [V5, V311] {
        let mut p = Raw::connected(addr, version, "acker").await;
        p.send(&Packet::Publish(publish("a", QoS::AtLeastOnce, 300, b"x"))).await;
        assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(a) if a.pkid == 300 && a.code == 0));
        p.send(&Packet::Publish(publish("a", QoS::ExactlyOnce, 301, b"x"))).await;
        assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(a) if a.pkid == 301 && a.code == 0));
        p.send(&Packet::PubRel(ack(301))).await;
        assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(a) if a.pkid == 301 && a.code == 0));
        // MQTT-4.3.3-12: after PUBCOMP the same id is a new message.
        p.send(&Packet::Publish(publish("a", QoS::ExactlyOnce, 301, b"x"))).await;
        assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(a) if a.pkid == 301));
    }
}

#[tokio::test]
async fn order_per_topic_is_kept_across_qos_levels() {
    // MQTT-4.6.0-5 / -6: messages from one client on one topic reach a non-shared subscriber in order.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V311, "orderly").await;
    s.subscribe(1, "o", qos(QoS::ExactlyOnce)).await;
    let mut p = Raw::connected(addr, V311, "orderly-pub").await;
    for i in 0..30u16 {
        let q = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][usize::from(i % 3)];
        let payload: &'static [u8] = Box::leak(i.to_string().into_bytes().into_boxed_slice());
        p.send(&Packet::Publish(publish("o", q, i + 1, payload))).await;
    }
    for i in 0..30u16 {
        let m = s.next_publish_completing().await;
        assert_eq!(&m.payload[..], i.to_string().as_bytes());
        match m.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => s.send(&Packet::PubAck(ack(m.pkid))).await,
            QoS::ExactlyOnce => s.send(&Packet::PubRec(ack(m.pkid))).await,
        }
    }
}
