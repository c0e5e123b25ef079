//! Framing (fixed header, 5.0 §2.1 / 3.1.1 §2.2) and the decoding of PUBLISH, the publish
//! acknowledgements, PINGREQ/PINGRESP, DISCONNECT and AUTH.

use bytes::BytesMut;

use super::decode_connect::{connack, connect};
use super::decode_sub::{suback, subscribe, unsuback, unsubscribe};
use super::error::DecodeError;
use super::packet::{Auth, Disconnect, Packet, ProtocolVersion, PubResp, Publish, QoS};
use super::properties::{self, Ctx, Properties};
use super::reader::Reader;
use super::reason::{self, CodeSet};

/// Parses one complete packet from the front of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold a whole packet; `buf` is then left untouched.
/// On success the packet's bytes are split off `buf` (`split_to(n).freeze()`), and the payload,
/// Correlation Data, Authentication Data, will payload and password are slices of that frame.
///
/// `version` is `None` until the connection's CONNECT has been read: then only CONNECT is
/// accepted (MQTT-3.1.0-1) and its own protocol name/level selects the version. Afterwards it is
/// the negotiated version, and a second CONNECT is a Protocol Error (MQTT-3.1.0-2). Apart from
/// that, decoding does not depend on the direction, so it serves the client side too.
///
/// `max_packet_size` bounds the whole packet (fixed header included) and is checked as soon as
/// the fixed header is complete, before the body is buffered; pass `u32::MAX` for no limit.
///
/// # Errors
/// Any [`DecodeError`]; the fixed-header checks (packet type, flags, version gating, size) are
/// reported as soon as the bytes they need are present. `buf` is left as it was (so the caller
/// can still look at the offending bytes); the connection must then be closed.
pub fn decode(buf: &mut BytesMut, version: Option<ProtocolVersion>, max_packet_size: u32) -> Result<Option<Packet>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    check_first_byte(first, version)?;
    let Some((remaining, len_bytes)) = remaining_length(buf.get(1..).unwrap_or_default())? else {
        return Ok(None);
    };
    let total = 1 + len_bytes + remaining;
    if total > usize::try_from(max_packet_size).unwrap_or(usize::MAX) {
        return Err(DecodeError::PacketTooLarge { size: total, max: max_packet_size });
    }
    if buf.len() < total {
        return Ok(None);
    }
    let frame = buf.split_to(total).freeze();
    let mut r = Reader::new(&frame, 1 + len_bytes);
    match body(first, &mut r, version) {
        Ok(packet) => Ok(Some(packet)),
        Err(e) => {
            // Error path only: put the frame back so the caller can still inspect it (e.g. read
            // the CONNECT protocol level to pick the CONNACK format).
            let mut restored = BytesMut::with_capacity(frame.len() + buf.len());
            restored.extend_from_slice(&frame);
            restored.extend_from_slice(buf);
            *buf = restored;
            Err(e)
        }
    }
}

/// Packet type and fixed-header flags (MQTT-2.2.2-1/2 in 3.1.1, MQTT-2.1.3-1 in 5.0), plus the
/// CONNECT ordering rules that `version` allows checking.
fn check_first_byte(first: u8, version: Option<ProtocolVersion>) -> Result<(), DecodeError> {
    let kind = first >> 4;
    let flags = first & 0x0F;
    if kind == 0 {
        return Err(DecodeError::MalformedPacket("packet type 0 is reserved"));
    }
    match version {
        None if kind != 1 => {
            return Err(DecodeError::ProtocolError("first packet is not CONNECT (MQTT-3.1.0-1)"));
        }
        Some(_) if kind == 1 => {
            return Err(DecodeError::ProtocolError("second CONNECT (MQTT-3.1.0-2)"));
        }
        Some(v) if kind == 15 && !v.is_v5() => {
            return Err(DecodeError::MalformedPacket("packet type 15 (AUTH) is reserved in 3.1.1"));
        }
        _ => {}
    }
    match kind {
        3 => {
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                return Err(DecodeError::MalformedPacket("PUBLISH with QoS 3 (MQTT-3.3.1-4)"));
            }
            if qos == 0 && flags & 0b1000 != 0 {
                return Err(DecodeError::MalformedPacket("DUP set on a QoS 0 PUBLISH (MQTT-3.3.1-2)"));
            }
            Ok(())
        }
        6 | 8 | 10 if flags != 0b0010 => {
            Err(DecodeError::MalformedPacket("PUBREL/SUBSCRIBE/UNSUBSCRIBE fixed header flags must be 0010 (MQTT-2.2.2-1)"))
        }
        6 | 8 | 10 => Ok(()),
        _ if flags != 0 => Err(DecodeError::MalformedPacket("reserved fixed header flags must be 0 (MQTT-2.2.2-1)")),
        _ => Ok(()),
    }
}

/// The Remaining Length after the first byte: `Ok(None)` while incomplete, otherwise the value
/// and the number of bytes it took. More than 4 bytes is malformed; non-minimal is accepted.
fn remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0usize;
    for (i, &b) in bytes.iter().take(4).enumerate() {
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 {
        return Err(DecodeError::MalformedPacket("remaining length longer than 4 bytes"));
    }
    Ok(None)
}

fn body(first: u8, r: &mut Reader<'_>, version: Option<ProtocolVersion>) -> Result<Packet, DecodeError> {
    let Some(v) = version else {
        return connect(r).map(|c| Packet::Connect(Box::new(c)));
    };
    let packet = match first >> 4 {
        2 => Packet::ConnAck(connack(r, v)?),
        3 => Packet::Publish(publish(r, first & 0x0F, v)?),
        4 => Packet::PubAck(pub_resp(r, v, CodeSet::PubAckRec)?),
        5 => Packet::PubRec(pub_resp(r, v, CodeSet::PubAckRec)?),
        6 => Packet::PubRel(pub_resp(r, v, CodeSet::PubRelComp)?),
        7 => Packet::PubComp(pub_resp(r, v, CodeSet::PubRelComp)?),
        8 => Packet::Subscribe(subscribe(r, v)?),
        9 => Packet::SubAck(suback(r, v)?),
        10 => Packet::Unsubscribe(unsubscribe(r, v)?),
        11 => Packet::UnsubAck(unsuback(r, v)?),
        12 => {
            r.finish()?;
            Packet::PingReq
        }
        13 => {
            r.finish()?;
            Packet::PingResp
        }
        14 => Packet::Disconnect(disconnect(r, v)?),
        15 => Packet::Auth(auth(r)?),
        _ => return Err(DecodeError::MalformedPacket("unexpected packet type")),
    };
    Ok(packet)
}

/// A Packet Identifier that must be non-zero (MQTT-2.3.1-1 in 3.1.1, MQTT-2.2.1-3 in 5.0).
pub(super) fn pkid(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::ProtocolError("Packet Identifier 0 (MQTT-2.3.1-1)")),
        id => Ok(id),
    }
}

/// A 5.0 reason code, checked against the packet's list.
pub(super) fn code(r: &mut Reader<'_>, set: CodeSet) -> Result<u8, DecodeError> {
    let code = r.u8()?;
    if reason::is_valid_for(set, code) { Ok(code) } else { Err(DecodeError::ProtocolError("reason code not allowed for this packet type")) }
}

fn publish(r: &mut Reader<'_>, flags: u8, v: ProtocolVersion) -> Result<Publish, DecodeError> {
    let qos = QoS::try_from((flags >> 1) & 0b11)?;
    let topic = r.string()?;
    let pkid = if qos == QoS::AtMostOnce { 0 } else { pkid(r)? };
    let properties = if v.is_v5() { properties::read(r, Ctx::Publish)? } else { Properties::default() };
    if topic.is_empty() {
        if !v.is_v5() {
            return Err(DecodeError::TopicNameInvalid("zero-length Topic Name (MQTT-4.7.3-1)"));
        }
        if properties.topic_alias.is_none() {
            return Err(DecodeError::ProtocolError("zero-length Topic Name without Topic Alias"));
        }
    } else if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeError::TopicNameInvalid("wildcard in Topic Name (MQTT-3.3.2-2)"));
    }
    Ok(Publish { dup: flags & 0b1000 != 0, qos, retain: flags & 1 != 0, topic, pkid, payload: r.rest(), properties })
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP. 5.0 allows Remaining Length 2 (Success, no properties) and
/// 3 (no properties) (5.0 §3.4.2.1 / §3.4.2.2.1); 3.1.1 is exactly 2.
fn pub_resp(r: &mut Reader<'_>, v: ProtocolVersion, set: CodeSet) -> Result<PubResp, DecodeError> {
    let pkid = pkid(r)?;
    let mut resp = PubResp { pkid, ..PubResp::default() };
    if v.is_v5() {
        if !r.is_empty() {
            resp.code = code(r, set)?;
        }
        if !r.is_empty() {
            resp.properties = properties::read(r, Ctx::PubResp)?;
        }
    }
    r.finish()?;
    Ok(resp)
}

/// DISCONNECT: no body in 3.1.1; in 5.0 Remaining Length 0 means Normal disconnection and 1 means
/// a reason code without properties (5.0 §3.14.2.1 / §3.14.2.2.1).
fn disconnect(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<Disconnect, DecodeError> {
    let mut d = Disconnect::default();
    if v.is_v5() {
        if !r.is_empty() {
            d.code = code(r, CodeSet::Disconnect)?;
        }
        if !r.is_empty() {
            d.properties = properties::read(r, Ctx::Disconnect)?;
        }
    }
    r.finish()?;
    Ok(d)
}

/// AUTH (5.0 only): Remaining Length 0 means Success without properties (5.0 §3.15.2.1);
/// otherwise reason code, properties, and an Authentication Method (5.0 §3.15.2.2.2).
fn auth(r: &mut Reader<'_>) -> Result<Auth, DecodeError> {
    if r.is_empty() {
        return Ok(Auth::default());
    }
    let code = code(r, CodeSet::Auth)?;
    let properties = properties::read(r, Ctx::Auth)?;
    r.finish()?;
    if properties.authentication_method.is_none() {
        return Err(DecodeError::ProtocolError("AUTH without Authentication Method"));
    }
    Ok(Auth { code, properties })
}
