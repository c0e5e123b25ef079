//! MessagePack via rmpv: one complete value, nothing after it.

use rmpv::Value as Mp;
use serde_json::Value;

use super::{DecodeError, bytes_value, float_value, map_value};

/// Decode one MessagePack value filling `bytes` exactly.
pub(super) fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value(&mut rest).map_err(|e| error(bytes.len() - rest.len(), &e))?;
    if !rest.is_empty() {
        return Err(DecodeError::new(bytes.len() - rest.len(), format!("{} bytes after the MessagePack value", rest.len())));
    }
    Ok(to_json(value))
}

fn error(consumed: usize, err: &rmpv::decode::Error) -> DecodeError {
    use rmpv::decode::Error;
    let eof = |e: &std::io::Error| e.kind() == std::io::ErrorKind::UnexpectedEof;
    match err {
        Error::InvalidMarkerRead(e) | Error::InvalidDataRead(e) if eof(e) => DecodeError::new(consumed, "MessagePack ends too early"),
        Error::DepthLimitExceeded => DecodeError::new(consumed, "MessagePack nested too deeply"),
        e => DecodeError::new(consumed, e),
    }
}

fn to_json(value: Mp) -> Value {
    match value {
        Mp::Nil => Value::Null,
        Mp::Boolean(b) => Value::Bool(b),
        Mp::Integer(i) => i.as_i64().map(Value::from).or_else(|| i.as_u64().map(Value::from)).unwrap_or(Value::Null),
        Mp::F32(f) => float_value(f64::from(f)),
        Mp::F64(f) => float_value(f),
        // Invalid UTF-8 is kept as the bytes it is.
        Mp::String(s) if s.is_str() => s.into_str().map_or(Value::Null, Value::String),
        Mp::String(s) => bytes_value(&s.into_bytes()),
        Mp::Binary(b) => bytes_value(&b),
        Mp::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Mp::Map(entries) => map_value(entries.into_iter().map(|(k, v)| (to_json(k), to_json(v))).collect()),
        Mp::Ext(ty, data) => {
            let mut map = serde_json::Map::new();
            map.insert("$ext".to_owned(), Value::from(ty));
            map.insert("data".to_owned(), bytes_value(&data));
            Value::Object(map)
        }
    }
}
