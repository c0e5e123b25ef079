//! fan-in, fan-out and pairs: publishers and subscribers connected first, then every publisher
//! started at once; the run ends when every subscriber has what it should or gave up waiting.
//!
//! fan-in and fan-out are one shape (every subscriber holds `<token>/#` and hears every
//! publisher) with different defaults; in pairs, publisher i publishes under `<token>/i/` and only
//! subscriber i hears it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::link::Link;
use super::procstat::{Target, Usage};
use super::publisher::{self, Prefixes, PublisherPlan, PublisherResult};
use super::report::{Latency, ProcessCost, Report};
use super::subscriber::{self, SubscriberPlan, SubscriberResult};
use super::tally::Histogram;
use super::{BenchError, BenchOptions, CONNECT_TIMEOUT, Ctx, GRACE, Mode};

/// Who publishes what and who listens.
struct Layout {
    /// Topics of each publisher.
    topics: Vec<Vec<String>>,
    /// Filter of each subscriber.
    filters: Vec<String>,
    /// Pairs: subscriber i hears publisher i only; otherwise every subscriber hears everyone.
    paired: bool,
}

impl Layout {
    fn new(opts: &BenchOptions, token: &str) -> Self {
        let paired = opts.mode == Mode::Pairs;
        let publishers_default = if opts.mode == Mode::FanOut { 1 } else { 10 };
        let pubs = usize::try_from(opts.pubs.unwrap_or(publishers_default)).unwrap_or(1);
        if paired {
            let per_pair = (opts.topics / pubs).max(1);
            return Self {
                topics: (0..pubs).map(|p| (0..per_pair).map(|t| format!("{token}/{p}/{t}")).collect()).collect(),
                filters: (0..pubs).map(|p| format!("{token}/{p}/#")).collect(),
                paired,
            };
        }
        let subscribers_default = if opts.mode == Mode::FanOut { 10 } else { 1 };
        let subs = usize::try_from(opts.subs.unwrap_or(subscribers_default)).unwrap_or(1);
        let topics = (0..pubs)
            .map(|p| {
                if opts.topics < pubs {
                    vec![format!("{token}/{}", p % opts.topics)]
                } else {
                    (p..opts.topics)
                        .step_by(pubs)
                        .map(|t| match &opts.pattern {
                            Some(pattern) => pattern.topic(token, t as u64),
                            None => format!("{token}/{t}"),
                        })
                        .collect()
                }
            })
            .collect();
        Self { topics, filters: vec![format!("{token}/#"); subs], paired }
    }
}

/// Readings of the broker and of the bench itself.
fn usage(ctx: &Ctx) -> (Option<Usage>, Option<Usage>) {
    (ctx.broker.and_then(Target::read), Target::Me.read())
}

/// Run fan-in, fan-out or pairs.
///
/// # Errors
/// When a connection or subscription cannot be set up.
pub async fn run(opts: &BenchOptions, ctx: &Ctx) -> Result<Report, BenchError> {
    let layout = Layout::new(opts, &ctx.token);
    let pubs = layout.topics.len();
    let idle = Duration::from_millis(opts.idle_ms);
    let sub_deadline = Instant::now() + CONNECT_TIMEOUT * 2 + Duration::from_secs_f64(opts.seconds) + GRACE + idle;
    let mut subs: Vec<(JoinHandle<SubscriberResult>, watch::Sender<Option<u64>>)> = Vec::new();
    let mut readies = Vec::new();
    for (i, filter) in layout.filters.iter().enumerate() {
        let id = format!("{}-sub{i}", ctx.token);
        let keep_session = opts.persistent.then_some(60);
        let link = Link::connect_session(&ctx.addr, ctx.version, &id, opts.keep_alive, CONNECT_TIMEOUT, keep_session).await?;
        let plan = SubscriberPlan {
            filter: filter.clone(),
            qos: opts.qos,
            topic_prefix: format!("{}/", ctx.token).into_bytes(),
            deadline: sub_deadline,
            idle,
            keep_alive: Duration::from_secs(u64::from(opts.keep_alive)),
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        let (expected_tx, expected_rx) = watch::channel(None);
        let task = tokio::spawn(subscriber::run(link, plan, ctx.clock, Arc::clone(&ctx.progress), ready_tx, expected_rx));
        subs.push((task, expected_tx));
        readies.push(ready_rx);
    }
    for ready in readies {
        tokio::time::timeout(CONNECT_TIMEOUT, ready)
            .await
            .map_err(|_elapsed| BenchError::Timeout("SUBACK"))?
            .map_err(|_closed| BenchError::Timeout("SUBACK"))?;
    }
    let mut links = Vec::with_capacity(pubs);
    for i in 0..pubs {
        links.push(Link::connect(&ctx.addr, ctx.version, &format!("{}-pub{i}", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await?);
    }

    let (broker_before, bench_before) = usage(ctx);
    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs_f64(opts.seconds);
    let pub_count = |i: u64| opts.count / pubs as u64 + u64::from(i < opts.count % pubs as u64);
    let rate = opts.rate.map(|r| r / f64::from(u32::try_from(pubs).unwrap_or(u32::MAX)));
    let mut pub_tasks = Vec::with_capacity(pubs);
    for ((i, link), topics) in (0u32..).zip(links).zip(&layout.topics) {
        let plan = PublisherPlan {
            index: i,
            prefixes: Arc::new(Prefixes::new(topics.iter().map(String::as_str), opts.qos, false, opts.size, ctx.version)),
            count: pub_count(u64::from(i)),
            qos: opts.qos,
            size: opts.size,
            rate,
            inflight: opts.inflight,
            stop_at,
            deadline: stop_at + GRACE,
            ping_at_end: false,
        };
        pub_tasks.push(tokio::spawn(publisher::run(link, plan, ctx.clock, Arc::clone(&ctx.progress))));
    }
    let published = publisher::join(pub_tasks).await;
    let publish_secs = t0.elapsed().as_secs_f64();
    let total_sent: u64 = published.iter().map(|p| p.sent).sum();
    let mut expected = Vec::with_capacity(subs.len());
    for (i, (_, tx)) in subs.iter().enumerate() {
        let want = if layout.paired { published.get(i).map_or(0, |p| p.sent) } else { total_sent };
        tx.send_replace(Some(want));
        expected.push(want);
    }
    let mut received = Vec::with_capacity(subs.len());
    for (task, _) in subs {
        received.push(
            task.await
                .unwrap_or_else(|err| SubscriberResult { error: Some(format!("subscriber task: {err}")), ..SubscriberResult::default() }),
        );
    }
    let (broker_after, bench_after) = usage(ctx);

    let mut report = super::base_report(opts, ctx, pubs, received.len());
    let end = received.iter().filter_map(|r| r.last_at).max().unwrap_or(t0).max(t0);
    fill_counts(&mut report, &published, &received, &expected);
    report.elapsed_secs = end.duration_since(t0).as_secs_f64();
    report.publish_rate = super::per_sec(report.published, publish_secs);
    report.delivered_rate = super::per_sec(report.delivered, report.elapsed_secs);
    // Cores over the busy part (first publish to last delivery), not the idle wait for stragglers.
    let busy = if report.elapsed_secs > 0.0 { report.elapsed_secs.max(publish_secs) } else { t0.elapsed().as_secs_f64() };
    report.broker = broker_before.zip(broker_after).map(|(b, a)| ProcessCost::between(b, a, busy, report.delivered));
    report.bench = bench_before.zip(bench_after).map(|(b, a)| ProcessCost::between(b, a, busy, report.delivered));
    Ok(report)
}

/// Sum publishers' and subscribers' counts into `report`.
pub fn fill_counts(report: &mut Report, published: &[PublisherResult], received: &[SubscriberResult], expected: &[u64]) {
    let mut latency = Histogram::default();
    for p in published {
        report.published += p.sent;
        report.acked += p.acked;
        report.rejected += p.rejected;
        report.errors.extend(p.error.clone());
    }
    for (r, &want) in received.iter().zip(expected) {
        let got = r.tally.unique.min(want);
        report.expected += want;
        report.delivered += got;
        report.lost += want - got;
        report.duplicated += r.tally.duplicates;
        report.foreign += r.foreign;
        latency.merge(&r.tally.latency);
        report.errors.extend(r.error.clone());
    }
    report.latency = Latency::of(&latency);
}
