//! Raw bytes on a socket: malformed and boundary input ends only the offending connection.

use std::net::SocketAddr;

use rumqttc::{Packet, QoS};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{client_v4, drive_v4, guard, next_publish_v4, start_broker, wait_v4};

/// CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client id "raw".
const CONNECT_V311: &[u8] = &[0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 3, b'r', b'a', b'w'];
/// CONNECT, MQTT 5, clean start, keep-alive 60, no properties, client id "raw5".
const CONNECT_V5: &[u8] = &[0x10, 17, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 4, b'r', b'a', b'w', b'5'];

async fn connect_raw(addr: SocketAddr, connect: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(connect).await.expect("write");
    let mut ack = vec![0u8; 64];
    let n = guard("CONNACK", s.read(&mut ack)).await.expect("read");
    ack.truncate(n);
    (s, ack)
}

/// Read until the server closes; returns everything it sent.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    guard("the server to close the connection", s.read_to_end(&mut all)).await.ok();
    all
}

#[tokio::test]
async fn malformed_publish_ends_only_its_own_connection_v311() {
    let (addr, _broker) = start_broker().await;
    let (bystander, mut by_el) = client_v4(addr, "bystander", true).await;
    bystander.subscribe("alive/#", QoS::AtMostOnce).await.expect("subscribe");
    wait_v4(&mut by_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;

    let (mut raw, ack) = connect_raw(addr, CONNECT_V311).await;
    assert_eq!(ack, [0x20, 2, 0, 0], "CONNACK accepted");
    // MQTT-3.3.1-4: a PUBLISH with both QoS bits set is malformed; 3.1.1 closes the connection.
    raw.write_all(&[0x36, 5, 0, 1, b'a', 0, 1]).await.expect("write");
    assert!(read_to_close(&mut raw).await.is_empty(), "3.1.1 closes without a reply");

    let (publisher, pub_el) = client_v4(addr, "still-here", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("alive/yes", QoS::AtMostOnce, false, "1").await.expect("publish");
    assert_eq!(next_publish_v4(&mut by_el).await.topic, "alive/yes");
}

#[tokio::test]
async fn malformed_packet_gets_disconnect_0x81_in_v5() {
    let (addr, _broker) = start_broker().await;
    let (mut raw, ack) = connect_raw(addr, CONNECT_V5).await;
    assert_eq!(&ack[..4], [0x20, ack[1], 0, 0], "CONNACK success");
    // A PUBLISH QoS 0 with the DUP flag set: MQTT-3.3.1-2, malformed.
    raw.write_all(&[0x38, 4, 0, 1, b'a', 0]).await.expect("write");
    let rest = read_to_close(&mut raw).await;
    assert_eq!(rest.first(), Some(&0xE0), "DISCONNECT before closing: {rest:?}");
    assert_eq!(rest.get(2), Some(&0x81), "reason Malformed Packet: {rest:?}");
}

#[tokio::test]
async fn first_packet_other_than_connect_closes_the_connection() {
    // MQTT-3.1.0-1: the first packet from the client must be CONNECT.
    let (addr, _broker) = start_broker().await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&[0xC0, 0]).await.expect("write PINGREQ");
    assert!(read_to_close(&mut s).await.is_empty());
}

#[tokio::test]
async fn unsupported_protocol_level_is_refused_with_connack_0x01() {
    // 3.1.1 MQTT-3.1.2-2: unsupported level → CONNACK return code 0x01, then close. (Levels above 5 get
    // the 5.0 answer 0x84 instead: broker_connect.)
    let (addr, _broker) = start_broker().await;
    let mut connect = CONNECT_V311.to_vec();
    connect[8] = 2;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&connect).await.expect("write");
    let rest = read_to_close(&mut s).await;
    assert_eq!(rest, [0x20, 2, 0, 1]);
}

#[tokio::test]
async fn reserved_connect_flag_closes_the_connection() {
    // MQTT-3.1.2-3: the reserved flag bit must be 0, else the connection is closed.
    let (addr, _broker) = start_broker().await;
    let mut connect = CONNECT_V311.to_vec();
    connect[9] |= 0x01;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&connect).await.expect("write");
    assert!(read_to_close(&mut s).await.is_empty());
}

#[tokio::test]
async fn many_publishes_in_one_write_are_all_routed() {
    // One read() can carry hundreds of PUBLISHes: all are parsed and routed, in order (MQTT-4.6.0-6).
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "bulk-sub", true).await;
    sub.subscribe("bulk/#", QoS::AtMostOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let (mut raw, _) = connect_raw(addr, CONNECT_V311).await;
    let mut burst = Vec::new();
    for i in 0..500u16 {
        let payload = i.to_be_bytes();
        burst.extend_from_slice(&[0x30, 2 + 6 + 2, 0, 6]);
        burst.extend_from_slice(b"bulk/x");
        burst.extend_from_slice(&payload);
    }
    raw.write_all(&burst).await.expect("write");
    for i in 0..500u16 {
        let p = next_publish_v4(&mut sub_el).await;
        assert_eq!(&p.payload[..], i.to_be_bytes());
    }
}
