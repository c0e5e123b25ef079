//! `retained`: publish `--topics` retained messages (one per topic), measure the broker's RSS,
//! then time a new `#` subscriber receiving all of them; with `--delete N`, then time clearing the
//! first N topics (empty retained PUBLISHes) and measure the RSS again.
//!
//! The subscriber counts only topics under this run's prefix, so retained messages left by
//! earlier runs show up as "foreign" instead of spoiling the figures.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::link::Link;
use super::procstat::Target;
use super::publisher::{self, Prefixes, PublisherPlan};
use super::report::{DeleteFigures, ProcessCost, Report, RetainedFigures};
use super::subscriber::{self, SubscriberPlan};
use super::{BenchError, BenchOptions, CONNECT_TIMEOUT, Ctx, GRACE, flow};

/// Run the retained mode.
///
/// # Errors
/// When a connection cannot be set up.
pub async fn run(opts: &BenchOptions, ctx: &Ctx) -> Result<Report, BenchError> {
    let pubs = usize::try_from(opts.pubs.unwrap_or(1)).unwrap_or(1).min(opts.topics);
    let mut links = Vec::with_capacity(pubs);
    for i in 0..pubs {
        links.push(Link::connect(&ctx.addr, ctx.version, &format!("{}-rpub{i}", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await?);
    }
    let broker_before = ctx.broker.and_then(Target::read);
    let bench_before = Target::Me.read();
    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs_f64(opts.seconds);
    let rate = opts.rate.map(|r| r / f64::from(u32::try_from(pubs).unwrap_or(u32::MAX)));
    let mut tasks = Vec::with_capacity(pubs);
    for (i, link) in (0u32..).zip(links) {
        let names: Vec<String> = (usize::try_from(i).unwrap_or(0)..opts.topics).step_by(pubs).map(|t| topic_name(opts, ctx, t)).collect();
        let prefixes = Prefixes::new(names.iter().map(String::as_str), opts.qos, true, opts.size, ctx.version);
        let plan = PublisherPlan {
            index: i,
            count: prefixes.len() as u64,
            prefixes: Arc::new(prefixes),
            qos: opts.qos,
            size: opts.size,
            rate,
            inflight: opts.inflight,
            stop_at,
            deadline: stop_at + GRACE,
            ping_at_end: true,
        };
        tasks.push(tokio::spawn(publisher::run(link, plan, ctx.clock, Arc::clone(&ctx.progress))));
    }
    let published = publisher::join(tasks).await;
    let store_secs = t0.elapsed().as_secs_f64();
    let stored: u64 = published.iter().map(|p| p.sent).sum();
    let broker_mid = ctx.broker.and_then(Target::read);

    let link = Link::connect(&ctx.addr, ctx.version, &format!("{}-rsub", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await?;
    let plan = SubscriberPlan {
        filter: "#".to_owned(),
        qos: opts.qos,
        topic_prefix: format!("{}/", ctx.token).into_bytes(),
        deadline: Instant::now() + Duration::from_secs_f64(opts.seconds) + GRACE,
        idle: Duration::from_millis(opts.idle_ms).max(GRACE),
        keep_alive: Duration::from_secs(u64::from(opts.keep_alive)),
    };
    let (ready_tx, _ready_rx) = oneshot::channel();
    let (_expected_tx, expected_rx) = watch::channel(Some(stored));
    let t1 = Instant::now();
    let received = subscriber::run(link, plan, ctx.clock, Arc::clone(&ctx.progress), ready_tx, expected_rx).await;
    let replay_secs = received.last_at.zip(received.subscribed_at).map_or(0.0, |(last, sub)| last.duration_since(sub).as_secs_f64());
    let broker_after = ctx.broker.and_then(Target::read);
    let bench_after = Target::Me.read();
    let (delete, delete_error) = if opts.delete > 0 { delete(opts, ctx).await.map(|(d, e)| (Some(d), e))? } else { (None, None) };

    let mut report = super::base_report(opts, ctx, pubs, 1);
    flow::fill_counts(&mut report, &published, std::slice::from_ref(&received), &[stored]);
    report.latency = None; // Stamped at store time: "latency" would be the age of the retained message.
    report.elapsed_secs = replay_secs;
    report.publish_rate = super::per_sec(stored, store_secs);
    report.delivered_rate = super::per_sec(report.delivered, replay_secs);
    let replay_busy = if replay_secs > 0.0 { replay_secs } else { t1.elapsed().as_secs_f64() };
    report.broker = broker_mid.zip(broker_after).map(|(b, a)| ProcessCost::between(b, a, replay_busy, report.delivered));
    report.bench = bench_before.zip(bench_after).map(|(b, a)| ProcessCost::between(b, a, store_secs + replay_busy, report.delivered));
    report.retained = Some(RetainedFigures {
        stored,
        store_rate: report.publish_rate,
        broker_rss_after_store_mib: broker_mid.map(|u| kib_to_mib(u.rss_kib)),
        broker_store_cpu_us_per_msg: broker_before
            .zip(broker_mid)
            .and_then(|(b, m)| ProcessCost::between(b, m, store_secs, stored).cpu_us_per_msg),
        replay_secs,
        delete,
    });
    report.errors.extend(delete_error);
    Ok(report)
}

/// The name of topic number `t` of this run.
fn topic_name(opts: &BenchOptions, ctx: &Ctx, t: usize) -> String {
    match &opts.pattern {
        Some(pattern) => pattern.topic(&ctx.token, t as u64),
        None => format!("{}/r/{t}", ctx.token),
    }
}

/// Clear topics 0 to `--delete` − 1 with empty retained PUBLISHes on one connection; the time
/// runs until the broker answers a PINGREQ sent after the last, so it has handled them all.
async fn delete(opts: &BenchOptions, ctx: &Ctx) -> Result<(DeleteFigures, Option<String>), BenchError> {
    let link = Link::connect(&ctx.addr, ctx.version, &format!("{}-rdel", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await?;
    let names: Vec<String> = (0..opts.delete).map(|t| topic_name(opts, ctx, t)).collect();
    let prefixes = Prefixes::new(names.iter().map(String::as_str), opts.qos, true, 0, ctx.version);
    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs_f64(opts.seconds);
    let plan = PublisherPlan {
        index: 0,
        count: prefixes.len() as u64,
        prefixes: Arc::new(prefixes),
        qos: opts.qos,
        size: 0,
        rate: None,
        inflight: opts.inflight,
        stop_at,
        deadline: stop_at + GRACE,
        ping_at_end: true,
    };
    let task = tokio::spawn(publisher::run(link, plan, ctx.clock, Arc::clone(&ctx.progress)));
    let done = publisher::join(vec![task]).await;
    let secs = t0.elapsed().as_secs_f64();
    let figures = DeleteFigures {
        cleared: done.iter().map(|p| p.sent).sum(),
        secs,
        broker_rss_mib: ctx.broker.and_then(Target::read).map(|u| kib_to_mib(u.rss_kib)),
    };
    Ok((figures, done.into_iter().find_map(|p| p.error)))
}

fn kib_to_mib(kib: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "display figure")]
    let kib = kib as f64;
    kib / 1024.0
}
