//! The bindings together with the .proto files they name, compiled: what the window decodes and
//! encodes through.
//!
//! Owns: [`Schemas`] (each .proto file as the runtime compiled it, or its compile error; bounded by
//! the files the bindings name, see [`Decoders::set_bindings`]) and [`Decoders`]. Compiling reads
//! files, so it is not done here: the runtime compiles and the result is handed in with
//! [`Schemas::insert`]. Pure: no egui, no tokio, no I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::binding::Applied;
use super::protobuf::{ProtoFile, ProtoRef, ProtoSchema};
use super::{BindingFile, DecodeError, Decoder, EncodeError, decode_with, encode, sparkplug};

/// Where a binding's schema stands.
#[derive(Clone, Debug)]
pub enum SchemaStatus {
    /// Its file has not been compiled yet (the runtime is at it).
    Compiling,
    /// Ready to decode and encode.
    Ready(ProtoSchema),
    /// The file does not compile, or has no such message type.
    Failed(String),
}

/// Compiled .proto files by path.
#[derive(Clone, Debug, Default)]
pub struct Schemas {
    /// Each file the runtime compiled: the file, or its error (`file:line:column: what`).
    files: HashMap<PathBuf, Result<ProtoFile, String>>,
    /// Bumped on every change, so that views caching a decoded value know to decode again.
    generation: u64,
}

impl Schemas {
    /// Keep the result of compiling `file` (replacing an earlier one).
    pub fn insert(&mut self, file: PathBuf, result: Result<ProtoFile, String>) {
        self.files.insert(file, result);
        self.generation += 1;
    }

    /// The compiled file (or its error), if it was compiled.
    #[must_use]
    pub fn file(&self, file: &Path) -> Option<&Result<ProtoFile, String>> {
        self.files.get(file)
    }

    /// The schema `proto` names, as far as it is known.
    #[must_use]
    pub fn status(&self, proto: &ProtoRef) -> SchemaStatus {
        match self.files.get(&proto.file) {
            None => SchemaStatus::Compiling,
            Some(Err(err)) => SchemaStatus::Failed(err.clone()),
            Some(Ok(file)) => match file.schema(&proto.file, &proto.message) {
                Ok(schema) => SchemaStatus::Ready(schema),
                Err(err) => SchemaStatus::Failed(err.to_string()),
            },
        }
    }

    /// The schema `proto` names, or why it cannot be used (yet).
    ///
    /// # Errors
    /// Not compiled yet, does not compile, or no such message type.
    pub fn schema(&self, proto: &ProtoRef) -> Result<ProtoSchema, String> {
        match self.status(proto) {
            SchemaStatus::Ready(schema) => Ok(schema),
            SchemaStatus::Compiling => Err(format!("{} is being compiled", proto.file.display())),
            SchemaStatus::Failed(err) => Err(err),
        }
    }

    /// Changes whenever a file is compiled or forgotten.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Forget every file but those `keep` says.
    pub fn retain(&mut self, keep: impl Fn(&Path) -> bool) {
        let before = self.files.len();
        self.files.retain(|f, _| keep(f));
        if self.files.len() != before {
            self.generation += 1;
        }
    }
}

/// The bindings in force and the schemas they name.
#[derive(Clone, Debug, Default)]
pub struct Decoders {
    /// Which decoder applies to which topics (saved as `decoders.toml`).
    pub bindings: BindingFile,
    /// The .proto files of Protobuf bindings, compiled.
    pub schemas: Schemas,
}

impl Decoders {
    /// Adopt `bindings`, forgetting compiled files no binding names any more.
    pub fn set_bindings(&mut self, bindings: BindingFile) {
        let files = bindings.proto_files();
        self.schemas.retain(|f| files.iter().any(|k| k == f));
        self.bindings = bindings;
    }

    /// The decoder in force for `topic` (see [`BindingFile::applied_to`]).
    #[must_use]
    pub fn applied_to(&self, topic: &str, content_type: Option<&str>) -> Option<Applied> {
        self.bindings.applied_to(topic, content_type)
    }

    /// Decode `bytes` as `applied` says (Protobuf through its compiled schema).
    ///
    /// # Errors
    /// As [`decode_with`]; for Protobuf also a schema that is not ready, with the reason.
    pub fn decode(&self, applied: &Applied, bytes: &[u8], aliases: Option<&sparkplug::Aliases>) -> Result<Value, DecodeError> {
        match (applied.decoder, &applied.proto) {
            (Decoder::Protobuf, Some(proto)) => {
                self.schemas.schema(proto).map_err(|e| DecodeError::new(0, format!("schema {proto}: {e}")))?.decode(bytes)
            }
            (decoder, _) => decode_with(decoder, bytes, aliases),
        }
    }

    /// Encode `json` as `decoder` (with the schema `proto` names, for Protobuf).
    ///
    /// # Errors
    /// As [`encode`]; for Protobuf also a schema that is not ready.
    pub fn encode(&self, decoder: Decoder, proto: Option<&ProtoRef>, json: &Value) -> Result<Vec<u8>, EncodeError> {
        let schema = match (decoder, proto) {
            (Decoder::Protobuf, Some(proto)) => {
                Some(self.schemas.schema(proto).map_err(|e| EncodeError::new("", format!("schema {proto}: {e}")))?)
            }
            _ => None,
        };
        encode(decoder, json, schema.as_ref())
    }
}
