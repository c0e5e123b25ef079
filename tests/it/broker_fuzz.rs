//! Packet sequences against one session (the broker side of the `fuzz/` targets, which cover the
//! codec alone): after a CONNECT, a seeded random mix of valid, invalid and mangled packets of both
//! versions. Whatever comes, the session answers with well-formed packets (our strict decoder reads
//! them) or closes, no task panics, and the broker goes on serving everybody else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use bytes::{Bytes, BytesMut};
use mqscope::broker::codec::{self, Packet, Properties, ProtocolVersion, PubResp, QoS, Subscribe, SubscriptionOptions, Unsubscribe};

use crate::common::start_broker;
use crate::raw::{Raw, publish, qos};

/// xorshift64*: a small deterministic generator, so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TOPICS: [&str; 8] = ["a", "a/b", "a/b/c", "$SYS/x", "", "a/+", "#", "x/\u{0}"];
const FILTERS: [&str; 8] = ["a/#", "+/b", "#", "a/b#", "$share/g/a", "$share//a", "", "a/+/c"];

/// One packet, valid or not, as bytes.
fn packet(rng: &mut Rng, version: ProtocolVersion) -> BytesMut {
    let mut out = BytesMut::new();
    let pkid = u16::try_from(rng.below(4)).unwrap_or(0);
    let qos_of = |n: usize| match n % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    let p = match rng.below(12) {
        0..=3 => {
            let mut p = publish(rng.pick(&TOPICS), qos_of(rng.below(3)), pkid, b"payload");
            p.retain = rng.below(4) == 0;
            p.payload = Bytes::from(vec![b'x'; rng.below(64)]);
            if version == ProtocolVersion::V5 && rng.below(3) == 0 {
                p.properties.topic_alias = Some(u16::try_from(rng.below(70)).unwrap_or(0));
            }
            Packet::Publish(p)
        }
        4 => Packet::PubAck(PubResp { pkid, code: 0, properties: Properties::default() }),
        5 => Packet::PubRec(PubResp { pkid, code: 0, properties: Properties::default() }),
        6 => Packet::PubRel(PubResp { pkid, code: 0, properties: Properties::default() }),
        7 => Packet::PubComp(PubResp { pkid, code: 0, properties: Properties::default() }),
        8 => {
            let options = SubscriptionOptions { no_local: rng.below(4) == 0, ..qos(qos_of(rng.below(3))) };
            Packet::Subscribe(Subscribe {
                pkid: pkid.max(1),
                filters: vec![(rng.pick(&FILTERS).to_owned(), options)],
                properties: Properties::default(),
            })
        }
        9 => Packet::Unsubscribe(Unsubscribe {
            pkid: pkid.max(1),
            filters: vec![rng.pick(&FILTERS).to_owned()],
            properties: Properties::default(),
        }),
        10 => Packet::PingReq,
        _ => {
            // Raw garbage of a random type byte and length.
            let len = rng.below(8);
            out.extend_from_slice(&[u8::try_from(rng.below(256)).unwrap_or(0), u8::try_from(len).unwrap_or(0)]);
            out.extend((0..len).map(|_| u8::try_from(rng.below(256)).unwrap_or(0)));
            return out;
        }
    };
    codec::encode(&p, version, &mut out);
    if rng.below(10) == 0 && out.len() > 2 {
        // Flip one byte after the fixed header.
        let i = 2 + rng.below(out.len() - 2);
        out[i] ^= u8::try_from(1 + rng.below(255)).unwrap_or(1);
    }
    out
}

#[tokio::test]
async fn random_packet_sequences_end_only_their_own_connection() {
    // Panics on this test's thread (the current-thread runtime runs the broker's tasks here too).
    let panics = Arc::new(AtomicUsize::new(0));
    let me = std::thread::current().name().map(str::to_owned);
    let previous = std::panic::take_hook();
    let seen = Arc::clone(&panics);
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name().map(str::to_owned) == me {
            seen.fetch_add(1, Relaxed);
        }
        previous(info);
    }));

    let (addr, broker) = start_broker().await;
    let mut bystander = Raw::connected(addr, ProtocolVersion::V5, "bystander").await;
    bystander.subscribe(1, "alive", qos(QoS::AtMostOnce)).await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut closed = 0;
    for round in 0..300u32 {
        let version = if round % 2 == 0 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        let mut raw = Raw::connected(addr, version, &format!("fuzz-{}", round % 7)).await;
        let mut bytes = BytesMut::new();
        for _ in 0..=rng.below(20) {
            bytes.extend_from_slice(&packet(&mut rng, version));
        }
        bytes.extend_from_slice(&[0xC0, 0x00]); // PINGREQ: a reply proves the session took it all.
        raw.send_bytes(&bytes).await;
        // Every packet the broker sends must decode strictly (Raw::recv panics otherwise).
        loop {
            match raw.recv().await {
                Some(Packet::PingResp) => break,
                Some(Packet::PubRel(r)) => {
                    raw.send(&Packet::PubComp(PubResp { pkid: r.pkid, code: 0, properties: Properties::default() })).await;
                }
                Some(_) => {}
                None => {
                    closed += 1;
                    break;
                }
            }
        }
    }
    let mut p = Raw::connected(addr, ProtocolVersion::V311, "after-fuzz").await;
    p.send(&Packet::Publish(publish("alive", QoS::AtMostOnce, 0, b"yes"))).await;
    loop {
        let m = bystander.expect_publish().await;
        if &m.payload[..] == b"yes" {
            break;
        }
    }
    assert_eq!(panics.load(Relaxed), 0, "a connection task panicked");
    assert!((30..300).contains(&closed), "a mix of sequences that end and that do not: {closed} of 300 closed");
    assert!(broker.shared().stats.connections.load(Relaxed) >= 2, "the bystander and the last client are still served");
}
