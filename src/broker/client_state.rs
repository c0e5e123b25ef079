//! What the broker keeps for one client session, across its connections.
//!
//! Owns: [`SessionCell`] (the session's mutex and wake-up) and [`SessionData`]: its subscriptions,
//! the queue of messages not yet sent, the QoS 1/2 messages in flight, and the QoS 2 packet ids
//! awaiting PUBREL. The router appends to the queue; the connection task drains it. Lock order:
//! the router's state first, then a session; never the other way round.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::codec::{LastWill, Properties, ProtocolVersion, QoS, SubscriptionOptions};
use super::retained::Retained;

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
/// per message here, and never goes through (or overflows) the session's queue.
#[derive(Debug)]
pub struct Replay {
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
    /// Tells the attached connection to end (takeover, kick), with the DISCONNECT reason code.
    pub kick: Option<oneshot::Sender<u8>>,
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
    /// Client's Receive Maximum: outgoing QoS 1/2 in flight at once.
    pub send_quota: u16,
    /// Client's Maximum Packet Size.
    pub client_max_packet: u32,
    /// Messages dropped for this session.
    pub dropped: u64,
    /// Address of the attached connection, for the explorer.
    pub peer: Option<std::net::SocketAddr>,
}

impl SessionData {
    /// Retained messages still owed to new subscriptions.
    #[must_use]
    pub fn replay_len(&self) -> usize {
        self.replay.iter().map(|r| r.msgs.len()).sum()
    }

    /// QoS of the next message to send (the retained replay first), if any.
    #[must_use]
    pub fn peek_qos(&self) -> Option<QoS> {
        match self.replay.front() {
            Some(r) => r.msgs.as_slice().first().map(|m| m.qos().min(r.qos)),
            None => self.queue.front().map(|d| d.qos),
        }
    }

    /// Take the next message to send: the retained replay first, then the queue.
    pub fn pop_next(&mut self) -> Option<Delivery> {
        while let Some(r) = self.replay.front_mut() {
            if let Some(m) = r.msgs.next() {
                let d = Delivery { msg: m.to_routed(), qos: m.qos().min(r.qos), retain: true, sub_ids: r.sub_ids.clone(), share: None };
                if r.msgs.len() == 0 {
                    self.replay.pop_front();
                }
                return Some(d);
            }
            self.replay.pop_front();
        }
        let d = self.queue.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(d.msg.cost());
        Some(d)
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
                send_quota: u16::MAX,
                client_max_packet: u32::MAX,
                dropped: 0,
                peer: None,
            }),
            notify: Notify::new(),
            drained: Notify::new(),
            stalled: std::sync::atomic::AtomicBool::new(false),
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
        let mut data = self.lock();
        let online = data.connection.is_some();
        let cost = delivery.msg.cost();
        let refuse = (!online && delivery.qos == QoS::AtMostOnce && !limits.queue_qos0_offline)
            || data.queue.len() >= limits.max_messages
            || data.queued_bytes + cost > limits.max_bytes;
        if refuse {
            data.dropped += 1;
            self.dropped_total.fetch_add(1, Relaxed);
            return online;
        }
        data.queued_bytes += cost;
        data.queue.push_back(delivery);
        let congested = online && data.queue.len() > limits.high_water;
        drop(data);
        if online {
            self.notify.notify_one();
        }
        congested
    }

    /// Owe a new subscription its retained messages. At most `room` messages may be owed at once
    /// (a client that subscribes `#` again and again without reading must not grow this without
    /// bound); the rest are dropped and counted.
    pub fn push_replay(&self, mut msgs: Vec<Retained>, qos: QoS, sub_id: Option<u32>, room: usize) {
        if msgs.is_empty() {
            return;
        }
        let mut data = self.lock();
        let keep = room.saturating_sub(data.replay_len());
        if msgs.len() > keep {
            let lost = (msgs.len() - keep) as u64;
            msgs.truncate(keep);
            self.count_dropped(&mut data, lost);
        }
        if !msgs.is_empty() {
            data.replay.push_back(Replay { msgs: msgs.into_iter(), qos, sub_ids: sub_id.into_iter().collect() });
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
            payload: Bytes::from_static(b"v"),
            published_qos: qos,
            retain: true,
            properties: None,
            expires_at: None,
            publisher: "p".into(),
        })
    }

    #[test]
    fn replay_goes_first_at_min_qos_and_is_bounded() {
        let total = Arc::new(AtomicU64::new(0));
        let cell = SessionCell::new("c".into(), ProtocolVersion::V5, Arc::clone(&total));
        let live = Delivery {
            msg: retained("live", QoS::AtMostOnce).to_routed(),
            qos: QoS::AtMostOnce,
            retain: false,
            sub_ids: Vec::new(),
            share: None,
        };
        let limits = QueueLimits { max_messages: 10, max_bytes: usize::MAX, queue_qos0_offline: true, high_water: 10 };
        cell.enqueue(live, &limits);
        cell.push_replay(vec![retained("a", QoS::ExactlyOnce), retained("b", QoS::AtMostOnce)], QoS::AtLeastOnce, Some(7), 3);
        // Room for 3 owed messages: the second replay keeps one of its two.
        cell.push_replay(vec![retained("c", QoS::AtLeastOnce), retained("d", QoS::AtLeastOnce)], QoS::AtLeastOnce, None, 3);
        assert_eq!(total.load(Relaxed), 1, "the one past the bound is counted");
        let mut data = cell.lock();
        assert_eq!(data.replay_len(), 3);
        assert_eq!(data.peek_qos(), Some(QoS::AtLeastOnce), "min(published 2, granted 1)");
        let order: Vec<(String, QoS, bool, Vec<u32>)> =
            std::iter::from_fn(|| data.pop_next()).map(|d| (d.msg.topic.to_string(), d.qos, d.retain, d.sub_ids)).collect();
        assert_eq!(
            order,
            [
                ("a".into(), QoS::AtLeastOnce, true, vec![7]),
                ("b".into(), QoS::AtMostOnce, true, vec![7]),
                ("c".into(), QoS::AtLeastOnce, true, vec![]),
                ("live".into(), QoS::AtMostOnce, false, vec![]),
            ]
        );
        assert_eq!((data.replay_len(), data.queue.len(), data.queued_bytes), (0, 0, 0));
    }
}
