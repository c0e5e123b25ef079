//! Messages held back from the view while it is paused (Space), to be folded in on resume.
//!
//! Owns: [`Held`]. Up to [`HELD_IN_ORDER`] messages wait as they came, with their history; beyond
//! that, each connection's messages are coalesced per topic ([`Coalescer`]), so a long pause costs
//! thinned history, never a topic, a latest value or a count, and memory stays bounded by the
//! number of topics. Must not touch: egui, tokio, the clock.

use std::collections::{BTreeMap, VecDeque};

use super::coalesce::{Coalesced, Coalescer};
use super::{ConnId, Message};

/// Most messages held in order (with their history) while paused.
pub const HELD_IN_ORDER: usize = 200_000;

/// Messages of one connection, as they reach the store.
#[derive(Debug)]
pub enum Batch {
    /// Messages in arrival order.
    Messages(Vec<Message>),
    /// Coalesced runs, one per topic.
    Runs(Vec<Coalesced>),
}

impl Batch {
    /// Messages it stands for.
    #[must_use]
    pub fn messages(&self) -> u64 {
        match self {
            Self::Messages(msgs) => msgs.len() as u64,
            Self::Runs(runs) => runs.iter().map(Coalesced::messages).sum(),
        }
    }

    /// Entries it holds (messages or runs): what folding it costs.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Messages(msgs) => msgs.len(),
            Self::Runs(runs) => runs.len(),
        }
    }

    /// Holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What waits while the view is paused, in the order it is to be folded in.
#[derive(Debug, Default)]
pub struct Held {
    /// Batches in arrival order, up to [`HELD_IN_ORDER`] messages.
    queue: VecDeque<(ConnId, Batch)>,
    /// Messages and runs in `queue`.
    queued: usize,
    /// What came after the queue was full, per connection; folded after the queue.
    overflow: BTreeMap<ConnId, Coalescer>,
    /// Messages waiting in all.
    waiting: u64,
}

impl Held {
    /// Hold a batch that arrived after everything held so far.
    pub fn hold(&mut self, conn_id: ConnId, batch: Batch) {
        self.waiting += batch.messages();
        if self.overflow.is_empty() && self.queued + batch.len() <= HELD_IN_ORDER {
            self.queued += batch.len();
            self.queue.push_back((conn_id, batch));
            return;
        }
        let overflow = self.overflow.entry(conn_id).or_default();
        match batch {
            Batch::Messages(msgs) => msgs.into_iter().for_each(|m| overflow.push(m)),
            Batch::Runs(runs) => runs.into_iter().for_each(|r| overflow.push_entry(r)),
        }
    }

    /// The next batch to fold in, oldest first; coalesced runs come in chunks of at most `chunk`.
    pub fn pop(&mut self, chunk: usize) -> Option<(ConnId, Batch)> {
        let (conn_id, batch) = if let Some((conn_id, batch)) = self.queue.pop_front() {
            self.queued -= batch.len();
            (conn_id, batch)
        } else {
            let mut entry = self.overflow.first_entry()?;
            let conn_id = *entry.key();
            let runs = entry.get_mut().take_some(chunk.max(1));
            if entry.get().is_empty() {
                entry.remove();
            }
            (conn_id, Batch::Runs(runs))
        };
        self.waiting -= batch.messages();
        Some((conn_id, batch))
    }

    /// Messages waiting.
    #[must_use]
    pub fn waiting(&self) -> u64 {
        self.waiting
    }

    /// Nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.overflow.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::model::{QoS, Store};

    fn msgs(n: usize, round: usize) -> Vec<Message> {
        (0..n).map(|i| Message::new(format!("p/{i}"), format!("{round}"), QoS::AtMostOnce, false, SystemTime::UNIX_EPOCH)).collect()
    }

    #[test]
    fn a_long_pause_keeps_every_topic_latest_value_and_count() {
        let mut held = Held::default();
        let (topics, rounds) = (100_000, 5);
        for round in 0..rounds {
            for chunk in msgs(topics, round).chunks(4096) {
                held.hold(ConnId::LOCAL, Batch::Messages(chunk.to_vec()));
            }
        }
        assert_eq!(held.waiting(), (topics * rounds) as u64);
        assert!(held.queued <= HELD_IN_ORDER, "held in order up to the bound, coalesced beyond");
        let mut store = Store::default();
        while let Some((conn_id, batch)) = held.pop(4096) {
            store.fold(conn_id, batch);
        }
        assert_eq!(held.waiting(), 0);
        assert!(held.is_empty());
        let tree = &store.conn(ConnId::LOCAL).expect("local").tree;
        assert_eq!(tree.topic_count(), topics);
        assert_eq!(tree.message_count(), (topics * rounds) as u64);
        for i in (0..topics).step_by(997) {
            let node = tree.node(tree.find(&format!("p/{i}")).expect("topic"));
            assert_eq!(&node.latest().expect("latest").payload[..], format!("{}", rounds - 1).as_bytes());
            assert_eq!(node.msg_count(), rounds as u64);
        }
    }

    #[test]
    fn a_short_pause_keeps_everything_in_order() {
        let mut held = Held::default();
        held.hold(ConnId::LOCAL, Batch::Messages(msgs(3, 0)));
        held.hold(ConnId(1), Batch::Messages(msgs(2, 1)));
        assert!(matches!(held.pop(10), Some((ConnId::LOCAL, Batch::Messages(m))) if m.len() == 3));
        assert!(matches!(held.pop(10), Some((ConnId(1), Batch::Messages(m))) if m.len() == 2));
        assert!(held.pop(10).is_none());
    }
}
