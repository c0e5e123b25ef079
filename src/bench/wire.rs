//! The bench's own MQTT wire format: just the packets a load generator sends, encoded straight
//! into a caller's buffer, and a streaming decoder for what comes back that never allocates on the
//! hot path (PUBLISH, the publish acknowledgements, PINGRESP).
//!
//! Rare packets (CONNACK, SUBACK, DISCONNECT, ...) are handed to the project's strict codec.
//! MQTT 3.1.1 and 5.0; in 5.0 every packet is sent with an empty property list.
//! Owns: byte layouts. Knows nothing of sockets, timing or statistics.

use bytes::{BufMut as _, BytesMut};

use crate::broker::codec::{self, DecodeError, Packet, ProtocolVersion};

/// A packet the bench could not make sense of; the connection is then closed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The fast path found an impossible layout.
    #[error("malformed packet from the broker: {0}")]
    Malformed(&'static str),
    /// The strict codec rejected a control packet.
    #[error("malformed control packet from the broker: {0}")]
    Codec(#[from] DecodeError),
}

/// Which of the four publish acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// PUBACK (QoS 1).
    PubAck = 4,
    /// PUBREC (QoS 2, first answer).
    PubRec = 5,
    /// PUBREL (QoS 2, the publisher's release).
    PubRel = 6,
    /// PUBCOMP (QoS 2, end of the flow).
    PubComp = 7,
}

/// An incoming PUBLISH, borrowed from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming<'a> {
    /// QoS of this delivery (0..=2).
    pub qos: u8,
    /// RETAIN flag.
    pub retain: bool,
    /// Packet Identifier (0 for QoS 0).
    pub pkid: u16,
    /// Topic Name bytes.
    pub topic: &'a [u8],
    /// Application payload.
    pub payload: &'a [u8],
}

/// One decoded packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// PUBLISH (fast path).
    Publish(Incoming<'a>),
    /// PUBACK/PUBREC/PUBREL/PUBCOMP (fast path); `code` is the 5.0 reason code (0 in 3.1.1).
    Ack {
        /// Which acknowledgement.
        kind: AckKind,
        /// Packet Identifier.
        pkid: u16,
        /// Reason code (>= 0x80 is a failure).
        code: u8,
    },
    /// PINGRESP.
    PingResp,
    /// Anything else, decoded by the project's codec (boxed: rare and large).
    Other(Box<Packet>),
}

/// Reads a Variable Byte Integer: `Ok(None)` while incomplete, else (value, bytes used).
fn varint(bytes: &[u8]) -> Result<Option<(usize, usize)>, WireError> {
    let mut value = 0usize;
    for (i, &b) in bytes.iter().take(4).enumerate() {
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 { Err(WireError::Malformed("variable byte integer longer than 4 bytes")) } else { Ok(None) }
}

/// Appends a Variable Byte Integer.
fn put_varint(out: &mut impl bytes::BufMut, mut value: usize) {
    loop {
        #[expect(clippy::cast_possible_truncation, reason = "masked to 7 bits")]
        let mut byte = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if value == 0 {
            return;
        }
    }
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.put_u16(len);
    out.put_slice(s.get(..usize::from(len)).unwrap_or(s));
}

/// Parses the packet at the front of `buf`. Returns the frame and its length in bytes, or
/// `Ok(None)` when `buf` does not hold a whole packet yet.
///
/// # Errors
/// When the bytes are not a valid packet.
pub fn parse(buf: &[u8], version: ProtocolVersion) -> Result<Option<(Frame<'_>, usize)>, WireError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let Some((remaining, len_bytes)) = varint(buf.get(1..).unwrap_or_default())? else { return Ok(None) };
    let total = 1 + len_bytes + remaining;
    let Some(body) = buf.get(1 + len_bytes..total) else { return Ok(None) };
    let frame = match first >> 4 {
        3 => Frame::Publish(publish(first, body, version)?),
        kind @ 4..=7 => {
            let [hi, lo, rest @ ..] = body else { return Err(WireError::Malformed("acknowledgement shorter than 2 bytes")) };
            let kind = match kind {
                4 => AckKind::PubAck,
                5 => AckKind::PubRec,
                6 => AckKind::PubRel,
                _ => AckKind::PubComp,
            };
            Frame::Ack { kind, pkid: u16::from_be_bytes([*hi, *lo]), code: rest.first().copied().unwrap_or(0) }
        }
        13 => Frame::PingResp,
        _ => {
            let mut copy = BytesMut::from(buf.get(..total).unwrap_or_default());
            match codec::decode(&mut copy, Some(version), u32::MAX)? {
                Some(packet) => Frame::Other(Box::new(packet)),
                None => return Err(WireError::Malformed("codec wanted more bytes than the frame holds")),
            }
        }
    };
    Ok(Some((frame, total)))
}

fn publish(first: u8, body: &[u8], version: ProtocolVersion) -> Result<Incoming<'_>, WireError> {
    let qos = (first >> 1) & 0b11;
    let [th, tl, rest @ ..] = body else { return Err(WireError::Malformed("PUBLISH without a topic length")) };
    let topic_len = usize::from(u16::from_be_bytes([*th, *tl]));
    let (Some(topic), Some(mut rest)) = (rest.get(..topic_len), rest.get(topic_len..)) else {
        return Err(WireError::Malformed("PUBLISH topic longer than the packet"));
    };
    let mut pkid = 0;
    if qos > 0 {
        let [hi, lo, after @ ..] = rest else { return Err(WireError::Malformed("PUBLISH without a packet identifier")) };
        pkid = u16::from_be_bytes([*hi, *lo]);
        rest = after;
    }
    if version.is_v5() {
        let Some((props_len, used)) = varint(rest)? else { return Err(WireError::Malformed("PUBLISH properties cut short")) };
        rest = rest.get(used + props_len..).ok_or(WireError::Malformed("PUBLISH properties longer than the packet"))?;
    }
    Ok(Incoming { qos, retain: first & 1 != 0, pkid, topic, payload: rest })
}

/// Appends CONNECT with Clean Session / Clean Start set and no will, user name or properties.
pub fn connect(out: &mut BytesMut, version: ProtocolVersion, client_id: &str, keep_alive_secs: u16) {
    connect_session(out, version, client_id, keep_alive_secs, None);
}

/// Appends CONNECT; with `keep_session` (its Session Expiry Interval in 5.0), Clean Session / Clean
/// Start is 0 and the broker keeps the session (and, with persistence, journals what is queued to it).
pub fn connect_session(out: &mut BytesMut, version: ProtocolVersion, client_id: &str, keep_alive_secs: u16, keep_session: Option<u32>) {
    let v5 = version.is_v5();
    let props = if v5 { 1 + keep_session.map_or(0, |_| 5) } else { 0 };
    let remaining = 2 + 4 + 1 + 1 + 2 + props + 2 + client_id.len();
    out.put_u8(0x10);
    put_varint(out, remaining);
    put_str(out, b"MQTT");
    out.put_u8(version.level());
    out.put_u8(if keep_session.is_some() { 0x00 } else { 0x02 });
    out.put_u16(keep_alive_secs);
    if v5 {
        match keep_session {
            Some(expiry) => {
                out.put_u8(5);
                out.put_u8(0x11); // Session Expiry Interval
                out.put_u32(expiry);
            }
            None => out.put_u8(0),
        }
    }
    put_str(out, client_id.as_bytes());
}

/// Appends SUBSCRIBE for one filter at `qos`.
pub fn subscribe(out: &mut BytesMut, version: ProtocolVersion, pkid: u16, filter: &str, qos: u8) {
    let v5 = version.is_v5();
    out.put_u8(0x82);
    put_varint(out, 2 + usize::from(v5) + 2 + filter.len() + 1);
    out.put_u16(pkid);
    if v5 {
        out.put_u8(0);
    }
    put_str(out, filter.as_bytes());
    out.put_u8(qos);
}

/// Appends a publish acknowledgement (the short form, valid in 3.1.1 and 5.0).
pub fn ack(out: &mut BytesMut, kind: AckKind, pkid: u16) {
    let flags = if kind == AckKind::PubRel { 0b0010 } else { 0 };
    out.put_u8((kind as u8) << 4 | flags);
    out.put_u8(2);
    out.put_u16(pkid);
}

/// Appends PINGREQ.
pub fn pingreq(out: &mut BytesMut) {
    out.put_slice(&[0xC0, 0]);
}

/// Appends DISCONNECT (normal disconnection; the 5.0 short form).
pub fn disconnect(out: &mut BytesMut) {
    out.put_slice(&[0xE0, 0]);
}

/// The bytes every PUBLISH to one topic starts with (fixed header, Remaining Length, topic),
/// built once so that sending a message is three appends: this prefix, the packet identifier and
/// properties (see [`publish_tail`]), and the payload of `payload_len` bytes.
#[must_use]
pub fn publish_prefix(topic: &str, qos: u8, retain: bool, payload_len: usize, version: ProtocolVersion) -> Vec<u8> {
    let remaining = 2 + topic.len() + if qos > 0 { 2 } else { 0 } + usize::from(version.is_v5()) + payload_len;
    let mut out = BytesMut::with_capacity(topic.len() + 8);
    out.put_u8(0x30 | (qos & 0b11) << 1 | u8::from(retain));
    put_varint(&mut out, remaining);
    put_str(&mut out, topic.as_bytes());
    out.to_vec()
}

/// Appends what follows the prefix and precedes the payload: the packet identifier (QoS > 0) and
/// the empty 5.0 property list.
pub fn publish_tail(out: &mut BytesMut, qos: u8, pkid: u16, version: ProtocolVersion) {
    if qos > 0 {
        out.put_u16(pkid);
    }
    if version.is_v5() {
        out.put_u8(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::codec::QoS;

    const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

    #[test]
    fn connect_and_subscribe_are_what_the_strict_codec_expects() {
        for v in VERSIONS {
            let mut out = BytesMut::new();
            connect(&mut out, v, "bench-1", 30);
            let Some(Packet::Connect(c)) = codec::decode(&mut out, None, u32::MAX).expect("connect") else { panic!("not CONNECT") };
            assert_eq!((c.protocol, c.client_id.as_str(), c.keep_alive, c.clean_start), (v, "bench-1", 30, true));
            connect_session(&mut out, v, "bench-2", 30, Some(60));
            let Some(Packet::Connect(c)) = codec::decode(&mut out, None, u32::MAX).expect("connect") else { panic!("not CONNECT") };
            assert!(!c.clean_start);
            let expiry = if v == ProtocolVersion::V5 { Some(60) } else { None };
            assert_eq!(c.properties.session_expiry_interval, expiry);
            subscribe(&mut out, v, 7, "a/#", 2);
            let Some(Packet::Subscribe(s)) = codec::decode(&mut out, Some(v), u32::MAX).expect("subscribe") else {
                panic!("not SUBSCRIBE")
            };
            assert_eq!((s.pkid, s.filters[0].0.as_str(), s.filters[0].1.qos), (7, "a/#", QoS::ExactlyOnce));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn publish_round_trips_through_both_decoders() {
        for v in VERSIONS {
            for qos in 0..=2u8 {
                let payload = [9u8; 300];
                let mut out = BytesMut::new();
                out.extend_from_slice(&publish_prefix("bench/x/42", qos, qos == 1, payload.len(), v));
                publish_tail(&mut out, qos, 513, v);
                out.extend_from_slice(&payload);
                let (Frame::Publish(p), used) = parse(&out, v).expect("parse").expect("complete") else { panic!("not PUBLISH") };
                assert_eq!(used, out.len());
                assert_eq!((p.qos, p.retain, p.topic, p.payload), (qos, qos == 1, &b"bench/x/42"[..], &payload[..]));
                assert_eq!(p.pkid, if qos > 0 { 513 } else { 0 });
                let Some(Packet::Publish(strict)) = codec::decode(&mut out, Some(v), u32::MAX).expect("strict") else { panic!() };
                assert_eq!((strict.topic.as_str(), strict.payload.len()), ("bench/x/42", 300));
            }
        }
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut out = BytesMut::new();
        out.extend_from_slice(&publish_prefix("t", 1, false, 200, ProtocolVersion::V311));
        publish_tail(&mut out, 1, 1, ProtocolVersion::V311);
        out.extend_from_slice(&[0; 200]);
        for cut in 0..out.len() {
            assert!(parse(&out[..cut], ProtocolVersion::V311).expect("prefix").is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn acks_and_control_packets() {
        for v in VERSIONS {
            let mut out = BytesMut::new();
            ack(&mut out, AckKind::PubRel, 9);
            let Some(Packet::PubRel(r)) = codec::decode(&mut out, Some(v), u32::MAX).expect("pubrel") else { panic!() };
            assert_eq!(r.pkid, 9);
            ack(&mut out, AckKind::PubComp, 10);
            assert_eq!(parse(&out, v).expect("ok"), Some((Frame::Ack { kind: AckKind::PubComp, pkid: 10, code: 0 }, 4)));
        }
        let v5_puback_with_code = [0x40, 3, 0, 5, 0x97];
        assert_eq!(
            parse(&v5_puback_with_code, ProtocolVersion::V5).expect("ok"),
            Some((Frame::Ack { kind: AckKind::PubAck, pkid: 5, code: 0x97 }, 5))
        );
        let connack = [0x20, 2, 0, 0];
        let Ok(Some((Frame::Other(packet), 4))) = parse(&connack, ProtocolVersion::V311) else { panic!("CONNACK not parsed") };
        assert!(matches!(*packet, Packet::ConnAck(_)));
        let mut ping = BytesMut::new();
        pingreq(&mut ping);
        disconnect(&mut ping);
        assert_eq!(&ping[..], &[0xC0, 0, 0xE0, 0]);
    }

    #[test]
    fn long_remaining_lengths_are_encoded_in_several_bytes() {
        let prefix = publish_prefix("t", 0, false, 20_000, ProtocolVersion::V311);
        assert_eq!(prefix.len(), 1 + 3 + 2 + 1);
        assert_eq!(varint(&prefix[1..]).expect("ok"), Some((20_003, 3)));
    }
}
