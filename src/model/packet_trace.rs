//! The packet trace of the embedded broker, as plain data: the packets it read from and wrote to
//! the clients being traced, each decoded once into a row (credentials already left out), and the
//! explorer's bounded copy of them.
//!
//! Owns: [`TracedPacket`], [`TraceTargets`], [`TraceUpdate`] and [`PacketTrace`] (what the store keeps:
//! at most [`TRACE_CAPACITY`] rows, the oldest dropped first and counted), and the pure filter the
//! Trace tab uses. No egui, no tokio, no clock reads: every time is stamped by the broker.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use super::QoS;

/// Most packets kept, by the broker's ring and by the explorer's copy alike (the bound is shown).
pub const TRACE_CAPACITY: usize = 5_000;

/// Which way a packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the broker.
    In,
    /// From the broker to the client.
    Out,
}

impl Direction {
    /// "in" (client to broker) / "out", as the table shows it.
    #[must_use]
    pub const fn arrow(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// One packet read or written, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedPacket {
    /// Position in the broker's trace (1, 2, …; a gap means packets the bound dropped).
    pub seq: u64,
    /// When the broker read or queued it.
    pub at: SystemTime,
    /// The client it came from or went to.
    pub client_id: Arc<str>,
    /// In or out.
    pub direction: Direction,
    /// Packet type as the specification names it (`"PUBLISH"`, `"PUBREC"`, …).
    pub kind: &'static str,
    /// Packet Identifier, for the packets that carry one.
    pub pkid: Option<u16>,
    /// QoS of a PUBLISH (or of a CONNECT's will).
    pub qos: Option<QoS>,
    /// Flags set: `DUP`, `RETAIN`, `clean start`, `session present`.
    pub flags: String,
    /// Reason code (CONNACK, acknowledgements, DISCONNECT, AUTH; the first refused one of a SUBACK/UNSUBACK).
    pub reason: Option<u8>,
    /// Size on the wire, bytes (fixed header included).
    pub size: usize,
    /// Topic of a PUBLISH, or the filters of a SUBSCRIBE/UNSUBSCRIBE.
    pub topic: Option<String>,
    /// Every field and property, one per line; passwords and authentication data are never in it.
    pub detail: String,
}

/// Whose packets the broker traces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceTargets {
    /// Every client, present and future.
    pub all: bool,
    /// These client ids (whether connected or not).
    pub clients: BTreeSet<Arc<str>>,
}

impl TraceTargets {
    /// Whether packets of `client_id` are traced.
    #[must_use]
    pub fn covers(&self, client_id: &str) -> bool {
        self.all || self.clients.contains(client_id)
    }

    /// Nothing is traced.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.all && self.clients.is_empty()
    }
}

/// New packets from the broker's trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceUpdate {
    /// Packets after the last one asked for, oldest first.
    pub packets: Vec<TracedPacket>,
    /// Sequence number of the newest packet the broker traced (0: none yet).
    pub last_seq: u64,
    /// Whose packets are traced now.
    pub targets: TraceTargets,
}

/// The explorer's copy of the trace: the latest [`TRACE_CAPACITY`] packets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketTrace {
    /// Oldest first.
    pub rows: VecDeque<TracedPacket>,
    /// The newest sequence number seen: the next request asks for packets after it.
    pub last_seq: u64,
    /// Packets traced but not kept: evicted by the bound, or gone from the broker's ring before
    /// they were fetched (while paused, or in a burst).
    pub lost: u64,
    /// Whose packets are traced, as the broker last said.
    pub targets: TraceTargets,
}

impl PacketTrace {
    /// Fold in new packets, keeping the bound.
    pub fn apply(&mut self, update: TraceUpdate) {
        for p in update.packets {
            if p.seq <= self.last_seq {
                continue;
            }
            self.lost += p.seq - self.last_seq - 1;
            self.last_seq = p.seq;
            if self.rows.len() >= TRACE_CAPACITY {
                self.rows.pop_front();
                self.lost += 1;
            }
            self.rows.push_back(p);
        }
        if update.last_seq > self.last_seq {
            self.lost += update.last_seq - self.last_seq;
            self.last_seq = update.last_seq;
        }
        self.targets = update.targets;
    }

    /// Forget the rows (the next ones still come after the last seen).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.lost = 0;
    }
}

/// What the Trace tab shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Only this client (`None`: all clients).
    pub client: Option<Arc<str>>,
    /// Only this packet type (`None`: all).
    pub kind: Option<&'static str>,
    /// Only packets whose topic contains this (case-insensitive; empty: any).
    pub topic: String,
}

/// Indices of the rows `filter` keeps, oldest first.
#[must_use]
pub fn trace_order(rows: &VecDeque<TracedPacket>, filter: &TraceFilter) -> Vec<usize> {
    let needle = filter.topic.trim().to_lowercase();
    rows.iter()
        .enumerate()
        .filter(|(_, p)| filter.client.as_ref().is_none_or(|c| *c == p.client_id))
        .filter(|(_, p)| filter.kind.is_none_or(|k| k == p.kind))
        .filter(|(_, p)| needle.is_empty() || p.topic.as_ref().is_some_and(|t| t.to_lowercase().contains(&needle)))
        .map(|(i, _)| i)
        .collect()
}

/// Packet types offered by the type filter.
pub const PACKET_KINDS: [&str; 15] = [
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u64, client: &str, kind: &'static str, topic: Option<&str>) -> TracedPacket {
        TracedPacket {
            seq,
            at: SystemTime::UNIX_EPOCH,
            client_id: client.into(),
            direction: Direction::In,
            kind,
            pkid: None,
            qos: None,
            flags: String::new(),
            reason: None,
            size: 2,
            topic: topic.map(Into::into),
            detail: String::new(),
        }
    }

    #[test]
    fn the_copy_is_bounded_and_counts_what_it_lost() {
        let mut trace = PacketTrace::default();
        let packets = (1..=TRACE_CAPACITY as u64 + 10).map(|s| packet(s, "a", "PINGREQ", None)).collect();
        trace.apply(TraceUpdate { packets, last_seq: TRACE_CAPACITY as u64 + 10, targets: TraceTargets::default() });
        assert_eq!(trace.rows.len(), TRACE_CAPACITY);
        assert_eq!((trace.rows[0].seq, trace.lost), (11, 10));
        // A gap: packets the broker's ring no longer had.
        trace.apply(TraceUpdate { packets: vec![packet(5020, "a", "PINGREQ", None)], last_seq: 5025, targets: TraceTargets::default() });
        assert_eq!((trace.last_seq, trace.lost), (5025, 10 + 1 + 9 + 5));
        trace.clear();
        assert!(trace.rows.is_empty());
        assert_eq!(trace.last_seq, 5025, "cleared rows are not asked for again");
    }

    #[test]
    fn the_filter_keeps_client_type_and_topic() {
        let rows: VecDeque<TracedPacket> = [
            packet(1, "a", "PUBLISH", Some("home/Kitchen/temp")),
            packet(2, "b", "PUBLISH", Some("home/garage")),
            packet(3, "a", "PUBACK", None),
        ]
        .into();
        let all = TraceFilter::default();
        assert_eq!(trace_order(&rows, &all), [0, 1, 2]);
        let a = TraceFilter { client: Some("a".into()), ..TraceFilter::default() };
        assert_eq!(trace_order(&rows, &a), [0, 2]);
        let acks = TraceFilter { kind: Some("PUBACK"), ..TraceFilter::default() };
        assert_eq!(trace_order(&rows, &acks), [2]);
        let kitchen = TraceFilter { topic: "kitchen".into(), ..TraceFilter::default() };
        assert_eq!(trace_order(&rows, &kitchen), [0]);
    }
}
