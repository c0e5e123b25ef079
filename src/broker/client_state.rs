//! What the broker keeps for one client session, across its connections.
//!
//! Owns: [`SessionCell`] (the session's mutex and wake-up) and [`SessionData`]: its subscriptions,
//! the queue of messages not yet sent, the QoS 1/2 messages in flight, and the QoS 2 packet ids
//! awaiting PUBREL. The router appends to the queue; the connection task drains it. Lock order:
//! the router's state first, then a session; never the other way round.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::codec::{LastWill, ProtocolVersion, QoS, SubscriptionOptions};
use super::counters::ClientCounters;
use super::retained::Retained;
pub use super::routed::Routed;

/// One message on its way to one session.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The message.
    pub msg: Arc<Routed>,
    /// min(published, granted).
    pub qos: QoS,
    /// Retain flag to send.
    pub retain: bool,
    /// Subscription identifiers of every matching subscription (MQTT 5).
    pub sub_ids: Vec<u32>,
    /// The shared subscription (`$share/{group}/{filter}`) this copy was chosen for, if it came only
    /// through one: such a copy may go to another member of the group if this one leaves (MQTT 5 §4.8.2).
    pub share: Option<Arc<str>>,
}

/// The retained messages one new subscription is owed (MQTT-3.8.4-4 / 5.0 §3.3.1.3), sent from the
/// store's own copies as the client takes them: a `#` over a million retained topics costs 8 bytes
/// per message here, and never goes through (or overflows) the session's queue. It goes after the
/// messages queued before the SUBSCRIBE and before those queued after it, so that every topic's
/// messages keep their order (MQTT-4.6.0-5, -6).
#[derive(Debug)]
pub struct Replay {
    /// The filter subscribed to: an UNSUBSCRIBE or a new SUBSCRIBE of it replaces what is owed.
    pub filter: String,
    /// Messages of the queue to send before this replay (those queued before the SUBSCRIBE).
    pub ahead: usize,
    /// Messages not yet sent.
    pub msgs: std::vec::IntoIter<Retained>,
    /// QoS granted to the subscription; each message goes at min(published, granted).
    pub qos: QoS,
    /// The subscription's identifier (MQTT 5).
    pub sub_ids: Vec<u32>,
}

/// Where an outgoing QoS 1/2 message stands. The `u64` is its send order: packet ids wrap, and a
/// resumed session resends in the original order (MQTT-4.6.0-1).
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Publish(Delivery, u64),
    /// PUBREL sent, waiting for PUBCOMP (QoS 2).
    Released(u64),
}

impl Outgoing {
    /// Send order.
    #[must_use]
    pub const fn seq(&self) -> u64 {
        match self {
            Self::Publish(_, seq) | Self::Released(seq) => *seq,
        }
    }
}

/// Why the attached connection is told to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// A new connection took the session over (5.0: DISCONNECT 0x8E, MQTT-3.1.4-3); it deals with the will.
    TakenOver,
    /// The explorer disconnects the client with this reason code (5.0 clients get the DISCONNECT);
    /// the will is discarded for 0x00, as after a normal disconnection (MQTT-3.14.4-3), and published otherwise.
    Disconnect(u8),
    /// The explorer drops the connection without DISCONNECT: the will is published (MQTT-3.1.2-8).
    Drop,
    /// The explorer restarts the broker in place: the connection ends as at shutdown (5.0:
    /// DISCONNECT 0x8B Server shutting down), its will not published.
    Restart,
}

/// A subscription as the session remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubEntry {
    /// Options from SUBSCRIBE.
    pub options: SubscriptionOptions,
    /// MQTT 5 Subscription Identifier.
    pub id: Option<u32>,
}

/// A session's state.
#[derive(Debug)]
pub struct SessionData {
    /// Client identifier.
    pub client_id: Arc<str>,
    /// Protocol of the latest connection.
    pub version: ProtocolVersion,
    /// Generation of the attached connection; `None` while offline.
    pub connection: Option<u64>,
    /// Tells the attached connection to end (takeover, or the explorer's disconnect or drop).
    pub kick: Option<oneshot::Sender<Kick>>,
    /// Keep-alive granted to the attached (or last) connection, seconds.
    pub keep_alive_secs: u16,
    /// Clean Start (5.0) / Clean Session (3.1.1) of the latest CONNECT.
    pub clean_start: bool,
    /// When the attached (or last) connection was accepted.
    pub connected_at: Option<std::time::SystemTime>,
    /// Subscriptions by filter (as subscribed, including `$share/...`).
    pub subscriptions: HashMap<String, SubEntry>,
    /// Retained messages owed to new subscriptions, sent before `queue`.
    pub replay: VecDeque<Replay>,
    /// Messages waiting to be sent, oldest first.
    pub queue: VecDeque<Delivery>,
    /// Bytes in `queue`.
    pub queued_bytes: usize,
    /// Outgoing QoS 1/2 messages by packet id, awaiting acknowledgement.
    pub inflight: BTreeMap<u16, Outgoing>,
    /// Incoming QoS 2 packet ids we sent PUBREC for and await PUBREL on.
    pub incoming_qos2: HashSet<u16>,
    /// Last packet id used for outgoing messages.
    pub last_pkid: u16,
    /// Send order of the last outgoing QoS 1/2 PUBLISH.
    pub last_seq: u64,
    /// Session Expiry Interval in seconds once disconnected.
    pub expiry_secs: u32,
    /// When an offline session expires.
    pub expires_at: Option<Instant>,
    /// Will of the attached connection.
    pub will: Option<LastWill>,
    /// The will the latest connection registered (payload copied, properties left out), kept after
    /// that connection ended, for the explorer's availability board.
    pub last_will: Option<LastWill>,
    /// Whether that will went out when the connection ended (`None`: still connected).
    pub last_will_fired: Option<bool>,
    /// Client's Receive Maximum: outgoing QoS 1/2 in flight at once.
    pub send_quota: u16,
    /// Client's Maximum Packet Size.
    pub client_max_packet: u32,
    /// Messages dropped for this session.
    pub dropped: u64,
    /// Address of the attached connection, for the explorer.
    pub peer: Option<std::net::SocketAddr>,
    /// User name of the attached (or last) connection, for the ACL's checks of deliveries.
    pub username: Option<Arc<str>>,
    /// The session is journaled ([`super::store`]): persistence is on and it outlives its connection.
    pub persist: bool,
}

impl SessionData {
    /// Retained messages still owed to new subscriptions.
    #[must_use]
    pub fn replay_len(&self) -> usize {
        self.replay.iter().map(|r| r.msgs.len()).sum()
    }

    /// The replay whose turn it is, if one is: the first, once the queued messages ahead of it are gone.
    fn replay_due(&self) -> Option<&Replay> {
        self.replay.front().filter(|r| r.ahead == 0 || self.queue.is_empty())
    }

    /// QoS of the next message to send, if any.
    #[must_use]
    pub fn peek_qos(&self) -> Option<QoS> {
        match self.replay_due().and_then(|r| r.msgs.as_slice().first().map(|m| (m, r.qos))) {
            Some((m, granted)) => Some(m.qos().min(granted)),
            None => self.queue.front().map(|d| d.qos),
        }
    }

    /// Take the next message to send: from the queue, or from the replay whose turn it is.
    pub fn pop_next(&mut self) -> Option<Delivery> {
        if self.replay_due().is_some()
            && let Some(r) = self.replay.front_mut()
        {
            if r.msgs.len().is_multiple_of(super::retained::WARM_BATCH) {
                std::hint::black_box(super::retained::warm(r.msgs.as_slice()));
            }
            let m = r.msgs.next();
            let d =
                m.map(|m| Delivery { msg: m.to_routed(), qos: m.qos().min(r.qos), retain: true, sub_ids: r.sub_ids.clone(), share: None });
            if r.msgs.len() == 0 {
                self.replay.pop_front();
            }
            if d.is_some() {
                return d;
            }
        }
        let d = self.queue.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(d.msg.cost());
        for r in &mut self.replay {
            r.ahead = r.ahead.saturating_sub(1);
        }
        Some(d)
    }

    /// Keep only the queued messages `keep` accepts (in order); the replays keep their places
    /// among those left. Returns how many went.
    pub fn retain_queue(&mut self, mut keep: impl FnMut(&Delivery) -> bool) -> u64 {
        let flags: Vec<bool> = self.queue.iter().map(&mut keep).collect();
        self.requeue_kept(&flags);
        let mut i = 0;
        self.queue.retain(|_| {
            i += 1;
            flags[i - 1]
        });
        self.queued_bytes = self.queue.iter().map(|d| d.msg.cost()).sum();
        flags.iter().filter(|k| !**k).count() as u64
    }

    /// Forget every QoS 0 message waiting to be sent, queued or owed (for a session going offline);
    /// returns how many went.
    pub fn drop_qos0(&mut self) -> u64 {
        let mut lost = self.retain_queue(|d| d.qos != QoS::AtMostOnce);
        let before = self.replay_len();
        self.replay.retain(|r| r.qos != QoS::AtMostOnce);
        for r in &mut self.replay {
            let kept: Vec<Retained> = r.msgs.by_ref().filter(|m| m.qos() != QoS::AtMostOnce).collect();
            r.msgs = kept.into_iter();
        }
        self.replay.retain(|r| r.msgs.len() > 0);
        lost += (before - self.replay_len()) as u64;
        lost
    }

    /// The queue was reduced to the messages flagged `true` (in order): move each replay's place to match.
    pub fn requeue_kept(&mut self, flags: &[bool]) {
        for r in &mut self.replay {
            r.ahead = flags.iter().take(r.ahead).filter(|k| **k).count();
        }
    }

    /// Next free packet id for an outgoing message (never 0, never one in flight).
    pub fn next_pkid(&mut self) -> Option<u16> {
        for _ in 0..u16::MAX {
            self.last_pkid = self.last_pkid.wrapping_add(1);
            if self.last_pkid == 0 {
                self.last_pkid = 1;
            }
            if !self.inflight.contains_key(&self.last_pkid) {
                return Some(self.last_pkid);
            }
        }
        None
    }
}

/// A session shared between the router and its connection task.
#[derive(Debug)]
pub struct SessionCell {
    data: Mutex<SessionData>,
    /// Wakes the connection task when something was queued.
    pub notify: Notify,
    /// Wakes publishers paused by back-pressure once the queue has drained below the low-water mark.
    pub drained: Notify,
    /// Set when a back-pressure pause for this session timed out (its client is not draining):
    /// publishers stop pausing for it until it drains below the low-water mark again, so one stuck
    /// subscriber costs each publisher one pause, not one per message.
    pub stalled: std::sync::atomic::AtomicBool,
    /// Traffic counters for the explorer (relaxed atomics, a cache line of their own).
    pub counters: ClientCounters,
    /// The explorer traces this session's packets ([`super::trace`]); shared with its connection.
    pub tracing: Arc<std::sync::atomic::AtomicBool>,
    /// A fault the explorer injected applies to this session ([`super::faults`]): its connection
    /// looks for it (delayed deliveries, withheld acknowledgements) only while this is set.
    pub faulted: std::sync::atomic::AtomicBool,
    /// Global drop counter, shared with the broker's stats.
    dropped_total: Arc<AtomicU64>,
}

impl SessionCell {
    /// A new, empty session.
    #[must_use]
    pub fn new(client_id: Arc<str>, version: ProtocolVersion, dropped_total: Arc<AtomicU64>) -> Arc<Self> {
        Arc::new(Self {
            data: Mutex::new(SessionData {
                client_id,
                version,
                connection: None,
                kick: None,
                keep_alive_secs: 0,
                clean_start: true,
                connected_at: None,
                subscriptions: HashMap::new(),
                replay: VecDeque::new(),
                queue: VecDeque::new(),
                queued_bytes: 0,
                inflight: BTreeMap::new(),
                incoming_qos2: HashSet::new(),
                last_pkid: 0,
                last_seq: 0,
                expiry_secs: 0,
                expires_at: None,
                will: None,
                last_will: None,
                last_will_fired: None,
                send_quota: u16::MAX,
                client_max_packet: u32::MAX,
                dropped: 0,
                peer: None,
                username: None,
                persist: false,
            }),
            notify: Notify::new(),
            drained: Notify::new(),
            stalled: std::sync::atomic::AtomicBool::new(false),
            counters: ClientCounters::default(),
            tracing: Arc::default(),
            faulted: std::sync::atomic::AtomicBool::new(false),
            dropped_total,
        })
    }

    /// Lock the session. A poisoned lock (a panic elsewhere) still yields the data: it holds no invariant a panic can break halfway.
    pub fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queue a delivery, dropping it (counted) if the session's queue is full or it may not be queued
    /// offline. Returns whether the session is online with more than `high_water` messages queued:
    /// the publisher should then pause (back-pressure) until [`SessionCell::drained`] fires.
    pub fn enqueue(&self, delivery: Delivery, limits: &QueueLimits) -> bool {
        self.try_enqueue(delivery, limits).1
    }

    /// [`SessionCell::enqueue`], also saying whether the delivery was queued: (queued, congested).
    pub fn try_enqueue(&self, delivery: Delivery, limits: &QueueLimits) -> (bool, bool) {
        let mut data = self.lock();
        let online = data.connection.is_some();
        let cost = delivery.msg.cost();
        let refuse = (!online && delivery.qos == QoS::AtMostOnce && !limits.queue_qos0_offline)
            || data.queue.len() >= limits.max_messages
            || data.queued_bytes + cost > limits.max_bytes;
        if refuse {
            data.dropped += 1;
            self.dropped_total.fetch_add(1, Relaxed);
            return (false, online);
        }
        data.queued_bytes += cost;
        data.queue.push_back(delivery);
        let congested = online && data.queue.len() > limits.high_water;
        drop(data);
        if online {
            self.notify.notify_one();
        }
        (true, congested)
    }

    /// Owe a new subscription of `filter` its retained messages, after what is queued now (call with
    /// the router's state locked, so that nothing routed to the subscription is queued before this).
    /// What was still owed to an earlier subscription of the same filter is replaced. At most `room`
    /// messages may be owed at once; the rest are dropped and counted.
    pub fn push_replay(&self, filter: &str, mut msgs: Vec<Retained>, qos: QoS, sub_id: Option<u32>, room: usize) {
        let mut data = self.lock();
        data.replay.retain(|r| r.filter != filter);
        if msgs.is_empty() {
            return;
        }
        let keep = room.saturating_sub(data.replay_len());
        if msgs.len() > keep {
            let lost = (msgs.len() - keep) as u64;
            msgs.truncate(keep);
            self.count_dropped(&mut data, lost);
        }
        if !msgs.is_empty() {
            let ahead = data.queue.len();
            data.replay.push_back(Replay {
                filter: filter.to_owned(),
                ahead,
                msgs: msgs.into_iter(),
                qos,
                sub_ids: sub_id.into_iter().collect(),
            });
        }
        let online = data.connection.is_some();
        drop(data);
        if online {
            self.notify.notify_one();
        }
    }

    /// Count messages dropped for this session (expired, too large for the client).
    pub fn count_dropped(&self, data: &mut SessionData, n: u64) {
        data.dropped += n;
        self.dropped_total.fetch_add(n, Relaxed);
    }
}

/// The bounds of a session's queue, from [`crate::broker::BrokerConfig`].
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// Most messages queued.
    pub max_messages: usize,
    /// Most bytes queued.
    pub max_bytes: usize,
    /// Whether QoS 0 messages are queued for an offline session.
    pub queue_qos0_offline: bool,
    /// Queue length of an online session above which publishers to it pause.
    pub high_water: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retained(topic: &str, qos: QoS) -> Retained {
        Retained::new(&Routed {
            topic: topic.into(),
            payload: bytes::Bytes::from_static(b"v"),
            published_qos: qos,
            retain: true,
            properties: None,
            expires_at: None,
            publisher: "p".into(),
        })
    }

    fn live(topic: &str) -> Delivery {
        Delivery {
            msg: retained(topic, QoS::AtMostOnce).to_routed(),
            qos: QoS::AtMostOnce,
            retain: false,
            sub_ids: Vec::new(),
            share: None,
        }
    }

    fn order(data: &mut SessionData) -> Vec<(String, QoS, bool, Vec<u32>)> {
        std::iter::from_fn(|| data.pop_next()).map(|d| (d.msg.topic.to_string(), d.qos, d.retain, d.sub_ids)).collect()
    }

    #[test]
    fn replay_goes_between_what_was_queued_before_and_after_at_min_qos_and_is_bounded() {
        let total = Arc::new(AtomicU64::new(0));
        let cell = SessionCell::new("c".into(), ProtocolVersion::V5, Arc::clone(&total));
        let limits = QueueLimits { max_messages: 10, max_bytes: usize::MAX, queue_qos0_offline: true, high_water: 10 };
        cell.enqueue(live("before"), &limits);
        cell.push_replay("a/#", vec![retained("a", QoS::ExactlyOnce), retained("b", QoS::AtMostOnce)], QoS::AtLeastOnce, Some(7), 3);
        // Room for 3 owed messages: the second replay keeps one of its two.
        cell.push_replay("c/#", vec![retained("c", QoS::AtLeastOnce), retained("d", QoS::AtLeastOnce)], QoS::AtLeastOnce, None, 3);
        assert_eq!(total.load(Relaxed), 1, "the one past the bound is counted");
        cell.enqueue(live("after"), &limits);
        let mut data = cell.lock();
        assert_eq!(data.replay_len(), 3);
        assert_eq!(data.peek_qos(), Some(QoS::AtMostOnce), "what was queued first goes first");
        assert_eq!(
            order(&mut data),
            [
                ("before".into(), QoS::AtMostOnce, false, vec![]),
                ("a".into(), QoS::AtLeastOnce, true, vec![7]),
                ("b".into(), QoS::AtMostOnce, true, vec![7]),
                ("c".into(), QoS::AtLeastOnce, true, vec![]),
                ("after".into(), QoS::AtMostOnce, false, vec![]),
            ],
            "min(published, granted) and the subscription identifier per replay"
        );
        assert_eq!((data.replay_len(), data.queue.len(), data.queued_bytes), (0, 0, 0));
    }

    #[test]
    fn a_replay_keeps_its_place_when_the_queue_shrinks_and_a_new_one_replaces_the_old() {
        let cell = SessionCell::new("c".into(), ProtocolVersion::V5, Arc::new(AtomicU64::new(0)));
        let limits = QueueLimits { max_messages: 10, max_bytes: usize::MAX, queue_qos0_offline: true, high_water: 10 };
        for t in ["q0", "x", "q1"] {
            cell.enqueue(live(t), &limits);
        }
        cell.push_replay("r", vec![retained("r", QoS::AtMostOnce)], QoS::AtMostOnce, None, 10);
        cell.enqueue(live("later"), &limits);
        let mut data = cell.lock();
        assert_eq!(data.retain_queue(|d| &*d.msg.topic != "x"), 1);
        let topics: Vec<String> = order(&mut data).into_iter().map(|(t, ..)| t).collect();
        assert_eq!(topics, ["q0", "q1", "r", "later"]);
        drop(data);
        cell.push_replay("s", vec![retained("s1", QoS::AtMostOnce)], QoS::AtMostOnce, None, 10);
        cell.push_replay("s", vec![retained("s2", QoS::AtMostOnce)], QoS::AtMostOnce, None, 10);
        let topics: Vec<String> = order(&mut cell.lock()).into_iter().map(|(t, ..)| t).collect();
        assert_eq!(topics, ["s2"], "a new subscription of a filter replaces what its predecessor was owed");
    }
}
