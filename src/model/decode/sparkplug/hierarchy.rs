//! The Sparkplug B edge nodes and devices seen on one connection, as a host application tracks
//! them: groups → edge nodes → devices, online or offline from their BIRTH and DEATH certificates,
//! the node's `bdSeq` (an NDEATH whose `bdSeq` is not the current NBIRTH's belongs to an earlier
//! session: it is kept as *stale* and takes nothing offline), the node's sequence number and its
//! gaps, and the STATE of primary host applications (`spBv1.0/STATE/host_id`).
//!
//! Owns: [`Hierarchy`] and what it lists ([`EdgeNode`], [`Device`], [`HostApp`]). Fed with every
//! message under `spBv1.0/` as it is folded into the store, so it must stay cheap: BIRTH and DEATH
//! certificates (rare) are decoded, DATA messages are not (only their `seq` field is read by a scan
//! of the protobuf's top level). Bounded: at most [`MAX_NODES`] edge nodes, [`MAX_DEVICES`] devices
//! and [`MAX_HOSTS`] host applications; messages of any beyond are counted in
//! [`Hierarchy::untracked`]. No egui, no tokio, no clock reads: times are the messages' own.

use std::collections::BTreeMap;
use std::time::SystemTime;

use prost::Message as _;

use super::NAMESPACE;
use super::proto::{MetricValue, Payload};

/// Most edge nodes tracked per connection.
pub const MAX_NODES: usize = 4_096;
/// Most devices tracked per connection (over all edge nodes).
pub const MAX_DEVICES: usize = 32_768;
/// Longest group, edge node, device or host id tracked, bytes; messages of longer ones are
/// counted as untracked (ids are copied, so the count bounds alone would not bound the memory).
pub const MAX_ID_LEN: usize = 256;
/// Most primary host applications tracked per connection.
pub const MAX_HOSTS: usize = 256;

/// Whether an edge node or device is up, as its certificates say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Presence {
    /// Seen, but no BIRTH or DEATH yet (the explorer joined after its BIRTH), or none since the
    /// explorer lost its own connection (what happened meanwhile is unknown).
    #[default]
    Unknown,
    /// Its BIRTH came and no DEATH since.
    Online,
    /// Its DEATH came (or, for a device, its edge node's), or its edge node was born again and it
    /// was not yet.
    Offline,
}

/// A sequence number that was not the one after the previous message of its edge node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The number expected (previous + 1, wrapping after 255).
    pub expected: u64,
    /// The number received.
    pub got: u64,
    /// When it was received.
    pub at: SystemTime,
}

/// An NDEATH ignored because its `bdSeq` is not the current NBIRTH's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleDeath {
    /// The NDEATH's `bdSeq`.
    pub bd_seq: u64,
    /// The current NBIRTH's `bdSeq`.
    pub birth_bd_seq: u64,
    /// When it was received.
    pub at: SystemTime,
}

/// One device of an edge node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// Online or offline.
    pub presence: Presence,
    /// When its last DBIRTH was received.
    pub birth_at: Option<SystemTime>,
    /// When it last went offline (its DDEATH, or its node's NDEATH).
    pub death_at: Option<SystemTime>,
    /// Metrics in its last DBIRTH.
    pub metrics: usize,
    /// Messages on its topics (BIRTH, DATA, DEATH, commands).
    pub messages: u64,
    /// When the last of them was received.
    pub last_at: Option<SystemTime>,
}

/// One edge node and its devices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeNode {
    /// Online or offline.
    pub presence: Presence,
    /// When its last NBIRTH was received.
    pub birth_at: Option<SystemTime>,
    /// When its last (current) NDEATH was received.
    pub death_at: Option<SystemTime>,
    /// The `bdSeq` metric of its last NBIRTH (or NDEATH, before any NBIRTH was seen).
    pub bd_seq: Option<u64>,
    /// The last NDEATH ignored as stale since the last NBIRTH (cleared by the next NBIRTH or
    /// the NDEATH that counts).
    pub stale_death: Option<StaleDeath>,
    /// Metrics in its last NBIRTH.
    pub metrics: usize,
    /// `seq` of its last message that carries the node's sequence (NBIRTH, NDATA, DBIRTH, DDATA, DDEATH).
    pub seq: Option<u64>,
    /// Sequence numbers that did not follow the previous one, since the explorer started.
    pub gaps: u64,
    /// The last of those.
    pub last_gap: Option<Gap>,
    /// Messages on its topics and its devices'.
    pub messages: u64,
    /// When the last of them was received.
    pub last_at: Option<SystemTime>,
    /// Its devices, by device id.
    pub devices: BTreeMap<String, Device>,
}

impl EdgeNode {
    /// Devices online now.
    #[must_use]
    pub fn devices_online(&self) -> usize {
        self.devices.values().filter(|d| d.presence == Presence::Online).count()
    }
}

/// A primary host application, from its retained STATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostApp {
    /// What its last STATE said (`None`: a payload that is neither the JSON of Sparkplug 3 nor
    /// the `ONLINE`/`OFFLINE` of Sparkplug 2).
    pub online: Option<bool>,
    /// The `timestamp` of that STATE (ms since the epoch), if it had one.
    pub timestamp: Option<u64>,
    /// When it was received.
    pub at: SystemTime,
    /// STATE messages ignored because their timestamp was older than the one shown.
    pub stale: u64,
}

/// The Sparkplug view of one connection's traffic.
#[derive(Clone, Debug, Default)]
pub struct Hierarchy {
    /// Group id → edge node id → node.
    groups: BTreeMap<String, BTreeMap<String, EdgeNode>>,
    /// Host id → its last STATE.
    hosts: BTreeMap<String, HostApp>,
    /// Edge nodes in `groups`, bounded by [`MAX_NODES`].
    nodes: usize,
    /// Devices in `groups`, bounded by [`MAX_DEVICES`].
    devices: usize,
    /// Messages of edge nodes, devices or hosts that did not fit in the bounds.
    untracked: u64,
    /// BIRTH or DEATH certificates whose payload did not decode (counted, otherwise ignored).
    malformed: u64,
    /// Bumped whenever a node, device or host is added, so that views rebuild their row lists.
    generation: u64,
}

/// What a topic under `spBv1.0/` names.
enum Target<'a> {
    Host(&'a str),
    Node { group: &'a str, kind: &'a str, node: &'a str, device: Option<&'a str> },
}

fn target(topic: &str) -> Option<Target<'_>> {
    let rest = topic.strip_prefix(NAMESPACE)?.strip_prefix('/')?;
    let mut levels = rest.split('/');
    match (levels.next(), levels.next(), levels.next(), levels.next(), levels.next()) {
        (Some("STATE"), Some(host), None, ..) => Some(Target::Host(host)),
        (Some(group), Some(kind @ ("NBIRTH" | "NDEATH" | "NDATA" | "NCMD")), Some(node), None, None) => {
            Some(Target::Node { group, kind, node, device: None })
        }
        (Some(group), Some(kind @ ("DBIRTH" | "DDEATH" | "DDATA" | "DCMD")), Some(node), Some(device), None) => {
            Some(Target::Node { group, kind, node, device: Some(device) })
        }
        _ => None,
    }
}

/// `(group, edge node, device)` of an edge node's or device's topic (`spBv1.0/G/NDATA/E`,
/// `spBv1.0/G/DCMD/E/D`, …); `None` for STATE and anything else.
#[must_use]
pub fn node_of(topic: &str) -> Option<(&str, &str, Option<&str>)> {
    match target(topic)? {
        Target::Node { group, node, device, .. } => Some((group, node, device)),
        Target::Host(_) => None,
    }
}

/// A short name for a chart series of one metric's value (`metrics.NAME.value` of a node's or
/// device's topic): `edge/device: NAME`, so that one metric charted across devices reads apart.
#[must_use]
pub fn series_name(topic: &str, path: &crate::model::payload::JsonPath) -> Option<String> {
    use crate::model::payload::PathSegment::Key;
    let (_, node, device) = node_of(topic)?;
    let [Key(metrics), Key(name), Key(value)] = &path.0[..] else { return None };
    if metrics != "metrics" || value != "value" {
        return None;
    }
    Some(match device {
        Some(device) => format!("{node}/{device}: {name}"),
        None => format!("{node}: {name}"),
    })
}

/// The `bdSeq` metric of an NBIRTH or NDEATH.
fn bd_seq(payload: &Payload) -> Option<u64> {
    payload.metrics.iter().find(|m| m.name.as_deref() == Some("bdSeq")).and_then(|m| match m.value {
        Some(MetricValue::LongValue(v)) => Some(v),
        Some(MetricValue::IntValue(v)) => Some(u64::from(v)),
        _ => None,
    })
}

impl Hierarchy {
    /// Fold one message in (the caller passes only topics under `spBv1.0/`; others are ignored).
    /// `continuity_lost`: messages before this one were thinned away (a coalesced run), so its
    /// `seq` is taken as it is, not checked against the previous one.
    pub fn observe(&mut self, topic: &str, payload: &[u8], at: SystemTime, continuity_lost: bool) {
        let target = target(topic);
        let too_long = |id: &str| id.len() > MAX_ID_LEN;
        let over = match &target {
            Some(Target::Host(host)) => too_long(host),
            Some(Target::Node { group, node, device, .. }) => too_long(group) || too_long(node) || device.is_some_and(too_long),
            None => false,
        };
        if over {
            self.untracked += 1;
            return;
        }
        match target {
            Some(Target::Host(host)) => self.state(host, payload, at),
            Some(Target::Node { group, kind, node, device }) => self.node_message(group, kind, node, device, payload, at, continuity_lost),
            None => {}
        }
    }

    /// The explorer lost its own connection: what the nodes did meanwhile is unknown. Every node
    /// and device goes to [`Presence::Unknown`] until its next BIRTH or DEATH, and the next `seq`
    /// of each node is taken as it comes (a gap the explorer missed is not the node's).
    pub fn connection_lost(&mut self) {
        for node in self.groups.values_mut().flat_map(BTreeMap::values_mut) {
            node.presence = Presence::Unknown;
            node.seq = None;
            for device in node.devices.values_mut() {
                device.presence = Presence::Unknown;
            }
        }
    }

    /// Groups, sorted, each with its edge nodes sorted by id.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, EdgeNode>)> {
        self.groups.iter().map(|(g, nodes)| (g.as_str(), nodes))
    }

    /// One edge node.
    #[must_use]
    pub fn node(&self, group: &str, node: &str) -> Option<&EdgeNode> {
        self.groups.get(group)?.get(node)
    }

    /// Primary host applications, sorted by host id.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, &HostApp)> {
        self.hosts.iter().map(|(h, s)| (h.as_str(), s))
    }

    /// Edge nodes tracked.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Devices tracked.
    #[must_use]
    pub fn device_count(&self) -> usize {
        self.devices
    }

    /// Messages of edge nodes, devices or hosts beyond the bounds, not tracked.
    #[must_use]
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// BIRTH, DEATH or STATE payloads that did not decode.
    #[must_use]
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Changes whenever a node, device or host is added.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True if nothing under `spBv1.0/` was seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.hosts.is_empty() && self.untracked == 0
    }

    /// The node, added if there is room.
    fn node_mut(&mut self, group: &str, node: &str) -> Option<&mut EdgeNode> {
        let known = self.groups.get(group).is_some_and(|nodes| nodes.contains_key(node));
        if !known {
            if self.nodes >= MAX_NODES {
                return None;
            }
            self.nodes += 1;
            self.generation += 1;
        }
        Some(self.groups.entry(group.to_owned()).or_default().entry(node.to_owned()).or_default())
    }

    #[expect(clippy::too_many_arguments, reason = "the topic's parts, the message, and how it was folded")]
    fn node_message(
        &mut self,
        group: &str,
        kind: &str,
        node_id: &str,
        device_id: Option<&str>,
        payload: &[u8],
        at: SystemTime,
        continuity_lost: bool,
    ) {
        // A BIRTH or DEATH is decoded whole (rare); DATA only has its `seq` read.
        let decoded = matches!(kind, "NBIRTH" | "NDEATH" | "DBIRTH").then(|| Payload::decode(payload));
        if matches!(decoded, Some(Err(_))) {
            self.malformed += 1;
            return;
        }
        let decoded = decoded.and_then(Result::ok);
        let (devices_full, mut added, mut untracked) = (self.devices >= MAX_DEVICES, false, false);
        let Some(node) = self.node_mut(group, node_id) else {
            self.untracked += 1;
            return;
        };
        node.messages += 1;
        node.last_at = Some(at);
        if matches!(kind, "NBIRTH" | "NDATA" | "DBIRTH" | "DDATA" | "DDEATH") {
            let seq = decoded.as_ref().map_or_else(|| super::super::wire::varint_field(payload, 3), |p| p.seq);
            check_seq(node, seq, at, continuity_lost || kind == "NBIRTH");
        }
        match (kind, device_id, decoded) {
            ("NBIRTH", None, Some(p)) => {
                node.presence = Presence::Online;
                node.birth_at = Some(at);
                node.bd_seq = bd_seq(&p);
                node.stale_death = None;
                node.metrics = p.metrics.len();
                // A new session: its devices are born again after it.
                for d in node.devices.values_mut().filter(|d| d.presence == Presence::Online) {
                    d.presence = Presence::Offline;
                    d.death_at = Some(at);
                }
            }
            ("NDEATH", None, Some(p)) => match (node.bd_seq, bd_seq(&p)) {
                (Some(birth), Some(death)) if node.birth_at.is_some() && birth != death => {
                    node.stale_death = Some(StaleDeath { bd_seq: death, birth_bd_seq: birth, at });
                }
                (_, death) => {
                    node.presence = Presence::Offline;
                    node.death_at = Some(at);
                    node.stale_death = None;
                    if node.birth_at.is_none() {
                        node.bd_seq = death;
                    }
                    for d in node.devices.values_mut().filter(|d| d.presence != Presence::Offline) {
                        d.presence = Presence::Offline;
                        d.death_at = Some(at);
                    }
                }
            },
            (_, Some(device_id), decoded) => {
                let known = node.devices.contains_key(device_id);
                if known || !devices_full {
                    added = !known;
                    device_message(node.devices.entry(device_id.to_owned()).or_default(), kind, decoded.as_ref(), at);
                } else {
                    untracked = true;
                }
            }
            _ => {}
        }
        if untracked {
            self.untracked += 1;
        }
        if added {
            self.devices += 1;
            self.generation += 1;
        }
    }

    /// A host application's STATE: Sparkplug 3's retained `{"online": bool, "timestamp": ms}`, or
    /// Sparkplug 2's `ONLINE`/`OFFLINE`. One older than the STATE shown is ignored (counted).
    fn state(&mut self, host: &str, payload: &[u8], at: SystemTime) {
        let (online, timestamp) = match serde_json::from_slice::<serde_json::Value>(payload) {
            Ok(v) => (v.get("online").and_then(serde_json::Value::as_bool), v.get("timestamp").and_then(serde_json::Value::as_u64)),
            Err(_) => match payload {
                b"ONLINE" => (Some(true), None),
                b"OFFLINE" => (Some(false), None),
                _ => (None, None),
            },
        };
        if online.is_none() {
            self.malformed += 1;
        }
        if let Some(known) = self.hosts.get_mut(host) {
            if let (Some(new), Some(old)) = (timestamp, known.timestamp)
                && new < old
            {
                known.stale += 1;
                return;
            }
            *known = HostApp { online, timestamp, at, stale: known.stale };
        } else if self.hosts.len() < MAX_HOSTS {
            self.hosts.insert(host.to_owned(), HostApp { online, timestamp, at, stale: 0 });
            self.generation += 1;
        } else {
            self.untracked += 1;
        }
    }
}

/// A device's own message (its node's sequence is checked by the caller).
fn device_message(device: &mut Device, kind: &str, decoded: Option<&Payload>, at: SystemTime) {
    device.messages += 1;
    device.last_at = Some(at);
    match (kind, decoded) {
        ("DBIRTH", Some(p)) => {
            device.presence = Presence::Online;
            device.birth_at = Some(at);
            device.metrics = p.metrics.len();
        }
        ("DDEATH", _) => {
            device.presence = Presence::Offline;
            device.death_at = Some(at);
        }
        _ => {}
    }
}

/// Note `seq` as the node's latest and count a gap if it does not follow the previous one (unless
/// `restart`: an NBIRTH, or a message after others were thinned away).
fn check_seq(node: &mut EdgeNode, seq: Option<u64>, at: SystemTime, restart: bool) {
    let Some(seq) = seq else { return };
    if !restart && let Some(expected) = super::seq_gap(node.seq, seq) {
        node.gaps += 1;
        node.last_gap = Some(Gap { expected, got: seq, at });
    }
    node.seq = Some(seq);
}

#[cfg(test)]
#[path = "hierarchy_tests.rs"]
mod tests;
