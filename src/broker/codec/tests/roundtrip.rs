//! Property-based tests: `decode(encode(p)) == p` for every packet type in every version (only
//! what that version can carry is generated), every strict prefix of an encoding decodes to
//! `Ok(None)`, and arbitrary or mutated bytes never make `decode` panic.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

use super::super::{Packet, ProtocolVersion, decode, encode, encoded_len};
use super::strategies::{any_version, packet, versioned_packet};

fn read_version(p: &Packet, v: ProtocolVersion) -> Option<ProtocolVersion> {
    if matches!(p, Packet::Connect(_)) { None } else { Some(v) }
}

/// Decodes until the buffer is exhausted or an error occurs; must never panic.
fn drain(bytes: &[u8], version: Option<ProtocolVersion>, max: u32) {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.clone();
        if let Ok(Some(_)) = decode(&mut buf, version, max) {
            continue;
        }
        // Ok(None) and errors leave the buffer untouched.
        assert_eq!(buf, before);
        return;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn roundtrip_every_packet_every_version((v, p) in versioned_packet()) {
        let mut out = BytesMut::new();
        encode(&p, v, &mut out);
        prop_assert_eq!(out.len(), encoded_len(&p, v));
        let bytes = out.to_vec();
        let version = read_version(&p, v);
        let mut buf = BytesMut::from(&bytes[..]);
        let decoded = decode(&mut buf, version, u32::MAX);
        prop_assert_eq!(&decoded, &Ok(Some(p.clone())));
        prop_assert!(buf.is_empty());
        // Re-encoding the decoded packet gives the same bytes.
        let Ok(Some(decoded)) = decoded else { unreachable!() };
        let mut again = BytesMut::new();
        encode(&decoded, v, &mut again);
        prop_assert_eq!(&again[..], &bytes[..]);
        // Every strict prefix needs more bytes, and leaves the buffer untouched.
        for cut in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..cut]);
            prop_assert_eq!(decode(&mut buf, version, u32::MAX), Ok(None));
            prop_assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn concatenated_packets_decode_in_order((v, packets) in any_version().prop_flat_map(|v| {
        let not_connect = packet(v).prop_filter("CONNECT is decoded first", |p| !matches!(p, Packet::Connect(_)));
        (Just(v), vec(not_connect, 1..8))
    })) {
        let mut buf = BytesMut::new();
        for p in &packets {
            encode(p, v, &mut buf);
        }
        for p in &packets {
            prop_assert_eq!(decode(&mut buf, Some(v), u32::MAX), Ok(Some(p.clone())));
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..96), max in any::<u32>()) {
        for version in [None, Some(ProtocolVersion::V31), Some(ProtocolVersion::V311), Some(ProtocolVersion::V5)] {
            drain(&bytes, version, max);
            drain(&bytes, version, u32::MAX);
        }
    }

    #[test]
    fn mutated_encodings_never_panic((v, p) in versioned_packet(), at in any::<usize>(), byte in any::<u8>()) {
        let mut out = BytesMut::new();
        encode(&p, v, &mut out);
        let mut bytes = out.to_vec();
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        drain(&bytes, read_version(&p, v), u32::MAX);
        bytes.truncate(at % (bytes.len() + 1));
        drain(&bytes, read_version(&p, v), u32::MAX);
    }
}
