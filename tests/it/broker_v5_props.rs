//! MQTT 5 PUBLISH properties through the broker (5.0 §3.3.2.3): pass-through, Message Expiry,
//! Topic Alias in both directions, Payload Format Indicator checks, Maximum Packet Size towards
//! the client, and properties that a client must not send.

use std::time::Duration;

use bytes::Bytes;
use mqscope::broker::codec::{Connect, Disconnect, Packet, Properties, ProtocolVersion::V5, Publish, QoS, reason};

use crate::common::start_broker;
use crate::raw::{Raw, connect_packet, publish, qos};

fn with_props(topic: &str, q: QoS, pkid: u16, payload: &'static [u8], properties: Properties) -> Packet {
    Packet::Publish(Publish { properties, ..publish(topic, q, pkid, payload) })
}

#[tokio::test]
async fn every_forwarded_property_passes_unchanged_mosquitto() {
    // MQTT-3.3.2-4 (PFI), -15 (Response Topic), -16 (Correlation Data), -17/-18 (User Properties, in order),
    // -20 (Content Type), checked with mosquitto_pub/mosquitto_sub -V 5 as the independent peer.
    let (addr, broker) = start_broker().await;
    let child = crate::broker_mosquitto::sub(addr, &["-V", "5", "-t", "p/#", "-F", "%t|%p|%F|%C|%R|%D|%P"], 1);
    crate::broker_mosquitto::settle(&broker, 1).await;
    crate::broker_mosquitto::publish(
        addr,
        &[
            "-V",
            "5",
            "-t",
            "p/1",
            "-m",
            "hello",
            "-q",
            "1",
            "-D",
            "publish",
            "payload-format-indicator",
            "1",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "response-topic",
            "p/reply",
            "-D",
            "publish",
            "correlation-data",
            "c0ffee",
            "-D",
            "publish",
            "user-property",
            "z",
            "1",
            "-D",
            "publish",
            "user-property",
            "a",
            "2",
        ],
    )
    .await;
    assert_eq!(crate::broker_mosquitto::output(child).await, "p/1|hello|1|text/plain|p/reply|c0ffee|z:1 a:2\n");
}

#[tokio::test(start_paused = true)]
async fn queued_messages_expire_and_carry_the_remaining_interval() {
    // MQTT-3.3.2-6: the interval sent is what remains; MQTT-3.3.2-5: a copy that expired before delivery
    // started is deleted.
    let (addr, _b) = start_broker().await;
    let mut c: Connect = connect_packet(V5, "offline", false, 60);
    c.properties.session_expiry_interval = Some(3600);
    let (mut s, _) = Raw::connect(addr, c.clone()).await;
    s.subscribe(1, "e/#", qos(QoS::AtLeastOnce)).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    let mut p = Raw::connected(addr, V5, "e-pub").await;
    let short = Properties { message_expiry_interval: Some(10), ..Properties::default() };
    let long = Properties { message_expiry_interval: Some(100), ..Properties::default() };
    p.send(&with_props("e/short", QoS::AtLeastOnce, 1, b"s", short)).await;
    p.send(&with_props("e/long", QoS::AtLeastOnce, 2, b"l", long)).await;
    p.ping().await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (mut s, _) = Raw::connect(addr, c).await;
    let m = s.expect_publish().await;
    assert_eq!(m.topic, "e/long", "the expired one is gone");
    assert!(matches!(m.properties.message_expiry_interval, Some(69 | 70)), "{:?}", m.properties.message_expiry_interval);
}

#[tokio::test]
async fn incoming_topic_alias_is_set_used_and_checked() {
    // MQTT-3.3.2-12: aliases 1..=our maximum are accepted; 5.0 §3.3.2.3.4: an alias beyond it → 0x94, an
    // unmapped alias with an empty topic → Protocol Error; MQTT-3.3.2-7: mappings die with the connection.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "alias-sub").await;
    s.subscribe(1, "al/#", qos(QoS::AtMostOnce)).await;
    let mut p = Raw::connected(addr, V5, "alias-pub").await;
    let alias = |n| Properties { topic_alias: Some(n), ..Properties::default() };
    p.send(&with_props("al/long/topic", QoS::AtMostOnce, 0, b"1", alias(1))).await;
    p.send(&with_props("", QoS::AtMostOnce, 0, b"2", alias(1))).await;
    assert_eq!(s.expect_publish().await.topic, "al/long/topic");
    assert_eq!(s.expect_publish().await.topic, "al/long/topic", "the alias resolved");
    drop(p);
    let mut p = Raw::connected(addr, V5, "alias-pub").await;
    p.send(&with_props("", QoS::AtMostOnce, 0, b"3", alias(1))).await;
    p.expect_disconnect(reason::PROTOCOL_ERROR).await;
    let mut p = Raw::connected(addr, V5, "alias-pub2").await;
    p.send(&with_props("al/x", QoS::AtMostOnce, 0, b"4", alias(65))).await;
    p.expect_disconnect(reason::TOPIC_ALIAS_INVALID).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn outgoing_topic_aliases_stay_within_the_clients_maximum() {
    // MQTT-3.1.2-26, MQTT-3.3.2-11: aliases up to the client's Topic Alias Maximum, then the full topic.
    let (addr, _b) = start_broker().await;
    let mut req: Connect = connect_packet(V5, "alias-out", true, 60);
    req.properties.topic_alias_maximum = Some(2);
    let (mut sub, _) = Raw::connect(addr, req).await;
    sub.subscribe(1, "o/#", qos(QoS::AtMostOnce)).await;
    let mut p = Raw::connected(addr, V5, "alias-out-pub").await;
    for t in ["o/a", "o/a", "o/b", "o/c", "o/b", "o/c"] {
        p.send(&Packet::Publish(publish(t, QoS::AtMostOnce, 0, b"x"))).await;
    }
    let got: Vec<(String, Option<u16>)> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            let m = sub.expect_publish().await;
            v.push((m.topic, m.properties.topic_alias));
        }
        v
    };
    let want = [("o/a", Some(1)), ("", Some(1)), ("o/b", Some(2)), ("o/c", None), ("", Some(2)), ("o/c", None)];
    assert_eq!(got, want.map(|(t, a)| (t.to_owned(), a)));
    // MQTT-3.1.2-27: a client without Topic Alias Maximum gets none.
    let mut plain = Raw::connected(addr, V5, "alias-none").await;
    plain.subscribe(1, "o/#", qos(QoS::AtMostOnce)).await;
    p.send(&Packet::Publish(publish("o/a", QoS::AtMostOnce, 0, b"x"))).await;
    p.send(&Packet::Publish(publish("o/a", QoS::AtMostOnce, 0, b"x"))).await;
    for _ in 0..2 {
        let m = plain.expect_publish().await;
        assert_eq!((m.topic.as_str(), m.properties.topic_alias), ("o/a", None));
    }
}

#[tokio::test]
async fn rumqttc_resolves_our_outgoing_topic_aliases() {
    // MQTT-3.3.2-10/-11 with an independent client that asked for aliases.
    // (mosquitto_sub 2.0 cannot be the peer here: it sends a Topic Alias Maximum but rejects an aliased PUBLISH.)
    let (addr, _b) = start_broker().await;
    let mut opts = rumqttc::v5::MqttOptions::new("rq-alias", addr.ip().to_string(), addr.port());
    opts.set_topic_alias_max(Some(5));
    let (client, mut el) = rumqttc::v5::AsyncClient::new(opts, 10);
    crate::common::wait_v5(&mut el, "CONNACK", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::ConnAck(_))).await;
    client.subscribe("ma/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce).await.expect("subscribe");
    crate::common::wait_v5(&mut el, "SUBACK", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::SubAck(_))).await;
    let mut p = Raw::connected(addr, V5, "ma-pub").await;
    for payload in [&b"1"[..], b"2", b"3"] {
        p.send(&Packet::Publish(publish("ma/t", QoS::AtLeastOnce, 1, payload))).await;
        assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(_)));
    }
    // rumqttc resolves the alias internally (a wrong one would be its protocol error) but hands out the
    // packet as received: topic + alias first, then the alias alone.
    for (want_topic, want) in [(&b"ma/t"[..], "1"), (b"", "2"), (b"", "3")] {
        let m = crate::common::next_publish_v5(&mut el).await;
        assert_eq!((&m.topic[..], &m.payload[..]), (want_topic, want.as_bytes()));
        assert_eq!(m.properties.and_then(|pr| pr.topic_alias), Some(1));
    }
}

#[tokio::test]
async fn payload_declared_utf8_but_not_is_refused_with_0x99() {
    // 5.0 §3.3.2.3.2: PFI 1 with a payload that is not UTF-8 → PUBACK/PUBREC 0x99 (not routed), QoS 0 → DISCONNECT 0x99.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "pfi-sub").await;
    s.subscribe(1, "pfi", qos(QoS::AtLeastOnce)).await;
    let mut p = Raw::connected(addr, V5, "pfi-pub").await;
    let utf8 = || Properties { payload_format_indicator: Some(1), ..Properties::default() };
    let bad: &'static [u8] = &[0xC3, 0x28];
    p.send(&with_props("pfi", QoS::AtLeastOnce, 1, bad, utf8())).await;
    assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(a) if a.code == reason::PAYLOAD_FORMAT_INVALID));
    p.send(&with_props("pfi", QoS::ExactlyOnce, 2, bad, utf8())).await;
    assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(a) if a.code == reason::PAYLOAD_FORMAT_INVALID));
    p.send(&with_props("pfi", QoS::AtLeastOnce, 3, "ü".as_bytes(), utf8())).await;
    assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(a) if a.code == 0));
    p.send(&with_props("pfi", QoS::AtMostOnce, 0, bad, utf8())).await;
    p.expect_disconnect(reason::PAYLOAD_FORMAT_INVALID).await;
    assert_eq!(&s.expect_publish().await.payload[..], "ü".as_bytes(), "only the valid one was routed");
}

#[tokio::test]
async fn subscription_identifier_from_a_client_is_a_protocol_error() {
    // MQTT-3.3.4-6: a PUBLISH from a client must not contain a Subscription Identifier.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V5, "subid-pub").await;
    let props = Properties { subscription_identifiers: vec![3], ..Properties::default() };
    p.send(&with_props("x", QoS::AtMostOnce, 0, b"x", props)).await;
    p.expect_disconnect(reason::PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn messages_over_the_clients_maximum_packet_size_are_not_sent() {
    // MQTT-3.1.2-24: never a packet over the client's Maximum Packet Size; MQTT-3.1.2-25: it is discarded as if
    // sent, and the next message flows.
    let (addr, broker) = start_broker().await;
    let mut c: Connect = connect_packet(V5, "small", true, 60);
    c.properties.maximum_packet_size = Some(64);
    let (mut s, _) = Raw::connect(addr, c).await;
    s.subscribe(1, "big", qos(QoS::AtLeastOnce)).await;
    let mut p = Raw::connected(addr, V5, "big-pub").await;
    p.send(&Packet::Publish(Publish { payload: Bytes::from(vec![b'x'; 100]), ..publish("big", QoS::AtLeastOnce, 1, b"") })).await;
    p.send(&Packet::Publish(publish("big", QoS::AtLeastOnce, 2, b"small"))).await;
    assert_eq!(&s.expect_publish().await.payload[..], b"small");
    assert_eq!(broker.shared().stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
}
