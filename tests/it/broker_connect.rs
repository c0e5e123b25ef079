//! CONNECT and CONNACK (5.0 §3.1–3.2, 3.1.1 §3.1–3.2): protocol level, client identifiers, Clean
//! Start / Session Present, Session Expiry, Server Keep Alive, CONNACK limits, takeover, AUTH.

use bytes::Bytes;
use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{
    Auth, Disconnect, LastWill, Packet, Properties,
    ProtocolVersion::{V5, V311},
    QoS, reason,
};
use rumqttc::v5::mqttbytes::v5::Packet as P5;

use crate::common::{guard, start_broker, start_broker_with, wait_v5};
use crate::raw::{Raw, connect_packet};

#[tokio::test]
async fn protocol_level_above_5_gets_v5_connack_0x84() {
    // 5.0 MQTT-3.1.2-2: an unsupported Protocol Version may be answered with 0x84, then the connection closes.
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::open(addr, V5).await;
    raw.send_bytes(&[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 6, 0x02, 0, 60, 0, 1, b'x']).await;
    let rest = raw.until_closed().await;
    assert!(
        matches!(rest.as_slice(), [Packet::ConnAck(a)] if a.code == reason::UNSUPPORTED_PROTOCOL_VERSION && !a.session_present),
        "{rest:?}"
    );
}

#[tokio::test]
async fn wrong_protocol_name_gets_return_code_0x01_v311() {
    // 3.1.1 MQTT-3.1.2-1 / MQTT-3.1.2-2: not "MQTT"/4 → CONNACK 0x01 (unacceptable protocol version) and close.
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::open(addr, V311).await;
    raw.send_bytes(&[0x10, 13, 0, 4, b'M', b'Q', b'T', b'X', 4, 0x02, 0, 60, 0, 1, b'x']).await;
    let rest = raw.until_closed().await;
    assert!(matches!(rest.as_slice(), [Packet::ConnAck(a)] if a.code == reason::CONNACK_V3_UNACCEPTABLE_PROTOCOL), "{rest:?}");
}

#[tokio::test]
async fn malformed_v5_connect_gets_connack_0x81() {
    // 5.0 MQTT-3.1.2-3 (reserved flag must be 0) and §4.13: Malformed Packet → CONNACK 0x81, then close.
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::open(addr, V5).await;
    raw.send_bytes(&[0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x03, 0, 60, 0, 0, 1, b'x']).await;
    let rest = raw.until_closed().await;
    assert!(matches!(rest.as_slice(), [Packet::ConnAck(a)] if a.code == reason::MALFORMED_PACKET), "{rest:?}");
}

#[tokio::test]
async fn empty_client_id_needs_clean_session_in_v311() {
    // 3.1.1 MQTT-3.1.3-8: zero-byte ClientId with CleanSession=0 → CONNACK 0x02 and close.
    let (addr, _b) = start_broker().await;
    let (mut raw, ack) = Raw::connect(addr, connect_packet(V311, "", false, 60)).await;
    assert_eq!(ack.code, reason::CONNACK_V3_IDENTIFIER_REJECTED);
    assert!(raw.until_closed().await.is_empty());
    // 3.1.1 MQTT-3.1.3-6 / -7: with CleanSession=1 the server assigns an id and accepts.
    let (_raw, ack) = Raw::connect(addr, connect_packet(V311, "", true, 60)).await;
    assert_eq!(ack.code, 0);
}

#[tokio::test]
async fn empty_client_id_in_v5_gets_a_unique_assigned_identifier_even_without_clean_start() {
    // 5.0 MQTT-3.1.3-6 / -7, MQTT-3.2.2-16: a unique id, returned as Assigned Client Identifier.
    let (addr, _b) = start_broker().await;
    let (_a, ack_a) = Raw::connect(addr, connect_packet(V5, "", false, 60)).await;
    let (_b2, ack_b) = Raw::connect(addr, connect_packet(V5, "", true, 60)).await;
    let id_a = ack_a.properties.assigned_client_identifier.expect("assigned id");
    let id_b = ack_b.properties.assigned_client_identifier.expect("assigned id");
    assert!(!id_a.is_empty() && id_a != id_b, "{id_a} vs {id_b}");
}

#[tokio::test]
async fn session_present_follows_clean_start_and_session_expiry_v5() {
    let (addr, _b) = start_broker().await;
    let mut c = connect_packet(V5, "sp5", false, 60);
    c.properties.session_expiry_interval = Some(300);
    // MQTT-3.1.2-6, MQTT-3.2.2-3: no session yet → Session Present 0.
    let (mut raw, ack) = Raw::connect(addr, c.clone()).await;
    assert!(!ack.session_present);
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    // MQTT-3.1.2-5, MQTT-3.1.2-23, MQTT-3.2.2-3: expiry > 0 kept the session → Session Present 1.
    let (mut raw, ack) = Raw::connect(addr, c.clone()).await;
    assert!(ack.session_present);
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    // MQTT-3.1.2-4, MQTT-3.2.2-2: Clean Start 1 discards it → Session Present 0.
    c.clean_start = true;
    let (mut raw, ack) = Raw::connect(addr, c.clone()).await;
    assert!(!ack.session_present);
    // Session Expiry 0 (absent): the session ends with the connection (5.0 §3.1.2.11.2).
    let mut zero = connect_packet(V5, "sp5", false, 60);
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    let (mut raw, _) = Raw::connect(addr, zero.clone()).await;
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    zero.clean_start = false;
    let (_raw, ack) = Raw::connect(addr, zero).await;
    assert!(!ack.session_present, "expiry 0: nothing kept");
}

#[tokio::test]
async fn session_present_follows_clean_session_v311() {
    // 3.1.1 MQTT-3.2.2-1 (CleanSession=1 → 0), MQTT-3.2.2-2 (CleanSession=0 with stored session → 1).
    let (addr, _b) = start_broker().await;
    let (mut raw, ack) = Raw::connect(addr, connect_packet(V311, "sp4", false, 60)).await;
    assert!(!ack.session_present);
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    let (mut raw, ack) = Raw::connect(addr, connect_packet(V311, "sp4", false, 60)).await;
    assert!(ack.session_present);
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    raw.until_closed().await;
    let (_raw, ack) = Raw::connect(addr, connect_packet(V311, "sp4", true, 60)).await;
    assert!(!ack.session_present);
}

#[tokio::test]
async fn connack_advertises_limits_and_server_keep_alive() {
    let config = BrokerConfig {
        sys_interval: None,
        max_keep_alive_secs: 30,
        receive_maximum: 7,
        topic_alias_maximum: 3,
        max_packet_size: 4096,
        ..BrokerConfig::default()
    };
    let (addr, _b) = start_broker_with(config).await;
    // MQTT-3.2.2-21: keep-alive 0 or above our maximum → Server Keep Alive = our maximum.
    for asked in [0, 31, 600] {
        let (_raw, ack) = Raw::connect(addr, connect_packet(V5, "ka", true, asked)).await;
        assert_eq!(ack.properties.server_keep_alive, Some(30), "asked {asked}");
        assert_eq!(ack.properties.receive_maximum, Some(7));
        assert_eq!(ack.properties.topic_alias_maximum, Some(3));
        assert_eq!(ack.properties.maximum_packet_size, Some(4096));
    }
    // MQTT-3.2.2-22: within the maximum, no Server Keep Alive: the client's value holds.
    let (_raw, ack) = Raw::connect(addr, connect_packet(V5, "ka", true, 20)).await;
    assert_eq!(ack.properties.server_keep_alive, None);
}

#[tokio::test]
async fn rumqttc_v5_sees_server_keep_alive_and_session_present() {
    let config = BrokerConfig { sys_interval: None, max_keep_alive_secs: 15, ..BrokerConfig::default() };
    let (addr, _b) = start_broker_with(config).await;
    for expect_present in [false, true] {
        let mut opts = rumqttc::v5::MqttOptions::new("rq5", addr.ip().to_string(), addr.port());
        opts.set_keep_alive(std::time::Duration::from_secs(100));
        opts.set_clean_start(false);
        opts.set_session_expiry_interval(Some(60));
        let (client, mut el) = rumqttc::v5::AsyncClient::new(opts, 10);
        let P5::ConnAck(ack) = wait_v5(&mut el, "CONNACK", |p| matches!(p, P5::ConnAck(_))).await else { unreachable!() };
        assert_eq!(ack.session_present, expect_present, "MQTT-3.2.2-3");
        assert_eq!(ack.properties.and_then(|p| p.server_keep_alive), Some(15), "MQTT-3.2.2-21");
        client.disconnect().await.expect("disconnect");
        guard("disconnect", async { while el.poll().await.is_ok() {} }).await;
    }
}

#[tokio::test]
async fn unsupported_authentication_method_gets_connack_0x8c() {
    // MQTT-4.12.0-1: an Authentication Method we do not support → CONNACK 0x8C, then close.
    let (addr, _b) = start_broker().await;
    let mut c = connect_packet(V5, "auth", true, 60);
    c.properties.authentication_method = Some("SCRAM-SHA-1".into());
    let (mut raw, ack) = Raw::connect(addr, c).await;
    assert_eq!(ack.code, reason::BAD_AUTHENTICATION_METHOD);
    assert!(raw.until_closed().await.is_empty());
}

#[tokio::test]
async fn auth_packet_without_authentication_method_is_a_protocol_error() {
    // MQTT-4.12.0-7: no Authentication Method in CONNECT → the client must not send AUTH: DISCONNECT 0x82.
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::connected(addr, V5, "auth1").await;
    let props = Properties { authentication_method: Some("x".into()), ..Properties::default() };
    raw.send(&Packet::Auth(Auth { code: reason::RE_AUTHENTICATE, properties: props })).await;
    raw.expect_disconnect(reason::PROTOCOL_ERROR).await;
    // The zero-length short form of AUTH (5.0 §3.15.2.1) is decoded and refused the same way.
    let mut raw = Raw::connected(addr, V5, "auth2").await;
    raw.send_bytes(&[0xF0, 0x00]).await;
    raw.expect_disconnect(reason::PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn auth_packet_type_is_malformed_in_v311() {
    // 3.1.1 §2.2.1: packet type 15 is reserved; the connection is closed (MQTT-4.8.0-1 in 3.1.1: no reply).
    let (addr, _b) = start_broker().await;
    let mut raw = Raw::connected(addr, V311, "auth4").await;
    raw.send_bytes(&[0xF0, 0x00]).await;
    raw.expect_disconnect(0).await;
}

#[tokio::test]
async fn second_connect_is_a_protocol_error() {
    // MQTT-3.1.0-2: a second CONNECT → Protocol Error (5.0 DISCONNECT 0x82), connection closed.
    let (addr, _b) = start_broker().await;
    for version in [V5, V311] {
        let mut raw = Raw::connected(addr, version, "twice").await;
        raw.send(&Packet::Connect(Box::new(connect_packet(version, "twice", true, 60)))).await;
        raw.expect_disconnect(reason::PROTOCOL_ERROR).await;
    }
}

#[tokio::test]
async fn takeover_closes_the_old_connection_with_0x8e() {
    // 5.0 MQTT-3.1.4-3: the existing connection gets DISCONNECT 0x8E and is closed.
    let (addr, _b) = start_broker().await;
    let mut old = Raw::connected(addr, V5, "dup-id").await;
    let _new = Raw::connected(addr, V5, "dup-id").await;
    old.expect_disconnect(reason::SESSION_TAKEN_OVER).await;
    // 3.1.1 MQTT-3.1.4-2: the existing client is disconnected (no DISCONNECT packet in 3.1.1).
    let mut old = Raw::connected(addr, V311, "dup-id4").await;
    let _new = Raw::connected(addr, V311, "dup-id4").await;
    old.expect_disconnect(0).await;
}

#[tokio::test]
async fn will_payload_declared_utf8_but_not_is_refused_with_0x99() {
    // 5.0 §3.1.3.2.3: Payload Format Indicator 1 with a non-UTF-8 Will Payload → CONNACK 0x99.
    let (addr, _b) = start_broker().await;
    let mut c = connect_packet(V5, "badwill", true, 60);
    let properties = Properties { payload_format_indicator: Some(1), ..Properties::default() };
    c.will =
        Some(LastWill { topic: "w".into(), payload: Bytes::from_static(&[0xFF, 0xFE]), qos: QoS::AtMostOnce, retain: false, properties });
    let (_raw, ack) = Raw::connect(addr, c).await;
    assert_eq!(ack.code, reason::PAYLOAD_FORMAT_INVALID);
}

#[tokio::test]
async fn request_response_and_problem_information_are_accepted_and_nothing_extra_is_sent() {
    // MQTT-3.1.2-28: with Request Response Information 0 no Response Information is returned (we never return
    // one, which 5.0 §3.1.2.11.6 allows for 1 too); MQTT-3.1.2-29: with Request Problem Information 0, no
    // Reason String or User Property on other packets (we send none). CONNECT User Properties are accepted.
    let (addr, _b) = start_broker().await;
    for (rri, rpi) in [(0, 0), (1, 1)] {
        let mut c = connect_packet(V5, "info", true, 60);
        c.properties.request_response_information = Some(rri);
        c.properties.request_problem_information = Some(rpi);
        c.properties.user_properties = vec![("app".into(), "test".into())];
        let (mut raw, ack) = Raw::connect(addr, c).await;
        assert_eq!(ack.code, 0);
        assert_eq!(ack.properties.response_information, None);
        let utf8 = Properties { payload_format_indicator: Some(1), ..Properties::default() };
        let bad = mqscope::broker::codec::Publish { properties: utf8, ..crate::raw::publish("i", QoS::AtLeastOnce, 1, &[0xFF]) };
        raw.send(&Packet::Publish(bad)).await;
        match raw.expect("PUBACK").await {
            Packet::PubAck(a) => {
                assert_eq!(a.code, reason::PAYLOAD_FORMAT_INVALID);
                assert!(a.properties.reason_string.is_none() && a.properties.user_properties.is_empty());
            }
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }
}
