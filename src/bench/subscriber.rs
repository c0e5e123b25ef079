//! One subscribing connection: SUBSCRIBE to a filter, then read in large chunks, answer QoS 1/2
//! deliveries with one write per chunk, and tally every message by (publisher, sequence number).
//!
//! Owns: the receive side of the QoS flows (PUBACK; PUBREC, PUBREL → PUBCOMP). A subscriber
//! stops when it has every message it was told to expect, when nothing more arrived for
//! [`SubscriberPlan::idle`] after that number became known, or at its deadline.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::BenchError;
use super::link::Link;
use super::payload::{self, Clock};
use super::progress::Progress;
use super::tally::Tally;
use super::wire::{self, AckKind, Frame};
use crate::broker::codec::{Disconnect, Packet, SubAck};

/// How often a waiting subscriber looks at the clock and at the expected count.
const POLL: Duration = Duration::from_millis(50);

/// What one subscriber does.
#[derive(Debug)]
pub struct SubscriberPlan {
    /// Topic filter to subscribe to.
    pub filter: String,
    /// Maximum QoS asked for.
    pub qos: u8,
    /// Only topics starting with this count as the run's messages; others are "foreign".
    pub topic_prefix: Vec<u8>,
    /// Give up here.
    pub deadline: Instant,
    /// Once the expected count is known, stop after this long without a new message.
    pub idle: Duration,
    /// Keep-alive given in CONNECT; a PINGREQ goes out after half of it without a write.
    pub keep_alive: Duration,
}

/// What one subscriber saw.
#[derive(Debug, Default, Clone)]
pub struct SubscriberResult {
    /// Deliveries by (publisher, seq): unique, duplicates, latency.
    pub tally: Tally,
    /// Every PUBLISH read, foreign ones included.
    pub received: u64,
    /// PUBLISHes on topics outside the run's prefix (left over from another run, `$SYS`...).
    pub foreign: u64,
    /// When SUBSCRIBE was written.
    pub subscribed_at: Option<Instant>,
    /// When the first and the last of the run's messages arrived.
    pub first_at: Option<Instant>,
    /// See `first_at`.
    pub last_at: Option<Instant>,
    /// Why it ended early, if it did.
    pub error: Option<String>,
}

/// Subscribe on `link`, say so on `ready` once SUBACK is in, then count deliveries until done.
/// `expected` turns `Some(n)` once the publishers are done and this subscriber should have `n`.
pub async fn run(
    mut link: Link,
    plan: SubscriberPlan,
    clock: Clock,
    progress: Arc<Progress>,
    ready: oneshot::Sender<()>,
    expected: watch::Receiver<Option<u64>>,
) -> SubscriberResult {
    let mut result = SubscriberResult::default();
    let mut ready = Some(ready);
    if let Err(err) = receive(&mut link, &plan, clock, &progress, &mut ready, &expected, &mut result).await {
        result.error = Some(format!("subscriber {}: {err}", plan.filter));
    }
    link.close().await;
    result
}

async fn receive(
    link: &mut Link,
    plan: &SubscriberPlan,
    clock: Clock,
    progress: &Progress,
    ready: &mut Option<oneshot::Sender<()>>,
    expected: &watch::Receiver<Option<u64>>,
    out: &mut SubscriberResult,
) -> Result<(), BenchError> {
    wire::subscribe(&mut link.wbuf, link.version, 1, &plan.filter, plan.qos);
    link.flush().await?;
    out.subscribed_at = Some(Instant::now());
    let mut last_write = Instant::now();
    let mut known_at = None;
    loop {
        if let Some(n) = link.try_read()? {
            if n == 0 {
                return Err(BenchError::Closed);
            }
            let now = Instant::now();
            let now_ns = clock.now_ns();
            let before = out.received;
            let mut fresh = false;
            link.drain(|frame, wbuf| on_frame(frame, wbuf, plan, now_ns, ready, out, &mut fresh))?;
            if !link.wbuf.is_empty() {
                link.flush().await?;
                last_write = now;
            }
            progress.received.fetch_add(out.received - before, Ordering::Relaxed);
            if fresh {
                out.first_at.get_or_insert(now);
                out.last_at = Some(now);
            }
            continue;
        }
        let now = Instant::now();
        if let Some(want) = *expected.borrow() {
            let since = *known_at.get_or_insert(now);
            let quiet_since = out.last_at.map_or(since, |last| last.max(since));
            if out.tally.unique >= want || now.duration_since(quiet_since) >= plan.idle {
                return Ok(());
            }
        }
        if now >= plan.deadline {
            return if ready.is_some() { Err(BenchError::Timeout("SUBACK")) } else { Ok(()) };
        }
        if !plan.keep_alive.is_zero() && now.duration_since(last_write) >= plan.keep_alive / 2 {
            wire::pingreq(&mut link.wbuf);
            link.flush().await?;
            last_write = now;
        }
        tokio::select! {
            readable = link.readable() => readable?,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

fn on_frame(
    frame: Frame<'_>,
    wbuf: &mut bytes::BytesMut,
    plan: &SubscriberPlan,
    now_ns: u64,
    ready: &mut Option<oneshot::Sender<()>>,
    out: &mut SubscriberResult,
    fresh: &mut bool,
) -> Result<(), BenchError> {
    match frame {
        Frame::Publish(p) => {
            out.received += 1;
            match payload::read(p.payload) {
                Some(stamp) if p.topic.starts_with(&plan.topic_prefix) => {
                    out.tally.record(stamp.publisher, stamp.seq, now_ns.saturating_sub(stamp.sent_ns));
                    *fresh = true;
                }
                _ => out.foreign += 1,
            }
            match p.qos {
                1 => wire::ack(wbuf, AckKind::PubAck, p.pkid),
                2 => wire::ack(wbuf, AckKind::PubRec, p.pkid),
                _ => {}
            }
        }
        Frame::Ack { kind: AckKind::PubRel, pkid, .. } => wire::ack(wbuf, AckKind::PubComp, pkid),
        Frame::Other(packet) => match *packet {
            Packet::SubAck(SubAck { codes, .. }) => {
                if let Some(&code) = codes.iter().find(|&&c| c >= 0x80) {
                    return Err(BenchError::SubscribeRefused(code));
                }
                if let Some(tx) = ready.take() {
                    tx.send(()).ok();
                }
            }
            Packet::Disconnect(Disconnect { code, .. }) => return Err(BenchError::Disconnected(code)),
            _ => {}
        },
        _ => {}
    }
    Ok(())
}
