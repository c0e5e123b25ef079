//! One packet of the trace decoded into the explorer's row: its columns and a readable dump of
//! every field and property. Called only for traced clients, off the path of every other one.
//!
//! Owns: [`row`]. Passwords and authentication data are never copied: the dump says only that
//! they were there ("<redacted>"), so a trace can be shown, copied or screenshotted safely.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use super::codec::{Connect, Packet, Properties, Subscribe, reason};
use crate::model::QoS;
use crate::model::packet_trace::{Direction, TracedPacket};

/// Longest payload shown in a dump, bytes (the size column has the real size).
const PAYLOAD_SHOWN: usize = 256;

/// What a password or authentication data shows as.
pub const REDACTED: &str = "<redacted>";

/// The row for `packet`, `size` bytes on the wire, read or written for `client_id`.
#[must_use]
pub fn row(seq: u64, at: SystemTime, client_id: Arc<str>, direction: Direction, packet: &Packet, size: usize) -> TracedPacket {
    let mut r = TracedPacket {
        seq,
        at,
        client_id,
        direction,
        kind: packet.name(),
        pkid: None,
        qos: None,
        flags: String::new(),
        reason: None,
        size,
        topic: None,
        detail: String::new(),
    };
    let d = &mut r.detail;
    match packet {
        Packet::Connect(c) => {
            r.flags = if c.clean_start { "clean start".into() } else { String::new() };
            r.qos = c.will.as_ref().map(|w| QoS::from_u8(w.qos as u8));
            connect(d, c);
        }
        Packet::ConnAck(a) => {
            r.reason = Some(a.code);
            r.flags = if a.session_present { "session present".into() } else { String::new() };
            line(d, "session present", a.session_present);
            code(d, a.code);
            props(d, "", &a.properties);
        }
        Packet::Publish(p) => {
            r.pkid = (p.pkid != 0).then_some(p.pkid);
            r.qos = Some(QoS::from_u8(p.qos as u8));
            r.flags = [(p.dup, "DUP"), (p.retain, "RETAIN")].iter().filter(|f| f.0).map(|f| f.1).collect::<Vec<_>>().join(" ");
            r.topic = Some(p.topic.clone());
            line(d, "topic", &p.topic);
            line(d, "QoS", p.qos as u8);
            line(d, "packet id", p.pkid);
            line(d, "DUP", p.dup);
            line(d, "RETAIN", p.retain);
            payload(d, "payload", &p.payload);
            props(d, "", &p.properties);
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            r.pkid = Some(a.pkid);
            r.reason = Some(a.code);
            line(d, "packet id", a.pkid);
            code(d, a.code);
            props(d, "", &a.properties);
        }
        Packet::Subscribe(s) => {
            r.pkid = Some(s.pkid);
            r.topic = Some(s.filters.iter().map(|f| f.0.as_str()).collect::<Vec<_>>().join(", "));
            subscribe(d, s);
        }
        Packet::SubAck(a) => {
            (r.pkid, r.reason) = (Some(a.pkid), acks(d, a.pkid, &a.codes, &a.properties));
        }
        Packet::Unsubscribe(u) => {
            r.pkid = Some(u.pkid);
            r.topic = Some(u.filters.join(", "));
            line(d, "packet id", u.pkid);
            for f in &u.filters {
                line(d, "filter", f);
            }
            props(d, "", &u.properties);
        }
        Packet::UnsubAck(a) => {
            (r.pkid, r.reason) = (Some(a.pkid), acks(d, a.pkid, &a.codes, &a.properties));
        }
        Packet::PingReq | Packet::PingResp => line(d, "fields", "none"),
        Packet::Disconnect(x) => {
            r.reason = Some(x.code);
            code(d, x.code);
            props(d, "", &x.properties);
        }
        Packet::Auth(a) => {
            r.reason = Some(a.code);
            code(d, a.code);
            props(d, "", &a.properties);
        }
    }
    r
}

/// Every field of a CONNECT, the password and authentication data left out.
fn connect(d: &mut String, c: &Connect) {
    line(d, "protocol", format!("{} level {}", c.protocol.protocol_name(), c.protocol.level()));
    line(d, "client id", &c.client_id);
    line(d, "clean start", c.clean_start);
    line(d, "keep alive", format!("{} s", c.keep_alive));
    if let Some(user) = &c.username {
        line(d, "user name", user);
    }
    if c.password.is_some() {
        line(d, "password", REDACTED);
    }
    props(d, "", &c.properties);
    if let Some(w) = &c.will {
        line(d, "will topic", &w.topic);
        line(d, "will QoS", w.qos as u8);
        line(d, "will retain", w.retain);
        payload(d, "will payload", &w.payload);
        props(d, "will ", &w.properties);
    }
}

/// Every filter of a SUBSCRIBE with its options.
fn subscribe(d: &mut String, s: &Subscribe) {
    line(d, "packet id", s.pkid);
    for (filter, o) in &s.filters {
        line(
            d,
            "filter",
            format!(
                "{filter} (QoS {}, no local {}, retain as published {}, retain handling {})",
                o.qos as u8, o.no_local, o.retain_as_published, o.retain_handling as u8
            ),
        );
    }
    props(d, "", &s.properties);
}

/// The fields of a SUBACK or UNSUBACK (one code per filter); returns the code the row shows: the
/// first failure, else the first code.
fn acks(d: &mut String, pkid: u16, codes: &[u8], properties: &Properties) -> Option<u8> {
    line(d, "packet id", pkid);
    for &c in codes {
        code(d, c);
    }
    props(d, "", properties);
    codes.iter().copied().find(|&c| c >= 0x80).or_else(|| codes.first().copied())
}

fn line(d: &mut String, name: &str, value: impl std::fmt::Display) {
    writeln!(d, "{name}: {value}").ok();
}

fn code(d: &mut String, code: u8) {
    line(d, "reason code", format!("0x{code:02X} {}", reason::reason_text(code)));
}

/// The payload as text if it is UTF-8, else as hex; at most [`PAYLOAD_SHOWN`] bytes.
fn payload(d: &mut String, name: &str, bytes: &[u8]) {
    let shown = &bytes[..bytes.len().min(PAYLOAD_SHOWN)];
    let more = if bytes.len() > shown.len() { format!(" … ({} bytes in all)", bytes.len()) } else { String::new() };
    if let Ok(text) = std::str::from_utf8(shown) {
        line(d, name, format!("{text:?}{more}"));
    } else {
        let hex = shown.iter().fold(String::with_capacity(shown.len() * 2), |mut hex, b| {
            write!(hex, "{b:02x}").ok();
            hex
        });
        line(d, name, format!("0x{hex}{more}"));
    }
}

/// Every property present, one per line, `prefix`ed (for will properties).
fn props(d: &mut String, prefix: &str, p: &Properties) {
    let mut put = |name: &str, value: String| line(d, &format!("{prefix}{name}"), value);
    macro_rules! opt {
        ($field:ident, $name:literal) => {
            if let Some(v) = &p.$field {
                put($name, format!("{v}"));
            }
        };
    }
    opt!(payload_format_indicator, "Payload Format Indicator");
    opt!(message_expiry_interval, "Message Expiry Interval");
    opt!(content_type, "Content Type");
    opt!(response_topic, "Response Topic");
    if let Some(c) = &p.correlation_data {
        put("Correlation Data", format!("{} bytes", c.len()));
    }
    for id in &p.subscription_identifiers {
        put("Subscription Identifier", id.to_string());
    }
    opt!(session_expiry_interval, "Session Expiry Interval");
    opt!(assigned_client_identifier, "Assigned Client Identifier");
    opt!(server_keep_alive, "Server Keep Alive");
    opt!(authentication_method, "Authentication Method");
    if p.authentication_data.is_some() {
        put("Authentication Data", REDACTED.to_owned());
    }
    opt!(request_problem_information, "Request Problem Information");
    opt!(will_delay_interval, "Will Delay Interval");
    opt!(request_response_information, "Request Response Information");
    opt!(response_information, "Response Information");
    opt!(server_reference, "Server Reference");
    opt!(reason_string, "Reason String");
    opt!(receive_maximum, "Receive Maximum");
    opt!(topic_alias_maximum, "Topic Alias Maximum");
    opt!(topic_alias, "Topic Alias");
    opt!(maximum_qos, "Maximum QoS");
    opt!(retain_available, "Retain Available");
    for (k, v) in &p.user_properties {
        put("User Property", format!("{k} = {v}"));
    }
    opt!(maximum_packet_size, "Maximum Packet Size");
    opt!(wildcard_subscription_available, "Wildcard Subscription Available");
    opt!(subscription_identifier_available, "Subscription Identifier Available");
    opt!(shared_subscription_available, "Shared Subscription Available");
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::broker::codec::{ProtocolVersion, Publish, QoS as WireQoS, SubAck};

    #[test]
    fn a_connect_shows_its_user_but_never_its_password() {
        let connect = Connect {
            protocol: ProtocolVersion::V5,
            clean_start: true,
            keep_alive: 30,
            client_id: "dev".into(),
            will: None,
            username: Some("alice".into()),
            password: Some(Bytes::from_static(b"hunter2")),
            properties: Properties {
                authentication_method: Some("SCRAM".into()),
                authentication_data: Some(Bytes::from_static(b"secret-data")),
                ..Properties::default()
            },
        };
        let r = row(1, SystemTime::UNIX_EPOCH, "dev".into(), Direction::In, &Packet::Connect(Box::new(connect)), 40);
        assert_eq!((r.kind, r.flags.as_str()), ("CONNECT", "clean start"));
        assert!(r.detail.contains("user name: alice"), "{}", r.detail);
        assert!(r.detail.contains("password: <redacted>") && r.detail.contains("Authentication Data: <redacted>"));
        assert!(!r.detail.contains("hunter2") && !r.detail.contains("secret-data"), "{}", r.detail);
    }

    #[test]
    fn columns_of_a_publish_and_a_refusing_suback() {
        let publish = Publish {
            dup: true,
            qos: WireQoS::ExactlyOnce,
            retain: true,
            topic: "a/b".into(),
            pkid: 7,
            payload: Bytes::from_static(b"21.5"),
            properties: Properties { user_properties: vec![("k".into(), "v".into())], ..Properties::default() },
        };
        let r = row(2, SystemTime::UNIX_EPOCH, "c".into(), Direction::Out, &Packet::Publish(publish), 20);
        assert_eq!((r.pkid, r.qos, r.flags.as_str(), r.topic.as_deref()), (Some(7), Some(QoS::ExactlyOnce), "DUP RETAIN", Some("a/b")));
        assert!(r.detail.contains("payload: \"21.5\"") && r.detail.contains("User Property: k = v"), "{}", r.detail);
        let ack = SubAck { pkid: 3, codes: vec![0x01, 0x87], properties: Properties::default() };
        let r = row(3, SystemTime::UNIX_EPOCH, "c".into(), Direction::Out, &Packet::SubAck(ack), 6);
        assert_eq!(r.reason, Some(0x87), "the refused filter's code");
        assert!(r.detail.contains("reason code: 0x87 Not authorized"), "{}", r.detail);
    }
}
