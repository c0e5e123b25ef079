//! Which subscriptions of the embedded broker match none of the topics the explorer has seen, and
//! which of those topics no subscription matches: the subscriptions that never matched a message
//! (since the window opened), and the topics published with no subscriber.
//!
//! Owns: [`Coverage`] and [`coverage`], pure: a subscriptions snapshot against the topics of the
//! Local tree (the tree has every topic routed since the window opened: the explorer sees the
//! broker from inside, it is not a subscriber itself). Costs the broker nothing; the UI computes it
//! once per snapshot.

use std::sync::Arc;

use super::broker_view::SubscriptionRow;
use crate::topic::FilterTrie;

/// The result of one pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Indices (into the snapshot's rows) of subscriptions that match no topic seen.
    pub unmatched: Vec<usize>,
    /// Topics seen that no subscription matches now, sorted.
    pub unheard: Vec<Arc<str>>,
    /// Topics looked at.
    pub topics: usize,
}

/// Match every subscription filter against every topic seen (through a filter trie: one walk per topic).
#[must_use]
pub fn coverage<'a>(rows: &[SubscriptionRow], topics: impl Iterator<Item = &'a Arc<str>>) -> Coverage {
    let mut trie: FilterTrie<usize, ()> = FilterTrie::new();
    for (i, row) in rows.iter().enumerate() {
        trie.insert(&row.filter, i, ());
    }
    let mut matched = vec![false; rows.len()];
    let mut unheard = Vec::new();
    let mut count = 0;
    for topic in topics {
        count += 1;
        let mut any = false;
        trie.for_each_match(topic, |_, &i, ()| {
            any = true;
            if let Some(m) = matched.get_mut(i) {
                *m = true;
            }
        });
        if !any {
            unheard.push(Arc::clone(topic));
        }
    }
    unheard.sort_unstable();
    Coverage { unmatched: (0..rows.len()).filter(|&i| !matched[i]).collect(), unheard, topics: count }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QoS;

    fn sub(client: &str, filter: &str, group: Option<&str>) -> SubscriptionRow {
        SubscriptionRow {
            client_id: client.into(),
            filter: filter.into(),
            share_group: group.map(Into::into),
            qos: QoS::AtMostOnce,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
            subscription_id: None,
            online: true,
        }
    }

    #[test]
    fn unmatched_subscriptions_and_topics_without_subscriber() {
        let rows = vec![sub("a", "home/+/temp", None), sub("b", "garage/#", None), sub("c", "home/#", Some("g")), sub("d", "#", None)];
        let topics: Vec<Arc<str>> = vec!["home/kitchen/temp".into(), "$SYS/broker/uptime".into(), "office/light".into()];
        let c = coverage(&rows, topics.iter());
        assert_eq!(c.unmatched, [1], "garage/# matched nothing");
        // MQTT-4.7.2-1: `#` does not match a topic starting with `$`.
        assert_eq!(c.unheard, [Arc::from("$SYS/broker/uptime")]);
        assert_eq!(c.topics, 3);
        let none = coverage(&[], topics.iter());
        assert_eq!(none.unheard.len(), 3);
    }
}
