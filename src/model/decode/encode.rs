//! JSON to bytes: the inverse of the decoders' JSON mapping, for publishing through a binding.
//! `decode(encode(json)) == json` for every value a decoder can produce.
//!
//! The tagged objects of the [module docs](super) are read back: `{"$bytes": "<base64>"}` is a byte
//! string, `{"$tag": n, "value": v}` a CBOR tag, `{"$ext": type, "data": {"$bytes": …}}` a
//! MessagePack extension and `{"$map": [[key, value], …]}` a map with keys of any type. Integers
//! stay integers and other numbers become 64-bit floats; strings stay strings (so `"NaN"` is text).
//! Protobuf is read as the protobuf JSON mapping by prost-reflect. Pure: no I/O, no panic.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Decoder, ProtoSchema};

/// Deepest nesting encoded (the decoders refuse deeper input too).
const MAX_DEPTH: usize = 128;

/// Why a JSON value cannot be encoded, and where in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct EncodeError {
    /// Where in the value (`$.samples[1].raw`; empty for the whole value).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl EncodeError {
    pub(crate) fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { path: path.into(), reason: reason.into() }
    }
}

/// Encode `json` as `format`; Protobuf needs `schema` (the binding's message type).
///
/// # Errors
/// A value the format cannot hold as written: a malformed tagged object (`$bytes` that is not
/// base64, …), nesting deeper than 128, a field the Protobuf type does not have or of the wrong
/// type; Sparkplug B, which is not encoded from JSON here.
pub fn encode(format: Decoder, json: &Value, schema: Option<&ProtoSchema>) -> Result<Vec<u8>, EncodeError> {
    match format {
        Decoder::Cbor => {
            let value: ciborium::Value = build(json, &mut "$".to_owned(), 0)?;
            let mut out = Vec::new();
            ciborium::ser::into_writer(&value, &mut out).map_err(|e| EncodeError::new("", e.to_string()))?;
            Ok(out)
        }
        Decoder::MsgPack => {
            let value: rmpv::Value = build(json, &mut "$".to_owned(), 0)?;
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &value).map_err(|e| EncodeError::new("", e.to_string()))?;
            Ok(out)
        }
        Decoder::Protobuf => match schema {
            Some(schema) => schema.encode(json).map_err(|e| EncodeError::new("", e)),
            None => Err(EncodeError::new("", "Protobuf needs a .proto schema")),
        },
        Decoder::Sparkplug => Err(EncodeError::new("", "Sparkplug B payloads are not encoded from JSON here")),
    }
}

/// A value of either format, built by [`build`].
trait Target: Sized {
    fn null() -> Self;
    fn bool(b: bool) -> Self;
    fn number(n: &serde_json::Number) -> Self;
    fn text(s: &str) -> Self;
    fn bytes(b: Vec<u8>) -> Self;
    fn array(items: Vec<Self>) -> Self;
    fn map(entries: Vec<(Self, Self)>) -> Self;
    /// The format's own tagged object (`$tag` for CBOR, `$ext` for MessagePack), if `map` is one.
    fn special(map: &Map<String, Value>, path: &mut String, depth: usize) -> Option<Result<Self, EncodeError>>;
}

/// `json` as a value of the target format; `path` names where we are, for errors.
fn build<T: Target>(json: &Value, path: &mut String, depth: usize) -> Result<T, EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError::new(path.clone(), format!("nested deeper than {MAX_DEPTH}")));
    }
    Ok(match json {
        Value::Null => T::null(),
        Value::Bool(b) => T::bool(*b),
        Value::Number(n) => T::number(n),
        Value::String(s) => T::text(s),
        Value::Array(items) => {
            T::array(each(items.iter().enumerate(), path, |(i, _)| format!("[{i}]"), |(_, v), p| build(v, p, depth + 1))?)
        }
        Value::Object(map) => {
            if let Some(special) = T::special(map, path, depth) {
                return special;
            }
            match (map.len(), map.get("$bytes"), map.get("$map")) {
                (1, Some(b64), _) => T::bytes(base64_at(b64, path, "$bytes")?),
                (1, _, Some(pairs)) => T::map(map_pairs(pairs, path, depth)?),
                _ => {
                    let entries = each(map.iter(), path, |(k, _)| format!(".{k}"), |(k, v), p| Ok((T::text(k), build(v, p, depth + 1)?)))?;
                    T::map(entries)
                }
            }
        }
    })
}

/// Map `f` over `items`, each with its place appended to `path` (restored after).
fn each<I: Iterator, R>(
    items: I,
    path: &mut String,
    place: impl Fn(&I::Item) -> String,
    mut f: impl FnMut(I::Item, &mut String) -> Result<R, EncodeError>,
) -> Result<Vec<R>, EncodeError> {
    let len = path.len();
    let mut out = Vec::new();
    for item in items {
        path.push_str(&place(&item));
        out.push(f(item, path)?);
        path.truncate(len);
    }
    Ok(out)
}

/// The bytes of a `{"$bytes": "<base64>"}` (standard alphabet, padded).
fn base64_at(b64: &Value, path: &str, key: &str) -> Result<Vec<u8>, EncodeError> {
    let Value::String(text) = b64 else { return Err(EncodeError::new(path, format!("{key} must be a base64 string"))) };
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| EncodeError::new(path, format!("{key} is not base64: {e}")))
}

/// The entries of `{"$map": [[key, value], …]}`.
fn map_pairs<T: Target>(pairs: &Value, path: &mut String, depth: usize) -> Result<Vec<(T, T)>, EncodeError> {
    let Value::Array(pairs) = pairs else { return Err(EncodeError::new(path.clone(), "$map must be a list of [key, value] pairs")) };
    each(
        pairs.iter().enumerate(),
        path,
        |(i, _)| format!(".$map[{i}]"),
        |(_, pair), p| match pair.as_array().map(Vec::as_slice) {
            Some([k, v]) => Ok((build(k, p, depth + 1)?, build(v, p, depth + 1)?)),
            _ => Err(EncodeError::new(p.clone(), "each $map entry must be [key, value]")),
        },
    )
}

/// The two members of a tagged object `{tag: …, second: …}`, if `map` is exactly that.
fn two<'a>(map: &'a Map<String, Value>, tag: &str, second: &str) -> Option<(&'a Value, &'a Value)> {
    (map.len() == 2).then(|| map.get(tag).zip(map.get(second))).flatten()
}

impl Target for ciborium::Value {
    fn null() -> Self {
        Self::Null
    }
    fn bool(b: bool) -> Self {
        Self::Bool(b)
    }
    fn number(n: &serde_json::Number) -> Self {
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Self::Integer(i.into()),
            (_, Some(u)) => Self::Integer(u.into()),
            _ => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
    fn text(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
    fn bytes(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
    fn array(items: Vec<Self>) -> Self {
        Self::Array(items)
    }
    fn map(entries: Vec<(Self, Self)>) -> Self {
        Self::Map(entries)
    }
    fn special(map: &Map<String, Value>, path: &mut String, depth: usize) -> Option<Result<Self, EncodeError>> {
        let (tag, value) = two(map, "$tag", "value")?;
        Some(match tag.as_u64() {
            Some(tag) => {
                let len = path.len();
                path.push_str(".value");
                let inner = build(value, path, depth + 1);
                path.truncate(len);
                inner.map(|v| Self::Tag(tag, Box::new(v)))
            }
            None => Err(EncodeError::new(path.clone(), "$tag must be a non-negative integer")),
        })
    }
}

impl Target for rmpv::Value {
    fn null() -> Self {
        Self::Nil
    }
    fn bool(b: bool) -> Self {
        Self::Boolean(b)
    }
    fn number(n: &serde_json::Number) -> Self {
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Self::from(i),
            (_, Some(u)) => Self::from(u),
            _ => Self::F64(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
    fn text(s: &str) -> Self {
        Self::from(s)
    }
    fn bytes(b: Vec<u8>) -> Self {
        Self::Binary(b)
    }
    fn array(items: Vec<Self>) -> Self {
        Self::Array(items)
    }
    fn map(entries: Vec<(Self, Self)>) -> Self {
        Self::Map(entries)
    }
    fn special(map: &Map<String, Value>, path: &mut String, _depth: usize) -> Option<Result<Self, EncodeError>> {
        let (ty, data) = two(map, "$ext", "data")?;
        let Some(ty) = ty.as_i64().and_then(|t| i8::try_from(t).ok()) else {
            return Some(Err(EncodeError::new(path.clone(), "$ext must be an integer from -128 to 127")));
        };
        let at = format!("{path}.data");
        Some(match data.as_object().filter(|d| d.len() == 1).and_then(|d| d.get("$bytes")) {
            Some(b64) => base64_at(b64, &at, "$bytes").map(|b| Self::Ext(ty, b)),
            None => Err(EncodeError::new(at, "data must be {\"$bytes\": \"<base64>\"}")),
        })
    }
}

#[cfg(test)]
mod tests;
