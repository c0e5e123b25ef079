//! The writer thread: takes every batch of changes appended since the last one, writes it to the
//! journal with one `write` and one `fsync`, then tells the waiting connections (their
//! acknowledgements go out after that). It also compacts the journal when it has grown well past
//! the state it describes. Connection tasks never touch the disk.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::Instant;

use super::Inner;
use super::image::Image;
use super::record::{self, Enc, Queued, Rec, SentFrom, wall_now_ms};
use super::{JOURNAL, Op, frame};

/// A batch of this many changes is written without waiting for the interval to end.
pub(super) const FULL_BATCH: usize = 64;

/// A journal smaller than this is never compacted.
const COMPACT_MIN: u64 = 64 * 1024 * 1024;

/// The writer's state: the open journal and the image it describes.
pub struct Writer {
    pub(super) dir: PathBuf,
    pub(super) file: File,
    pub(super) image: Image,
    pub(super) next_id: u64,
    /// Journal size now.
    pub(super) size: u64,
    /// Journal size just after the last compaction (or at start).
    pub(super) base: u64,
    pub(super) interval: Duration,
    enc: Enc,
    buf: Vec<u8>,
}

impl Writer {
    pub(super) fn new(dir: PathBuf, file: File, image: Image, next_id: u64, size: u64, interval: Duration) -> Self {
        Self { dir, file, image, next_id, size, base: size, interval, enc: Enc::default(), buf: Vec::new() }
    }

    /// Serve `inner` until it is closed and everything appended is written.
    pub(super) fn run(mut self, inner: &Arc<Inner>, compact_first: bool) {
        if compact_first && let Err(err) = self.compact() {
            tracing::error!(error = %err, "compacting the journal failed");
        }
        // `interval` after the last batch began: the next one waits for that unless it is full.
        let mut due = std::time::Instant::now();
        loop {
            let (ops, last, closed) = {
                let mut p = inner.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                while p.ops.is_empty() && !p.closed {
                    p = inner.wake.wait(p).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                // Group commit: gather for up to `interval` after the last batch began, so that a light
                // load costs at most one fsync per interval; a full batch goes at once, since waiting
                // would only hold back the clients whose acknowledgements it carries.
                loop {
                    let now = std::time::Instant::now();
                    if p.closed || p.ops.len() >= FULL_BATCH || now >= due {
                        break;
                    }
                    p = inner.wake.wait_timeout(p, due - now).unwrap_or_else(std::sync::PoisonError::into_inner).0;
                }
                (std::mem::take(&mut p.ops), p.last, p.closed)
            };
            due = std::time::Instant::now() + self.interval;
            if !ops.is_empty() {
                let n = ops.len();
                match self.write(ops) {
                    Ok(bytes) => {
                        inner.counters.batches.fetch_add(1, Relaxed);
                        inner.counters.records.fetch_add(n as u64, Relaxed);
                        inner.counters.bytes.fetch_add(bytes, Relaxed);
                    }
                    Err(err) => {
                        // Nothing better to do than say so: stopping would wedge every client waiting for its acknowledgement.
                        inner.counters.write_errors.fetch_add(1, Relaxed);
                        tracing::error!(error = %err, dir = %self.dir.display(), "writing the journal failed; these changes may be lost on restart");
                    }
                }
            }
            inner.synced.send_replace(last);
            if closed && inner.pending.lock().map_or(true, |p| p.ops.is_empty()) {
                return;
            }
            if self.size > COMPACT_MIN.max(self.base.saturating_mul(4)) {
                match self.compact() {
                    Ok(()) => inner.counters.compactions.fetch_add(1, Relaxed),
                    Err(err) => {
                        tracing::error!(error = %err, "compacting the journal failed");
                        self.base = self.size;
                        0
                    }
                };
            }
        }
    }

    /// The records of one operation, with the image updated as they are produced.
    fn records(&mut self, op: Op, out: &mut Vec<Rec>) {
        match op {
            Op::Rec(rec) => out.push(rec),
            Op::Msg { msg, targets } => {
                self.next_id += 1;
                let id = self.next_id;
                out.push(Rec::Msg { id, msg: Arc::clone(&msg) });
                for (client_id, qos, retain, sub_ids) in targets {
                    let queued = Queued { msg: Arc::clone(&msg), qos, retain, sub_ids };
                    out.push(Rec::Enqueue { client_id, id, queued });
                }
            }
            Op::Sent { client_id, pkid, seq, queued } => {
                let at = self.image.sessions.get(&client_id).and_then(|s| s.position(&queued.msg));
                let from = if let Some(i) = at {
                    SentFrom::Index(u32::try_from(i).unwrap_or(u32::MAX))
                } else {
                    self.next_id += 1;
                    out.push(Rec::Msg { id: self.next_id, msg: Arc::clone(&queued.msg) });
                    SentFrom::Inline(self.next_id, queued)
                };
                out.push(Rec::Sent { client_id, pkid, seq, from });
            }
            Op::Dropped { client_id, msg } => {
                if let Some(i) = self.image.sessions.get(&client_id).and_then(|s| s.position(&msg)) {
                    out.push(Rec::Dropped { client_id, index: u32::try_from(i).unwrap_or(u32::MAX) });
                }
            }
        }
    }

    /// Encode, apply and append a batch; one write, one fsync. Returns the bytes written.
    fn write(&mut self, ops: Vec<Op>) -> std::io::Result<u64> {
        let (now, now_ms) = (Instant::now(), wall_now_ms());
        self.buf.clear();
        let mut recs = Vec::new();
        for op in ops {
            recs.clear();
            self.records(op, &mut recs);
            for rec in recs.drain(..) {
                record::encode(&rec, &mut self.enc, now, now_ms);
                frame::frame(&self.enc.0, &mut self.buf);
                self.image.apply(rec);
            }
        }
        self.file.write_all(&self.buf)?;
        self.file.sync_data()?;
        let n = self.buf.len() as u64;
        self.size += n;
        if self.buf.capacity() > 16 * 1024 * 1024 {
            self.buf = Vec::new();
        }
        Ok(n)
    }

    /// Rewrite the journal as the image alone: write a new file, sync it, rename it over the old
    /// one, sync the directory. A crash at any point leaves one complete journal.
    pub(super) fn compact(&mut self) -> std::io::Result<()> {
        let started = std::time::Instant::now();
        let tmp = self.dir.join("journal.tmp");
        let mut out = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let (now, now_ms) = (Instant::now(), wall_now_ms());
        let (mut enc, mut framed) = (Enc::default(), Vec::new());
        let mut result = Ok(());
        let mut size = 0u64;
        self.image.snapshot(now, &mut self.next_id, |rec| {
            record::encode(rec, &mut enc, now, now_ms);
            framed.clear();
            frame::frame(&enc.0, &mut framed);
            size += framed.len() as u64;
            if result.is_ok() {
                result = out.write_all(&framed);
            }
        });
        result?;
        let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        let path = self.dir.join(JOURNAL);
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.dir);
        self.file = open_append(&path)?;
        tracing::info!(
            bytes = size,
            was = self.size,
            took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "journal compacted"
        );
        self.size = size;
        self.base = size;
        Ok(())
    }
}

/// Open the journal for appending.
pub(super) fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Make a rename in `dir` durable (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        d.sync_all().ok();
    }
}
