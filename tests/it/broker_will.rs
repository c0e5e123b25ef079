//! Wills (5.0 §3.1.2.5, §3.1.3.2.2; 3.1.1 §3.1.2.5): QoS, retain and properties; when they are and
//! are not published; the Will Delay Interval. Timed tests run on tokio's paused clock.

use std::time::Duration;

use bytes::Bytes;
use mqscope::broker::codec::{
    Connect, Disconnect, LastWill, Packet, Properties, ProtocolVersion,
    ProtocolVersion::{V5, V311},
    QoS, reason,
};
use tokio::time::Instant;

use crate::common::start_broker;
use crate::raw::{Raw, ack, connect_packet, qos};

/// A CONNECT with a will on `topic` (payload "gone").
fn with_will(version: ProtocolVersion, id: &str, topic: &str, will_qos: QoS, retain: bool, properties: Properties) -> Connect {
    let mut c = connect_packet(version, id, true, 60);
    c.will = Some(LastWill { topic: topic.into(), payload: Bytes::from_static(b"gone"), qos: will_qos, retain, properties });
    c
}

/// A 5.0 watcher subscribed to `w/#` at QoS 2.
async fn watcher(addr: std::net::SocketAddr, id: &str) -> Raw {
    let mut w = Raw::connected(addr, V5, id).await;
    assert_eq!(w.subscribe(1, "w/#", qos(QoS::ExactlyOnce)).await, [2]);
    w
}

#[tokio::test]
async fn will_keeps_qos_retain_and_properties_after_a_dropped_connection() {
    // MQTT-3.1.2-8: published when the connection closes without DISCONNECT; MQTT-3.1.2-15 (5.0) retained
    // as asked; MQTT-3.1.3-10 user properties in order; MQTT-3.3.2-4/-20 PFI and Content Type unaltered.
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch1").await;
    let props = Properties {
        payload_format_indicator: Some(1),
        content_type: Some("text/plain".into()),
        user_properties: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
        ..Properties::default()
    };
    let (dev, _) = Raw::connect(addr, with_will(V5, "dev1", "w/dev1", QoS::AtLeastOnce, true, props)).await;
    drop(dev);
    let p = w.expect_publish().await;
    assert_eq!((p.topic.as_str(), &p.payload[..], p.qos), ("w/dev1", &b"gone"[..], QoS::AtLeastOnce));
    assert_eq!(p.properties.content_type.as_deref(), Some("text/plain"));
    assert_eq!(p.properties.payload_format_indicator, Some(1));
    assert_eq!(p.properties.user_properties, [("b".to_owned(), "2".to_owned()), ("a".to_owned(), "1".to_owned())]);
    // The retained copy reaches a later subscriber with RETAIN=1.
    let mut late = Raw::connected(addr, V5, "late1").await;
    late.subscribe(1, "w/dev1", qos(QoS::AtLeastOnce)).await;
    let r = late.expect_publish().await;
    assert!(r.retain && &r.payload[..] == b"gone");
}

#[tokio::test]
async fn normal_disconnect_discards_the_will_and_0x04_publishes_it() {
    // MQTT-3.1.2-10, MQTT-3.14.4-3: DISCONNECT 0x00 deletes the will (also the zero-length short form,
    // 5.0 §3.14.2.1); 0x04 Disconnect with Will Message publishes it.
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch2").await;
    let (mut polite, _) = Raw::connect(addr, with_will(V5, "polite", "w/polite", QoS::AtMostOnce, false, Properties::default())).await;
    polite.send_bytes(&[0xE0, 0x00]).await;
    assert!(polite.until_closed().await.is_empty());
    let (mut v3, _) = Raw::connect(addr, with_will(V311, "polite4", "w/polite4", QoS::AtMostOnce, false, Properties::default())).await;
    v3.send(&Packet::Disconnect(Disconnect::default())).await;
    assert!(v3.until_closed().await.is_empty());
    let (mut asks, _) = Raw::connect(addr, with_will(V5, "asks", "w/asks", QoS::AtMostOnce, false, Properties::default())).await;
    asks.send(&Packet::Disconnect(Disconnect { code: reason::DISCONNECT_WITH_WILL_MESSAGE, properties: Properties::default() })).await;
    assert_eq!(w.expect_publish().await.topic, "w/asks", "only the 0x04 will, none of the polite ones");
}

#[tokio::test]
async fn protocol_error_publishes_the_will() {
    // MQTT-3.1.2-8 (5.0 §3.1.2.5: "the Server closes the Network Connection because of a protocol error").
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch3").await;
    for (version, id) in [(V5, "bad5"), (V311, "bad4")] {
        let (mut bad, _) =
            Raw::connect(addr, with_will(version, id, &format!("w/{id}"), QoS::AtLeastOnce, false, Properties::default())).await;
        bad.send_bytes(&[0x62, 0x02, 0x00, 0x00]).await; // PUBREL with Packet Identifier 0.
        bad.until_closed().await;
        let p = w.expect_publish().await;
        assert_eq!(p.topic, format!("w/{id}"));
        w.send(&Packet::PubAck(ack(p.pkid))).await;
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alive_expiry_publishes_the_will() {
    // MQTT-3.1.2-8 with MQTT-3.1.2-22: "the Client fails to communicate within the Keep Alive time".
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch4").await;
    let mut c = with_will(V311, "sleepy", "w/sleepy", QoS::AtMostOnce, false, Properties::default());
    c.keep_alive = 2;
    let (_sleepy, _) = Raw::connect(addr, c).await;
    let start = Instant::now();
    assert_eq!(w.expect_publish().await.topic, "w/sleepy");
    assert!(start.elapsed() >= Duration::from_secs(3));
}

/// Will properties with a Will Delay Interval.
fn delayed(secs: u32) -> Properties {
    Properties { will_delay_interval: Some(secs), ..Properties::default() }
}

/// A 5.0 CONNECT with a persistent session (expiry `expiry` s) and a will delayed by `delay` s.
fn delayed_will(id: &str, delay: u32, expiry: u32) -> Connect {
    let mut c = with_will(V5, id, &format!("w/{id}"), QoS::AtMostOnce, false, delayed(delay));
    c.clean_start = false;
    c.properties.session_expiry_interval = Some(expiry);
    c
}

#[tokio::test(start_paused = true)]
async fn will_delay_interval_delays_the_will() {
    // 5.0 MQTT-3.1.2-8 / §3.1.3.2.2: published once the Will Delay Interval has passed.
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch5").await;
    let (dev, _) = Raw::connect(addr, delayed_will("late-will", 30, 3600)).await;
    let start = Instant::now();
    drop(dev);
    // (The hang guard runs on the paused clock too: wait most of the delay first.)
    tokio::time::sleep(Duration::from_secs(29)).await;
    w.expect_nothing().await;
    assert_eq!(w.expect_publish().await.topic, "w/late-will");
    let waited = start.elapsed();
    assert!((Duration::from_secs(30)..Duration::from_secs(31)).contains(&waited), "after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn session_end_before_the_delay_publishes_the_will_then() {
    // 5.0 §3.1.3.2.2: "until the Will Delay Interval has passed or the Session ends, whichever happens first".
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch6").await;
    let (dev, _) = Raw::connect(addr, delayed_will("short-session", 300, 10)).await;
    let start = Instant::now();
    drop(dev);
    assert_eq!(w.expect_publish().await.topic, "w/short-session");
    let waited = start.elapsed();
    assert!((Duration::from_secs(10)..Duration::from_secs(11)).contains(&waited), "after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn reconnecting_within_the_will_delay_cancels_the_will() {
    // MQTT-3.1.3-9: a new connection to the session before the delay has passed → the will is not sent.
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch7").await;
    let (dev, _) = Raw::connect(addr, delayed_will("blip", 30, 3600)).await;
    drop(dev);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (mut back, ack) = Raw::connect(addr, delayed_will("blip", 30, 3600)).await;
    assert!(ack.session_present);
    back.send(&Packet::Disconnect(Disconnect::default())).await;
    back.until_closed().await;
    tokio::time::sleep(Duration::from_mins(1)).await;
    w.expect_nothing().await;
}

#[tokio::test(start_paused = true)]
async fn takeover_publishes_the_will_unless_the_session_resumes_within_its_delay() {
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch8").await;
    // Will Delay 0: the old connection was closed without DISCONNECT 0x00 → its will goes out (MQTT-3.1.2-8, MQTT-3.1.4-3).
    let (_old, _) = Raw::connect(addr, delayed_will("t0", 0, 3600)).await;
    let (_new, _) = Raw::connect(addr, delayed_will("t0", 0, 3600)).await;
    assert_eq!(w.expect_publish().await.topic, "w/t0");
    // Delay > 0 and the new connection resumes the session → not sent (MQTT-3.1.3-9).
    let (_old, _) = Raw::connect(addr, delayed_will("t1", 30, 3600)).await;
    let (mut new, ack) = Raw::connect(addr, delayed_will("t1", 30, 3600)).await;
    assert!(ack.session_present);
    tokio::time::sleep(Duration::from_mins(1)).await;
    w.expect_nothing().await;
    new.send(&Packet::Disconnect(Disconnect::default())).await;
    // Delay > 0 but Clean Start 1 ends the old session (MQTT-3.1.2-4) → sent at once (§3.1.3.2.2).
    let (_old, _) = Raw::connect(addr, delayed_will("t2", 30, 3600)).await;
    let mut fresh = delayed_will("t2", 30, 3600);
    fresh.clean_start = true;
    let start = Instant::now();
    let (_new, ack) = Raw::connect(addr, fresh).await;
    assert!(!ack.session_present);
    assert_eq!(w.expect_publish().await.topic, "w/t2");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_pending_will_goes_out_when_a_clean_start_ends_its_session() {
    // The connection closed and the will waits for its delay; the client comes back with Clean Start 1:
    // the old session ends (MQTT-3.1.2-4), so the will is published then (5.0 §3.1.3.2.2), not cancelled
    // (MQTT-3.1.3-9 cancels it only for a connection to the same session).
    let (addr, _b) = start_broker().await;
    let mut w = watcher(addr, "watch9").await;
    let (dev, _) = Raw::connect(addr, delayed_will("pending", 30, 3600)).await;
    drop(dev);
    tokio::time::sleep(Duration::from_secs(10)).await;
    w.expect_nothing().await;
    let mut fresh = delayed_will("pending", 30, 3600);
    fresh.clean_start = true;
    let start = Instant::now();
    let (_new, ack_) = Raw::connect(addr, fresh).await;
    assert!(!ack_.session_present);
    assert_eq!(w.expect_publish().await.topic, "w/pending");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn mosquitto_sub_will_with_v5_properties_fires_when_it_is_killed() {
    // MQTT-3.1.2-8 with an independent client: mosquitto_sub -V 5 with a retained QoS 1 will and a will user
    // property (MQTT-3.1.3-10), killed without DISCONNECT.
    let (addr, broker) = start_broker().await;
    let mut w = watcher(addr, "watch10").await;
    let mut child = crate::broker_mosquitto::sub(
        addr,
        &[
            "-V",
            "5",
            "-t",
            "unused",
            "--will-topic",
            "w/mosq",
            "--will-payload",
            "bye",
            "--will-qos",
            "1",
            "--will-retain",
            "-D",
            "will",
            "user-property",
            "k",
            "v",
        ],
        1,
    );
    crate::broker_mosquitto::settle(&broker, 2).await;
    child.start_kill().expect("kill mosquitto_sub");
    let p = w.expect_publish().await;
    assert_eq!((p.topic.as_str(), &p.payload[..], p.qos), ("w/mosq", &b"bye"[..], QoS::AtLeastOnce));
    assert_eq!(p.properties.user_properties, [("k".to_owned(), "v".to_owned())]);
}
