//! SUBSCRIBE / UNSUBSCRIBE (5.0 §3.8–3.11, 3.1.1 §3.8–3.11): filter validation and per-filter
//! codes, `$` topics, overlapping subscriptions, 5.0 subscription options and identifiers.

use mqscope::broker::codec::{
    Packet, Properties,
    ProtocolVersion::{V5, V311},
    QoS, Subscribe, SubscriptionOptions, Unsubscribe, reason,
};

use crate::common::start_broker;
use crate::raw::{Raw, publish, qos};

/// SUBSCRIBE with several filters and an optional Subscription Identifier; returns the SUBACK codes.
async fn subscribe_many(raw: &mut Raw, pkid: u16, filters: &[(&str, SubscriptionOptions)], id: Option<u32>) -> Vec<u8> {
    let properties = Properties { subscription_identifiers: id.into_iter().collect(), ..Properties::default() };
    let filters = filters.iter().map(|(f, o)| ((*f).to_owned(), *o)).collect();
    raw.send(&Packet::Subscribe(Subscribe { pkid, filters, properties })).await;
    match raw.expect("SUBACK").await {
        Packet::SubAck(s) if s.pkid == pkid => s.codes,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

#[tokio::test]
async fn suback_has_one_code_per_filter_in_order() {
    // MQTT-3.8.4-5/-6/-7, MQTT-3.9.3-1: one code per filter, in order; invalid filters (MQTT-4.7.1-1 `#` not
    // last, MQTT-4.7.1-2 `+` not a whole level, MQTT-4.8.2-2 bad share name) fail alone:
    // 5.0 0x8F Topic Filter invalid, 3.1.1 0x80 Failure.
    let (addr, _b) = start_broker().await;
    let filters = [
        ("ok/+", qos(QoS::AtLeastOnce)),
        ("a/#/b", qos(QoS::AtMostOnce)),
        ("x+/y", qos(QoS::AtMostOnce)),
        ("$share/g+/t", qos(QoS::AtMostOnce)),
        ("z", qos(QoS::ExactlyOnce)),
    ];
    let mut s = Raw::connected(addr, V5, "codes5").await;
    assert_eq!(subscribe_many(&mut s, 1, &filters, None).await, [1, 0x8F, 0x8F, 0x8F, 2]);
    let filters: Vec<_> = filters.into_iter().filter(|(f, _)| !f.starts_with('$')).collect();
    let mut s = Raw::connected(addr, V311, "codes4").await;
    assert_eq!(subscribe_many(&mut s, 1, &filters, None).await, [1, 0x80, 0x80, 2]);
}

#[tokio::test]
async fn leading_wildcards_do_not_match_dollar_topics() {
    // MQTT-4.7.2-1: `#` and `+/...` do not match topics starting with `$`; `$SYS/#` does.
    let (addr, broker) = start_broker().await;
    let mut all = Raw::connected(addr, V311, "all").await;
    all.subscribe(1, "#", qos(QoS::AtMostOnce)).await;
    all.subscribe(2, "+/info", qos(QoS::AtMostOnce)).await;
    let mut sys = Raw::connected(addr, V311, "sys").await;
    sys.subscribe(1, "$SYS/#", qos(QoS::AtMostOnce)).await;
    mqscope::broker::router::publish_sys(
        broker.shared(),
        "$SYS/info".into(),
        bytes::Bytes::from_static(b"1"),
        QoS::AtMostOnce,
        false,
        &Properties::default(),
    );
    assert_eq!(sys.expect_publish().await.topic, "$SYS/info");
    all.expect_nothing().await;
}

#[tokio::test]
async fn overlapping_subscriptions_give_one_copy_at_the_highest_qos_with_every_identifier() {
    // MQTT-3.3.4-2: the maximum QoS of the matching subscriptions; MQTT-3.3.4-3/-4: one copy carrying the
    // Subscription Identifiers of all of them.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "overlap").await;
    subscribe_many(&mut s, 1, &[("home/#", qos(QoS::AtMostOnce))], Some(1)).await;
    subscribe_many(&mut s, 2, &[("home/+/temp", qos(QoS::AtLeastOnce))], Some(2)).await;
    subscribe_many(&mut s, 3, &[("home/kitchen/temp", qos(QoS::AtMostOnce))], None).await;
    let mut p = Raw::connected(addr, V5, "overlap-pub").await;
    p.send(&Packet::Publish(publish("home/kitchen/temp", QoS::ExactlyOnce, 1, b"21"))).await;
    let m = s.expect_publish().await;
    assert_eq!(m.qos, QoS::AtLeastOnce);
    let mut ids = m.properties.subscription_identifiers.clone();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2]);
    s.send(&Packet::PubAck(crate::raw::ack(m.pkid))).await;
    s.expect_nothing().await;
}

#[tokio::test]
async fn resubscribing_replaces_the_subscription() {
    // MQTT-3.8.4-3: an identical filter replaces the existing subscription (new QoS, new identifier).
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "replace").await;
    subscribe_many(&mut s, 1, &[("r", qos(QoS::AtLeastOnce))], Some(5)).await;
    subscribe_many(&mut s, 2, &[("r", qos(QoS::AtMostOnce))], None).await;
    let mut p = Raw::connected(addr, V5, "replace-pub").await;
    p.send(&Packet::Publish(publish("r", QoS::AtLeastOnce, 1, b"x"))).await;
    let m = s.expect_publish().await;
    assert_eq!((m.qos, m.properties.subscription_identifiers.len()), (QoS::AtMostOnce, 0));
}

#[tokio::test]
async fn no_local_skips_the_publishers_own_messages() {
    // MQTT-3.8.3-3: No Local = 1 → not forwarded to the connection with the publisher's ClientID.
    let (addr, _b) = start_broker().await;
    let mut me = Raw::connected(addr, V5, "me").await;
    let no_local = SubscriptionOptions { no_local: true, ..qos(QoS::AtMostOnce) };
    me.subscribe(1, "chat", no_local).await;
    me.send(&Packet::Publish(publish("chat", QoS::AtMostOnce, 0, b"mine"))).await;
    me.expect_nothing().await;
    let mut other = Raw::connected(addr, V5, "other").await;
    other.send(&Packet::Publish(publish("chat", QoS::AtMostOnce, 0, b"theirs"))).await;
    assert_eq!(&me.expect_publish().await.payload[..], b"theirs");
}

#[tokio::test]
async fn no_local_on_a_shared_subscription_is_a_protocol_error() {
    // MQTT-3.8.3-4 → DISCONNECT 0x82.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "nl-shared").await;
    let no_local = SubscriptionOptions { no_local: true, ..qos(QoS::AtMostOnce) };
    s.send(&crate::raw::subscribe(1, "$share/g/t", no_local)).await;
    s.expect_disconnect(reason::PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn retain_as_published_keeps_or_clears_the_retain_flag() {
    // MQTT-3.3.1-12: Retain As Published 0 → RETAIN 0 on forwarded messages; MQTT-3.3.1-13: 1 → as published.
    let (addr, _b) = start_broker().await;
    let mut plain = Raw::connected(addr, V5, "rap0").await;
    plain.subscribe(1, "rap", qos(QoS::AtMostOnce)).await;
    let mut keep = Raw::connected(addr, V5, "rap1").await;
    keep.subscribe(1, "rap", SubscriptionOptions { retain_as_published: true, ..qos(QoS::AtMostOnce) }).await;
    let mut p = Raw::connected(addr, V5, "rap-pub").await;
    let mut m = publish("rap", QoS::AtMostOnce, 0, b"r");
    m.retain = true;
    p.send(&Packet::Publish(m)).await;
    assert!(!plain.expect_publish().await.retain);
    assert!(keep.expect_publish().await.retain);
}

#[tokio::test]
async fn unsubscribe_answers_per_filter_and_stops_delivery() {
    // MQTT-3.10.4-1/-2: the matching subscription is deleted and delivery stops; MQTT-3.10.4-4/-5/-6 and
    // MQTT-3.11.3-1/-2: one UNSUBACK with a code per filter, 0x11 No subscription existed where none was.
    let (addr, _b) = start_broker().await;
    let mut s = Raw::connected(addr, V5, "unsub").await;
    s.subscribe(1, "u/+", qos(QoS::AtMostOnce)).await;
    s.send(&Packet::Unsubscribe(Unsubscribe { pkid: 2, filters: vec!["u/+".into(), "never".into()], properties: Properties::default() }))
        .await;
    assert!(matches!(s.expect("UNSUBACK").await, Packet::UnsubAck(u) if u.pkid == 2 && u.codes == [0x00, reason::NO_SUBSCRIPTION_EXISTED]));
    let mut p = Raw::connected(addr, V5, "unsub-pub").await;
    p.send(&Packet::Publish(publish("u/1", QoS::AtMostOnce, 0, b"x"))).await;
    p.ping().await;
    s.expect_nothing().await;
    // 3.1.1: UNSUBACK without payload.
    let mut s = Raw::connected(addr, V311, "unsub4").await;
    s.send(&Packet::Unsubscribe(Unsubscribe { pkid: 3, filters: vec!["never".into()], properties: Properties::default() })).await;
    assert!(matches!(s.expect("UNSUBACK").await, Packet::UnsubAck(u) if u.pkid == 3 && u.codes.is_empty()));
}

#[tokio::test]
async fn mosquitto_sub_wildcards_match_like_ours() {
    // MQTT-4.7.1-1/-2 with an independent client: `+` one level, `#` the rest (including the parent level).
    let (addr, broker) = start_broker().await;
    let child = crate::broker_mosquitto::sub(addr, &["-V", "5", "-t", "a/+/c", "-t", "b/#", "-v"], 3);
    crate::broker_mosquitto::settle(&broker, 2).await;
    let mut p = Raw::connected(addr, V311, "wild-pub").await;
    for t in ["a/b/c", "a/b/d", "a/b/c/d", "b", "b/x/y"] {
        p.send(&Packet::Publish(publish(t, QoS::AtLeastOnce, 1, b"m"))).await;
        assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(_)));
    }
    assert_eq!(crate::broker_mosquitto::output(child).await, "a/b/c m\nb m\nb/x/y m\n");
}
