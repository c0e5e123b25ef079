//! [`Retained`]: one retained message as the store keeps it, in a single allocation.
//!
//! A routed message ([`Routed`]) is built for speed on its way through: its topic is an `Arc<str>`
//! of its own and its payload a slice of the connection's read buffer, pinning that buffer. That is
//! right for a message that lives a few microseconds, wrong for one kept until someone replaces it.
//! The store keeps, per topic, one allocation holding a small header, the topic and the payload
//! (a thin pointer: 8 bytes in the trie's node), and also hands the trie the topic's levels so
//! the trie need not store them again: a topic alone below a prefix is one node there (see
//! [`crate::broker::topic::TopicValue`]).
//!
//! Memory, measured with `mqscope bench retained --topics 1000000` (64-byte payloads, topics
//! `<run>/r/<n>`): see README, "Performance".

use std::num::NonZeroU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use triomphe::ThinArc;

use super::codec::{Properties, QoS};
use super::routed::Routed;
use super::topic::TopicValue;

/// What a retained message keeps besides its topic and payload.
#[derive(Debug)]
struct Header {
    /// Client id of the publisher.
    publisher: Arc<str>,
    /// MQTT 5 properties and expiry, for the messages that have them: most retained messages have
    /// neither, and 8 bytes here instead of 16 keep the header at 32 bytes, so that a 64-byte
    /// payload on a topic of up to 48 bytes (`site/{s}/line/{l}/dev/{id}/temp` below a prefix)
    /// fits a 160-byte block instead of a 192-byte one.
    extra: Option<Box<Extra>>,
    /// When it was stored, in whole seconds after [`epoch`] (rounded down; 136 years of range).
    stored: u32,
    /// Length of the topic at the start of the bytes; the payload follows. A topic name is at most
    /// 65,535 bytes (MQTT-4.7.3-3, checked before anything is routed), so `u16` is enough.
    topic_len: u16,
    /// QoS the publisher used.
    qos: QoS,
}

/// The rarer parts of a retained message's header.
#[derive(Debug)]
struct Extra {
    /// MQTT 5 properties passed through, if any.
    properties: Option<Box<Properties>>,
    /// When the Message Expiry Interval runs out, in milliseconds after [`epoch`] (plus one).
    expires: Option<NonZeroU64>,
}

/// One retained message: cheap to clone (a reference count), immutable.
#[derive(Clone, Debug)]
pub struct Retained(ThinArc<Header, u8>);

/// The instant retained expiry deadlines are counted from: well before any deadline, also of a
/// runtime whose clock is paused (tests) and started after the first one.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        // The monotonic clock starts at boot: go back as far as it allows, up to an hour. The real
        // clock, not tokio's: a paused clock may have been advanced by hours when the first
        // message is stored, and every runtime's clock starts at or after this real instant.
        let now = std::time::Instant::now();
        let at = [3600, 60, 1].into_iter().find_map(|secs| now.checked_sub(Duration::from_secs(secs))).unwrap_or(now);
        Instant::from_std(at)
    })
}

impl Retained {
    /// The store's copy of a routed message: topic and payload copied into one exact-size allocation.
    #[must_use]
    pub fn new(msg: &Routed) -> Self {
        let expires = msg.expires_at.map(|at| {
            // Rounded up: a message never counts as expired before its time.
            let ms = at.saturating_duration_since(epoch()).as_micros().div_ceil(1000);
            NonZeroU64::MIN.saturating_add(u64::try_from(ms).unwrap_or(u64::MAX - 1))
        });
        let extra =
            (msg.properties.is_some() || expires.is_some()).then(|| Box::new(Extra { properties: msg.properties.clone(), expires }));
        let header = Header {
            publisher: Arc::clone(&msg.publisher),
            extra,
            stored: u32::try_from(Instant::now().saturating_duration_since(epoch()).as_secs()).unwrap_or(u32::MAX),
            topic_len: u16::try_from(msg.topic.len()).unwrap_or(u16::MAX),
            qos: msg.published_qos,
        };
        Self(ThinArc::from_header_and_iter(header, Concat { a: msg.topic.as_bytes(), b: &msg.payload, i: 0 }))
    }

    /// The topic name.
    #[must_use]
    pub fn topic(&self) -> &str {
        // Built from an `Arc<str>`, so this never falls back.
        std::str::from_utf8(self.topic_bytes()).unwrap_or_default()
    }

    fn topic_len(&self) -> usize {
        self.0.header.header.topic_len as usize
    }

    fn extra(&self) -> Option<&Extra> {
        self.0.header.header.extra.as_deref()
    }

    fn topic_bytes(&self) -> &[u8] {
        self.0.slice.get(..self.topic_len()).unwrap_or_default()
    }

    /// The payload.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.0.slice.get(self.topic_len()..).unwrap_or_default()
    }

    /// QoS the publisher used.
    #[must_use]
    pub fn qos(&self) -> QoS {
        self.0.header.header.qos
    }

    /// Client id of the publisher.
    #[must_use]
    pub fn publisher(&self) -> &Arc<str> {
        &self.0.header.header.publisher
    }

    /// The MQTT 5 properties passed through, if any.
    #[must_use]
    pub fn properties(&self) -> Option<&Properties> {
        self.extra()?.properties.as_deref()
    }

    /// When it was stored (to the second, rounded down).
    #[must_use]
    pub fn stored_at(&self) -> Instant {
        epoch() + Duration::from_secs(u64::from(self.0.header.header.stored))
    }

    /// When the Message Expiry Interval runs out, if it was set.
    #[must_use]
    pub fn expires_at(&self) -> Option<Instant> {
        self.extra()?.expires.map(|ms| epoch() + Duration::from_millis(ms.get() - 1))
    }

    /// True once the Message Expiry Interval has passed.
    #[must_use]
    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// Bytes the store spends on this message (its allocation, and the rare parts' box if any).
    #[must_use]
    pub fn cost(&self) -> usize {
        size_of::<Header>() + 2 * size_of::<usize>() + self.0.slice.len() + self.extra().map_or(0, |_| size_of::<Extra>())
    }

    /// A routed message for one delivery (the payload is shared, not copied).
    #[must_use]
    pub fn to_routed(&self) -> Arc<Routed> {
        let header = &self.0.header.header;
        let payload = Bytes::from_owner(PayloadOf(self.clone())).slice(self.topic_len()..);
        Arc::new(Routed {
            topic: self.topic().into(),
            payload,
            published_qos: header.qos,
            retain: true,
            properties: self.extra().and_then(|e| e.properties.clone()),
            expires_at: self.expires_at(),
            publisher: Arc::clone(&header.publisher),
        })
    }
}

/// How many retained messages [`warm`] reads at once.
pub const WARM_BATCH: usize = 16;

/// Reads a byte of the header and of the payload end of each of the first [`WARM_BATCH`] messages,
/// with no dependency between them, and returns something made of them all. A replay walks a
/// million messages in an order unrelated to where they lie in memory: reading each one as its turn
/// comes stalls on one cache miss after another (and an atomic reference count increment on a cold
/// line holds everything behind it), while these independent reads overlap, so the misses of a
/// batch cost about one. Callers pass the result to [`std::hint::black_box`] so the reads happen.
#[must_use]
pub fn warm(msgs: &[impl std::borrow::Borrow<Retained>]) -> u8 {
    msgs.iter().take(WARM_BATCH).fold(0, |acc, m| {
        let m = m.borrow();
        acc ^ (m.qos() as u8) ^ m.0.slice.last().copied().unwrap_or(0)
    })
}

impl TopicValue for Retained {
    fn topic(&self) -> Option<&[u8]> {
        Some(self.topic_bytes())
    }
}

/// Lends a retained message's bytes to a [`Bytes`].
struct PayloadOf(Retained);

impl AsRef<[u8]> for PayloadOf {
    fn as_ref(&self) -> &[u8] {
        &self.0.0.slice
    }
}

/// Topic then payload, byte by byte, with an exact length (what [`ThinArc`] needs).
struct Concat<'a> {
    a: &'a [u8],
    b: &'a [u8],
    i: usize,
}

impl Iterator for Concat<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let byte = match self.i.checked_sub(self.a.len()) {
            None => self.a.get(self.i),
            Some(j) => self.b.get(j),
        };
        self.i += 1;
        byte.copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.a.len() + self.b.len()).saturating_sub(self.i);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Concat<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(topic: &str, payload: &'static [u8], expiry: Option<u64>) -> Routed {
        Routed {
            topic: topic.into(),
            payload: Bytes::from_static(payload),
            published_qos: QoS::AtLeastOnce,
            retain: true,
            properties: None,
            expires_at: expiry.map(|s| Instant::now() + Duration::from_secs(s)),
            publisher: "pub".into(),
        }
    }

    #[test]
    fn keeps_topic_payload_and_header() {
        let r = Retained::new(&routed("a/b/c", b"hello", None));
        assert_eq!(r.topic(), "a/b/c");
        assert_eq!(r.payload(), b"hello");
        assert_eq!(r.qos(), QoS::AtLeastOnce);
        assert_eq!(&**r.publisher(), "pub");
        assert_eq!(TopicValue::topic(&r), Some(&b"a/b/c"[..]));
        assert!(r.expires_at().is_none());
        let age = Instant::now().saturating_duration_since(r.stored_at());
        assert!(age < Duration::from_secs(2), "stored just now, to the second: {age:?}");
        assert_eq!(size_of::<Header>(), 32, "the stored time costs no memory, the rare parts 8 bytes");
        let again = r.to_routed();
        assert_eq!((&*again.topic, &again.payload[..], again.retain), ("a/b/c", &b"hello"[..], true));
        drop(r);
        assert_eq!(&again.payload[..], b"hello", "the delivery keeps the bytes alive");
    }

    #[test]
    fn empty_payload_and_expiry() {
        let r = Retained::new(&routed("t", b"", Some(60)));
        assert_eq!((r.topic(), r.payload()), ("t", &b""[..]));
        let left = r.expires_at().expect("expiry kept").saturating_duration_since(Instant::now());
        // Deadlines are kept in whole milliseconds, rounded up: up to 1 ms past the interval.
        assert!(left > Duration::from_secs(58) && left <= Duration::from_mins(1) + Duration::from_millis(1), "{left:?}");
        assert!(!r.expired(Instant::now()));
        assert!(r.expired(Instant::now() + Duration::from_secs(61)));
    }
}
