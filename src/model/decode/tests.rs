use proptest::prelude::*;
use serde_json::json;

use super::*;

fn cbor(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("encode CBOR");
    out
}

fn msgpack(value: &rmpv::Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("encode MessagePack");
    out
}

#[test]
fn cbor_round_trip_shows_tags_bytes_and_non_string_keys_faithfully() {
    use ciborium::Value as C;
    let value = C::Map(vec![
        (C::Text("temp".into()), C::Float(21.5)),
        (C::Text("raw".into()), C::Bytes(vec![0, 1, 0xff])),
        (C::Text("when".into()), C::Tag(1, Box::new(C::Integer(1_700_000_000.into())))),
        (C::Text("list".into()), C::Array(vec![C::Bool(true), C::Null, C::Integer((-5).into())])),
        (C::Text("nan".into()), C::Float(f64::NAN)),
    ]);
    assert_eq!(
        decode(Decoder::Cbor, &cbor(&value)).expect("decode"),
        json!({"temp": 21.5, "raw": {"$bytes": "AAH/"}, "when": {"$tag": 1, "value": 1_700_000_000}, "list": [true, null, -5], "nan": "NaN"})
    );
    let keyed = C::Map(vec![(C::Integer(1.into()), C::Text("one".into())), (C::Text("b".into()), C::Integer(2.into()))]);
    assert_eq!(decode(Decoder::Cbor, &cbor(&keyed)).expect("decode"), json!({"$map": [[1, "one"], ["b", 2]]}));
}

#[test]
fn msgpack_round_trip_shows_binary_ext_and_non_string_keys_faithfully() {
    use rmpv::Value as M;
    let value = M::Map(vec![
        (M::from("temp"), M::F64(21.5)),
        (M::from("count"), M::from(u64::MAX)),
        (M::from("neg"), M::from(-3)),
        (M::from("raw"), M::Binary(vec![0, 1, 0xff])),
        (M::from("ext"), M::Ext(5, vec![9])),
        (M::from("arr"), M::Array(vec![M::Nil, M::Boolean(false), M::F32(0.5)])),
    ]);
    assert_eq!(
        decode(Decoder::MsgPack, &msgpack(&value)).expect("decode"),
        json!({"temp": 21.5, "count": u64::MAX, "neg": -3, "raw": {"$bytes": "AAH/"}, "ext": {"$ext": 5, "data": {"$bytes": "CQ=="}}, "arr": [null, false, 0.5]})
    );
    let keyed = M::Map(vec![(M::from(7), M::from("seven"))]);
    assert_eq!(decode(Decoder::MsgPack, &msgpack(&keyed)).expect("decode"), json!({"$map": [[7, "seven"]]}));
}

#[test]
fn truncated_and_trailing_bytes_are_errors_with_the_offset() {
    let bytes = cbor(&ciborium::Value::Text("hello".into()));
    let err = decode(Decoder::Cbor, &bytes[..3]).expect_err("truncated");
    assert!(err.reason.contains("too early"), "{err}");
    let mut extra = bytes.clone();
    extra.push(0);
    assert_eq!(decode(Decoder::Cbor, &extra).expect_err("trailing").offset, bytes.len());

    let bytes = msgpack(&rmpv::Value::from("hello"));
    let err = decode(Decoder::MsgPack, &bytes[..3]).expect_err("truncated");
    assert!(err.reason.contains("too early"), "{err}");
    let mut extra = bytes.clone();
    extra.push(0xc0);
    let err = decode(Decoder::MsgPack, &extra).expect_err("trailing");
    assert_eq!(err.offset, bytes.len());
    assert_eq!(err.to_string(), format!("1 bytes after the MessagePack value (at byte {})", bytes.len()));
}

#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation() {
    // An array header claiming 4 billion elements, then nothing.
    assert!(decode(Decoder::MsgPack, &[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    assert!(decode(Decoder::Cbor, &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    // Deep nesting is refused, not a stack overflow.
    assert!(decode(Decoder::Cbor, &vec![0x81; 100_000]).is_err());
    assert!(decode(Decoder::MsgPack, &vec![0x91; 100_000]).is_err());
}

#[test]
fn decoder_names_parse() {
    for d in Decoder::ALL {
        assert_eq!(d.cli_name().parse::<Decoder>(), Ok(d));
    }
    assert!("protobuf".parse::<Decoder>().is_err());
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for d in Decoder::ALL {
            if let Err(e) = decode(d, &bytes) {
                prop_assert!(e.offset <= bytes.len(), "{d:?}: offset {} past {}", e.offset, bytes.len());
            }
        }
    }

    #[test]
    fn truncated_valid_values_give_an_error_or_a_value(n in 0usize..64, cut in 0usize..200) {
        use rmpv::Value as M;
        let m = msgpack(&M::Map((0..n).map(|i| (M::from(format!("k{i}")), M::from(i))).collect()));
        let c = cbor(&ciborium::Value::Array((0..n).map(|i| ciborium::Value::Integer(i.into())).collect()));
        for (d, bytes) in [(Decoder::MsgPack, m), (Decoder::Cbor, c)] {
            let cut = cut.min(bytes.len());
            match decode(d, &bytes[..cut]) {
                Ok(_) => prop_assert_eq!(cut, bytes.len()),
                Err(e) => prop_assert!(e.offset <= cut),
            }
        }
    }
}
