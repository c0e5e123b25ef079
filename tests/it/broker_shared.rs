//! Shared subscriptions `$share/{ShareName}/{filter}` (5.0 §4.8.2): one member per message, round
//! robin; a leaving member's messages go to another member where the spec allows it.

use mqscope::broker::codec::{
    Connect, Packet,
    ProtocolVersion::{V5, V311},
    QoS,
};

use crate::common::start_broker;
use crate::raw::{Raw, ack, connect_packet, publish, qos};

#[tokio::test]
async fn each_message_goes_to_one_member_round_robin() {
    // 5.0 §4.8.2: each message goes to one session of the group; MQTT-4.8.2-3: at the member's granted QoS;
    // a non-shared subscriber of the same filter still gets every message.
    let (addr, _b) = start_broker().await;
    let mut a = Raw::connected(addr, V5, "m-a").await;
    let mut b = Raw::connected(addr, V311, "m-b").await;
    assert_eq!(a.subscribe(1, "$share/workers/jobs/+", qos(QoS::AtMostOnce)).await, [0]);
    assert_eq!(b.subscribe(1, "$share/workers/jobs/+", qos(QoS::AtLeastOnce)).await, [1]);
    let mut plain = Raw::connected(addr, V5, "m-plain").await;
    plain.subscribe(1, "jobs/+", qos(QoS::AtMostOnce)).await;
    let mut p = Raw::connected(addr, V5, "m-pub").await;
    for i in 0..4u16 {
        let payload: &'static [u8] = Box::leak(i.to_string().into_bytes().into_boxed_slice());
        p.send(&Packet::Publish(publish("jobs/x", QoS::AtLeastOnce, i + 1, payload))).await;
    }
    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    for _ in 0..2 {
        let m = a.expect_publish().await;
        assert_eq!(m.qos, QoS::AtMostOnce);
        got_a.push(m.payload);
        let m = b.expect_publish().await;
        assert_eq!(m.qos, QoS::AtLeastOnce);
        b.send(&Packet::PubAck(ack(m.pkid))).await;
        got_b.push(m.payload);
    }
    a.expect_nothing().await;
    b.expect_nothing().await;
    let mut all: Vec<_> = got_a.iter().chain(&got_b).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    all.sort();
    assert_eq!(all, ["0", "1", "2", "3"], "every message exactly once across the group");
    for _ in 0..4 {
        plain.expect_publish().await;
    }
}

#[tokio::test]
async fn groups_are_independent() {
    // 5.0 §4.8.2: each ShareName is its own group: one copy per group.
    let (addr, _b) = start_broker().await;
    let mut a = Raw::connected(addr, V5, "g1").await;
    let mut b = Raw::connected(addr, V5, "g2").await;
    a.subscribe(1, "$share/one/t", qos(QoS::AtMostOnce)).await;
    b.subscribe(1, "$share/two/t", qos(QoS::AtMostOnce)).await;
    let mut p = Raw::connected(addr, V5, "g-pub").await;
    p.send(&Packet::Publish(publish("t", QoS::AtMostOnce, 0, b"x"))).await;
    a.expect_publish().await;
    b.expect_publish().await;
}

#[tokio::test]
async fn unacknowledged_qos1_goes_to_another_member_when_its_member_leaves() {
    // 5.0 §4.8.2 (non-normative): a QoS 1 message not acknowledged when the member's connection breaks MAY
    // go to another member at once; MQTT-4.8.2-3: at that member's granted QoS.
    let (addr, _b) = start_broker().await;
    let mut leaver = Raw::connected(addr, V5, "leaver").await;
    leaver.subscribe(1, "$share/g/q1", qos(QoS::AtLeastOnce)).await;
    let mut p = Raw::connected(addr, V5, "q1-pub").await;
    p.send(&Packet::Publish(publish("q1", QoS::AtLeastOnce, 1, b"work"))).await;
    assert_eq!(&leaver.expect_publish().await.payload[..], b"work");
    let mut stayer = Raw::connected(addr, V5, "stayer").await;
    stayer.subscribe(1, "$share/g/q1", qos(QoS::AtLeastOnce)).await;
    drop(leaver); // Without PUBACK.
    let m = stayer.expect_publish().await;
    assert_eq!((&m.payload[..], m.qos, m.dup), (&b"work"[..], QoS::AtLeastOnce, false));
}

#[tokio::test]
async fn unacknowledged_qos2_stays_with_its_member() {
    // MQTT-4.8.2-4: a QoS 2 delivery that broke off is completed with the same client when it reconnects;
    // MQTT-4.8.2-5: never sent to another member.
    let (addr, _b) = start_broker().await;
    let mut c: Connect = connect_packet(V5, "q2-member", false, 60);
    c.properties.session_expiry_interval = Some(600);
    let (mut member, _) = Raw::connect(addr, c.clone()).await;
    member.subscribe(1, "$share/g/q2", qos(QoS::ExactlyOnce)).await;
    let mut p = Raw::connected(addr, V5, "q2-pub").await;
    p.send(&Packet::Publish(publish("q2", QoS::ExactlyOnce, 1, b"exact"))).await;
    let first = member.expect_publish().await;
    let mut other = Raw::connected(addr, V5, "q2-other").await;
    other.subscribe(1, "$share/g/q2", qos(QoS::ExactlyOnce)).await;
    drop(member);
    other.expect_nothing().await;
    let (mut member, ack_) = Raw::connect(addr, c).await;
    assert!(ack_.session_present);
    let again = member.expect_publish().await;
    assert_eq!((again.pkid, again.dup, &again.payload[..]), (first.pkid, true, &b"exact"[..]));
}

#[tokio::test]
async fn invalid_share_names_are_refused() {
    // MQTT-4.8.2-1 (ShareName at least one character), MQTT-4.8.2-2 (no `/`, `+`, `#`; followed by `/` and a filter): 0x8F.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "badshare").await;
    for f in ["$share//t", "$share/g#/t", "$share/g", "$share/g/"] {
        assert_eq!(s.subscribe(1, f, qos(QoS::AtMostOnce)).await, [0x8F], "{f}");
    }
}

#[tokio::test]
async fn mosquitto_sub_members_share_the_load() {
    // 5.0 §4.8.2 with independent clients: two mosquitto_sub members of one group get 2 messages each out of 4.
    let (addr, broker) = start_broker().await;
    let one = crate::broker_mosquitto::sub(addr, &["-V", "5", "-t", "$share/ms/load", "-q", "1"], 2);
    let two = crate::broker_mosquitto::sub(addr, &["-V", "5", "-t", "$share/ms/load", "-q", "1"], 2);
    crate::broker_mosquitto::settle(&broker, 2).await;
    for i in 0..4 {
        crate::broker_mosquitto::publish(addr, &["-t", "load", "-m", &i.to_string(), "-q", "1"]).await;
    }
    let mut all: Vec<String> = crate::broker_mosquitto::output(one).await.lines().map(str::to_owned).collect();
    all.extend(crate::broker_mosquitto::output(two).await.lines().map(str::to_owned));
    all.sort();
    assert_eq!(all, ["0", "1", "2", "3"]);
}

#[tokio::test]
async fn unsubscribing_a_shared_subscription_leaves_the_group() {
    // MQTT-3.10.4-1: the `$share/...` filter is compared character by character and deleted; the other
    // member then gets every message.
    let (addr, _b) = start_broker().await;
    let mut a = Raw::connected(addr, V5, "u-a").await;
    let mut b = Raw::connected(addr, V5, "u-b").await;
    a.subscribe(1, "$share/g/u", qos(QoS::AtMostOnce)).await;
    b.subscribe(1, "$share/g/u", qos(QoS::AtMostOnce)).await;
    let unsub = mqscope::broker::codec::Unsubscribe {
        pkid: 2,
        filters: vec!["$share/g/u".into()],
        properties: mqscope::broker::codec::Properties::default(),
    };
    a.send(&Packet::Unsubscribe(unsub)).await;
    assert!(matches!(a.expect("UNSUBACK").await, Packet::UnsubAck(u) if u.codes == [0]));
    let mut p = Raw::connected(addr, V5, "u-pub").await;
    for _ in 0..3 {
        p.send(&Packet::Publish(publish("u", QoS::AtMostOnce, 0, b"x"))).await;
    }
    for _ in 0..3 {
        b.expect_publish().await;
    }
    a.expect_nothing().await;
}
