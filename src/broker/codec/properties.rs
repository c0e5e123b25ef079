//! MQTT 5.0 properties (5.0 §2.2.2): the [`Properties`] struct, which property each packet may
//! carry, and their decoding/encoding.

use bytes::Bytes;

use super::error::DecodeError;
use super::reader::Reader;
use super::sink::{Counter, Sink, len_u32};

/// All MQTT 5.0 properties of one packet (or of a Will). Absent properties are `None`/empty.
/// Only the fields allowed for the packet type are filled by `decode` or written by `encode`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    /// 0x01 Payload Format Indicator: 0 unspecified bytes, 1 UTF-8 (PUBLISH, Will).
    pub payload_format_indicator: Option<u8>,
    /// 0x02 Message Expiry Interval in seconds (PUBLISH, Will).
    pub message_expiry_interval: Option<u32>,
    /// 0x03 Content Type (PUBLISH, Will).
    pub content_type: Option<String>,
    /// 0x08 Response Topic (PUBLISH, Will).
    pub response_topic: Option<String>,
    /// 0x09 Correlation Data, a slice of the frame (PUBLISH, Will).
    pub correlation_data: Option<Bytes>,
    /// 0x0B Subscription Identifiers, each non-zero: PUBLISH may carry several, SUBSCRIBE one.
    pub subscription_identifiers: Vec<u32>,
    /// 0x11 Session Expiry Interval in seconds (CONNECT, CONNACK, DISCONNECT).
    pub session_expiry_interval: Option<u32>,
    /// 0x12 Assigned Client Identifier (CONNACK).
    pub assigned_client_identifier: Option<String>,
    /// 0x13 Server Keep Alive in seconds (CONNACK).
    pub server_keep_alive: Option<u16>,
    /// 0x15 Authentication Method (CONNECT, CONNACK, AUTH).
    pub authentication_method: Option<String>,
    /// 0x16 Authentication Data, a slice of the frame (CONNECT, CONNACK, AUTH).
    pub authentication_data: Option<Bytes>,
    /// 0x17 Request Problem Information, 0 or 1 (CONNECT).
    pub request_problem_information: Option<u8>,
    /// 0x18 Will Delay Interval in seconds (Will).
    pub will_delay_interval: Option<u32>,
    /// 0x19 Request Response Information, 0 or 1 (CONNECT).
    pub request_response_information: Option<u8>,
    /// 0x1A Response Information (CONNACK).
    pub response_information: Option<String>,
    /// 0x1C Server Reference (CONNACK, DISCONNECT).
    pub server_reference: Option<String>,
    /// 0x1F Reason String (CONNACK, acks, DISCONNECT, AUTH).
    pub reason_string: Option<String>,
    /// 0x21 Receive Maximum, non-zero (CONNECT, CONNACK).
    pub receive_maximum: Option<u16>,
    /// 0x22 Topic Alias Maximum (CONNECT, CONNACK).
    pub topic_alias_maximum: Option<u16>,
    /// 0x23 Topic Alias, non-zero (PUBLISH).
    pub topic_alias: Option<u16>,
    /// 0x24 Maximum `QoS`, 0 or 1 (CONNACK).
    pub maximum_qos: Option<u8>,
    /// 0x25 Retain Available, 0 or 1 (CONNACK).
    pub retain_available: Option<u8>,
    /// 0x26 User Properties in order of appearance; names may repeat (every packet).
    pub user_properties: Vec<(String, String)>,
    /// 0x27 Maximum Packet Size, non-zero (CONNECT, CONNACK).
    pub maximum_packet_size: Option<u32>,
    /// 0x28 Wildcard Subscription Available, 0 or 1 (CONNACK).
    pub wildcard_subscription_available: Option<u8>,
    /// 0x29 Subscription Identifier Available, 0 or 1 (CONNACK).
    pub subscription_identifier_available: Option<u8>,
    /// 0x2A Shared Subscription Available, 0 or 1 (CONNACK).
    pub shared_subscription_available: Option<u8>,
}

const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
const CONTENT_TYPE: u8 = 0x03;
const RESPONSE_TOPIC: u8 = 0x08;
const CORRELATION_DATA: u8 = 0x09;
const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
const SERVER_KEEP_ALIVE: u8 = 0x13;
const AUTHENTICATION_METHOD: u8 = 0x15;
const AUTHENTICATION_DATA: u8 = 0x16;
const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
const WILL_DELAY_INTERVAL: u8 = 0x18;
const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
const RESPONSE_INFORMATION: u8 = 0x1A;
const SERVER_REFERENCE: u8 = 0x1C;
const REASON_STRING: u8 = 0x1F;
const RECEIVE_MAXIMUM: u8 = 0x21;
const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
const TOPIC_ALIAS: u8 = 0x23;
const MAXIMUM_QOS: u8 = 0x24;
const RETAIN_AVAILABLE: u8 = 0x25;
const USER_PROPERTY: u8 = 0x26;
const MAXIMUM_PACKET_SIZE: u8 = 0x27;
const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// Where a property block sits; PUBACK, PUBREC, PUBREL and PUBCOMP share [`Ctx::PubResp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Connect,
    Will,
    ConnAck,
    Publish,
    PubResp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

const fn bit(ctx: Ctx) -> u16 {
    1 << ctx as u16
}

/// Whether property `id` may appear in `ctx` (5.0 §2.2.2.2, Table 2-4).
pub(super) const fn allowed(ctx: Ctx, id: u8) -> bool {
    use Ctx::{Auth, ConnAck, Connect, Disconnect, PubResp, Publish, SubAck, Subscribe, UnsubAck, Will};
    let set = match id {
        PAYLOAD_FORMAT_INDICATOR | MESSAGE_EXPIRY_INTERVAL | CONTENT_TYPE | RESPONSE_TOPIC | CORRELATION_DATA => bit(Publish) | bit(Will),
        SUBSCRIPTION_IDENTIFIER => bit(Publish) | bit(Subscribe),
        SESSION_EXPIRY_INTERVAL => bit(Connect) | bit(ConnAck) | bit(Disconnect),
        ASSIGNED_CLIENT_IDENTIFIER
        | SERVER_KEEP_ALIVE
        | RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => bit(ConnAck),
        AUTHENTICATION_METHOD | AUTHENTICATION_DATA => bit(Connect) | bit(ConnAck) | bit(Auth),
        REQUEST_PROBLEM_INFORMATION | REQUEST_RESPONSE_INFORMATION => bit(Connect),
        WILL_DELAY_INTERVAL => bit(Will),
        SERVER_REFERENCE => bit(ConnAck) | bit(Disconnect),
        REASON_STRING => bit(ConnAck) | bit(PubResp) | bit(SubAck) | bit(UnsubAck) | bit(Disconnect) | bit(Auth),
        RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | MAXIMUM_PACKET_SIZE => bit(Connect) | bit(ConnAck),
        TOPIC_ALIAS => bit(Publish),
        USER_PROPERTY => u16::MAX,
        _ => 0,
    };
    set & bit(ctx) != 0
}

/// Stores a property that may appear at most once ("It is a Protocol Error to include the … more
/// than once").
fn once<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::ProtocolError(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A Byte property whose only valid values are 0 and 1.
fn flag(r: &mut Reader<'_>, name: &'static str) -> Result<u8, DecodeError> {
    match r.u8()? {
        v @ (0 | 1) => Ok(v),
        _ => Err(DecodeError::ProtocolError(name)),
    }
}

/// A Two/Four Byte Integer property for which 0 is a Protocol Error.
fn non_zero<T: Default + PartialEq>(v: T, name: &'static str) -> Result<T, DecodeError> {
    if v == T::default() { Err(DecodeError::ProtocolError(name)) } else { Ok(v) }
}

/// Reads a Property Length and the properties it covers.
pub(super) fn read(r: &mut Reader<'_>, ctx: Ctx) -> Result<Properties, DecodeError> {
    let len = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
    let mut r = r.split(len)?;
    let mut p = Properties::default();
    while !r.is_empty() {
        let id = r.varint()?;
        let Some(id) = u8::try_from(id).ok().filter(|&id| allowed(ctx, id)) else {
            // 5.0 §2.2.2.2: "A Control Packet which contains an Identifier which is not valid for
            // its packet type … is a Malformed Packet."
            return Err(DecodeError::MalformedPacket("property identifier not valid for this packet type"));
        };
        read_one(&mut r, ctx, id, &mut p)?;
    }
    Ok(p)
}

fn read_one(r: &mut Reader<'_>, ctx: Ctx, id: u8, p: &mut Properties) -> Result<(), DecodeError> {
    const DUP: &str = "property included more than once";
    match id {
        PAYLOAD_FORMAT_INDICATOR => {
            let v = flag(r, "Payload Format Indicator other than 0 or 1")?;
            once(&mut p.payload_format_indicator, v, DUP)
        }
        MESSAGE_EXPIRY_INTERVAL => once(&mut p.message_expiry_interval, r.u32()?, DUP),
        CONTENT_TYPE => once(&mut p.content_type, r.string()?, DUP),
        RESPONSE_TOPIC => once(&mut p.response_topic, r.string()?, DUP),
        CORRELATION_DATA => once(&mut p.correlation_data, r.binary()?, DUP),
        SUBSCRIPTION_IDENTIFIER => {
            let v = non_zero(r.varint()?, "Subscription Identifier of 0")?;
            if ctx == Ctx::Subscribe && !p.subscription_identifiers.is_empty() {
                return Err(DecodeError::ProtocolError(DUP));
            }
            p.subscription_identifiers.push(v);
            Ok(())
        }
        SESSION_EXPIRY_INTERVAL => once(&mut p.session_expiry_interval, r.u32()?, DUP),
        ASSIGNED_CLIENT_IDENTIFIER => once(&mut p.assigned_client_identifier, r.string()?, DUP),
        SERVER_KEEP_ALIVE => once(&mut p.server_keep_alive, r.u16()?, DUP),
        AUTHENTICATION_METHOD => once(&mut p.authentication_method, r.string()?, DUP),
        AUTHENTICATION_DATA => once(&mut p.authentication_data, r.binary()?, DUP),
        REQUEST_PROBLEM_INFORMATION => {
            let v = flag(r, "Request Problem Information other than 0 or 1")?;
            once(&mut p.request_problem_information, v, DUP)
        }
        WILL_DELAY_INTERVAL => once(&mut p.will_delay_interval, r.u32()?, DUP),
        REQUEST_RESPONSE_INFORMATION => {
            let v = flag(r, "Request Response Information other than 0 or 1")?;
            once(&mut p.request_response_information, v, DUP)
        }
        RESPONSE_INFORMATION => once(&mut p.response_information, r.string()?, DUP),
        SERVER_REFERENCE => once(&mut p.server_reference, r.string()?, DUP),
        REASON_STRING => once(&mut p.reason_string, r.string()?, DUP),
        RECEIVE_MAXIMUM => {
            let v = non_zero(r.u16()?, "Receive Maximum of 0")?;
            once(&mut p.receive_maximum, v, DUP)
        }
        TOPIC_ALIAS_MAXIMUM => once(&mut p.topic_alias_maximum, r.u16()?, DUP),
        TOPIC_ALIAS => {
            let v = non_zero(r.u16()?, "Topic Alias of 0")?;
            once(&mut p.topic_alias, v, DUP)
        }
        MAXIMUM_QOS => {
            let v = flag(r, "Maximum QoS other than 0 or 1")?;
            once(&mut p.maximum_qos, v, DUP)
        }
        RETAIN_AVAILABLE => {
            let v = flag(r, "Retain Available other than 0 or 1")?;
            once(&mut p.retain_available, v, DUP)
        }
        USER_PROPERTY => {
            p.user_properties.push(r.string_pair()?);
            Ok(())
        }
        MAXIMUM_PACKET_SIZE => {
            let v = non_zero(r.u32()?, "Maximum Packet Size of 0")?;
            once(&mut p.maximum_packet_size, v, DUP)
        }
        WILDCARD_SUBSCRIPTION_AVAILABLE => {
            let v = flag(r, "Wildcard Subscription Available other than 0 or 1")?;
            once(&mut p.wildcard_subscription_available, v, DUP)
        }
        SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
            let v = flag(r, "Subscription Identifier Available other than 0 or 1")?;
            once(&mut p.subscription_identifier_available, v, DUP)
        }
        SHARED_SUBSCRIPTION_AVAILABLE => {
            let v = flag(r, "Shared Subscription Available other than 0 or 1")?;
            once(&mut p.shared_subscription_available, v, DUP)
        }
        _ => Err(DecodeError::MalformedPacket("unknown property identifier")),
    }
}

/// Writes the Property Length and the properties allowed in `ctx`.
pub(super) fn write<S: Sink>(p: &Properties, ctx: Ctx, s: &mut S) {
    s.varint(len_u32(body_len(p, ctx)));
    emit(p, ctx, s);
}

/// Length of the properties allowed in `ctx`, without the Property Length itself.
pub(super) fn body_len(p: &Properties, ctx: Ctx) -> usize {
    let mut c = Counter::default();
    emit(p, ctx, &mut c);
    c.0
}

fn emit<S: Sink>(p: &Properties, ctx: Ctx, s: &mut S) {
    let byte = |s: &mut S, id: u8, v: Option<u8>| {
        if let (true, Some(v)) = (allowed(ctx, id), v) {
            s.u8(id);
            s.u8(v);
        }
    };
    let two = |s: &mut S, id: u8, v: Option<u16>| {
        if let (true, Some(v)) = (allowed(ctx, id), v) {
            s.u8(id);
            s.u16(v);
        }
    };
    let four = |s: &mut S, id: u8, v: Option<u32>| {
        if let (true, Some(v)) = (allowed(ctx, id), v) {
            s.u8(id);
            s.u32(v);
        }
    };
    let string = |s: &mut S, id: u8, v: Option<&String>| {
        if let (true, Some(v)) = (allowed(ctx, id), v) {
            s.u8(id);
            s.str(v);
        }
    };
    let binary = |s: &mut S, id: u8, v: Option<&Bytes>| {
        if let (true, Some(v)) = (allowed(ctx, id), v) {
            s.u8(id);
            s.bin(v);
        }
    };
    byte(s, PAYLOAD_FORMAT_INDICATOR, p.payload_format_indicator);
    four(s, MESSAGE_EXPIRY_INTERVAL, p.message_expiry_interval);
    string(s, CONTENT_TYPE, p.content_type.as_ref());
    string(s, RESPONSE_TOPIC, p.response_topic.as_ref());
    binary(s, CORRELATION_DATA, p.correlation_data.as_ref());
    if allowed(ctx, SUBSCRIPTION_IDENTIFIER) {
        // SUBSCRIBE carries at most one Subscription Identifier.
        let max = if ctx == Ctx::Subscribe { 1 } else { usize::MAX };
        for &id in p.subscription_identifiers.iter().take(max) {
            s.u8(SUBSCRIPTION_IDENTIFIER);
            s.varint(id);
        }
    }
    four(s, SESSION_EXPIRY_INTERVAL, p.session_expiry_interval);
    string(s, ASSIGNED_CLIENT_IDENTIFIER, p.assigned_client_identifier.as_ref());
    two(s, SERVER_KEEP_ALIVE, p.server_keep_alive);
    string(s, AUTHENTICATION_METHOD, p.authentication_method.as_ref());
    binary(s, AUTHENTICATION_DATA, p.authentication_data.as_ref());
    byte(s, REQUEST_PROBLEM_INFORMATION, p.request_problem_information);
    four(s, WILL_DELAY_INTERVAL, p.will_delay_interval);
    byte(s, REQUEST_RESPONSE_INFORMATION, p.request_response_information);
    string(s, RESPONSE_INFORMATION, p.response_information.as_ref());
    string(s, SERVER_REFERENCE, p.server_reference.as_ref());
    string(s, REASON_STRING, p.reason_string.as_ref());
    two(s, RECEIVE_MAXIMUM, p.receive_maximum);
    two(s, TOPIC_ALIAS_MAXIMUM, p.topic_alias_maximum);
    two(s, TOPIC_ALIAS, p.topic_alias);
    byte(s, MAXIMUM_QOS, p.maximum_qos);
    byte(s, RETAIN_AVAILABLE, p.retain_available);
    for (k, v) in &p.user_properties {
        s.u8(USER_PROPERTY);
        s.str(k);
        s.str(v);
    }
    four(s, MAXIMUM_PACKET_SIZE, p.maximum_packet_size);
    byte(s, WILDCARD_SUBSCRIPTION_AVAILABLE, p.wildcard_subscription_available);
    byte(s, SUBSCRIPTION_IDENTIFIER_AVAILABLE, p.subscription_identifier_available);
    byte(s, SHARED_SUBSCRIPTION_AVAILABLE, p.shared_subscription_available);
}
