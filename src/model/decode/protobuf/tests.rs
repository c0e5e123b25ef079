use std::path::PathBuf;

use proptest::prelude::*;
use prost::Message as _;
use serde_json::json;

use super::*;

/// A .proto with an import and nested messages, written to a fresh directory.
fn schema_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqscope-proto-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("common")).expect("mkdir");
    std::fs::write(
        dir.join("common/units.proto"),
        "syntax = \"proto3\";\npackage common;\nenum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; BAR = 2; }\n",
    )
    .expect("write import");
    std::fs::write(
        dir.join("machine.proto"),
        r#"syntax = "proto3";
package factory.v1;
import "common/units.proto";
message Reading {
  message Sample { double value = 1; common.Unit unit = 2; }
  string machine = 1;
  repeated Sample samples = 2;
  int64 at_ms = 3;
  bytes raw = 4;
}
"#,
    )
    .expect("write proto");
    dir
}

fn reading(schema: &ProtoSchema, json: &Value) -> Vec<u8> {
    DynamicMessage::deserialize(schema.message.clone(), json).expect("valid JSON for the type").encode_to_vec()
}

#[test]
fn a_proto_with_imports_and_nested_messages_round_trips() {
    let dir = schema_dir("roundtrip");
    let schema = ProtoSchema::compile(&dir.join("machine.proto"), "factory.v1.Reading").expect("compiles");
    assert_eq!(schema.message_name(), "factory.v1.Reading");
    let sent = json!({"machine": "press-1", "samples": [{"value": 61.5, "unit": "CELSIUS"}, {"value": 2.0, "unit": "BAR"}], "at_ms": "1700000000000", "raw": "AAE="});
    let got = schema.decode(&reading(&schema, &sent)).expect("decodes");
    assert_eq!(got, sent);
    let nested = ProtoSchema::compile(&dir.join("machine.proto"), ".factory.v1.Reading.Sample").expect("nested type by name");
    assert_eq!(nested.decode(&[0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]).expect("a Sample"), json!({"value": 1.5, "unit": "UNIT_UNSPECIFIED"}));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_missing_type_or_a_broken_file_is_explained() {
    let dir = schema_dir("errors");
    let err = ProtoSchema::compile(&dir.join("machine.proto"), "factory.v1.Nope").expect_err("no such type");
    assert!(err.to_string().contains("factory.v1.Reading.Sample"), "lists the known types: {err}");
    std::fs::write(dir.join("broken.proto"), "syntax = \"proto3\";\nmessage A { int32 x = ; }\n").expect("write");
    let err = ProtoSchema::compile(&dir.join("broken.proto"), "A").expect_err("does not compile");
    assert!(!err.to_string().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn wrong_schema_and_truncated_bytes_give_an_offset() {
    let dir = schema_dir("wrong");
    let schema = ProtoSchema::compile(&dir.join("machine.proto"), "factory.v1.Reading").expect("compiles");
    let bytes = reading(&schema, &json!({"machine": "press-1", "samples": [{"value": 61.5}]}));
    let err = schema.decode(&bytes[..bytes.len() - 2]).expect_err("truncated");
    assert!(err.offset > 0 && err.offset < bytes.len(), "{err}");
    // A field 1 (string) holding invalid UTF-8: framing is fine, the value is not.
    let err = schema.decode(&[0x0a, 0x01, 0xff]).expect_err("invalid UTF-8");
    assert!(err.reason.starts_with("not a factory.v1.Reading"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn json_encodes_through_the_schema_and_decodes_to_the_same_value() {
    let dir = schema_dir("encode");
    let file = ProtoFile::compile(&dir.join("machine.proto")).expect("compiles");
    assert!(file.messages().contains(&"factory.v1.Reading.Sample".to_owned()), "{:?}", file.messages());
    assert!(!file.messages().contains(&"common.Unit".to_owned()), "enums are not message types");
    let schema = file.schema(&dir.join("machine.proto"), "factory.v1.Reading").expect("a type");
    let sent = json!({"machine": "press-1", "samples": [{"value": 61.5, "unit": "CELSIUS"}], "at_ms": "-5", "raw": "AAE="});
    assert_eq!(schema.decode(&schema.encode(&sent).expect("encodes")).expect("decodes"), sent);
    let err = schema.encode(&json!({"machine": "m", "speed": 3})).expect_err("unknown field");
    assert!(err.contains("unrecognized field name 'speed'"), "{err}");
    let err = schema.encode(&json!({"samples": [{"value": "fast"}]})).expect_err("wrong type");
    assert!(err.starts_with("not a factory.v1.Reading"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_compile_error_says_file_and_line() {
    let dir = schema_dir("line");
    std::fs::write(dir.join("broken.proto"), "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n").expect("write");
    let err = ProtoFile::compile(&dir.join("broken.proto")).expect_err("does not compile").to_string();
    assert!(err.starts_with("broken.proto:3:"), "{err}");
    let err = ProtoFile::compile(&dir.join("missing.proto")).expect_err("no such file").to_string();
    assert!(err.contains("missing.proto"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

fn reading_schema() -> &'static ProtoSchema {
    static SCHEMA: std::sync::OnceLock<ProtoSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = schema_dir("fuzz");
        ProtoSchema::compile(&dir.join("machine.proto"), "factory.v1.Reading").expect("compiles")
    })
}

proptest! {
    #[test]
    fn any_reading_round_trips_through_json(
        machine in ".{0,16}",
        samples in proptest::collection::vec((-1e12f64..1e12, 0usize..3), 0..5),
        at_ms in any::<i64>(),
        raw in proptest::collection::vec(any::<u8>(), 0..24),
    ) {
        use base64::Engine as _;
        let units = ["UNIT_UNSPECIFIED", "CELSIUS", "BAR"];
        let json = json!({
            "machine": machine,
            "samples": samples.iter().map(|(v, u)| json!({"value": v, "unit": units[*u]})).collect::<Vec<_>>(),
            "at_ms": at_ms.to_string(),
            "raw": base64::engine::general_purpose::STANDARD.encode(&raw),
        });
        let schema = reading_schema();
        prop_assert_eq!(schema.decode(&schema.encode(&json).expect("encodes")).expect("decodes"), json);
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let schema = reading_schema();
        if let Err(e) = schema.decode(&bytes) {
            prop_assert!(e.offset <= bytes.len());
        }
    }
}
