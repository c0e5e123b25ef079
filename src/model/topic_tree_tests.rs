use std::time::{Duration, SystemTime};

use super::*;
use crate::model::message::{MessageMeta, QoS};

fn msg(topic: &str, payload: &str, at_secs: u64) -> Message {
    Message::new(topic, payload.as_bytes().to_vec(), QoS::AtMostOnce, false, SystemTime::UNIX_EPOCH + Duration::from_secs(at_secs))
}

#[test]
fn insert_builds_levels_and_counts() {
    let mut t = TopicTree::default();
    t.insert(msg("home/kitchen/temp", "21.5", 10));
    t.insert(msg("home/kitchen/temp", "21.6", 11));
    t.insert(msg("home/garage/door", "open", 12));
    assert_eq!(t.topic_count(), 2);
    assert_eq!(t.message_count(), 3);
    let home = t.find_path("home").expect("home");
    assert_eq!(t.node(home).msgs_below(), 3);
    assert_eq!(t.node(home).topics_below(), 2);
    assert_eq!(t.node(home).child_count(), 2);
    let temp = t.find("home/kitchen/temp").expect("temp");
    assert_eq!(t.node(temp).msg_count(), 2);
    let values: Vec<_> = t.node(temp).messages().map(|m| m.payload.clone()).collect();
    assert_eq!(values, vec![&b"21.6"[..], &b"21.5"[..]]);
    assert_eq!(t.path(t.find_path("home/kitchen").expect("kitchen")), "home/kitchen");
    assert_eq!(t.node(home).updated_at(), Some(SystemTime::UNIX_EPOCH + Duration::from_secs(12)));
}

#[test]
fn children_sort_by_name() {
    let mut t = TopicTree::default();
    for name in ["b", "c", "a"] {
        t.insert(msg(&format!("x/{name}"), "1", 1));
    }
    let x = t.find_path("x").expect("x");
    let names: Vec<_> = t.sorted_children(x).into_iter().map(|c| t.node(c).name().to_owned()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn empty_levels_are_nodes() {
    let mut t = TopicTree::default();
    t.insert(msg("a//b", "1", 1));
    t.insert(msg("/a", "2", 1));
    t.insert(msg("a/", "3", 1));
    assert_eq!(t.topic_count(), 3);
    let a = t.find_path("a").expect("a");
    let names: Vec<_> = t.node(a).children().map(|c| t.node(c).name().to_owned()).collect();
    assert_eq!(names, [""]);
    assert!(t.find("a/").is_some());
    assert!(t.find("/a").is_some());
    assert_eq!(t.node(t.find("a//b").expect("a//b")).depth(), 3);
}

#[test]
fn per_topic_limit_keeps_newest() {
    let mut t = TopicTree::new(HistoryLimits { per_topic: 3, budget_bytes: usize::MAX, ..HistoryLimits::default() });
    for i in 0..10 {
        t.insert(msg("s", &i.to_string(), i));
    }
    let s = t.node(t.find("s").expect("s"));
    let kept: Vec<_> = s.messages().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).collect();
    assert_eq!(kept, ["9", "8", "7", "6"]);
    assert_eq!(t.evicted(), 6);
    assert_eq!(s.msg_count(), 10);
}

#[test]
fn budget_evicts_oldest_across_topics_but_keeps_latest() {
    let payload = "x".repeat(1000);
    let one = msg("a", &payload, 0).cost_bytes();
    let mut t = TopicTree::new(HistoryLimits { per_topic: 1000, budget_bytes: one * 6, ..HistoryLimits::default() });
    for i in 0..5 {
        t.insert(msg("a", &payload, i));
        t.insert(msg("b", &payload, i));
    }
    assert!(t.used_bytes() <= one * 6, "{} > {}", t.used_bytes(), one * 6);
    // Both latests are kept; the survivors are the newest of the history.
    let a = t.node(t.find("a").expect("a"));
    let b = t.node(t.find("b").expect("b"));
    assert_eq!(a.kept_count() + b.kept_count(), 6);
    assert_eq!(a.latest().map(|m| m.received_at), Some(SystemTime::UNIX_EPOCH + Duration::from_secs(4)));
    assert_eq!(t.evicted(), 4);
    // A budget smaller than the latests alone keeps the latests whole.
    t.set_limits(HistoryLimits { per_topic: 1000, budget_bytes: 10, ..HistoryLimits::default() });
    assert_eq!(t.node(t.find("a").expect("a")).kept_count(), 1);
    assert_eq!(t.node(t.find("b").expect("b")).kept_count(), 1);
}

#[test]
fn stale_eviction_entries_are_compacted() {
    let mut t = TopicTree::new(HistoryLimits { per_topic: 1, budget_bytes: usize::MAX, ..HistoryLimits::default() });
    for i in 0..100_000 {
        t.insert(msg("hot", "1", i));
    }
    assert!(t.eviction_order.len() <= 2048, "{}", t.eviction_order.len());
    assert_eq!(t.node(t.find("hot").expect("hot")).kept_count(), 2);
}

#[test]
fn deep_topic_does_not_overflow() {
    let mut t = TopicTree::default();
    let topic = vec!["l"; 1000].join("/");
    let id = t.insert(msg(&topic, "deep", 1));
    assert_eq!(t.node(id).depth(), 1000);
    assert_eq!(t.path(t.node(id).parent()).len(), topic.len() - 2);
}

#[test]
fn retained_flag_is_sticky_until_cleared() {
    let mut t = TopicTree::default();
    let mut on = msg("lamp/state", "on", 1);
    on.retain = true;
    t.insert(on);
    t.insert(msg("lamp/state", "off", 2)); // Not retained: the broker still holds "on".
    t.insert({
        let mut m = msg("lamp/power", "5", 2);
        m.retain = true;
        m
    });
    let lamp = t.find_path("lamp").expect("lamp");
    assert!(t.node(t.find("lamp/state").expect("state")).is_retained());
    assert_eq!(t.node(lamp).retained_below(), 2);
    assert_eq!(
        t.retained_topics_below(lamp).iter().map(std::string::ToString::to_string).collect::<Vec<_>>(),
        ["lamp/power", "lamp/state"]
    );
    // An empty retained message clears it (MQTT-3.3.1-10); so does a delete from the store.
    let mut clear = msg("lamp/state", "", 3);
    clear.retain = true;
    t.insert(clear);
    t.clear_retained("lamp/power");
    assert_eq!(t.node(lamp).retained_below(), 0);
    assert_eq!(t.node(NodeId::ROOT).retained_below(), 0);
    assert!(t.retained_topics_below(lamp).is_empty());
}

#[test]
fn the_budget_is_shared_by_all_connections() {
    use crate::model::{ConnId, Store};
    let payload = "x".repeat(1000);
    let one = msg("a", &payload, 0).cost_bytes();
    let mut store = Store::new(HistoryLimits { per_topic: 1000, budget_bytes: one * 10, ..HistoryLimits::default() });
    let other = store.open_conn("remote", "mqtt://remote:1883");
    for i in 0..10 {
        store.insert_messages(ConnId::LOCAL, [msg("a", &payload, i)]);
        store.insert_messages(other, [msg("b", &payload, i)]);
    }
    assert!(store.used_bytes() <= one * 10, "{} > {}", store.used_bytes(), one * 10);
    assert!(store.evicted() >= 10);
    // Both keep their latest.
    for conn in &store.conns {
        assert!(conn.tree.topic_count() == 1 && conn.tree.node(conn.tree.topics().next().expect("topic").1).latest().is_some());
    }
}

#[test]
fn per_topic_bytes_bound_a_chatty_big_topic() {
    let payload = "x".repeat(1000);
    let one = msg("big", &payload, 0).cost_bytes();
    let mut t = TopicTree::new(HistoryLimits { per_topic: 1000, per_topic_bytes: one * 3, budget_bytes: usize::MAX });
    for i in 0..10 {
        t.insert(msg("big", &payload, i));
        t.insert(msg("small", "1", i));
    }
    assert_eq!(t.node(t.find("big").expect("big")).kept_count(), 4, "3 older + the latest");
    assert_eq!(t.node(t.find("small").expect("small")).kept_count(), 10);
}

#[test]
fn kept_messages_share_their_node_topic_and_cost_what_they_hold() {
    let mut t = TopicTree::default();
    for i in 0..3 {
        // Each message arrives with its own topic string, as from the broker or a client.
        t.insert(msg("a/b", &i.to_string(), i));
    }
    let id = t.find("a/b").expect("topic");
    let node = t.node(id);
    let topic = node.topic().expect("topic");
    assert!(node.messages().all(|m| Arc::ptr_eq(&m.topic, topic)), "one topic string per node");
    let plain = msg("a/b", "xy", 9);
    assert!(plain.cost_bytes() >= size_of::<(u64, Message)>() + "a/b".len() + 2);
    // Provenance alone is shared between messages and not counted per message; properties are.
    let mut with_provenance = plain.clone();
    with_provenance.meta = Some(Arc::new(MessageMeta { publisher: Some("p".into()), ..MessageMeta::default() }));
    assert_eq!(with_provenance.cost_bytes(), plain.cost_bytes());
    let mut with_props = plain.clone();
    with_props.meta = Some(Arc::new(MessageMeta { content_type: Some("text/plain".into()), ..MessageMeta::default() }));
    assert!(with_props.cost_bytes() >= plain.cost_bytes() + size_of::<MessageMeta>() + "text/plain".len());
}

#[test]
fn a_level_costs_about_a_hundred_bytes_and_a_topic_a_message_more() {
    use crate::model::topic_node::{Node, TopicData};
    // An inner level (`sensors/17` of `sensors/17/temp`) has no message slot, no history ring and
    // no map of its own for its children.
    assert!(size_of::<Node>() <= 104, "{}", size_of::<Node>());
    assert!(size_of::<TopicData>() <= size_of::<Message>() + 40, "{}", size_of::<TopicData>());
    let mut t = TopicTree::default();
    for i in 0..1000 {
        t.insert(msg(&format!("sensors/{i}/temp"), "1", 1));
    }
    assert_eq!((t.node_count(), t.topic_count()), (2001, 1000));
    let inner = t.find_path("sensors/17").expect("inner level");
    assert!(t.node(inner).latest().is_none() && t.node(inner).child_count() == 1);
    assert_eq!(t.find_path("sensors/17/temp"), t.find("sensors/17/temp"));
}
