//! Broker counters (lock-free) and the `$SYS/broker/...` topics published from them.
//!
//! Owns: [`Stats`]. Names of the `$SYS` topics follow mosquitto's where they exist.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
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
    /// Sockets being served now (before and after CONNECT), checked against `max_connections`.
    pub connections: AtomicUsize,
    /// How often each limit was hit.
    pub limits: LimitCounters,
    /// Refusals of TLS handshakes, credentials and ACL checks.
    pub security: SecurityCounters,
}

/// What TLS, authentication and the ACL refused, counted for `$SYS/broker/security/...`.
#[derive(Debug, Default)]
pub struct SecurityCounters {
    /// TLS handshakes that failed (no or a bad client certificate, an unknown CA, not TLS).
    pub tls_handshake_failed: AtomicU64,
    /// CONNECTs refused for their credentials (0x86 / 0x05) or for being anonymous.
    pub auth_failed: AtomicU64,
    /// Topic filters refused in SUBACK by the ACL (0x87 / 0x80).
    pub subscribe_denied: AtomicU64,
    /// PUBLISH packets the ACL did not let the client write.
    pub publish_denied: AtomicU64,
    /// Deliveries the ACL did not let a subscriber read (a `deny` below a granted wildcard).
    pub delivery_denied: AtomicU64,
}

impl SecurityCounters {
    /// The `$SYS/broker/...` entries.
    fn sys_entries(&self) -> [(&'static str, String); 5] {
        [
            ("security/tls_handshake_failed", self.tls_handshake_failed.load(Relaxed).to_string()),
            ("security/auth_failed", self.auth_failed.load(Relaxed).to_string()),
            ("security/acl/subscribe_denied", self.subscribe_denied.load(Relaxed).to_string()),
            ("security/acl/publish_denied", self.publish_denied.load(Relaxed).to_string()),
            ("security/acl/delivery_denied", self.delivery_denied.load(Relaxed).to_string()),
        ]
    }
}

/// A limit of [`super::BrokerConfig`] that a client can run into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `max_connections`: the CONNECT was refused (0x97 / 0x03).
    Connections,
    /// `max_connection_rate`: the CONNECT was refused (0x9F / 0x03).
    ConnectionRate,
    /// `max_packet_size`: a packet over it ended its connection (0x95).
    PacketSize,
    /// `max_subscriptions_per_client`: a filter was refused in SUBACK (0x97 / 0x80).
    Subscriptions,
    /// `max_topic_length` or `max_topic_levels`: a topic or filter was refused (0x90 / 0x8F / 0x80).
    Topic,
    /// `connect_timeout`: no CONNECT in time.
    ConnectTimeout,
    /// `write_timeout`: a peer took none of our output for that long and was disconnected.
    WriteTimeout,
}

impl Limit {
    /// Every limit, in `$SYS` order.
    pub const ALL: [Self; 7] = [
        Self::Connections,
        Self::ConnectionRate,
        Self::PacketSize,
        Self::Subscriptions,
        Self::Topic,
        Self::ConnectTimeout,
        Self::WriteTimeout,
    ];

    /// The `$SYS/broker/limits/...` topic counting it.
    #[must_use]
    pub const fn sys_name(self) -> &'static str {
        match self {
            Self::Connections => "limits/connections",
            Self::ConnectionRate => "limits/connection_rate",
            Self::PacketSize => "limits/packet_size",
            Self::Subscriptions => "limits/subscriptions",
            Self::Topic => "limits/topic",
            Self::ConnectTimeout => "limits/connect_timeout",
            Self::WriteTimeout => "limits/write_timeout",
        }
    }

    /// What happened, for the log.
    const fn what(self) -> &'static str {
        match self {
            Self::Connections => "connection refused: max_connections reached",
            Self::ConnectionRate => "connection refused: max_connection_rate exceeded",
            Self::PacketSize => "packet over max_packet_size: connection closed",
            Self::Subscriptions => "subscription refused: max_subscriptions_per_client reached",
            Self::Topic => "topic over max_topic_length or max_topic_levels refused",
            Self::ConnectTimeout => "no CONNECT within connect_timeout: connection closed",
            Self::WriteTimeout => "client took none of our output within write_timeout: disconnected",
        }
    }
}

/// Counters of the limits hit, and the clock that keeps their log lines to one a second each.
#[derive(Debug)]
pub struct LimitCounters {
    started: Instant,
    hits: [AtomicU64; Limit::ALL.len()],
    /// Per limit: milliseconds after `started` of its last log line, plus one (0: never logged).
    logged_at_ms: [AtomicU64; Limit::ALL.len()],
}

impl Default for LimitCounters {
    fn default() -> Self {
        Self { started: Instant::now(), hits: Default::default(), logged_at_ms: Default::default() }
    }
}

impl LimitCounters {
    /// Count one hit of `limit` by `who` (a client id or a peer address), and log it unless that
    /// limit was logged less than a second ago (the line then carries the count so far).
    pub fn hit(&self, limit: Limit, who: &dyn Display) {
        let total = self.hits[limit as usize].fetch_add(1, Relaxed) + 1;
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1);
        if self.claim_log(limit, now_ms) {
            tracing::warn!(client = %who, total, "{}", limit.what());
        }
    }

    /// Whether a line about `limit` may be logged at `now_ms` (≥ 1): none yet, or the last a second ago or more.
    fn claim_log(&self, limit: Limit, now_ms: u64) -> bool {
        let last = &self.logged_at_ms[limit as usize];
        let previous = last.load(Relaxed);
        (previous == 0 || now_ms.saturating_sub(previous) >= 1000) && last.compare_exchange(previous, now_ms, Relaxed, Relaxed).is_ok()
    }

    /// How often `limit` was hit.
    #[must_use]
    pub fn count(&self, limit: Limit) -> u64 {
        self.hits[limit as usize].load(Relaxed)
    }
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
            connections: AtomicUsize::new(0),
            limits: LimitCounters::default(),
            security: SecurityCounters::default(),
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
        msgs_in_now_per_sec: 0.0,
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
    let mut entries = counter_entries(shared);
    entries.extend(Limit::ALL.map(|limit| (limit.sys_name(), shared.stats.limits.count(limit).to_string())));
    entries.extend(shared.stats.security.sys_entries());
    if let Some(store) = &shared.store {
        let c = store.counters();
        entries.extend(
            [
                ("store/records", c.records.load(Relaxed)),
                ("store/syncs", c.batches.load(Relaxed)),
                ("store/bytes", c.bytes.load(Relaxed)),
                ("store/compactions", c.compactions.load(Relaxed)),
                ("store/write errors", c.write_errors.load(Relaxed)),
                ("store/lost at load/records", c.lost_records.load(Relaxed)),
                ("store/lost at load/bytes", c.lost_bytes.load(Relaxed)),
            ]
            .map(|(name, n)| (name, n.to_string())),
        );
    }
    entries
}

/// The `$SYS` entries with mosquitto's names.
fn counter_entries(shared: &Shared) -> Vec<(&'static str, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_counts_every_hit_and_logs_at_most_once_a_second() {
        let counters = LimitCounters::default();
        for _ in 0..5 {
            counters.hit(Limit::Topic, &"c");
        }
        assert_eq!(counters.count(Limit::Topic), 5);
        assert_eq!(counters.count(Limit::Connections), 0);
        // The clock is an argument here, so the test does not depend on how fast it runs.
        let fresh = LimitCounters::default();
        assert!(fresh.claim_log(Limit::Topic, 10), "the first hit is logged");
        assert!(!fresh.claim_log(Limit::Topic, 1009), "not again within the second");
        assert!(fresh.claim_log(Limit::Connections, 1009), "each limit has its own second");
        assert!(fresh.claim_log(Limit::Topic, 1010), "again once the second has passed");
    }
}
