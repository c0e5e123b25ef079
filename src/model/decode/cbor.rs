//! CBOR via ciborium: one complete data item, nothing after it.

use ciborium::value::Value as Cbor;
use serde_json::Value;

use super::{DecodeError, bytes_value, float_value, map_value};

/// Decode one CBOR data item filling `bytes` exactly.
pub(super) fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let value: Cbor = ciborium::de::from_reader(&mut rest).map_err(|e| error(bytes.len() - rest.len(), e))?;
    if !rest.is_empty() {
        return Err(DecodeError::new(bytes.len() - rest.len(), format!("{} bytes after the CBOR item", rest.len())));
    }
    Ok(to_json(value))
}

fn error(consumed: usize, err: ciborium::de::Error<std::io::Error>) -> DecodeError {
    use ciborium::de::Error;
    match err {
        Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => DecodeError::new(consumed, "CBOR ends too early"),
        Error::Io(e) => DecodeError::new(consumed, e),
        Error::Syntax(offset) => DecodeError::new(offset, "invalid CBOR"),
        Error::Semantic(offset, reason) => DecodeError::new(offset.unwrap_or(consumed), reason),
        Error::RecursionLimitExceeded => DecodeError::new(consumed, "CBOR nested too deeply"),
    }
}

fn to_json(value: Cbor) -> Value {
    match value {
        Cbor::Integer(i) => {
            let i = i128::from(i);
            i64::try_from(i)
                .map(Value::from)
                .or_else(|_| u64::try_from(i).map(Value::from))
                .unwrap_or_else(|_| Value::String(i.to_string()))
        }
        Cbor::Bytes(b) => bytes_value(&b),
        Cbor::Float(f) => float_value(f),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Tag(tag, inner) => {
            let mut map = serde_json::Map::new();
            map.insert("$tag".to_owned(), Value::from(tag));
            map.insert("value".to_owned(), to_json(*inner));
            Value::Object(map)
        }
        Cbor::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Cbor::Map(entries) => map_value(entries.into_iter().map(|(k, v)| (to_json(k), to_json(v))).collect()),
        // Null, and whatever a later ciborium adds to its non-exhaustive Value.
        _ => Value::Null,
    }
}
