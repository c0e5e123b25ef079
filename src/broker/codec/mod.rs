//! MQTT wire codec (OASIS MQTT 3.1, 3.1.1 and 5.0) for the embedded broker.
//!
//! This module owns the byte-level representation of every MQTT control packet and nothing
//! else: it turns bytes into [`Packet`] values ([`decode`]) and [`Packet`] values into bytes
//! ([`encode`], [`encoded_len`]). It keeps no connection state besides what the caller passes
//! in (the negotiated [`ProtocolVersion`] and the maximum packet size), it does no I/O and it
//! never panics on any input.
//!
//! # Strictness
//! The decoder enforces every rule that can be checked on a single packet: reserved fixed-header
//! flags, exact Remaining Length, well-formed UTF-8 without U+0000, CONNECT flag combinations,
//! non-zero Packet Identifiers, per-packet property sets, duplicate or out-of-range properties,
//! reason codes valid for the packet type, subscription option reserved bits, wildcard-free Topic
//! Names, and "first packet is CONNECT / no second CONNECT" (when `version` says so). Each
//! violation is a [`DecodeError`] whose [`DecodeError::reason_code`] is the MQTT 5.0 reason code
//! to put in the CONNACK/DISCONNECT before closing the connection (3.1.1 just closes).
//!
//! Rules that need session state are left to the caller: topic alias mapping, Receive Maximum
//! accounting, "a Client MUST NOT send a Subscription Identifier in PUBLISH" (direction is not
//! known here), a zero-byte client id with Clean Session 0 in 3.1.1 (CONNACK 0x02), Topic Filter
//! syntax in SUBSCRIBE/UNSUBSCRIBE (5.0 answers it per filter with reason code 0x8F; see
//! [`is_valid_topic_filter`]), AUTH method matching the CONNECT method, and payload format checks.
//!
//! # Layout choices
//! * [`Properties`] is one flat struct shared by all packets; [`decode`] only fills the fields
//!   allowed for the packet at hand, and [`encode`] only writes those (others are silently
//!   dropped) and writes properties only for [`ProtocolVersion::V5`].
//! * For a [`Connect`], [`encode`] uses its `version` argument for the protocol name/level;
//!   [`Connect::protocol`] is what was decoded.
//! * 3.1 (`"MQIsdp"`, level 3) is decoded and encoded exactly like 3.1.1.
//! * Encoding for 3.1.x drops what the version cannot carry: properties, 5.0 reason codes in
//!   PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK/DISCONNECT, subscription options other than `QoS`, a
//!   password without user name; an AUTH packet encodes to nothing. 5.0 CONNACK reason codes are
//!   mapped to the 3.1.1 return codes ([`reason::connack_v5_to_v3`]) and SUBACK failure codes to
//!   0x80.
//! * Values the wire cannot carry are the caller's responsibility: strings and binary data longer
//!   than 65,535 bytes are truncated (strings at a char boundary), and a packet whose Remaining
//!   Length exceeds [`MAX_REMAINING_LENGTH`] produces bytes no peer will accept.
//! * Decoding is zero-copy for payloads: the frame is split off the input with
//!   `split_to(n).freeze()`, and `Publish::payload`, `correlation_data`, `authentication_data`,
//!   will payloads and passwords are [`bytes::Bytes`] slices of it.

mod decode;
mod decode_connect;
mod decode_sub;
mod encode;
mod error;
mod packet;
mod properties;
mod reader;
pub mod reason;
mod sink;
mod topic;

#[cfg(test)]
mod tests;

pub use decode::decode;
pub use encode::{encode, encoded_len};
pub use error::DecodeError;
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubResp, Publish, QoS, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, UnsubAck, Unsubscribe,
};
pub use properties::Properties;
pub use reason::reason_text;
pub use topic::{is_valid_topic_filter, is_valid_topic_name};

/// Largest value a Variable Byte Integer (and so the Remaining Length) can hold: 268,435,455.
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;
