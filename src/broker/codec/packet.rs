//! The packet types: one struct per MQTT control packet, plus the [`Packet`] enum.

use bytes::Bytes;

use super::error::DecodeError;
use super::properties::Properties;

/// MQTT protocol version of a connection, fixed by its CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1: protocol name `"MQIsdp"`, level 3. Decoded and treated like 3.1.1.
    V31,
    /// MQTT 3.1.1: protocol name `"MQTT"`, level 4.
    V311,
    /// MQTT 5.0: protocol name `"MQTT"`, level 5.
    V5,
}

impl ProtocolVersion {
    /// The Protocol Level byte of CONNECT (3, 4 or 5).
    #[must_use]
    pub const fn level(self) -> u8 {
        match self {
            Self::V31 => 3,
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }

    /// The Protocol Name of CONNECT (`"MQIsdp"` or `"MQTT"`).
    #[must_use]
    pub const fn protocol_name(self) -> &'static str {
        match self {
            Self::V31 => "MQIsdp",
            Self::V311 | Self::V5 => "MQTT",
        }
    }

    /// `true` for MQTT 5.0 (properties, reason codes, AUTH).
    #[must_use]
    pub const fn is_v5(self) -> bool {
        matches!(self, Self::V5)
    }
}

/// Quality of Service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum QoS {
    /// `QoS` 0: at most once.
    #[default]
    AtMostOnce = 0,
    /// `QoS` 1: at least once.
    AtLeastOnce = 1,
    /// `QoS` 2: exactly once.
    ExactlyOnce = 2,
}

impl TryFrom<u8> for QoS {
    type Error = DecodeError;

    /// 0, 1 or 2; 3 and above is a Malformed Packet.
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            2 => Ok(Self::ExactlyOnce),
            _ => Err(DecodeError::MalformedPacket("QoS value is not 0, 1 or 2")),
        }
    }
}

/// Retain Handling subscription option (5.0 §3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send retained messages only if the subscription does not already exist.
    SendIfNew = 1,
    /// 2: do not send retained messages at subscribe time.
    DoNotSend = 2,
}

impl TryFrom<u8> for RetainHandling {
    type Error = DecodeError;

    /// 0, 1 or 2; 3 is a Protocol Error (5.0 §3.8.3.1).
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::SendAtSubscribe),
            1 => Ok(Self::SendIfNew),
            2 => Ok(Self::DoNotSend),
            _ => Err(DecodeError::ProtocolError("Retain Handling value 3")),
        }
    }
}

/// Options of one SUBSCRIBE entry. In 3.1.x only `qos` exists; the rest stay at their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum `QoS` the subscriber accepts.
    pub qos: QoS,
    /// 5.0: do not forward messages published by this same client.
    pub no_local: bool,
    /// 5.0: keep the RETAIN flag of forwarded messages as published.
    pub retain_as_published: bool,
    /// 5.0: when to send retained messages.
    pub retain_handling: RetainHandling,
}

/// Will message of a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastWill {
    /// Will Topic (a Topic Name: non-empty, no wildcards).
    pub topic: String,
    /// Will Payload (a slice of the received frame).
    pub payload: Bytes,
    /// Will `QoS`.
    pub qos: QoS,
    /// Will Retain.
    pub retain: bool,
    /// 5.0 Will Properties.
    pub properties: Properties,
}

/// CONNECT: first packet from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Version named by the packet (decode); ignored by `encode`, which uses its own argument.
    pub protocol: ProtocolVersion,
    /// Clean Session (3.1.x) / Clean Start (5.0).
    pub clean_start: bool,
    /// Keep Alive in seconds (0 = off).
    pub keep_alive: u16,
    /// Client Identifier; may be empty.
    pub client_id: String,
    /// Will message, if the Will Flag is set.
    pub will: Option<LastWill>,
    /// User Name, if the User Name Flag is set.
    pub username: Option<String>,
    /// Password (binary data), if the Password Flag is set.
    pub password: Option<Bytes>,
    /// 5.0 CONNECT properties.
    pub properties: Properties,
}

/// CONNACK: the server's answer to CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    /// Session Present flag (must be false when `code != 0`).
    pub session_present: bool,
    /// 3.1.1 return code (0..=5) or 5.0 Connect Reason Code; see [`super::reason`].
    pub code: u8,
    /// 5.0 CONNACK properties.
    pub properties: Properties,
}

/// PUBLISH: an application message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    /// DUP flag (always false for `QoS` 0).
    pub dup: bool,
    /// `QoS` of this delivery.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic Name; may be `""` in 5.0 when a Topic Alias property is present.
    pub topic: String,
    /// Packet Identifier; 0 for `QoS` 0 (not on the wire), non-zero otherwise.
    pub pkid: u16,
    /// Application payload (a slice of the received frame).
    pub payload: Bytes,
    /// 5.0 PUBLISH properties.
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (which one is given by the [`Packet`] variant).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PubResp {
    /// Packet Identifier being acknowledged (non-zero).
    pub pkid: u16,
    /// 5.0 reason code (0 = Success; always 0 in 3.1.x).
    pub code: u8,
    /// 5.0 properties (Reason String, User Property).
    pub properties: Properties,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscribe {
    /// Packet Identifier (non-zero).
    pub pkid: u16,
    /// Topic Filters with their options (at least one).
    pub filters: Vec<(String, SubscriptionOptions)>,
    /// 5.0 properties (at most one Subscription Identifier, User Property).
    pub properties: Properties,
}

/// SUBACK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubAck {
    /// Packet Identifier of the SUBSCRIBE (non-zero).
    pub pkid: u16,
    /// One return/reason code per filter: 3.1.1 0, 1, 2, 0x80; 5.0 see [`super::reason`].
    pub codes: Vec<u8>,
    /// 5.0 properties (Reason String, User Property).
    pub properties: Properties,
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unsubscribe {
    /// Packet Identifier (non-zero).
    pub pkid: u16,
    /// Topic Filters (at least one).
    pub filters: Vec<String>,
    /// 5.0 properties (User Property only).
    pub properties: Properties,
}

/// UNSUBACK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubAck {
    /// Packet Identifier of the UNSUBSCRIBE (non-zero).
    pub pkid: u16,
    /// 5.0: one reason code per filter. Always empty in 3.1.x (no payload).
    pub codes: Vec<u8>,
    /// 5.0 properties (Reason String, User Property).
    pub properties: Properties,
}

/// DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// 5.0 Disconnect Reason Code (0 = Normal disconnection; always 0 in 3.1.x).
    pub code: u8,
    /// 5.0 properties.
    pub properties: Properties,
}

/// AUTH (5.0 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// 0x00 Success, 0x18 Continue authentication or 0x19 Re-authenticate.
    pub code: u8,
    /// Authentication Method/Data, Reason String, User Property.
    pub properties: Properties,
}

/// Any MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT (boxed: it is much larger than the others).
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(ConnAck),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(PubResp),
    /// PUBREC.
    PubRec(PubResp),
    /// PUBREL.
    PubRel(PubResp),
    /// PUBCOMP.
    PubComp(PubResp),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH (5.0 only).
    Auth(Auth),
}

impl Packet {
    /// MQTT Control Packet type (1..=15), the high nibble of the first byte.
    #[must_use]
    pub const fn packet_type(&self) -> u8 {
        match self {
            Self::Connect(_) => 1,
            Self::ConnAck(_) => 2,
            Self::Publish(_) => 3,
            Self::PubAck(_) => 4,
            Self::PubRec(_) => 5,
            Self::PubRel(_) => 6,
            Self::PubComp(_) => 7,
            Self::Subscribe(_) => 8,
            Self::SubAck(_) => 9,
            Self::Unsubscribe(_) => 10,
            Self::UnsubAck(_) => 11,
            Self::PingReq => 12,
            Self::PingResp => 13,
            Self::Disconnect(_) => 14,
            Self::Auth(_) => 15,
        }
    }

    /// Upper-case packet name as in the specification (`"PUBLISH"`, …), for logs and the UI.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Connect(_) => "CONNECT",
            Self::ConnAck(_) => "CONNACK",
            Self::Publish(_) => "PUBLISH",
            Self::PubAck(_) => "PUBACK",
            Self::PubRec(_) => "PUBREC",
            Self::PubRel(_) => "PUBREL",
            Self::PubComp(_) => "PUBCOMP",
            Self::Subscribe(_) => "SUBSCRIBE",
            Self::SubAck(_) => "SUBACK",
            Self::Unsubscribe(_) => "UNSUBSCRIBE",
            Self::UnsubAck(_) => "UNSUBACK",
            Self::PingReq => "PINGREQ",
            Self::PingResp => "PINGRESP",
            Self::Disconnect(_) => "DISCONNECT",
            Self::Auth(_) => "AUTH",
        }
    }
}
