//! The journal's records ([`Rec`]) and their binary form: little-endian integers, length-prefixed
//! strings and bytes, one kind byte first. Hand-written rather than a serde format: the hot path
//! (one record per persisted message) stays a few copies, and the format is these three files.
//!
//! Deadlines are stored as wall-clock milliseconds since the Unix epoch: a monotonic instant means
//! nothing to the next process. Writing lives in `encode`, reading in `decode`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::broker::client_state::{Routed, SubEntry};
use crate::broker::codec::{LastWill, ProtocolVersion, QoS};
use crate::broker::retained::Retained;

/// One message in a persisted session's queue, or in flight to it.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The message, shared with the broker's own queue entry (pointer identity matters: see [`super::image`]).
    pub msg: Arc<Routed>,
    /// QoS it goes out at.
    pub qos: QoS,
    /// Retain flag to send.
    pub retain: bool,
    /// Subscription identifiers.
    pub sub_ids: Vec<u32>,
}

/// Where a message now in flight came from.
#[derive(Clone, Debug)]
pub enum SentFrom {
    /// The session's persisted queue, at this position.
    Index(u32),
    /// Not from the persisted queue (a retained replay, a message the journal did not hold):
    /// the message itself, written just before as [`Rec::Msg`] with this id.
    Inline(u64, Queued),
}

/// One change of the persisted state.
#[derive(Clone, Debug)]
pub enum Rec {
    /// A retained message stored (replacing the topic's previous one).
    RetainSet(Retained),
    /// A topic's retained message cleared.
    RetainClear(Arc<str>),
    /// A connection attached to a persistent session (`clean`: a new session replaces any old one).
    SessionOpen { client_id: Arc<str>, clean: bool, version: ProtocolVersion, expiry_secs: u32, will: Option<Box<LastWill>> },
    /// The connection detached at `at_ms`; a will waiting for its delay is due at `will_due_ms`.
    SessionClose { client_id: Arc<str>, expiry_secs: u32, at_ms: u64, pending_will: Option<(Box<LastWill>, u64)> },
    /// The session ended.
    SessionRemove(Arc<str>),
    /// The session's pending will was published or dropped.
    WillDone(Arc<str>),
    /// A subscription made (or replaced).
    Subscribe { client_id: Arc<str>, filter: String, entry: SubEntry },
    /// A subscription removed.
    Unsubscribe { client_id: Arc<str>, filter: String },
    /// A message's content, referred to by id in the records that follow.
    Msg { id: u64, msg: Arc<Routed> },
    /// A message queued to a session.
    Enqueue { client_id: Arc<str>, id: u64, queued: Queued },
    /// A QoS 1/2 message sent to a session under `pkid`, `seq` its send order.
    Sent { client_id: Arc<str>, pkid: u16, seq: u64, from: SentFrom },
    /// A queued message left the queue unsent (expired, too large for the client).
    Dropped { client_id: Arc<str>, index: u32 },
    /// An outgoing flow ended (PUBACK, PUBCOMP, an error PUBREC).
    Acked { client_id: Arc<str>, pkid: u16 },
    /// PUBREC received, PUBREL sent: the outgoing QoS 2 flow waits for PUBCOMP.
    Released { client_id: Arc<str>, pkid: u16, seq: u64 },
    /// An incoming QoS 2 PUBLISH was routed; its packet id awaits PUBREL.
    Qos2In { client_id: Arc<str>, pkid: u16 },
    /// PUBREL received: the incoming QoS 2 flow ended.
    Qos2Done { client_id: Arc<str>, pkid: u16 },
}

/// Milliseconds since the Unix epoch, now.
#[must_use]
pub fn wall_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A monotonic deadline as wall-clock milliseconds.
#[must_use]
pub fn to_wall(at: Instant, now: Instant, now_ms: u64) -> u64 {
    let ahead = u64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(ahead)
}

/// Wall-clock milliseconds as a monotonic deadline (now, if already past).
#[must_use]
pub fn from_wall(ms: u64, now: Instant, now_ms: u64) -> Instant {
    now + Duration::from_millis(ms.saturating_sub(now_ms))
}

/// Why a record could not be read (an intact frame whose body makes no sense: a newer format or a bug).
#[derive(Debug, thiserror::Error)]
#[error("unreadable journal record: {0}")]
pub struct RecError(pub &'static str);

/// The kind byte that starts every record body.
pub(super) mod kind {
    pub const RETAIN_SET: u8 = 1;
    pub const RETAIN_CLEAR: u8 = 2;
    pub const SESSION_OPEN: u8 = 3;
    pub const SESSION_CLOSE: u8 = 4;
    pub const SESSION_REMOVE: u8 = 5;
    pub const WILL_DONE: u8 = 6;
    pub const SUBSCRIBE: u8 = 7;
    pub const UNSUBSCRIBE: u8 = 8;
    pub const MSG: u8 = 9;
    pub const ENQUEUE: u8 = 10;
    pub const SENT_INDEX: u8 = 11;
    pub const SENT_INLINE: u8 = 12;
    pub const DROPPED: u8 = 13;
    pub const ACKED: u8 = 14;
    pub const RELEASED: u8 = 15;
    pub const QOS2_IN: u8 = 16;
    pub const QOS2_DONE: u8 = 17;
}

/// The Protocol Level byte of a version.
const fn version_byte(v: ProtocolVersion) -> u8 {
    match v {
        ProtocolVersion::V31 => 3,
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

mod decode;
mod encode;

pub use decode::{Dec, Names, decode};
pub use encode::{Enc, encode};
