//! CONNECT rules (both versions) and 3.1.1-only rules: SUBSCRIBE options, SUBACK return codes,
//! packets without 5.0 extensions, and what 3.1.1 encoding drops.

use bytes::Bytes;

use super::super::reason;
use super::super::{
    Auth, ConnAck, Connect, DecodeError, Disconnect, Packet, Properties, ProtocolVersion, PubResp, QoS, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, UnsubAck,
};
use super::{V3, assert_malformed, assert_protocol_error, cat, connect3, connect5, dec_err, dec_ok, enc, frame, s};

fn unsupported(bytes: &[u8]) -> u8 {
    match dec_err(bytes, None) {
        DecodeError::UnsupportedProtocolVersion(level) => level,
        e => panic!("expected UnsupportedProtocolVersion, got {e:?}"),
    }
}

#[test]
fn mqtt_3_1_2_1_and_3_1_2_2_protocol_name_and_level() {
    let tail = [0x02, 0, 60, 0, 1, b'c'];
    let with = |name: &str, level: u8| frame(0x10, &cat(&[&s(name), &[level], &tail]));
    assert_eq!(unsupported(&with("MQTX", 4)), 4);
    assert_eq!(unsupported(&with("mqtt", 4)), 4);
    assert_eq!(unsupported(&with("MQIsdp", 4)), 4);
    assert_eq!(unsupported(&with("MQTT", 3)), 3);
    assert_eq!(unsupported(&with("MQTT", 6)), 6);
    assert_eq!(unsupported(&with("MQTT", 0)), 0);
    assert_eq!(DecodeError::UnsupportedProtocolVersion(6).reason_code(), reason::UNSUPPORTED_PROTOCOL_VERSION);
    // MQTT 3.1 ("MQIsdp", level 3) is accepted and treated like 3.1.1.
    let Packet::Connect(c) = dec_ok(&with("MQIsdp", 3), None) else { panic!() };
    assert_eq!((c.protocol, c.client_id.as_str()), (ProtocolVersion::V31, "c"));
    assert_eq!(enc(&Packet::Connect(c), ProtocolVersion::V31), with("MQIsdp", 3));
}

#[test]
fn mqtt_3_1_2_3_connect_reserved_flag_must_be_zero() {
    assert_malformed(&connect3(0x03, &s("c")), None);
    assert_malformed(&connect5(0x03, &[], &s("c")), None);
}

#[test]
fn mqtt_3_1_2_11_13_15_will_qos_and_retain_require_will_flag() {
    // 3.1.1: MQTT-3.1.2-11/13 (Will QoS) and MQTT-3.1.2-15 (Will Retain); 5.0: MQTT-3.1.2-11/13.
    for flags in [0x0A, 0x12, 0x22, 0x3A] {
        assert_malformed(&connect3(flags, &s("c")), None);
        assert_malformed(&connect5(flags, &[], &s("c")), None);
    }
}

#[test]
fn mqtt_3_1_2_14_will_qos_3_is_malformed() {
    // 3.1.1: MQTT-3.1.2-14; 5.0: MQTT-3.1.2-12.
    let will = cat(&[&s("c"), &s("w"), &s("m")]);
    assert_malformed(&connect3(0x1E, &will), None);
    assert_malformed(&connect5(0x1E, &[], &cat(&[&s("c"), &[0], &s("w"), &s("m")])), None);
    // Will QoS 2 + retain is fine.
    let Packet::Connect(c) = dec_ok(&connect3(0x36, &will), None) else { panic!() };
    let w = c.will.unwrap();
    assert_eq!((w.qos, w.retain, w.topic.as_str(), &w.payload[..]), (QoS::ExactlyOnce, true, "w", &b"m"[..]));
}

#[test]
fn will_topic_must_be_a_valid_topic_name() {
    let e = dec_err(&connect3(0x06, &cat(&[&s("c"), &s("w/#"), &s("m")])), None);
    assert!(matches!(e, DecodeError::TopicNameInvalid(_)));
    let e = dec_err(&connect3(0x06, &cat(&[&s("c"), &s(""), &s("m")])), None);
    assert!(matches!(e, DecodeError::TopicNameInvalid(_)));
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name() {
    // A Protocol Error in 3.1.1 ...
    assert_protocol_error(&connect3(0x42, &cat(&[&s("c"), &s("pw")])), None);
    // ... but allowed in 5.0 (§3.1.2.9).
    let Packet::Connect(c) = dec_ok(&connect5(0x42, &[], &cat(&[&s("c"), &s("pw")])), None) else { panic!() };
    assert_eq!((&c.username, &c.password), (&None, &Some(Bytes::from_static(b"pw"))));
    // 3.1.1 encoding drops a password it cannot carry.
    let bytes = enc(&Packet::Connect(c), ProtocolVersion::V311);
    assert_eq!(bytes, connect3(0x02, &s("c")));
}

#[test]
fn connect_fields_announced_by_flags_must_be_present() {
    // MQTT-3.1.3-1: payload fields in order, present iff their flag is set.
    assert_malformed(&connect3(0x82, &s("c")), None);
    assert_malformed(&connect3(0xC2, &cat(&[&s("c"), &s("u")])), None);
    assert_malformed(&connect3(0x06, &cat(&[&s("c"), &s("w")])), None);
    assert_malformed(&connect3(0x02, &cat(&[&s("c"), &s("extra")])), None);
    let Packet::Connect(c) = dec_ok(&connect3(0xC0, &cat(&[&s(""), &s("u"), &s("p")])), None) else { panic!() };
    assert_eq!((c.clean_start, c.client_id.as_str(), c.username.as_deref()), (false, "", Some("u")));
}

#[test]
fn mqtt_3_8_3_4_v311_subscribe_options_reserved_bits_and_qos_3() {
    // 3.1.1 [MQTT-3-8.3-4]: bits 2-7 reserved, QoS 3 malformed.
    for opt in [0x03u8, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x2D] {
        assert_malformed(&frame(0x82, &cat(&[&[0, 1], &s("a/b"), &[opt]])), V3);
    }
}

#[test]
fn mqtt_3_8_3_3_subscribe_needs_a_filter_v311() {
    assert_protocol_error(&[0x82, 2, 0, 1], V3);
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_needs_a_filter_v311() {
    assert_protocol_error(&[0xA2, 2, 0, 1], V3);
    let Packet::Unsubscribe(u) = dec_ok(&frame(0xA2, &cat(&[&[0, 9], &s("a"), &s("b/#")])), V3) else { panic!() };
    assert_eq!((u.pkid, u.filters), (9, vec!["a".to_owned(), "b/#".to_owned()]));
}

#[test]
fn mqtt_3_9_3_2_suback_return_codes_v311() {
    for code in [3u8, 0x10, 0x81, 0x87, 0xFF] {
        assert_malformed(&[0x90, 3, 0, 1, code], V3);
    }
    assert_protocol_error(&[0x90, 2, 0, 1], V3);
}

#[test]
fn mqtt_3_2_2_connack_v311() {
    // MQTT-3.2.2-1: reserved bits of the acknowledge flags; return codes 6-255 reserved;
    // MQTT-3.2.2-4: Session Present must be 0 with a non-zero return code.
    assert_malformed(&[0x20, 2, 0x02, 0], V3);
    assert_malformed(&[0x20, 2, 0x00, 6], V3);
    assert_protocol_error(&[0x20, 2, 0x01, 5], V3);
    let Packet::ConnAck(c) = dec_ok(&[0x20, 2, 0x01, 0], V3) else { panic!() };
    assert!(c.session_present);
}

#[test]
fn v311_packets_have_no_5_0_extensions() {
    // Remaining Length is exactly 2 for the acks and UNSUBACK, 0 for DISCONNECT (§3.14).
    for first in [0x40u8, 0x50, 0x62, 0x70, 0xB0] {
        assert_malformed(&[first, 3, 0, 1, 0], V3);
        assert_malformed(&[first, 4, 0, 1, 0, 0], V3);
    }
    assert_malformed(&[0xE0, 1, 0], V3);
    // AUTH (type 15) does not exist in 3.1.1 (reserved).
    assert_malformed(&[0xF0, 0], V3);
    assert_malformed(&[0xF0, 0], Some(ProtocolVersion::V31));
    // A 5.0-looking PUBLISH property length is just payload in 3.1.1.
    let Packet::Publish(p) = dec_ok(&frame(0x30, &cat(&[&s("a"), &[0]])), V3) else { panic!() };
    assert_eq!(&p.payload[..], &[0]);
}

#[test]
fn v311_encoding_drops_what_it_cannot_carry() {
    let v = ProtocolVersion::V311;
    let props = Properties { reason_string: Some("why".into()), ..Properties::default() };
    let ack = PubResp { pkid: 5, code: reason::NO_MATCHING_SUBSCRIBERS, properties: props.clone() };
    assert_eq!(enc(&Packet::PubAck(ack), v), [0x40, 2, 0, 5]);
    let d = Disconnect { code: reason::DISCONNECT_WITH_WILL_MESSAGE, properties: props.clone() };
    assert_eq!(enc(&Packet::Disconnect(d), v), [0xE0, 0]);
    let unsuback = UnsubAck { pkid: 5, codes: vec![0x11], properties: props.clone() };
    assert_eq!(enc(&Packet::UnsubAck(unsuback), v), [0xB0, 2, 0, 5]);
    let suback = SubAck { pkid: 5, codes: vec![1, reason::NOT_AUTHORIZED], properties: props.clone() };
    assert_eq!(enc(&Packet::SubAck(suback), v), [0x90, 4, 0, 5, 1, 0x80]);
    let connack = ConnAck { session_present: false, code: reason::BAD_USER_NAME_OR_PASSWORD, properties: props.clone() };
    assert_eq!(enc(&Packet::ConnAck(connack), v), [0x20, 2, 0, reason::CONNACK_V3_BAD_USER_NAME_OR_PASSWORD]);
    assert!(enc(&Packet::Auth(Auth { code: 0x18, properties: props }), v).is_empty());
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let sub = Subscribe { pkid: 1, filters: vec![("a".into(), options)], properties: Properties::default() };
    assert_eq!(enc(&Packet::Subscribe(sub), v), frame(0x82, &cat(&[&[0, 1], &s("a"), &[1]])));
    let c = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 60,
        client_id: "c".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties { session_expiry_interval: Some(9), ..Properties::default() },
    };
    assert_eq!(enc(&Packet::Connect(Box::new(c)), v), connect3(0x02, &s("c")));
}
