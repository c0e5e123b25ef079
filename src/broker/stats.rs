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

/// Publish `$SYS/broker/...` every `every` (retained, like mosquitto).
pub async fn sys_loop(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let snap = snapshot(&shared);
        let s = &shared.stats;
        let clients_total = shared.state.lock().map(|st| st.session_count()).unwrap_or_default();
        let entries: [(&str, String); 12] = [
            ("version", format!("mqscope {}", env!("CARGO_PKG_VERSION"))),
            ("uptime", format!("{} seconds", s.uptime().as_secs())),
            ("clients/connected", snap.clients_connected.to_string()),
            ("clients/total", clients_total.to_string()),
            ("clients/maximum", s.clients_maximum.load(Relaxed).to_string()),
            ("messages/received", snap.msgs_received.to_string()),
            ("messages/sent", snap.msgs_sent.to_string()),
            ("messages/dropped", snap.dropped.to_string()),
            ("bytes/received", s.bytes_received.load(Relaxed).to_string()),
            ("bytes/sent", s.bytes_sent.load(Relaxed).to_string()),
            ("subscriptions/count", snap.subscriptions.to_string()),
            ("retained messages/count", snap.retained.to_string()),
        ];
        for (name, value) in entries {
            let topic: Arc<str> = format!("$SYS/broker/{name}").into();
            router::publish_sys(&shared, topic, Bytes::from(value), QoS::AtMostOnce, true, &Properties::default());
        }
    }
}
