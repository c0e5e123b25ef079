//! Persistence (`--data-dir`): retained messages and persistent sessions survive a clean restart and
//! a `kill -9`; a damaged journal is reported and what is intact is loaded. Real sockets, real files.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use mqscope::broker::codec::{
    Connect, Disconnect, LastWill, Packet, Properties, ProtocolVersion,
    ProtocolVersion::{V5, V311},
    Publish, QoS,
};
use mqscope::broker::store::{JOURNAL, PersistConfig};
use mqscope::broker::{self, Broker, BrokerConfig};
use tokio::task::JoinHandle;

use crate::common::{guard, until};
use crate::raw::{Raw, ack, publish, qos};

/// A broker on a free port keeping its state in a data directory.
struct Running {
    addr: SocketAddr,
    broker: Broker,
    task: JoinHandle<Result<(), broker::BrokerError>>,
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqscope-persist-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn persistent_config(dir: &Path) -> BrokerConfig {
    BrokerConfig { sys_interval: None, persistence: Some(PersistConfig::new(dir)), ..BrokerConfig::default() }
}

async fn start(dir: &Path) -> Running {
    let config = persistent_config(dir);
    let broker = tokio::task::spawn_blocking(move || Broker::open(config, None)).await.expect("join").expect("open the data directory");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(broker::run(listener, broker.clone(), std::future::pending::<()>()));
    Running { addr, broker, task }
}

/// Clean stop: shutdown, every connection closed, the journal synced and the directory released.
async fn stop(r: Running) {
    r.broker.shutdown();
    guard("the broker to stop", r.task).await.expect("join").expect("run");
}

/// A CONNECT that keeps its session (3.1.1 CleanSession=0; 5.0 Clean Start 0, expiry 1 hour).
fn persistent(version: ProtocolVersion, id: &str) -> Connect {
    let mut c = crate::raw::connect_packet(version, id, false, 60);
    if version == V5 {
        c.properties.session_expiry_interval = Some(3600);
    }
    c
}

fn publish_bytes(topic: &str, q: QoS, pkid: u16, payload: impl Into<Bytes>, retain: bool) -> Publish {
    Publish { dup: false, qos: q, retain, topic: topic.to_owned(), pkid, payload: payload.into(), properties: Properties::default() }
}

/// Publish and wait for the acknowledgement (QoS 1: PUBACK; QoS 0: a ping round trip).
async fn publish_acked(p: &mut Raw, publish: Publish) {
    let q = publish.qos;
    p.send(&Packet::Publish(publish)).await;
    match q {
        QoS::AtLeastOnce => assert!(matches!(p.expect("PUBACK").await, Packet::PubAck(_))),
        _ => p.ping().await,
    }
}

async fn disconnect(mut c: Raw) {
    c.send(&Packet::Disconnect(Disconnect::default())).await;
    c.until_closed().await;
}

#[tokio::test]
async fn retained_messages_survive_a_restart_with_their_properties_and_clears() {
    let dir = fresh_dir("retained");
    let r = start(&dir).await;
    let mut p = Raw::connected(r.addr, V5, "setter").await;
    let mut with_props = publish_bytes("home/a", QoS::AtLeastOnce, 1, "one", true);
    with_props.properties.content_type = Some("text/plain".into());
    with_props.properties.user_properties = vec![("k".into(), "v".into())];
    publish_acked(&mut p, with_props).await;
    publish_acked(&mut p, publish_bytes("home/b", QoS::AtMostOnce, 0, "two", true)).await;
    publish_acked(&mut p, publish_bytes("home/c", QoS::AtLeastOnce, 2, "gone", true)).await;
    // MQTT-3.3.1-6 / -7: an empty retained payload clears the topic; the clear is persisted too.
    publish_acked(&mut p, publish_bytes("home/c", QoS::AtLeastOnce, 3, "", true)).await;
    disconnect(p).await;
    stop(r).await;

    let r = start(&dir).await;
    assert_eq!(r.broker.shared().state.lock().expect("state").retained.len(), 2);
    let mut s = Raw::connected(r.addr, V5, "reader").await;
    s.subscribe(1, "home/#", qos(QoS::AtLeastOnce)).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let m = s.expect_publish().await;
        if m.qos == QoS::AtLeastOnce {
            s.send(&Packet::PubAck(ack(m.pkid))).await;
        }
        got.push(m);
    }
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    // MQTT-3.3.1-9: retained messages sent for a new subscription carry RETAIN=1.
    assert_eq!((got[0].topic.as_str(), &got[0].payload[..], got[0].retain), ("home/a", &b"one"[..], true));
    assert_eq!(got[0].properties.content_type.as_deref(), Some("text/plain"), "MQTT-3.3.2-20: content type kept");
    assert_eq!(got[0].properties.user_properties, [("k".to_owned(), "v".to_owned())], "MQTT-3.3.2-18: user properties kept");
    assert_eq!((got[1].topic.as_str(), &got[1].payload[..]), ("home/b", &b"two"[..]));
    s.expect_nothing().await;
    disconnect(s).await;
    stop(r).await;
}

#[tokio::test]
async fn a_persistent_session_keeps_its_subscriptions_queue_and_unacknowledged_messages_across_a_restart() {
    // MQTT-3.1.2-4/-5 (3.1.1), MQTT-3.1.2-23 (5.0): the session (subscriptions, queued QoS 1/2 messages,
    // unacknowledged ones) lasts while the Session Expiry Interval runs, here across a restart of the broker.
    let dir = fresh_dir("session");
    let r = start(&dir).await;
    for version in [V5, V311] {
        let id = format!("durable-{version:?}");
        let (mut s, _) = Raw::connect(r.addr, persistent(version, &id)).await;
        s.subscribe(1, &format!("jobs/{version:?}/#"), qos(QoS::AtLeastOnce)).await;
        disconnect(s).await;
    }
    let mut p = Raw::connected(r.addr, V5, "producer").await;
    for version in [V5, V311] {
        for (i, payload) in ["1", "2", "3"].iter().enumerate() {
            let pkid = u16::try_from(i + 1).expect("small");
            publish_acked(&mut p, publish_bytes(&format!("jobs/{version:?}/{payload}"), QoS::AtLeastOnce, pkid, *payload, false)).await;
        }
    }
    // The V5 session takes the first message and does not acknowledge it: it is in flight at the restart.
    let (mut s, ack_) = Raw::connect(r.addr, persistent(V5, "durable-V5")).await;
    assert!(ack_.session_present);
    let first = s.expect_publish().await;
    assert_eq!(&first.payload[..], b"1");
    drop(s);
    disconnect(p).await;
    until("the V5 session offline", || {
        r.broker.shared().state.lock().is_ok_and(|st| st.sessions.get("durable-V5").is_some_and(|c| c.lock().connection.is_none()))
    })
    .await;
    stop(r).await;

    let r = start(&dir).await;
    for version in [V5, V311] {
        let (mut s, ack_) = Raw::connect(r.addr, persistent(version, &format!("durable-{version:?}"))).await;
        assert!(ack_.session_present, "MQTT-3.2.2-2: Session Present after the restart ({version:?})");
        let mut payloads = Vec::new();
        for _ in 0..3 {
            let m = s.expect_publish().await;
            if version == V5 && &m.payload[..] == b"1" {
                // MQTT-4.4.0-1: resent with its original packet id and DUP=1 (MQTT-3.3.1-1).
                assert_eq!((m.pkid, m.dup), (first.pkid, true));
            }
            s.send(&Packet::PubAck(ack(m.pkid))).await;
            payloads.push(String::from_utf8_lossy(&m.payload).into_owned());
        }
        assert_eq!(payloads, ["1", "2", "3"], "MQTT-4.6.0-1: in order ({version:?})");
        // The subscription itself came back: a new message reaches the session without a SUBSCRIBE.
        let mut p = Raw::connected(r.addr, V5, "producer-2").await;
        publish_acked(&mut p, publish_bytes(&format!("jobs/{version:?}/4"), QoS::AtLeastOnce, 9, "4", false)).await;
        let m = s.expect_publish().await;
        assert_eq!(&m.payload[..], b"4");
        s.send(&Packet::PubAck(ack(m.pkid))).await;
        disconnect(p).await;
        disconnect(s).await;
    }
    stop(r).await;
    // Acknowledged now: nothing is resent after one more restart.
    let r = start(&dir).await;
    let (mut s, ack_) = Raw::connect(r.addr, persistent(V311, "durable-V311")).await;
    assert!(ack_.session_present);
    s.expect_nothing().await;
    disconnect(s).await;
    stop(r).await;
}

#[tokio::test]
async fn qos2_state_survives_a_restart_in_both_directions() {
    let dir = fresh_dir("qos2");
    let run = start(&dir).await;
    // Outgoing: the subscriber answered PUBREC; the broker owes PUBREL (MQTT-4.3.3-3 / MQTT-4.4.0-1).
    let (mut s, _) = Raw::connect(run.addr, persistent(V311, "q2-sub")).await;
    s.subscribe(1, "exact/#", qos(QoS::ExactlyOnce)).await;
    // Incoming: the publisher got PUBREC for packet id 7 and has not sent PUBREL yet.
    let (mut p, _) = Raw::connect(run.addr, persistent(V311, "q2-pub")).await;
    p.send(&Packet::Publish(publish("exact/in", QoS::ExactlyOnce, 7, b"only once"))).await;
    assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(rec) if rec.pkid == 7));
    let sent = s.expect_publish().await;
    assert_eq!(&sent.payload[..], b"only once");
    s.send(&Packet::PubRec(ack(sent.pkid))).await;
    assert!(matches!(s.expect("PUBREL").await, Packet::PubRel(rel) if rel.pkid == sent.pkid));
    drop(s);
    drop(p);
    until("both sessions offline", || {
        run.broker.shared().state.lock().is_ok_and(|st| st.sessions.values().all(|c| c.lock().connection.is_none()))
    })
    .await;
    stop(run).await;

    let run = start(&dir).await;
    let (mut s, ack_) = Raw::connect(run.addr, persistent(V311, "q2-sub")).await;
    assert!(ack_.session_present);
    assert!(matches!(s.expect("PUBREL again").await, Packet::PubRel(rel) if rel.pkid == sent.pkid), "MQTT-4.3.3-6: PUBREL, not PUBLISH");
    s.send(&Packet::PubComp(ack(sent.pkid))).await;
    let (mut p, _) = Raw::connect(run.addr, persistent(V311, "q2-pub")).await;
    let mut again = publish("exact/in", QoS::ExactlyOnce, 7, b"only once");
    again.dup = true;
    p.send(&Packet::Publish(again)).await;
    assert!(matches!(p.expect("PUBREC").await, Packet::PubRec(rec) if rec.pkid == 7));
    p.send(&Packet::PubRel(ack(7))).await;
    assert!(matches!(p.expect("PUBCOMP").await, Packet::PubComp(c) if c.pkid == 7 && c.code == 0), "the packet id was still known");
    // MQTT-4.3.3-10 / MQTT-4.3.3-2: the resent PUBLISH was not delivered a second time.
    s.expect_nothing().await;
    disconnect(p).await;
    disconnect(s).await;
    stop(run).await;
}

#[tokio::test]
async fn a_message_handed_to_another_shared_member_is_not_owed_to_the_first_after_a_restart() {
    // 5.0 §4.8.2: the unacknowledged QoS 1 copy of a member that lost its connection goes to another
    // member; the journal says so, so that neither gets it again after a restart.
    let dir = fresh_dir("shared");
    let r = start(&dir).await;
    let (mut a, _) = Raw::connect(r.addr, persistent(V5, "share-a")).await;
    a.subscribe(1, "$share/g/job", qos(QoS::AtLeastOnce)).await;
    let (mut b, _) = Raw::connect(r.addr, persistent(V5, "share-b")).await;
    b.subscribe(1, "$share/g/job", qos(QoS::AtLeastOnce)).await;
    let mut boss = Raw::connected(r.addr, V5, "boss").await;
    publish_acked(&mut boss, publish_bytes("job", QoS::AtLeastOnce, 1, "work", false)).await;
    // Members in client id order, round robin from the first: share-a gets it, and leaves without PUBACK.
    assert_eq!(&a.expect_publish().await.payload[..], b"work");
    drop(a);
    let moved = b.expect_publish().await;
    assert_eq!(&moved.payload[..], b"work");
    b.send(&Packet::PubAck(ack(moved.pkid))).await;
    disconnect(boss).await;
    disconnect(b).await;
    until("both members offline", || {
        r.broker.shared().state.lock().is_ok_and(|st| st.sessions.values().all(|c| c.lock().connection.is_none()))
    })
    .await;
    stop(r).await;
    let r = start(&dir).await;
    for id in ["share-a", "share-b"] {
        let (mut c, ack_) = Raw::connect(r.addr, persistent(V5, id)).await;
        assert!(ack_.session_present);
        c.expect_nothing().await;
        disconnect(c).await;
    }
    stop(r).await;
}

#[tokio::test]
async fn a_will_waiting_for_its_delay_and_the_session_expiry_go_on_after_a_restart() {
    // 5.0 §3.1.3.2.2: a will with a Will Delay Interval waits; MQTT-3.1.2-8: it is published when the
    // connection closed without DISCONNECT. The wait goes on across a restart of the broker.
    let dir = fresh_dir("will");
    let r = start(&dir).await;
    let mut c = persistent(V5, "leaving");
    c.properties.session_expiry_interval = Some(2);
    let props = Properties { will_delay_interval: Some(1), ..Properties::default() };
    c.will = Some(LastWill {
        topic: "wills/leaving".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: props,
    });
    let (w, ack_) = Raw::connect(r.addr, c).await;
    assert_eq!(ack_.code, 0);
    drop(w);
    until("the session offline", || {
        r.broker.shared().state.lock().is_ok_and(|st| st.sessions.get("leaving").is_some_and(|c| c.lock().connection.is_none()))
    })
    .await;
    stop(r).await;
    let r = start(&dir).await;
    // The will is retained: it is in the store once published, after the restart.
    until("the will published after the restart", || r.broker.shared().state.lock().is_ok_and(|st| st.retained.len() == 1)).await;
    // MQTT-3.1.2-23 / 5.0 §3.1.2.11.2: the session expires 2 s after its connection closed.
    until("the session expired", || r.broker.shared().state.lock().is_ok_and(|st| st.sessions.is_empty())).await;
    stop(r).await;
    let r = start(&dir).await;
    let counts = r.broker.shared().state.lock().map(|st| (st.sessions.len(), st.retained.len())).expect("state");
    assert_eq!(counts, (0, 1), "the expiry and the published will were journaled");
    stop(r).await;
}

#[tokio::test]
async fn a_damaged_journal_is_reported_and_everything_intact_is_loaded() {
    let dir = fresh_dir("damage");
    let r = start(&dir).await;
    let mut p = Raw::connected(r.addr, V5, "setter").await;
    for i in 1..=5u16 {
        publish_acked(&mut p, publish_bytes(&format!("d/{i}"), QoS::AtLeastOnce, i, format!("value-{i}"), true)).await;
    }
    disconnect(p).await;
    stop(r).await;
    let path = dir.join(JOURNAL);
    let mut data = std::fs::read(&path).expect("journal");
    // A flipped bit inside the third record's payload, and the last record cut short (a torn write).
    let at = data.windows(7).position(|w| w == b"value-3").expect("third payload in the journal");
    data[at] ^= 0x20;
    data.truncate(data.len() - 3);
    std::fs::write(&path, &data).expect("write");

    let r = start(&dir).await;
    let topics: BTreeSet<String> = {
        let st = r.broker.shared().state.lock().expect("state");
        ["d/1", "d/2", "d/3", "d/4", "d/5"].into_iter().filter(|t| st.retained.get(t).is_some()).map(str::to_owned).collect()
    };
    assert_eq!(topics, BTreeSet::from(["d/1".to_owned(), "d/2".into(), "d/4".into()]), "the damaged and the torn records only are lost");
    let counters = r.broker.shared().store.as_ref().expect("store").counters();
    assert_eq!(counters.lost_records.load(Relaxed), 2, "one damaged span, one torn tail");
    assert!(counters.lost_bytes.load(Relaxed) > 0);
    let sys = mqscope::broker::stats::sys_entries(r.broker.shared());
    assert!(sys.contains(&("store/lost at load/records", "2".to_owned())), "also in $SYS/broker/store/...: {sys:?}");
    stop(r).await;
    // The journal was rewritten from what was intact: no damage left, nothing more lost.
    let r = start(&dir).await;
    let counters = r.broker.shared().store.as_ref().expect("store").counters();
    assert_eq!((counters.lost_records.load(Relaxed), counters.lost_bytes.load(Relaxed)), (0, 0));
    assert_eq!(r.broker.shared().state.lock().expect("state").retained.len(), 3);
    stop(r).await;
}

#[tokio::test]
async fn a_second_broker_cannot_use_the_same_data_directory() {
    let dir = fresh_dir("lock");
    let r = start(&dir).await;
    let config = persistent_config(&dir);
    let second = tokio::task::spawn_blocking(move || Broker::open(config, None)).await.expect("join");
    assert!(second.is_err(), "the directory is locked while a broker uses it");
    stop(r).await;
    let again = start(&dir).await;
    stop(again).await;
}

/// `mqscope broker` as a child process on `port`, persisting in `dir`.
fn spawn_broker(port: u16, dir: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mqscope"))
        .args(["broker", "--port", &port.to_string(), "--sys-interval", "0", "--data-dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mqscope broker")
}

/// Connect to a broker process that is starting: retry until it listens.
async fn connect_when_up(addr: SocketAddr, connect: Connect) -> (Raw, mqscope::broker::codec::ConnAck) {
    guard("the broker process to listen", async {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    Raw::connect(addr, connect).await
}

#[tokio::test]
async fn kill_9_during_a_qos1_flood_loses_no_acknowledged_message() {
    let dir = fresh_dir("kill9");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut child = spawn_broker(port, &dir);
    let (mut s, _) = connect_when_up(addr, persistent(V5, "sink")).await;
    s.subscribe(1, "flood/#", qos(QoS::AtLeastOnce)).await;
    disconnect(s).await;

    // Batches of 100 pipelined QoS 1 PUBLISHes; the broker is killed right after a batch is sent,
    // while it is still routing, journaling and acknowledging it.
    let mut p = Raw::connected(addr, V5, "flood").await;
    let mut acked = BTreeSet::new();
    let mut n = 0u32;
    'flood: for batch in 0..20 {
        for i in 0..100u16 {
            n += 1;
            p.send(&Packet::Publish(publish_bytes(&format!("flood/{}", n % 7), QoS::AtLeastOnce, i + 1, n.to_string(), false))).await;
        }
        if batch == 10 {
            child.start_kill().expect("kill -9");
        }
        let base = n - 100;
        for _ in 0..100 {
            match p.recv().await {
                Some(Packet::PubAck(a)) => {
                    acked.insert(base + u32::from(a.pkid));
                }
                Some(other) => panic!("unexpected {other:?}"),
                None => break 'flood,
            }
        }
    }
    guard("the killed broker to exit", child.wait()).await.expect("wait");
    assert!(acked.len() >= 1000, "the first ten batches were acknowledged before the kill: {}", acked.len());

    let mut child = spawn_broker(port, &dir);
    let (mut s, ack_) = connect_when_up(addr, persistent(V5, "sink")).await;
    assert!(ack_.session_present);
    let mut received = BTreeSet::new();
    while !acked.is_subset(&received) {
        let m = s.expect_publish().await;
        s.send(&Packet::PubAck(ack(m.pkid))).await;
        received.insert(std::str::from_utf8(&m.payload).expect("utf-8").parse::<u32>().expect("number"));
    }
    assert!(acked.is_subset(&received), "every acknowledged message was delivered after the restart");
    disconnect(s).await;
    child.start_kill().ok();
    child.wait().await.ok();
}
