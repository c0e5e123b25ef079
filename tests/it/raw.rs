//! A byte-level MQTT peer for tests: packets are encoded with our codec (or written as raw bytes),
//! and what the broker sends back is decoded strictly. Every wait has a hang guard.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use mqscope::broker::codec::{
    self, ConnAck, Connect, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS, Subscribe, SubscriptionOptions,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::guard;

/// One raw connection.
pub struct Raw {
    pub stream: TcpStream,
    pub version: ProtocolVersion,
    buf: BytesMut,
}

/// A CONNECT with these basics and no will, user name or properties.
pub fn connect_packet(version: ProtocolVersion, client_id: &str, clean_start: bool, keep_alive: u16) -> Connect {
    Connect {
        protocol: version,
        clean_start,
        keep_alive,
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

/// A PUBLISH with no properties.
pub fn publish(topic: &str, qos: QoS, pkid: u16, payload: &'static [u8]) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_owned(),
        pkid,
        payload: Bytes::from_static(payload),
        properties: Properties::default(),
    }
}

/// A SUBSCRIBE of one filter.
pub fn subscribe(pkid: u16, filter: &str, options: SubscriptionOptions) -> Packet {
    Packet::Subscribe(Subscribe { pkid, filters: vec![(filter.to_owned(), options)], properties: Properties::default() })
}

/// Subscription options with just a QoS.
pub fn qos(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions { qos, ..SubscriptionOptions::default() }
}

/// An acknowledgement without reason code or properties.
pub fn ack(pkid: u16) -> PubResp {
    PubResp { pkid, code: 0, properties: Properties::default() }
}

impl Raw {
    /// Open a TCP connection without sending anything.
    pub async fn open(addr: SocketAddr, version: ProtocolVersion) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self { stream, version, buf: BytesMut::new() }
    }

    /// Connect with `connect` and return the CONNACK (which must come).
    pub async fn connect(addr: SocketAddr, connect: Connect) -> (Self, ConnAck) {
        let mut raw = Self::open(addr, connect.protocol).await;
        raw.send(&Packet::Connect(Box::new(connect))).await;
        match raw.recv().await {
            Some(Packet::ConnAck(ack)) => (raw, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connect a client with defaults (clean start, keep-alive 60) and expect success.
    pub async fn connected(addr: SocketAddr, version: ProtocolVersion, client_id: &str) -> Self {
        let (raw, ack) = Self::connect(addr, connect_packet(version, client_id, true, 60)).await;
        assert_eq!(ack.code, 0, "CONNACK success for {client_id}");
        raw
    }

    /// Send one packet.
    pub async fn send(&mut self, packet: &Packet) {
        let mut out = BytesMut::new();
        codec::encode(packet, self.version, &mut out);
        self.stream.write_all(&out).await.expect("write");
    }

    /// Send raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Next packet from the broker; `None` once it closed the connection.
    pub async fn recv(&mut self) -> Option<Packet> {
        guard("a packet from the broker", async {
            loop {
                // The decoder takes the server's packets in any state ("version" only gates CONNECT).
                match codec::decode(&mut self.buf, Some(self.version), u32::MAX) {
                    Ok(Some(p)) => return Some(p),
                    Ok(None) => {}
                    Err(e) => panic!("broker sent a malformed packet: {e}"),
                }
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
    }

    /// Next packet, which must exist.
    pub async fn expect(&mut self, what: &str) -> Packet {
        self.recv().await.unwrap_or_else(|| panic!("connection closed while waiting for {what}"))
    }

    /// Next PUBLISH, skipping nothing: any other packet fails the test.
    pub async fn expect_publish(&mut self) -> Publish {
        match self.expect("PUBLISH").await {
            Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Next PUBLISH, answering any PUBREL on the way with PUBCOMP (QoS 2 flows of earlier messages).
    pub async fn next_publish_completing(&mut self) -> Publish {
        loop {
            match self.expect("PUBLISH").await {
                Packet::Publish(p) => return p,
                Packet::PubRel(r) => self.send(&Packet::PubComp(ack(r.pkid))).await,
                other => panic!("expected PUBLISH, got {other:?}"),
            }
        }
    }

    /// Subscribe and wait for the SUBACK; returns its codes.
    pub async fn subscribe(&mut self, pkid: u16, filter: &str, options: SubscriptionOptions) -> Vec<u8> {
        self.send(&subscribe(pkid, filter, options)).await;
        match self.expect("SUBACK").await {
            Packet::SubAck(s) if s.pkid == pkid => s.codes,
            other => panic!("expected SUBACK {pkid}, got {other:?}"),
        }
    }

    /// The broker's last packets before it closes: everything until EOF.
    pub async fn until_closed(&mut self) -> Vec<Packet> {
        let mut all = Vec::new();
        while let Some(p) = self.recv().await {
            all.push(p);
        }
        all
    }

    /// Expect the broker to end the connection, in 5.0 with DISCONNECT `code` first; returns nothing else.
    pub async fn expect_disconnect(&mut self, code: u8) {
        let rest = self.until_closed().await;
        match (self.version, rest.last()) {
            (ProtocolVersion::V5, Some(Packet::Disconnect(d))) => assert_eq!(d.code, code, "DISCONNECT reason; got {rest:?}"),
            (ProtocolVersion::V5, _) => panic!("expected DISCONNECT {code:#04x} before close, got {rest:?}"),
            _ => assert!(rest.iter().all(|p| !matches!(p, Packet::Disconnect(_))), "3.1.1 servers send no DISCONNECT: {rest:?}"),
        }
    }

    /// PINGREQ → PINGRESP: a round trip proving everything sent before was handled.
    pub async fn ping(&mut self) {
        self.send(&Packet::PingReq).await;
        loop {
            match self.expect("PINGRESP").await {
                Packet::PingResp => return,
                Packet::Publish(p) => panic!("unexpected PUBLISH while pinging: {p:?}"),
                _ => {}
            }
        }
    }

    /// Ping, failing if any PUBLISH arrives first: "nothing was delivered".
    pub async fn expect_nothing(&mut self) {
        self.ping().await;
    }
}
