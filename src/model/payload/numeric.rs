//! The number a payload stands for ([`numeric_value`]) and the numeric leaves of a JSON
//! payload ([`numeric_paths`]), for charts.

use serde_json::Value;

use super::{JsonPath, PathSegment, parse_json, strip_bom};

/// Longest (trimmed) text that [`numeric_value`] tries to read as a number.
const NUMBER_TEXT_LIMIT: usize = 64;

/// The number a payload stands for, for charts; `None` if none (NaN and infinities too).
///
/// Without a path (or with the empty root path) the whole payload is read as text:
/// a decimal number with optional sign, fraction and exponent (`21.5`, `-3e2`, `+.5`),
/// optionally followed by a unit made of letters, `°`, `%`, `‰`, `/`, `²`, `³` or `·`
/// (`21.5 °C`, `42%`, `3 m/s`, and so also `12abc` → 12), or `true`/`false`/`on`/`off`
/// (any case) → 1/0, or a JSON string holding any of these. Comma decimals (`1,5`),
/// hex (`0x1f`) and anything else are rejected. Objects and arrays need a path.
///
/// With a path the payload must be JSON and the value at the path is a number, a bool or
/// a string read as above.
#[must_use]
pub fn numeric_value(payload: &[u8], path: Option<&JsonPath>) -> Option<f64> {
    if let Some(path) = path.filter(|p| !p.0.is_empty()) {
        return parse_json(payload).and_then(|v| path.get(&v).and_then(leaf_number));
    }
    let trimmed = strip_bom(payload).trim_ascii();
    if trimmed.len() > NUMBER_TEXT_LIMIT {
        return None;
    }
    let text = std::str::from_utf8(trimmed).ok()?;
    if text.starts_with('"') {
        return serde_json::from_str::<Value>(text).ok().as_ref().and_then(leaf_number);
    }
    number_in_text(text)
}

/// The number at `path` (the root if `None`) inside an already decoded value, read like
/// [`numeric_value`] reads a JSON payload's field.
#[must_use]
pub fn numeric_at(value: &Value, path: Option<&JsonPath>) -> Option<f64> {
    match path {
        Some(path) => path.get(value).and_then(leaf_number),
        None => leaf_number(value),
    }
}

/// A JSON leaf as a number: numbers, bools (1/0) and numeric strings.
fn leaf_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) if s.len() <= NUMBER_TEXT_LIMIT => number_in_text(s.trim()),
        _ => None,
    }
}

/// Reads trimmed text as described on [`numeric_value`].
fn number_in_text(s: &str) -> Option<f64> {
    if ["true", "on"].iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return Some(1.0);
    }
    if ["false", "off"].iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return Some(0.0);
    }
    let b = s.as_bytes();
    let digits_from = |i: usize| b.get(i..).map_or(0, |rest| rest.iter().take_while(|c| c.is_ascii_digit()).count());
    let mut end = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut digits = digits_from(end);
    end += digits;
    if b.get(end) == Some(&b'.') {
        let fraction = digits_from(end + 1);
        digits += fraction;
        end += 1 + fraction;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits_from(end + 1 + sign);
        if exponent > 0 {
            end += 1 + sign + exponent;
        }
    }
    let (number, unit) = s.split_at(end);
    let unit_ok = unit.trim_start().chars().all(|c| c.is_alphabetic() || matches!(c, '°' | '%' | '‰' | '/' | '²' | '³' | '·'));
    number.parse::<f64>().ok().filter(|x| x.is_finite() && unit_ok)
}

/// All numeric leaves (numbers, bools, numeric strings, as [`numeric_value`] reads them) of a
/// JSON payload with their paths, depth-first in document order, at most `limit` of them.
#[must_use]
pub fn numeric_paths(payload: &[u8], limit: usize) -> Vec<(JsonPath, f64)> {
    let mut out = Vec::new();
    if limit > 0
        && let Some(v) = parse_json(payload)
    {
        collect_numbers(&v, &mut Vec::new(), limit, &mut out);
    }
    out
}

/// Depth is bounded by `serde_json`'s recursion limit, the only source of these values.
fn collect_numbers(v: &Value, path: &mut Vec<PathSegment>, limit: usize, out: &mut Vec<(JsonPath, f64)>) {
    let children: Box<dyn Iterator<Item = (PathSegment, &Value)>> = match v {
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (PathSegment::Key(k.clone()), v))),
        Value::Array(items) => Box::new(items.iter().enumerate().map(|(i, v)| (PathSegment::Index(i), v))),
        leaf => {
            if let Some(x) = leaf_number(leaf) {
                out.push((JsonPath(path.clone()), x));
            }
            return;
        }
    };
    for (segment, child) in children {
        if out.len() >= limit {
            return;
        }
        path.push(segment);
        collect_numbers(child, path, limit, out);
        path.pop();
    }
}
