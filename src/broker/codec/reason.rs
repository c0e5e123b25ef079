//! Reason codes: every MQTT 5.0 reason code (5.0 §2.4), the 3.1.1 CONNACK return codes, their
//! display texts, and which codes each 5.0 packet type may carry.

/// 0x00 Success (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK, AUTH).
pub const SUCCESS: u8 = 0x00;
/// 0x00 Normal disconnection (DISCONNECT).
pub const NORMAL_DISCONNECTION: u8 = 0x00;
/// 0x00 Granted `QoS` 0 (SUBACK).
pub const GRANTED_QOS_0: u8 = 0x00;
/// 0x01 Granted `QoS` 1 (SUBACK).
pub const GRANTED_QOS_1: u8 = 0x01;
/// 0x02 Granted `QoS` 2 (SUBACK).
pub const GRANTED_QOS_2: u8 = 0x02;
/// 0x04 Disconnect with Will Message (DISCONNECT).
pub const DISCONNECT_WITH_WILL_MESSAGE: u8 = 0x04;
/// 0x10 No matching subscribers (PUBACK, PUBREC).
pub const NO_MATCHING_SUBSCRIBERS: u8 = 0x10;
/// 0x11 No subscription existed (UNSUBACK).
pub const NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
/// 0x18 Continue authentication (AUTH).
pub const CONTINUE_AUTHENTICATION: u8 = 0x18;
/// 0x19 Re-authenticate (AUTH).
pub const RE_AUTHENTICATE: u8 = 0x19;
/// 0x80 Unspecified error.
pub const UNSPECIFIED_ERROR: u8 = 0x80;
/// 0x81 Malformed Packet.
pub const MALFORMED_PACKET: u8 = 0x81;
/// 0x82 Protocol Error.
pub const PROTOCOL_ERROR: u8 = 0x82;
/// 0x83 Implementation specific error.
pub const IMPLEMENTATION_SPECIFIC_ERROR: u8 = 0x83;
/// 0x84 Unsupported Protocol Version (CONNACK).
pub const UNSUPPORTED_PROTOCOL_VERSION: u8 = 0x84;
/// 0x85 Client Identifier not valid (CONNACK).
pub const CLIENT_IDENTIFIER_NOT_VALID: u8 = 0x85;
/// 0x86 Bad User Name or Password (CONNACK).
pub const BAD_USER_NAME_OR_PASSWORD: u8 = 0x86;
/// 0x87 Not authorized.
pub const NOT_AUTHORIZED: u8 = 0x87;
/// 0x88 Server unavailable (CONNACK).
pub const SERVER_UNAVAILABLE: u8 = 0x88;
/// 0x89 Server busy.
pub const SERVER_BUSY: u8 = 0x89;
/// 0x8A Banned (CONNACK).
pub const BANNED: u8 = 0x8A;
/// 0x8B Server shutting down (DISCONNECT).
pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;
/// 0x8C Bad authentication method.
pub const BAD_AUTHENTICATION_METHOD: u8 = 0x8C;
/// 0x8D Keep Alive timeout (DISCONNECT).
pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
/// 0x8E Session taken over (DISCONNECT).
pub const SESSION_TAKEN_OVER: u8 = 0x8E;
/// 0x8F Topic Filter invalid.
pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
/// 0x90 Topic Name invalid.
pub const TOPIC_NAME_INVALID: u8 = 0x90;
/// 0x91 Packet Identifier in use.
pub const PACKET_IDENTIFIER_IN_USE: u8 = 0x91;
/// 0x92 Packet Identifier not found.
pub const PACKET_IDENTIFIER_NOT_FOUND: u8 = 0x92;
/// 0x93 Receive Maximum exceeded (DISCONNECT).
pub const RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
/// 0x94 Topic Alias invalid (DISCONNECT).
pub const TOPIC_ALIAS_INVALID: u8 = 0x94;
/// 0x95 Packet too large.
pub const PACKET_TOO_LARGE: u8 = 0x95;
/// 0x96 Message rate too high (DISCONNECT).
pub const MESSAGE_RATE_TOO_HIGH: u8 = 0x96;
/// 0x97 Quota exceeded.
pub const QUOTA_EXCEEDED: u8 = 0x97;
/// 0x98 Administrative action (DISCONNECT).
pub const ADMINISTRATIVE_ACTION: u8 = 0x98;
/// 0x99 Payload format invalid.
pub const PAYLOAD_FORMAT_INVALID: u8 = 0x99;
/// 0x9A Retain not supported.
pub const RETAIN_NOT_SUPPORTED: u8 = 0x9A;
/// 0x9B `QoS` not supported.
pub const QOS_NOT_SUPPORTED: u8 = 0x9B;
/// 0x9C Use another server.
pub const USE_ANOTHER_SERVER: u8 = 0x9C;
/// 0x9D Server moved.
pub const SERVER_MOVED: u8 = 0x9D;
/// 0x9E Shared Subscriptions not supported.
pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0x9E;
/// 0x9F Connection rate exceeded.
pub const CONNECTION_RATE_EXCEEDED: u8 = 0x9F;
/// 0xA0 Maximum connect time (DISCONNECT).
pub const MAXIMUM_CONNECT_TIME: u8 = 0xA0;
/// 0xA1 Subscription Identifiers not supported.
pub const SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: u8 = 0xA1;
/// 0xA2 Wildcard Subscriptions not supported.
pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0xA2;

/// 3.1.1 CONNACK return code 0: Connection Accepted.
pub const CONNACK_V3_ACCEPTED: u8 = 0;
/// 3.1.1 CONNACK return code 1: unacceptable protocol version.
pub const CONNACK_V3_UNACCEPTABLE_PROTOCOL: u8 = 1;
/// 3.1.1 CONNACK return code 2: identifier rejected.
pub const CONNACK_V3_IDENTIFIER_REJECTED: u8 = 2;
/// 3.1.1 CONNACK return code 3: server unavailable.
pub const CONNACK_V3_SERVER_UNAVAILABLE: u8 = 3;
/// 3.1.1 CONNACK return code 4: bad user name or password.
pub const CONNACK_V3_BAD_USER_NAME_OR_PASSWORD: u8 = 4;
/// 3.1.1 CONNACK return code 5: not authorized.
pub const CONNACK_V3_NOT_AUTHORIZED: u8 = 5;
/// 3.1.1 SUBACK return code 0x80: Failure.
pub const SUBACK_V3_FAILURE: u8 = 0x80;

/// Display text of a 5.0 reason code (context-free: 0x00 reads "Success", 0x01 "Granted `QoS` 1").
/// Use [`connack_v3_text`] for 3.1.1 CONNACK return codes.
#[must_use]
pub const fn reason_text(code: u8) -> &'static str {
    match code {
        0x00 => "Success",
        0x01 => "Granted QoS 1",
        0x02 => "Granted QoS 2",
        0x04 => "Disconnect with Will Message",
        0x10 => "No matching subscribers",
        0x11 => "No subscription existed",
        0x18 => "Continue authentication",
        0x19 => "Re-authenticate",
        0x80 => "Unspecified error",
        0x81 => "Malformed Packet",
        0x82 => "Protocol Error",
        0x83 => "Implementation specific error",
        0x84 => "Unsupported Protocol Version",
        0x85 => "Client Identifier not valid",
        0x86 => "Bad User Name or Password",
        0x87 => "Not authorized",
        0x88 => "Server unavailable",
        0x89 => "Server busy",
        0x8A => "Banned",
        0x8B => "Server shutting down",
        0x8C => "Bad authentication method",
        0x8D => "Keep Alive timeout",
        0x8E => "Session taken over",
        0x8F => "Topic Filter invalid",
        0x90 => "Topic Name invalid",
        0x91 => "Packet Identifier in use",
        0x92 => "Packet Identifier not found",
        0x93 => "Receive Maximum exceeded",
        0x94 => "Topic Alias invalid",
        0x95 => "Packet too large",
        0x96 => "Message rate too high",
        0x97 => "Quota exceeded",
        0x98 => "Administrative action",
        0x99 => "Payload format invalid",
        0x9A => "Retain not supported",
        0x9B => "QoS not supported",
        0x9C => "Use another server",
        0x9D => "Server moved",
        0x9E => "Shared Subscriptions not supported",
        0x9F => "Connection rate exceeded",
        0xA0 => "Maximum connect time",
        0xA1 => "Subscription Identifiers not supported",
        0xA2 => "Wildcard Subscriptions not supported",
        _ => "Unknown reason code",
    }
}

/// Display text of a 3.1.1 CONNACK return code.
#[must_use]
pub const fn connack_v3_text(code: u8) -> &'static str {
    match code {
        0 => "Connection accepted",
        1 => "Unacceptable protocol version",
        2 => "Identifier rejected",
        3 => "Server unavailable",
        4 => "Bad user name or password",
        5 => "Not authorized",
        _ => "Unknown return code",
    }
}

/// Maps a 5.0 CONNACK reason code to the closest 3.1.1 return code (codes 0..=5 pass through).
#[must_use]
pub const fn connack_v5_to_v3(code: u8) -> u8 {
    match code {
        0..=5 => code,
        UNSUPPORTED_PROTOCOL_VERSION => CONNACK_V3_UNACCEPTABLE_PROTOCOL,
        CLIENT_IDENTIFIER_NOT_VALID => CONNACK_V3_IDENTIFIER_REJECTED,
        BAD_USER_NAME_OR_PASSWORD | BAD_AUTHENTICATION_METHOD => CONNACK_V3_BAD_USER_NAME_OR_PASSWORD,
        NOT_AUTHORIZED | BANNED => CONNACK_V3_NOT_AUTHORIZED,
        _ => CONNACK_V3_SERVER_UNAVAILABLE,
    }
}

/// The 5.0 packet types that carry a reason code, for [`is_valid_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeSet {
    ConnAck,
    PubAckRec,
    PubRelComp,
    SubAck,
    UnsubAck,
    Disconnect,
    Auth,
}

/// Whether `code` is one of the reason codes the 5.0 specification lists for that packet type
/// (MQTT-3.2.2-8, MQTT-3.4.2-1, MQTT-3.5.2-1, MQTT-3.6.2-1, MQTT-3.7.2-1, MQTT-3.9.3-1,
/// MQTT-3.11.3-1, MQTT-3.14.2-1, MQTT-3.15.2-1).
pub(super) const fn is_valid_for(set: CodeSet, code: u8) -> bool {
    match set {
        CodeSet::ConnAck => {
            matches!(code, 0x00 | 0x80..=0x8A | 0x8C | 0x90 | 0x95 | 0x97 | 0x99..=0x9D | 0x9F)
        }
        CodeSet::PubAckRec => matches!(code, 0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99),
        CodeSet::PubRelComp => matches!(code, 0x00 | 0x92),
        CodeSet::SubAck => matches!(code, 0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91 | 0x97 | 0x9E | 0xA1 | 0xA2),
        CodeSet::UnsubAck => matches!(code, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91),
        CodeSet::Disconnect => {
            matches!(code, 0x00 | 0x04 | 0x80..=0x83 | 0x87 | 0x89 | 0x8B | 0x8D..=0x90 | 0x93..=0xA2)
        }
        CodeSet::Auth => matches!(code, 0x00 | 0x18 | 0x19),
    }
}
