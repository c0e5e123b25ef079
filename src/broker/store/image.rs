//! [`Image`]: the persisted state as the journal describes it: retained messages and persistent
//! sessions. The loader builds it by applying every record of the journal in order; the writer
//! keeps applying the records it writes, so that it can (a) refer to a queued message by its
//! position instead of writing it twice and (b) write a compacted journal from memory, without
//! locking the broker. Messages and retained values are shared with the broker (reference counts),
//! so the image costs a map entry per retained topic and per queued message, not their bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::broker::client_state::{Routed, SubEntry};
use crate::broker::codec::{LastWill, ProtocolVersion};
use crate::broker::retained::Retained;

use super::record::{Queued, Rec, SentFrom};

/// A retained message keyed by its own topic (no second copy of the topic string).
#[derive(Clone, Debug)]
pub struct ByTopic(pub Retained);

impl PartialEq for ByTopic {
    fn eq(&self, other: &Self) -> bool {
        self.0.topic() == other.0.topic()
    }
}
impl Eq for ByTopic {}
impl Hash for ByTopic {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.topic().hash(state);
    }
}
impl std::borrow::Borrow<str> for ByTopic {
    fn borrow(&self) -> &str {
        self.0.topic()
    }
}

/// An outgoing flow in progress: its send order, and the message until PUBREC (`None` once released).
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Send order.
    pub seq: u64,
    /// The message (PUBLISH sent), or `None` (PUBREL sent).
    pub msg: Option<Queued>,
}

/// One persistent session.
#[derive(Clone, Debug)]
pub struct SessionImage {
    /// Protocol of its latest connection.
    pub version: ProtocolVersion,
    /// Session Expiry Interval.
    pub expiry_secs: u32,
    /// A connection was attached when the journal ends (the broker was killed, or the record of its close is lost).
    pub online: bool,
    /// When its connection detached (wall ms), if offline.
    pub closed_at_ms: u64,
    /// Will of the attached connection (online), or the will waiting for its delay (offline).
    pub will: Option<LastWill>,
    /// When the waiting will is due (wall ms); `None` while online or with no will waiting.
    pub will_due_ms: Option<u64>,
    /// Subscriptions by filter.
    pub subs: BTreeMap<String, SubEntry>,
    /// QoS 1/2 messages queued, oldest first.
    pub queue: VecDeque<Queued>,
    /// Outgoing flows by packet id.
    pub inflight: BTreeMap<u16, InFlight>,
    /// Incoming QoS 2 packet ids awaiting PUBREL.
    pub qos2_in: BTreeSet<u16>,
}

impl SessionImage {
    fn new(version: ProtocolVersion, expiry_secs: u32, will: Option<LastWill>) -> Self {
        Self {
            version,
            expiry_secs,
            online: true,
            closed_at_ms: 0,
            will,
            will_due_ms: None,
            subs: BTreeMap::new(),
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            qos2_in: BTreeSet::new(),
        }
    }

    /// Position of `msg` in the queue (by identity: the broker's and the image's entries share it).
    #[must_use]
    pub fn position(&self, msg: &Arc<Routed>) -> Option<usize> {
        self.queue.iter().position(|q| Arc::ptr_eq(&q.msg, msg))
    }
}

/// Retained messages and persistent sessions.
#[derive(Debug, Default)]
pub struct Image {
    /// Retained messages.
    pub retained: HashSet<ByTopic>,
    /// Persistent sessions by client id.
    pub sessions: HashMap<Arc<str>, SessionImage>,
}

impl Image {
    /// Apply one record. Records that refer to something the image does not hold (after damage)
    /// change nothing.
    pub fn apply(&mut self, rec: Rec) {
        match rec {
            Rec::RetainSet(r) => {
                self.retained.replace(ByTopic(r));
            }
            Rec::RetainClear(topic) => {
                self.retained.remove(&*topic);
            }
            Rec::SessionOpen { client_id, clean, version, expiry_secs, will } => match self.sessions.get_mut(&client_id) {
                Some(s) if !clean => {
                    s.version = version;
                    s.expiry_secs = expiry_secs;
                    s.online = true;
                    s.will = will.map(|w| *w);
                    s.will_due_ms = None;
                }
                _ => {
                    self.sessions.insert(client_id, SessionImage::new(version, expiry_secs, will.map(|w| *w)));
                }
            },
            Rec::SessionClose { client_id, expiry_secs, at_ms, pending_will } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.online = false;
                    s.expiry_secs = expiry_secs;
                    s.closed_at_ms = at_ms;
                    s.will_due_ms = pending_will.as_ref().map(|(_, due)| *due);
                    s.will = pending_will.map(|(w, _)| *w);
                }
            }
            Rec::SessionRemove(client_id) => {
                self.sessions.remove(&client_id);
            }
            Rec::WillDone(client_id) => {
                if let Some(s) = self.sessions.get_mut(&client_id)
                    && !s.online
                {
                    s.will = None;
                    s.will_due_ms = None;
                }
            }
            Rec::Subscribe { client_id, filter, entry } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.subs.insert(filter, entry);
                }
            }
            Rec::Unsubscribe { client_id, filter } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.subs.remove(&filter);
                }
            }
            Rec::Msg { .. } => {}
            Rec::Enqueue { client_id, queued, .. } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.queue.push_back(queued);
                }
            }
            Rec::Sent { client_id, pkid, seq, from } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    let msg = match from {
                        SentFrom::Index(i) => s.queue.remove(i as usize),
                        SentFrom::Inline(_, q) => Some(q),
                    };
                    if let Some(msg) = msg {
                        s.inflight.insert(pkid, InFlight { seq, msg: Some(msg) });
                    }
                }
            }
            Rec::Dropped { client_id, index } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.queue.remove(index as usize);
                }
            }
            Rec::Acked { client_id, pkid } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.inflight.remove(&pkid);
                }
            }
            Rec::Released { client_id, pkid, seq } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.inflight.insert(pkid, InFlight { seq, msg: None });
                }
            }
            Rec::Qos2In { client_id, pkid } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.qos2_in.insert(pkid);
                }
            }
            Rec::Qos2Done { client_id, pkid } => {
                if let Some(s) = self.sessions.get_mut(&client_id) {
                    s.qos2_in.remove(&pkid);
                }
            }
        }
    }

    /// The records that rebuild this image from nothing (a compacted journal), each passed to
    /// `emit`. Expired retained messages are left out. `next_id` numbers the messages.
    pub fn snapshot(&self, now: tokio::time::Instant, next_id: &mut u64, mut emit: impl FnMut(&Rec)) {
        for r in &self.retained {
            if !r.0.expired(now) {
                emit(&Rec::RetainSet(r.0.clone()));
            }
        }
        // A message queued to several sessions is written once.
        let mut ids: HashMap<*const Routed, u64> = HashMap::new();
        let mut id_of = |msg: &Arc<Routed>, emit: &mut dyn FnMut(&Rec)| -> u64 {
            *ids.entry(Arc::as_ptr(msg)).or_insert_with(|| {
                *next_id += 1;
                emit(&Rec::Msg { id: *next_id, msg: Arc::clone(msg) });
                *next_id
            })
        };
        for (client_id, s) in &self.sessions {
            let will = if s.online { s.will.clone().map(Box::new) } else { None };
            emit(&Rec::SessionOpen { client_id: Arc::clone(client_id), clean: true, version: s.version, expiry_secs: s.expiry_secs, will });
            for (filter, entry) in &s.subs {
                emit(&Rec::Subscribe { client_id: Arc::clone(client_id), filter: filter.clone(), entry: entry.clone() });
            }
            for (&pkid, f) in &s.inflight {
                match &f.msg {
                    Some(q) => {
                        let id = id_of(&q.msg, &mut emit);
                        let from = SentFrom::Inline(id, q.clone());
                        emit(&Rec::Sent { client_id: Arc::clone(client_id), pkid, seq: f.seq, from });
                    }
                    None => emit(&Rec::Released { client_id: Arc::clone(client_id), pkid, seq: f.seq }),
                }
            }
            for q in &s.queue {
                let id = id_of(&q.msg, &mut emit);
                emit(&Rec::Enqueue { client_id: Arc::clone(client_id), id, queued: q.clone() });
            }
            for &pkid in &s.qos2_in {
                emit(&Rec::Qos2In { client_id: Arc::clone(client_id), pkid });
            }
            if !s.online {
                let pending_will = s.will.clone().map(Box::new).zip(s.will_due_ms);
                emit(&Rec::SessionClose {
                    client_id: Arc::clone(client_id),
                    expiry_secs: s.expiry_secs,
                    at_ms: s.closed_at_ms,
                    pending_will,
                });
            }
        }
    }
}
