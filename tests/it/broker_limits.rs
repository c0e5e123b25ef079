//! Malformed and boundary input at the socket (5.0 §4.13, 3.1.1 §4.8): the codec's strictness as
//! the broker applies it (only the offending connection ends), Maximum Packet Size checked before
//! the body is read, back-pressure on a client that floods a slow subscriber, and the broker's own
//! limits (connections, subscriptions, topics, CONNECT timeout), each with its reason code and counter.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{
    Connect, Packet, Properties,
    ProtocolVersion::{V5, V311},
    QoS, Subscribe, reason,
};
use mqscope::broker::stats::Limit;

use crate::common::{guard, start_broker, start_broker_with};
use crate::raw::{Raw, ack, connect_packet, publish, qos};

#[tokio::test]
async fn packet_over_maximum_size_is_refused_from_its_header() {
    // 5.0 §3.2.2.3.6 / §4.13: a packet larger than our Maximum Packet Size → DISCONNECT 0x95; the check is on the
    // fixed header, so the connection ends although the 1 MB body was never sent.
    let (addr, _b) = start_broker_with(BrokerConfig { sys_interval: None, max_packet_size: 1024, ..BrokerConfig::default() }).await;
    let mut raw = Raw::connected(addr, V5, "huge").await;
    raw.send_bytes(&[0x30, 0x80, 0x80, 0x40]).await; // PUBLISH, Remaining Length 1,048,576, no body.
    raw.expect_disconnect(reason::PACKET_TOO_LARGE).await;
    let mut raw = Raw::connected(addr, V311, "huge4").await;
    raw.send_bytes(&[0x30, 0x80, 0x80, 0x40]).await;
    raw.expect_disconnect(0).await;
}

#[tokio::test]
async fn malformed_and_protocol_errors_get_the_right_reason_and_end_only_that_connection() {
    let (addr, _b) = start_broker().await;
    let mut bystander = Raw::connected(addr, V5, "bystander").await;
    bystander.subscribe(1, "alive", qos(QoS::AtMostOnce)).await;
    let cases: [(&str, &[u8], u8); 8] = [
        // MQTT-1.5.4-1: ill-formed UTF-8 in a topic → Malformed Packet.
        ("utf8", &[0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, b'x'], reason::MALFORMED_PACKET),
        // MQTT-1.5.4-2: U+0000 in a string → Malformed Packet.
        ("nul", &[0x30, 0x05, 0x00, 0x02, b'a', 0x00, b'x'], reason::MALFORMED_PACKET),
        // MQTT-3.3.2-2: a wildcard in a Topic Name → 0x90.
        ("wild", &[0x30, 0x05, 0x00, 0x02, b'a', b'#', 0x00], reason::TOPIC_NAME_INVALID),
        // 5.0 §2.2.2.2: the same property twice → Protocol Error (Content Type twice).
        ("dup-prop", &[0x30, 0x0B, 0x00, 0x01, b't', 0x06, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, b'x'], reason::PROTOCOL_ERROR),
        // 5.0 §2.2.2.2: a property not allowed in PUBLISH (Session Expiry Interval) → Malformed Packet.
        ("wrong-prop", &[0x30, 0x0A, 0x00, 0x01, b't', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01, b'x'], reason::MALFORMED_PACKET),
        // MQTT-3.8.1-1: SUBSCRIBE fixed-header flags other than 0010 → Malformed Packet.
        ("sub-flags", &[0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, b'a'], reason::MALFORMED_PACKET),
        // MQTT-3.8.3-5: reserved bits in the subscription options → Malformed Packet.
        ("sub-opts", &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0xC0], reason::MALFORMED_PACKET),
        // MQTT-3.14.1-1: DISCONNECT reserved flags → Malformed Packet.
        ("disc-flags", &[0xE1, 0x00], reason::MALFORMED_PACKET),
    ];
    for (name, bytes, code) in cases {
        let mut raw = Raw::connected(addr, V5, name).await;
        raw.send_bytes(bytes).await;
        raw.expect_disconnect(code).await;
        // 3.1.1: the same bytes (minus 5.0 properties) just close the connection (3.1.1 §4.8).
        if !name.contains("prop") && name != "sub-opts" {
            let mut raw4 = Raw::connected(addr, V311, name).await;
            let v3: Vec<u8> = bytes.to_vec();
            raw4.send_bytes(&v3).await;
            raw4.until_closed().await;
        }
    }
    let mut p = Raw::connected(addr, V5, "still-alive").await;
    p.send(&Packet::Publish(publish("alive", QoS::AtMostOnce, 0, b"yes"))).await;
    assert_eq!(&bystander.expect_publish().await.payload[..], b"yes");
}

#[tokio::test]
async fn zero_length_disconnect_is_a_normal_disconnection() {
    // 5.0 §3.14.2.1: Remaining Length 0 means reason 0x00 and no properties.
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::connected(addr, V5, "short").await;
    raw.send_bytes(&[0xE0, 0x00]).await;
    assert!(raw.until_closed().await.is_empty(), "the server closes without a reply");
}

#[tokio::test]
async fn a_flooding_publisher_is_slowed_down_instead_of_overflowing_a_slow_subscriber() {
    // Back-pressure: a publisher whose messages push an online subscriber's queue over the high-water mark
    // stops being read until the queue drains, so nothing is dropped although the queue bound (20) is far
    // below the burst (300), all sent in one write and acknowledged by the broker as it goes.
    let config = BrokerConfig {
        sys_interval: None,
        max_queued_messages: 20,
        backpressure_high_water: 10,
        backpressure_max_pause: Duration::from_secs(5),
        ..BrokerConfig::default()
    };
    let (addr, broker) = start_broker_with(config).await;
    let mut c: Connect = connect_packet(V5, "slow", true, 60);
    c.properties.receive_maximum = Some(2);
    let (mut slow, _) = Raw::connect(addr, c).await;
    slow.subscribe(1, "flood", qos(QoS::AtLeastOnce)).await;
    let mut flooder = Raw::connected(addr, V311, "flooder").await;
    let mut burst = bytes::BytesMut::new();
    for i in 0..300u16 {
        let payload: &'static [u8] = Box::leak(i.to_be_bytes().to_vec().into_boxed_slice());
        mqscope::broker::codec::encode(&Packet::Publish(publish("flood", QoS::AtLeastOnce, i + 1, payload)), V311, &mut burst);
    }
    flooder.send_bytes(&burst).await;
    for i in 0..300u16 {
        let m = slow.expect_publish().await;
        assert_eq!(&m.payload[..], i.to_be_bytes(), "in order, none missing");
        slow.send(&Packet::PubAck(ack(m.pkid))).await;
    }
    let mut acks = 0;
    while acks < 300 {
        if let Packet::PubAck(_) = flooder.expect("PUBACK").await {
            acks += 1;
        }
    }
    assert_eq!(broker.shared().stats.dropped.load(Relaxed), 0);
}

#[tokio::test]
async fn server_to_client_packets_from_a_client_are_protocol_errors() {
    // 5.0 §2.1.2 (packet direction) and §4.13: CONNACK, SUBACK, UNSUBACK, PINGRESP from a client → DISCONNECT 0x82.
    let (addr, _b) = start_broker().await;
    let packets: [&[u8]; 4] =
        [&[0x20, 0x03, 0x00, 0x00, 0x00], &[0x90, 0x04, 0x00, 0x01, 0x00, 0x00], &[0xB0, 0x04, 0x00, 0x01, 0x00, 0x00], &[0xD0, 0x00]];
    for bytes in packets {
        let mut raw = Raw::connected(addr, V5, "wrong-way").await;
        raw.send_bytes(bytes).await;
        raw.expect_disconnect(reason::PROTOCOL_ERROR).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stuck_subscriber_costs_a_publisher_one_pause_not_one_per_message() {
    // Back-pressure never stalls a publisher: a subscriber that does not drain within
    // `backpressure_max_pause` is not waited for again; its queue overflows and the drops are counted.
    let config = BrokerConfig {
        sys_interval: None,
        max_queued_messages: 20,
        backpressure_high_water: 4,
        backpressure_max_pause: Duration::from_secs(1),
        ..BrokerConfig::default()
    };
    let (addr, broker) = start_broker_with(config).await;
    let mut req: Connect = connect_packet(V5, "stuck", true, 60);
    req.properties.receive_maximum = Some(1);
    let (mut stuck, _) = Raw::connect(addr, req).await;
    stuck.subscribe(1, "s", qos(QoS::AtLeastOnce)).await;
    let mut p = Raw::connected(addr, V311, "undeterred").await;
    let start = tokio::time::Instant::now();
    for i in 1..=50u16 {
        p.send(&Packet::Publish(publish("s", QoS::AtLeastOnce, i, b"x"))).await;
        assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(a) if a.pkid == i));
    }
    let waited = start.elapsed();
    assert!(waited < Duration::from_secs(3), "paused {waited:?} (virtual) for a subscriber that never acknowledges");
    // 1 in flight + 20 queued; the other 29 were dropped, and counted.
    assert_eq!(broker.shared().stats.dropped.load(Relaxed), 29);
    assert_eq!(stuck.expect_publish().await.pkid, 1);
}

/// A SUBSCRIBE of several filters at QoS 0; returns the SUBACK codes.
async fn subscribe_all(raw: &mut Raw, pkid: u16, filters: &[&str]) -> Vec<u8> {
    let filters = filters.iter().map(|f| ((*f).to_owned(), qos(QoS::AtMostOnce))).collect();
    raw.send(&Packet::Subscribe(Subscribe { pkid, filters, properties: Properties::default() })).await;
    match raw.expect("SUBACK").await {
        Packet::SubAck(s) => s.codes,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

#[tokio::test]
async fn connections_past_max_connections_are_refused_with_a_connack_not_dropped() {
    // 5.0 §3.2.2.2: 0x97 Quota exceeded; 3.1.1 §3.2.2.3: 0x03 Server unavailable (MQTT-3.2.2-5: then closed).
    let (addr, broker) = start_broker_with(BrokerConfig { sys_interval: None, max_connections: 2, ..BrokerConfig::default() }).await;
    let first = Raw::connected(addr, V5, "one").await;
    let _second = Raw::connected(addr, V311, "two").await;
    let (mut refused5, ack) = Raw::connect(addr, connect_packet(V5, "three", true, 60)).await;
    assert_eq!(ack.code, reason::QUOTA_EXCEEDED);
    assert!(refused5.until_closed().await.is_empty(), "closed after the CONNACK");
    let (mut refused4, ack) = Raw::connect(addr, connect_packet(V311, "four", true, 60)).await;
    assert_eq!(ack.code, reason::CONNACK_V3_SERVER_UNAVAILABLE);
    assert!(refused4.until_closed().await.is_empty(), "closed after the CONNACK");
    assert_eq!(broker.shared().stats.limits.count(Limit::Connections), 2);
    // Room again once a connection has ended.
    drop((first, refused5, refused4));
    guard("the closed connections to be released", async {
        while broker.shared().stats.connections.load(Relaxed) > 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    Raw::connected(addr, V5, "five").await;
}

#[tokio::test]
async fn connections_past_max_connection_rate_are_refused_with_0x9f_or_0x03() {
    // 5.0 §3.2.2.2: 0x9F Connection rate exceeded; 3.1.1 §3.2.2.3 has no such code: 0x03 Server unavailable.
    // At one new connection per second, connect until a refusal of each version was read; whatever the
    // machine's speed, no more were admitted than the bucket (1) plus one per second elapsed.
    let config = BrokerConfig { sys_interval: None, max_connection_rate: 1, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let started = std::time::Instant::now();
    let (mut admitted, mut refused, mut seen5, mut seen4) = (0u64, 0u64, false, false);
    guard("a refusal of each version", async {
        for i in 0u32.. {
            if seen5 && seen4 {
                break;
            }
            let version = if i % 2 == 0 { V5 } else { V311 };
            let (mut raw, ack) = Raw::connect(addr, connect_packet(version, &format!("storm{i}"), true, 60)).await;
            match (version, ack.code) {
                (_, 0) => admitted += 1,
                (V5, reason::CONNECTION_RATE_EXCEEDED) => (refused, seen5) = (refused + 1, true),
                (V311, reason::CONNACK_V3_SERVER_UNAVAILABLE) => (refused, seen4) = (refused + 1, true),
                other => panic!("unexpected CONNACK {other:?}"),
            }
            if ack.code != 0 {
                assert!(raw.until_closed().await.is_empty(), "closed after the refusing CONNACK (MQTT-3.2.2-5)");
            }
        }
    })
    .await;
    let bound = 1 + started.elapsed().as_secs() + 1;
    assert!(admitted <= bound, "{admitted} admitted in {:?} at 1/s", started.elapsed());
    assert_eq!(broker.shared().stats.limits.count(Limit::ConnectionRate), refused);
}

#[tokio::test]
async fn the_default_maximum_packet_size_is_a_few_mib_and_advertised() {
    // 5.0 §3.2.2.3.6: the server's Maximum Packet Size goes in CONNACK; §4.13 / §3.14.2.1: a larger packet → DISCONNECT 0x95.
    let (addr, broker) = start_broker().await;
    let (mut raw, ack) = Raw::connect(addr, connect_packet(V5, "sized", true, 60)).await;
    assert_eq!(ack.properties.maximum_packet_size, Some(4 * 1024 * 1024));
    raw.send_bytes(&[0x30, 0x81, 0x80, 0x80, 0x02]).await; // PUBLISH, Remaining Length 4 MiB + 1, no body.
    raw.expect_disconnect(reason::PACKET_TOO_LARGE).await;
    assert_eq!(broker.shared().stats.limits.count(Limit::PacketSize), 1);
}

#[tokio::test]
async fn subscriptions_past_the_per_client_limit_are_refused_in_suback() {
    // 5.0 §3.9.3: 0x97 Quota exceeded per filter; 3.1.1 MQTT-3.9.3-2: 0x80 Failure. Re-subscribing a filter
    // the client holds replaces it (MQTT-3.8.4-3) and is not a new subscription.
    let config = BrokerConfig { sys_interval: None, max_subscriptions_per_client: 2, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let mut v5 = Raw::connected(addr, V5, "many5").await;
    assert_eq!(subscribe_all(&mut v5, 1, &["a", "b", "c"]).await, [0, 0, reason::QUOTA_EXCEEDED]);
    assert_eq!(subscribe_all(&mut v5, 2, &["a"]).await, [0], "a replacement, not a third");
    let mut v4 = Raw::connected(addr, V311, "many4").await;
    assert_eq!(subscribe_all(&mut v4, 1, &["a", "b", "c"]).await, [0, 0, reason::SUBACK_V3_FAILURE]);
    assert_eq!(broker.shared().stats.limits.count(Limit::Subscriptions), 2);
}

#[tokio::test]
async fn topics_over_max_length_or_levels_are_refused() {
    // A topic name over a limit ends the connection with DISCONNECT 0x90 Topic Name invalid (5.0 §3.14.2.1);
    // a filter over one is refused with 0x8F Topic Filter invalid (5.0 §3.9.3) / 0x80 (3.1.1), others still granted.
    let config = BrokerConfig { sys_interval: None, max_topic_length: 16, max_topic_levels: 3, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let mut sub = Raw::connected(addr, V5, "filters").await;
    let codes = subscribe_all(&mut sub, 1, &["a/b/c", "a/b/c/#", "0123456789abcdefg", "0123456789abcdef"]).await;
    assert_eq!(codes, [0, reason::TOPIC_FILTER_INVALID, reason::TOPIC_FILTER_INVALID, 0]);
    let mut sub4 = Raw::connected(addr, V311, "filters4").await;
    assert_eq!(subscribe_all(&mut sub4, 1, &["a/b/c/d"]).await, [reason::SUBACK_V3_FAILURE]);
    for topic in ["a/b/c/d", "0123456789abcdefg"] {
        let mut p = Raw::connected(addr, V5, "long").await;
        p.send(&Packet::Publish(publish(topic, QoS::AtMostOnce, 0, b"x"))).await;
        p.expect_disconnect(reason::TOPIC_NAME_INVALID).await;
    }
    let mut p = Raw::connected(addr, V5, "fits").await;
    p.send(&Packet::Publish(publish("a/b/c", QoS::AtMostOnce, 0, b"ok"))).await;
    assert_eq!(&sub.expect_publish().await.payload[..], b"ok");
    assert_eq!(broker.shared().stats.limits.count(Limit::Topic), 5);
}

#[tokio::test(start_paused = true)]
async fn a_connection_without_connect_is_closed_after_the_connect_timeout() {
    let config = BrokerConfig { sys_interval: None, connect_timeout: Duration::from_secs(5), ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let mut raw = Raw::open(addr, V5).await;
    let start = tokio::time::Instant::now();
    assert!(raw.until_closed().await.is_empty(), "nothing to answer: no CONNECT");
    let waited = start.elapsed();
    assert!((Duration::from_secs(5)..Duration::from_secs(6)).contains(&waited), "closed after {waited:?}");
    assert_eq!(broker.shared().stats.limits.count(Limit::ConnectTimeout), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connect_sent_one_byte_per_second_is_closed_at_the_connect_timeout() {
    // A slow-loris CONNECT: `connect_timeout` bounds the whole CONNECT, not only the wait for its first
    // byte, so a peer cannot hold a task and a socket by dribbling. A slow but timely one is served.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let config = BrokerConfig { sys_interval: None, connect_timeout: Duration::from_secs(5), ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let mut bytes = bytes::BytesMut::new();
    mqscope::broker::codec::encode(&Packet::Connect(Box::new(connect_packet(V5, "dribbler", true, 60))), V5, &mut bytes);
    assert!(bytes.len() > 10, "a CONNECT of {} bytes takes longer than the timeout at 1 byte/s", bytes.len());

    let mut timely = Raw::open(addr, V5).await;
    for b in &bytes {
        timely.send_bytes(&[*b]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match timely.expect("CONNACK").await {
        Packet::ConnAck(a) => assert_eq!(a.code, 0, "a CONNECT complete within the timeout is accepted"),
        other => panic!("expected CONNACK, got {other:?}"),
    }

    let (mut rd, mut wr) = tokio::net::TcpStream::connect(addr).await.expect("connect").into_split();
    let start = tokio::time::Instant::now();
    let dribble = bytes.clone();
    let writer = tokio::spawn(async move {
        for b in &dribble {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut got = Vec::new();
    guard("the broker to close the dribbling connection", async { rd.read_to_end(&mut got).await.ok() }).await;
    let waited = start.elapsed();
    writer.abort();
    assert!(got.is_empty(), "no CONNECT, no CONNACK: {got:?}");
    assert!((Duration::from_secs(5)..Duration::from_secs(6)).contains(&waited), "closed after {waited:?}");
    assert_eq!(broker.shared().stats.limits.count(Limit::ConnectTimeout), 1);
}

#[tokio::test]
async fn every_limit_hit_is_counted_under_sys_broker_limits() {
    let config = BrokerConfig { sys_interval: Some(Duration::from_millis(50)), max_subscriptions_per_client: 1, ..BrokerConfig::default() };
    let (addr, _b) = start_broker_with(config).await;
    let mut greedy = Raw::connected(addr, V5, "greedy").await;
    assert_eq!(subscribe_all(&mut greedy, 1, &["a", "b"]).await, [0, reason::QUOTA_EXCEEDED]);
    let mut sys = Raw::connected(addr, V311, "sys").await;
    assert_eq!(sys.subscribe(1, "$SYS/broker/limits/subscriptions", qos(QoS::AtMostOnce)).await, [0]);
    // Retained values from before the hit may come first; wait for a period that counts it.
    while &sys.expect_publish().await.payload[..] != b"1" {}
}
