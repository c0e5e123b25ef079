//! Order across connections: a SUBSCRIBE that reached the broker before another client's PUBLISH
//! sees that PUBLISH.
//!
//! Each connection task reads its own socket, and the runtime does not run tasks in the order their
//! sockets became readable: it runs the last one woken first (its LIFO slot), or on another worker
//! thread that may still be waking up. So a PUBLISH can be routed while a SUBSCRIBE that arrived
//! before it still waits, unread, in another task's socket buffer: 1 in 2 with two workers, and far
//! more often on a loaded machine. Waiting for the other tasks would put a wait on every PUBLISH;
//! instead the late SUBSCRIBE catches up. The router numbers what it routes and keeps the last few
//! messages ([`Recent`]); a connection notes that number when its socket signals input
//! ([`InputGate`]); a new subscription then also gets the recent messages routed after its input
//! arrived. Mosquitto gets the same order by being single-threaded.
//!
//! Owns: [`InputGate`] (the waker wrapped around a socket's read readiness) and [`Recent`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use super::client_state::Routed;

/// Most messages [`Recent`] keeps: the window a late SUBSCRIBE can catch up on.
const RECENT_MESSAGES: usize = 1024;
/// Most payload bytes [`Recent`] keeps alive.
const RECENT_BYTES: usize = 8 * 1024 * 1024;
/// [`InputGate`] has not been woken since its input was last taken.
const NOT_WOKEN: u64 = u64::MAX;

/// The last messages routed, numbered. Lives in the router's state, so it changes under its lock.
#[derive(Debug, Default)]
pub struct Recent {
    /// Number of the last message routed (also published in [`super::Shared::route_seq`]).
    last_seq: u64,
    msgs: VecDeque<(u64, Arc<Routed>)>,
    bytes: usize,
}

impl Recent {
    /// Number and keep a routed message, forgetting the oldest past the bounds; returns its number.
    pub fn push(&mut self, msg: &Arc<Routed>) -> u64 {
        self.last_seq += 1;
        self.bytes += msg.payload.len();
        self.msgs.push_back((self.last_seq, Arc::clone(msg)));
        while self.msgs.len() > RECENT_MESSAGES || self.bytes > RECENT_BYTES {
            let Some((_, old)) = self.msgs.pop_front() else { break };
            self.bytes -= old.payload.len();
        }
        self.last_seq
    }

    /// The messages kept that were routed after number `seq`, oldest first.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = &Arc<Routed>> {
        let start = self.msgs.partition_point(|(s, _)| *s <= seq);
        self.msgs.range(start..).map(|(_, m)| m)
    }
}

/// Wraps a connection task's waker for read readiness, to note the number of the last routed
/// message when the socket signalled input.
#[derive(Debug)]
pub struct InputGate {
    /// The connection task's own waker, woken through this gate.
    task: Mutex<Option<Waker>>,
    /// `route_seq` at the first wake since the socket was last found empty, or [`NOT_WOKEN`].
    woken_at: AtomicU64,
    /// `route_seq` when the socket was last found empty (input read later arrived after it), or [`NOT_WOKEN`].
    empty_at: AtomicU64,
    /// The router's message number ([`super::Shared::route_seq`]).
    route_seq: Arc<AtomicU64>,
}

impl InputGate {
    /// A gate reading `route_seq`, and the waker to poll read readiness with.
    #[must_use]
    pub fn new(route_seq: Arc<AtomicU64>) -> (Arc<Self>, Waker) {
        let gate =
            Arc::new(Self { task: Mutex::new(None), woken_at: AtomicU64::new(NOT_WOKEN), empty_at: AtomicU64::new(NOT_WOKEN), route_seq });
        let waker = Waker::from(Arc::clone(&gate));
        (gate, waker)
    }

    /// Remember the waker of the task polling now (cloned only when it changed).
    pub fn register(&self, waker: &Waker) {
        let mut task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !task.as_ref().is_some_and(|t| t.will_wake(waker)) {
            *task = Some(waker.clone());
        }
    }

    /// The socket was found empty: input read from now on arrived after the current message number.
    pub fn observed_empty(&self) {
        self.empty_at.store(self.route_seq.load(SeqCst), SeqCst);
        self.woken_at.store(NOT_WOKEN, SeqCst);
    }

    /// The message number when the input just read arrived: when its wake came; without one (the task
    /// was busy, so no wake was due), when the socket was last found empty or last read (input that had
    /// arrived by then would have been read then); failing both (the first read), now.
    pub fn take_since(&self) -> u64 {
        let now = self.route_seq.load(SeqCst);
        let woken = self.woken_at.swap(NOT_WOKEN, SeqCst);
        let empty = self.empty_at.swap(now, SeqCst);
        match (woken, empty) {
            (NOT_WOKEN, NOT_WOKEN) => now,
            (NOT_WOKEN, at) | (at, _) => at,
        }
    }
}

impl Wake for InputGate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken_at.compare_exchange(NOT_WOKEN, self.route_seq.load(SeqCst), SeqCst, SeqCst).ok();
        let task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(task) = task {
            task.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::broker::codec::QoS;

    fn msg(topic: &str, len: usize) -> Arc<Routed> {
        Arc::new(Routed {
            topic: topic.into(),
            payload: Bytes::from(vec![0; len]),
            published_qos: QoS::AtMostOnce,
            retain: false,
            properties: None,
            expires_at: None,
            publisher: "p".into(),
        })
    }

    #[test]
    fn recent_keeps_the_last_messages_within_its_bounds() {
        let mut recent = Recent::default();
        for i in 0..RECENT_MESSAGES + 10 {
            recent.push(&msg(&i.to_string(), 1));
        }
        assert_eq!(recent.msgs.len(), RECENT_MESSAGES);
        let after: Vec<&str> = recent.after(u64::try_from(RECENT_MESSAGES + 8).expect("fits")).map(|m| &*m.topic).collect();
        assert_eq!(after, [(RECENT_MESSAGES + 8).to_string(), (RECENT_MESSAGES + 9).to_string()]);
        recent.push(&msg("big", RECENT_BYTES));
        assert_eq!(recent.msgs.len(), 1, "the byte bound keeps only the newest");
    }

    #[test]
    fn a_wake_notes_the_message_number_once_until_taken() {
        let seq = Arc::new(AtomicU64::new(5));
        let (gate, waker) = InputGate::new(Arc::clone(&seq));
        gate.register(Waker::noop());
        waker.wake_by_ref();
        seq.store(9, SeqCst);
        waker.wake_by_ref();
        assert_eq!(gate.take_since(), 5, "the first wake counts");
        seq.store(11, SeqCst);
        assert_eq!(gate.take_since(), 9, "input without a wake: when the socket was last read");
        gate.observed_empty();
        seq.store(12, SeqCst);
        assert_eq!(gate.take_since(), 11, "or last found empty");
        gate.observed_empty();
        waker.wake_by_ref();
        assert_eq!(gate.take_since(), 12, "a wake after that is closer");
    }
}
