//! Sparkplug metric values as JSON: signed integers restored from their unsigned wire fields by the
//! metric's datatype, arrays unpacked from their little-endian bytes, datasets as columns and rows,
//! templates and property sets expanded.

use serde_json::{Map, Value};

use super::super::{bytes_value, float_value};
use super::Aliases;
use super::proto::{DataSet, DataSetValueValue, Metric, MetricValue, ParameterValue, PropertySet, PropertyValueValue, Template};

/// Name of a Sparkplug datatype code (`"Double"`, `"Int32Array"`), or `"Unknown(n)"`.
#[must_use]
pub fn datatype_name(code: u32) -> String {
    const NAMES: [&str; 35] = [
        "Unknown",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float",
        "Double",
        "Boolean",
        "String",
        "DateTime",
        "Text",
        "UUID",
        "DataSet",
        "Bytes",
        "File",
        "Template",
        "PropertySet",
        "PropertySetList",
        "Int8Array",
        "Int16Array",
        "Int32Array",
        "Int64Array",
        "UInt8Array",
        "UInt16Array",
        "UInt32Array",
        "UInt64Array",
        "FloatArray",
        "DoubleArray",
        "BooleanArray",
        "StringArray",
        "DateTimeArray",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).map_or_else(|| format!("Unknown({code})"), |n| (*n).to_owned())
}

/// The metrics object: one member per metric, keyed by its name (or the name its alias had in
/// the BIRTH, or `"alias N"`); a repeated name gets ` (2)`, ` (3)`….
pub(super) fn metrics(list: Vec<Metric>, aliases: Option<&Aliases>) -> Map<String, Value> {
    let mut out = Map::new();
    for m in list {
        let base = match (&m.name, m.alias) {
            (Some(name), _) => name.clone(),
            (None, Some(alias)) => aliases.and_then(|a| a.name(alias)).map_or_else(|| format!("alias {alias}"), str::to_owned),
            (None, None) => "(unnamed)".to_owned(),
        };
        let mut key = base.clone();
        let mut n = 1;
        while out.contains_key(&key) {
            n += 1;
            key = format!("{base} ({n})");
        }
        out.insert(key, metric(m, aliases));
    }
    out
}

fn metric(m: Metric, aliases: Option<&Aliases>) -> Value {
    let mut out = Map::new();
    if let Some(alias) = m.alias {
        out.insert("alias".into(), alias.into());
    }
    let datatype = m.datatype.unwrap_or(0);
    out.insert("datatype".into(), datatype_name(datatype).into());
    let value = if m.is_null == Some(true) { Value::Null } else { m.value.map_or(Value::Null, |v| metric_value(datatype, v, aliases)) };
    out.insert("value".into(), value);
    if let Some(t) = m.timestamp {
        out.insert("timestamp".into(), t.into());
    }
    for (flag, set) in [("is_historical", m.is_historical), ("is_transient", m.is_transient), ("is_null", m.is_null)] {
        if set == Some(true) {
            out.insert(flag.into(), true.into());
        }
    }
    if let Some(p) = m.properties {
        out.insert("properties".into(), property_set(p));
    }
    if let Some(md) = m.metadata {
        let mut meta = Map::new();
        let fields: [(&str, Option<Value>); 8] = [
            ("is_multi_part", md.is_multi_part.map(Value::from)),
            ("content_type", md.content_type.map(Value::from)),
            ("size", md.size.map(Value::from)),
            ("seq", md.seq.map(Value::from)),
            ("file_name", md.file_name.map(Value::from)),
            ("file_type", md.file_type.map(Value::from)),
            ("md5", md.md5.map(Value::from)),
            ("description", md.description.map(Value::from)),
        ];
        meta.extend(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))));
        out.insert("metadata".into(), Value::Object(meta));
    }
    Value::Object(out)
}

/// A 32-bit wire integer read as the datatype says (Int8..Int32 are sign-extended into it).
fn int32(datatype: u32, v: u32) -> Value {
    if matches!(datatype, 1..=3) { Value::from(v.cast_signed()) } else { Value::from(v) }
}

/// A 64-bit wire integer: Int64 is two's complement, the rest (UInt64, DateTime) unsigned.
fn int64(datatype: u32, v: u64) -> Value {
    if datatype == 4 { Value::from(v.cast_signed()) } else { Value::from(v) }
}

fn metric_value(datatype: u32, v: MetricValue, aliases: Option<&Aliases>) -> Value {
    match v {
        MetricValue::IntValue(i) => int32(datatype, i),
        MetricValue::LongValue(l) => int64(datatype, l),
        MetricValue::FloatValue(f) => float_value(f64::from(f)),
        MetricValue::DoubleValue(d) => float_value(d),
        MetricValue::BooleanValue(b) => b.into(),
        MetricValue::StringValue(s) => s.into(),
        MetricValue::BytesValue(b) => array(datatype, &b).unwrap_or_else(|| bytes_value(&b)),
        MetricValue::DatasetValue(d) => dataset(d),
        MetricValue::TemplateValue(t) => template(t, aliases),
    }
}

/// The elements of an array datatype (22..=34), packed little-endian in a bytes value; `None` for
/// other datatypes or bytes that do not divide into whole elements.
fn array(datatype: u32, b: &[u8]) -> Option<Value> {
    fn each<const N: usize>(b: &[u8], f: impl Fn([u8; N]) -> Value) -> Option<Value> {
        if !b.len().is_multiple_of(N) {
            return None;
        }
        Some(Value::Array(b.chunks_exact(N).filter_map(|c| c.try_into().ok()).map(f).collect()))
    }
    match datatype {
        22 => each(b, |c: [u8; 1]| i8::from_le_bytes(c).into()),
        23 => each(b, |c: [u8; 2]| i16::from_le_bytes(c).into()),
        24 => each(b, |c: [u8; 4]| i32::from_le_bytes(c).into()),
        25 => each(b, |c: [u8; 8]| i64::from_le_bytes(c).into()),
        26 => each(b, |c: [u8; 1]| u8::from_le_bytes(c).into()),
        27 => each(b, |c: [u8; 2]| u16::from_le_bytes(c).into()),
        28 => each(b, |c: [u8; 4]| u32::from_le_bytes(c).into()),
        29 | 34 => each(b, |c: [u8; 8]| u64::from_le_bytes(c).into()),
        30 => each(b, |c: [u8; 4]| float_value(f64::from(f32::from_le_bytes(c)))),
        31 => each(b, |c: [u8; 8]| float_value(f64::from_le_bytes(c))),
        32 => {
            // A 4-byte little-endian count, then the bits, most significant first.
            let count = usize::try_from(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)).ok()?;
            let bits = &b[4..];
            if count.div_ceil(8) != bits.len() {
                return None;
            }
            Some(Value::Array((0..count).map(|i| Value::Bool(bits[i / 8] & (0x80 >> (i % 8)) != 0)).collect()))
        }
        33 => {
            // Strings, each ended by a NUL.
            let body = b.strip_suffix(&[0])?;
            Some(Value::Array(body.split(|&c| c == 0).map(|s| String::from_utf8_lossy(s).into_owned().into()).collect()))
        }
        _ => None,
    }
}

fn dataset(d: DataSet) -> Value {
    let mut out = Map::new();
    out.insert("columns".into(), d.columns.into_iter().map(Value::from).collect());
    out.insert("types".into(), d.types.iter().map(|&t| Value::from(datatype_name(t))).collect());
    let rows = d
        .rows
        .into_iter()
        .map(|row| {
            row.elements
                .into_iter()
                .zip(d.types.iter().copied().chain(std::iter::repeat(0)))
                .map(|(cell, ty)| match cell.value {
                    None => Value::Null,
                    Some(DataSetValueValue::IntValue(i)) => int32(ty, i),
                    Some(DataSetValueValue::LongValue(l)) => int64(ty, l),
                    Some(DataSetValueValue::FloatValue(f)) => float_value(f64::from(f)),
                    Some(DataSetValueValue::DoubleValue(f)) => float_value(f),
                    Some(DataSetValueValue::BooleanValue(b)) => b.into(),
                    Some(DataSetValueValue::StringValue(s)) => s.into(),
                })
                .collect::<Value>()
        })
        .collect();
    out.insert("rows".into(), rows);
    Value::Object(out)
}

fn template(t: Template, aliases: Option<&Aliases>) -> Value {
    let mut out = Map::new();
    if let Some(r) = t.template_ref {
        out.insert("template_ref".into(), r.into());
    }
    if let Some(v) = t.version {
        out.insert("version".into(), v.into());
    }
    if let Some(d) = t.is_definition {
        out.insert("is_definition".into(), d.into());
    }
    let mut params = Map::new();
    for p in t.parameters {
        let ty = p.r#type.unwrap_or(0);
        let v = match p.value {
            None => Value::Null,
            Some(ParameterValue::IntValue(i)) => int32(ty, i),
            Some(ParameterValue::LongValue(l)) => int64(ty, l),
            Some(ParameterValue::FloatValue(f)) => float_value(f64::from(f)),
            Some(ParameterValue::DoubleValue(f)) => float_value(f),
            Some(ParameterValue::BooleanValue(b)) => b.into(),
            Some(ParameterValue::StringValue(s)) => s.into(),
        };
        params.insert(p.name.unwrap_or_default(), v);
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Object(params));
    }
    out.insert("metrics".into(), Value::Object(metrics(t.metrics, aliases)));
    Value::Object(out)
}

fn property_set(p: PropertySet) -> Value {
    let mut out = Map::new();
    for (k, v) in p.keys.into_iter().zip(p.values) {
        let ty = v.r#type.unwrap_or(0);
        let value = if v.is_null == Some(true) {
            Value::Null
        } else {
            match v.value {
                None => Value::Null,
                Some(PropertyValueValue::IntValue(i)) => int32(ty, i),
                Some(PropertyValueValue::LongValue(l)) => int64(ty, l),
                Some(PropertyValueValue::FloatValue(f)) => float_value(f64::from(f)),
                Some(PropertyValueValue::DoubleValue(f)) => float_value(f),
                Some(PropertyValueValue::BooleanValue(b)) => b.into(),
                Some(PropertyValueValue::StringValue(s)) => s.into(),
                Some(PropertyValueValue::PropertysetValue(s)) => property_set(s),
                Some(PropertyValueValue::PropertysetsValue(l)) => l.propertyset.into_iter().map(property_set).collect(),
            }
        };
        out.insert(k, value);
    }
    Value::Object(out)
}
