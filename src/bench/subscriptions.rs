//! `subscriptions`: `--subs` clients hold `--topics` distinct subscriptions between them, made of
//! `--pattern` with `/#` appended (default `sensors/{i}/#`); then one publisher sends `--count`
//! messages to `{pattern}/temp` topics spread over all of them, each matching exactly one
//! subscription.
//!
//! Measures: SUBSCRIBEs per second, the broker's RSS per subscription (beyond its connections),
//! the broker's CPU per routed message with that many subscriptions, and messages delivered.

use std::time::Duration;

use bytes::BytesMut;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::link::Link;
use super::procstat::Target;
use super::report::{ProcessCost, Report, SubscriptionFigures};
use super::wire::{self, Frame};
use super::{BenchError, BenchOptions, CONNECT_TIMEOUT, Ctx};
use crate::broker::codec::{Packet, ProtocolVersion, SubAck};

/// Handshakes (and subscription batches) in progress at once.
const CONCURRENT: usize = 64;
/// SUBSCRIBE packets written before waiting for their SUBACKs.
const PIPELINE: usize = 512;

fn filter_base(opts: &BenchOptions, ctx: &Ctx, i: u64) -> String {
    match &opts.pattern {
        Some(p) => p.topic(&ctx.token, i),
        None => format!("{}/sensors/{i}", ctx.token),
    }
}

/// Subscribe `link` to `filters`, pipelined; the number refused.
async fn subscribe_all(link: &mut Link, filters: &[String], qos: u8, version: ProtocolVersion) -> Result<u64, BenchError> {
    let mut refused = 0;
    for chunk in filters.chunks(PIPELINE) {
        let mut out = BytesMut::new();
        for (n, f) in chunk.iter().enumerate() {
            wire::subscribe(&mut out, version, u16::try_from(n % 60_000 + 1).unwrap_or(1), f, qos);
        }
        link.write_raw(&out).await?;
        let mut acked = 0;
        while acked < chunk.len() {
            if link.read().await? == 0 {
                return Err(BenchError::Closed);
            }
            link.drain(|frame, _| {
                if let Frame::Other(p) = frame
                    && let Packet::SubAck(SubAck { codes, .. }) = *p
                {
                    acked += 1;
                    refused += codes.iter().filter(|c| **c >= 0x80).count() as u64;
                }
                Ok(())
            })?;
        }
    }
    Ok(refused)
}

/// Run the subscriptions mode.
///
/// # Errors
/// When a connection cannot be set up or a subscription fails on the wire.
pub async fn run(opts: &BenchOptions, ctx: &Ctx) -> Result<Report, BenchError> {
    let subs = usize::try_from(opts.subs.unwrap_or(1000).max(1)).unwrap_or(1);
    let total = opts.topics as u64;
    let before = ctx.broker.and_then(Target::read);
    // Connect every client first: the connections' own memory is not the subscriptions'.
    let mut links = Vec::with_capacity(subs);
    let mut pending = JoinSet::new();
    for i in 0..subs {
        while pending.len() >= CONCURRENT {
            if let Some(done) = pending.join_next().await {
                links.push(done.map_err(|_| BenchError::Closed)??);
            }
        }
        let (addr, version, id, ka) = (ctx.addr.clone(), ctx.version, format!("{}-s{i}", ctx.token), opts.keep_alive);
        pending.spawn(async move { Link::connect(&addr, version, &id, ka, CONNECT_TIMEOUT).await });
    }
    while let Some(done) = pending.join_next().await {
        links.push(done.map_err(|_| BenchError::Closed)??);
    }
    let connected = ctx.broker.and_then(Target::read);

    let t0 = Instant::now();
    let mut subscribing = JoinSet::new();
    let mut held = Vec::with_capacity(subs);
    let mut refused = 0;
    for (i, mut link) in links.into_iter().enumerate() {
        let filters: Vec<String> = (i as u64..total).step_by(subs).map(|j| format!("{}/#", filter_base(opts, ctx, j))).collect();
        let (qos, version) = (opts.qos, ctx.version);
        subscribing.spawn(async move { subscribe_all(&mut link, &filters, qos, version).await.map(|refused| (link, refused)) });
        while subscribing.len() >= CONCURRENT {
            if let Some(done) = subscribing.join_next().await {
                let (link, r) = done.map_err(|_| BenchError::Closed)??;
                refused += r;
                held.push(link);
            }
        }
    }
    while let Some(done) = subscribing.join_next().await {
        let (link, r) = done.map_err(|_| BenchError::Closed)??;
        refused += r;
        held.push(link);
    }
    let subscribe_secs = t0.elapsed().as_secs_f64();
    let subscribed = ctx.broker.and_then(Target::read);

    // Route: one publisher, QoS 0, topics spread over every subscription (a stride coprime with most counts).
    let mut publisher = Link::connect(&ctx.addr, ctx.version, &format!("{}-p", ctx.token), opts.keep_alive, CONNECT_TIMEOUT).await?;
    let payload = vec![b'x'; opts.size.max(1)];
    let t1 = Instant::now();
    let mut out = BytesMut::with_capacity(1 << 20);
    for k in 0..opts.count {
        let j = k.wrapping_mul(7919) % total.max(1);
        let topic = format!("{}/temp", filter_base(opts, ctx, j));
        out.extend_from_slice(&wire::publish_prefix(&topic, 0, false, payload.len(), ctx.version));
        out.extend_from_slice(&payload);
        if out.len() >= 1 << 20 {
            publisher.write_raw(&out).await?;
            out.clear();
        }
    }
    publisher.write_raw(&out).await?;
    // PINGRESP comes after the broker has routed every PUBLISH of this connection.
    publisher.ping().await?;
    let route_secs = t1.elapsed().as_secs_f64();
    let routed = ctx.broker.and_then(Target::read);

    // Count deliveries (they sit in the subscribers' socket buffers).
    let (held, delivered) = count_deliveries(held).await?;
    for link in held {
        link.close().await;
    }
    publisher.close().await;

    let mut report = super::base_report(opts, ctx, 1, subs);
    report.published = opts.count;
    report.expected = opts.count;
    report.delivered = delivered;
    report.lost = opts.count.saturating_sub(delivered);
    report.elapsed_secs = route_secs;
    report.publish_rate = super::per_sec(opts.count, route_secs);
    report.delivered_rate = super::per_sec(delivered, route_secs);
    report.broker = subscribed.zip(routed).map(|(b, a)| ProcessCost::between(b, a, route_secs, opts.count));
    #[expect(clippy::cast_precision_loss, reason = "display figures")]
    let per = |a: u64, b: u64, n: u64| (n > 0).then(|| (b as f64 - a as f64) * 1024.0 / n as f64);
    report.subscriptions = Some(SubscriptionFigures {
        subscriptions: total,
        refused,
        clients: subs as u64,
        subscribe_rate: super::per_sec(total, subscribe_secs),
        broker_bytes_per_conn: before.zip(connected).and_then(|(b, c)| per(b.rss_kib, c.rss_kib, subs as u64)),
        broker_bytes_per_sub: connected.zip(subscribed).and_then(|(c, s)| per(c.rss_kib, s.rss_kib, total)),
        broker_rss_mib: subscribed.map(|s| {
            #[expect(clippy::cast_precision_loss, reason = "display figure")]
            let kib = s.rss_kib as f64;
            kib / 1024.0
        }),
    });
    Ok(report)
}

/// Read what the subscribers were sent, all at once, each until it has been quiet a moment.
async fn count_deliveries(held: Vec<Link>) -> Result<(Vec<Link>, u64), BenchError> {
    let mut readers = JoinSet::new();
    for mut link in held {
        readers.spawn(async move {
            let mut n = 0u64;
            while let Ok(read) = tokio::time::timeout(Duration::from_millis(500), link.read()).await {
                if read? == 0 {
                    break;
                }
                link.drain(|frame, _| {
                    n += u64::from(matches!(frame, Frame::Publish(_)));
                    Ok(())
                })?;
            }
            Ok::<_, BenchError>((link, n))
        });
    }
    let (mut links, mut delivered) = (Vec::new(), 0);
    while let Some(done) = readers.join_next().await {
        let (link, n) = done.map_err(|_| BenchError::Closed)??;
        links.push(link);
        delivered += n;
    }
    Ok((links, delivered))
}
