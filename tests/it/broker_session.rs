//! Persistent sessions (5.0 §4.1, 3.1.1 §4.1): subscriptions, unacknowledged messages and QoS 2
//! state survive a reconnect; offline messages are queued within bounds, with a visible drop
//! count; Session Expiry removes it all.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{
    Connect, Disconnect, Packet, Properties, ProtocolVersion,
    ProtocolVersion::{V5, V311},
    QoS,
};

use crate::common::{client_v4, next_publish_v4, start_broker, start_broker_with, wait_v4};
use crate::raw::{Raw, ack, connect_packet, publish, qos};

/// A CONNECT that keeps its session (3.1.1 CleanSession=0; 5.0 Clean Start 0, expiry 1 hour).
fn persistent(version: ProtocolVersion, id: &str) -> Connect {
    let mut c = connect_packet(version, id, false, 60);
    if version == V5 {
        c.properties.session_expiry_interval = Some(3600);
    }
    c
}

/// Publish `payload` on `topic` at `q` from a fresh client and wait for its acknowledgement.
async fn publish_from(addr: std::net::SocketAddr, topic: &str, q: QoS, payload: &'static [u8]) {
    let mut p = Raw::connected(addr, V5, "pub-helper").await;
    p.send(&Packet::Publish(publish(topic, q, 1, payload))).await;
    match q {
        QoS::AtMostOnce => p.ping().await,
        QoS::AtLeastOnce => assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(_))),
        QoS::ExactlyOnce => {
            assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(_)));
            p.send(&Packet::PubRel(ack(1))).await;
            assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(_)));
        }
    }
}

#[tokio::test]
async fn subscriptions_and_offline_qos1_qos2_messages_survive_a_reconnect() {
    // 5.0 MQTT-3.1.2-5, MQTT-3.1.2-23, MQTT-4.5.0-1; 3.1.1 MQTT-3.1.2-4/-5: the subscription stays and QoS 1/2
    // messages published while offline are stored and delivered on resumption; QoS 0 is not queued by default.
    let (addr, _b) = start_broker().await;
    for version in [V5, V311] {
        let id = format!("durable-{version:?}");
        let (mut s, _) = Raw::connect(addr, persistent(version, &id)).await;
        s.subscribe(1, "jobs/#", qos(QoS::ExactlyOnce)).await;
        s.send(&Packet::Disconnect(Disconnect::default())).await;
        s.until_closed().await;
        publish_from(addr, "jobs/a", QoS::AtLeastOnce, b"one").await;
        publish_from(addr, "jobs/b", QoS::AtMostOnce, b"zero").await;
        publish_from(addr, "jobs/c", QoS::ExactlyOnce, b"two").await;
        let (mut s, ack_) = Raw::connect(addr, persistent(version, &id)).await;
        assert!(ack_.session_present);
        let a = s.expect_publish().await;
        assert_eq!((&a.payload[..], a.qos, a.dup), (&b"one"[..], QoS::AtLeastOnce, false));
        s.send(&Packet::PubAck(ack(a.pkid))).await;
        let c = s.expect_publish().await;
        assert_eq!((&c.payload[..], c.qos), (&b"two"[..], QoS::ExactlyOnce));
        s.expect_nothing().await;
    }
}

#[tokio::test]
async fn qos0_is_queued_offline_when_configured() {
    // 5.0 §3.1.2.4 / 3.1.1 MQTT-3.1.2-5: the server MAY also store QoS 0 messages (BrokerConfig::queue_qos0_offline).
    let (addr, _b) = start_broker_with(BrokerConfig { sys_interval: None, queue_qos0_offline: true, ..BrokerConfig::default() }).await;
    let (mut s, _) = Raw::connect(addr, persistent(V311, "q0")).await;
    s.subscribe(1, "t", qos(QoS::AtMostOnce)).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    publish_from(addr, "t", QoS::AtMostOnce, b"kept").await;
    let (mut s, _) = Raw::connect(addr, persistent(V311, "q0")).await;
    assert_eq!(&s.expect_publish().await.payload[..], b"kept");
}

#[tokio::test]
async fn unacknowledged_qos1_is_resent_with_dup_and_its_packet_id() {
    // MQTT-4.4.0-1: on resumption, unacknowledged PUBLISH packets are resent with their original Packet
    // Identifiers; MQTT-3.3.1-1: DUP=1 on the re-delivery; MQTT-4.6.0-1: in the original order.
    let (addr, _b) = start_broker().await;
    let (mut s, _) = Raw::connect(addr, persistent(V5, "unacked")).await;
    s.subscribe(1, "u/#", qos(QoS::AtLeastOnce)).await;
    publish_from(addr, "u/1", QoS::AtLeastOnce, b"1").await;
    publish_from(addr, "u/2", QoS::AtLeastOnce, b"2").await;
    let first = s.expect_publish().await;
    let second = s.expect_publish().await;
    assert!(!first.dup && !second.dup, "MQTT-4.3.2-2: DUP 0 on the first attempt");
    drop(s); // No PUBACK.
    let (mut s, ack_) = Raw::connect(addr, persistent(V5, "unacked")).await;
    assert!(ack_.session_present);
    let again1 = s.expect_publish().await;
    let again2 = s.expect_publish().await;
    assert_eq!((again1.pkid, again1.dup, &again1.payload[..]), (first.pkid, true, &b"1"[..]));
    assert_eq!((again2.pkid, again2.dup, &again2.payload[..]), (second.pkid, true, &b"2"[..]));
    s.send(&Packet::PubAck(ack(again1.pkid))).await;
    s.send(&Packet::PubAck(ack(again2.pkid))).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    // Acknowledged now: nothing is resent on the next resumption.
    let (mut s, _) = Raw::connect(addr, persistent(V5, "unacked")).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn outgoing_qos2_resumes_with_pubrel_not_publish() {
    // MQTT-4.4.0-1: unacknowledged PUBREL packets are resent; MQTT-4.3.3-6: never the PUBLISH once PUBREL was sent.
    let (addr, _b) = start_broker().await;
    let (mut s, _) = Raw::connect(addr, persistent(V311, "q2out")).await;
    s.subscribe(1, "x", qos(QoS::ExactlyOnce)).await;
    publish_from(addr, "x", QoS::ExactlyOnce, b"once").await;
    let p = s.expect_publish().await;
    s.send(&Packet::PubRec(ack(p.pkid))).await;
    assert!(matches!(s.expect("PUBREL").await, Packet::PubRel(r) if r.pkid == p.pkid));
    drop(s); // No PUBCOMP.
    let (mut s, _) = Raw::connect(addr, persistent(V311, "q2out")).await;
    assert!(matches!(s.expect("PUBREL again").await, Packet::PubRel(r) if r.pkid == p.pkid));
    s.send(&Packet::PubComp(ack(p.pkid))).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn incoming_qos2_state_survives_a_reconnect_exactly_once() {
    // MQTT-4.3.3-10 (5.0) / MQTT-4.3.3-2 (3.1.1): a PUBLISH resent with the same Packet Identifier before
    // PUBREL is acknowledged again but not delivered again, also across a reconnect of a persistent session.
    let (addr, _b) = start_broker().await;
    let mut sub = Raw::connected(addr, V5, "q2-sub").await;
    sub.subscribe(1, "exact", qos(QoS::ExactlyOnce)).await;
    let (mut p, _) = Raw::connect(addr, persistent(V311, "q2-pub")).await;
    p.send(&Packet::Publish(publish("exact", QoS::ExactlyOnce, 7, b"only once"))).await;
    assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(r) if r.pkid == 7));
    drop(p);
    let (mut p, _) = Raw::connect(addr, persistent(V311, "q2-pub")).await;
    let mut again = publish("exact", QoS::ExactlyOnce, 7, b"only once");
    again.dup = true;
    p.send(&Packet::Publish(again)).await;
    assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(r) if r.pkid == 7));
    p.send(&Packet::PubRel(ack(7))).await;
    assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(r) if r.pkid == 7));
    let got = sub.expect_publish().await;
    assert_eq!(&got.payload[..], b"only once");
    sub.send(&Packet::PubRec(ack(got.pkid))).await;
    assert!(matches!(sub.expect("PUBREL").await, Packet::PubRel(_)));
    sub.send(&Packet::PubComp(ack(got.pkid))).await;
    sub.expect_nothing().await;
}

#[tokio::test]
async fn offline_queue_is_bounded_and_drops_are_counted() {
    // The offline queue is bounded (BrokerConfig::max_queued_messages / max_queued_bytes); what does not
    // fit is dropped and counted (Stats::dropped, $SYS publish/messages/dropped), never silently.
    let config = BrokerConfig { sys_interval: None, max_queued_messages: 3, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let (mut s, _) = Raw::connect(addr, persistent(V5, "bounded")).await;
    s.subscribe(1, "b", qos(QoS::AtLeastOnce)).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    for payload in [&b"1"[..], b"2", b"3", b"4", b"5"] {
        publish_from(addr, "b", QoS::AtLeastOnce, payload).await;
    }
    assert_eq!(broker.shared().stats.dropped.load(Relaxed), 2);
    let (mut s, _) = Raw::connect(addr, persistent(V5, "bounded")).await;
    for want in [b"1", b"2", b"3"] {
        let p = s.expect_publish().await;
        assert_eq!(&p.payload[..], want);
        s.send(&Packet::PubAck(ack(p.pkid))).await;
    }
    s.expect_nothing().await;
}

#[tokio::test]
async fn offline_queue_is_bounded_in_bytes_too() {
    let config = BrokerConfig { sys_interval: None, max_queued_bytes: 300, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let (mut s, _) = Raw::connect(addr, persistent(V311, "bytes")).await;
    s.subscribe(1, "b", qos(QoS::AtLeastOnce)).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    // Each message costs its payload + topic + 64 bytes of bookkeeping: two 60-byte payloads fit, the third does not.
    for _ in 0..3 {
        publish_from(addr, "b", QoS::AtLeastOnce, &[b'x'; 60]).await;
    }
    assert_eq!(broker.shared().stats.dropped.load(Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn session_expiry_removes_subscriptions_and_queued_messages() {
    // MQTT-4.1.0-2: once the Session Expiry Interval has passed after the connection closed, the session
    // state is discarded: a later Clean Start 0 connection finds no session and no queued message.
    let (addr, broker) = start_broker().await;
    let mut c = persistent(V5, "expiring");
    c.properties.session_expiry_interval = Some(30);
    let (mut s, _) = Raw::connect(addr, c.clone()).await;
    s.subscribe(1, "e", qos(QoS::AtLeastOnce)).await;
    s.send(&Packet::Disconnect(Disconnect::default())).await;
    s.until_closed().await;
    publish_from(addr, "e", QoS::AtLeastOnce, b"stale").await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(broker.shared().state.lock().expect("state").counts().1, 1, "still subscribed before expiry");
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(broker.shared().state.lock().expect("state").counts().1, 0, "subscription gone with the session");
    let (mut s, ack_) = Raw::connect(addr, c).await;
    assert!(!ack_.session_present);
    s.expect_nothing().await;
}

#[tokio::test(start_paused = true)]
async fn session_expiry_0xffffffff_never_expires() {
    // 5.0 §3.1.2.11.2: 0xFFFFFFFF means the session does not expire; next to it, a session of 3599 s does.
    // (Two virtual hours: the expiry loop ticks every 250 ms, and each tick costs real time here.)
    let (addr, _b) = start_broker().await;
    for (id, expiry) in [("forever", u32::MAX), ("hour", 3599)] {
        let mut c = persistent(V5, id);
        c.properties.session_expiry_interval = Some(expiry);
        let (mut s, _) = Raw::connect(addr, c).await;
        s.send(&Packet::Disconnect(Disconnect::default())).await;
        s.until_closed().await;
    }
    tokio::time::sleep(Duration::from_hours(2)).await;
    for (id, expiry, present) in [("forever", u32::MAX, true), ("hour", 3599, false)] {
        let mut c = persistent(V5, id);
        c.properties.session_expiry_interval = Some(expiry);
        let (_s, ack_) = Raw::connect(addr, c).await;
        assert_eq!(ack_.session_present, present, "{id}");
    }
}

#[tokio::test]
async fn rumqttc_v4_persistent_session_gets_offline_qos1_messages() {
    // 3.1.1 MQTT-3.1.2-5 with an independent client implementation.
    let (addr, _b) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "rq-durable", false).await;
    sub.subscribe("jobs/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    sub.disconnect().await.expect("disconnect");
    while sub_el.poll().await.is_ok() {}
    publish_from(addr, "jobs/9", QoS::AtLeastOnce, b"queued").await;
    let (_back, mut back_el) = client_v4(addr, "rq-durable", false).await;
    assert_eq!(&next_publish_v4(&mut back_el).await.payload[..], b"queued");
}

#[tokio::test]
async fn disconnect_may_shorten_but_not_create_a_session_expiry() {
    // 5.0 §3.14.2.2.2: a Session Expiry Interval of 0 in CONNECT cannot become non-zero in DISCONNECT
    // (Protocol Error, 0x82); a DISCONNECT setting it to 0 ends the session with the connection.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "no-expiry").await;
    let raise = Properties { session_expiry_interval: Some(60), ..Properties::default() };
    s.send(&Packet::Disconnect(Disconnect { code: 0, properties: raise })).await;
    s.expect_disconnect(mqscope::broker::codec::reason::PROTOCOL_ERROR).await;
    let (mut s, _) = Raw::connect(addr, persistent(V5, "cut-short")).await;
    let zero = Properties { session_expiry_interval: Some(0), ..Properties::default() };
    s.send(&Packet::Disconnect(Disconnect { code: 0, properties: zero })).await;
    s.until_closed().await;
    let (_s, ack_) = Raw::connect(addr, persistent(V5, "cut-short")).await;
    assert!(!ack_.session_present);
}
