//! The decoder bindings file (`decoders.toml` in the config dir), read at start and written on
//! change, and the .proto files of Protobuf bindings compiled (at start, and when asked), all on
//! the blocking pool so the window never waits for the disk.

use std::path::PathBuf;
use std::sync::Arc;

use crate::model::decode::BindingFile;
use crate::model::decode::protobuf::ProtoFile;
use crate::protocol::{Event, EventSink};
use crate::storage;

/// Read the bindings and hand them to the window.
pub(super) async fn load(dir: Option<Arc<PathBuf>>, sink: EventSink) {
    let loaded = tokio::task::spawn_blocking(move || {
        storage::decoders_path(dir.as_deref().map(PathBuf::as_path)).and_then(|p| storage::load_toml::<BindingFile>(&p))
    })
    .await;
    match loaded {
        Ok(Ok(file)) => {
            let protos = file.proto_files();
            sink.control(Event::DecodersLoaded(file)).await;
            for proto in protos {
                compile(proto, sink.clone()).await;
            }
        }
        Ok(Err(err)) => sink.control(Event::Error(format!("cannot read decoder bindings: {err}"))).await,
        Err(_) => {}
    }
}

/// Compile a .proto file (with its imports) and hand the result to the window.
pub(super) async fn compile(file: PathBuf, sink: EventSink) {
    let path = file.clone();
    let result = match tokio::task::spawn_blocking(move || ProtoFile::compile(&path)).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(err) => Err(format!("the compiler stopped: {err}")),
    };
    sink.control(Event::ProtoCompiled { file, result }).await;
}

/// Write the bindings; a failure is shown to the user.
pub(super) fn save(dir: Option<Arc<PathBuf>>, sink: EventSink, file: BindingFile) {
    tokio::spawn(async move {
        let saved = tokio::task::spawn_blocking(move || {
            storage::decoders_path(dir.as_deref().map(PathBuf::as_path)).and_then(|p| storage::save_toml(&p, &file))
        })
        .await;
        if let Ok(Err(err)) = saved {
            sink.control(Event::Error(format!("cannot save decoder bindings: {err}"))).await;
        }
    });
}
