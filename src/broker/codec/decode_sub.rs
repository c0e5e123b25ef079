//! Decoding of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (5.0 §3.8–3.11, 3.1.1 §3.8–3.11).

use super::decode::pkid;
use super::error::DecodeError;
use super::packet::{ProtocolVersion, QoS, RetainHandling, SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe};
use super::properties::{self, Ctx, Properties};
use super::reader::Reader;
use super::reason::{self, CodeSet};

fn props(r: &mut Reader<'_>, v: ProtocolVersion, ctx: Ctx) -> Result<Properties, DecodeError> {
    if v.is_v5() { properties::read(r, ctx) } else { Ok(Properties::default()) }
}

pub(super) fn subscribe(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<Subscribe, DecodeError> {
    let pkid = pkid(r)?;
    let properties = props(r, v, Ctx::Subscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string()?;
        let options = options(r.u8()?, v)?;
        if options.no_local && filter.starts_with("$share/") {
            return Err(DecodeError::ProtocolError("No Local on a Shared Subscription (MQTT-3.8.3-4)"));
        }
        filters.push((filter, options));
    }
    if filters.is_empty() {
        return Err(DecodeError::ProtocolError("SUBSCRIBE without Topic Filter (MQTT-3.8.3-3)"));
    }
    Ok(Subscribe { pkid, filters, properties })
}

/// Subscription Options byte: 3.1.1 only has the `QoS` in bits 0-1, bits 2-7 reserved
/// (MQTT-3-8.3-4); 5.0 adds No Local, Retain As Published, Retain Handling, bits 6-7 reserved
/// (MQTT-3.8.3-5).
fn options(byte: u8, v: ProtocolVersion) -> Result<SubscriptionOptions, DecodeError> {
    if !v.is_v5() {
        if byte & 0b1111_1100 != 0 {
            return Err(DecodeError::MalformedPacket("reserved subscription option bits (MQTT-3-8.3-4)"));
        }
        let qos = QoS::try_from(byte).map_err(|_| DecodeError::MalformedPacket("subscription QoS 3 (MQTT-3-8.3-4)"))?;
        return Ok(SubscriptionOptions { qos, ..SubscriptionOptions::default() });
    }
    if byte & 0b1100_0000 != 0 {
        return Err(DecodeError::MalformedPacket("reserved subscription option bits (MQTT-3.8.3-5)"));
    }
    // 5.0 §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3."
    let qos = QoS::try_from(byte & 0b11).map_err(|_| DecodeError::ProtocolError("subscription Maximum QoS 3"))?;
    Ok(SubscriptionOptions {
        qos,
        no_local: byte & 0b0100 != 0,
        retain_as_published: byte & 0b1000 != 0,
        retain_handling: RetainHandling::try_from((byte >> 4) & 0b11)?,
    })
}

pub(super) fn suback(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<SubAck, DecodeError> {
    let pkid = pkid(r)?;
    let properties = props(r, v, Ctx::SubAck)?;
    let codes = r.rest_bytes();
    if codes.is_empty() {
        return Err(DecodeError::ProtocolError("SUBACK without return codes"));
    }
    for &c in codes {
        if v.is_v5() {
            if !reason::is_valid_for(CodeSet::SubAck, c) {
                return Err(DecodeError::ProtocolError("SUBACK reason code not allowed (MQTT-3.9.3-1)"));
            }
        } else if !matches!(c, 0 | 1 | 2 | 0x80) {
            return Err(DecodeError::MalformedPacket("SUBACK return code other than 0, 1, 2, 0x80 (MQTT-3.9.3-2)"));
        }
    }
    let codes = codes.to_vec();
    Ok(SubAck { pkid, codes, properties })
}

pub(super) fn unsubscribe(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<Unsubscribe, DecodeError> {
    let pkid = pkid(r)?;
    let properties = props(r, v, Ctx::Unsubscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(r.string()?);
    }
    if filters.is_empty() {
        return Err(DecodeError::ProtocolError("UNSUBSCRIBE without Topic Filter (MQTT-3.10.3-2)"));
    }
    Ok(Unsubscribe { pkid, filters, properties })
}

/// UNSUBACK: 3.1.1 is exactly the Packet Identifier; 5.0 adds properties and one reason code per
/// filter.
pub(super) fn unsuback(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<UnsubAck, DecodeError> {
    let pkid = pkid(r)?;
    if !v.is_v5() {
        r.finish()?;
        return Ok(UnsubAck { pkid, ..UnsubAck::default() });
    }
    let properties = properties::read(r, Ctx::UnsubAck)?;
    let codes = r.rest_bytes();
    if codes.is_empty() {
        return Err(DecodeError::ProtocolError("UNSUBACK without reason codes"));
    }
    if !codes.iter().all(|&c| reason::is_valid_for(CodeSet::UnsubAck, c)) {
        return Err(DecodeError::ProtocolError("UNSUBACK reason code not allowed (MQTT-3.11.3-1)"));
    }
    let codes = codes.to_vec();
    Ok(UnsubAck { pkid, codes, properties })
}
