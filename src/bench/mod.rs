//! `mqscope bench`: a load generator for any MQTT broker (ours, mosquitto, ...).
//!
//! It speaks MQTT through its own small client ([`wire`], [`link`]): PUBLISHes are pre-encoded
//! and written in batches with one syscall each, incoming packets are parsed in place. Every
//! payload carries its send time and a (publisher, sequence number) stamp ([`payload`]), so the
//! subscribers count lost and duplicated messages and the latency. With `--broker-pid` the report
//! includes the broker's CPU time per delivered message and its RSS ([`procstat`]). Every run is
//! bounded by `--count` and `--seconds` and by a global deadline, and stops by itself.
//! Must not touch: the broker's internals (it is a client like any other), egui.
//!
//! # Layout
//! - [`wire`]: encode the packets we send, decode what comes back.
//! - [`link`]: one connection: buffers, handshake.
//! - [`publisher`], [`subscriber`]: one task per connection.
//! - [`flow`]: fan-in, fan-out and pairs. [`retained`], [`connections`], [`subscriptions`],
//!   [`churn`]: the other modes.
//! - [`tally`]: loss, duplicates, latency histogram. [`payload`]: the stamp. [`procstat`]: /proc.
//! - [`report`]: the result, as a table or JSON. [`progress`]: the line per second on stderr.

pub mod churn;
pub mod connections;
pub mod flow;
pub mod link;
pub mod pattern;
pub mod payload;
pub mod procstat;
pub mod progress;
pub mod publisher;
pub mod report;
pub mod retained;
pub mod subscriber;
pub mod subscriptions;
pub mod tally;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::broker::codec::ProtocolVersion;

pub use report::Report;

/// Time allowed past `--seconds` for acknowledgements and deliveries still on the way.
pub const GRACE: Duration = Duration::from_secs(10);
/// Time allowed for each connection to be CONNACKed and each subscription SUBACKed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// N publishers → S wildcard subscribers (default 10 → 1).
    FanIn,
    /// The same with other defaults: 1 publisher → 10 wildcard subscribers.
    FanOut,
    /// N publisher → subscriber pairs, each on its own topics.
    Pairs,
    /// Hold `--conns` idle connections with keep-alive for `--seconds`.
    Connections,
    /// Publish `--topics` retained topics, then time a new `#` subscriber receiving them.
    Retained,
    /// `--subs` clients hold `--topics` distinct `{pattern}/#` subscriptions; then `--count`
    /// messages are routed among them (memory per subscription, CPU per routed message).
    Subscriptions,
    /// A connect/disconnect storm at `--rate` connections per second (default 1,000) for
    /// `--seconds`, with `--conns` idle connections held and pinged meanwhile.
    Churn,
}

impl Mode {
    /// The name on the command line.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::FanIn => "fan-in",
            Self::FanOut => "fan-out",
            Self::Pairs => "pairs",
            Self::Connections => "connections",
            Self::Retained => "retained",
            Self::Subscriptions => "subscriptions",
            Self::Churn => "churn",
        }
    }
}

/// Options of `mqscope bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// What to measure.
    #[arg(value_enum, default_value_t = Mode::FanIn)]
    pub mode: Mode,
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Broker port.
    #[arg(short, long, default_value_t = 1883)]
    pub port: u16,
    /// QoS of every publish and subscription.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Payload bytes (at least 16: send time and sequence number).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Distinct topics (retained: how many retained topics to store).
    #[arg(long, default_value_t = 10_000)]
    pub topics: usize,
    /// Shape of the topic names (fan-in, fan-out, retained), below the run's own prefix: `{i}` is
    /// the topic's number, `{i%N}` and `{i/N}` its remainder and quotient, e.g.
    /// `sensors/{i}/temp` or `site/{i%100}/line/{i%1000}/dev/{i}/temp`. Default: `{i}` (`r/{i}` for retained).
    #[arg(long, value_name = "PATTERN")]
    pub pattern: Option<pattern::TopicPattern>,
    /// Retained mode: after the replay, clear the retained messages of topics 0 to N−1 (empty
    /// retained PUBLISHes on one connection) and time it; with `--pattern 'g{i/100000}/dev/{i}/temp'`
    /// those are exactly the subtree `g0`.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub delete: usize,
    /// Publishers (fan-in 10, fan-out 1, pairs 10).
    #[arg(long)]
    pub pubs: Option<u32>,
    /// Subscribers (fan-in 1, fan-out 10; pairs: as many as publishers).
    #[arg(long)]
    pub subs: Option<u32>,
    /// Messages to publish in all (split among publishers).
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Longest time to publish (connections: how long to hold them).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Total publish rate, msgs/s (default: as fast as the broker takes them); churn: new connections per second (default 1000).
    #[arg(long)]
    pub rate: Option<f64>,
    /// MQTT version: 3 (3.1.1) or 5.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(3..=5))]
    pub mqtt: u8,
    /// PID of the broker, to report its CPU time per delivered message and its RSS (Linux /proc).
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Connections to hold (connections mode; churn: idle connections held and pinged through the storm).
    #[arg(long, default_value_t = 1000)]
    pub conns: u32,
    /// Keep-alive of every connection, s.
    #[arg(long, default_value_t = 30)]
    pub keep_alive: u16,
    /// Most QoS 1/2 messages in flight per publisher (also capped by a 5.0 broker's Receive Maximum).
    #[arg(long, default_value_t = 128)]
    pub inflight: u16,
    /// Once publishing is over, how long subscribers wait for a straggler before counting the rest lost, ms.
    /// (mosquitto 2.0 was seen pausing deliveries for ~3 s under QoS 2 overload.)
    #[arg(long, default_value_t = 5000)]
    pub idle_ms: u64,
    /// Subscribers (and the connections of `connections`) keep their sessions (Clean Start 0, Session
    /// Expiry 60 s in 5.0; CleanSession 0 in 3.1.1, which a broker keeps until told otherwise): a broker
    /// with persistence then journals them, and every QoS 1/2 message queued to them before acknowledging it.
    #[arg(long)]
    pub persistent: bool,
}

/// Why a run could not be done at all (per-connection failures end up in `Report::errors`).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options make no sense.
    #[error("invalid options: {0}")]
    Options(String),
    /// TCP connect failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// host:port.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The broker said nothing in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// CONNACK with a failure code.
    #[error("the broker refused the connection (CONNACK code {0:#04x})")]
    Refused(u8),
    /// SUBACK with a failure code.
    #[error("the broker refused the subscription (SUBACK code {0:#04x})")]
    SubscribeRefused(u8),
    /// The broker sent DISCONNECT.
    #[error("the broker disconnected us (reason code {0:#04x})")]
    Disconnected(u8),
    /// The broker closed the socket.
    #[error("the broker closed the connection")]
    Closed,
    /// The broker broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// Socket error.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// Malformed packet.
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    /// The whole run overran its deadline.
    #[error("the run did not finish within {0:?}")]
    Overrun(Duration),
}

/// What every mode shares.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// host:port.
    pub addr: String,
    /// Protocol of every connection.
    pub version: ProtocolVersion,
    /// The run's clock (payload stamps).
    pub clock: payload::Clock,
    /// Live counters.
    pub progress: Arc<progress::Progress>,
    /// Topic prefix unique to this run, like `mb/3fa2c1`.
    pub token: String,
    /// The broker to watch, if any.
    pub broker: Option<procstat::Target>,
}

impl Ctx {
    fn new(opts: &BenchOptions) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let token = format!("mb/{:06x}", (nanos ^ std::process::id().rotate_left(12)) & 0xFF_FFFF);
        Self {
            addr: format!("{}:{}", opts.host, opts.port),
            version: if opts.mqtt == 5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 },
            clock: payload::Clock::start(),
            progress: Arc::default(),
            token,
            broker: opts.broker_pid.map(procstat::Target::Pid),
        }
    }
}

fn validate(opts: &BenchOptions) -> Result<(), BenchError> {
    let bad = |msg: &str| Err(BenchError::Options(msg.to_owned()));
    if opts.size < payload::HEADER_LEN {
        return bad("--size must be at least 16 (send time + sequence number)");
    }
    if opts.mqtt == 4 {
        return bad("--mqtt is 3 (3.1.1) or 5");
    }
    if !(opts.seconds.is_finite() && opts.seconds > 0.0 && opts.seconds <= 86_400.0) {
        return bad("--seconds must be in (0, 86400]");
    }
    if opts.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return bad("--rate must be positive");
    }
    if opts.delete > opts.topics {
        return bad("--delete cannot exceed --topics");
    }
    if opts.topics == 0 || opts.count == 0 {
        return bad("--topics and --count must be at least 1");
    }
    if opts.pubs.is_some_and(|p| p == 0 || p >= payload::MAX_PUBLISHERS) || opts.subs == Some(0) {
        return bad("--pubs and --subs must be at least 1");
    }
    if opts.count / u64::from(opts.pubs.unwrap_or(1)) > payload::MAX_SEQ {
        return bad("--count too large");
    }
    Ok(())
}

/// Run one bench as `opts` says and return its report.
///
/// # Errors
/// Bad options, an unreachable broker, or a run that overran its global deadline.
pub async fn run(opts: &BenchOptions) -> Result<Report, BenchError> {
    validate(opts)?;
    let ctx = Ctx::new(opts);
    let ticker = (!opts.quiet).then(|| {
        let labels = match opts.mode {
            Mode::Connections => ("connected", "pings"),
            Mode::Churn => ("started", "connected"),
            _ => ("sent", "received"),
        };
        progress::spawn_ticker(Arc::clone(&ctx.progress), labels.0, labels.1)
    });
    let limit = Duration::from_secs_f64(opts.seconds * 2.0) + GRACE * 3 + CONNECT_TIMEOUT * 2;
    let result = tokio::time::timeout(limit, async {
        match opts.mode {
            Mode::FanIn | Mode::FanOut | Mode::Pairs => flow::run(opts, &ctx).await,
            Mode::Retained => retained::run(opts, &ctx).await,
            Mode::Connections => connections::run(opts, &ctx).await,
            Mode::Subscriptions => subscriptions::run(opts, &ctx).await,
            Mode::Churn => churn::run(opts, &ctx).await,
        }
    })
    .await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    result.map_err(|_elapsed| BenchError::Overrun(limit))?
}

/// A report skeleton with the run's parameters filled in.
fn base_report(opts: &BenchOptions, ctx: &Ctx, pubs: usize, subs: usize) -> Report {
    Report {
        mode: opts.mode.name().to_owned(),
        target: ctx.addr.clone(),
        mqtt: if ctx.version.is_v5() { 5 } else { 3 },
        qos: opts.qos,
        size: opts.size,
        topics: opts.topics,
        pattern: opts.pattern.as_ref().map(ToString::to_string),
        pubs,
        subs,
        elapsed_secs: 0.0,
        published: 0,
        acked: 0,
        rejected: 0,
        expected: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        foreign: 0,
        publish_rate: 0.0,
        delivered_rate: 0.0,
        latency: None,
        broker: None,
        bench: None,
        retained: None,
        connections: None,
        subscriptions: None,
        churn: None,
        errors: Vec::new(),
    }
}

/// `n / secs`, 0 when no time passed.
fn per_sec(n: u64, secs: f64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a rate for display")]
    let n = n as f64;
    if secs > 0.0 { n / secs } else { 0.0 }
}
