//! The packet trace: every packet read from or written to the clients the explorer traces, in a
//! bounded ring the UI reads while its Trace tab is shown.
//!
//! Owns: [`Trace`] (whose packets are traced, and the ring of the last [`TRACE_CAPACITY`]) and
//! [`Tracer`], a connection's handle on it. Off is the default. Each session has its own switch (an
//! `AtomicBool` in its [`SessionCell`](super::client_state::SessionCell)); a connection looks at it
//! with one relaxed load per packet, so the packets of a client not traced cost that load and
//! nothing else, whoever else is traced. Only traced packets are decoded into rows and take the ring's lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::Shared;
use super::codec::Packet;
use super::trace_row;
use crate::model::packet_trace::{Direction, TRACE_CAPACITY, TraceTargets, TraceUpdate, TracedPacket};

/// The last packets traced, oldest first.
#[derive(Debug, Default)]
struct Ring {
    packets: VecDeque<TracedPacket>,
    /// Sequence number of the newest packet (0: none yet).
    last_seq: u64,
}

/// Whose packets are traced and the last [`TRACE_CAPACITY`] of them.
#[derive(Debug, Default)]
pub struct Trace {
    /// Taken when a client connects and when the explorer changes it; never per packet.
    targets: Mutex<TraceTargets>,
    /// Taken once per traced packet, and by the UI's requests.
    ring: Mutex<Ring>,
}

impl Trace {
    /// Whether a client connecting with this id is to be traced.
    #[must_use]
    pub fn covers(&self, client_id: &str) -> bool {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner).covers(client_id)
    }

    /// Whose packets are traced.
    #[must_use]
    pub fn targets(&self) -> TraceTargets {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Append one packet (decoded before the lock is taken: connections traced at once wait for
    /// each other only to push a row).
    pub fn record(&self, client_id: &Arc<str>, direction: Direction, packet: &Packet, size: usize) {
        let mut row = trace_row::row(0, SystemTime::now(), Arc::clone(client_id), direction, packet, size);
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.last_seq += 1;
        row.seq = ring.last_seq;
        if ring.packets.len() >= TRACE_CAPACITY {
            ring.packets.pop_front();
        }
        ring.packets.push_back(row);
    }

    /// The packets after sequence number `after` still in the ring, and whose are traced.
    #[must_use]
    pub fn since(&self, after: u64) -> TraceUpdate {
        let targets = self.targets();
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let skip = ring.packets.partition_point(|p| p.seq <= after);
        TraceUpdate { packets: ring.packets.iter().skip(skip).cloned().collect(), last_seq: ring.last_seq, targets }
    }
}

/// Turn tracing on or off for one client id (`None`: every client, present and future; off for
/// all also forgets the single ids). Sessions that exist now switch at once.
pub fn set(shared: &Shared, client_id: Option<&str>, on: bool) {
    {
        let mut targets = shared.trace.targets.lock().unwrap_or_else(PoisonError::into_inner);
        match (client_id, on) {
            (None, true) => targets.all = true,
            (None, false) => *targets = TraceTargets::default(),
            (Some(id), true) => {
                targets.clients.insert(id.into());
            }
            (Some(id), false) => {
                targets.clients.remove(id);
            }
        }
    }
    // Lock order: state, then targets (as in a CONNECT).
    let state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let targets = shared.trace.targets();
    for (id, cell) in &state.sessions {
        cell.tracing.store(targets.covers(id), Relaxed);
    }
}

/// A connection's handle on the trace: the session's switch, and where traced packets go.
#[derive(Debug, Clone)]
pub struct Tracer {
    /// The session's switch ([`SessionCell::tracing`](super::client_state::SessionCell::tracing)).
    on: Arc<AtomicBool>,
    client_id: Arc<str>,
    trace: Arc<Trace>,
}

impl Tracer {
    /// A handle recording under `client_id` while `on` is set.
    #[must_use]
    pub const fn new(on: Arc<AtomicBool>, client_id: Arc<str>, trace: Arc<Trace>) -> Self {
        Self { on, client_id, trace }
    }

    /// Whether this connection's packets are traced now: one relaxed load.
    #[must_use]
    #[inline]
    pub fn on(&self) -> bool {
        self.on.load(Relaxed)
    }

    /// Record one packet of this connection.
    pub fn record(&self, direction: Direction, packet: &Packet, size: usize) {
        self.trace.record(&self.client_id, direction, packet, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_bounded_and_answers_from_a_sequence_number() {
        let trace = Trace::default();
        let id: Arc<str> = "c".into();
        for _ in 0..TRACE_CAPACITY + 3 {
            trace.record(&id, Direction::In, &Packet::PingReq, 2);
        }
        let all = trace.since(0);
        assert_eq!((all.packets.len(), all.last_seq), (TRACE_CAPACITY, TRACE_CAPACITY as u64 + 3));
        assert_eq!(all.packets[0].seq, 4, "the oldest went first");
        let last_two = trace.since(TRACE_CAPACITY as u64 + 1);
        assert_eq!(last_two.packets.iter().map(|p| p.seq).collect::<Vec<_>>(), [TRACE_CAPACITY as u64 + 2, TRACE_CAPACITY as u64 + 3]);
    }
}
