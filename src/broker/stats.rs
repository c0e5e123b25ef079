//! Broker counters (lock-free) and the `$SYS/broker/...` topics published from them.
//!
//! Owns: [`Stats`]. Names of the `$SYS` topics follow mosquitto's where they exist.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Shared;
use super::codec::{Properties, QoS};
use super::router;
use crate::model::BrokerStats;

/// Counters updated by every connection task.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    /// PUBLISH packets received.
    pub msgs_received: AtomicU64,
    /// PUBLISH packets sent.
    pub msgs_sent: AtomicU64,
    /// Bytes read from clients.
    pub bytes_received: AtomicU64,
    /// Bytes written to clients.
    pub bytes_sent: AtomicU64,
    /// Clients connected now.
    pub clients_connected: AtomicU64,
    /// Most clients connected at once.
    pub clients_maximum: AtomicU64,
    /// Messages dropped (queues full, expired, no room).
    pub dropped: Arc<AtomicU64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            msgs_received: AtomicU64::new(0),
            msgs_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            clients_connected: AtomicU64::new(0),
            clients_maximum: AtomicU64::new(0),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Stats {
    /// Count a connected client.
    pub fn client_connected(&self) {
        let now = self.clients_connected.fetch_add(1, Relaxed) + 1;
        self.clients_maximum.fetch_max(now, Relaxed);
    }

    /// Count a disconnected client.
    pub fn client_disconnected(&self) {
        self.clients_connected.fetch_sub(1, Relaxed);
    }

    /// Seconds since the broker started.
    #[must_use]
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A snapshot for the explorer; rates are computed by the caller from two snapshots.
#[must_use]
pub fn snapshot(shared: &Shared) -> BrokerStats {
    let (retained, subscriptions) = shared.state.lock().map(|s| s.counts()).unwrap_or_default();
    let s = &shared.stats;
    BrokerStats {
        clients_connected: s.clients_connected.load(Relaxed),
        msgs_in_per_sec: 0.0,
        msgs_out_per_sec: 0.0,
        msgs_received: s.msgs_received.load(Relaxed),
        msgs_sent: s.msgs_sent.load(Relaxed),
        retained: retained as u64,
        subscriptions: subscriptions as u64,
        dropped: s.dropped.load(Relaxed),
    }
}

/// The `$SYS/broker/...` topics and their values now. Names are mosquitto's; `messages/received`
/// and `messages/sent` count PUBLISH packets here (mosquitto counts every packet there), and the
/// `publish/messages/*` names carry the same PUBLISH counts under mosquitto's exact meaning.
#[must_use]
pub fn sys_entries(shared: &Shared) -> Vec<(&'static str, String)> {
    let snap = snapshot(shared);
    let s = &shared.stats;
    let (clients_total, shared_subs) = shared.state.lock().map(|st| (st.session_count(), st.shared_subs.len())).unwrap_or_default();
    let connected = snap.clients_connected;
    vec![
        ("version", format!("mqscope version {}", env!("CARGO_PKG_VERSION"))),
        ("uptime", format!("{} seconds", s.uptime().as_secs())),
        ("clients/connected", connected.to_string()),
        ("clients/total", clients_total.to_string()),
        ("clients/disconnected", (clients_total as u64).saturating_sub(connected).to_string()),
        ("clients/maximum", s.clients_maximum.load(Relaxed).to_string()),
        ("messages/received", snap.msgs_received.to_string()),
        ("messages/sent", snap.msgs_sent.to_string()),
        ("publish/messages/received", snap.msgs_received.to_string()),
        ("publish/messages/sent", snap.msgs_sent.to_string()),
        ("publish/messages/dropped", snap.dropped.to_string()),
        ("bytes/received", s.bytes_received.load(Relaxed).to_string()),
        ("bytes/sent", s.bytes_sent.load(Relaxed).to_string()),
        ("subscriptions/count", snap.subscriptions.to_string()),
        ("shared_subscriptions/count", shared_subs.to_string()),
        ("retained messages/count", snap.retained.to_string()),
    ]
}

/// Publish `$SYS/broker/...` every `every` (retained QoS 0, like mosquitto).
pub async fn sys_loop(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (name, value) in sys_entries(&shared) {
            let topic: Arc<str> = format!("$SYS/broker/{name}").into();
            router::publish_sys(&shared, topic, Bytes::from(value), QoS::AtMostOnce, true, &Properties::default());
        }
    }
}
