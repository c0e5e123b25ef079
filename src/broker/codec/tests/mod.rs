//! Codec tests: helpers, known-good byte vectors and stream framing. The per-rule tests live in
//! `strict_v3`/`strict_v5` (each named after the normative statement it checks) and the
//! property-based round trips in `roundtrip`.

mod roundtrip;
mod strategies;
mod strict_common;
mod strict_v3;
mod strict_v5;

use bytes::{Bytes, BytesMut};

use super::{
    ConnAck, Connect, DecodeError, LastWill, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS, SubAck, Subscribe,
    SubscriptionOptions, decode, encode, encoded_len,
};

pub(super) const V3: Option<ProtocolVersion> = Some(ProtocolVersion::V311);
pub(super) const V5: Option<ProtocolVersion> = Some(ProtocolVersion::V5);

/// Decodes `bytes` without size limit; a decoded packet must consume the whole buffer.
pub(super) fn dec(bytes: &[u8], v: Option<ProtocolVersion>) -> Result<Option<Packet>, DecodeError> {
    let mut buf = BytesMut::from(bytes);
    let result = decode(&mut buf, v, u32::MAX);
    match &result {
        Ok(Some(_)) => assert!(buf.is_empty(), "packet must consume exactly its bytes"),
        Ok(None) | Err(_) => assert_eq!(&buf[..], bytes, "buffer must be left untouched"),
    }
    result
}

pub(super) fn dec_ok(bytes: &[u8], v: Option<ProtocolVersion>) -> Packet {
    dec(bytes, v).expect("valid packet").expect("complete packet")
}

pub(super) fn dec_err(bytes: &[u8], v: Option<ProtocolVersion>) -> DecodeError {
    dec(bytes, v).expect_err("packet must be rejected")
}

pub(super) fn assert_malformed(bytes: &[u8], v: Option<ProtocolVersion>) {
    let e = dec_err(bytes, v);
    assert!(matches!(e, DecodeError::MalformedPacket(_)), "expected Malformed Packet, got {e:?}");
    assert_eq!(e.reason_code(), 0x81);
}

pub(super) fn assert_protocol_error(bytes: &[u8], v: Option<ProtocolVersion>) {
    let e = dec_err(bytes, v);
    assert!(matches!(e, DecodeError::ProtocolError(_)), "expected Protocol Error, got {e:?}");
    assert_eq!(e.reason_code(), 0x82);
}

pub(super) fn enc(p: &Packet, v: ProtocolVersion) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(p, v, &mut out);
    assert_eq!(out.len(), encoded_len(p, v), "encoded_len must match encode");
    out.to_vec()
}

/// Variable Byte Integer encoding (minimal).
pub(super) fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = u8::try_from(n % 128).unwrap();
        n /= 128;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A packet: first byte, minimal Remaining Length, body.
pub(super) fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(varint(body.len()));
    out.extend_from_slice(body);
    out
}

/// Length-prefixed UTF-8 string / binary data.
pub(super) fn s(x: &str) -> Vec<u8> {
    let mut out = u16::try_from(x.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(x.as_bytes());
    out
}

pub(super) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A 3.1.1 CONNECT with the given Connect Flags and payload (keep alive 60).
pub(super) fn connect3(flags: u8, payload: &[u8]) -> Vec<u8> {
    frame(0x10, &cat(&[&s("MQTT"), &[4, flags, 0, 60], payload]))
}

/// A 5.0 CONNECT with the given Connect Flags, CONNECT properties and payload (keep alive 60).
pub(super) fn connect5(flags: u8, props: &[u8], payload: &[u8]) -> Vec<u8> {
    frame(0x10, &cat(&[&s("MQTT"), &[5, flags, 0, 60], &varint(props.len()), props, payload]))
}

/// Asserts that `bytes` decodes to `expected` and that `expected` encodes back to `bytes`.
fn assert_vector(bytes: &[u8], v: ProtocolVersion, expected: &Packet) {
    let version = if matches!(expected, Packet::Connect(_)) { None } else { Some(v) };
    assert_eq!(&dec_ok(bytes, version), expected);
    assert_eq!(enc(expected, v), bytes);
}

#[test]
fn vector_mosquitto_pub_v311_connect_publish_disconnect() {
    // `mosquitto_pub -V mqttv311 -i mosq-pub -t test -m hello`: CONNECT, PUBLISH, DISCONNECT.
    let connect = [
        0x10, 0x14, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x08, b'm', b'o', b's', b'q', b'-', b'p', b'u', b'b',
    ];
    let expected = Packet::Connect(Box::new(Connect {
        protocol: ProtocolVersion::V311,
        clean_start: true,
        keep_alive: 60,
        client_id: "mosq-pub".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }));
    assert_vector(&connect, ProtocolVersion::V311, &expected);
    let publish = [0x30, 0x0B, 0x00, 0x04, b't', b'e', b's', b't', b'h', b'e', b'l', b'l', b'o'];
    let expected = Packet::Publish(Publish { topic: "test".into(), payload: Bytes::from_static(b"hello"), ..Publish::default() });
    assert_vector(&publish, ProtocolVersion::V311, &expected);
    assert_vector(&[0xE0, 0x00], ProtocolVersion::V311, &Packet::Disconnect(super::Disconnect::default()));
    assert_vector(&[0xC0, 0x00], ProtocolVersion::V311, &Packet::PingReq);
    assert_vector(&[0xD0, 0x00], ProtocolVersion::V311, &Packet::PingResp);
    assert_vector(&[0x20, 0x02, 0x00, 0x00], ProtocolVersion::V311, &Packet::ConnAck(ConnAck::default()));
}

#[test]
fn vector_v5_connect_spec_example_with_will_properties() {
    // Variable header from the 5.0 spec's CONNECT example (§3.1.2.12): level 5, flags 0xCE
    // (user name, password, Will QoS 1, Will Flag, Clean Start), keep alive 10, Session Expiry
    // Interval 10; then client id "c1", Will Properties (Payload Format Indicator 1, Will Delay
    // Interval 10), Will Topic "w/t", Will Payload "bye", user name "u", password "pw".
    let bytes = [
        0x10, 0x2D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xCE, 0x00, 0x0A, 0x05, 0x11, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x02, b'c', b'1',
        0x07, 0x01, 0x01, 0x18, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x03, b'w', b'/', b't', 0x00, 0x03, b'b', b'y', b'e', 0x00, 0x01, b'u', 0x00,
        0x02, b'p', b'w',
    ];
    let expected = Packet::Connect(Box::new(Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 10,
        client_id: "c1".into(),
        will: Some(LastWill {
            topic: "w/t".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties { payload_format_indicator: Some(1), will_delay_interval: Some(10), ..Properties::default() },
        }),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"pw")),
        properties: Properties { session_expiry_interval: Some(10), ..Properties::default() },
    }));
    assert_vector(&bytes, ProtocolVersion::V5, &expected);
}

#[test]
fn vector_v5_connect_and_connack_with_properties() {
    // Hand-encoded 5.0 CONNECT: Receive Maximum 20, Topic Alias Maximum 10, User Property
    // ("k","v"), Maximum Packet Size 1024; client id "id", clean start, keep alive 60.
    let props = [0x21, 0x00, 0x14, 0x22, 0x00, 0x0A, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', 0x27, 0x00, 0x00, 0x04, 0x00];
    let bytes = connect5(0x02, &props, &s("id"));
    let Packet::Connect(c) = dec_ok(&bytes, None) else { panic!("not CONNECT") };
    assert_eq!(c.properties.receive_maximum, Some(20));
    assert_eq!(c.properties.topic_alias_maximum, Some(10));
    assert_eq!(c.properties.user_properties, vec![("k".to_owned(), "v".to_owned())]);
    assert_eq!(c.properties.maximum_packet_size, Some(1024));
    assert_eq!(enc(&Packet::Connect(c), ProtocolVersion::V5), bytes);
    // CONNACK as rumqttc and mosquitto expect it: no session, Success, empty properties.
    assert_vector(&[0x20, 0x03, 0x00, 0x00, 0x00], ProtocolVersion::V5, &Packet::ConnAck(ConnAck::default()));
}

#[test]
fn vector_v311_spec_subscribe_and_suback_examples() {
    // 3.1.1 §3.8.3 / §3.9.3 examples: Packet Identifier 10, "a/b" QoS 1, "c/d" QoS 2.
    let sub = [0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, b'a', b'/', b'b', 0x01, 0x00, 0x03, b'c', b'/', b'd', 0x02];
    let opts = |qos| SubscriptionOptions { qos, ..SubscriptionOptions::default() };
    let expected = Packet::Subscribe(Subscribe {
        pkid: 10,
        filters: vec![("a/b".into(), opts(QoS::AtLeastOnce)), ("c/d".into(), opts(QoS::ExactlyOnce))],
        properties: Properties::default(),
    });
    assert_vector(&sub, ProtocolVersion::V311, &expected);
    let suback = [0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80];
    let expected = Packet::SubAck(SubAck { pkid: 10, codes: vec![0, 2, 0x80], properties: Properties::default() });
    assert_vector(&suback, ProtocolVersion::V311, &expected);
    // 3.1.1 §3.3.2.3 example: Topic Name "a/b", Packet Identifier 10.
    let publish = [0x32, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A];
    let expected = Packet::Publish(Publish { qos: QoS::AtLeastOnce, topic: "a/b".into(), pkid: 10, ..Publish::default() });
    assert_vector(&publish, ProtocolVersion::V311, &expected);
    let puback = Packet::PubAck(PubResp { pkid: 10, ..PubResp::default() });
    assert_vector(&[0x40, 0x02, 0x00, 0x0A], ProtocolVersion::V311, &puback);
    assert_vector(&[0x40, 0x02, 0x00, 0x0A], ProtocolVersion::V5, &puback);
}

#[test]
fn stream_of_500_publishes_decodes_in_order() {
    let mut buf = BytesMut::new();
    for i in 0..500u16 {
        let p = Packet::Publish(Publish {
            qos: if i % 2 == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce },
            topic: format!("t/{i}"),
            pkid: if i % 2 == 0 { 0 } else { i },
            payload: Bytes::from(i.to_be_bytes().to_vec()),
            ..Publish::default()
        });
        encode(&p, ProtocolVersion::V5, &mut buf);
    }
    for i in 0..500u16 {
        let Some(Packet::Publish(p)) = decode(&mut buf, V5, u32::MAX).unwrap() else {
            panic!("packet {i} missing");
        };
        assert_eq!(p.topic, format!("t/{i}"));
        assert_eq!(&p.payload[..], &i.to_be_bytes());
    }
    assert!(buf.is_empty());
    assert_eq!(decode(&mut buf, V5, u32::MAX), Ok(None));
}

#[test]
fn payload_and_correlation_data_are_zero_copy_slices() {
    let body = cat(&[&s("t"), &[0x00, 0x01], &[0x06, 0x09], &s("cor"), b"payload"]);
    let mut buf = BytesMut::from(&frame(0x32, &body)[..]);
    let range = buf.as_ptr_range();
    let Some(Packet::Publish(p)) = decode(&mut buf, V5, u32::MAX).unwrap() else { panic!() };
    assert!(range.contains(&p.payload.as_ptr()), "payload must point into the read buffer");
    let cor = p.properties.correlation_data.unwrap();
    assert_eq!(&cor[..], b"cor");
    assert!(range.contains(&cor.as_ptr()), "correlation data must point into the read buffer");
}
