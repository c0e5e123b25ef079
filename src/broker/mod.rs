//! The embedded MQTT broker: MQTT 3.1.1 and 5.0 on a TCP listener (and optionally MQTT over
//! WebSocket on a second one), our own strict codec.
//!
//! Shaped like mini-redis: [`run`] / [`run_listeners`] accept connections and spawns one task per client
//! ([`session`]); the shared [`router::State`] behind one short-held mutex owns sessions,
//! subscriptions and retained messages and fans messages out into each session's queue. The
//! explorer sees the broker from inside through an optional [`tap::Tap`], not through a TCP client.
//! Must not touch: egui.
//!
//! # Layout
//! - [`codec`]: packets, encode/decode, reason codes.
//! - [`topic`]: topic validation, matching, the subscription and retained tries.
//! - [`connection`]: framing on a TCP stream or a WebSocket.
//! - [`order`]: a SUBSCRIBE that arrived before another client's PUBLISH sees it.
//! - [`ws`]: MQTT over WebSocket: the handshake (subprotocol `mqtt`), binary messages as bytes.
//! - [`tls`]: the TLS listeners' configuration (mqtts, wss) from PEM files; [`secure`]: accepting on them.
//! - [`security`]: who may connect (anonymous, passwords, certificate identities), and the ACL.
//! - [`certgen`]: `--tls-generate`, a CA with a server and a client certificate.
//! - [`launch`]: `mqscope broker` from its options: everything checked before anything listens; SIGHUP reloads.
//! - [`options`]: every `mqscope broker` option, as flags and as the TOML configuration file.
//! - [`rate`]: `max_connection_rate`, new connections per second.
//! - [`session`]: one client's connection task (CONNECT, keep-alive, QoS flows).
//! - [`client_state`]: what a session keeps between connections.
//! - [`router`]: fan-out, retained store, wills; [`retained`]: the store's compact copy of a message;
//!   [`routed`]: a message as routed.
//! - [`stats`]: counters, `$SYS`.
//! - [`tap`]: the explorer's view of everything routed.
//! - [`availability`]: each will next to the retained value on its topic; publish a will now.
//! - [`faults`]: faults the explorer injects (refused CONNECT, delayed deliveries, withheld acknowledgements).
//! - [`trace`]: the packet trace of the clients the explorer traces; [`trace_row`]: a packet as a row.
//! - [`inspect`]: the explorer's views from inside (clients, subscriptions, retained store) and its
//!   actions on clients; [`counters`]: per-session traffic counters for them.

pub mod availability;
pub mod certgen;
pub mod client_state;
pub mod codec;
pub mod connection;
pub mod counters;
pub mod faults;
pub mod inspect;
pub mod launch;
pub mod options;
pub mod order;
pub mod rate;
pub mod retained;
pub mod routed;
pub mod router;
pub mod secure;
pub mod security;
pub mod session;
pub mod stats;
pub mod store;
pub mod tap;
pub mod tls;
pub mod trace;
pub mod trace_row;
/// Topic rules and the two tries live at the crate root (the explorer's model uses the rules too).
pub use crate::topic;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::protocol::PublishRequest;

pub use secure::{SecureListeners, TlsListener, serve_secure};
pub use stats::Stats;

/// Broker limits and defaults. Every field is documented with the spec item it tunes.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// Largest packet we accept (MQTT 5 Maximum Packet Size, advertised in CONNACK); larger packets end the connection.
    pub max_packet_size: u32,
    /// Longest keep-alive we allow; a client asking for more (or 0) gets this as Server Keep Alive (MQTT 5).
    pub max_keep_alive_secs: u16,
    /// How many incoming QoS 2 messages a client may have unreleased (our Receive Maximum).
    pub receive_maximum: u16,
    /// Topic aliases a 5.0 client may use towards us.
    pub topic_alias_maximum: u16,
    /// Outgoing QoS 1/2 messages in flight per 3.1.1 client (5.0 clients set their own Receive Maximum).
    pub default_inflight: u16,
    /// Messages queued per session (offline or beyond the in-flight window) before new ones are dropped and counted.
    pub max_queued_messages: usize,
    /// Bytes queued per session before new messages are dropped and counted.
    pub max_queued_bytes: usize,
    /// Queue QoS 0 messages for offline persistent sessions too.
    pub queue_qos0_offline: bool,
    /// Back-pressure: when a message leaves an online subscriber with more than this many messages
    /// queued, the publishing connection stops reading its socket until that queue drains to half
    /// of this, or for at most `backpressure_max_pause`.
    pub backpressure_high_water: usize,
    /// Longest single back-pressure pause, so that a stuck subscriber slows publishers but never stalls them.
    pub backpressure_max_pause: Duration,
    /// Longest session expiry we honour, seconds (`u32::MAX` = never expire).
    pub max_session_expiry_secs: u32,
    /// How long a new connection may take to send CONNECT (mosquitto has none; its `max_keepalive` is not this).
    pub connect_timeout: Duration,
    /// Most sockets served at once (mosquitto `max_connections`); past it a CONNECT is refused with
    /// CONNACK 0x97 Quota exceeded (5.0) / 0x03 Server unavailable (3.1.1).
    pub max_connections: usize,
    /// New connections accepted per second, 0 for no limit; past it a CONNECT is refused with
    /// CONNACK 0x9F Connection rate exceeded (5.0) / 0x03 Server unavailable (3.1.1).
    pub max_connection_rate: u32,
    /// Most subscriptions one client may hold; a filter past it is refused in SUBACK (0x97 / 0x80).
    pub max_subscriptions_per_client: usize,
    /// Longest topic name or filter, bytes; a PUBLISH over it ends its connection (DISCONNECT 0x90),
    /// a filter over it is refused in SUBACK (0x8F / 0x80).
    pub max_topic_length: usize,
    /// Most topic levels in a topic name or filter (mosquitto's fixed limit is 200); treated like `max_topic_length`.
    pub max_topic_levels: usize,
    /// A client that takes none of our output for this long (its socket buffer full, it does not
    /// read) is disconnected, its will published.
    pub write_timeout: Duration,
    /// Ending a connection: how long to keep writing our last packets (an error CONNACK or
    /// DISCONNECT) and reading, discarding, what the peer still sends, before the socket is closed.
    pub close_timeout: Duration,
    /// On shutdown, how long [`run_listeners`] waits for connection tasks before it aborts the rest.
    pub shutdown_timeout: Duration,
    /// Interval of the `$SYS/broker/...` topics; `None` disables them.
    pub sys_interval: Option<Duration>,
    /// Keep retained messages and persistent sessions across restarts ([`store`]); `None`: in memory only.
    pub persistence: Option<store::PersistConfig>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            max_packet_size: 4 * 1024 * 1024,
            max_keep_alive_secs: 60,
            receive_maximum: 1024,
            topic_alias_maximum: 64,
            default_inflight: 128,
            max_queued_messages: 100_000,
            max_queued_bytes: 128 * 1024 * 1024,
            queue_qos0_offline: false,
            backpressure_high_water: 1000,
            backpressure_max_pause: Duration::from_millis(100),
            max_session_expiry_secs: u32::MAX,
            connect_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connection_rate: 0,
            max_subscriptions_per_client: 10_000,
            max_topic_length: 4096,
            max_topic_levels: 200,
            write_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(5),
            sys_interval: Some(Duration::from_secs(10)),
            persistence: None,
        }
    }
}

impl BrokerConfig {
    /// The bounds of every session's queue.
    #[must_use]
    pub const fn queue_limits(&self) -> client_state::QueueLimits {
        client_state::QueueLimits {
            max_messages: self.max_queued_messages,
            max_bytes: self.max_queued_bytes,
            queue_qos0_offline: self.queue_qos0_offline,
            high_water: self.backpressure_high_water,
        }
    }
}

/// Errors that end the whole broker (a client's error ends only its own connection).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The listener could not be bound.
    #[error("failed to bind MQTT listener on {addr}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed for good.
    #[error("accepting connections failed")]
    Accept(#[source] std::io::Error),
}

/// Shared by every connection task and the runtime.
#[derive(Debug)]
pub struct Shared {
    /// Limits.
    pub config: BrokerConfig,
    /// Sessions, subscriptions, retained messages; held only for short sections with no `.await`.
    pub state: std::sync::Mutex<router::State>,
    /// Counters, lock-free.
    pub stats: Stats,
    /// The explorer's view; `None` when headless.
    pub tap: Option<Arc<tap::Tap>>,
    /// The packet trace (off for every client until the explorer turns it on).
    pub trace: Arc<trace::Trace>,
    /// Faults injected by the explorer (none until it sets one).
    pub faults: faults::Faults,
    /// Flips to true on shutdown; every connection task watches it.
    pub shutdown: watch::Receiver<bool>,
    /// Number of the last message routed ([`order::Recent`]), read when a socket signals input ([`order`]).
    pub route_seq: Arc<std::sync::atomic::AtomicU64>,
    /// Authentication and ACL policy in force; replaced whole by [`Broker::set_security`] (SIGHUP).
    security: std::sync::RwLock<Arc<security::Security>>,
    /// Bumped at each replacement: sessions keep a copy and refresh it when this moved.
    security_gen: std::sync::atomic::AtomicU64,
    /// Whether the policy has an ACL: without one, deliveries skip the check without a lock.
    acl_on: std::sync::atomic::AtomicBool,
    /// The journal, when persistence is on.
    pub store: Option<Arc<store::Store>>,
    /// `max_connection_rate`.
    pub connect_rate: rate::ConnectRate,
}

impl Shared {
    /// The policy in force.
    #[must_use]
    pub fn security(&self) -> Arc<security::Security> {
        match self.security.read() {
            Ok(policy) => Arc::clone(&policy),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The number of the policy in force (see [`Shared::security`]); changes on every replacement.
    #[must_use]
    pub fn security_generation(&self) -> u64 {
        self.security_gen.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The policy, when it has an ACL to check deliveries against.
    #[must_use]
    pub fn acl_policy(&self) -> Option<Arc<security::Security>> {
        self.acl_on.load(std::sync::atomic::Ordering::Acquire).then(|| self.security())
    }
}

/// Handle to a broker instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Broker {
    shared: Arc<Shared>,
    shutdown_tx: Arc<watch::Sender<bool>>,
}

impl Broker {
    /// A broker with these limits; `tap` receives every routed message for the explorer. With
    /// `config.persistence`, see [`Broker::open`]; if the data directory cannot be used, the
    /// broker runs without persistence and says so in the log.
    #[must_use]
    pub fn new(config: BrokerConfig, tap: Option<Arc<tap::Tap>>) -> Self {
        let fallback = BrokerConfig { persistence: None, ..config.clone() };
        Self::open(config, tap.clone()).unwrap_or_else(|err| {
            tracing::error!(error = %err, "persistence is off: the data directory cannot be used");
            Self::open(fallback, tap).unwrap_or_else(|_| unreachable!("a broker without persistence opens no file"))
        })
    }

    /// A broker with these limits, its state restored from `config.persistence`'s data directory
    /// when persistence is on (reading the journal: blocking, call it where blocking is allowed).
    ///
    /// # Errors
    /// When the data directory cannot be created, read or written, or another broker uses it.
    pub fn open(config: BrokerConfig, tap: Option<Arc<tap::Tap>>) -> std::io::Result<Self> {
        let (shutdown_tx, shutdown) = watch::channel(false);
        let stats = Stats::default();
        let mut router_state = router::State::default();
        let (store, restored) = match &config.persistence {
            Some(persist) => {
                let started = std::time::Instant::now();
                let loaded = store::load(persist)?;
                let (counts, wills, were_online) = store::restore::fill(&mut router_state, &loaded.image, &stats.dropped);
                let (damage, unreadable, records) = (loaded.damage, loaded.unreadable, loaded.records);
                let store = loaded.start()?;
                if damage.any() || unreadable > 0 {
                    tracing::warn!(
                        dir = %persist.dir.display(),
                        skipped_bytes = damage.skipped_bytes,
                        damaged_spans = damage.gaps,
                        torn_tail_bytes = damage.torn_tail,
                        unreadable_records = unreadable,
                        "journal damaged: the changes in these bytes are lost; everything intact was loaded"
                    );
                }
                tracing::info!(
                    dir = %persist.dir.display(),
                    records,
                    retained = counts.retained,
                    sessions = counts.sessions,
                    messages = counts.messages,
                    took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "state restored from the journal"
                );
                router_state.store = Some(Arc::clone(&store));
                (Some(store), Some((wills, were_online)))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            connect_rate: rate::ConnectRate::new(config.max_connection_rate),
            config,
            state: std::sync::Mutex::new(router_state),
            stats,
            tap,
            trace: Arc::default(),
            faults: faults::Faults::default(),
            shutdown,
            route_seq: Arc::default(),
            security: std::sync::RwLock::new(Arc::new(security::Security::default())),
            security_gen: std::sync::atomic::AtomicU64::new(0),
            acl_on: std::sync::atomic::AtomicBool::new(false),
            store,
        });
        if let Some((wills, were_online)) = restored {
            store::restore::finish(&shared, wills, &were_online);
        }
        Ok(Self { shared, shutdown_tx: Arc::new(shutdown_tx) })
    }

    /// The shared state, for views from inside.
    #[must_use]
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Publish a message from inside the process (the explorer's publish panel), as client `mqscope`
    /// or as the client id in `req.meta.publisher`.
    pub fn publish(&self, req: &PublishRequest) -> Result<(), topic::TopicError> {
        router::publish_internal(&self.shared, req)
    }

    /// Delete retained values straight from the store (no empty-payload publish, no subscriber sees a message).
    /// Returns how many were there.
    pub fn delete_retained(&self, topics: &[Arc<str>]) -> usize {
        let Ok(mut state) = self.shared.state.lock() else { return 0 };
        let removed: Vec<&Arc<str>> = topics.iter().filter(|t| state.retained.remove(t).is_some()).collect();
        if let Some(store) = &self.shared.store {
            for topic in &removed {
                store.append(store::Op::Rec(store::record::Rec::RetainClear(Arc::clone(topic))));
            }
        }
        removed.len()
    }

    /// Put `policy` in force: new CONNECTs are checked against it at once, and every session's
    /// next SUBSCRIBE, PUBLISH and delivery. Connections are not dropped (a reload on SIGHUP).
    pub fn set_security(&self, policy: security::Security) {
        use std::sync::atomic::Ordering::Release;
        let acl = policy.acl.is_some();
        match self.shared.security.write() {
            Ok(mut current) => *current = Arc::new(policy),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
        }
        self.shared.acl_on.store(acl, Release);
        self.shared.security_gen.fetch_add(1, Release);
    }

    /// Ask every connection task to end; [`run`] returns once they have.
    pub fn shutdown(&self) {
        self.shutdown_tx.send_replace(true);
    }
}

/// Bind `addr`; if that port is taken, bind a free port on the same IP instead and say why.
///
/// # Errors
/// When neither can be bound.
pub async fn bind_or_fallback(addr: SocketAddr) -> Result<(TcpListener, Option<String>), BrokerError> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok((listener, None)),
        Err(first) if addr.port() != 0 => {
            let fallback = SocketAddr::new(addr.ip(), 0);
            let listener = TcpListener::bind(fallback).await.map_err(|source| BrokerError::Bind { addr: fallback, source })?;
            let port = listener.local_addr().map_or(0, |a| a.port());
            Ok((listener, Some(format!("port {} unavailable ({first}); using free port {port}", addr.port()))))
        }
        Err(source) => Err(BrokerError::Bind { addr, source }),
    }
}

/// The sockets one broker serves.
#[derive(Debug)]
pub struct Listeners {
    /// MQTT over TCP.
    pub tcp: TcpListener,
    /// MQTT over WebSocket (`ws://`, subprotocol `mqtt`, any path); `None`: not served.
    pub ws: Option<TcpListener>,
}

/// What kind of connection an accepted socket starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Ws,
    Tls,
    Wss,
}

/// Serve MQTT on `listener` until `shutdown` completes, then end every connection and wait for them.
///
/// # Errors
/// When accepting fails persistently.
pub async fn run(listener: TcpListener, broker: Broker, shutdown: impl Future) -> Result<(), BrokerError> {
    run_listeners(Listeners { tcp: listener, ws: None }, broker, shutdown).await
}

/// Serve MQTT on every listener until `shutdown` completes, then end every connection and wait
/// for them. Connections of both kinds share one broker: a WebSocket client and a TCP client see
/// each other's messages.
///
/// # Errors
/// When accepting fails persistently on either listener.
pub async fn run_listeners(listeners: Listeners, broker: Broker, shutdown: impl Future) -> Result<(), BrokerError> {
    run_all(listeners, SecureListeners::default(), broker, shutdown).await
}

/// [`run_listeners`] with TLS listeners too: every kind of connection shares one broker.
///
/// # Errors
/// When accepting fails persistently on any listener.
pub async fn run_all(listeners: Listeners, secure: SecureListeners, broker: Broker, shutdown: impl Future) -> Result<(), BrokerError> {
    let shared = Arc::clone(&broker.shared);
    let sys = shared.config.sys_interval.map(|every| tokio::spawn(stats::sys_loop(Arc::clone(&shared), every)));
    let expiry = tokio::spawn(router::expiry_loop(Arc::clone(&shared)));
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let mut stop = shared.shutdown.clone();
    let result = loop {
        let (accepted, kind) = tokio::select! {
            accepted = listeners.tcp.accept() => (accepted, Kind::Tcp),
            accepted = accept_if_some(listeners.ws.as_ref()) => (accepted, Kind::Ws),
            accepted = accept_if_some(secure.tls.as_ref().map(|t| &t.listener)) => (accepted, Kind::Tls),
            accepted = accept_if_some(secure.wss.as_ref().map(|t| &t.listener)) => (accepted, Kind::Wss),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = &mut shutdown => break Ok(()),
            _ = stop.changed() => break Ok(()),
        };
        match accepted {
            Ok((stream, peer)) => {
                configure_stream(&stream);
                let shared = Arc::clone(&shared);
                match kind {
                    Kind::Tcp => tasks.spawn(session::serve(stream.into(), peer, shared)),
                    Kind::Ws => tasks.spawn(ws::serve(stream.into(), peer, shared)),
                    Kind::Tls => {
                        tasks.spawn(secure::serve_tls(stream, peer, shared, secure.tls.as_ref().map(|t| Arc::clone(&t.config)), false))
                    }
                    Kind::Wss => {
                        tasks.spawn(secure::serve_tls(stream, peer, shared, secure.wss.as_ref().map(|t| Arc::clone(&t.config)), true))
                    }
                };
            }
            Err(err) if is_transient(&err) => {
                tracing::warn!(error = %err, ?kind, "accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => break Err(BrokerError::Accept(err)),
        }
    };
    broker.shutdown();
    drop(listeners);
    drop(secure);
    // Every task ends on its own within `close_timeout` (more if a back-pressure pause or a slow
    // write is under way); past `shutdown_timeout`, whatever is left is aborted.
    let ended = tokio::time::timeout(shared.config.shutdown_timeout, async { while tasks.join_next().await.is_some() {} }).await;
    if ended.is_err() {
        tracing::warn!(left = tasks.len(), "connections still closing at shutdown_timeout; aborted");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    if let Some(sys) = sys {
        sys.abort();
    }
    expiry.abort();
    if let Some(store) = &shared.store {
        // Everything the connections journaled on their way out, synced; the data directory is free after this.
        store.close().await;
    }
    result
}

/// Accept on `listener`, or never when there is none.
async fn accept_if_some(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Socket options of an accepted connection (WebSocket ones too): TCP_NODELAY, because writes are already coalesced
/// per wake-up and Nagle's algorithm would only delay acknowledgements.
fn configure_stream(stream: &TcpStream) {
    stream.set_nodelay(true).ok();
}

/// Accept errors that say "try again" (out of file descriptors, a peer that reset before accept).
fn is_transient(err: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(err.kind(), K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock)
        || err.raw_os_error().is_some_and(|code| code == 24 || code == 23)
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn accepted_connections_have_tcp_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        assert!(!server.nodelay().expect("nodelay"), "off by default, so the test means something");
        super::configure_stream(&server);
        assert!(server.nodelay().expect("nodelay"));
        drop(client);
    }
}
