//! The decoder bindings file (`decoders.toml` in the config dir), read at start and written on
//! change, both on the blocking pool so the window never waits for the disk.

use std::path::PathBuf;
use std::sync::Arc;

use crate::model::decode::BindingFile;
use crate::protocol::{Event, EventSink};
use crate::storage;

/// Read the bindings and hand them to the window.
pub(super) async fn load(dir: Option<Arc<PathBuf>>, sink: EventSink) {
    let loaded = tokio::task::spawn_blocking(move || {
        storage::decoders_path(dir.as_deref().map(PathBuf::as_path)).and_then(|p| storage::load_toml::<BindingFile>(&p))
    })
    .await;
    match loaded {
        Ok(Ok(file)) => sink.control(Event::DecodersLoaded(file)).await,
        Ok(Err(err)) => sink.control(Event::Error(format!("cannot read decoder bindings: {err}"))).await,
        Err(_) => {}
    }
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
