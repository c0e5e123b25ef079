//! How connections end: an error CONNACK or DISCONNECT reaches a peer whose packets are still in
//! flight (half-close, then read and discard), a peer that stops reading is still subject to
//! keep-alive, takeover and shutdown, is disconnected after `write_timeout`, and shutdown finishes
//! in bounded time whatever the clients do. Stuck-peer tests time the broker on tokio's paused clock.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqscope::broker::codec::{
    self, Connect, LastWill, Packet, Properties,
    ProtocolVersion::{self, V5, V311},
    QoS, reason,
};
use mqscope::broker::{self, Broker, BrokerConfig};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::common::{guard, start_broker_with};
use crate::raw::{Raw, connect_packet, publish, qos};

/// `count` QoS 2 PUBLISHes of 4 KiB, encoded back to back: far more than socket buffers hold.
fn qos2_burst(version: ProtocolVersion, count: u16) -> BytesMut {
    let payload: &'static [u8] = Box::leak(vec![b'x'; 4096].into_boxed_slice());
    let mut burst = BytesMut::new();
    for pkid in 1..=count {
        codec::encode(&Packet::Publish(publish("burst", QoS::ExactlyOnce, pkid, payload)), version, &mut burst);
    }
    burst
}

#[tokio::test]
async fn a_client_over_receive_maximum_reads_disconnect_0x93_with_its_packets_still_in_flight() {
    // MQTT-3.3.4-7 / 5.0 §3.3.4: more unacknowledged QoS 2 PUBLISHes than our Receive Maximum → DISCONNECT 0x93.
    // 5.0 §4.13.1: the server closes the Network Connection after sending it; closing with the client's
    // 20 MB still unread would reset the connection, failing the client's write before it reads the reason.
    let config =
        BrokerConfig { sys_interval: None, receive_maximum: 10, close_timeout: Duration::from_secs(20), ..BrokerConfig::default() };
    let (addr, _b) = start_broker_with(config).await;
    let mut raw = Raw::connected(addr, V5, "pipeliner").await;
    let burst = qos2_burst(V5, 5000);
    let written = raw.stream.write_all(&burst).await;
    assert!(written.is_ok(), "the broker reset the connection instead of reading to its end: {written:?}");
    let rest = raw.until_closed().await;
    let pubrecs = rest.iter().filter(|p| matches!(p, Packet::PubRec(_))).count();
    assert_eq!(pubrecs, 10, "one PUBREC per message within the Receive Maximum: {:?}", &rest[..rest.len().min(12)]);
    assert!(matches!(rest.last(), Some(Packet::Disconnect(d)) if d.code == reason::RECEIVE_MAXIMUM_EXCEEDED), "{:?}", rest.last());
}

#[tokio::test]
async fn a_refusing_connack_reaches_a_client_that_pipelined_packets_after_connect() {
    // MQTT-3.1.3-8 (3.1.1): an empty client id with CleanSession=0 gets CONNACK 0x02, then the server closes
    // (MQTT-3.2.2-5); the client's pipelined PUBLISHes must not turn that close into a reset.
    let config = BrokerConfig { sys_interval: None, close_timeout: Duration::from_secs(20), ..BrokerConfig::default() };
    let (addr, _b) = start_broker_with(config).await;
    let mut raw = Raw::open(addr, V311).await;
    let mut bytes = BytesMut::new();
    codec::encode(&Packet::Connect(Box::new(connect_packet(V311, "", false, 60))), V311, &mut bytes);
    bytes.extend_from_slice(&qos2_burst(V311, 5000));
    let written = raw.stream.write_all(&bytes).await;
    assert!(written.is_ok(), "the broker reset the connection instead of reading to its end: {written:?}");
    let rest = raw.until_closed().await;
    assert!(
        matches!(rest.as_slice(), [Packet::ConnAck(a)] if a.code == reason::CONNACK_V3_IDENTIFIER_REJECTED),
        "CONNACK 0x02 and nothing else: {rest:?}"
    );
}

/// A broker whose `run` task the test holds, to see it end.
async fn start_held(config: BrokerConfig) -> (SocketAddr, Broker, JoinHandle<Result<(), broker::BrokerError>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let broker = Broker::new(config, None);
    let run = tokio::spawn(broker::run(listener, broker.clone(), std::future::pending::<()>()));
    (addr, broker, run)
}

/// A client with a will on `w/{id}` that subscribes to `big` and then never reads again, and a
/// publisher that sends it 25 MB: the broker's writes to it block. Returns (stuck, watcher of `w/#`)
/// with tokio's clock paused: the 25 MB cross loopback on the real clock, because a paused clock
/// jumps to the next timer whenever the runtime waits for the kernel, and that could be a hang guard.
async fn stuck_subscriber(addr: SocketAddr, version: ProtocolVersion, id: &str, keep_alive: u16) -> (Raw, Raw) {
    let mut watcher = Raw::connected(addr, V5, &format!("{id}-watcher")).await;
    watcher.subscribe(1, "w/#", qos(QoS::AtMostOnce)).await;
    let mut c: Connect = connect_packet(version, id, true, keep_alive);
    c.will = Some(LastWill {
        topic: format!("w/{id}"),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    });
    let (mut stuck, _) = Raw::connect(addr, c).await;
    stuck.subscribe(1, "big", qos(QoS::AtMostOnce)).await;
    let mut publisher = Raw::connected(addr, V311, &format!("{id}-publisher")).await;
    let payload: &'static [u8] = Box::leak(vec![b'y'; 64 * 1024].into_boxed_slice());
    let mut flood = BytesMut::new();
    for _ in 0..400 {
        codec::encode(&Packet::Publish(publish("big", QoS::AtMostOnce, 0, payload)), V311, &mut flood);
    }
    publisher.send_bytes(&flood).await;
    publisher.ping().await; // Everything routed.
    tokio::time::pause();
    (stuck, watcher)
}

#[tokio::test]
async fn keep_alive_is_enforced_while_writes_to_a_peer_that_does_not_read_are_blocked() {
    // MQTT-3.1.2-22 (5.0): 1.5 × Keep Alive without a packet → DISCONNECT 0x8D, will published, although
    // the session's writes to that peer have been blocked all along.
    let config = BrokerConfig { sys_interval: None, write_timeout: Duration::from_hours(1), ..BrokerConfig::default() };
    let (addr, _b, _run) = start_held(config).await;
    let start = Instant::now();
    let (_stuck, mut watcher) = stuck_subscriber(addr, V5, "stuck-ka", 4).await;
    assert_eq!(watcher.expect_publish().await.topic, "w/stuck-ka");
    let waited = start.elapsed();
    assert!((Duration::from_secs(6)..Duration::from_secs(7)).contains(&waited), "will after {waited:?}");
}

#[tokio::test]
async fn a_peer_that_takes_none_of_our_output_is_disconnected_after_the_write_timeout() {
    // No keep-alive (3.1.1 Keep Alive 0, MQTT-3.1.2-24 does not apply): only `write_timeout` ends it.
    let config = BrokerConfig { sys_interval: None, write_timeout: Duration::from_secs(10), ..BrokerConfig::default() };
    let (addr, broker, _run) = start_held(config).await;
    let (_stuck, mut watcher) = stuck_subscriber(addr, V311, "stuck-wt", 0).await;
    let start = Instant::now();
    assert_eq!(watcher.expect_publish().await.topic, "w/stuck-wt", "an unclean end publishes the will (MQTT-3.1.2-8)");
    let waited = start.elapsed();
    assert!((Duration::from_secs(9)..Duration::from_secs(11)).contains(&waited), "disconnected after {waited:?}");
    assert_eq!(broker.shared().stats.limits.count(broker::stats::Limit::WriteTimeout), 1);
}

#[tokio::test]
async fn takeover_ends_a_connection_whose_writes_are_blocked() {
    // MQTT-3.1.4-3 (5.0) / MQTT-3.1.4-2: the existing connection is closed; its task must see the takeover
    // although it is waiting for the peer to read. Observable: the broker serves one socket fewer.
    let config = BrokerConfig { sys_interval: None, write_timeout: Duration::from_hours(1), ..BrokerConfig::default() };
    let (addr, broker, _run) = start_held(config).await;
    let (_stuck, _watcher) = stuck_subscriber(addr, V5, "stuck-to", 60).await;
    let sockets = || broker.shared().stats.connections.load(Relaxed);
    assert_eq!(sockets(), 3, "watcher, stuck, publisher");
    let start = Instant::now();
    let _new = Raw::connected(addr, V5, "stuck-to").await;
    guard("the blocked connection to end", async {
        while sockets() != 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let waited = start.elapsed();
    assert!(waited <= BrokerConfig::default().close_timeout + Duration::from_millis(100), "ended after {waited:?}");
}

#[tokio::test]
async fn shutdown_finishes_within_its_bound_whatever_a_peer_that_does_not_read_does() {
    let config = BrokerConfig { sys_interval: None, write_timeout: Duration::from_hours(1), ..BrokerConfig::default() };
    let shutdown_timeout = config.shutdown_timeout;
    let (addr, broker, run) = start_held(config).await;
    let (_stuck, _watcher) = stuck_subscriber(addr, V5, "stuck-sd", 60).await;
    let start = Instant::now();
    broker.shutdown();
    guard("run to return", run).await.expect("run task").expect("run");
    let waited = start.elapsed();
    assert!(waited <= shutdown_timeout, "shutdown took {waited:?}");
}
