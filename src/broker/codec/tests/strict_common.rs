//! Rules shared by 3.1.1 and 5.0: fixed header, Remaining Length, UTF-8 strings, packet size,
//! CONNECT ordering, Packet Identifiers, Topic Names.

use bytes::BytesMut;

use super::super::reason::{self, reason_text};
use super::super::{DecodeError, Packet, ProtocolVersion, decode};
use super::{V3, V5, assert_malformed, assert_protocol_error, cat, dec, dec_err, dec_ok, frame, s};

#[test]
fn mqtt_2_2_2_1_and_2_2_2_2_reserved_fixed_header_flags() {
    // Types whose flags are all reserved as 0 (MQTT-2.2.2-1/2 in 3.1.1, MQTT-2.1.3-1 in 5.0).
    for v in [V3, V5] {
        for (first, body) in [
            (0x21u8, &[0u8, 0][..]),
            (0x42, &[0, 1]),
            (0x51, &[0, 1]),
            (0x74, &[0, 1]),
            (0x98, &[0, 1, 0]),
            (0xB1, &[0, 1]),
            (0xC1, &[]),
            (0xD2, &[]),
            (0xE8, &[]),
        ] {
            assert_malformed(&frame(first, body), v);
        }
        // PUBREL, SUBSCRIBE, UNSUBSCRIBE must be 0b0010.
        assert_malformed(&frame(0x60, &[0, 1]), v);
        assert_malformed(&frame(0x63, &[0, 1]), v);
        assert_malformed(&frame(0x80, &[0, 1, 0, 1, b'a', 0]), v);
        assert_malformed(&frame(0xA0, &[0, 1, 0, 1, b'a']), v);
        assert_malformed(&frame(0xA6, &[0, 1, 0, 1, b'a']), v);
        assert_eq!(dec_ok(&[0x62, 2, 0, 1], v).name(), "PUBREL");
    }
    assert_malformed(&frame(0xF1, &[]), V5);
    // CONNECT with flags, checked before anything else arrives.
    assert_malformed(&[0x12], None);
}

#[test]
fn packet_type_0_is_reserved() {
    assert_malformed(&[0x00, 0x00], V3);
    assert_malformed(&[0x00], V5);
}

#[test]
fn mqtt_3_3_1_4_publish_qos_3_is_malformed() {
    assert_malformed(&frame(0x36, &cat(&[&s("a"), &[0, 1]])), V3);
    assert_malformed(&[0x37], V5);
}

#[test]
fn mqtt_3_3_1_2_dup_must_be_0_for_qos_0() {
    assert_malformed(&frame(0x38, &s("a")), V3);
    assert_malformed(&[0x39], V5);
    // DUP with QoS 1 is fine.
    let Packet::Publish(p) = dec_ok(&frame(0x3A, &cat(&[&s("a"), &[0, 1]])), V3) else { panic!() };
    assert!(p.dup);
}

#[test]
fn remaining_length_at_most_4_bytes_non_minimal_accepted() {
    assert_malformed(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF], V3);
    assert_malformed(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x00], V5);
    assert_eq!(dec(&[0x30, 0xFF, 0xFF, 0xFF], V3), Ok(None));
    // Non-minimal encodings of 0 and of 3.
    assert_eq!(dec_ok(&[0xC0, 0x80, 0x00], V3), Packet::PingReq);
    assert_eq!(dec_ok(&[0xC0, 0x80, 0x80, 0x80, 0x00], V5), Packet::PingReq);
    assert_eq!(dec_ok(&[0x30, 0x83, 0x00, 0x00, 0x01, b'a'], V3).name(), "PUBLISH");
}

#[test]
fn remaining_length_must_match_content_exactly() {
    for v in [V3, V5] {
        // Trailing bytes.
        assert_malformed(&[0xC0, 0x01, 0x00], v);
        assert_malformed(&[0xD0, 0x01, 0x00], v);
        assert_malformed(&frame(0x82, &cat(&[&[0, 1], &s("a"), &[0], &[0]])), v);
        // Content shorter than its fields.
        assert_malformed(&[0x40, 0x01, 0x00], v);
        assert_malformed(&[0x30, 0x03, 0x00, 0x05, b'a'], v);
        assert_malformed(&frame(0x32, &s("a")), v);
        assert_malformed(&frame(0x82, &cat(&[&[0, 1], &s("a")])), v);
    }
    assert_malformed(&[0x40, 0x03, 0x00, 0x01, 0x00], V3);
    assert_malformed(&[0x20, 0x01, 0x00], V3);
    assert_malformed(&[0x20, 0x03, 0x00, 0x00, 0x00], V3);
}

#[test]
fn incomplete_input_returns_none_and_keeps_buffer() {
    let full = frame(0x30, &cat(&[&s("topic"), b"payload"]));
    for cut in 0..full.len() {
        assert_eq!(dec(&full[..cut], V3), Ok(None), "prefix of {cut} bytes");
    }
}

#[test]
fn packet_too_large_reported_from_the_fixed_header() {
    // Header announces 16383 bytes; only the header is buffered.
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0x7F][..]);
    let e = decode(&mut buf, V5, 1000).unwrap_err();
    assert_eq!(e, DecodeError::PacketTooLarge { size: 1 + 2 + 16_383, max: 1000 });
    assert_eq!(e.reason_code(), reason::PACKET_TOO_LARGE);
    // The limit counts the whole packet: exactly at the limit is accepted.
    let packet = frame(0x30, &cat(&[&s("a"), b"xyz"]));
    let limit = u32::try_from(packet.len()).unwrap();
    let mut buf = BytesMut::from(&packet[..]);
    assert!(decode(&mut buf, V3, limit).unwrap().is_some());
    let mut buf = BytesMut::from(&packet[..]);
    assert!(matches!(decode(&mut buf, V3, limit - 1), Err(DecodeError::PacketTooLarge { .. })));
}

#[test]
fn mqtt_3_1_0_1_first_packet_must_be_connect() {
    for first in [0x30u8, 0x20, 0xC0, 0xE0, 0xF0, 0x82] {
        assert_protocol_error(&[first], None);
    }
    assert_protocol_error(&[0xC0, 0x00], None);
}

#[test]
fn mqtt_3_1_0_2_second_connect_is_a_protocol_error() {
    let connect = super::connect3(0x02, &s("c"));
    assert_protocol_error(&connect, V3);
    assert_protocol_error(&[0x10], V5);
}

#[test]
fn mqtt_1_5_4_1_ill_formed_utf8_is_malformed() {
    // Invalid sequence and an encoded surrogate (U+D800) in a Topic Name.
    for bad in [&[0xC3u8, 0x28][..], &[0xED, 0xA0, 0x80], &[0xFF], &[0xE2, 0x82]] {
        let mut body = u16::try_from(bad.len()).unwrap().to_be_bytes().to_vec();
        body.extend_from_slice(bad);
        let e = dec_err(&frame(0x30, &body), V3);
        assert_eq!(e, DecodeError::InvalidUtf8);
        assert_eq!(e.reason_code(), reason::MALFORMED_PACKET);
    }
    // Also in a client identifier and a user name.
    assert_eq!(dec_err(&super::connect3(0x02, &[0, 1, 0xFF]), None), DecodeError::InvalidUtf8);
    assert_eq!(dec_err(&super::connect3(0x82, &cat(&[&s("c"), &[0, 1, 0x80]])), None), DecodeError::InvalidUtf8);
}

#[test]
fn mqtt_1_5_4_2_null_character_is_malformed() {
    assert_eq!(dec_err(&frame(0x30, &s("a\0b")), V3), DecodeError::InvalidUtf8);
    assert_eq!(dec_err(&super::connect3(0x02, &s("c\0")), None), DecodeError::InvalidUtf8);
    // In a Topic Filter and in a User Property (5.0).
    assert_eq!(dec_err(&frame(0x82, &cat(&[&[0, 1], &s("\0"), &[0]])), V3), DecodeError::InvalidUtf8);
    let user_prop = cat(&[&[0x26], &s("k"), &s("\0")]);
    let body = cat(&[&s("t"), &[u8::try_from(user_prop.len()).unwrap()], &user_prop]);
    assert_eq!(dec_err(&frame(0x30, &body), V5), DecodeError::InvalidUtf8);
}

#[test]
fn mqtt_1_5_4_3_bom_is_not_stripped() {
    let Packet::Publish(p) = dec_ok(&frame(0x30, &s("\u{FEFF}a/b")), V3) else { panic!() };
    assert_eq!(p.topic, "\u{FEFF}a/b");
    // Non-characters and control characters other than U+0000 are not rejected.
    let Packet::Publish(p) = dec_ok(&frame(0x30, &cat(&[&s("\u{1}\u{FFFF}"), &[0]])), V5) else { panic!() };
    assert_eq!(p.topic, "\u{1}\u{FFFF}");
}

#[test]
fn mqtt_2_3_1_1_packet_identifier_must_be_non_zero() {
    for v in [V3, V5] {
        assert_protocol_error(&frame(0x32, &cat(&[&s("a"), &[0, 0]])), v);
        assert_protocol_error(&frame(0x34, &cat(&[&s("a"), &[0, 0]])), v);
        for first in [0x40u8, 0x50, 0x62, 0x70, 0xB0] {
            assert_protocol_error(&[first, 2, 0, 0], v);
        }
        assert_protocol_error(&frame(0x82, &cat(&[&[0, 0], &s("a"), &[0]])), v);
        assert_protocol_error(&frame(0xA2, &cat(&[&[0, 0], &s("a")])), v);
        assert_protocol_error(&[0x90, 3, 0, 0, 0], v);
    }
    // QoS 0 PUBLISH has no Packet Identifier at all (MQTT-2.3.1-5 / MQTT-2.2.1-2).
    let Packet::Publish(p) = dec_ok(&frame(0x30, &cat(&[&s("a"), &[0, 0]])), V3) else { panic!() };
    assert_eq!((p.pkid, &p.payload[..]), (0, &[0u8, 0][..]));
}

#[test]
fn mqtt_3_3_2_2_topic_name_must_not_contain_wildcards() {
    for v in [V3, V5] {
        for topic in ["a/+", "#", "a/#", "+"] {
            let body = if v == V5 { cat(&[&s(topic), &[0]]) } else { s(topic) };
            let e = dec_err(&frame(0x30, &body), v);
            assert!(matches!(e, DecodeError::TopicNameInvalid(_)), "{e:?}");
            assert_eq!(e.reason_code(), reason::TOPIC_NAME_INVALID);
        }
    }
}

#[test]
fn mqtt_4_7_3_1_empty_topic_name() {
    // 3.1.1: always invalid. 5.0: a Protocol Error unless a Topic Alias is present.
    assert!(matches!(dec_err(&frame(0x30, &s("")), V3), DecodeError::TopicNameInvalid(_)));
    assert_protocol_error(&frame(0x30, &cat(&[&s(""), &[0]])), V5);
    let Packet::Publish(p) = dec_ok(&frame(0x30, &cat(&[&s(""), &[3, 0x23, 0, 7]])), V5) else { panic!() };
    assert_eq!((p.topic.as_str(), p.properties.topic_alias), ("", Some(7)));
}

#[test]
fn decode_error_reason_codes_and_texts() {
    assert_eq!(DecodeError::UnsupportedProtocolVersion(6).reason_code(), 0x84);
    assert_eq!(DecodeError::ProtocolError("x").reason_code(), 0x82);
    assert_eq!(reason_text(reason::MALFORMED_PACKET), "Malformed Packet");
    assert_eq!(reason_text(reason::SESSION_TAKEN_OVER), "Session taken over");
    assert_eq!(reason_text(0x03), "Unknown reason code");
    assert_eq!(reason::connack_v3_text(reason::CONNACK_V3_UNACCEPTABLE_PROTOCOL), "Unacceptable protocol version");
    assert_eq!(ProtocolVersion::V31.protocol_name(), "MQIsdp");
    assert_eq!(ProtocolVersion::V5.level(), 5);
}
