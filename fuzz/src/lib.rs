//! The broker's codec, compiled from its own sources (`#[path]`), and the checks every fuzz target
//! runs on it: decoding never panics, and what decodes encodes to bytes that decode to the same packet.

#![allow(dead_code, unused_imports, unfulfilled_lint_expectations)]

/// `crate::topic` as the codec sees it in mqscope.
#[path = "../../src/topic/mod.rs"]
pub mod topic;

/// `mqscope::broker::codec`.
#[path = "../../src/broker/codec/mod.rs"]
pub mod codec;

use bytes::BytesMut;
use codec::{Packet, ProtocolVersion};

/// Largest packet the targets accept (the broker's default maximum).
const MAX_PACKET: u32 = 4 * 1024 * 1024;

/// Decode every packet in `data` as a connection would: with `version` `None`, a CONNECT first,
/// whose protocol then decodes the rest. Each packet must survive an encode/decode round trip.
pub fn check_stream(data: &[u8], mut version: Option<ProtocolVersion>) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(packet)) = codec::decode(&mut buf, version, MAX_PACKET) {
        let first = version.is_none();
        if let Packet::Connect(connect) = &packet {
            version = Some(connect.protocol);
        }
        round_trip(&packet, version.unwrap_or(ProtocolVersion::V311), first);
    }
}

/// `packet`, encoded in `version`, decodes to itself, and `encoded_len` is what `encode` wrote.
fn round_trip(packet: &Packet, version: ProtocolVersion, as_first: bool) {
    let mut out = BytesMut::new();
    codec::encode(packet, version, &mut out);
    assert_eq!(codec::encoded_len(packet, version), out.len(), "encoded_len of {packet:?}");
    if out.is_empty() {
        return; // Not sent in this version (AUTH in 3.1.1).
    }
    let gate = if as_first { None } else { Some(version) };
    let back = codec::decode(&mut out, gate, u32::MAX);
    assert!(matches!(&back, Ok(Some(p)) if p == packet), "{packet:?} came back as {back:?}");
    assert!(out.is_empty(), "bytes left after {packet:?}");
}
