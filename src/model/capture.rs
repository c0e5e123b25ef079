//! The capture file format: one JSON object per line (NDJSON), one line per message, in the order
//! the messages arrived. Written by `mqscope record`, read by `mqscope replay`; readable by `jq`.
//!
//! A line (fields in this order; only `ts`, `topic`, `qos`, `retain` and one of the payload fields
//! are always there):
//!
//! ```json
//! {"ts":"2026-12-03T07:40:01.123Z","topic":"home/kitchen/temp","qos":1,"retain":false,"payload":"21.5"}
//! {"ts":"2026-12-03T07:40:01.124Z","topic":"cam/1","qos":0,"retain":true,"payload_base64":"/9j/4AAQ","content_type":"image/jpeg"}
//! ```
//!
//! - `ts`: when the message was received, RFC 3339 in UTC with milliseconds.
//! - `payload` when the bytes are valid UTF-8, else `payload_base64` (standard alphabet, padded).
//! - MQTT 5 properties when set: `payload_format` (0/1), `message_expiry` (seconds), `content_type`,
//!   `response_topic`, `correlation_data_base64`, `user_properties` (a list of `[key, value]` pairs,
//!   in order, repeats kept).
//! - `publisher`: the publishing client id, when known (the embedded broker).
//!
//! Readers ignore fields they do not know, so later versions can add fields without breaking older
//! readers; a field's meaning never changes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Message, MessageMeta, QoS};

/// One line of a capture file, as it is serialised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureLine {
    /// Receive time, RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// Topic name.
    pub topic: String,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Retain flag as received.
    pub retain: bool,
    /// The payload, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The payload, base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    /// MQTT 5 Payload Format Indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<u8>,
    /// MQTT 5 Message Expiry Interval, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
    /// MQTT 5 Content Type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// MQTT 5 Response Topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    /// MQTT 5 Correlation Data, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_data_base64: Option<String>,
    /// MQTT 5 User Properties, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
    /// Client id of the publisher, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
}

/// A line that is not a capture record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct CaptureError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// RFC 3339 UTC with milliseconds, as `ts` is written.
#[must_use]
pub fn format_ts(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_ts(s: &str) -> Result<SystemTime, String> {
    let dt = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| format!("ts {s:?}: {e}"))?;
    let ms = dt.timestamp_millis();
    let ms = u64::try_from(ms).map_err(|_| format!("ts {s:?} is before 1970"))?;
    Ok(UNIX_EPOCH + Duration::from_millis(ms))
}

impl CaptureLine {
    /// The record of one received message.
    #[must_use]
    pub fn from_message(msg: &Message) -> Self {
        let (payload, payload_base64) = match std::str::from_utf8(&msg.payload) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(B64.encode(&msg.payload))),
        };
        let meta = msg.meta.as_deref();
        Self {
            ts: format_ts(msg.received_at),
            topic: msg.topic.to_string(),
            qos: msg.qos as u8,
            retain: msg.retain,
            payload,
            payload_base64,
            payload_format: meta.and_then(|m| m.payload_format),
            message_expiry: meta.and_then(|m| m.message_expiry_secs),
            content_type: meta.and_then(|m| m.content_type.clone()),
            response_topic: meta.and_then(|m| m.response_topic.clone()),
            correlation_data_base64: meta.and_then(|m| m.correlation_data.as_ref()).map(|c| B64.encode(c)),
            user_properties: meta.map(|m| m.user_properties.clone()).unwrap_or_default(),
            publisher: meta.and_then(|m| m.publisher.as_deref()).map(str::to_owned),
        }
    }

    /// The line as written: one JSON object, no trailing newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("a capture line always serialises: {e}"))
    }

    /// Parse line number `line` (1-based, for the error) of a capture file.
    ///
    /// # Errors
    /// Not JSON, a missing field, a bad QoS, time or base64.
    pub fn parse(text: &str, line: usize) -> Result<Self, CaptureError> {
        let err = |reason: String| CaptureError { line, reason };
        let rec: Self = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        if rec.qos > 2 {
            return Err(err(format!("qos {} is not 0, 1 or 2", rec.qos)));
        }
        if rec.payload.is_some() == rec.payload_base64.is_some() {
            return Err(err("exactly one of payload and payload_base64 is needed".into()));
        }
        Ok(rec)
    }

    /// The message this line records.
    ///
    /// # Errors
    /// A bad time or bad base64 (`line` names the line).
    pub fn to_message(&self, line: usize) -> Result<Message, CaptureError> {
        let err = |reason: String| CaptureError { line, reason };
        let payload = match (&self.payload, &self.payload_base64) {
            (Some(text), _) => Bytes::from(text.clone().into_bytes()),
            (None, Some(b64)) => Bytes::from(B64.decode(b64).map_err(|e| err(format!("payload_base64: {e}")))?),
            (None, None) => Bytes::new(),
        };
        let qos = match self.qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => QoS::ExactlyOnce,
        };
        let received_at = parse_ts(&self.ts).map_err(err)?;
        let correlation_data = match &self.correlation_data_base64 {
            Some(c) => Some(Bytes::from(B64.decode(c).map_err(|e| err(format!("correlation_data_base64: {e}")))?)),
            None => None,
        };
        let meta = MessageMeta {
            publisher: self.publisher.as_deref().map(Arc::from),
            published_qos: None,
            payload_format: self.payload_format,
            message_expiry_secs: self.message_expiry,
            content_type: self.content_type.clone(),
            response_topic: self.response_topic.clone(),
            correlation_data,
            user_properties: self.user_properties.clone(),
        };
        let mut msg = Message::new(self.topic.as_str(), payload, qos, self.retain, received_at);
        if meta != MessageMeta::default() {
            msg.meta = Some(Arc::new(meta));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn a_text_message_is_one_readable_line() {
        let msg = Message::new("home/kitchen/temp", &b"21.5"[..], QoS::AtLeastOnce, false, at(1_764_747_601_123));
        let line = CaptureLine::from_message(&msg).to_json();
        assert_eq!(line, r#"{"ts":"2025-12-03T07:40:01.123Z","topic":"home/kitchen/temp","qos":1,"retain":false,"payload":"21.5"}"#);
        let back = CaptureLine::parse(&line, 1).unwrap().to_message(1).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn binary_payloads_and_mqtt5_properties_round_trip() {
        let mut msg = Message::new("cam/1", vec![0xFF, 0x00, 0xD8, b'\n'], QoS::ExactlyOnce, true, at(5));
        msg.meta = Some(Arc::new(MessageMeta {
            publisher: Some(Arc::from("cam-client")),
            published_qos: None,
            payload_format: Some(0),
            message_expiry_secs: Some(60),
            content_type: Some("image/jpeg".into()),
            response_topic: Some("cam/1/reply".into()),
            correlation_data: Some(Bytes::from_static(&[1, 2, 3])),
            user_properties: vec![("k".into(), "v1".into()), ("k".into(), "v2, \"quoted\"\n".into())],
        }));
        let rec = CaptureLine::from_message(&msg);
        assert_eq!(rec.payload, None);
        assert_eq!(rec.payload_base64.as_deref(), Some("/wDYCg=="));
        let line = rec.to_json();
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(CaptureLine::parse(&line, 7).unwrap().to_message(7).unwrap(), msg);
    }

    #[test]
    fn bad_lines_name_their_line_and_reason() {
        assert_eq!(CaptureLine::parse("not json", 3).unwrap_err().line, 3);
        let no_payload = r#"{"ts":"2025-12-03T07:40:01.123Z","topic":"a","qos":0,"retain":false}"#;
        assert!(CaptureLine::parse(no_payload, 4).unwrap_err().reason.contains("payload"));
        let bad_qos = r#"{"ts":"2025-12-03T07:40:01.123Z","topic":"a","qos":3,"retain":false,"payload":""}"#;
        assert!(CaptureLine::parse(bad_qos, 5).unwrap_err().reason.contains("qos 3"));
        let bad_b64 = r#"{"ts":"2025-12-03T07:40:01.123Z","topic":"a","qos":0,"retain":false,"payload_base64":"%%"}"#;
        let rec = CaptureLine::parse(bad_b64, 6).unwrap();
        assert!(rec.to_message(6).unwrap_err().reason.contains("payload_base64"));
    }

    #[test]
    fn unknown_fields_are_ignored_for_later_versions() {
        let line = r#"{"ts":"2025-12-03T07:40:01.123Z","topic":"a","qos":0,"retain":false,"payload":"x","future":{"y":1}}"#;
        assert_eq!(&*CaptureLine::parse(line, 1).unwrap().to_message(1).unwrap().payload, b"x");
    }
}
