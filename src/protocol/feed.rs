//! [`Feed`]: one connection's stream of messages into the [`EventSink`], coalescing per topic
//! when the UI has no room, so that nothing is dropped. Must not touch: egui.

use super::channel::{BATCH, EventSink};
use crate::model::{Coalescer, ConnId, Message};

/// One connection's stream of messages into the [`EventSink`]: batches in order while the UI has
/// room; when it has none, per-topic coalescing, handed over as the UI makes room. Never drops.
///
/// Order holds per topic: once a batch was coalesced, later messages are coalesced too until every
/// run went to the UI, so a run always follows the batches sent before it and precedes those after.
#[derive(Debug)]
pub struct Feed {
    sink: EventSink,
    conn_id: ConnId,
    /// What the UI had no room for yet. Bounded by the number of topics (one run each).
    overflow: Coalescer,
}

impl Feed {
    /// A feed for connection `conn_id`.
    #[must_use]
    pub fn new(sink: EventSink, conn_id: ConnId) -> Self {
        Self { sink, conn_id, overflow: Coalescer::default() }
    }

    /// The sink it feeds.
    #[must_use]
    pub fn sink(&self) -> &EventSink {
        &self.sink
    }

    /// Messages that arrived after everything given before: sent as they are, or coalesced.
    pub fn send(&mut self, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        let msgs = if self.overflow.is_empty() {
            match self.sink.try_messages(self.conn_id, msgs) {
                Ok(()) => return,
                Err(msgs) => msgs,
            }
        } else {
            msgs
        };
        for msg in msgs {
            self.overflow.push(msg);
        }
        self.flush();
    }

    /// Runs coalesced elsewhere (the broker's tap), which followed everything given before.
    pub fn absorb(&mut self, runs: Coalescer) {
        if runs.is_empty() {
            return;
        }
        self.overflow.merge(runs);
        self.flush();
    }

    /// Hand coalesced runs to the UI as far as it has room. True when none are left.
    pub fn flush(&mut self) -> bool {
        while !self.overflow.is_empty() {
            let room = self.sink.room_left();
            if room == 0 {
                return false;
            }
            let runs = self.overflow.take_some(room.min(BATCH));
            if let Err(runs) = self.sink.try_coalesced(self.conn_id, runs) {
                for run in runs {
                    self.overflow.push_entry(run);
                }
                return false;
            }
        }
        true
    }

    /// Runs are waiting for room: call [`Self::flush`] again soon, even if no message arrives.
    #[must_use]
    pub fn is_coalescing(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Messages waiting as coalesced runs.
    #[must_use]
    pub fn coalesced_messages(&self) -> u64 {
        self.overflow.messages()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::model::{QoS, Store};
    use crate::protocol::{EventReceiver, MAX_MESSAGES_IN_FLIGHT};

    /// Everything the receiver got, folded into a store.
    fn fold(rx: &mut EventReceiver, store: &mut Store) {
        while let Ok(event) = rx.try_recv() {
            event.apply_to(store);
        }
    }

    #[test]
    fn a_feed_without_room_coalesces_and_loses_no_topic_nor_latest_value() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        let mut feed = Feed::new(sink, ConnId::LOCAL);
        let topics = 100_000;
        let rounds = 10;
        for round in 0..rounds {
            let msgs = (0..topics)
                .map(|i| Message::new(format!("t/{i}"), format!("{round}"), QoS::AtMostOnce, round == 0, SystemTime::UNIX_EPOCH))
                .collect::<Vec<_>>();
            for chunk in msgs.chunks(BATCH) {
                feed.send(chunk.to_vec());
            }
        }
        assert!(feed.is_coalescing(), "1M messages with nobody reading cannot all be in flight");
        assert!(rx.in_flight() <= MAX_MESSAGES_IN_FLIGHT);
        let mut store = Store::default();
        while feed.is_coalescing() {
            fold(&mut rx, &mut store);
            feed.flush();
        }
        fold(&mut rx, &mut store);
        let tree = &store.conn(ConnId::LOCAL).expect("local").tree;
        assert_eq!(tree.topic_count(), topics);
        assert_eq!(tree.message_count(), (topics * rounds) as u64, "every message counted");
        assert!(tree.thinned() > 0);
        for i in 0..topics {
            let node = tree.node(tree.find(&format!("t/{i}")).expect("every topic"));
            assert_eq!(&node.latest().expect("latest").payload[..], format!("{}", rounds - 1).as_bytes());
            assert_eq!(node.msg_count(), rounds as u64);
            assert!(node.is_retained(), "the retained value of round 0 is still stored");
            assert_eq!(node.kept_count() as u64 + node.thinned(), rounds as u64, "kept or counted as thinned");
        }
    }
}
