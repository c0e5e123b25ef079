//! 5.0-only rules: properties (§2.2.2), short forms, subscription options, reason codes, AUTH.

use bytes::Bytes;

use super::super::reason;
use super::super::{Auth, Disconnect, Packet, Properties, ProtocolVersion, PubResp, RetainHandling};
use super::{V5, assert_malformed, assert_protocol_error, cat, connect5, dec_ok, enc, frame, s, varint};

/// A `QoS` 0 PUBLISH to "t" with the given property bytes.
fn publish(props: &[u8]) -> Vec<u8> {
    frame(0x30, &cat(&[&s("t"), &varint(props.len()), props]))
}

/// A successful CONNACK with the given property bytes.
fn connack(props: &[u8]) -> Vec<u8> {
    frame(0x20, &cat(&[&[0, 0], &varint(props.len()), props]))
}

/// A SUBSCRIBE (id 1) with the given property bytes and one filter "a/b" with `options`.
fn subscribe(props: &[u8], options: u8) -> Vec<u8> {
    frame(0x82, &cat(&[&[0, 1], &varint(props.len()), props, &s("a/b"), &[options]]))
}

#[test]
fn property_not_valid_for_the_packet_type_is_malformed() {
    // 5.0 §2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its
    // packet type ... is a Malformed Packet."
    assert_malformed(&connect5(0x02, &[0x23, 0, 1], &s("c")), None); // Topic Alias in CONNECT
    assert_malformed(&connect5(0x02, &[0x24, 1], &s("c")), None); // Maximum QoS in CONNECT
    assert_malformed(&publish(&[0x11, 0, 0, 0, 1]), V5); // Session Expiry in PUBLISH
    assert_malformed(&publish(&[0x18, 0, 0, 0, 1]), V5); // Will Delay in PUBLISH
    assert_malformed(&connack(&[0x17, 1]), V5); // Request Problem Information in CONNACK
    let reason_string = cat(&[&[0x1F], &s("x")]);
    let unsub = frame(0xA2, &cat(&[&[0, 1], &varint(reason_string.len()), &reason_string, &s("a")]));
    assert_malformed(&unsub, V5); // UNSUBSCRIBE carries only User Property
    assert_malformed(&subscribe(&[0x02, 0, 0, 0, 1], 0), V5); // Message Expiry in SUBSCRIBE
    // Will Properties are their own set: Will Delay yes, Session Expiry no.
    let will = |props: &[u8]| cat(&[&s("c"), &varint(props.len()), props, &s("w"), &s("m")]);
    assert!(matches!(dec_ok(&connect5(0x06, &[], &will(&[0x18, 0, 0, 0, 5])), None), Packet::Connect(_)));
    assert_malformed(&connect5(0x06, &[], &will(&[0x11, 0, 0, 0, 5])), None);
    // Unknown identifiers, including multi-byte ones.
    assert_malformed(&publish(&[0x7F, 0]), V5);
    assert_malformed(&publish(&[0x80, 0x01, 0]), V5);
}

#[test]
fn duplicate_property_is_a_protocol_error() {
    assert_protocol_error(&publish(&[0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2]), V5);
    assert_protocol_error(&publish(&[0x01, 0, 0x01, 1]), V5);
    assert_protocol_error(&connect5(0x02, &[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1], &s("c")), None);
    assert_protocol_error(&connack(&[0x25, 1, 0x25, 1]), V5);
    // SUBSCRIBE: at most one Subscription Identifier (5.0 §3.8.2.1.2).
    assert_protocol_error(&subscribe(&[0x0B, 1, 0x0B, 2], 0), V5);
    // User Property repeats freely; PUBLISH may carry several Subscription Identifiers.
    let up = cat(&[&[0x26], &s("k"), &s("1"), &[0x26], &s("k"), &s("2"), &[0x0B, 5, 0x0B, 0x80, 0x01]]);
    let Packet::Publish(p) = dec_ok(&publish(&up), V5) else { panic!() };
    assert_eq!(p.properties.user_properties, vec![("k".into(), "1".into()), ("k".into(), "2".into())]);
    assert_eq!(p.properties.subscription_identifiers, vec![5, 128]);
}

#[test]
fn property_values_out_of_range_are_protocol_errors() {
    assert_protocol_error(&publish(&[0x0B, 0]), V5); // Subscription Identifier 0
    assert_protocol_error(&subscribe(&[0x0B, 0], 0), V5);
    assert_protocol_error(&publish(&[0x23, 0, 0]), V5); // Topic Alias 0 (MQTT-3.3.2-8)
    assert_protocol_error(&publish(&[0x01, 2]), V5); // Payload Format Indicator 2
    assert_protocol_error(&connect5(0x02, &[0x21, 0, 0], &s("c")), None); // Receive Maximum 0
    assert_protocol_error(&connack(&[0x21, 0, 0]), V5);
    assert_protocol_error(&connect5(0x02, &[0x27, 0, 0, 0, 0], &s("c")), None); // Max Packet Size 0
    assert_protocol_error(&connect5(0x02, &[0x17, 2], &s("c")), None); // Request Problem Info 2
    assert_protocol_error(&connect5(0x02, &[0x19, 2], &s("c")), None); // Request Response Info 2
    assert_protocol_error(&connack(&[0x24, 2]), V5); // Maximum QoS 2
    assert_protocol_error(&connack(&[0x28, 2]), V5);
    // 5.0 §3.1.2.11.10: Authentication Data without Authentication Method.
    assert_protocol_error(&connect5(0x02, &cat(&[&[0x16], &s("d")]), &s("c")), None);
}

#[test]
fn property_length_must_fit_the_packet() {
    assert_malformed(&frame(0x30, &cat(&[&s("t"), &[5, 0x02, 0, 0]])), V5);
    // Value cut by the end of the property block, even though the packet continues.
    assert_malformed(&frame(0x30, &cat(&[&s("t"), &[3, 0x02, 0, 0, 0, 1]])), V5);
    assert_malformed(&frame(0x30, &cat(&[&s("t"), &[0xFF, 0xFF, 0xFF, 0xFF]])), V5);
}

#[test]
fn mqtt_3_8_3_5_subscribe_options_v5() {
    // Bits 6-7 reserved: malformed (MQTT-3.8.3-5).
    assert_malformed(&subscribe(&[], 0x40), V5);
    assert_malformed(&subscribe(&[], 0x80), V5);
    // Maximum QoS 3 and Retain Handling 3 are Protocol Errors (5.0 §3.8.3.1).
    assert_protocol_error(&subscribe(&[], 0x03), V5);
    assert_protocol_error(&subscribe(&[], 0x30), V5);
    let Packet::Subscribe(sub) = dec_ok(&subscribe(&[0x0B, 7], 0x2D), V5) else { panic!() };
    let o = sub.filters[0].1;
    assert_eq!(sub.properties.subscription_identifiers, vec![7]);
    assert!(o.no_local && o.retain_as_published);
    assert_eq!((o.qos as u8, o.retain_handling), (1, RetainHandling::DoNotSend));
}

#[test]
fn mqtt_3_8_3_4_no_local_on_shared_subscription_v5() {
    let bytes = frame(0x82, &cat(&[&[0, 1, 0], &s("$share/g/a"), &[0x04]]));
    assert_protocol_error(&bytes, V5);
}

#[test]
fn mqtt_3_8_3_3_and_3_10_3_2_need_a_filter_v5() {
    assert_protocol_error(&[0x82, 3, 0, 1, 0], V5);
    assert_protocol_error(&[0xA2, 3, 0, 1, 0], V5);
}

#[test]
fn pubresp_short_forms_decode() {
    // 5.0 §3.4.2.1: Remaining Length 2 means Success and no properties; 3 means no properties.
    for first in [0x40u8, 0x50, 0x62, 0x70] {
        let p = dec_ok(&[first, 2, 0, 9], V5);
        let (Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r) | Packet::PubComp(r)) = p else { panic!() };
        assert_eq!(r, PubResp { pkid: 9, ..PubResp::default() });
    }
    let Packet::PubAck(r) = dec_ok(&[0x40, 3, 0, 9, 0x10], V5) else { panic!() };
    assert_eq!((r.code, r.properties), (reason::NO_MATCHING_SUBSCRIBERS, Properties::default()));
    let Packet::PubRel(r) = dec_ok(&[0x62, 4, 0, 9, 0x92, 0], V5) else { panic!() };
    assert_eq!(r.code, reason::PACKET_IDENTIFIER_NOT_FOUND);
}

#[test]
fn reason_codes_must_belong_to_the_packet_type() {
    assert_protocol_error(&[0x40, 3, 0, 1, 0x92], V5); // PUBACK: not 0x92
    assert_protocol_error(&[0x62, 3, 0, 1, 0x10], V5); // PUBREL: only 0x00, 0x92
    assert_protocol_error(&[0x90, 4, 0, 1, 0, 0x03], V5); // SUBACK
    assert_protocol_error(&[0xB0, 4, 0, 1, 0, 0x01], V5); // UNSUBACK
    assert_protocol_error(&[0xE0, 1, 0x01], V5); // DISCONNECT
    assert_protocol_error(&[0xF0, 2, 0x01, 0], V5); // AUTH
    assert_protocol_error(&[0x20, 3, 0, 0x01, 0], V5); // CONNACK (MQTT-3.2.2-8)
    // MQTT-3.2.2-6: Session Present must be 0 with a non-zero reason code.
    assert_protocol_error(&[0x20, 3, 1, 0x80, 0], V5);
    assert_malformed(&[0x20, 3, 0x80, 0, 0], V5); // MQTT-3.2.2-1 reserved bits
    assert_protocol_error(&[0xB0, 3, 0, 1, 0], V5); // UNSUBACK needs reason codes
}

#[test]
fn disconnect_short_forms() {
    // 5.0 §3.14.2.1: Remaining Length 0 is Normal disconnection; 1 is a code without properties.
    assert_eq!(dec_ok(&[0xE0, 0], V5), Packet::Disconnect(Disconnect::default()));
    let Packet::Disconnect(d) = dec_ok(&[0xE0, 1, 0x04], V5) else { panic!() };
    assert_eq!(d.code, reason::DISCONNECT_WITH_WILL_MESSAGE);
    let Packet::Disconnect(d) = dec_ok(&[0xE0, 7, 0x8E, 5, 0x11, 0, 0, 0, 9], V5) else { panic!() };
    assert_eq!((d.code, d.properties.session_expiry_interval), (0x8E, Some(9)));
}

#[test]
fn auth_forms() {
    // 5.0 §3.15.2.1: Remaining Length 0 means Success without properties.
    assert_eq!(dec_ok(&[0xF0, 0], V5), Packet::Auth(Auth::default()));
    // There is no code-only form, and the long form needs an Authentication Method.
    assert_malformed(&[0xF0, 1, 0x18], V5);
    assert_protocol_error(&[0xF0, 2, 0x18, 0], V5);
    let method = cat(&[&[0x15], &s("SCRAM"), &[0x16], &s("x")]);
    let bytes = frame(0xF0, &cat(&[&[0x18], &varint(method.len()), &method]));
    let Packet::Auth(a) = dec_ok(&bytes, V5) else { panic!() };
    assert_eq!(a.properties.authentication_method.as_deref(), Some("SCRAM"));
    assert_eq!(a.properties.authentication_data, Some(Bytes::from_static(b"x")));
    assert_eq!(enc(&Packet::Auth(a), ProtocolVersion::V5), bytes);
}

#[test]
fn encode_uses_short_forms_and_drops_foreign_properties() {
    let v = ProtocolVersion::V5;
    let ack = |code, properties| PubResp { pkid: 1, code, properties };
    assert_eq!(enc(&Packet::PubAck(ack(0, Properties::default())), v), [0x40, 2, 0, 1]);
    assert_eq!(enc(&Packet::PubRel(ack(0, Properties::default())), v), [0x62, 2, 0, 1]);
    assert_eq!(enc(&Packet::PubRec(ack(0x10, Properties::default())), v), [0x50, 3, 0, 1, 0x10]);
    // A property PUBACK cannot carry (Topic Alias) is dropped, so the short form is used.
    let foreign = Properties { topic_alias: Some(3), ..Properties::default() };
    assert_eq!(enc(&Packet::PubComp(ack(0, foreign)), v), [0x70, 2, 0, 1]);
    let why = Properties { reason_string: Some("n".into()), ..Properties::default() };
    assert_eq!(enc(&Packet::PubAck(ack(0, why.clone())), v), [0x40, 8, 0, 1, 0, 4, 0x1F, 0, 1, b'n']);
    let d = |code, properties| Packet::Disconnect(Disconnect { code, properties });
    assert_eq!(enc(&d(0, Properties::default()), v), [0xE0, 0]);
    // The reason code alone is allowed (5.0 §3.14.2.2.1); the empty property length goes with it
    // so that clients which insist on it (rumqttc 0.25) read the reason too.
    assert_eq!(enc(&d(0x04, Properties::default()), v), [0xE0, 2, 0x04, 0]);
    assert_eq!(enc(&d(0, why), v), [0xE0, 6, 0, 4, 0x1F, 0, 1, b'n']);
    assert_eq!(enc(&Packet::Auth(Auth::default()), v), [0xF0, 0]);
    // SUBSCRIBE writes at most one Subscription Identifier.
    let sub = super::super::Subscribe {
        pkid: 1,
        filters: vec![("a".into(), super::super::SubscriptionOptions::default())],
        properties: Properties { subscription_identifiers: vec![3, 4], ..Properties::default() },
    };
    assert_eq!(enc(&Packet::Subscribe(sub), v), frame(0x82, &cat(&[&[0, 1, 2, 0x0B, 3], &s("a"), &[0]])));
}
