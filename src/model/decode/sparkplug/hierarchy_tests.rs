use std::time::{Duration, SystemTime};

use prost::Message as _;

use super::super::proto::{Metric, MetricValue, Payload};
use super::*;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn metric(name: Option<&str>, alias: u64, datatype: u32, value: MetricValue) -> Metric {
    Metric { name: name.map(str::to_owned), alias: Some(alias), datatype: Some(datatype), value: Some(value), ..Metric::default() }
}

fn payload(seq: Option<u64>, metrics: Vec<Metric>) -> Vec<u8> {
    Payload { timestamp: Some(1_700_000_000_000), seq, metrics, ..Payload::default() }.encode_to_vec()
}

/// An NBIRTH with `bdSeq` and two metrics with aliases.
fn nbirth(bd_seq: u64) -> Vec<u8> {
    payload(
        Some(0),
        vec![
            metric(Some("bdSeq"), 0, 8, MetricValue::LongValue(bd_seq)),
            metric(Some("Temperature"), 1, 10, MetricValue::DoubleValue(21.5)),
            metric(Some("Node Control/Rebirth"), 2, 11, MetricValue::BooleanValue(false)),
        ],
    )
}

/// An NDEATH: only the `bdSeq`, no sequence number.
fn ndeath(bd_seq: u64) -> Vec<u8> {
    payload(None, vec![metric(Some("bdSeq"), 0, 8, MetricValue::LongValue(bd_seq))])
}

/// A DATA message naming its metric by alias only.
fn data(seq: u64) -> Vec<u8> {
    payload(Some(seq), vec![metric(None, 1, 10, MetricValue::DoubleValue(22.0))])
}

fn dbirth(seq: u64) -> Vec<u8> {
    payload(
        Some(seq),
        vec![metric(Some("Speed"), 10, 3, MetricValue::IntValue(7)), metric(Some("Run"), 11, 11, MetricValue::BooleanValue(true))],
    )
}

fn feed(h: &mut Hierarchy, topic: &str, bytes: &[u8], secs: u64) {
    h.observe(topic, bytes, at(secs), false);
}

#[test]
fn a_birth_brings_a_node_online_and_data_by_alias_only_has_its_seq_read() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/plant/NBIRTH/edge1", &nbirth(3), 0);
    feed(&mut h, "spBv1.0/plant/NDATA/edge1", &data(1), 1);
    feed(&mut h, "spBv1.0/plant/NDATA/edge1", &data(2), 2);
    let node = h.node("plant", "edge1").expect("node");
    assert_eq!(node.presence, Presence::Online);
    assert_eq!(node.bd_seq, Some(3));
    assert_eq!(node.metrics, 3);
    assert_eq!((node.seq, node.gaps, node.messages), (Some(2), 0, 3));
    assert_eq!((node.birth_at, node.last_at), (Some(at(0)), Some(at(2))));
    assert_eq!((h.node_count(), h.device_count()), (1, 0));
}

#[test]
fn a_sequence_gap_is_counted_and_255_wraps_to_0() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(0), 0);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(1), 1);
    feed(&mut h, "spBv1.0/g/DDATA/e/d1", &data(4), 2);
    let node = h.node("g", "e").expect("node");
    assert_eq!(node.gaps, 1);
    assert_eq!(node.last_gap, Some(Gap { expected: 2, got: 4, at: at(2) }));
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(255), 3);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(0), 4);
    assert_eq!(h.node("g", "e").expect("node").gaps, 2, "255 after 4 is a gap; 0 after 255 is not");
    // Commands and deaths are not in the node's sequence.
    feed(&mut h, "spBv1.0/g/NCMD/e", &data(77), 5);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(1), 6);
    assert_eq!(h.node("g", "e").expect("node").gaps, 2);
    // A rebirth starts afresh; a message after thinned ones is taken as it comes.
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(1), 7);
    h.observe("spBv1.0/g/NDATA/e", &data(9), at(8), true);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(10), 9);
    let node = h.node("g", "e").expect("node");
    assert_eq!((node.gaps, node.seq), (2, Some(10)));
}

#[test]
fn an_ndeath_with_the_births_bdseq_takes_the_node_and_its_devices_offline() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(5), 0);
    feed(&mut h, "spBv1.0/g/DBIRTH/e/pump", &dbirth(1), 1);
    feed(&mut h, "spBv1.0/g/DBIRTH/e/valve", &dbirth(2), 1);
    assert_eq!(h.node("g", "e").expect("node").devices_online(), 2);
    feed(&mut h, "spBv1.0/g/NDEATH/e", &ndeath(5), 10);
    let node = h.node("g", "e").expect("node");
    assert_eq!((node.presence, node.death_at, node.stale_death), (Presence::Offline, Some(at(10)), None));
    for d in node.devices.values() {
        assert_eq!((d.presence, d.death_at), (Presence::Offline, Some(at(10))));
    }
}

#[test]
fn an_ndeath_with_another_bdseq_is_stale_and_takes_nothing_offline() {
    // The node reconnected (bdSeq 6) before the broker published the old session's will (bdSeq 5).
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(6), 0);
    feed(&mut h, "spBv1.0/g/DBIRTH/e/pump", &dbirth(1), 1);
    feed(&mut h, "spBv1.0/g/NDEATH/e", &ndeath(5), 2);
    let node = h.node("g", "e").expect("node");
    assert_eq!(node.presence, Presence::Online);
    assert_eq!(node.stale_death, Some(StaleDeath { bd_seq: 5, birth_bd_seq: 6, at: at(2) }));
    assert_eq!(node.devices_online(), 1);
    // The NDEATH of the current session counts, and the stale note goes.
    feed(&mut h, "spBv1.0/g/NDEATH/e", &ndeath(6), 3);
    let node = h.node("g", "e").expect("node");
    assert_eq!((node.presence, node.stale_death), (Presence::Offline, None));
    feed(&mut h, "spBv1.0/g/NDEATH/e", &ndeath(5), 4);
    assert!(h.node("g", "e").expect("node").stale_death.is_some());
    // The next NBIRTH is a new session: the stale note goes.
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(7), 5);
    assert_eq!(h.node("g", "e").expect("node").stale_death, None);
}

#[test]
fn dbirth_and_ddeath_set_a_device_and_a_rebirth_waits_for_its_dbirth() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(0), 0);
    feed(&mut h, "spBv1.0/g/DBIRTH/e/pump", &dbirth(1), 1);
    let pump = |h: &Hierarchy| h.node("g", "e").and_then(|n| n.devices.get("pump")).cloned().expect("pump");
    assert_eq!((pump(&h).presence, pump(&h).metrics, pump(&h).birth_at), (Presence::Online, 2, Some(at(1))));
    feed(&mut h, "spBv1.0/g/DDEATH/e/pump", &payload(Some(2), Vec::new()), 2);
    assert_eq!((pump(&h).presence, pump(&h).death_at), (Presence::Offline, Some(at(2))));
    assert_eq!(h.node("g", "e").expect("node").presence, Presence::Online, "a device's death is not its node's");
    feed(&mut h, "spBv1.0/g/DBIRTH/e/pump", &dbirth(3), 3);
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(1), 4);
    assert_eq!(pump(&h).presence, Presence::Offline, "born again with its node only by its own DBIRTH");
    feed(&mut h, "spBv1.0/g/DDATA/e/other", &data(1), 5);
    let other = h.node("g", "e").and_then(|n| n.devices.get("other")).cloned().expect("other");
    assert_eq!((other.presence, other.messages), (Presence::Unknown, 1), "DATA without a DBIRTH: state unknown");
    assert_eq!(pump(&h).messages, 3);
    assert_eq!(h.device_count(), 2);
    assert_eq!(h.node("g", "e").expect("node").gaps, 0);
}

#[test]
fn host_application_state_in_both_spellings_and_stale_timestamps_ignored() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/STATE/scada", br#"{"online":true,"timestamp":1700000000500}"#, 0);
    feed(&mut h, "spBv1.0/STATE/legacy", b"OFFLINE", 1);
    feed(&mut h, "spBv1.0/STATE/scada", br#"{"online":false,"timestamp":1700000000100}"#, 2);
    let hosts: Vec<(&str, Option<bool>, u64)> = h.hosts().map(|(id, s)| (id, s.online, s.stale)).collect();
    assert_eq!(hosts, [("legacy", Some(false), 0), ("scada", Some(true), 1)], "an older STATE is ignored");
    feed(&mut h, "spBv1.0/STATE/scada", br#"{"online":false,"timestamp":1700000009000}"#, 3);
    let scada = h.hosts().find(|(id, _)| *id == "scada").map(|(_, s)| s.clone()).expect("scada");
    assert_eq!((scada.online, scada.timestamp, scada.at), (Some(false), Some(1_700_000_009_000), at(3)));
    feed(&mut h, "spBv1.0/STATE/odd", b"maybe", 4);
    assert_eq!(h.malformed(), 1);
}

#[test]
fn bad_payloads_and_foreign_topics_change_nothing_but_counters() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &[0x0a, 0xff], 0);
    assert_eq!((h.malformed(), h.node_count()), (1, 0));
    for topic in ["spBv1.0/g/NDATA", "spBv1.0/g/NDATA/e/extra", "spBv1.0/g/DDATA/e", "spBv1.0/g/XDATA/e", "other/g/NDATA/e"] {
        feed(&mut h, topic, &data(1), 1);
    }
    assert!(h.is_empty(), "{h:?}");
    // DATA that does not frame has no seq: it counts as a message, never as a gap.
    feed(&mut h, "spBv1.0/g/NDATA/e", &[0x18], 2);
    feed(&mut h, "spBv1.0/g/NDATA/e", &[0x18, 0x05], 3);
    let node = h.node("g", "e").expect("node");
    assert_eq!((node.messages, node.seq, node.gaps, node.presence), (2, Some(5), 0, Presence::Unknown));
}

#[test]
fn topics_name_their_node_and_device() {
    assert_eq!(node_of("spBv1.0/g/NDATA/e"), Some(("g", "e", None)));
    assert_eq!(node_of("spBv1.0/g/DCMD/e/d"), Some(("g", "e", Some("d"))));
    assert_eq!(node_of("spBv1.0/STATE/host"), None);
    assert_eq!(node_of("spBv1.0/g/NDATA/e/d"), None);
    let path = |p: &str| crate::model::payload::JsonPath::parse(p).expect("path");
    assert_eq!(series_name("spBv1.0/g/DDATA/e/d", &path(r#"metrics["Process/Temp"].value"#)).as_deref(), Some("e/d: Process/Temp"));
    assert_eq!(series_name("spBv1.0/g/NDATA/e", &path("metrics.Temp.value")).as_deref(), Some("e: Temp"));
    assert_eq!(series_name("spBv1.0/g/NDATA/e", &path("metrics.Temp.timestamp")), None);
    assert_eq!(series_name("spBv1.0/g/NDATA/e", &path("seq")), None);
}

#[test]
fn nodes_and_devices_beyond_the_bounds_are_counted_not_kept() {
    let mut h = Hierarchy::default();
    for i in 0..=MAX_NODES {
        feed(&mut h, &format!("spBv1.0/g{}/NDATA/e{i}", i % 7), &data(0), 0);
    }
    assert_eq!((h.node_count(), h.untracked()), (MAX_NODES, 1));
    let before = h.generation();
    feed(&mut h, "spBv1.0/g0/NDATA/e0", &data(1), 1);
    assert_eq!(h.generation(), before, "a known node adds no row");
    for i in 0..=MAX_DEVICES {
        feed(&mut h, &format!("spBv1.0/g0/DDATA/e0/d{i}"), &data(2), 2);
    }
    assert_eq!((h.device_count(), h.untracked()), (MAX_DEVICES, 2));
}

#[test]
fn the_store_feeds_each_connections_hierarchy_with_messages_and_coalesced_runs() {
    use crate::model::{Coalesced, ConnId, Message, QoS, Store};
    let msg = |topic: &str, payload: Vec<u8>, secs| Message::new(topic, payload, QoS::AtMostOnce, false, at(secs));
    let mut store = Store::default();
    store.insert_messages(
        ConnId::LOCAL,
        [msg("spBv1.0/g/NBIRTH/e", nbirth(1), 0), msg("spBv1.0/g/NDATA/e", data(1), 1), msg("home/t", b"1".to_vec(), 1)],
    );
    assert_eq!(store.conns[0].sparkplug.node("g", "e").map(|n| (n.presence, n.messages)), Some((Presence::Online, 2)));
    // The window fell behind: runs come in the order their topics first came (the NDEATH's topic
    // first, though it came last), and DATA was thinned, so its seq cannot be checked.
    let death = Coalesced::new(msg("spBv1.0/g/NDEATH/e", ndeath(1), 5));
    let mut run = Coalesced::new(msg("spBv1.0/g/NDATA/e", data(7), 4));
    run.thinned = 3;
    store.insert_coalesced(ConnId::LOCAL, [death, run]);
    let node = store.conns[0].sparkplug.node("g", "e").expect("node");
    assert_eq!((node.presence, node.seq, node.gaps), (Presence::Offline, Some(7), 0));
}

#[test]
fn an_out_of_spec_seq_is_a_gap_never_an_overflow() {
    // Sparkplug's seq is 0..=255; any u64 can come off the wire, u64::MAX included.
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(0), 0);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(u64::MAX), 1);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(u64::MAX), 2);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(0), 3);
    assert_eq!(h.node("g", "e").expect("node").gaps, 2, "u64::MAX after 0 and after itself is out of sequence");
    assert_eq!(crate::model::decode::sparkplug::seq_gap(Some(u64::MAX), 0), None, "taken modulo 256: 255 → 0");
}

#[test]
fn losing_the_explorers_connection_makes_every_node_unknown_and_restarts_seq_checks() {
    let mut h = Hierarchy::default();
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(0), 0);
    feed(&mut h, "spBv1.0/g/DBIRTH/e/d1", &dbirth(1), 1);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(2), 2);
    h.connection_lost();
    let node = h.node("g", "e").expect("node");
    assert_eq!(node.presence, Presence::Unknown, "it may have died meanwhile");
    assert_eq!(node.devices["d1"].presence, Presence::Unknown);
    // Messages 3..=9 went by while the explorer was away: not the node's gap.
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(10), 10);
    feed(&mut h, "spBv1.0/g/NDATA/e", &data(11), 11);
    assert_eq!(h.node("g", "e").expect("node").gaps, 0);
    feed(&mut h, "spBv1.0/g/NBIRTH/e", &nbirth(1), 12);
    assert_eq!(h.node("g", "e").expect("node").presence, Presence::Online);
}

#[test]
fn ids_longer_than_the_bound_are_counted_not_copied() {
    let mut h = Hierarchy::default();
    let long = "x".repeat(MAX_ID_LEN + 1);
    feed(&mut h, &format!("spBv1.0/g/NDATA/{long}"), &data(0), 0);
    feed(&mut h, &format!("spBv1.0/g/DDATA/e/{long}"), &data(0), 1);
    feed(&mut h, &format!("spBv1.0/STATE/{long}"), b"ONLINE", 2);
    assert_eq!((h.node_count(), h.device_count(), h.hosts().count(), h.untracked()), (0, 0, 0, 3));
    feed(&mut h, &format!("spBv1.0/g/NDATA/{}", "x".repeat(MAX_ID_LEN)), &data(0), 3);
    assert_eq!(h.node_count(), 1, "an id of exactly the bound is kept");
}
