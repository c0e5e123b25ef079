//! Sparkplug B commands (NCMD, DCMD) as a host application sends them: a metric list typed as text
//! (name, datatype, value) checked against each datatype's range, and encoded as a Tahu `Payload`
//! (timestamp, metrics with name, datatype and value; no `seq`, which belongs to the edge node).
//!
//! Owns: [`parse_value`] (text to a wire value, or why it does not fit), [`CommandMetric`],
//! [`encode_command`] and [`command_topic`]. Pure: the caller passes the timestamp.

use prost::Message as _;

use super::NAMESPACE;
use super::proto::{Metric, MetricValue, Payload};
use super::value::datatype_name;

/// Datatypes a command metric can be written in (scalars: Int8 … UUID).
pub const COMMAND_DATATYPES: [u32; 15] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Whether a command metric can be written in `datatype`.
#[must_use]
pub fn is_command_datatype(datatype: u32) -> bool {
    COMMAND_DATATYPES.contains(&datatype)
}

/// One metric of a command.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandMetric {
    /// Metric name, as in the edge node's BIRTH.
    pub name: String,
    /// Sparkplug datatype code.
    pub datatype: u32,
    /// The value, in the wire field its datatype uses (from [`parse_value`]).
    pub value: MetricValue,
}

/// A whole number in `min..=max`, or why not.
fn integer(text: &str, min: i128, max: i128, datatype: u32) -> Result<i128, String> {
    let n: i128 = text.parse().map_err(|_| format!("{} takes a whole number", datatype_name(datatype)))?;
    if (min..=max).contains(&n) { Ok(n) } else { Err(format!("{} holds {min} to {max}", datatype_name(datatype))) }
}

/// The value `text` means in `datatype`, in the wire field that datatype uses: Int8–Int32 as the
/// 32-bit two's complement in `int_value`, Int64 as the 64-bit one in `long_value`, UInt8–UInt32 in
/// `int_value`, UInt64 and DateTime (ms since the epoch) in `long_value`, Float, Double, Boolean
/// (`true`/`false`), and String, Text and UUID as text.
///
/// # Errors
/// Text that is not a value of `datatype` (out of range, not a number), or a datatype a command
/// cannot be written in here (arrays, datasets, templates, bytes, files): the reason, for the user.
pub fn parse_value(datatype: u32, text: &str) -> Result<MetricValue, String> {
    let t = text.trim();
    // Each arm checks the range first, so the casts below cannot truncate.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "range checked by `integer`")]
    let value = match datatype {
        1 => MetricValue::IntValue((integer(t, i8::MIN.into(), i8::MAX.into(), datatype)? as i32).cast_unsigned()),
        2 => MetricValue::IntValue((integer(t, i16::MIN.into(), i16::MAX.into(), datatype)? as i32).cast_unsigned()),
        3 => MetricValue::IntValue((integer(t, i32::MIN.into(), i32::MAX.into(), datatype)? as i32).cast_unsigned()),
        4 => MetricValue::LongValue((integer(t, i64::MIN.into(), i64::MAX.into(), datatype)? as i64).cast_unsigned()),
        5 => MetricValue::IntValue(integer(t, 0, u8::MAX.into(), datatype)? as u32),
        6 => MetricValue::IntValue(integer(t, 0, u16::MAX.into(), datatype)? as u32),
        7 => MetricValue::IntValue(integer(t, 0, u32::MAX.into(), datatype)? as u32),
        8 | 13 => MetricValue::LongValue(integer(t, 0, u64::MAX.into(), datatype)? as u64),
        9 => {
            let f: f32 = t.parse().map_err(|_| "Float takes a number (e.g. 1.5, -2e3)".to_owned())?;
            if f.is_infinite() && !t.to_ascii_lowercase().contains("inf") {
                return Err(format!("Float holds up to ±{:e}", f32::MAX));
            }
            MetricValue::FloatValue(f)
        }
        10 => {
            let f: f64 = t.parse().map_err(|_| "Double takes a number (e.g. 1.5, -2e3)".to_owned())?;
            if f.is_infinite() && !t.to_ascii_lowercase().contains("inf") {
                return Err(format!("Double holds up to ±{:e}", f64::MAX));
            }
            MetricValue::DoubleValue(f)
        }
        11 => match t.to_ascii_lowercase().as_str() {
            "true" => MetricValue::BooleanValue(true),
            "false" => MetricValue::BooleanValue(false),
            _ => return Err("Boolean is true or false".to_owned()),
        },
        // Text is taken as typed (spaces included).
        12 | 14 | 15 => MetricValue::StringValue(text.to_owned()),
        other => return Err(format!("a command cannot be written as {} here", datatype_name(other))),
    };
    Ok(value)
}

/// The payload of an NCMD or DCMD: `timestamp_ms` on the payload and on each metric.
#[must_use]
pub fn encode_command(timestamp_ms: u64, metrics: Vec<CommandMetric>) -> Vec<u8> {
    let metrics = metrics
        .into_iter()
        .map(|m| Metric {
            name: Some(m.name),
            timestamp: Some(timestamp_ms),
            datatype: Some(m.datatype),
            value: Some(m.value),
            ..Metric::default()
        })
        .collect();
    Payload { timestamp: Some(timestamp_ms), metrics, ..Payload::default() }.encode_to_vec()
}

/// `spBv1.0/{group}/NCMD/{node}`, or `spBv1.0/{group}/DCMD/{node}/{device}` for a device.
#[must_use]
pub fn command_topic(group: &str, node: &str, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("{NAMESPACE}/{group}/DCMD/{node}/{device}"),
        None => format!("{NAMESPACE}/{group}/NCMD/{node}"),
    }
}

/// The metrics a BIRTH payload names, with their datatypes and values as text (for prefilling a
/// command): those a command can be written in, in the BIRTH's order, `bdSeq` left out.
#[must_use]
pub fn birth_metrics(birth: &[u8]) -> Vec<(String, u32, String)> {
    let Ok(payload) = Payload::decode(birth) else { return Vec::new() };
    payload
        .metrics
        .into_iter()
        .filter_map(|m| {
            let (name, datatype) = (m.name?, m.datatype?);
            if name == "bdSeq" || !is_command_datatype(datatype) {
                return None;
            }
            let text = m.value.map(|v| value_text(datatype, &v)).unwrap_or_default();
            Some((name, datatype, text))
        })
        .collect()
}

/// A scalar wire value as [`parse_value`] reads it back.
fn value_text(datatype: u32, value: &MetricValue) -> String {
    match value {
        MetricValue::IntValue(i) if matches!(datatype, 1..=3) => i.cast_signed().to_string(),
        MetricValue::IntValue(i) => i.to_string(),
        MetricValue::LongValue(l) if datatype == 4 => l.cast_signed().to_string(),
        MetricValue::LongValue(l) => l.to_string(),
        MetricValue::FloatValue(f) => f.to_string(),
        MetricValue::DoubleValue(d) => d.to_string(),
        MetricValue::BooleanValue(b) => b.to_string(),
        MetricValue::StringValue(s) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
