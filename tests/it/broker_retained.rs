//! Retained messages (5.0 §3.3.1.3, 3.1.1 §3.3.1.3): stored per topic, replaced, cleared by an
//! empty payload, sent on subscribe per Retain Handling, never to shared subscriptions, expired.

use std::time::Duration;

use mqscope::broker::codec::{
    Disconnect, Packet, Properties,
    ProtocolVersion::{V5, V311},
    Publish, QoS, RetainHandling, SubscriptionOptions,
};

use mqscope::broker::BrokerConfig;

use crate::common::{start_broker, start_broker_with};
use crate::raw::{Raw, ack as ack_of, connect_packet, publish, qos};

fn retained(topic: &str, payload: &'static [u8]) -> Packet {
    let mut p: Publish = publish(topic, QoS::AtLeastOnce, 1, payload);
    p.retain = true;
    Packet::Publish(p)
}

async fn publish_acked(p: &mut Raw, packet: &Packet) {
    p.send(packet).await;
    assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(_)));
}

#[tokio::test]
async fn retained_message_is_replaced_cleared_and_kept_by_non_retained_publishes() {
    // MQTT-3.3.1-5: replaced by a newer retained message; MQTT-3.3.1-8: a RETAIN=0 publish neither stores
    // nor removes it; MQTT-3.3.1-6/-7: an empty retained payload removes it and is not stored.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V311, "ret-pub").await;
    publish_acked(&mut p, &retained("door", b"open")).await;
    publish_acked(&mut p, &retained("door", b"closed")).await;
    publish_acked(&mut p, &Packet::Publish(publish("door", QoS::AtLeastOnce, 1, b"transient"))).await;
    let mut s = Raw::connected(addr, V5, "ret-sub").await;
    s.subscribe(1, "door", qos(QoS::AtLeastOnce)).await;
    let m = s.expect_publish().await;
    // MQTT-3.3.1-9 (5.0 Retain Handling 0) / 3.1.1 MQTT-3.3.1-8: sent on subscribe with RETAIN=1.
    assert_eq!((&m.payload[..], m.retain), (&b"closed"[..], true));
    publish_acked(&mut p, &retained("door", b"")).await;
    let mut late = Raw::connected(addr, V5, "ret-late").await;
    late.subscribe(1, "door", qos(QoS::AtLeastOnce)).await;
    late.expect_nothing().await;
}

#[tokio::test]
async fn retain_handling_0_1_2() {
    // MQTT-3.3.1-9: 0 sends at every subscribe; MQTT-3.3.1-10: 1 only if the subscription is new;
    // MQTT-3.3.1-11: 2 never.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V5, "rh-pub").await;
    publish_acked(&mut p, &retained("rh", b"v")).await;
    let opts = |h| SubscriptionOptions { retain_handling: h, ..qos(QoS::AtMostOnce) };
    let mut s = Raw::connected(addr, V5, "rh").await;
    s.subscribe(1, "rh", opts(RetainHandling::SendAtSubscribe)).await;
    assert!(s.expect_publish().await.retain);
    s.subscribe(2, "rh", opts(RetainHandling::SendAtSubscribe)).await;
    assert!(s.expect_publish().await.retain, "0: again on a repeated subscribe");
    s.subscribe(3, "rh", opts(RetainHandling::SendIfNew)).await;
    s.expect_nothing().await;
    s.subscribe(4, "rh/#", opts(RetainHandling::SendIfNew)).await;
    assert!(s.expect_publish().await.retain, "1: a new subscription gets it");
    s.subscribe(5, "+", opts(RetainHandling::DoNotSend)).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn shared_subscriptions_get_no_retained_messages() {
    // 5.0 §4.8.2: retained messages are not sent to a shared subscription when it is made.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V5, "rs-pub").await;
    publish_acked(&mut p, &retained("rs", b"v")).await;
    let mut s = Raw::connected(addr, V5, "rs").await;
    s.subscribe(1, "$share/g/rs", qos(QoS::AtLeastOnce)).await;
    s.expect_nothing().await;
}

#[tokio::test(start_paused = true)]
async fn retained_messages_expire_and_carry_their_remaining_interval() {
    // MQTT-3.3.2-6: the Message Expiry Interval sent is what remains; MQTT-3.3.2-5 and 5.0 §3.3.2.3.3: an
    // expired retained message is no longer sent.
    let (addr, _b) = start_broker().await;
    let mut p = Raw::connected(addr, V5, "rx-pub").await;
    let mut m = publish("rx", QoS::AtLeastOnce, 1, b"soon stale");
    m.retain = true;
    m.properties = Properties { message_expiry_interval: Some(100), ..Properties::default() };
    publish_acked(&mut p, &Packet::Publish(m)).await;
    tokio::time::sleep(Duration::from_secs(40)).await;
    let mut s = Raw::connected(addr, V5, "rx-1").await;
    s.subscribe(1, "rx", qos(QoS::AtMostOnce)).await;
    let left = s.expect_publish().await.properties.message_expiry_interval;
    assert!(matches!(left, Some(59 | 60)), "remaining interval {left:?}");
    tokio::time::sleep(Duration::from_secs(61)).await;
    let mut s = Raw::connected(addr, V5, "rx-2").await;
    s.subscribe(1, "rx", qos(QoS::AtMostOnce)).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn mosquitto_sub_sees_retained_flag_and_clearing() {
    // MQTT-3.3.1-6 with an independent client: after clearing, only the marker arrives (-R hides stale ones).
    let (addr, broker) = start_broker().await;
    crate::broker_mosquitto::publish(addr, &["-t", "m/r", "-m", "x", "-r", "-q", "1"]).await;
    crate::broker_mosquitto::publish(addr, &["-t", "m/r", "-n", "-r", "-q", "1"]).await;
    let child = crate::broker_mosquitto::sub(addr, &["-V", "5", "-t", "m/#", "-F", "%t %p %r"], 1);
    crate::broker_mosquitto::settle(&broker, 1).await;
    crate::broker_mosquitto::publish(addr, &["-t", "m/marker", "-m", "y", "-q", "1"]).await;
    assert_eq!(crate::broker_mosquitto::output(child).await, "m/marker y 0\n");
}

#[tokio::test]
async fn every_retained_message_reaches_a_new_subscriber_before_what_follows_even_past_the_queue_limit() {
    // MQTT-3.3.1-9 (5.0) / MQTT-3.3.1-6 (3.1.1): every retained message matching a new subscription is
    // sent to it. The replay is owed to the subscription, not queued, so a store larger than the
    // session queue (10 here) arrives whole; a message published after the SUBACK comes after it.
    let (addr, _b) = start_broker_with(BrokerConfig { max_queued_messages: 10, sys_interval: None, ..BrokerConfig::default() }).await;
    let mut p = Raw::connected(addr, V311, "many-pub").await;
    let topics: Vec<String> = (0..300).map(|i| format!("many/{i}")).collect();
    for t in &topics {
        let mut m = publish(t, QoS::AtMostOnce, 0, b"v");
        m.retain = true;
        p.send(&Packet::Publish(m)).await;
    }
    p.ping().await;
    let mut s = Raw::connected(addr, V311, "many-sub").await;
    s.subscribe(1, "many/#", qos(QoS::AtLeastOnce)).await;
    p.send(&Packet::Publish(publish("many/live", QoS::AtMostOnce, 0, b"live"))).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..topics.len() {
        let m = s.expect_publish().await;
        assert!(m.retain, "{} arrived as a live message inside the replay", m.topic);
        assert_eq!(m.qos, QoS::AtMostOnce, "min(published 0, granted 1)");
        seen.insert(m.topic);
    }
    assert_eq!(seen.len(), topics.len(), "each retained topic once");
    let live = s.expect_publish().await;
    assert_eq!((live.topic.as_str(), live.retain), ("many/live", false));
}

#[tokio::test]
async fn a_resubscribed_retained_value_follows_the_backlog_queued_before_it() {
    // MQTT-4.6.0-5/-6 (ordered topics) with MQTT-3.3.1-9: a resumed session's backlog on a topic is
    // delivered before the retained value a new SUBSCRIBE re-sends, which is the newest of them.
    let (addr, _b) = start_broker().await;
    let persistent = || {
        let mut c = connect_packet(V5, "ord-sub", false, 60);
        c.properties.session_expiry_interval = Some(300);
        // One QoS 1 message in flight at a time: the rest of the backlog waits in the queue.
        c.properties.receive_maximum = Some(1);
        c
    };
    let (mut s, _) = Raw::connect(addr, persistent()).await;
    s.subscribe(1, "ord/t", qos(QoS::AtLeastOnce)).await;
    s.send(&Packet::Disconnect(Disconnect { code: 0, properties: Properties::default() })).await;
    drop(s);
    let mut p = Raw::connected(addr, V5, "ord-pub").await;
    for (pkid, value) in [(1, &b"1"[..]), (2, b"2"), (3, b"3")] {
        let mut m = publish("ord/t", QoS::AtLeastOnce, pkid, b"");
        m.payload = bytes::Bytes::from_static(value);
        m.retain = true;
        publish_acked(&mut p, &Packet::Publish(m)).await;
    }
    let (mut s, ack) = Raw::connect(addr, persistent()).await;
    assert!(ack.session_present);
    let first = s.expect_publish().await;
    assert_eq!(&first.payload[..], b"1");
    // Subscribe again while "2" and "3" still wait behind the window of one.
    s.send(&crate::raw::subscribe(2, "ord/t", qos(QoS::AtLeastOnce))).await;
    assert!(matches!(s.expect("SUBACK").await, Packet::SubAck(_)));
    s.send(&Packet::PubAck(ack_of(first.pkid))).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let m = s.expect_publish().await;
        seen.push((String::from_utf8_lossy(&m.payload).into_owned(), m.retain));
        s.send(&Packet::PubAck(ack_of(m.pkid))).await;
    }
    assert_eq!(seen, [("2".to_owned(), false), ("3".to_owned(), false), ("3".to_owned(), true)]);
}
