//! The writer of a recording: a thread of its own that takes messages from the [`Recorder`]'s
//! queue and appends capture lines, until stopped or a bound (size, duration) is reached.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::model::Message;
use crate::model::capture::CaptureLine;
use crate::protocol::recording::RecordStats;

/// Bounds of a recording.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// Stop at this file size.
    pub max_bytes: Option<u64>,
    /// Stop after this long.
    pub max_duration: Option<Duration>,
}

/// Create `path` and start writing what `rx` brings to it.
///
/// # Errors
/// The file cannot be created (nothing is started).
pub fn start(path: &PathBuf, rx: Receiver<Message>, stats: Arc<RecordStats>, bounds: Bounds) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let path = path.clone();
    std::thread::Builder::new().name("mqscope-record".into()).spawn(move || {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let result = write_until_done(&mut out, &rx, &stats, bounds).and_then(|()| out.flush());
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "recording failed");
            if let Ok(mut error) = stats.error.lock() {
                *error = Some(format!("{}: {e}", path.display()));
            }
        }
        stats.finished.store(true, Relaxed);
    })?;
    Ok(())
}

fn write_until_done(out: &mut impl std::io::Write, rx: &Receiver<Message>, stats: &RecordStats, bounds: Bounds) -> std::io::Result<()> {
    let deadline = bounds.max_duration.map(|d| Instant::now() + d);
    let mut last_flush = Instant::now();
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(msg) => {
                let mut line = CaptureLine::from_message(&msg).to_json();
                line.push('\n');
                out.write_all(line.as_bytes())?;
                stats.messages.fetch_add(1, Relaxed);
                let bytes = stats.bytes.fetch_add(line.len() as u64, Relaxed) + line.len() as u64;
                if bounds.max_bytes.is_some_and(|max| bytes >= max) {
                    return Ok(());
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Stopped: everything queued before the stop has been written.
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if last_flush.elapsed() >= Duration::from_millis(500) {
            out.flush()?;
            last_flush = Instant::now();
        }
    }
}
