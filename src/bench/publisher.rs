//! One publishing connection: pre-encoded PUBLISH prefixes copied into one buffer per batch and
//! written with one syscall, a QoS 1/2 window of packet identifiers, optional pacing.
//!
//! Owns: the publish side of the QoS flows (PUBACK; PUBREC → PUBREL → PUBCOMP).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::BenchError;
use super::link::Link;
use super::payload::{self, Clock, Stamp};
use super::progress::Progress;
use super::wire::{self, AckKind, Frame};
use crate::broker::codec::{Disconnect, Packet};

/// Most messages in one write.
const BATCH_MESSAGES: u64 = 1024;
/// Most bytes in one write (a batch stops at the first message that crosses it).
const BATCH_BYTES: usize = 256 * 1024;

/// Topics of one publisher, each as its pre-encoded PUBLISH prefix, in one flat buffer.
#[derive(Debug, Default)]
pub struct Prefixes {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Prefixes {
    /// Prefixes for `topics`, all with the same QoS, RETAIN flag, payload size and protocol.
    pub fn new<'a>(
        topics: impl IntoIterator<Item = &'a str>,
        qos: u8,
        retain: bool,
        size: usize,
        version: crate::broker::codec::ProtocolVersion,
    ) -> Self {
        let mut set = Self::default();
        for topic in topics {
            set.bytes.extend_from_slice(&wire::publish_prefix(topic, qos, retain, size, version));
            set.ends.push(set.bytes.len());
        }
        set
    }

    /// Number of topics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// `true` with no topics.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or_default()
    }
}

/// What one publisher does.
#[derive(Debug)]
pub struct PublisherPlan {
    /// Publisher index, written into every payload.
    pub index: u32,
    /// Its topics; message `n` goes to topic `n % len`.
    pub prefixes: Arc<Prefixes>,
    /// Messages to send.
    pub count: u64,
    /// QoS of every message (must match the prefixes).
    pub qos: u8,
    /// Payload size in bytes.
    pub size: usize,
    /// Messages per second for this publisher; `None` sends as fast as the broker takes them.
    pub rate: Option<f64>,
    /// Most QoS 1/2 messages unacknowledged at once.
    pub inflight: u16,
    /// Stop sending new messages here (`--seconds`).
    pub stop_at: Instant,
    /// Stop waiting for acknowledgements here.
    pub deadline: Instant,
    /// After the last message, round-trip a PINGREQ so that the broker has surely processed them all.
    pub ping_at_end: bool,
}

/// What one publisher did.
#[derive(Debug, Default, Clone)]
pub struct PublisherResult {
    /// Messages written.
    pub sent: u64,
    /// QoS 1/2 flows completed (PUBACK or PUBCOMP).
    pub acked: u64,
    /// Acknowledgements with a 5.0 failure reason code.
    pub rejected: u64,
    /// Why it ended early, if it did.
    pub error: Option<String>,
}

/// Packet identifier window: state 0 free, 1 waiting for PUBACK/PUBREC, 2 waiting for PUBCOMP.
struct Window {
    state: Vec<u8>,
    next: u16,
    inflight: usize,
}

impl Window {
    fn new() -> Self {
        Self { state: vec![0; 65_536], next: 1, inflight: 0 }
    }

    /// A free packet identifier, marked as in flight.
    fn take(&mut self) -> Option<u16> {
        for _ in 0..u16::MAX {
            let id = self.next;
            self.next = self.next.checked_add(1).unwrap_or(1);
            if let Some(slot) = self.state.get_mut(usize::from(id))
                && *slot == 0
            {
                *slot = 1;
                self.inflight += 1;
                return Some(id);
            }
        }
        None
    }

    /// Move `id` from state `from` to `to` (0 frees it); false if it was not in `from`.
    fn advance(&mut self, id: u16, from: u8, to: u8) -> bool {
        let Some(slot) = self.state.get_mut(usize::from(id)) else { return false };
        if *slot != from {
            return false;
        }
        *slot = to;
        if to == 0 {
            self.inflight -= 1;
        }
        true
    }
}

/// Publish `plan.count` messages on `link`, then close it.
pub async fn run(mut link: Link, plan: PublisherPlan, clock: Clock, progress: Arc<Progress>) -> PublisherResult {
    let mut result = PublisherResult::default();
    if let Err(err) = publish_all(&mut link, &plan, clock, &progress, &mut result).await {
        result.error = Some(format!("publisher {}: {err}", plan.index));
    }
    link.close().await;
    result
}

async fn publish_all(
    link: &mut Link,
    plan: &PublisherPlan,
    clock: Clock,
    progress: &Progress,
    out: &mut PublisherResult,
) -> Result<(), BenchError> {
    let window_size = usize::from(plan.inflight.min(link.receive_maximum.unwrap_or(u16::MAX)).max(1));
    let mut window = Window::new();
    let started = Instant::now();
    let message_len = plan.prefixes.get(0).len() + 3 + plan.size;
    let batch_limit = BATCH_MESSAGES.min(u64::try_from((BATCH_BYTES / message_len.max(1)).max(1)).unwrap_or(1));
    let mut check_read = plan.qos > 0;
    loop {
        if check_read {
            while let Some(n) = link.try_read()? {
                if n == 0 {
                    return Err(BenchError::Closed);
                }
                link.drain(|frame, wbuf| on_ack(&frame, wbuf, &mut window, out))?;
            }
            check_read = plan.qos > 0;
        }
        let now = Instant::now();
        let sending = out.sent < plan.count && now < plan.stop_at && !plan.prefixes.is_empty();
        if !sending && window.inflight == 0 {
            link.flush().await?;
            break;
        }
        if now >= plan.deadline {
            return Err(BenchError::Timeout("acknowledgements"));
        }
        let mut n = if sending { (plan.count - out.sent).min(batch_limit) } else { 0 };
        if plan.qos > 0 {
            n = n.min(u64::try_from(window_size.saturating_sub(window.inflight)).unwrap_or(0));
        }
        let mut next_slot = None;
        if let (Some(rate), true) = (plan.rate, sending) {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a message count")]
            let allowed = (now.duration_since(started).as_secs_f64() * rate) as u64 + 1;
            let allowed = allowed.saturating_sub(out.sent);
            if allowed == 0 {
                #[expect(clippy::cast_precision_loss, reason = "a message count")]
                let due = out.sent as f64 / rate;
                next_slot = Some(started + Duration::from_secs_f64(due));
            }
            n = n.min(allowed);
        }
        if n > 0 {
            fill_batch(link, plan, clock, &mut window, n, out);
        }
        if !link.wbuf.is_empty() {
            link.flush().await?;
            progress.sent.fetch_add(n, Ordering::Relaxed);
        }
        if n == 0 {
            let wake = if sending { next_slot.unwrap_or(plan.deadline).min(plan.stop_at) } else { plan.deadline };
            tokio::select! {
                ready = link.readable() => { ready?; check_read = true; }
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }
    if plan.ping_at_end {
        tokio::time::timeout_at(plan.deadline, link.ping()).await.map_err(|_elapsed| BenchError::Timeout("PINGRESP"))??;
    }
    progress.acked.fetch_add(out.acked, Ordering::Relaxed);
    Ok(())
}

fn fill_batch(link: &mut Link, plan: &PublisherPlan, clock: Clock, window: &mut Window, n: u64, out: &mut PublisherResult) {
    let sent_ns = clock.now_ns();
    let topics = plan.prefixes.len() as u64;
    for _ in 0..n {
        let seq = out.sent;
        let pkid = if plan.qos > 0 {
            let Some(id) = window.take() else { break };
            id
        } else {
            0
        };
        let topic = usize::try_from(seq % topics).unwrap_or(0);
        link.wbuf.extend_from_slice(plan.prefixes.get(topic));
        wire::publish_tail(&mut link.wbuf, plan.qos, pkid, link.version);
        payload::write(&mut link.wbuf, Stamp { sent_ns, publisher: plan.index, seq }, plan.size);
        out.sent += 1;
    }
}

fn on_ack(frame: &Frame<'_>, wbuf: &mut bytes::BytesMut, window: &mut Window, out: &mut PublisherResult) -> Result<(), BenchError> {
    match *frame {
        Frame::Ack { kind: AckKind::PubAck, pkid, code } if window.advance(pkid, 1, 0) => {
            out.acked += 1;
            out.rejected += u64::from(code >= 0x80);
        }
        Frame::Ack { kind: AckKind::PubRec, pkid, code } if code >= 0x80 && window.advance(pkid, 1, 0) => out.rejected += 1,
        Frame::Ack { kind: AckKind::PubRec, pkid, .. } if window.advance(pkid, 1, 2) => wire::ack(wbuf, AckKind::PubRel, pkid),
        Frame::Ack { kind: AckKind::PubComp, pkid, .. } if window.advance(pkid, 2, 0) => out.acked += 1,
        Frame::Other(ref packet) => {
            if let Packet::Disconnect(Disconnect { code, .. }) = **packet {
                return Err(BenchError::Disconnected(code));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Wait for every publisher task; a task that panicked counts as a publisher that failed.
pub async fn join(tasks: Vec<tokio::task::JoinHandle<PublisherResult>>) -> Vec<PublisherResult> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|err| PublisherResult { error: Some(format!("publisher task: {err}")), ..PublisherResult::default() }),
        );
    }
    results
}
