use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::model::decode::decode;

fn round_trip(format: Decoder, json: &Value) -> Value {
    decode(format, &encode(format, json, None).expect("encodes")).expect("decodes")
}

#[test]
fn tagged_objects_become_bytes_tags_extensions_and_keyed_maps() {
    let cbor = json!({"raw": {"$bytes": "AAH/"}, "when": {"$tag": 1, "value": 1_700_000_000}, "keyed": {"$map": [[1, "one"], ["b", 2]]}, "big": u64::MAX, "neg": -5, "f": 21.5, "nan": "NaN", "list": [null, true]});
    assert_eq!(round_trip(Decoder::Cbor, &cbor), cbor);
    let bytes = encode(Decoder::Cbor, &json!({"$bytes": "AAH/"}), None).expect("encodes");
    assert_eq!(bytes, [0x43, 0, 1, 0xff], "a CBOR byte string, not a map");
    let msgpack = json!({"raw": {"$bytes": "AAH/"}, "ext": {"$ext": 5, "data": {"$bytes": "CQ=="}}, "keyed": {"$map": [[7, "seven"]]}, "big": u64::MAX, "f": 0.5, "list": [null, false]});
    assert_eq!(round_trip(Decoder::MsgPack, &msgpack), msgpack);
    // Each format's tagged object is a plain map in the other: it comes back as typed.
    let other = json!({"$tag": 1, "value": 2});
    assert_eq!(round_trip(Decoder::MsgPack, &other), other);
    let other = json!({"$ext": 1, "data": 2});
    assert_eq!(round_trip(Decoder::Cbor, &other), other);
}

#[test]
fn what_does_not_fit_is_explained_with_its_place() {
    let err = encode(Decoder::Cbor, &json!({"a": [1, {"raw": {"$bytes": "not base64!"}}]}), None).expect_err("bad base64");
    assert_eq!(err.path, "$.a[1].raw");
    assert!(err.to_string().starts_with("at $.a[1].raw: $bytes is not base64"), "{err}");
    let err = encode(Decoder::Cbor, &json!({"t": {"$tag": -1, "value": 0}}), None).expect_err("negative tag");
    assert_eq!(err.to_string(), "at $.t: $tag must be a non-negative integer");
    let err = encode(Decoder::MsgPack, &json!({"$map": [[1, 2, 3]]}), None).expect_err("not a pair");
    assert_eq!(err.to_string(), "at $.$map[0]: each $map entry must be [key, value]");
    let err = encode(Decoder::MsgPack, &json!({"$ext": 300, "data": {"$bytes": ""}}), None).expect_err("ext type");
    assert!(err.reason.contains("-128 to 127"), "{err}");
    let err = encode(Decoder::MsgPack, &json!({"$ext": 3, "data": "AA=="}), None).expect_err("data not tagged");
    assert_eq!(err.path, "$.data");
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    assert!(encode(Decoder::Cbor, &deep, None).expect_err("too deep").reason.contains("nested deeper"));
    assert!(encode(Decoder::Sparkplug, &json!({}), None).is_err());
    assert!(encode(Decoder::Protobuf, &json!({}), None).expect_err("no schema").reason.contains(".proto"));
}

/// Any JSON with finite numbers and keys that are not tagged-object keys.
fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_][a-z0-9 ]{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A tagged object as a decoder writes it, around `inner`.
fn tagged(format: Decoder, inner: &Value, bytes: &[u8], n: i8) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    match (format, n.rem_euclid(3)) {
        (_, 0) => json!({"$bytes": b64}),
        (_, 1) => json!({"$map": [[i64::from(n), inner]]}),
        (Decoder::Cbor, _) => json!({"$tag": n.unsigned_abs(), "value": inner}),
        _ => json!({"$ext": n, "data": {"$bytes": b64}}),
    }
}

proptest! {
    #[test]
    fn plain_json_round_trips(json in plain_json()) {
        for format in [Decoder::Cbor, Decoder::MsgPack] {
            prop_assert_eq!(&round_trip(format, &json), &json, "{:?}", format);
        }
    }

    #[test]
    fn what_decoders_write_round_trips(inner in plain_json(), bytes in proptest::collection::vec(any::<u8>(), 0..16), n in any::<i8>()) {
        for format in [Decoder::Cbor, Decoder::MsgPack] {
            let json = json!({"a": [tagged(format, &inner, &bytes, n)], "b": tagged(format, &json!(null), &bytes, n.wrapping_add(1))});
            prop_assert_eq!(&round_trip(format, &json), &json, "{:?}", format);
        }
    }
}
