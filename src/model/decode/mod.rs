//! Binary payload decoders: Sparkplug B, Protobuf (from the user's .proto), CBOR and MessagePack
//! to a JSON-like [`serde_json::Value`], so that decoded messages use the same tree view, diff and
//! "Plot" as JSON payloads; and the [`encode`]rs that turn such a value back into bytes.
//!
//! Owns: [`Decoder`] (which format), [`decode`] (bytes to value, or a [`DecodeError`] with the byte
//! offset), the per-topic [`binding`]s, the compiled [`schemas`] and the Sparkplug alias state
//! ([`sparkplug::Aliases`]).
//! Pure and bounded: no egui, no tokio, never a panic on hostile input (each decoder has a
//! recursion limit and caps pre-allocation by the bytes actually present).
//!
//! What JSON cannot hold is written faithfully as small tagged objects: byte strings as
//! `{"$bytes": "<base64>"}`, CBOR tags as `{"$tag": n, "value": …}`, MessagePack extensions as
//! `{"$ext": type, "data": "<base64>"}`, maps with a non-string key as `{"$map": [[key, value], …]}`,
//! and non-finite floats as the strings `"NaN"`, `"inf"`, `"-inf"`.

pub mod binding;
mod cbor;
pub mod encode;
mod msgpack;
pub mod protobuf;
pub mod schemas;
pub mod sparkplug;
mod wire;

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

pub use binding::{BindingFile, DecoderBinding};
pub use encode::{EncodeError, encode};
pub use protobuf::{ProtoRef, ProtoSchema};
pub use schemas::{Decoders, SchemaStatus, Schemas};

/// A payload format the explorer can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoder {
    /// Eclipse Sparkplug B (protobuf `org.eclipse.tahu.protobuf.Payload`).
    Sparkplug,
    /// CBOR (RFC 8949).
    Cbor,
    /// MessagePack.
    #[serde(rename = "msgpack")]
    MsgPack,
    /// Protobuf, with a message type of a .proto file the binding names ([`ProtoRef`]).
    Protobuf,
}

impl Decoder {
    /// Every decoder that needs no schema, for menus (and the command line's names).
    pub const ALL: [Self; 3] = [Self::Sparkplug, Self::Cbor, Self::MsgPack];

    /// The name users see ("Sparkplug B").
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Sparkplug => "Sparkplug B",
            Self::Cbor => "CBOR",
            Self::MsgPack => "MessagePack",
            Self::Protobuf => "Protobuf",
        }
    }

    /// The name on the command line (`sparkplug`, `cbor`, `msgpack`).
    #[must_use]
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Sparkplug => "sparkplug",
            Self::Cbor => "cbor",
            Self::MsgPack => "msgpack",
            Self::Protobuf => "protobuf",
        }
    }
}

impl std::str::FromStr for Decoder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.cli_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown decoder {s:?} (expected sparkplug, cbor or msgpack)"))
    }
}

/// Why a payload did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte {offset})")]
pub struct DecodeError {
    /// Byte offset of the problem in the payload (the payload's length when it ends too early).
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, reason: impl fmt::Display) -> Self {
        Self { offset, reason: reason.to_string() }
    }
}

/// Decode `bytes` as `decoder` says. Sparkplug metrics sent by alias only keep `"alias N"` names;
/// use [`decode_with`] to resolve them from a BIRTH.
///
/// # Errors
/// Bytes that are not a complete value of the format (truncated, trailing bytes, too deep).
pub fn decode(decoder: Decoder, bytes: &[u8]) -> Result<Value, DecodeError> {
    decode_with(decoder, bytes, None)
}

/// [`decode`], resolving Sparkplug aliases with `aliases` (learned from the edge node's BIRTHs).
/// Protobuf needs its schema: use [`ProtoSchema::decode`] (or [`Decoders::decode`]).
///
/// # Errors
/// As [`decode`]; always for [`Decoder::Protobuf`].
pub fn decode_with(decoder: Decoder, bytes: &[u8], aliases: Option<&sparkplug::Aliases>) -> Result<Value, DecodeError> {
    match decoder {
        Decoder::Sparkplug => sparkplug::decode(bytes, aliases),
        Decoder::Cbor => cbor::decode(bytes),
        Decoder::MsgPack => msgpack::decode(bytes),
        Decoder::Protobuf => Err(DecodeError::new(0, "Protobuf needs a .proto schema")),
    }
}

/// `{"$bytes": "<base64>"}`.
pub(crate) fn bytes_value(bytes: &[u8]) -> Value {
    tagged("$bytes", Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// A one-member object `{key: value}`.
pub(crate) fn tagged(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_owned(), value);
    Value::Object(map)
}

/// A float as JSON: a number when finite, else `"NaN"`, `"inf"` or `"-inf"`.
pub(crate) fn float_value(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or_else(
        || {
            Value::String(
                if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                }
                .to_owned(),
            )
        },
        Value::Number,
    )
}

/// A map as a JSON object when every key is a string (and none repeats), else `{"$map": [[k, v], …]}`.
pub(crate) fn map_value(entries: Vec<(Value, Value)>) -> Value {
    let all_strings = entries.iter().all(|(k, _)| k.is_string());
    if all_strings {
        let mut map = Map::new();
        for (k, v) in &entries {
            if let Value::String(k) = k {
                map.insert(k.clone(), v.clone());
            }
        }
        if map.len() == entries.len() {
            return Value::Object(map);
        }
    }
    tagged("$map", Value::Array(entries.into_iter().map(|(k, v)| Value::Array(vec![k, v])).collect()))
}

#[cfg(test)]
mod tests;
