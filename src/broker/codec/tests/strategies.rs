//! `proptest` strategies generating valid packets of a given version: only what that version can
//! carry, with properties restricted to the packet type.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::{BoxedStrategy, Union};

use super::super::properties::{Ctx, allowed};
use super::super::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS, RetainHandling, SubAck,
    Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe,
};

// Reason codes per packet type, transcribed from the 5.0 tables (independent of `reason.rs`).
const CONNACK: &[u8] =
    &[0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F];
const PUBACK: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL: &[u8] = &[0x00, 0x92];
const SUBACK: &[u8] = &[0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B,
    0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,8}"
}

fn topic() -> impl Strategy<Value = String> {
    "[a-z0-9/ _é€😀\u{FEFF}-]{1,12}"
}

fn filter() -> impl Strategy<Value = String> {
    "[a-z0-9/+#$é]{1,12}".prop_filter("no $share", |f| !f.starts_with("$share/"))
}

fn bin() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..12).prop_map(Bytes::from)
}

fn qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn code(codes: &'static [u8], v5: bool) -> BoxedStrategy<u8> {
    if v5 { select(codes).boxed() } else { Just(0).boxed() }
}

fn any_props() -> impl Strategy<Value = Properties> {
    let flag = || option::of(0u8..=1);
    let a = (flag(), option::of(any::<u32>()), option::of(text()), option::of(text()))
        .prop_flat_map(move |a| (Just(a), option::of(bin()), vec(1u32..=268_435_455, 0..3)));
    let b = (option::of(any::<u32>()), option::of(text()), option::of(any::<u16>()), option::of(text()))
        .prop_flat_map(move |b| (Just(b), option::of(bin()), flag(), option::of(any::<u32>()), flag()));
    let c = (option::of(text()), option::of(text()), option::of(text()), option::of(1u16..))
        .prop_flat_map(move |c| (Just(c), option::of(any::<u16>()), option::of(1u16..), flag(), flag()));
    let d = (vec((text(), text()), 0..3), option::of(1u32..), flag(), flag(), flag());
    (a, b, c, d).prop_map(|(a, b, c, d)| Properties {
        payload_format_indicator: a.0.0,
        message_expiry_interval: a.0.1,
        content_type: a.0.2,
        response_topic: a.0.3,
        correlation_data: a.1,
        subscription_identifiers: a.2,
        session_expiry_interval: b.0.0,
        assigned_client_identifier: b.0.1,
        server_keep_alive: b.0.2,
        authentication_method: b.0.3,
        authentication_data: b.1,
        request_problem_information: b.2,
        will_delay_interval: b.3,
        request_response_information: b.4,
        response_information: c.0.0,
        server_reference: c.0.1,
        reason_string: c.0.2,
        receive_maximum: c.0.3,
        topic_alias_maximum: c.1,
        topic_alias: c.2,
        maximum_qos: c.3,
        retain_available: c.4,
        user_properties: d.0,
        maximum_packet_size: d.1,
        wildcard_subscription_available: d.2,
        subscription_identifier_available: d.3,
        shared_subscription_available: d.4,
    })
}

/// Keeps only what `ctx` may carry.
fn mask(p: Properties, ctx: Ctx) -> Properties {
    let k = |id: u8| allowed(ctx, id);
    let max_ids = match ctx {
        Ctx::Publish => usize::MAX,
        Ctx::Subscribe => 1,
        _ => 0,
    };
    Properties {
        payload_format_indicator: p.payload_format_indicator.filter(|_| k(0x01)),
        message_expiry_interval: p.message_expiry_interval.filter(|_| k(0x02)),
        content_type: p.content_type.filter(|_| k(0x03)),
        response_topic: p.response_topic.filter(|_| k(0x08)),
        correlation_data: p.correlation_data.filter(|_| k(0x09)),
        subscription_identifiers: p.subscription_identifiers.into_iter().take(max_ids).collect(),
        session_expiry_interval: p.session_expiry_interval.filter(|_| k(0x11)),
        assigned_client_identifier: p.assigned_client_identifier.filter(|_| k(0x12)),
        server_keep_alive: p.server_keep_alive.filter(|_| k(0x13)),
        authentication_method: p.authentication_method.filter(|_| k(0x15)),
        authentication_data: p.authentication_data.filter(|_| k(0x16)),
        request_problem_information: p.request_problem_information.filter(|_| k(0x17)),
        will_delay_interval: p.will_delay_interval.filter(|_| k(0x18)),
        request_response_information: p.request_response_information.filter(|_| k(0x19)),
        response_information: p.response_information.filter(|_| k(0x1A)),
        server_reference: p.server_reference.filter(|_| k(0x1C)),
        reason_string: p.reason_string.filter(|_| k(0x1F)),
        receive_maximum: p.receive_maximum.filter(|_| k(0x21)),
        topic_alias_maximum: p.topic_alias_maximum.filter(|_| k(0x22)),
        topic_alias: p.topic_alias.filter(|_| k(0x23)),
        maximum_qos: p.maximum_qos.filter(|_| k(0x24)),
        retain_available: p.retain_available.filter(|_| k(0x25)),
        user_properties: p.user_properties,
        maximum_packet_size: p.maximum_packet_size.filter(|_| k(0x27)),
        wildcard_subscription_available: p.wildcard_subscription_available.filter(|_| k(0x28)),
        subscription_identifier_available: p.subscription_identifier_available.filter(|_| k(0x29)),
        shared_subscription_available: p.shared_subscription_available.filter(|_| k(0x2A)),
    }
}

fn props(ctx: Ctx, v5: bool) -> BoxedStrategy<Properties> {
    if v5 {
        any_props()
            .prop_map(move |p| {
                let mut p = mask(p, ctx);
                if p.authentication_data.is_some() && p.authentication_method.is_none() {
                    p.authentication_method = Some("m".into());
                }
                p
            })
            .boxed()
    } else {
        Just(Properties::default()).boxed()
    }
}

fn will(v5: bool) -> impl Strategy<Value = LastWill> {
    (topic(), bin(), qos(), any::<bool>(), props(Ctx::Will, v5)).prop_map(|(topic, payload, qos, retain, properties)| LastWill {
        topic,
        payload,
        qos,
        retain,
        properties,
    })
}

fn connect(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let head = (any::<bool>(), any::<u16>(), text(), option::of(will(v5)));
    (head, option::of(text()), option::of(bin()), props(Ctx::Connect, v5))
        .prop_map(move |((clean_start, keep_alive, client_id, will), username, password, properties)| {
            let password = password.filter(|_| v5 || username.is_some());
            let c = Connect { protocol: v, clean_start, keep_alive, client_id, will, username, password, properties };
            Packet::Connect(Box::new(c))
        })
        .boxed()
}

fn publish(v5: bool) -> impl Strategy<Value = Packet> {
    let head = (qos(), any::<bool>(), any::<bool>(), topic(), 1u16..);
    (head, bin(), props(Ctx::Publish, v5), any::<bool>()).prop_map(|((qos, dup, retain, topic, pkid), payload, properties, use_alias)| {
        let at_most_once = qos == QoS::AtMostOnce;
        let topic = if use_alias && properties.topic_alias.is_some() { String::new() } else { topic };
        let pkid = if at_most_once { 0 } else { pkid };
        Packet::Publish(Publish { dup: dup && !at_most_once, qos, retain, topic, pkid, payload, properties })
    })
}

fn pub_resp(codes: &'static [u8], v5: bool) -> impl Strategy<Value = PubResp> {
    (1u16.., code(codes, v5), props(Ctx::PubResp, v5)).prop_map(|(pkid, code, properties)| PubResp { pkid, code, properties })
}

fn options(v5: bool) -> BoxedStrategy<SubscriptionOptions> {
    if !v5 {
        return qos().prop_map(|qos| SubscriptionOptions { qos, ..SubscriptionOptions::default() }).boxed();
    }
    let rh = select(vec![RetainHandling::SendAtSubscribe, RetainHandling::SendIfNew, RetainHandling::DoNotSend]);
    (qos(), any::<bool>(), any::<bool>(), rh)
        .prop_map(|(qos, no_local, retain_as_published, retain_handling)| SubscriptionOptions {
            qos,
            no_local,
            retain_as_published,
            retain_handling,
        })
        .boxed()
}

pub(super) fn packet(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let suback_codes: &'static [u8] = if v5 { SUBACK } else { &[0, 1, 2, 0x80] };
    let connack_code = if v5 { select(CONNACK).boxed() } else { (0u8..=5).boxed() };
    let mut arms = vec![
        connect(v),
        (any::<bool>(), connack_code, props(Ctx::ConnAck, v5))
            .prop_map(|(sp, code, properties)| Packet::ConnAck(ConnAck { session_present: sp && code == 0, code, properties }))
            .boxed(),
        publish(v5).boxed(),
        pub_resp(PUBACK, v5).prop_map(Packet::PubAck).boxed(),
        pub_resp(PUBACK, v5).prop_map(Packet::PubRec).boxed(),
        pub_resp(PUBREL, v5).prop_map(Packet::PubRel).boxed(),
        pub_resp(PUBREL, v5).prop_map(Packet::PubComp).boxed(),
        (1u16.., vec((filter(), options(v5)), 1..4), props(Ctx::Subscribe, v5))
            .prop_map(|(pkid, filters, properties)| Packet::Subscribe(Subscribe { pkid, filters, properties }))
            .boxed(),
        (1u16.., vec(select(suback_codes), 1..5), props(Ctx::SubAck, v5))
            .prop_map(|(pkid, codes, properties)| Packet::SubAck(SubAck { pkid, codes, properties }))
            .boxed(),
        (1u16.., vec(filter(), 1..4), props(Ctx::Unsubscribe, v5))
            .prop_map(|(pkid, filters, properties)| Packet::Unsubscribe(Unsubscribe { pkid, filters, properties }))
            .boxed(),
        (1u16.., vec(select(UNSUBACK), 1..4), props(Ctx::UnsubAck, v5))
            .prop_map(move |(pkid, codes, properties)| {
                let codes = if v5 { codes } else { Vec::new() };
                Packet::UnsubAck(UnsubAck { pkid, codes, properties })
            })
            .boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        (code(DISCONNECT, v5), props(Ctx::Disconnect, v5))
            .prop_map(|(code, properties)| Packet::Disconnect(Disconnect { code, properties }))
            .boxed(),
    ];
    if v5 {
        let auth = (select(AUTH), props(Ctx::Auth, true)).prop_map(|(code, mut properties)| {
            if code != 0 || properties != Properties::default() {
                properties.authentication_method.get_or_insert_with(|| "SCRAM-SHA-1".into());
            }
            Packet::Auth(Auth { code, properties })
        });
        arms.push(auth.boxed());
    }
    Union::new(arms).boxed()
}

pub(super) fn any_version() -> impl Strategy<Value = ProtocolVersion> {
    select(vec![ProtocolVersion::V31, ProtocolVersion::V311, ProtocolVersion::V5])
}

pub(super) fn versioned_packet() -> impl Strategy<Value = (ProtocolVersion, Packet)> {
    any_version().prop_flat_map(|v| (Just(v), packet(v)))
}
