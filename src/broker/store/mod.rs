//! Persistence (opt-in, `--data-dir`): retained messages and persistent sessions (subscriptions,
//! queued and in-flight QoS 1/2 messages, incoming QoS 2 state, will and expiry) survive a restart,
//! also after `kill -9`.
//!
//! Design: one append-only journal of changes ([`record::Rec`]), each record framed with its
//! length and a CRC32 ([`frame`]), compacted by rewriting it from memory when it has grown past
//! four times its compacted size. Connection tasks append operations ([`Op`]) to an in-memory
//! batch under a short-held mutex; a dedicated thread ([`writer`]) writes each batch with one
//! `fsync` and then publishes the number of the last operation synced. A connection holds back
//! its output (the PUBACK, PUBREC, PUBCOMP or SUBACK that promises something) until what it
//! appended is synced, so an acknowledged message is on disk, and no connection task ever waits
//! for the disk itself.
//!
//! At start the journal is read whole, records with a bad checksum are skipped (and counted, and
//! logged with what was lost), the state rebuilt ([`image`], [`restore`]), and the journal
//! rewritten compacted when it was damaged.
//!
//! Not persisted: QoS 0 messages queued for offline sessions, retained messages still owed to a
//! new subscription, `$SYS` topics, the share-group round-robin position.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::watch;

use super::client_state::Routed;
use super::codec::QoS;

pub mod frame;
pub mod image;
pub mod options;
pub mod record;
pub mod restore;
#[cfg(test)]
mod tests;
mod writer;

pub use options::{PersistConfig, PersistOptions};

/// The journal's file name in the data directory.
pub const JOURNAL: &str = "journal.mqj";
/// Held (locked) while a broker uses the directory.
const LOCK: &str = "lock";

/// A change the broker asks to persist. The writer thread turns it into records.
#[derive(Debug)]
pub enum Op {
    /// A record as is.
    Rec(record::Rec),
    /// A message queued to persistent sessions: (client id, QoS, retain flag, subscription ids) each.
    Msg { msg: Arc<Routed>, targets: Vec<(Arc<str>, QoS, bool, Vec<u32>)> },
    /// A message sent to a persistent session under `pkid`, now in flight.
    Sent { client_id: Arc<str>, pkid: u16, seq: u64, queued: record::Queued },
    /// A queued message left a persistent session's queue unsent.
    Dropped { client_id: Arc<str>, msg: Arc<Routed> },
}

/// What the store counts (also shown in `$SYS/broker/store/...`).
#[derive(Debug, Default)]
pub struct StoreCounters {
    /// Operations written.
    pub records: AtomicU64,
    /// Batches written (one fsync each).
    pub batches: AtomicU64,
    /// Bytes appended.
    pub bytes: AtomicU64,
    /// Compactions since start.
    pub compactions: AtomicU64,
    /// Failed writes (their changes may be lost on restart).
    pub write_errors: AtomicU64,
    /// Bytes of the journal skipped at load (damage, a torn tail).
    pub lost_bytes: AtomicU64,
    /// Places where records were lost at load (damaged spans, unreadable records).
    pub lost_records: AtomicU64,
}

struct Pending {
    ops: Vec<Op>,
    /// Number of the last operation appended.
    last: u64,
    closed: bool,
}

/// Shared between the broker and the writer thread.
struct Inner {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Number of the last operation written and synced.
    synced: watch::Sender<u64>,
    counters: StoreCounters,
}

/// The broker's handle on its journal.
pub struct Store {
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("appended", &self.appended()).field("synced", &self.synced_now()).finish_non_exhaustive()
    }
}

/// A journal read at start: the state it holds, ready to be restored, and then handed to the writer.
pub struct Loaded {
    /// The state.
    pub image: image::Image,
    /// What was skipped.
    pub damage: frame::Damage,
    /// Intact frames whose content could not be read.
    pub unreadable: u64,
    /// Records read.
    pub records: u64,
    config: PersistConfig,
    lock: File,
    next_id: u64,
    size: u64,
}

/// Read the journal in `config.dir` (created if missing), skipping and reporting damage.
///
/// # Errors
/// When the directory cannot be created or read, or another broker uses it.
pub fn load(config: &PersistConfig) -> std::io::Result<Loaded> {
    std::fs::create_dir_all(&config.dir)?;
    let lock = File::options().create(true).truncate(false).write(true).open(config.dir.join(LOCK))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(std::io::Error::other(format!("{} is used by another broker", config.dir.display())));
        }
        Err(std::fs::TryLockError::Error(err)) => return Err(err),
    }
    let data = match std::fs::read(config.dir.join(JOURNAL)) {
        Ok(data) => data,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err),
    };
    let (now, now_ms) = (tokio::time::Instant::now(), record::wall_now_ms());
    let mut image = image::Image::default();
    let mut msgs: HashMap<u64, Arc<Routed>> = HashMap::new();
    let mut names = record::Names::default();
    let (mut next_id, mut unreadable, mut records) = (0u64, 0u64, 0u64);
    let mut frames = frame::Frames::new(&data);
    for body in frames.by_ref() {
        match record::decode(body, &msgs, &mut names, now, now_ms) {
            Ok(Some(rec)) => {
                records += 1;
                if let record::Rec::Msg { id, msg } = &rec {
                    next_id = next_id.max(*id);
                    msgs.insert(*id, Arc::clone(msg));
                }
                image.apply(rec);
            }
            Ok(None) => unreadable += 1,
            Err(err) => {
                tracing::warn!(error = %err, "skipping a journal record");
                unreadable += 1;
            }
        }
    }
    let damage = frames.damage();
    Ok(Loaded { image, damage, unreadable, records, config: config.clone(), lock, next_id, size: data.len() as u64 })
}

impl Loaded {
    /// Start the writer thread on this journal. Call once the broker's state is rebuilt from
    /// [`Loaded::image`]: the writer keeps the image from here on.
    ///
    /// # Errors
    /// When the journal cannot be opened for appending.
    pub fn start(self) -> std::io::Result<Arc<Store>> {
        let Self { image, damage, unreadable, config, lock, next_id, size, .. } = self;
        let file = writer::open_append(&config.dir.join(JOURNAL))?;
        let counters = StoreCounters::default();
        counters.lost_bytes.store(damage.skipped_bytes + damage.torn_tail, Relaxed);
        counters.lost_records.store(damage.gaps + unreadable + u64::from(damage.torn_tail > 0), Relaxed);
        let inner = Arc::new(Inner {
            pending: Mutex::new(Pending { ops: Vec::new(), last: 0, closed: false }),
            wake: Condvar::new(),
            synced: watch::Sender::new(0),
            counters,
        });
        let damaged = damage.any() || unreadable > 0;
        let w = writer::Writer::new(config.dir.clone(), file, image, next_id, size, config.interval);
        let thread_inner = Arc::clone(&inner);
        let thread = std::thread::Builder::new().name("mqscope-journal".into()).spawn(move || {
            let _lock = lock;
            w.run(&thread_inner, damaged);
        })?;
        Ok(Arc::new(Store { inner, thread: Mutex::new(Some(thread)) }))
    }
}

impl Store {
    /// Append one operation; returns its number (wait for it with [`Store::wait_synced`]). After
    /// [`Store::close`] nothing is written any more (0: nothing to wait for).
    pub fn append(&self, op: Op) -> u64 {
        let mut p = self.inner.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if p.closed {
            return 0;
        }
        p.last += 1;
        let n = p.last;
        p.ops.push(op);
        // The writer waits for the first change of a batch, then for the batch to fill or its interval to end.
        let wake = p.ops.len() == 1 || p.ops.len() == writer::FULL_BATCH;
        drop(p);
        if wake {
            self.inner.wake.notify_one();
        }
        n
    }

    /// Number of the last operation appended.
    #[must_use]
    pub fn appended(&self) -> u64 {
        self.inner.pending.lock().map_or(0, |p| p.last)
    }

    /// Number of the last operation written and synced.
    #[must_use]
    pub fn synced_now(&self) -> u64 {
        *self.inner.synced.borrow()
    }

    /// Wait until operation `n` is synced.
    pub async fn wait_synced(&self, n: u64) {
        let mut rx = self.inner.synced.subscribe();
        rx.wait_for(|&synced| synced >= n).await.ok();
    }

    /// Counters.
    #[must_use]
    pub fn counters(&self) -> &StoreCounters {
        &self.inner.counters
    }

    /// Write what is left, sync, stop the writer thread and wait for it (the data directory is then free).
    pub async fn close(&self) {
        self.inner.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).closed = true;
        self.inner.wake.notify_one();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            tokio::task::spawn_blocking(move || thread.join().ok()).await.ok();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A broker dropped without `close`: the thread still writes what is pending, then ends.
        if let Ok(mut p) = self.inner.pending.lock() {
            p.closed = true;
        }
        self.inner.wake.notify_one();
    }
}
