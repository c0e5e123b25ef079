//! `connections`: open `--conns` connections (a bounded number of handshakes at a time), hold them
//! idle for `--seconds` with a PINGREQ every half keep-alive, then close them.
//!
//! Measures: CONNACKs per second, the broker's RSS per connection, the broker's CPU while the
//! connections sit idle, ping round trips, and connections the broker dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::link::Link;
use super::procstat::Target;
use super::report::{ConnectionFigures, Latency, ProcessCost, Report};
use super::tally::Histogram;
use super::{BenchError, BenchOptions, CONNECT_TIMEOUT, Ctx};

/// Handshakes in progress at once (a listen backlog is often 128).
const CONCURRENT_CONNECTS: usize = 64;
/// Connection errors kept for the report (the rest are only counted).
const MAX_ERRORS: usize = 5;

/// Run the connections mode.
///
/// # Errors
/// Never for a single connection (those are counted); kept for symmetry with the other modes.
pub async fn run(opts: &BenchOptions, ctx: &Ctx) -> Result<Report, BenchError> {
    let wanted = opts.conns;
    let keep_alive = Duration::from_secs(u64::from(opts.keep_alive.max(1)));
    let broker_before = ctx.broker.and_then(Target::read);
    let bench_before = Target::Me.read();
    let t0 = Instant::now();
    let mut report = super::base_report(opts, ctx, 0, 0);
    let (links, failed) = open_all(opts, ctx, &mut report.errors).await;
    let connect_secs = t0.elapsed().as_secs_f64();
    let connected = links.len() as u64;
    let broker_mid = ctx.broker.and_then(Target::read);

    let hold_start = Instant::now();
    let hold_until = hold_start + Duration::from_secs_f64(opts.seconds);
    let rtt = Arc::new(Mutex::new(Histogram::default()));
    let mut holders = JoinSet::new();
    let spread = keep_alive / 2;
    for (i, link) in (0u32..).zip(links) {
        let first_ping = hold_start + spread.mul_f64(f64::from(i) / f64::from(wanted.max(1)));
        holders.spawn(hold(link, first_ping, spread, hold_until, Arc::clone(&rtt), Arc::clone(&ctx.progress)));
    }
    let mut dropped = 0;
    while let Some(alive) = holders.join_next().await {
        dropped += u64::from(!matches!(alive, Ok(true)));
    }
    let hold_secs = hold_start.elapsed().as_secs_f64();
    let broker_after = ctx.broker.and_then(Target::read);
    let bench_after = Target::Me.read();

    let rtt = rtt.lock().map(|h| h.clone()).unwrap_or_default();
    report.elapsed_secs = hold_secs;
    report.latency = Latency::of(&rtt);
    let total = t0.elapsed().as_secs_f64();
    report.broker = broker_before.zip(broker_after).map(|(b, a)| ProcessCost::between(b, a, total, 0));
    report.bench = bench_before.zip(bench_after).map(|(b, a)| ProcessCost::between(b, a, total, 0));
    #[expect(clippy::cast_precision_loss, reason = "display figures")]
    let per_conn = |b: u64, m: u64| (connected > 0).then(|| (m as f64 - b as f64) / connected as f64);
    report.connections = Some(ConnectionFigures {
        wanted: u64::from(wanted),
        connected,
        failed,
        dropped,
        connect_rate: super::per_sec(connected, connect_secs),
        broker_kib_per_conn: broker_before.zip(broker_mid).and_then(|(b, m)| per_conn(b.rss_kib, m.rss_kib)),
        broker_idle_cpu_ms_per_s: broker_mid.zip(broker_after).map(|(m, a)| {
            #[expect(clippy::cast_precision_loss, reason = "display figure")]
            let ms = a.cpu_ms.saturating_sub(m.cpu_ms) as f64;
            if hold_secs > 0.0 { ms / hold_secs } else { 0.0 }
        }),
        pings: rtt.len(),
    });
    Ok(report)
}

/// Open every connection, at most [`CONCURRENT_CONNECTS`] handshakes at a time.
async fn open_all(opts: &BenchOptions, ctx: &Ctx, errors: &mut Vec<String>) -> (Vec<Link>, u64) {
    let mut pending = JoinSet::new();
    let mut links = Vec::with_capacity(usize::try_from(opts.conns).unwrap_or(0));
    let mut failed = 0;
    let mut collect = |done: Result<Result<Link, BenchError>, tokio::task::JoinError>, links: &mut Vec<Link>| match done {
        Ok(Ok(link)) => {
            ctx.progress.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            links.push(link);
        }
        Ok(Err(err)) => {
            failed += 1;
            if errors.len() < MAX_ERRORS {
                errors.push(err.to_string());
            }
        }
        Err(err) => {
            failed += 1;
            if errors.len() < MAX_ERRORS {
                errors.push(err.to_string());
            }
        }
    };
    for i in 0..opts.conns {
        while pending.len() >= CONCURRENT_CONNECTS {
            if let Some(done) = pending.join_next().await {
                collect(done, &mut links);
            }
        }
        let (addr, version, id, keep_alive) = (ctx.addr.clone(), ctx.version, format!("{}-c{i}", ctx.token), opts.keep_alive);
        let keep_session = opts.persistent.then_some(60);
        pending.spawn(async move { Link::connect_session(&addr, version, &id, keep_alive, CONNECT_TIMEOUT, keep_session).await });
    }
    while let Some(done) = pending.join_next().await {
        collect(done, &mut links);
    }
    (links, failed)
}

/// Keep one connection alive until `until`; `true` if it was still fine at the end.
async fn hold(
    mut link: Link,
    first_ping: Instant,
    every: Duration,
    until: Instant,
    rtt: Arc<Mutex<Histogram>>,
    progress: Arc<super::progress::Progress>,
) -> bool {
    let mut next = first_ping;
    while next < until {
        tokio::time::sleep_until(next).await;
        let sent = Instant::now();
        let pong = tokio::time::timeout(every.max(Duration::from_secs(1)), link.ping()).await;
        if !matches!(pong, Ok(Ok(()))) {
            return false;
        }
        let ns = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if let Ok(mut h) = rtt.lock() {
            h.record(ns);
        }
        progress.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        next += every;
    }
    tokio::time::sleep_until(until).await;
    let alive = matches!(link.try_read(), Ok(None));
    link.close().await;
    alive
}
