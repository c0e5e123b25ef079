//! Per-topic coalescing: what stands in for messages the UI has no time (or, paused, no wish) to
//! fold in one by one.
//!
//! Owns: [`Coalescer`], a map from topic to [`Coalesced`] (the topic's latest message plus counters
//! of the messages folded away before it). Whatever the load, a coalescer holds one entry per topic,
//! so the tree still learns every topic, its exact latest message, its exact message count and its
//! retained state; only history is thinned, and what was thinned is counted. Must not touch: egui,
//! tokio, the clock.

use std::collections::HashMap;
use std::sync::Arc;

use super::message::Message;

/// One topic's share of a coalesced run of messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coalesced {
    /// The newest message of the run, exactly as received.
    pub latest: Message,
    /// Messages of the run before `latest`: counted, not kept as history.
    pub thinned: u64,
    /// Payload bytes of those messages.
    pub thinned_bytes: u64,
    /// The retained state the thinned messages left behind, if any of them was retained: `Some(true)`
    /// a value, `Some(false)` a delete (an empty retained message). `latest`, if retained, overrides it.
    pub retain_state: Option<bool>,
}

impl Coalesced {
    /// A run of one message.
    #[must_use]
    pub fn new(latest: Message) -> Self {
        Self { latest, thinned: 0, thinned_bytes: 0, retain_state: None }
    }

    /// Messages this entry stands for (the latest and the thinned ones).
    #[must_use]
    pub fn messages(&self) -> u64 {
        self.thinned + 1
    }

    /// `msg` arrived after this run: it becomes the latest, the old latest is thinned.
    fn push(&mut self, msg: Message) {
        let old = std::mem::replace(&mut self.latest, msg);
        self.thin(&old);
    }

    fn thin(&mut self, old: &Message) {
        self.thinned += 1;
        self.thinned_bytes += old.payload.len() as u64;
        if old.retain {
            self.retain_state = Some(!old.payload.is_empty());
        }
    }

    /// `later` is a run that followed this one on the same topic.
    fn append(&mut self, later: Self) {
        let old = std::mem::replace(&mut self.latest, later.latest);
        self.thin(&old);
        self.thinned += later.thinned;
        self.thinned_bytes += later.thinned_bytes;
        if later.retain_state.is_some() {
            self.retain_state = later.retain_state;
        }
    }
}

/// Messages coalesced per topic; the entries come out in the order their topics first came in.
#[derive(Debug, Default)]
pub struct Coalescer {
    entries: Vec<Coalesced>,
    /// Topic → position in `entries`. foldhash, seeded per process, like the topic tree's index.
    index: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
    /// Messages the entries stand for.
    messages: u64,
}

impl Coalescer {
    /// Add a message: a new entry for a new topic, else it replaces its topic's latest.
    pub fn push(&mut self, msg: Message) {
        self.messages += 1;
        if let Some(&i) = self.index.get(&*msg.topic) {
            self.entries[i].push(msg);
        } else {
            self.index.insert(Arc::clone(&msg.topic), self.entries.len());
            self.entries.push(Coalesced::new(msg));
        }
    }

    /// Add an entry that followed everything already here.
    pub fn push_entry(&mut self, entry: Coalesced) {
        self.messages += entry.messages();
        if let Some(&i) = self.index.get(&*entry.latest.topic) {
            self.entries[i].append(entry);
        } else {
            self.index.insert(Arc::clone(&entry.latest.topic), self.entries.len());
            self.entries.push(entry);
        }
    }

    /// Add `later`, which followed everything already here.
    pub fn merge(&mut self, later: Self) {
        if self.is_empty() {
            *self = later;
            return;
        }
        for entry in later.entries {
            self.push_entry(entry);
        }
    }

    /// No entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Topics held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Messages the entries stand for.
    #[must_use]
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Take at most `n` entries (the most recently added topics first), leaving the rest.
    pub fn take_some(&mut self, n: usize) -> Vec<Coalesced> {
        if n >= self.entries.len() {
            return self.take_all();
        }
        let taken = self.entries.split_off(self.entries.len() - n);
        for entry in &taken {
            self.index.remove(&*entry.latest.topic);
            self.messages -= entry.messages();
        }
        taken
    }

    /// Take every entry, in the order their topics first came in.
    pub fn take_all(&mut self) -> Vec<Coalesced> {
        let taken = std::mem::take(self);
        taken.entries
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::model::QoS;

    fn msg(topic: &str, payload: &str, retain: bool) -> Message {
        Message::new(topic, payload.to_owned(), QoS::AtMostOnce, retain, SystemTime::UNIX_EPOCH + Duration::from_secs(1))
    }

    #[test]
    fn one_entry_per_topic_with_the_latest_and_counts() {
        let mut c = Coalescer::default();
        c.push(msg("a", "1", false));
        c.push(msg("b", "x", false));
        c.push(msg("a", "22", false));
        c.push(msg("a", "333", false));
        assert_eq!((c.len(), c.messages()), (2, 4));
        let all = c.take_all();
        assert!(c.is_empty());
        assert_eq!(&all[0].latest.payload[..], b"333");
        assert_eq!((all[0].thinned, all[0].thinned_bytes, all[0].messages()), (2, 3, 3));
        assert_eq!((&all[1].latest.payload[..], all[1].thinned), (&b"x"[..], 0));
    }

    #[test]
    fn the_retained_state_of_thinned_messages_survives() {
        let mut c = Coalescer::default();
        c.push(msg("a", "v", true));
        c.push(msg("a", "live", false));
        let a = &c.take_all()[0];
        assert_eq!(a.retain_state, Some(true), "a retained value stays stored behind a later live message");
        c.push(msg("a", "v", true));
        c.push(msg("a", "", true));
        c.push(msg("a", "live", false));
        assert_eq!(c.take_all()[0].retain_state, Some(false), "an empty retained message deleted it");
    }

    #[test]
    fn merging_a_later_coalescer_keeps_per_topic_order_and_totals() {
        let mut early = Coalescer::default();
        early.push(msg("a", "1", true));
        early.push(msg("b", "1", false));
        let mut later = Coalescer::default();
        later.push(msg("a", "2", false));
        later.push(msg("a", "3", false));
        later.push(msg("c", "1", false));
        early.merge(later);
        assert_eq!((early.len(), early.messages()), (3, 5));
        let all = early.take_all();
        assert_eq!(&all[0].latest.payload[..], b"3");
        assert_eq!((all[0].thinned, all[0].retain_state), (2, Some(true)));
    }

    #[test]
    fn taking_some_leaves_a_consistent_rest() {
        let mut c = Coalescer::default();
        for i in 0..10 {
            c.push(msg(&format!("t/{i}"), "v", false));
        }
        c.push(msg("t/9", "w", false));
        let some = c.take_some(3);
        assert_eq!(some.len(), 3);
        assert_eq!((c.len(), c.messages()), (7, 7));
        c.push(msg("t/9", "again", false));
        c.push(msg("t/0", "again", false));
        assert_eq!((c.len(), c.messages()), (8, 9), "a taken topic starts a new entry");
    }
}
