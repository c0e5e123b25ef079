//! [`Routed`]: a message as the router passes it on, shared by every session it goes to (and
//! made from the retained store's compact copy when a retained message is replayed).

use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use super::codec::{Properties, QoS};

/// A message as routed, shared by every session it goes to.
#[derive(Debug)]
pub struct Routed {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload, shared without copies.
    pub payload: Bytes,
    /// QoS the publisher used.
    pub published_qos: QoS,
    /// Retain flag as published.
    pub retain: bool,
    /// MQTT 5 properties passed through (payload format, content type, response topic, correlation data, user properties);
    /// `None` when there are none, so a plain message costs a pointer here instead of a ~400-byte block.
    pub properties: Option<Box<Properties>>,
    /// When the Message Expiry Interval runs out.
    pub expires_at: Option<Instant>,
    /// Client id of the publisher.
    pub publisher: Arc<str>,
}

impl Routed {
    /// Bytes this message costs in a queue.
    #[must_use]
    pub fn cost(&self) -> usize {
        self.payload.len() + self.topic.len() + 64
    }

    /// True once the Message Expiry Interval has passed.
    #[must_use]
    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}
