//! Protobuf payloads described by the user's .proto files, compiled at run time in pure Rust
//! (protox, no protoc) and decoded dynamically (prost-reflect) to the protobuf JSON mapping with
//! the .proto's field names (64-bit integers as strings, bytes as base64, enums by name).
//!
//! [`ProtoSchema::compile`] reads the .proto and its imports from disk: callers run it off the UI
//! thread (the command line at start). [`ProtoSchema::decode`] is pure.

use std::path::Path;

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

use super::{DecodeError, wire};

/// One message type of a compiled .proto file.
#[derive(Clone, Debug)]
pub struct ProtoSchema {
    message: MessageDescriptor,
}

/// Why a .proto could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file or one of its imports does not compile (the text says where).
    #[error("{0}")]
    Compile(String),
    /// The message type is not in the file or its imports.
    #[error("no message type {message:?} in {file} (known: {known})")]
    NoMessage {
        /// The type asked for.
        message: String,
        /// The file.
        file: String,
        /// The message types it does have.
        known: String,
    },
}

impl ProtoSchema {
    /// Compile `file` (imports resolved relative to its directory) and pick `message`
    /// (`package.Message`, nested types as `package.Outer.Inner`).
    ///
    /// # Errors
    /// A file that does not compile, or no such message type.
    pub fn compile(file: &Path, message: &str) -> Result<Self, SchemaError> {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut compiler = protox::Compiler::new([dir]).map_err(|e| SchemaError::Compile(format!("{e:?}")))?;
        compiler.include_imports(true);
        compiler.open_file(file).map_err(|e| SchemaError::Compile(e.to_string()))?;
        let pool = compiler.descriptor_pool();
        let message = message.trim_start_matches('.');
        match pool.get_message_by_name(message) {
            Some(message) => Ok(Self { message }),
            None => Err(SchemaError::NoMessage {
                message: message.to_owned(),
                file: file.display().to_string(),
                known: pool.all_messages().map(|m| m.full_name().to_owned()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The message type's full name.
    #[must_use]
    pub fn message_name(&self) -> &str {
        self.message.full_name()
    }

    /// Decode one message of this type.
    ///
    /// # Errors
    /// Bytes that are not a message of this type (with the offset of the first field that does not frame).
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        let msg = DynamicMessage::decode(self.message.clone(), bytes)
            .map_err(|e| DecodeError::new(wire::error_offset(bytes), format!("not a {}: {e}", self.message.full_name())))?;
        let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
        msg.serialize_with_options(serde_json::value::Serializer, &options)
            .map_err(|e| DecodeError::new(0, format!("cannot show {} as JSON: {e}", self.message.full_name())))
    }
}

#[cfg(test)]
mod tests;
