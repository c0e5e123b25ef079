//! Exports and capture files, on the blocking pool: the window hands over the messages or the path
//! and watches a [`Progress`]; the end is reported as a notice (or an error) in the window.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::export::{self, Ended, ExportFormat, Progress};
use crate::model::{ConnId, ConnStatus, Message};
use crate::protocol::{Event, EventSink};

/// Messages per batch handed to the window while a capture loads.
const BATCH: usize = 10_000;

/// Write `msgs` to `path` in time order; a cancelled export removes its partial file.
pub async fn export(path: PathBuf, format: ExportFormat, mut msgs: Vec<Message>, progress: Progress, sink: EventSink) {
    let worker = progress.clone();
    let target = path.clone();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<Ended> {
        export::sort_by_time(&mut msgs);
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&target)?);
        let ended = export::write_messages(&mut out, &msgs, format, &worker)?;
        drop(out);
        if matches!(ended, Ended::Cancelled(_)) {
            std::fs::remove_file(&target).ok();
        }
        Ok(ended)
    })
    .await;
    progress.finished.store(true, std::sync::atomic::Ordering::Relaxed);
    let event = match result {
        Ok(Ok(Ended::Done(n))) => Event::Notice(format!("Exported {} messages to {}", crate::model::format::count(n), path.display())),
        Ok(Ok(Ended::Cancelled(n))) => {
            Event::Notice(format!("Export cancelled after {} messages; {} removed", crate::model::format::count(n), path.display()))
        }
        Ok(Err(e)) => Event::Error(format!("cannot export to {}: {e}", path.display())),
        Err(e) => Event::Error(format!("export failed: {e}")),
    };
    sink.control(event).await;
}

/// Read the capture at `path` into `conn_id`'s tree, in order, waiting for the window rather than
/// thinning: a capture loads whole.
pub async fn open(conn_id: ConnId, path: PathBuf, progress: Progress, sink: EventSink) {
    let worker = progress.clone();
    let feed = sink.clone();
    let source = path.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Ended, String> {
        let file = std::fs::File::open(&source).map_err(|e| format!("cannot open {}: {e}", source.display()))?;
        let size = file.metadata().map_or(0, |m| m.len());
        // About 150 bytes a line: a first guess at the total, corrected as lines come in.
        worker.total.store((size / 150).max(1), std::sync::atomic::Ordering::Relaxed);
        export::read_capture(std::io::BufReader::with_capacity(1 << 20, file), BATCH, &worker, |mut batch| {
            while let Err(back) = feed.try_messages(conn_id, batch) {
                if feed.is_closed() {
                    return;
                }
                batch = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    })
    .await;
    progress.finished.store(true, std::sync::atomic::Ordering::Relaxed);
    let name = path.display();
    let (status, event) = match result {
        Ok(Ok(Ended::Done(n))) => (None, Event::Notice(format!("Opened {name}: {} messages", crate::model::format::count(n)))),
        Ok(Ok(Ended::Cancelled(n))) => {
            (None, Event::Notice(format!("Stopped reading {name} after {} messages", crate::model::format::count(n))))
        }
        Ok(Err(e)) => (Some(format!("{name}: {e}")), Event::Error(format!("{name}: {e}"))),
        Err(e) => (Some(e.to_string()), Event::Error(format!("reading {name} failed: {e}"))),
    };
    sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Disconnected { error: status } }).await;
    sink.control(event).await;
}
