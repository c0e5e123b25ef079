//! Encoding of every packet. The body is emitted through [`Sink`] into a [`Counter`] first (for
//! the Remaining Length and [`encoded_len`]) and then into the output, so both always agree.

use bytes::BytesMut;

use super::packet::{Connect, Packet, ProtocolVersion, PubResp, QoS, SubscriptionOptions};
use super::properties::{self, Ctx, Properties};
use super::reason;
use super::sink::{Counter, Sink, len_u32, varint_len};

/// Appends the encoding of `packet` for a connection of `version` to `out`.
///
/// Properties are written only for [`ProtocolVersion::V5`], and only those allowed in the packet
/// type. What `version` cannot carry is dropped (see the module documentation); in particular an
/// AUTH packet appends nothing for 3.1.x. 5.0 uses the short forms of PUBACK/PUBREC/PUBREL/
/// PUBCOMP, DISCONNECT and AUTH when the reason code is 0 and there are no properties.
pub fn encode(packet: &Packet, version: ProtocolVersion, out: &mut BytesMut) {
    if is_dropped(packet, version) {
        return;
    }
    let mut counter = Counter::default();
    body(packet, version, &mut counter);
    let remaining = len_u32(counter.0);
    out.reserve(1 + varint_len(remaining) + counter.0);
    out.u8(first_byte(packet));
    out.varint(remaining);
    body(packet, version, out);
}

/// The exact number of bytes [`encode`] appends for `packet` and `version` (the "packet size"
/// compared with a peer's Maximum Packet Size).
#[must_use]
pub fn encoded_len(packet: &Packet, version: ProtocolVersion) -> usize {
    if is_dropped(packet, version) {
        return 0;
    }
    let mut counter = Counter::default();
    body(packet, version, &mut counter);
    1 + varint_len(len_u32(counter.0)) + counter.0
}

/// AUTH does not exist before 5.0.
const fn is_dropped(packet: &Packet, version: ProtocolVersion) -> bool {
    matches!(packet, Packet::Auth(_)) && !version.is_v5()
}

fn first_byte(packet: &Packet) -> u8 {
    let flags = match packet {
        Packet::Publish(p) => {
            let dup = p.dup && p.qos != QoS::AtMostOnce;
            u8::from(dup) << 3 | (p.qos as u8) << 1 | u8::from(p.retain)
        }
        Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => 0b0010,
        _ => 0,
    };
    packet.packet_type() << 4 | flags
}

fn body<S: Sink>(packet: &Packet, v: ProtocolVersion, s: &mut S) {
    let v5 = v.is_v5();
    match packet {
        Packet::Connect(c) => connect(c, v, s),
        Packet::ConnAck(c) => {
            s.u8(u8::from(c.session_present));
            if v5 {
                s.u8(c.code);
                properties::write(&c.properties, Ctx::ConnAck, s);
            } else {
                s.u8(reason::connack_v5_to_v3(c.code));
            }
        }
        Packet::Publish(p) => {
            s.str(&p.topic);
            if p.qos != QoS::AtMostOnce {
                s.u16(p.pkid);
            }
            if v5 {
                properties::write(&p.properties, Ctx::Publish, s);
            }
            s.raw(&p.payload);
        }
        Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r) | Packet::PubComp(r) => {
            pub_resp(r, v5, s);
        }
        Packet::Subscribe(sub) => {
            s.u16(sub.pkid);
            if v5 {
                properties::write(&sub.properties, Ctx::Subscribe, s);
            }
            for (filter, options) in &sub.filters {
                s.str(filter);
                s.u8(options_byte(*options, v5));
            }
        }
        Packet::SubAck(ack) => {
            s.u16(ack.pkid);
            if v5 {
                properties::write(&ack.properties, Ctx::SubAck, s);
                s.raw(&ack.codes);
            } else {
                for &code in &ack.codes {
                    s.u8(if code >= 0x80 { reason::SUBACK_V3_FAILURE } else { code });
                }
            }
        }
        Packet::Unsubscribe(unsub) => {
            s.u16(unsub.pkid);
            if v5 {
                properties::write(&unsub.properties, Ctx::Unsubscribe, s);
            }
            for filter in &unsub.filters {
                s.str(filter);
            }
        }
        Packet::UnsubAck(ack) => {
            s.u16(ack.pkid);
            if v5 {
                properties::write(&ack.properties, Ctx::UnsubAck, s);
                s.raw(&ack.codes);
            }
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            if v5 {
                // A reason code may stand alone (5.0 §3.14.2.2.1), but rumqttc 0.25 then fails to
                // decode it: with the (empty) property length too, every client reads the reason.
                reason_and_props(d.code, &d.properties, Ctx::Disconnect, false, s);
            }
        }
        Packet::Auth(a) => reason_and_props(a.code, &a.properties, Ctx::Auth, false, s),
    }
}

fn pub_resp<S: Sink>(r: &PubResp, v5: bool, s: &mut S) {
    s.u16(r.pkid);
    if v5 {
        reason_and_props(r.code, &r.properties, Ctx::PubResp, true, s);
    }
}

/// 5.0 "Reason Code, then properties" tail: nothing when the code is 0 and there are no
/// properties; just the code when there are no properties and `code_only_form` exists.
fn reason_and_props<S: Sink>(code: u8, props: &Properties, ctx: Ctx, code_only_form: bool, s: &mut S) {
    let empty = properties::body_len(props, ctx) == 0;
    if code == reason::SUCCESS && empty {
        return;
    }
    s.u8(code);
    if !(empty && code_only_form) {
        properties::write(props, ctx, s);
    }
}

fn options_byte(o: SubscriptionOptions, v5: bool) -> u8 {
    let qos = o.qos as u8;
    if !v5 {
        return qos;
    }
    (o.retain_handling as u8) << 4 | u8::from(o.retain_as_published) << 3 | u8::from(o.no_local) << 2 | qos
}

fn connect<S: Sink>(c: &Connect, v: ProtocolVersion, s: &mut S) {
    let v5 = v.is_v5();
    // 3.1.1 cannot carry a password without a user name (MQTT-3.1.2-22): drop it.
    let password = c.password.as_ref().filter(|_| v5 || c.username.is_some());
    let mut flags = u8::from(c.clean_start) << 1;
    if let Some(w) = &c.will {
        flags |= 0x04 | (w.qos as u8) << 3 | u8::from(w.retain) << 5;
    }
    if password.is_some() {
        flags |= 0x40;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    s.str(v.protocol_name());
    s.u8(v.level());
    s.u8(flags);
    s.u16(c.keep_alive);
    if v5 {
        properties::write(&c.properties, Ctx::Connect, s);
    }
    s.str(&c.client_id);
    if let Some(w) = &c.will {
        if v5 {
            properties::write(&w.properties, Ctx::Will, s);
        }
        s.str(&w.topic);
        s.bin(&w.payload);
    }
    if let Some(u) = &c.username {
        s.str(u);
    }
    if let Some(p) = password {
        s.bin(p);
    }
}
