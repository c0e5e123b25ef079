use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// A typed value of a command datatype, the text a user would type for it, and the JSON the
/// decoder must give back.
fn typed_value() -> impl Strategy<Value = (u32, String, Value)> {
    prop_oneof![
        any::<i8>().prop_map(|v| (1, v.to_string(), json!(v))),
        any::<i16>().prop_map(|v| (2, v.to_string(), json!(v))),
        any::<i32>().prop_map(|v| (3, v.to_string(), json!(v))),
        any::<i64>().prop_map(|v| (4, v.to_string(), json!(v))),
        any::<u8>().prop_map(|v| (5, v.to_string(), json!(v))),
        any::<u16>().prop_map(|v| (6, v.to_string(), json!(v))),
        any::<u32>().prop_map(|v| (7, v.to_string(), json!(v))),
        any::<u64>().prop_map(|v| (8, v.to_string(), json!(v))),
        proptest::num::f32::NORMAL.prop_map(|v| (9, v.to_string(), json!(f64::from(v)))),
        proptest::num::f64::NORMAL.prop_map(|v| (10, v.to_string(), json!(v))),
        any::<bool>().prop_map(|v| (11, v.to_string(), json!(v))),
        ".{0,20}".prop_map(|v| (12, v.clone(), json!(v))),
        any::<u64>().prop_map(|v| (13, v.to_string(), json!(v))),
    ]
}

proptest! {
    #[test]
    fn a_command_decodes_to_the_metrics_typed(metrics in proptest::collection::vec(typed_value(), 1..6), ts in any::<u64>()) {
        let list: Vec<CommandMetric> = metrics
            .iter()
            .enumerate()
            .map(|(i, (datatype, text, _))| CommandMetric {
                name: format!("m{i}"),
                datatype: *datatype,
                value: parse_value(*datatype, text).expect("a typed value parses"),
            })
            .collect();
        let decoded = super::super::decode(&encode_command(ts, list), None).expect("decode");
        prop_assert_eq!(&decoded["timestamp"], &json!(ts));
        prop_assert!(decoded.get("seq").is_none(), "a command carries no seq");
        for (i, (datatype, _, expected)) in metrics.iter().enumerate() {
            let m = &decoded["metrics"][format!("m{i}")];
            prop_assert_eq!(&m["datatype"], &json!(datatype_name(*datatype)));
            prop_assert_eq!(&m["value"], expected);
            prop_assert_eq!(&m["timestamp"], &json!(ts));
        }
    }

    #[test]
    fn any_text_is_a_value_or_a_reason_never_a_panic(datatype in 0u32..40, text in ".{0,30}") {
        if let Err(reason) = parse_value(datatype, &text) {
            prop_assert!(!reason.is_empty());
        }
    }
}

#[test]
fn values_that_do_not_fit_their_datatype_are_explained() {
    assert_eq!(parse_value(1, "128"), Err("Int8 holds -128 to 127".to_owned()));
    assert_eq!(parse_value(5, "-1"), Err("UInt8 holds 0 to 255".to_owned()));
    assert_eq!(parse_value(3, "1.5"), Err("Int32 takes a whole number".to_owned()));
    assert_eq!(parse_value(8, "18446744073709551616"), Err("UInt64 holds 0 to 18446744073709551615".to_owned()));
    assert_eq!(parse_value(11, "yes"), Err("Boolean is true or false".to_owned()));
    assert!(parse_value(9, "1e39").is_err_and(|e| e.starts_with("Float holds up to")));
    assert!(parse_value(10, "abc").is_err_and(|e| e.starts_with("Double takes a number")));
    assert_eq!(parse_value(16, "x"), Err("a command cannot be written as DataSet here".to_owned()));
    assert_eq!(parse_value(11, " TRUE "), Ok(MetricValue::BooleanValue(true)));
    assert_eq!(parse_value(1, "-1"), Ok(MetricValue::IntValue(u32::MAX)), "sign-extended to 32 bits");
}

#[test]
fn topics_and_birth_metrics_for_prefilling() {
    assert_eq!(command_topic("plant", "edge1", None), "spBv1.0/plant/NCMD/edge1");
    assert_eq!(command_topic("plant", "edge1", Some("dev1")), "spBv1.0/plant/DCMD/edge1/dev1");
    let birth = super::super::tests::birth();
    assert_eq!(birth_metrics(&birth), [("Temperature".to_owned(), 10, "21.5".to_owned()), ("Offset".to_owned(), 3, "-7".to_owned())]);
    assert!(birth_metrics(&[0xff]).is_empty());
}
