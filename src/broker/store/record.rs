//! The journal's records ([`Rec`]) and their binary form: little-endian integers, length-prefixed
//! strings and bytes, one kind byte first. Hand-written rather than a serde format: the hot path
//! (one record per persisted message) stays a few copies, and the format is this file.
//!
//! Deadlines are stored as wall-clock milliseconds since the Unix epoch: a monotonic instant means
//! nothing to the next process.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

use crate::broker::client_state::{Routed, SubEntry};
use crate::broker::codec::{LastWill, Properties, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions};
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

/// The record body writer.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    /// The properties a stored message or will keeps (the rest are per connection).
    fn props(&mut self, p: &Properties) {
        self.u8(p.payload_format_indicator.map_or(0xFF, |v| v));
        self.opt_u64(p.message_expiry_interval.map(u64::from));
        self.opt_u64(p.will_delay_interval.map(u64::from));
        self.opt_str(p.content_type.as_deref());
        self.opt_str(p.response_topic.as_deref());
        match &p.correlation_data {
            Some(c) => {
                self.u8(1);
                self.bytes(c);
            }
            None => self.u8(0),
        }
        self.u32(u32::try_from(p.user_properties.len()).unwrap_or(0));
        for (k, v) in &p.user_properties {
            self.str(k);
            self.str(v);
        }
    }

    /// A routed message: topic, payload, QoS, retain, publisher, expiry (wall ms), properties.
    fn msg(&mut self, m: &Routed, now: Instant, now_ms: u64) {
        self.str(&m.topic);
        self.bytes(&m.payload);
        self.u8(m.published_qos as u8);
        self.u8(u8::from(m.retain));
        self.str(&m.publisher);
        self.opt_u64(m.expires_at.map(|at| to_wall(at, now, now_ms)));
        match &m.properties {
            Some(p) => {
                self.u8(1);
                self.props(p);
            }
            None => self.u8(0),
        }
    }

    /// A retained message, in the same form as [`Enc::msg`].
    fn retained(&mut self, r: &Retained, now: Instant, now_ms: u64) {
        self.str(r.topic());
        self.bytes(r.payload());
        self.u8(r.qos() as u8);
        self.u8(1);
        self.str(r.publisher());
        self.opt_u64(r.expires_at().map(|at| to_wall(at, now, now_ms)));
        match r.properties() {
            Some(p) => {
                self.u8(1);
                self.props(p);
            }
            None => self.u8(0),
        }
    }

    fn will(&mut self, w: &LastWill) {
        self.str(&w.topic);
        self.bytes(&w.payload);
        self.u8(w.qos as u8);
        self.u8(u8::from(w.retain));
        self.props(&w.properties);
    }

    fn opt_will(&mut self, w: Option<&LastWill>) {
        match w {
            Some(w) => {
                self.u8(1);
                self.will(w);
            }
            None => self.u8(0),
        }
    }

    fn queued(&mut self, q: &Queued) {
        self.u8(q.qos as u8);
        self.u8(u8::from(q.retain));
        self.u32(u32::try_from(q.sub_ids.len()).unwrap_or(0));
        for id in &q.sub_ids {
            self.u32(*id);
        }
    }
}

mod kind {
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

const fn version_byte(v: ProtocolVersion) -> u8 {
    match v {
        ProtocolVersion::V31 => 3,
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

/// Encode `rec` as one record body into `e` (cleared first).
pub fn encode(rec: &Rec, e: &mut Enc, now: Instant, now_ms: u64) {
    e.0.clear();
    match rec {
        Rec::RetainSet(r) => {
            e.u8(kind::RETAIN_SET);
            e.retained(r, now, now_ms);
        }
        Rec::RetainClear(topic) => {
            e.u8(kind::RETAIN_CLEAR);
            e.str(topic);
        }
        Rec::SessionOpen { client_id, clean, version, expiry_secs, will } => {
            e.u8(kind::SESSION_OPEN);
            e.str(client_id);
            e.u8(u8::from(*clean));
            e.u8(version_byte(*version));
            e.u32(*expiry_secs);
            e.opt_will(will.as_deref());
        }
        Rec::SessionClose { client_id, expiry_secs, at_ms, pending_will } => {
            e.u8(kind::SESSION_CLOSE);
            e.str(client_id);
            e.u32(*expiry_secs);
            e.u64(*at_ms);
            e.opt_will(pending_will.as_ref().map(|(w, _)| &**w));
            e.u64(pending_will.as_ref().map_or(0, |(_, due)| *due));
        }
        Rec::SessionRemove(client_id) => {
            e.u8(kind::SESSION_REMOVE);
            e.str(client_id);
        }
        Rec::WillDone(client_id) => {
            e.u8(kind::WILL_DONE);
            e.str(client_id);
        }
        Rec::Subscribe { client_id, filter, entry } => {
            e.u8(kind::SUBSCRIBE);
            e.str(client_id);
            e.str(filter);
            let o = entry.options;
            e.u8(o.qos as u8);
            e.u8(u8::from(o.no_local) | u8::from(o.retain_as_published) << 1);
            e.u8(o.retain_handling as u8);
            e.opt_u64(entry.id.map(u64::from));
        }
        Rec::Unsubscribe { client_id, filter } => {
            e.u8(kind::UNSUBSCRIBE);
            e.str(client_id);
            e.str(filter);
        }
        Rec::Msg { id, msg } => {
            e.u8(kind::MSG);
            e.u64(*id);
            e.msg(msg, now, now_ms);
        }
        Rec::Enqueue { client_id, id, queued } => {
            e.u8(kind::ENQUEUE);
            e.str(client_id);
            e.u64(*id);
            e.queued(queued);
        }
        Rec::Sent { client_id, pkid, seq, from } => {
            match from {
                SentFrom::Index(i) => {
                    e.u8(kind::SENT_INDEX);
                    e.str(client_id);
                    e.u32(*i);
                }
                SentFrom::Inline(id, q) => {
                    e.u8(kind::SENT_INLINE);
                    e.str(client_id);
                    e.u64(*id);
                    e.queued(q);
                }
            }
            e.u16(*pkid);
            e.u64(*seq);
        }
        Rec::Dropped { client_id, index } => {
            e.u8(kind::DROPPED);
            e.str(client_id);
            e.u32(*index);
        }
        Rec::Acked { client_id, pkid } | Rec::Qos2In { client_id, pkid } | Rec::Qos2Done { client_id, pkid } => {
            e.u8(match rec {
                Rec::Acked { .. } => kind::ACKED,
                Rec::Qos2In { .. } => kind::QOS2_IN,
                _ => kind::QOS2_DONE,
            });
            e.str(client_id);
            e.u16(*pkid);
        }
        Rec::Released { client_id, pkid, seq } => {
            e.u8(kind::RELEASED);
            e.str(client_id);
            e.u16(*pkid);
            e.u64(*seq);
        }
    }
}

/// Client ids and publishers read so far, shared: a million retained messages from one publisher
/// hold one copy of its name, as they did before the restart.
#[derive(Debug, Default)]
pub struct Names(std::collections::HashSet<Arc<str>>);

impl Names {
    /// The shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.0.get(name) {
            return Arc::clone(known);
        }
        let new: Arc<str> = name.into();
        self.0.insert(Arc::clone(&new));
        new
    }
}

/// Reads one record body.
pub struct Dec<'a> {
    body: &'a [u8],
    pos: usize,
    names: &'a mut Names,
}

impl<'a> Dec<'a> {
    /// Read `body`. Payloads are copied out: a slice would pin the whole journal in memory.
    #[must_use]
    pub const fn new(body: &'a [u8], names: &'a mut Names) -> Self {
        Self { body, pos: 0, names }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RecError> {
        let s = self.body.get(self.pos..self.pos + n).ok_or(RecError("record cut short"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, RecError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, RecError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, RecError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, RecError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<Bytes, RecError> {
        let n = self.u32()? as usize;
        Ok(Bytes::copy_from_slice(self.take(n)?))
    }
    fn str(&mut self) -> Result<&'a str, RecError> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| RecError("string not UTF-8"))
    }
    fn flag(&mut self) -> Result<bool, RecError> {
        Ok(self.u8()? != 0)
    }
    fn opt_u64(&mut self) -> Result<Option<u64>, RecError> {
        Ok(if self.flag()? { Some(self.u64()?) } else { None })
    }
    fn opt_string(&mut self) -> Result<Option<String>, RecError> {
        Ok(if self.flag()? { Some(self.str()?.to_owned()) } else { None })
    }
    fn qos(&mut self) -> Result<QoS, RecError> {
        QoS::try_from(self.u8()?).map_err(|_| RecError("bad QoS"))
    }
    fn u32_opt(v: Option<u64>) -> Option<u32> {
        v.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn props(&mut self) -> Result<Properties, RecError> {
        let pfi = self.u8()?;
        let mut p = Properties {
            payload_format_indicator: (pfi != 0xFF).then_some(pfi),
            message_expiry_interval: Self::u32_opt(self.opt_u64()?),
            will_delay_interval: Self::u32_opt(self.opt_u64()?),
            content_type: self.opt_string()?,
            response_topic: self.opt_string()?,
            correlation_data: if self.flag()? { Some(self.bytes()?) } else { None },
            ..Properties::default()
        };
        let n = self.u32()?;
        for _ in 0..n {
            let k = self.str()?.to_owned();
            let v = self.str()?.to_owned();
            p.user_properties.push((k, v));
        }
        Ok(p)
    }

    fn msg(&mut self, now: Instant, now_ms: u64) -> Result<Routed, RecError> {
        let topic: Arc<str> = self.str()?.into();
        let payload = self.bytes()?;
        let published_qos = self.qos()?;
        let retain = self.flag()?;
        let publisher = self.name()?;
        let expires_at = self.opt_u64()?.map(|ms| from_wall(ms, now, now_ms));
        let properties = if self.flag()? { Some(Box::new(self.props()?)) } else { None };
        Ok(Routed { topic, payload, published_qos, retain, properties, expires_at, publisher })
    }

    fn will(&mut self) -> Result<Option<Box<LastWill>>, RecError> {
        if !self.flag()? {
            return Ok(None);
        }
        Ok(Some(Box::new(LastWill {
            topic: self.str()?.to_owned(),
            payload: self.bytes()?,
            qos: self.qos()?,
            retain: self.flag()?,
            properties: self.props()?,
        })))
    }

    fn queued(&mut self, msg: Arc<Routed>) -> Result<Queued, RecError> {
        let qos = self.qos()?;
        let retain = self.flag()?;
        let n = self.u32()?;
        let sub_ids = (0..n).map(|_| self.u32()).collect::<Result<Vec<u32>, RecError>>()?;
        Ok(Queued { msg, qos, retain, sub_ids })
    }

    fn client(&mut self) -> Result<Arc<str>, RecError> {
        self.name()
    }

    fn name(&mut self) -> Result<Arc<str>, RecError> {
        let s = self.str()?;
        Ok(self.names.get(s))
    }
}

/// Decode one record body. `msgs` resolves the ids of [`Rec::Msg`] records read before; `Ok(None)`:
/// the record refers to a message that was lost (damage earlier in the file) and is skipped.
pub fn decode<S: std::hash::BuildHasher>(
    body: &[u8],
    msgs: &std::collections::HashMap<u64, Arc<Routed>, S>,
    names: &mut Names,
    now: Instant,
    now_ms: u64,
) -> Result<Option<Rec>, RecError> {
    let mut d = Dec::new(body, names);
    let rec = match d.u8()? {
        kind::RETAIN_SET => {
            let m = d.msg(now, now_ms)?;
            Rec::RetainSet(Retained::new(&m))
        }
        kind::RETAIN_CLEAR => Rec::RetainClear(d.str()?.into()),
        kind::SESSION_OPEN => Rec::SessionOpen {
            client_id: d.client()?,
            clean: d.flag()?,
            version: match d.u8()? {
                3 => ProtocolVersion::V31,
                4 => ProtocolVersion::V311,
                _ => ProtocolVersion::V5,
            },
            expiry_secs: d.u32()?,
            will: d.will()?,
        },
        kind::SESSION_CLOSE => {
            let client_id = d.client()?;
            let expiry_secs = d.u32()?;
            let at_ms = d.u64()?;
            let will = d.will()?;
            let due = d.u64()?;
            Rec::SessionClose { client_id, expiry_secs, at_ms, pending_will: will.map(|w| (w, due)) }
        }
        kind::SESSION_REMOVE => Rec::SessionRemove(d.client()?),
        kind::WILL_DONE => Rec::WillDone(d.client()?),
        kind::SUBSCRIBE => {
            let client_id = d.client()?;
            let filter = d.str()?.to_owned();
            let qos = d.qos()?;
            let flags = d.u8()?;
            let retain_handling = RetainHandling::try_from(d.u8()?).map_err(|_| RecError("bad retain handling"))?;
            let id = Dec::u32_opt(d.opt_u64()?);
            let options = SubscriptionOptions { qos, no_local: flags & 1 != 0, retain_as_published: flags & 2 != 0, retain_handling };
            Rec::Subscribe { client_id, filter, entry: SubEntry { options, id } }
        }
        kind::UNSUBSCRIBE => Rec::Unsubscribe { client_id: d.client()?, filter: d.str()?.to_owned() },
        kind::MSG => {
            let id = d.u64()?;
            Rec::Msg { id, msg: Arc::new(d.msg(now, now_ms)?) }
        }
        kind::ENQUEUE => {
            let client_id = d.client()?;
            let id = d.u64()?;
            let Some(msg) = msgs.get(&id) else { return Ok(None) };
            Rec::Enqueue { client_id, id, queued: d.queued(Arc::clone(msg))? }
        }
        k @ (kind::SENT_INDEX | kind::SENT_INLINE) => {
            let client_id = d.client()?;
            let from = if k == kind::SENT_INDEX {
                SentFrom::Index(d.u32()?)
            } else {
                let id = d.u64()?;
                let Some(msg) = msgs.get(&id) else { return Ok(None) };
                SentFrom::Inline(id, d.queued(Arc::clone(msg))?)
            };
            Rec::Sent { client_id, pkid: d.u16()?, seq: d.u64()?, from }
        }
        kind::DROPPED => Rec::Dropped { client_id: d.client()?, index: d.u32()? },
        kind::ACKED => Rec::Acked { client_id: d.client()?, pkid: d.u16()? },
        kind::QOS2_IN => Rec::Qos2In { client_id: d.client()?, pkid: d.u16()? },
        kind::QOS2_DONE => Rec::Qos2Done { client_id: d.client()?, pkid: d.u16()? },
        kind::RELEASED => Rec::Released { client_id: d.client()?, pkid: d.u16()?, seq: d.u64()? },
        _ => return Err(RecError("unknown record kind")),
    };
    Ok(Some(rec))
}
