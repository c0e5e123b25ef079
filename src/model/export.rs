//! Exporting kept messages to a file, NDJSON (the capture format of [`super::capture`]) or CSV, and
//! reading a capture back: plain functions over `Write` / `BufRead`, with a progress counter and a
//! cancel flag that the window reads and sets while the runtime's blocking pool does the work.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::Message;
use super::capture::{CaptureLine, format_ts};

/// File format of an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line: the capture format, which `mqscope replay` and "Open capture" read.
    #[default]
    Ndjson,
    /// `time,topic,qos,retain,encoding,payload`, RFC 4180 quoting.
    Csv,
}

impl ExportFormat {
    /// File extension, without the dot.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }
}

/// Progress of a long export or load, shared between the window (reads, cancels) and the worker.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Messages done so far.
    pub done: Arc<AtomicU64>,
    /// Messages in all (0 while unknown).
    pub total: Arc<AtomicU64>,
    /// Set by the window to stop the worker.
    pub cancel: Arc<AtomicBool>,
    /// Set by the worker when it has stopped (finished, failed or cancelled).
    pub finished: Arc<AtomicBool>,
    /// Set by the window to hold a replay where it is.
    pub paused: Arc<AtomicBool>,
}

impl Progress {
    /// Fraction done, 0 to 1.
    #[must_use]
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, reason = "a progress bar's fraction")]
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(Relaxed);
        if total == 0 { 0.0 } else { (self.done.load(Relaxed) as f64 / total as f64).min(1.0) as f32 }
    }

    /// Whether the user asked to stop.
    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Relaxed)
    }
}

/// How to replay.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayPlan {
    /// Into which connection.
    pub conn_id: super::ConnId,
    /// The capture file.
    pub path: std::path::PathBuf,
    /// Recorded gaps divided by this; `None`: as fast as possible.
    pub speed: Option<f64>,
    /// Start again at the end, until stopped.
    pub repeat: bool,
    /// Replace this topic prefix with that one.
    pub remap: Option<(String, String)>,
}

/// How an export or load ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Everything was done: this many messages.
    Done(u64),
    /// Stopped by the user after this many.
    Cancelled(u64),
}

/// Messages to export in time order (a stable sort: messages of one time keep their order).
pub fn sort_by_time(msgs: &mut [Message]) {
    msgs.sort_by_key(|m| m.received_at);
}

/// A CSV field, quoted when it holds a comma, a quote, CR or LF (RFC 4180).
fn csv_field(out: &mut impl Write, field: &str) -> std::io::Result<()> {
    if field.contains([',', '"', '\n', '\r']) { write!(out, "\"{}\"", field.replace('"', "\"\"")) } else { out.write_all(field.as_bytes()) }
}

/// The CSV header line.
pub const CSV_HEADER: &str = "time,topic,qos,retain,encoding,payload";

/// Write `msgs` in `format`, counting in `progress` and stopping when it is cancelled.
///
/// # Errors
/// Writing failed.
pub fn write_messages(out: &mut impl Write, msgs: &[Message], format: ExportFormat, progress: &Progress) -> std::io::Result<Ended> {
    progress.total.store(msgs.len() as u64, Relaxed);
    if format == ExportFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    for (i, msg) in msgs.iter().enumerate() {
        if i % 1024 == 0 {
            progress.done.store(i as u64, Relaxed);
            if progress.cancelled() {
                return Ok(Ended::Cancelled(i as u64));
            }
        }
        match format {
            ExportFormat::Ndjson => {
                out.write_all(CaptureLine::from_message(msg).to_json().as_bytes())?;
                out.write_all(b"\n")?;
            }
            ExportFormat::Csv => {
                write!(out, "{},", format_ts(msg.received_at))?;
                csv_field(out, &msg.topic)?;
                write!(out, ",{},{},", msg.qos as u8, msg.retain)?;
                match std::str::from_utf8(&msg.payload) {
                    Ok(text) => {
                        out.write_all(b"utf8,")?;
                        csv_field(out, text)?;
                    }
                    Err(_) => write!(out, "base64,{}", B64.encode(&msg.payload))?,
                }
                out.write_all(b"\n")?;
            }
        }
    }
    progress.done.store(msgs.len() as u64, Relaxed);
    out.flush()?;
    Ok(Ended::Done(msgs.len() as u64))
}

/// Read a capture in batches of up to `batch` messages, handing each to `each`; counts lines in
/// `progress` (its total is set by the caller, in bytes or lines as it likes) and stops when cancelled.
///
/// # Errors
/// A line that is not a capture record (its number and why), or reading failed.
pub fn read_capture(input: impl BufRead, batch: usize, progress: &Progress, mut each: impl FnMut(Vec<Message>)) -> Result<Ended, String> {
    let mut buf = Vec::with_capacity(batch);
    let mut n = 0u64;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let msg = CaptureLine::parse(&line, i + 1).and_then(|rec| rec.to_message(i + 1)).map_err(|e| e.to_string())?;
        buf.push(msg);
        n += 1;
        if buf.len() >= batch {
            each(std::mem::replace(&mut buf, Vec::with_capacity(batch)));
            progress.done.store(n, Relaxed);
            if progress.cancelled() {
                return Ok(Ended::Cancelled(n));
            }
        }
    }
    if !buf.is_empty() {
        each(buf);
    }
    progress.done.store(n, Relaxed);
    Ok(Ended::Done(n))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::QoS;

    fn msgs() -> Vec<Message> {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(1_764_747_601_000 + ms);
        vec![
            Message::new("a/b", &b"plain"[..], QoS::AtMostOnce, false, at(0)),
            Message::new("a/c,d", &b"has, comma \"and quotes\"\nand a newline"[..], QoS::AtLeastOnce, true, at(1)),
            Message::new("a/bin", vec![0xFF, 0x00], QoS::ExactlyOnce, false, at(2)),
        ]
    }

    /// A minimal RFC 4180 reader, to parse the export back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = vec![];
        let mut row = vec![];
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (_, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines_and_parses_back() {
        let mut out = Vec::new();
        assert_eq!(write_messages(&mut out, &msgs(), ExportFormat::Csv, &Progress::default()).unwrap(), Ended::Done(3));
        let rows = parse_csv(&String::from_utf8(out).unwrap());
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].join(","), CSV_HEADER);
        assert_eq!(rows[1], ["2025-12-03T07:40:01.000Z", "a/b", "0", "false", "utf8", "plain"]);
        assert_eq!(rows[2], ["2025-12-03T07:40:01.001Z", "a/c,d", "1", "true", "utf8", "has, comma \"and quotes\"\nand a newline"]);
        assert_eq!(rows[3], ["2025-12-03T07:40:01.002Z", "a/bin", "2", "false", "base64", "/wA="]);
    }

    #[test]
    fn ndjson_export_reads_back_as_a_capture() {
        let mut out = Vec::new();
        let progress = Progress::default();
        write_messages(&mut out, &msgs(), ExportFormat::Ndjson, &progress).unwrap();
        assert!(progress.fraction() >= 1.0);
        assert_eq!(progress.done.load(Relaxed), 3);
        let mut back = Vec::new();
        let ended = read_capture(std::io::Cursor::new(out), 2, &Progress::default(), |batch| back.extend(batch)).unwrap();
        assert_eq!(ended, Ended::Done(3));
        assert_eq!(back, msgs());
    }

    #[test]
    fn a_cancelled_export_stops() {
        let many: Vec<Message> = (0..5000).map(|i| Message::new(format!("t/{i}"), "x", QoS::AtMostOnce, false, UNIX_EPOCH)).collect();
        let progress = Progress::default();
        progress.cancel.store(true, Relaxed);
        let mut out = Vec::new();
        assert_eq!(write_messages(&mut out, &many, ExportFormat::Ndjson, &progress).unwrap(), Ended::Cancelled(0));
        assert!(out.is_empty());
    }

    #[test]
    fn a_bad_capture_line_is_named() {
        let text = "{\"ts\":\"2025-12-03T07:40:01.000Z\",\"topic\":\"a\",\"qos\":0,\"retain\":false,\"payload\":\"x\"}\nnope\n";
        let err = read_capture(std::io::Cursor::new(text), 10, &Progress::default(), |_| {}).unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
