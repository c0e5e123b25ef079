use proptest::prelude::*;
use prost::Message as _;
use serde_json::json;

use super::proto::{
    DataSet, DataSetValue, DataSetValueValue, Metric, MetricValue, Payload, PropertySet, PropertyValue, PropertyValueValue, Row, Template,
};
use super::*;

fn metric(name: Option<&str>, alias: u64, datatype: u32, value: MetricValue) -> Metric {
    Metric { name: name.map(str::to_owned), alias: Some(alias), datatype: Some(datatype), value: Some(value), ..Metric::default() }
}

/// An NBIRTH naming two metrics with aliases, as an edge node sends it.
pub(crate) fn birth() -> Vec<u8> {
    Payload {
        timestamp: Some(1_700_000_000_000),
        seq: Some(0),
        metrics: vec![
            metric(Some("bdSeq"), 0, 8, MetricValue::LongValue(3)),
            metric(Some("Temperature"), 1, 10, MetricValue::DoubleValue(21.5)),
            metric(Some("Offset"), 2, 3, MetricValue::IntValue((-7i32).cast_unsigned())),
        ],
        ..Payload::default()
    }
    .encode_to_vec()
}

/// An NDATA using aliases only.
pub(crate) fn data(seq: u64, temperature: f64) -> Vec<u8> {
    Payload {
        timestamp: Some(1_700_000_001_000),
        seq: Some(seq),
        metrics: vec![metric(None, 1, 10, MetricValue::DoubleValue(temperature)), metric(None, 9, 3, MetricValue::IntValue(5))],
        ..Payload::default()
    }
    .encode_to_vec()
}

#[test]
fn a_birth_decodes_to_a_metrics_table_keyed_by_name() {
    let v = decode(&birth(), None).expect("decode");
    assert_eq!(v["seq"], 0);
    assert_eq!(v["timestamp"], 1_700_000_000_000u64);
    assert_eq!(v["metrics"]["Temperature"], json!({"alias": 1, "datatype": "Double", "value": 21.5}));
    assert_eq!(v["metrics"]["Offset"]["value"], -7, "Int32 is sign-restored from the uint32 field");
    assert_eq!(v["metrics"]["bdSeq"]["datatype"], "UInt64");
}

#[test]
fn data_with_aliases_only_is_named_from_the_birth() {
    let bare = decode(&data(1, 22.0), None).expect("decode");
    assert_eq!(bare["metrics"]["alias 1"]["value"], 22.0);
    let mut aliases = Aliases::default();
    aliases.learn(&birth());
    assert_eq!(aliases.len(), 3);
    let named = decode(&data(1, 22.0), Some(&aliases)).expect("decode");
    assert_eq!(named["metrics"]["Temperature"], json!({"alias": 1, "datatype": "Double", "value": 22.0}));
    assert_eq!(named["metrics"]["alias 9"]["value"], 5, "an alias no BIRTH named stays an alias");
}

#[test]
fn arrays_datasets_templates_and_properties_are_expanded() {
    let ints: Vec<u8> = [-1i16, 300].iter().flat_map(|i| i.to_le_bytes()).collect();
    let payload = Payload {
        metrics: vec![
            metric(Some("ints"), 1, 23, MetricValue::BytesValue(ints)),
            metric(Some("flags"), 2, 32, MetricValue::BytesValue(vec![3, 0, 0, 0, 0b1010_0000])),
            metric(Some("names"), 3, 33, MetricValue::BytesValue(b"a\0bc\0".to_vec())),
            metric(Some("blob"), 4, 17, MetricValue::BytesValue(vec![1, 2])),
            metric(
                Some("table"),
                5,
                16,
                MetricValue::DatasetValue(DataSet {
                    num_of_columns: Some(2),
                    columns: vec!["id".into(), "v".into()],
                    types: vec![2, 12],
                    rows: vec![Row {
                        elements: vec![
                            DataSetValue { value: Some(DataSetValueValue::IntValue((-2i32).cast_unsigned())) },
                            DataSetValue { value: Some(DataSetValueValue::StringValue("x".into())) },
                        ],
                    }],
                }),
            ),
            metric(
                Some("motor"),
                6,
                19,
                MetricValue::TemplateValue(Template {
                    template_ref: Some("Motor".into()),
                    metrics: vec![metric(Some("rpm"), 7, 7, MetricValue::IntValue(1500))],
                    ..Template::default()
                }),
            ),
            Metric {
                properties: Some(PropertySet {
                    keys: vec!["engUnit".into()],
                    values: vec![PropertyValue {
                        r#type: Some(12),
                        is_null: None,
                        value: Some(PropertyValueValue::StringValue("°C".into())),
                    }],
                }),
                ..metric(Some("withUnit"), 8, 9, MetricValue::FloatValue(1.5))
            },
        ],
        ..Payload::default()
    };
    let m = &decode(&payload.encode_to_vec(), None).expect("decode")["metrics"];
    assert_eq!(m["ints"]["value"], json!([-1, 300]));
    assert_eq!(m["flags"]["value"], json!([true, false, true]));
    assert_eq!(m["names"]["value"], json!(["a", "bc"]));
    assert_eq!(m["blob"]["value"], json!({"$bytes": "AQI="}));
    assert_eq!(m["table"]["value"], json!({"columns": ["id", "v"], "types": ["Int16", "String"], "rows": [[-2, "x"]]}));
    assert_eq!(m["motor"]["value"]["metrics"]["rpm"]["value"], 1500);
    assert_eq!(m["motor"]["value"]["template_ref"], "Motor");
    assert_eq!(m["withUnit"]["properties"], json!({"engUnit": "°C"}));
    assert_eq!(m["withUnit"]["value"], 1.5);
}

#[test]
fn a_truncated_payload_is_an_error_at_the_metric_that_breaks() {
    let bytes = birth();
    let err = decode(&bytes[..bytes.len() - 3], None).expect_err("truncated");
    assert!(err.offset > 0 && err.offset < bytes.len(), "{err}");
    assert!(err.reason.starts_with("invalid Sparkplug B payload"), "{err}");
}

#[test]
fn a_stream_names_aliases_per_edge_node_and_flags_sequence_gaps() {
    let mut nodes = EdgeAliases::default();
    nodes.observe("spBv1.0/g/NBIRTH/e1", &birth());
    assert_eq!(nodes.for_topic("spBv1.0/g/DDATA/e1/dev").and_then(|a| a.name(1)), Some("Temperature"));
    assert!(nodes.for_topic("spBv1.0/g/NDATA/e2").is_none(), "another edge node");
    assert_eq!(nodes.check_seq("spBv1.0/g/NBIRTH/e1", Some(0)), None);
    assert_eq!(nodes.check_seq("spBv1.0/g/NDATA/e1", Some(1)), None);
    assert_eq!(nodes.check_seq("spBv1.0/g/DDATA/e1/dev", Some(3)), Some(2), "2 was lost");
    assert_eq!(nodes.check_seq("spBv1.0/g/NDATA/e1", Some(4)), None);
    assert_eq!(nodes.check_seq("spBv1.0/g/NCMD/e1", Some(9)), None, "commands are not the node's sequence");
    nodes.check_seq("spBv1.0/g/NDATA/e1", Some(255));
    assert_eq!(nodes.check_seq("spBv1.0/g/NDATA/e1", Some(0)), None, "255 wraps to 0");
    assert_eq!(nodes.check_seq("spBv1.0/g/NBIRTH/e1", Some(0)), None, "a rebirth starts afresh");
}

#[test]
fn topics_are_told_apart() {
    assert!(is_sparkplug_topic("spBv1.0/plant/NBIRTH/edge1"));
    assert!(is_sparkplug_topic("spBv1.0/plant/DDATA/edge1/dev"));
    assert!(!is_sparkplug_topic("spBv1.0/STATE/host"));
    assert!(!is_sparkplug_topic("spBv1.0/plant/STATE/host"));
    assert!(!is_sparkplug_topic("spBv1.0"));
    assert!(!is_sparkplug_topic("other/plant/NDATA/e"));
    assert_eq!(birth_topics("spBv1.0/g/NDATA/e"), ["spBv1.0/g/NBIRTH/e"]);
    assert_eq!(birth_topics("spBv1.0/g/DDATA/e/d"), ["spBv1.0/g/NBIRTH/e", "spBv1.0/g/DBIRTH/e/d"]);
    assert!(birth_topics("a/b").is_empty());
    assert_eq!(value::datatype_name(31), "DoubleArray");
    assert_eq!(value::datatype_name(99), "Unknown(99)");
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..200) {
        if let Err(e) = decode(&bytes, None) {
            prop_assert!(e.offset <= bytes.len());
        }
        let valid = birth();
        let cut = cut.min(valid.len());
        if let Err(e) = decode(&valid[..cut], None) {
            prop_assert!(e.offset <= cut);
        }
    }
}
