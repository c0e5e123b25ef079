//! Decoding of CONNECT (5.0 §3.1 / 3.1.1 §3.1) and CONNACK (5.0 §3.2 / 3.1.1 §3.2).

use super::decode::code;
use super::error::DecodeError;
use super::packet::{ConnAck, Connect, LastWill, ProtocolVersion, QoS};
use super::properties::{self, Ctx, Properties};
use super::reader::Reader;
use super::reason::CodeSet;
use super::topic::is_valid_topic_name;

const RESERVED: u8 = 0x01;
const CLEAN_START: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

pub(super) fn connect(r: &mut Reader<'_>) -> Result<Connect, DecodeError> {
    let name_len = usize::from(r.u16()?);
    let name = r.bytes(name_len)?;
    let level = r.u8()?;
    let protocol = match (name, level) {
        (b"MQIsdp", 3) => ProtocolVersion::V31,
        (b"MQTT", 4) => ProtocolVersion::V311,
        (b"MQTT", 5) => ProtocolVersion::V5,
        // MQTT-3.1.2-1 (unknown name) and MQTT-3.1.2-2 (unsupported level): CONNACK 0x01 / 0x84.
        _ => return Err(DecodeError::UnsupportedProtocolVersion(level)),
    };
    let v5 = protocol.is_v5();
    let flags = r.u8()?;
    if flags & RESERVED != 0 {
        return Err(DecodeError::MalformedPacket("CONNECT reserved flag is set (MQTT-3.1.2-3)"));
    }
    let will_flag = flags & WILL != 0;
    let will_qos_bits = (flags >> 3) & 0b11;
    let will_retain = flags & WILL_RETAIN != 0;
    if !will_flag && will_qos_bits != 0 {
        // 3.1.1: MQTT-3.1.2-11/13; 5.0: MQTT-3.1.2-11.
        return Err(DecodeError::MalformedPacket("Will QoS set without Will Flag (MQTT-3.1.2-13)"));
    }
    if !will_flag && will_retain {
        // 3.1.1: MQTT-3.1.2-15; 5.0: MQTT-3.1.2-13.
        return Err(DecodeError::MalformedPacket("Will Retain set without Will Flag (MQTT-3.1.2-15)"));
    }
    // 3.1.1: MQTT-3.1.2-14; 5.0: MQTT-3.1.2-12 ("A value of 3 (0x03) is a Malformed Packet").
    let will_qos = QoS::try_from(will_qos_bits).map_err(|_| DecodeError::MalformedPacket("Will QoS 3 (MQTT-3.1.2-14)"))?;
    let username_flag = flags & USERNAME != 0;
    let password_flag = flags & PASSWORD != 0;
    if !v5 && password_flag && !username_flag {
        return Err(DecodeError::ProtocolError("Password Flag without User Name Flag (MQTT-3.1.2-22)"));
    }
    let keep_alive = r.u16()?;
    let properties = if v5 { properties::read(r, Ctx::Connect)? } else { Properties::default() };
    if properties.authentication_data.is_some() && properties.authentication_method.is_none() {
        // 5.0 §3.1.2.11.10.
        return Err(DecodeError::ProtocolError("Authentication Data without Authentication Method"));
    }
    let client_id = r.string()?;
    let will = if will_flag {
        let properties = if v5 { properties::read(r, Ctx::Will)? } else { Properties::default() };
        let topic = r.string()?;
        if !is_valid_topic_name(&topic) {
            return Err(DecodeError::TopicNameInvalid("Will Topic is empty or has wildcards"));
        }
        let payload = r.binary()?;
        Some(LastWill { topic, payload, qos: will_qos, retain: will_retain, properties })
    } else {
        None
    };
    let username = if username_flag { Some(r.string()?) } else { None };
    let password = if password_flag { Some(r.binary()?) } else { None };
    r.finish()?;
    Ok(Connect { protocol, clean_start: flags & CLEAN_START != 0, keep_alive, client_id, will, username, password, properties })
}

pub(super) fn connack(r: &mut Reader<'_>, v: ProtocolVersion) -> Result<ConnAck, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xFE != 0 {
        return Err(DecodeError::MalformedPacket("CONNACK reserved flags are set (MQTT-3.2.2-1)"));
    }
    let session_present = flags & 1 != 0;
    let (code, properties) = if v.is_v5() {
        let code = code(r, CodeSet::ConnAck)?;
        (code, properties::read(r, Ctx::ConnAck)?)
    } else {
        let code = r.u8()?;
        if code > 5 {
            return Err(DecodeError::MalformedPacket("CONNACK return code above 5 is reserved"));
        }
        (code, Properties::default())
    };
    r.finish()?;
    if session_present && code != 0 {
        // 3.1.1: MQTT-3.2.2-4; 5.0: MQTT-3.2.2-6.
        return Err(DecodeError::ProtocolError("Session Present with a non-zero CONNACK code"));
    }
    Ok(ConnAck { session_present, code, properties })
}
