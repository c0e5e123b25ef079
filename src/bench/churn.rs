//! `churn`: a connect/disconnect storm. At `--rate` new connections per second (default 1,000) for
//! `--seconds`, each one connects, sends CONNECT, waits for CONNACK, sends DISCONNECT and closes;
//! `--conns` idle connections are held meanwhile and pinged, to see that the storm does not starve
//! the clients already there.
//!
//! Measures: the rate achieved, CONNACKs refused (with the code, e.g. a `--max-connection-rate`)
//! and failures, the handshake time (TCP connect to CONNACK), the ping time of the held
//! connections during the storm, the broker's CPU per connection, and its RSS before and after
//! (growth after the storm is what a leak would show).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::link::Link;
use super::procstat::Target;
use super::report::{ChurnFigures, Latency, ProcessCost, Report};
use super::tally::Histogram;
use super::{BenchError, BenchOptions, CONNECT_TIMEOUT, Ctx};

/// Storm connections in progress at once; past it a tick is skipped and counted as `behind`.
const MAX_OUTSTANDING: usize = 4096;
/// Connection errors kept for the report (the rest are only counted).
const MAX_ERRORS: usize = 5;
/// Highest storm rate asked for (a connection every microsecond).
const MAX_RATE: f64 = 1e6;
/// Default storm rate, connections per second.
pub const DEFAULT_RATE: f64 = 1000.0;

/// How one storm connection ended.
enum Outcome {
    /// CONNACK 0, then DISCONNECT; the handshake took this many ns.
    Connected(u64),
    /// CONNACK with this failure code.
    Refused(u8),
    /// Anything else (timeout, reset, protocol error).
    Failed(BenchError),
}

/// Run the churn mode.
///
/// # Errors
/// Never for a single connection (those are counted); kept for symmetry with the other modes.
pub async fn run(opts: &BenchOptions, ctx: &Ctx) -> Result<Report, BenchError> {
    let rate = opts.rate.unwrap_or(DEFAULT_RATE);
    if rate > MAX_RATE {
        return Err(BenchError::Options(format!("churn --rate is at most {MAX_RATE} connections per second")));
    }
    let mut report = super::base_report(opts, ctx, 0, 0);

    // The bystanders: connected before the storm, pinged through it.
    let mut held = Vec::new();
    for i in 0..opts.conns.min(10_000) {
        match Link::connect(&ctx.addr, ctx.version, &format!("{}-h{i}", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await {
            Ok(link) => held.push(link),
            Err(err) => keep_error(&mut report.errors, &err),
        }
    }
    let broker_before = ctx.broker.and_then(Target::read);
    let bench_before = Target::Me.read();
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(opts.seconds);

    let ping_rtt = Arc::new(Mutex::new(Histogram::default()));
    let mut pingers = JoinSet::new();
    for link in held {
        pingers.spawn(ping_until(link, until, Arc::clone(&ping_rtt)));
    }

    let (tally, storm_secs) = storm(ctx, rate, t0, until, &mut report.errors).await;
    let mut dropped = 0;
    while let Some(alive) = pingers.join_next().await {
        dropped += u64::from(!matches!(alive, Ok(true)));
    }
    let total = t0.elapsed().as_secs_f64();
    // Let the broker finish the closes it was told of, then see what memory it kept.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let broker_after = ctx.broker.and_then(Target::read);
    let bench_after = Target::Me.read();

    report.elapsed_secs = total;
    report.latency = Latency::of(&tally.handshake);
    report.broker = broker_before.zip(broker_after).map(|(b, a)| ProcessCost::between(b, a, total, 0));
    report.bench = bench_before.zip(bench_after).map(|(b, a)| ProcessCost::between(b, a, total, 0));
    #[expect(clippy::cast_precision_loss, reason = "display figures")]
    let broker_cpu_us_per_conn = broker_before
        .zip(broker_after)
        .and_then(|(b, a)| (tally.connected > 0).then(|| a.cpu_ms.saturating_sub(b.cpu_ms) as f64 * 1000.0 / tally.connected as f64));
    #[expect(clippy::cast_precision_loss, reason = "display figures")]
    let broker_rss_growth_kib = broker_before.zip(broker_after).map(|(b, a)| a.rss_kib as f64 - b.rss_kib as f64);
    let ping = ping_rtt.lock().map(|h| h.clone()).unwrap_or_default();
    let Tally { attempted, connected, mut refused, failed, behind, .. } = tally;
    refused.sort_unstable();
    report.churn = Some(ChurnFigures {
        wanted_rate: rate,
        attempted,
        connected,
        refused,
        failed,
        behind,
        achieved_rate: super::per_sec(connected, storm_secs),
        broker_cpu_us_per_conn,
        broker_rss_growth_kib,
        held: u64::from(opts.conns.min(10_000)),
        held_dropped: dropped,
        held_ping: Latency::of(&ping),
    });
    Ok(report)
}

/// What the storm's connections came to.
#[derive(Default)]
struct Tally {
    attempted: u64,
    connected: u64,
    refused: Vec<(u8, u64)>,
    failed: u64,
    behind: u64,
    handshake: Histogram,
}

impl Tally {
    fn add(&mut self, done: Result<Outcome, tokio::task::JoinError>, ctx: &Ctx, errors: &mut Vec<String>) {
        match done {
            Ok(Outcome::Connected(ns)) => {
                self.connected += 1;
                self.handshake.record(ns);
                ctx.progress.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Outcome::Refused(code)) => match self.refused.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => self.refused.push((code, 1)),
            },
            Ok(Outcome::Failed(err)) => {
                self.failed += 1;
                keep_error(errors, &err);
            }
            Err(err) => {
                self.failed += 1;
                if errors.len() < MAX_ERRORS {
                    errors.push(err.to_string());
                }
            }
        }
    }
}

/// Start a storm connection every 1/`rate` s from `t0` until `until`, then wait for the last ones;
/// returns what they came to and the seconds the storm lasted.
async fn storm(ctx: &Ctx, rate: f64, t0: Instant, until: Instant, errors: &mut Vec<String>) -> (Tally, f64) {
    let mut tally = Tally::default();
    let mut running = JoinSet::new();
    let mut ticker = tokio::time::interval_at(t0, Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            now = ticker.tick() => {
                if now >= until {
                    break;
                }
                if running.len() >= MAX_OUTSTANDING {
                    tally.behind += 1;
                    continue;
                }
                let (addr, version, id) = (ctx.addr.clone(), ctx.version, format!("{}-s{}", ctx.token, tally.attempted));
                tally.attempted += 1;
                ctx.progress.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                running.spawn(one(addr, version, id));
            }
            Some(done) = running.join_next() => tally.add(done, ctx, errors),
            // A slow rate's next tick may lie far past the end.
            () = tokio::time::sleep_until(until) => break,
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    while let Some(done) = running.join_next().await {
        tally.add(done, ctx, errors);
    }
    (tally, secs)
}

fn keep_error(errors: &mut Vec<String>, err: &BenchError) {
    if errors.len() < MAX_ERRORS {
        errors.push(err.to_string());
    }
}

/// One storm connection: connect, CONNACK, DISCONNECT, close.
async fn one(addr: String, version: crate::broker::codec::ProtocolVersion, id: String) -> Outcome {
    let start = Instant::now();
    match Link::connect(&addr, version, &id, 30, CONNECT_TIMEOUT).await {
        Ok(link) => {
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            link.close().await;
            Outcome::Connected(ns)
        }
        Err(BenchError::Refused(code)) => Outcome::Refused(code),
        Err(err) => Outcome::Failed(err),
    }
}

/// Ping one held connection every 100 ms until `until`; `true` if every ping was answered.
async fn ping_until(mut link: Link, until: Instant, rtt: Arc<Mutex<Histogram>>) -> bool {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        if every.tick().await >= until {
            break;
        }
        let sent = Instant::now();
        if !matches!(tokio::time::timeout(CONNECT_TIMEOUT, link.ping()).await, Ok(Ok(()))) {
            return false;
        }
        let ns = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if let Ok(mut h) = rtt.lock() {
            h.record(ns);
        }
    }
    link.close().await;
    true
}
