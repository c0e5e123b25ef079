//! The decoder's error type and its mapping to MQTT 5.0 reason codes.

use super::reason;

/// Why a received byte stream is not a valid MQTT packet. Every variant ends the connection:
/// in 5.0 the session first sends CONNACK (during CONNECT) or DISCONNECT with
/// [`DecodeError::reason_code`]; in 3.1.x it just closes the network connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The packet cannot be parsed according to the specification (reason code 0x81).
    #[error("malformed packet: {0}")]
    MalformedPacket(&'static str),
    /// The packet parses but breaks a protocol rule (reason code 0x82).
    #[error("protocol error: {0}")]
    ProtocolError(&'static str),
    /// The fixed header announces a packet larger than the allowed maximum (reason code 0x95).
    /// `size` is the whole packet (fixed header included), as in the Maximum Packet Size property.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Total size announced by the fixed header.
        size: usize,
        /// The limit passed to `decode`.
        max: u32,
    },
    /// CONNECT names a protocol name/level pair other than `"MQIsdp"`/3, `"MQTT"`/4 or
    /// `"MQTT"`/5 (MQTT-3.1.2-1, MQTT-3.1.2-2). Carries the Protocol Level byte. The session answers
    /// with a 3.1.1-format CONNACK with return code 0x01 (or, when the level is 5 or above, a
    /// 5.0 CONNACK with 0x84) and closes the connection.
    #[error("unsupported protocol name or level {0}")]
    UnsupportedProtocolVersion(u8),
    /// A UTF-8 Encoded String is ill-formed or contains U+0000 (MQTT-1.5.4-1, MQTT-1.5.4-2);
    /// a Malformed Packet (reason code 0x81).
    #[error("malformed packet: invalid UTF-8 string or U+0000 in a string")]
    InvalidUtf8,
    /// A Topic Name (PUBLISH or Will Topic) is empty or contains a wildcard (MQTT-3.3.2-2,
    /// MQTT-4.7.3-1): reason code 0x90.
    #[error("invalid topic name: {0}")]
    TopicNameInvalid(&'static str),
}

impl DecodeError {
    /// The MQTT 5.0 reason code for the CONNACK or DISCONNECT sent before closing.
    #[must_use]
    pub const fn reason_code(&self) -> u8 {
        match self {
            Self::MalformedPacket(_) | Self::InvalidUtf8 => reason::MALFORMED_PACKET,
            Self::ProtocolError(_) => reason::PROTOCOL_ERROR,
            Self::PacketTooLarge { .. } => reason::PACKET_TOO_LARGE,
            Self::UnsupportedProtocolVersion(_) => reason::UNSUPPORTED_PROTOCOL_VERSION,
            Self::TopicNameInvalid(_) => reason::TOPIC_NAME_INVALID,
        }
    }
}
