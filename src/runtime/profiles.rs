//! The runtime's part of connection profiles: file I/O and dialogs, never on the UI thread.

use std::path::PathBuf;
use std::sync::Arc;

use crate::client::tls;
use crate::model::profile::{Profile, ProfileFile};
use crate::protocol::{Event, EventSink, FileField, ProfilesOrigin};
use crate::storage;

/// Read the profiles at start.
pub async fn load(dir: Option<Arc<PathBuf>>, sink: EventSink) {
    let dir = dir.as_deref().cloned();
    match tokio::task::spawn_blocking(move || storage::profiles_path(dir.as_deref()).and_then(|p| storage::load_profiles(&p))).await {
        Ok(Ok(file)) => sink.control(Event::Profiles { file, origin: ProfilesOrigin::Loaded }).await,
        Ok(Err(err)) => sink.control(Event::Error(format!("cannot read profiles: {err}"))).await,
        Err(_) => {}
    }
}

/// Check the edited profile's files, then write every profile.
pub async fn save(dir: Option<Arc<PathBuf>>, file: ProfileFile, check: Option<Box<Profile>>, sink: EventSink) {
    let dir = dir.as_deref().cloned();
    let result = tokio::task::spawn_blocking(move || {
        if let Some(p) = check.filter(|p| p.transport.is_tls()) {
            tls::check_files(&p.tls).map_err(|e| Event::ProfileRejected { field: e.field, message: e.message })?;
        }
        let path = storage::profiles_path(dir.as_deref()).map_err(|e| Event::Error(e.to_string()))?;
        storage::save_profiles(&path, &file).map_err(|e| Event::Error(format!("cannot save profiles: {e}")))?;
        Ok::<_, Event>(file)
    })
    .await;
    let event = match result {
        Ok(Ok(file)) => Event::Profiles { file, origin: ProfilesOrigin::Saved },
        Ok(Err(event)) => event,
        Err(_) => return,
    };
    sink.control(event).await;
}

/// The file dialog for a certificate or key field.
pub async fn pick_file(field: FileField, sink: EventSink) {
    let title = match field {
        FileField::CaFile => "CA certificate (PEM)",
        FileField::ClientCert => "Client certificate (PEM)",
        FileField::ClientKey => "Client key (PEM)",
        FileField::ExportFile => "Export messages to",
        FileField::CaptureFile => "Open a capture (NDJSON)",
        FileField::RecordFile => "Record to",
        FileField::ReplayFile => "Replay a capture (NDJSON)",
        FileField::ProtoFile => "Protobuf schema (.proto)",
    };
    if let Some(reason) = super::dialog::unavailable() {
        sink.control(Event::Error(format!("No file dialog can open here ({reason}); type the path in the field."))).await;
        return;
    }
    let dialog = rfd::AsyncFileDialog::new().set_title(title);
    let picked = match field {
        FileField::ExportFile | FileField::RecordFile => dialog.set_file_name("messages.ndjson").save_file().await,
        FileField::CaptureFile | FileField::ReplayFile => {
            dialog.add_filter("Capture (NDJSON)", &["ndjson", "jsonl", "json"]).pick_file().await
        }
        FileField::ProtoFile => dialog.add_filter("Protobuf schema", &["proto"]).pick_file().await,
        _ => dialog.pick_file().await,
    };
    if let Some(handle) = picked {
        sink.control(Event::FilePicked { field, path: handle.path().display().to_string() }).await;
    } else {
        sink.control(Event::Notice("No file picked.".to_owned())).await;
    }
}

/// Write the profiles (without passwords) to a file the user picks.
pub async fn export(file: ProfileFile, sink: EventSink) {
    let count = file.profiles.len();
    let stripped = ProfileFile {
        profiles: file.profiles.iter().map(|p| Profile { password: String::new(), save_password: false, ..p.clone() }).collect(),
    };
    if super::dialog::unavailable().is_some() {
        // No dialog here: the UI asks for a path, and the text is written there as is.
        match toml::to_string_pretty(&stripped) {
            Ok(text) => {
                let title = format!("Export {count} connections (without passwords)");
                super::save_file(text.into_bytes().into(), "mqscope-connections.toml".to_owned(), title, sink).await;
            }
            Err(err) => sink.control(Event::Error(format!("export failed: {err}"))).await,
        }
        return;
    }
    let Some(handle) =
        rfd::AsyncFileDialog::new().set_title("Export connections").set_file_name("mqscope-connections.toml").save_file().await
    else {
        sink.control(Event::Notice("Export cancelled.".to_owned())).await;
        return;
    };
    let path = handle.path().to_path_buf();
    let written = tokio::task::spawn_blocking(move || storage::save_toml(&path, &stripped).map(|()| path)).await;
    let event = match written {
        Ok(Ok(path)) => Event::Notice(format!("Exported {count} connections (without passwords) to {}", path.display())),
        Ok(Err(err)) => Event::Error(format!("export failed: {err}")),
        Err(_) => return,
    };
    sink.control(event).await;
}

/// Read profiles from a file the user picks.
pub async fn import(sink: EventSink) {
    if let Some(reason) = super::dialog::unavailable() {
        sink.control(Event::Error(format!("No file dialog can open here ({reason}); cannot pick a file to import."))).await;
        return;
    }
    let Some(handle) = rfd::AsyncFileDialog::new().set_title("Import connections").add_filter("TOML", &["toml"]).pick_file().await else {
        return;
    };
    let path = handle.path().to_path_buf();
    let read = tokio::task::spawn_blocking(move || storage::load_profiles(&path)).await;
    let event = match read {
        Ok(Ok(file)) => Event::Profiles { file, origin: ProfilesOrigin::Imported },
        Ok(Err(err)) => Event::Error(format!("import failed: {err}")),
        Err(_) => return,
    };
    sink.control(event).await;
}
