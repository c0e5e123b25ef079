//! Protobuf payloads described by the user's .proto files, compiled at run time in pure Rust
//! (protox, no protoc) and decoded dynamically (prost-reflect) to the protobuf JSON mapping with
//! the .proto's field names (64-bit integers as strings, bytes as base64, enums by name).
//!
//! [`ProtoFile::compile`] (and [`ProtoSchema::compile`]) read the .proto and its imports from
//! disk: callers run them off the UI thread (the runtime, or the command line at start).
//! [`ProtoSchema::decode`] and [`ProtoSchema::encode`] are pure.

use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

use super::{DecodeError, wire};

/// Which message type of which .proto file a binding decodes with (saved in `decoders.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ProtoRef {
    /// The .proto file; its imports are resolved relative to its directory.
    pub file: PathBuf,
    /// The message type, `package.Message` (nested types as `package.Outer.Inner`).
    pub message: String,
}

impl std::fmt::Display for ProtoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.message, self.file.display())
    }
}

/// A compiled .proto file with its imports: every message type it knows. Cheap to clone (shared).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoFile {
    pool: DescriptorPool,
}

/// One message type of a compiled .proto file.
#[derive(Clone, Debug)]
pub struct ProtoSchema {
    message: MessageDescriptor,
}

/// Why a .proto could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The file or one of its imports does not compile (`file:line:column: what`).
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

impl ProtoFile {
    /// Compile `file` (imports resolved relative to its directory).
    ///
    /// # Errors
    /// A file that cannot be read or does not compile, as `file:line:column: what` where protox knows.
    pub fn compile(file: &Path) -> Result<Self, SchemaError> {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut compiler = protox::Compiler::new([dir]).map_err(|e| SchemaError::Compile(format!("{e:?}")))?;
        compiler.include_imports(true);
        compiler.open_file(file).map_err(|e| SchemaError::Compile(format!("{e:?}")))?;
        Ok(Self { pool: compiler.descriptor_pool() })
    }

    /// Every message type, nested ones included, by full name, sorted.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<String> = self.pool.all_messages().map(|m| m.full_name().to_owned()).collect();
        names.sort();
        names
    }

    /// The message type `message` (a leading `.` is allowed).
    ///
    /// # Errors
    /// No such type (the error lists the known ones); `file` names the file in it.
    pub fn schema(&self, file: &Path, message: &str) -> Result<ProtoSchema, SchemaError> {
        let message = message.trim_start_matches('.');
        match self.pool.get_message_by_name(message) {
            Some(message) => Ok(ProtoSchema { message }),
            None => Err(SchemaError::NoMessage {
                message: message.to_owned(),
                file: file.display().to_string(),
                known: self.messages().join(", "),
            }),
        }
    }
}

impl ProtoSchema {
    /// Compile `file` (imports resolved relative to its directory) and pick `message`
    /// (`package.Message`, nested types as `package.Outer.Inner`).
    ///
    /// # Errors
    /// A file that does not compile, or no such message type.
    pub fn compile(file: &Path, message: &str) -> Result<Self, SchemaError> {
        ProtoFile::compile(file)?.schema(file, message)
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

    /// Encode `json` (the protobuf JSON mapping; the .proto's field names or their JSON names) as
    /// one message of this type: the inverse of [`Self::decode`].
    ///
    /// # Errors
    /// A field the type does not have, or a value of the wrong type, said as serde_json words it.
    pub fn encode(&self, json: &Value) -> Result<Vec<u8>, String> {
        DynamicMessage::deserialize(self.message.clone(), json)
            .map(|m| m.encode_to_vec())
            .map_err(|e| format!("not a {}: {e}", self.message.full_name()))
    }
}

#[cfg(test)]
mod tests;
