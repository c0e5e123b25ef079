//! Tests of [`FilterTrie`] and [`TopicTrie`]: spec examples, deep topics, and property tests
//! against the brute-force reference [`matches()`].

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::{FilterTrie, TopicTrie, TopicValue, matches, validate_topic_filter};

fn matched_filters<V>(trie: &FilterTrie<u8, V>, topic: &str) -> Vec<(String, u8)> {
    let mut got = Vec::new();
    trie.for_each_match(topic, |f, k, _| got.push((f.to_owned(), *k)));
    got.sort();
    got
}

/// A value that names its own topic, as a retained message does: its node keeps no level name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named(String);

impl TopicValue for Named {
    fn topic(&self) -> Option<&[u8]> {
        Some(self.0.as_bytes())
    }
}

fn named(topic: &str) -> Named {
    Named(topic.to_owned())
}

/// What the path-free walk reports, as sorted topics.
fn matched_named(trie: &TopicTrie<Named>, filter: &str) -> Vec<String> {
    let mut got = Vec::new();
    trie.for_each_value_matching(filter, |v| got.push(v.0.clone()));
    got.sort();
    got
}

fn matched_topics<V: TopicValue>(trie: &TopicTrie<V>, filter: &str) -> Vec<String> {
    let mut got = Vec::new();
    trie.for_each_matching(filter, |t, _| got.push(t.to_owned()));
    got.sort();
    got
}

const SPEC_FILTERS: [&str; 14] = [
    "sport/tennis/player1/#",
    "sport/#",
    "#",
    "sport/tennis/#",
    "+",
    "+/tennis/#",
    "sport/+/player1",
    "sport/tennis/+",
    "sport/+",
    "+/+",
    "/+",
    "$SYS/#",
    "+/monitor/Clients",
    "$SYS/monitor/+",
];

#[test]
fn filter_trie_routes_the_examples_of_4_7() {
    let mut trie = FilterTrie::new();
    for f in SPEC_FILTERS {
        assert_eq!(trie.insert(f, 1, ()), None);
    }
    for topic in [
        "sport",
        "sport/",
        "sport/tennis",
        "sport/tennis/player1",
        "sport/tennis/player1/ranking",
        "sport/tennis/player1/score/wimbledon",
        "/finance",
        "finance",
        "$SYS",
        "$SYS/monitor/Clients",
        "x/monitor/Clients",
    ] {
        let want: Vec<(String, u8)> =
            SPEC_FILTERS.iter().filter(|f| matches(f, topic)).map(|f| ((*f).to_owned(), 1)).collect::<BTreeSet<_>>().into_iter().collect();
        assert_eq!(matched_filters(&trie, topic), want, "{topic}");
    }
    // MQTT-4.7.2-1: "#" and "+/monitor/Clients" do not get "$SYS/monitor/Clients".
    let sys: Vec<String> = matched_filters(&trie, "$SYS/monitor/Clients").into_iter().map(|(f, _)| f).collect();
    assert_eq!(sys, ["$SYS/#", "$SYS/monitor/+"]);
    // "sport/+" matches "sport/" but not "sport"; "sport/#" matches "sport".
    let sport: Vec<String> = matched_filters(&trie, "sport").into_iter().map(|(f, _)| f).collect();
    assert_eq!(sport, ["#", "+", "sport/#"]);
}

#[test]
fn filter_trie_insert_get_remove() {
    let mut trie: FilterTrie<&str, u8> = FilterTrie::new();
    assert!(trie.is_empty());
    assert_eq!(trie.insert("a/+", "c1", 0), None);
    assert_eq!(trie.insert("a/+", "c1", 1), Some(0), "same filter and key replaces (MQTT-3.8.4-3)");
    assert_eq!(trie.insert("a/+", "c2", 2), None);
    assert_eq!(trie.insert("#", "c1", 3), None);
    assert_eq!(trie.insert("a/#", "c1", 4), None);
    assert_eq!(trie.len(), 4);
    assert_eq!(trie.get("a/+", &"c1"), Some(&1));
    assert_eq!(trie.get("a/#", &"c2"), None);
    assert_eq!(trie.get("a", &"c1"), None);
    if let Some(v) = trie.get_mut("#", &"c1") {
        *v = 30;
    }
    assert_eq!(trie.get("#", &"c1"), Some(&30));
    let mut all: Vec<(String, &str, u8)> = trie.iter().map(|(f, k, v)| (f.to_owned(), *k, *v)).collect();
    all.sort_unstable();
    assert_eq!(all, [("#".into(), "c1", 30), ("a/#".into(), "c1", 4), ("a/+".into(), "c1", 1), ("a/+".into(), "c2", 2)]);
    assert_eq!(trie.remove("a/+", &"c3"), None);
    assert_eq!(trie.remove("a/b", &"c1"), None);
    assert_eq!(trie.remove("a/+", &"c1"), Some(1));
    assert_eq!(trie.remove("a/+", &"c1"), None);
    assert_eq!(trie.remove("a/+", &"c2"), Some(2));
    assert_eq!(trie.node_count(), 2, "the '+' node is pruned, 'a' keeps its '#' entry");
    assert_eq!(trie.remove("a/#", &"c1"), Some(4));
    assert_eq!(trie.remove("#", &"c1"), Some(30));
    assert!(trie.is_empty());
    assert_eq!(trie.node_count(), 1);
    trie.insert("x/y", "c", 1);
    trie.clear();
    assert_eq!((trie.len(), trie.node_count()), (0, 1));
    assert_eq!(format!("{trie:?}"), "FilterTrie { len: 0, .. }");
}

#[test]
fn topic_trie_queries_and_dollar_rule() {
    let mut trie = TopicTrie::new();
    let topics = ["home/kitchen/temp", "home/hall/temp", "home/hall/hum", "home", "$SYS/uptime", "/x", "a//b"];
    for (i, t) in topics.iter().enumerate() {
        assert_eq!(trie.insert(t, i), None);
    }
    assert_eq!(trie.insert("home", 9), Some(3));
    assert_eq!(trie.len(), topics.len());
    assert_eq!(trie.get("home"), Some(&9));
    assert_eq!(trie.get("home/hall"), None);
    assert_eq!(matched_topics(&trie, "home/+/temp"), ["home/hall/temp", "home/kitchen/temp"]);
    assert_eq!(matched_topics(&trie, "home/#"), ["home", "home/hall/hum", "home/hall/temp", "home/kitchen/temp"]);
    // MQTT-4.7.2-1: wildcards at the first level skip '$' topics.
    assert_eq!(matched_topics(&trie, "#").len(), topics.len() - 1);
    assert!(matched_topics(&trie, "+/uptime").is_empty());
    assert_eq!(matched_topics(&trie, "$SYS/#"), ["$SYS/uptime"]);
    assert_eq!(matched_topics(&trie, "+/+"), ["/x"]);
    assert_eq!(matched_topics(&trie, "a/+/b"), ["a//b"]);
    let mut all = Vec::new();
    trie.for_each(|t, _| all.push(t.to_owned()));
    assert_eq!(all.len(), topics.len());
    assert_eq!(trie.remove_matching("home/+/temp"), 2);
    assert_eq!(trie.remove_matching("#"), 4);
    assert_eq!(matched_topics(&trie, "$SYS/+"), ["$SYS/uptime"]);
    assert_eq!(trie.remove("$SYS/uptime"), Some(4));
    assert!(trie.is_empty());
    assert_eq!(trie.node_count(), 1);
}

#[test]
fn named_values_keep_levels_right_through_updates_and_removals() {
    let mut trie = TopicTrie::new();
    for t in ["a", "a/b", "a/b/c", "a/", "$SYS/x", "b"] {
        assert_eq!(trie.insert(t, named(t)), None);
    }
    assert_eq!(trie.insert("a/b", named("a/b")), Some(named("a/b")));
    // Removing a value whose node has children keeps the node, now naming itself.
    assert_eq!(trie.remove("a/b"), Some(named("a/b")));
    assert_eq!(trie.get("a/b/c"), Some(&named("a/b/c")));
    assert_eq!(matched_named(&trie, "a/+/c"), ["a/b/c"]);
    assert_eq!(matched_named(&trie, "a/#"), ["a", "a/", "a/b/c"]);
    assert_eq!(matched_named(&trie, "#"), ["a", "a/", "a/b/c", "b"], "MQTT-4.7.2-1: # skips $ topics");
    assert_eq!(matched_named(&trie, "+"), ["a", "b"]);
    assert_eq!(matched_named(&trie, "$SYS/#"), ["$SYS/x"]);
    assert_eq!(matched_named(&trie, "a/b/c/#"), ["a/b/c"], "MQTT-4.7.1-2: # matches the parent level");
    trie.insert("a/b", named("a/b"));
    assert_eq!(matched_named(&trie, "a/b"), ["a/b"]);
    assert_eq!(trie.remove_matching("a/#"), 4);
    assert_eq!(trie.node_count(), 3, "root, the tail $SYS/x, b");
}

#[test]
fn tails_split_on_insert_and_fold_back_on_removal() {
    let mut trie = TopicTrie::new();
    trie.insert("s/1/temp", named("s/1/temp"));
    assert_eq!(trie.node_count(), 2, "root and one tail holding all three levels");
    for absent in ["s", "s/1", "s/1/temp/x", "s/2/temp", "s/1/hum"] {
        assert_eq!(trie.get(absent), None, "{absent}");
        assert_eq!(trie.remove(absent), None, "{absent}");
    }
    assert_eq!(matched_named(&trie, "s/+/temp"), ["s/1/temp"]);
    assert_eq!(matched_named(&trie, "s/1/temp/#"), ["s/1/temp"], "MQTT-4.7.1-2 on a tail");
    assert!(matched_named(&trie, "s/1").is_empty() && matched_named(&trie, "s/+").is_empty());
    assert!(matched_topics(&trie, "+/+/temp/+").is_empty());

    trie.insert("s/1/hum", named("s/1/hum"));
    trie.insert("s/2/temp", named("s/2/temp"));
    assert_eq!(trie.node_count(), 6, "root, s, s/1, s/1/temp, s/1/hum, the tail s/2/temp");
    assert_eq!(matched_topics(&trie, "s/+/temp"), ["s/1/temp", "s/2/temp"]);
    assert_eq!(matched_named(&trie, "+/1/#"), ["s/1/hum", "s/1/temp"]);

    // The value a tail's names are read from goes while its siblings stay: `s/1` keeps its
    // stored name, and the chain left holding `s/1/temp` folds into a tail.
    assert_eq!(trie.remove("s/1/hum"), Some(named("s/1/hum")));
    assert_eq!(trie.node_count(), 4, "root, s, the tails s/1/temp and s/2/temp");
    assert_eq!(trie.get("s/1/temp"), Some(&named("s/1/temp")));
    assert_eq!(matched_named(&trie, "s/+/temp"), ["s/1/temp", "s/2/temp"]);

    // A value above a tail: the tail splits and the value's node names itself.
    trie.insert("s/2", named("s/2"));
    assert_eq!(trie.node_count(), 5, "root, s, s/1/temp, s/2, s/2/temp");
    assert_eq!(matched_named(&trie, "s/+"), ["s/2"]);
    assert_eq!(matched_named(&trie, "s/2/#"), ["s/2", "s/2/temp"]);
    assert_eq!(trie.remove("s/2"), Some(named("s/2")));
    assert_eq!(trie.node_count(), 4, "s/2/temp is a tail again");

    assert_eq!(trie.remove("s/2/temp"), Some(named("s/2/temp")));
    assert_eq!(trie.node_count(), 2, "root and the tail s/1/temp");
    assert_eq!(matched_named(&trie, "#"), ["s/1/temp"]);
    assert_eq!(trie.remove_matching("s/+/temp"), 1);
    assert_eq!((trie.len(), trie.node_count()), (0, 1));

    // Cutting a subtree folds what is left above it.
    for t in ["p/a/x/1", "p/a/x/2", "p/b/y"] {
        trie.insert(t, named(t));
    }
    assert_eq!(trie.remove_matching("p/a/#"), 2);
    assert_eq!(trie.node_count(), 2, "root and the tail p/b/y");
    assert_eq!(trie.get("p/b/y"), Some(&named("p/b/y")));
}

#[test]
fn topic_trie_remove_matching_cuts_subtrees() {
    let mut trie = TopicTrie::new();
    for t in ["a", "a/b", "a/b/c", "a/c", "ab", "b/a"] {
        trie.insert(t, ());
    }
    assert_eq!(trie.remove_matching("a/b/#"), 2);
    assert_eq!(trie.remove_matching("a/b/#"), 0);
    assert_eq!(trie.remove_matching("+/a"), 1);
    assert_eq!(trie.node_count(), 4, "root, a, a/c, ab");
    assert_eq!(trie.remove_matching("a/#"), 2);
    assert_eq!(matched_topics(&trie, "#"), ["ab"]);
    assert_eq!(trie.len(), 1);
}

#[test]
fn deep_topics_do_not_overflow_the_stack() {
    // 65,535 bytes of '/' is a valid name and filter of 32,768 empty levels (MQTT-4.7.3-3).
    let deep = "/".repeat(65_535);
    let plus_deep = format!("{}#", "+/".repeat(32_767));
    let mut filters = FilterTrie::new();
    filters.insert(&deep, 1u8, ());
    filters.insert(&plus_deep, 2, ());
    filters.insert("#", 3, ());
    assert_eq!(matched_filters(&filters, &deep).len(), 3);
    assert_eq!(filters.remove(&deep, &1), Some(()));
    assert_eq!(filters.iter().count(), 2);
    drop(filters);

    let mut topics = TopicTrie::new();
    topics.insert(&deep, 1);
    topics.insert("a", 2);
    assert_eq!(topics.get(&deep), Some(&1));
    assert_eq!(matched_topics(&topics, "#").len(), 2);
    assert_eq!(matched_topics(&topics, &plus_deep).len(), 1);
    let mut other = TopicTrie::new();
    other.insert(&deep, 1);
    assert_eq!(topics.remove(&deep), Some(1));
    assert_eq!(topics.node_count(), 2);
    topics.insert(&deep, 1);
    assert_eq!(topics.remove_matching("/#"), 1);
    assert_eq!(topics.len(), 1);
    drop(other);

    let mut named_trie = TopicTrie::new();
    named_trie.insert(&deep, named(&deep));
    named_trie.insert("a", named("a"));
    assert_eq!(matched_named(&named_trie, "#").len(), 2);
    assert_eq!(matched_named(&named_trie, &plus_deep).len(), 1);
    assert_eq!(named_trie.remove(&deep), Some(named(&deep)));
    assert_eq!(named_trie.node_count(), 2);
}

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["", "a", "b", "$", "$a", "ab"]), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("topic names are non-empty", |t| !t.is_empty())
}

/// Deep, narrow topics (`site/s1/line/l1/dev/d7/temp`-like): long chains of inner nodes with one
/// child, where a few levels branch in two. Exercises a node's children growing from none to one to
/// many and shrinking back.
fn deep_topic() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["s", "s", "s", "d", ""]), 1..9)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("topic names are non-empty", |t| !t.is_empty())
}

/// Filters for [`deep_topic`] shapes: mostly literal, with `+` and `#` mixed in.
fn deep_filter() -> impl Strategy<Value = String> {
    let level = prop::sample::select(vec!["s", "s", "d", "+", ""]);
    (prop::collection::vec(level, 0..9), any::<bool>())
        .prop_map(|(mut levels, multi)| {
            if multi {
                levels.push("#");
            }
            levels.join("/")
        })
        .prop_filter("valid filters", |f| validate_topic_filter(f).is_ok())
}

fn filter() -> impl Strategy<Value = String> {
    let level = prop::sample::select(vec!["", "a", "b", "$", "$a", "+"]);
    (prop::collection::vec(level, 0..5), any::<bool>())
        .prop_map(|(mut levels, multi)| {
            if multi {
                levels.push("#");
            }
            levels.join("/")
        })
        .prop_filter("valid filters", |f| validate_topic_filter(f).is_ok())
}

/// Nodes a trie of values naming their topics has: the root, one per prefix that two or more
/// topics go through (or end at), and one leaf or tail per prefix of a single topic right below
/// such a prefix (or the root).
fn expected_named_nodes<'a>(topics: impl Iterator<Item = &'a str>) -> usize {
    let mut through: BTreeMap<&str, usize> = BTreeMap::new();
    for t in topics {
        for prefix in t.match_indices('/').map(|(i, _)| &t[..i]).chain([t]) {
            *through.entry(prefix).or_default() += 1;
        }
    }
    let parent_shared = |p: &str| p.rfind('/').is_none_or(|i| through.get(&p[..i]).is_some_and(|&n| n >= 2));
    1 + through.iter().filter(|&(p, &n)| n >= 2 || parent_shared(p)).count()
}

/// Nodes a minimal trie needs for these paths: the root and one per distinct level prefix.
fn expected_nodes<'a>(paths: impl Iterator<Item = &'a str>) -> usize {
    let prefixes: BTreeSet<&str> = paths.flat_map(|p| p.match_indices('/').map(move |(i, _)| &p[..i]).chain([p])).collect();
    prefixes.len() + 1
}

fn filter_node_paths(model: &BTreeMap<(String, u8), u32>) -> usize {
    let paths = model.keys().filter_map(|(f, _)| match f.strip_suffix('#') {
        Some("") => None,
        Some(prefix) => prefix.strip_suffix('/'),
        None => Some(f.as_str()),
    });
    expected_nodes(paths)
}

#[derive(Debug, Clone)]
enum Op {
    Insert(String, u8, u32),
    Remove(String, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let small = || {
        let level = prop::sample::select(vec!["a", "", "+"]);
        (prop::collection::vec(level, 0..3), any::<bool>()).prop_filter_map("valid filters", |(mut l, multi)| {
            if multi {
                l.push("#");
            }
            Some(l.join("/")).filter(|f| validate_topic_filter(f).is_ok())
        })
    };
    prop_oneof![
        (small(), 0u8..2, any::<u32>()).prop_map(|(f, k, v)| Op::Insert(f, k, v)),
        (small(), 0u8..2).prop_map(|(f, k)| Op::Remove(f, k)),
    ]
}

proptest! {
    #[test]
    fn filter_trie_matches_like_brute_force(
        subs in prop::collection::vec((filter(), 0u8..3), 0..40),
        topics in prop::collection::vec(topic(), 1..20),
    ) {
        let mut trie = FilterTrie::new();
        let mut model = BTreeSet::new();
        for (f, k) in &subs {
            trie.insert(f, *k, ());
            model.insert((f.clone(), *k));
        }
        prop_assert_eq!(trie.len(), model.len());
        for t in &topics {
            let want: Vec<(String, u8)> = model.iter().filter(|(f, _)| matches(f, t)).cloned().collect();
            prop_assert_eq!(matched_filters(&trie, t), want, "topic {}", t);
        }
    }

    #[test]
    fn filter_trie_insert_remove_keeps_len_and_prunes(ops in prop::collection::vec(op(), 0..80)) {
        let mut trie = FilterTrie::new();
        let mut model: BTreeMap<(String, u8), u32> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(f, k, v) => prop_assert_eq!(trie.insert(&f, k, v), model.insert((f, k), v)),
                Op::Remove(f, k) => prop_assert_eq!(trie.remove(&f, &k), model.remove(&(f, k))),
            }
            prop_assert_eq!(trie.len(), model.len());
            prop_assert_eq!(trie.node_count(), filter_node_paths(&model));
        }
        for ((f, k), v) in &model {
            prop_assert_eq!(trie.get(f, k), Some(v));
        }
        let mut listed: Vec<(String, u8, u32)> = trie.iter().map(|(f, k, v)| (f.to_owned(), *k, *v)).collect();
        listed.sort_unstable();
        let want: Vec<(String, u8, u32)> = model.iter().map(|((f, k), v)| (f.clone(), *k, *v)).collect();
        prop_assert_eq!(listed, want);
        for (f, k) in model.keys() {
            prop_assert!(trie.remove(f, k).is_some());
        }
        prop_assert!(trie.is_empty());
        prop_assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn topic_trie_matches_like_brute_force(
        topics in prop::collection::btree_set(topic(), 0..40),
        filters in prop::collection::vec(filter(), 1..20),
    ) {
        let mut trie = TopicTrie::new();
        for t in &topics {
            prop_assert_eq!(trie.insert(t, t.len()), None);
        }
        prop_assert_eq!(trie.len(), topics.len());
        prop_assert_eq!(trie.node_count(), expected_nodes(topics.iter().map(String::as_str)));
        for f in &filters {
            let want: Vec<String> = topics.iter().filter(|t| matches(f, t)).cloned().collect();
            prop_assert_eq!(matched_topics(&trie, f), want, "filter {}", f);
        }
    }

    #[test]
    fn named_topic_trie_matches_like_brute_force(
        topics in prop::collection::btree_set(topic(), 0..40),
        removals in prop::collection::vec(topic(), 0..10),
        filters in prop::collection::vec(filter(), 1..20),
    ) {
        let mut trie = TopicTrie::new();
        let mut model: BTreeSet<String> = topics.clone();
        for t in &topics {
            prop_assert_eq!(trie.insert(t, named(t)), None);
        }
        for t in &removals {
            prop_assert_eq!(trie.remove(t).is_some(), model.remove(t));
        }
        prop_assert_eq!(trie.len(), model.len());
        prop_assert_eq!(trie.node_count(), expected_named_nodes(model.iter().map(String::as_str)));
        for f in &filters {
            let want: Vec<String> = model.iter().filter(|t| matches(f, t)).cloned().collect();
            prop_assert_eq!(&matched_named(&trie, f), &want, "filter {}", f);
            prop_assert_eq!(matched_topics(&trie, f), want, "filter {}", f);
        }
    }

    #[test]
    fn deep_narrow_topic_trie_matches_like_brute_force(
        topics in prop::collection::btree_set(deep_topic(), 0..60),
        removals in prop::collection::vec(deep_topic(), 0..30),
        filters in prop::collection::vec(deep_filter(), 1..20),
    ) {
        let mut trie = TopicTrie::new();
        let mut model: BTreeSet<String> = topics.clone();
        for t in &topics {
            prop_assert_eq!(trie.insert(t, named(t)), None);
        }
        for t in &removals {
            prop_assert_eq!(trie.remove(t).is_some(), model.remove(t));
            prop_assert_eq!(trie.node_count(), expected_named_nodes(model.iter().map(String::as_str)));
        }
        prop_assert_eq!(trie.len(), model.len());
        for f in &filters {
            let want: Vec<String> = model.iter().filter(|t| matches(f, t)).cloned().collect();
            prop_assert_eq!(&matched_named(&trie, f), &want, "filter {}", f);
        }
        for t in &model {
            prop_assert!(trie.insert(t, named(t)).is_some(), "{} is still there", t);
        }
    }

    #[test]
    fn deep_narrow_filter_trie_matches_like_brute_force(
        subs in prop::collection::vec((deep_filter(), 0u8..3), 0..60),
        topics in prop::collection::vec(deep_topic(), 1..20),
    ) {
        let mut trie = FilterTrie::new();
        let mut model = BTreeSet::new();
        for (f, k) in &subs {
            trie.insert(f, *k, ());
            model.insert((f.clone(), *k));
        }
        for t in &topics {
            let want: Vec<(String, u8)> = model.iter().filter(|(f, _)| matches(f, t)).cloned().collect();
            prop_assert_eq!(matched_filters(&trie, t), want, "topic {}", t);
        }
    }

    #[test]
    fn topic_trie_remove_and_remove_matching_prune(
        topics in prop::collection::btree_set(topic(), 0..40),
        removals in prop::collection::vec((topic(), filter()), 0..10),
    ) {
        let mut trie = TopicTrie::new();
        let mut model: BTreeSet<String> = BTreeSet::new();
        for t in &topics {
            trie.insert(t, ());
            model.insert(t.clone());
        }
        for (t, f) in removals {
            prop_assert_eq!(trie.remove(&t).is_some(), model.remove(&t));
            let before = model.len();
            model.retain(|t| !matches(&f, t));
            prop_assert_eq!(trie.remove_matching(&f), before - model.len(), "filter {}", &f);
            prop_assert_eq!(trie.len(), model.len());
            prop_assert_eq!(trie.node_count(), expected_nodes(model.iter().map(String::as_str)));
            for t in &model {
                prop_assert!(trie.get(t).is_some());
            }
        }
    }

    #[test]
    fn named_topic_trie_remove_and_remove_matching_fold(
        topics in prop::collection::btree_set(prop_oneof![topic(), deep_topic()], 0..50),
        removals in prop::collection::vec((prop_oneof![topic(), deep_topic()], prop_oneof![filter(), deep_filter()]), 0..10),
        refills in prop::collection::vec(prop_oneof![topic(), deep_topic()], 0..10),
        queries in prop::collection::vec(prop_oneof![filter(), deep_filter()], 1..6),
    ) {
        let mut trie = TopicTrie::new();
        let mut model: BTreeSet<String> = BTreeSet::new();
        for t in &topics {
            trie.insert(t, named(t));
            model.insert(t.clone());
        }
        for ((t, f), again) in removals.iter().zip(refills.iter().chain(std::iter::repeat(&String::new()))) {
            prop_assert_eq!(trie.remove(t).is_some(), model.remove(t));
            let before = model.len();
            model.retain(|t| !matches(f, t));
            prop_assert_eq!(trie.remove_matching(f), before - model.len(), "filter {}", f);
            if !again.is_empty() {
                prop_assert_eq!(trie.insert(again, named(again)).is_some(), !model.insert(again.clone()));
            }
            prop_assert_eq!(trie.len(), model.len());
            prop_assert_eq!(trie.node_count(), expected_named_nodes(model.iter().map(String::as_str)));
            for t in &model {
                prop_assert_eq!(trie.get(t), Some(&named(t)));
            }
            prop_assert_eq!(matched_named(&trie, "#"), model.iter().filter(|t| !t.starts_with('$')).cloned().collect::<Vec<_>>());
            // Every kind of query still sees the folded and split shapes right.
            for q in &queries {
                let want: Vec<String> = model.iter().filter(|t| matches(q, t)).cloned().collect();
                prop_assert_eq!(&matched_named(&trie, q), &want, "filter {}", q);
                prop_assert_eq!(matched_topics(&trie, q), want, "filter {}", q);
            }
        }
    }
}
