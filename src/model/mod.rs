//! Everything the explorer shows, as plain data: no egui, no tokio, no clock reads.
//!
//! Owns: [`Store`] (one [`Conn`] per broker, each with its [`TopicTree`]; the [`Charts`] fed from
//! the same messages), the embedded broker's figures and inside views ([`BrokerInfo`], [`broker_view`]), and pure helpers for
//! payloads, formatting, diffs, decimation and CSV. The UI reads it; the
//! runtime's events are folded into it by `protocol::Event::apply_to`.

pub mod availability;
pub mod broker_security;
pub mod broker_view;
pub mod capture;
pub mod chart_csv;
pub mod charts;
pub mod coalesce;
pub mod coverage;
pub mod decimate;
pub mod decode;
pub mod diff;
pub mod export;
pub mod faults;
pub mod filter;
pub mod format;
pub mod held;
pub mod message;
pub mod packet_trace;
pub mod payload;
pub mod profile;
pub mod publish;
pub mod rate;
pub mod series;
pub mod talkers;
pub mod template;
pub mod time_axis;
pub mod timer;
pub mod topic_node;
pub mod topic_tree;

use std::net::SocketAddr;

pub use charts::{Chart, ChartDef, Charts};
pub use coalesce::{Coalesced, Coalescer};
pub use held::{Batch, Held};
pub use message::{Message, MessageMeta, QoS};
pub use series::{Series, SeriesDef};
pub use topic_tree::{HistoryLimits, NodeId, NodeRef, TopicTree};

/// Topics of Sparkplug B traffic, followed by each connection's [`Conn::sparkplug`].
const SPARKPLUG_PREFIX: &str = "spBv1.0/";

/// Fold the Sparkplug runs of a coalesced batch into `hierarchy`, in the order their latest
/// messages arrived (runs come in the order their topics first did). When any message of the batch
/// was thinned away, sequence numbers cannot be checked: each is taken as it comes.
fn observe_sparkplug_runs(hierarchy: &mut decode::sparkplug::hierarchy::Hierarchy, runs: &[Coalesced]) {
    let mut spb: Vec<&Coalesced> = runs.iter().filter(|r| r.latest.topic.starts_with(SPARKPLUG_PREFIX)).collect();
    if spb.is_empty() {
        return;
    }
    let thinned = runs.iter().any(|r| r.thinned > 0);
    spb.sort_by_key(|r| r.latest.received_at);
    for run in spb {
        hierarchy.observe(&run.latest.topic, &run.latest.payload, run.latest.received_at, thinned);
    }
}

/// Identifies one broker connection; [`ConnId::LOCAL`] is the embedded broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ConnId(pub u32);

impl ConnId {
    /// The embedded broker, always present and first.
    pub const LOCAL: Self = Self(0);
}

/// State of one connection as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ConnStatus {
    /// Not started yet.
    #[default]
    Idle,
    /// Dialling or waiting for CONNACK.
    Connecting,
    /// Up and receiving.
    Connected,
    /// Lost; another attempt follows in `in_secs`.
    Reconnecting {
        /// Seconds until the next attempt.
        in_secs: u64,
        /// Why the last attempt or session ended.
        error: String,
    },
    /// Down for good (until the user reconnects); `error` says why, `None` after a requested disconnect.
    Disconnected {
        /// Why it ended, if not on request.
        error: Option<String>,
    },
}

impl ConnStatus {
    /// True while messages can flow.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected)
    }
}

/// One broker connection and what it received.
#[derive(Debug)]
pub struct Conn {
    /// Which connection.
    pub id: ConnId,
    /// Display name ("Local" for the embedded broker).
    pub name: String,
    /// Where it points, `host:port`.
    pub address: String,
    /// Current state.
    pub status: ConnStatus,
    /// Topics and history.
    pub tree: TopicTree,
    /// Subscriptions the broker refused: (filter, reason).
    pub sub_failures: Vec<(String, String)>,
    /// Sparkplug B edge nodes, devices and host applications seen on it.
    pub sparkplug: decode::sparkplug::hierarchy::Hierarchy,
}

impl Conn {
    /// A new, idle connection with an empty tree.
    #[must_use]
    pub fn new(id: ConnId, name: impl Into<String>, address: impl Into<String>, limits: HistoryLimits) -> Self {
        Self {
            id,
            name: name.into(),
            address: address.into(),
            status: ConnStatus::Idle,
            tree: TopicTree::new(limits),
            sub_failures: Vec::new(),
            sparkplug: decode::sparkplug::hierarchy::Hierarchy::default(),
        }
    }
}

/// The embedded broker, as reported by the runtime.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BrokerInfo {
    /// Where it listens, once started.
    pub local_addr: Option<SocketAddr>,
    /// Why it is not where it was asked to be (e.g. port 1883 taken), or why it stopped.
    pub note: Option<String>,
    /// True while it runs.
    pub running: bool,
    /// Figures from its counters.
    pub stats: BrokerStats,
    /// Its clients, subscriptions and retained store, as last asked for ([`broker_view`]).
    pub inside: broker_view::BrokerView,
}

/// A snapshot of the embedded broker's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BrokerStats {
    /// Clients connected now.
    pub clients_connected: u64,
    /// PUBLISH packets received per second (over the last second).
    pub msgs_in_per_sec: f64,
    /// PUBLISH packets received per second over the last quarter second: whether a flood is on now.
    pub msgs_in_now_per_sec: f64,
    /// PUBLISH packets sent per second (last interval).
    pub msgs_out_per_sec: f64,
    /// PUBLISH packets received since start.
    pub msgs_received: u64,
    /// PUBLISH packets sent since start.
    pub msgs_sent: u64,
    /// Retained messages stored.
    pub retained: u64,
    /// Subscriptions held.
    pub subscriptions: u64,
    /// Messages the broker dropped (full queues, expired).
    pub dropped: u64,
}

/// Everything the UI shows.
#[derive(Debug)]
pub struct Store {
    /// All connections; the embedded broker's is first.
    pub conns: Vec<Conn>,
    /// The embedded broker.
    pub broker: BrokerInfo,
    /// Charts, fed with every message of a charted topic as it is inserted.
    pub charts: Charts,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(HistoryLimits::default())
    }
}

impl Store {
    /// A store with only the (not yet started) embedded broker's connection.
    #[must_use]
    pub fn new(limits: HistoryLimits) -> Self {
        Self { conns: vec![Conn::new(ConnId::LOCAL, "Local", "", limits)], broker: BrokerInfo::default(), charts: Charts::default() }
    }

    /// The connection with this id.
    #[must_use]
    pub fn conn(&self, id: ConnId) -> Option<&Conn> {
        self.conns.iter().find(|c| c.id == id)
    }

    /// The connection with this id, mutable.
    pub fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.id == id)
    }

    /// Ingest messages for one connection; unknown connections are ignored (it was removed meanwhile).
    /// The history budget is shared by all connections: the fullest one gives way first.
    /// Messages of charted topics also go to their series.
    pub fn insert_messages(&mut self, id: ConnId, msgs: impl IntoIterator<Item = Message>) {
        let Self { conns, charts, .. } = self;
        if let Some(conn) = conns.iter_mut().find(|c| c.id == id) {
            for msg in msgs {
                charts.offer(id, &msg);
                if msg.topic.starts_with(SPARKPLUG_PREFIX) {
                    conn.sparkplug.observe(&msg.topic, &msg.payload, msg.received_at, false);
                }
                conn.tree.insert(msg);
            }
        }
        if self.conns.len() > 1 {
            self.enforce_global_budget();
        }
    }

    /// The embedded broker's retained store, as imported into the Local tree: the values a topic
    /// of the tree did not have yet (stored before the window opened) are inserted; a topic the tree
    /// already holds keeps what it saw (as new or newer). Returns how many were inserted.
    pub fn import_retained(&mut self, values: Vec<Message>) -> usize {
        let Some(conn) = self.conns.iter_mut().find(|c| c.id == ConnId::LOCAL) else { return 0 };
        let mut inserted = 0;
        for msg in values {
            let known = conn.tree.find(&msg.topic).is_some_and(|id| conn.tree.node(id).latest().is_some());
            if !known {
                conn.tree.insert(msg);
                inserted += 1;
            }
        }
        inserted
    }

    /// Ingest coalesced runs for one connection (each stands for a topic's latest message and the
    /// messages thinned before it; see [`TopicTree::insert_coalesced`]). The latest messages also go
    /// to their charts.
    pub fn insert_coalesced(&mut self, id: ConnId, runs: impl IntoIterator<Item = Coalesced>) {
        let Self { conns, charts, .. } = self;
        if let Some(conn) = conns.iter_mut().find(|c| c.id == id) {
            let runs: Vec<Coalesced> = runs.into_iter().collect();
            observe_sparkplug_runs(&mut conn.sparkplug, &runs);
            for run in runs {
                charts.offer(id, &run.latest);
                conn.tree.insert_coalesced(run);
            }
        }
        if self.conns.len() > 1 {
            self.enforce_global_budget();
        }
    }

    /// Ingest a batch of one connection.
    pub fn fold(&mut self, id: ConnId, batch: Batch) {
        match batch {
            Batch::Messages(msgs) => self.insert_messages(id, msgs),
            Batch::Runs(runs) => self.insert_coalesced(id, runs),
        }
    }

    /// Keep the sum over connections within one budget, evicting oldest history from the fullest tree.
    fn enforce_global_budget(&mut self) {
        let budget = self.conns.first().map_or(usize::MAX, |c| c.tree.limits().budget_bytes);
        let mut total = self.used_bytes();
        while total > budget {
            let Some(fullest) = self.conns.iter_mut().max_by_key(|c| c.tree.used_bytes()) else { return };
            let before = fullest.tree.used_bytes();
            let target = before.saturating_sub(total - budget);
            let after = fullest.tree.shrink_to(target);
            if after >= before {
                return; // Only latest messages left: they stay whole.
            }
            total -= before - after;
        }
    }

    /// Plot `def` on chart `chart` (a new chart if `None`), filled from the topic's kept history.
    /// Returns (chart index, series index).
    pub fn plot(&mut self, chart: Option<usize>, def: SeriesDef) -> (usize, usize) {
        let tree = self.conns.iter().find(|c| c.id == def.conn_id).map(|c| &c.tree);
        self.charts.add_series(chart, def, tree)
    }

    /// Bytes held by history over all connections.
    #[must_use]
    pub fn used_bytes(&self) -> usize {
        self.conns.iter().map(|c| c.tree.used_bytes()).sum()
    }

    /// Messages evicted over all connections.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.conns.iter().map(|c| c.tree.evicted()).sum()
    }

    /// Apply new history limits to every connection, evicting what no longer fits.
    pub fn set_limits(&mut self, limits: HistoryLimits) {
        for conn in &mut self.conns {
            conn.tree.set_limits(limits);
        }
    }

    /// Add a connection (or return the open one with this name), with a fresh id.
    pub fn open_conn(&mut self, name: &str, address: &str) -> ConnId {
        if let Some(conn) = self.conns.iter_mut().find(|c| c.id != ConnId::LOCAL && c.name == name) {
            address.clone_into(&mut conn.address);
            conn.sub_failures.clear();
            return conn.id;
        }
        let id = ConnId(self.conns.iter().map(|c| c.id.0).max().unwrap_or(0) + 1);
        let limits = self.conns.first().map_or_else(HistoryLimits::default, |c| c.tree.limits());
        self.conns.push(Conn::new(id, name, address, limits));
        id
    }

    /// Remove a connection and its tree (not the embedded broker's).
    pub fn close_conn(&mut self, id: ConnId) {
        if id != ConnId::LOCAL {
            self.conns.retain(|c| c.id != id);
        }
    }

    /// Messages counted but not kept as history over all connections (coalesced while the window
    /// was behind or paused).
    #[must_use]
    pub fn thinned(&self) -> u64 {
        self.conns.iter().map(|c| c.tree.thinned()).sum()
    }

    /// A store with a few topics, for tests of views.
    #[cfg(test)]
    #[must_use]
    pub fn example() -> Self {
        use std::time::{Duration, SystemTime};
        let mut store = Self::default();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        store.insert_messages(
            ConnId::LOCAL,
            [
                Message::new("home/kitchen/temp", "21.5", QoS::AtLeastOnce, true, at),
                Message::new("home/kitchen/humidity", "40", QoS::AtMostOnce, false, at),
                Message::new("home/garage/door", "open", QoS::AtMostOnce, false, at),
            ],
        );
        store
    }
}

#[cfg(test)]
mod import_tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn importing_the_retained_store_adds_only_what_the_tree_lacks() {
        let mut store = Store::example();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let stored = vec![
            Message::new("home/kitchen/temp", "19.0", QoS::AtLeastOnce, true, at),
            Message::new("cellar/pump", "off", QoS::AtMostOnce, true, at),
        ];
        assert_eq!(store.import_retained(stored), 1);
        let tree = &store.conns[0].tree;
        let latest = |t: &str| tree.node(tree.find(t).expect(t)).latest().expect("value").payload.clone();
        assert_eq!(&latest("home/kitchen/temp")[..], b"21.5", "the value the tree saw stays");
        assert_eq!(&latest("cellar/pump")[..], b"off");
    }
}
