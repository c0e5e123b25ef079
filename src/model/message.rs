//! One MQTT message as the explorer keeps it, whatever broker it came from.
//!
//! Owns: [`Message`], its MQTT 5 metadata and the QoS type of the model. Knows nothing of the wire codec:
//! the broker and the client sessions convert into these types.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

/// Quality of service, as the model shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum QoS {
    /// At most once.
    #[default]
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// From the wire value; anything above 2 is clamped to 2.
    #[must_use]
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::AtMostOnce,
            1 => Self::AtLeastOnce,
            _ => Self::ExactlyOnce,
        }
    }

    /// The wire value 0, 1 or 2.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Short badge text: `Q0`, `Q1`, `Q2`.
    #[must_use]
    pub fn badge(self) -> &'static str {
        match self {
            Self::AtMostOnce => "Q0",
            Self::AtLeastOnce => "Q1",
            Self::ExactlyOnce => "Q2",
        }
    }

    /// Hover text for the badge.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::AtMostOnce => "QoS 0: at most once",
            Self::AtLeastOnce => "QoS 1: at least once",
            Self::ExactlyOnce => "QoS 2: exactly once",
        }
    }
}

/// MQTT 5 publish properties and broker-side provenance, behind an `Arc` in [`Message`]: most
/// messages have no properties, and the provenance alone (publisher, QoS) is shared by every
/// message of one publisher at one QoS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageMeta {
    /// Client id of the publisher (known only for the embedded broker).
    pub publisher: Option<Arc<str>>,
    /// QoS the publisher used (clients only see min(published, granted)).
    pub published_qos: Option<QoS>,
    /// MQTT 5 Payload Format Indicator (1 = UTF-8).
    pub payload_format: Option<u8>,
    /// MQTT 5 Message Expiry Interval, seconds.
    pub message_expiry_secs: Option<u32>,
    /// MQTT 5 Content Type.
    pub content_type: Option<String>,
    /// MQTT 5 Response Topic.
    pub response_topic: Option<String>,
    /// MQTT 5 Correlation Data.
    pub correlation_data: Option<Bytes>,
    /// MQTT 5 User Properties, in order.
    pub user_properties: Vec<(String, String)>,
}

/// A message as received, stamped once by the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Full topic name.
    pub topic: Arc<str>,
    /// Payload bytes, shared (never copied per view).
    pub payload: Bytes,
    /// QoS it was delivered (or, for the embedded broker, published) with.
    pub qos: QoS,
    /// Retain flag as seen.
    pub retain: bool,
    /// DUP flag as seen.
    pub dup: bool,
    /// When the runtime received it.
    pub received_at: SystemTime,
    /// Optional metadata (MQTT 5 properties, publisher).
    pub meta: Option<Arc<MessageMeta>>,
}

impl MessageMeta {
    /// True if any MQTT 5 property is set (not only the provenance).
    #[must_use]
    pub fn has_properties(&self) -> bool {
        self.payload_format.is_some()
            || self.message_expiry_secs.is_some()
            || self.content_type.is_some()
            || self.response_topic.is_some()
            || self.correlation_data.is_some()
            || !self.user_properties.is_empty()
    }
}

impl Message {
    /// A plain message with no metadata.
    #[must_use]
    pub fn new(topic: impl Into<Arc<str>>, payload: impl Into<Bytes>, qos: QoS, retain: bool, received_at: SystemTime) -> Self {
        Self { topic: topic.into(), payload: payload.into(), qos, retain, dup: false, received_at, meta: None }
    }

    /// Bytes this message costs while kept, as the history budget counts them: its slot in a
    /// history ring and in the eviction order (with the rings' growth slack: they grow by half), the payload and the
    /// topic (a payload read from a socket is a slice of the frame it arrived in), and its own
    /// metadata. Provenance-only metadata is shared between messages and not counted per message.
    /// The same message always costs the same.
    #[must_use]
    pub fn cost_bytes(&self) -> usize {
        /// A `(u64, Message)` ring slot and a `(u32, u64)` eviction entry, plus a third for growth slack.
        const ENTRY_OVERHEAD: usize = (size_of::<(u64, Message)>() + 16) * 4 / 3;
        let meta = self.meta.as_ref().filter(|m| m.has_properties()).map_or(0, |m| {
            size_of::<MessageMeta>()
                + m.content_type.as_ref().map_or(0, String::len)
                + m.response_topic.as_ref().map_or(0, String::len)
                + m.correlation_data.as_ref().map_or(0, Bytes::len)
                + m.user_properties.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
        });
        self.payload.len() + self.topic.len() + ENTRY_OVERHEAD + meta
    }
}
