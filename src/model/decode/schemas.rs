//! The bindings together with the .proto files they name, compiled: what the window decodes and
//! encodes through.
//!
//! Owns: [`Schemas`] (each .proto file as the runtime compiled it, or its compile error; bounded by
//! the files the bindings name, see [`Decoders::set_bindings`]) and [`Decoders`]. Compiling reads
//! files, so it is not done here: the runtime compiles and the result is handed in with
//! [`Schemas::insert`]. Pure: no egui, no tokio, no I/O.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::binding::Applied;
use super::protobuf::{ProtoFile, ProtoRef, ProtoSchema};
use super::{BindingFile, DecodeError, Decoder, EncodeError, decode_with, encode, sparkplug};

/// Where a binding's schema stands.
#[derive(Clone, Debug)]
pub enum SchemaStatus {
    /// Its file is being compiled (the runtime is at it).
    Compiling,
    /// Its file was never asked to be compiled (no binding names it any more): Compile it.
    NotCompiled,
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
    /// Files sent to the runtime to compile whose result has not come back.
    pending: HashSet<PathBuf>,
    /// Bumped on every change, so that views caching a decoded value know to decode again.
    generation: u64,
}

impl Schemas {
    /// Keep the result of compiling `file` (replacing an earlier one).
    pub fn insert(&mut self, file: PathBuf, result: Result<ProtoFile, String>) {
        self.pending.remove(&file);
        self.files.insert(file, result);
        self.generation += 1;
    }

    /// `file` was sent to the runtime to compile: it shows as compiling until its result comes.
    pub fn requested(&mut self, file: PathBuf) {
        if self.pending.insert(file) {
            self.generation += 1;
        }
    }

    /// The compiled file (or its error), if it was compiled.
    #[must_use]
    pub fn file(&self, file: &Path) -> Option<&Result<ProtoFile, String>> {
        self.files.get(file)
    }

    /// The schema `proto` names, as far as it is known.
    #[must_use]
    pub fn status(&self, proto: &ProtoRef) -> SchemaStatus {
        if self.pending.contains(&proto.file) {
            return SchemaStatus::Compiling;
        }
        match self.files.get(&proto.file) {
            None => SchemaStatus::NotCompiled,
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
            SchemaStatus::NotCompiled => {
                Err(format!("{} is not compiled (no binding names it): Compile it in Tools → Decoders", proto.file.display()))
            }
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
        self.pending.retain(|f| keep(f));
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
    /// Returns the files the bindings name that are neither compiled nor being compiled: the
    /// caller asks the runtime for them and marks them [`Schemas::requested`].
    #[must_use]
    pub fn set_bindings(&mut self, bindings: BindingFile) -> Vec<PathBuf> {
        let mut files = bindings.proto_files();
        self.schemas.retain(|f| files.iter().any(|k| k == f));
        files.retain(|f| self.schemas.file(f).is_none() && !self.schemas.pending.contains(f));
        self.bindings = bindings;
        files
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_says_compiling_only_while_a_compile_is_on_its_way() {
        let mut schemas = Schemas::default();
        let proto = ProtoRef { file: PathBuf::from("/x/a.proto"), message: "p.M".to_owned() };
        assert!(matches!(schemas.status(&proto), SchemaStatus::NotCompiled), "never asked for");
        schemas.requested(proto.file.clone());
        assert!(matches!(schemas.status(&proto), SchemaStatus::Compiling));
        schemas.insert(proto.file.clone(), Err("a.proto:3:1: expected ';'".to_owned()));
        assert!(matches!(schemas.status(&proto), SchemaStatus::Failed(e) if e.contains("a.proto:3")));
        schemas.requested(proto.file.clone());
        assert!(matches!(schemas.status(&proto), SchemaStatus::Compiling), "a recompile hides the old error until it reports");
        schemas.retain(|_| false);
        assert!(matches!(schemas.status(&proto), SchemaStatus::NotCompiled), "forgotten with its binding");
    }

    #[test]
    fn new_bindings_return_the_files_nobody_compiles_yet() {
        let mut decoders = Decoders::default();
        let mut file = BindingFile::default();
        file.bindings.push(crate::model::decode::DecoderBinding {
            filter: "f/#".to_owned(),
            decoder: Decoder::Protobuf,
            proto: Some(ProtoRef { file: PathBuf::from("/x/a.proto"), message: "p.M".to_owned() }),
        });
        assert_eq!(decoders.set_bindings(file.clone()), [PathBuf::from("/x/a.proto")]);
        decoders.schemas.requested(PathBuf::from("/x/a.proto"));
        assert!(decoders.set_bindings(file).is_empty(), "already on its way");
    }
}
