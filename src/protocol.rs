//! The UI ↔ runtime protocol: [`Command`]s go down, [`Event`]s come up, over bounded channels.
//!
//! Owns: the message types and [`EventSink`], the runtime's only way to reach the UI. The high-rate
//! path never waits for the UI: a full channel counts as dropped messages, reported later as
//! [`Event::Dropped`]. Must not touch: egui (the UI is woken through a plain [`Waker`] closure).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::model::profile::{Profile, ProfileFile};
use crate::model::publish::TemplateFile;
use crate::model::{BrokerStats, ConnId, ConnStatus, Message, MessageMeta, QoS, Store};

/// Capacity of the command channel (UI → runtime).
pub const COMMAND_CAPACITY: usize = 64;
/// Capacity of the event channel (runtime → UI), in events; messages travel in batches, so this is many messages.
pub const EVENT_CAPACITY: usize = 8192;

/// What the UI asks the runtime for. Answered only through [`Event`]s.
#[derive(Debug)]
pub enum Command {
    /// Publish on a connection (the embedded broker for [`ConnId::LOCAL`]).
    Publish(PublishRequest),
    /// Delete retained values: straight from the embedded broker's store for [`ConnId::LOCAL`], or by
    /// publishing an empty retained message to each topic on an external broker.
    DeleteRetained {
        /// Connection.
        conn_id: ConnId,
        /// Topics whose retained value goes.
        topics: Vec<Arc<str>>,
    },
    /// Open a connection to an external broker (the UI has added its [`crate::model::Conn`]).
    Connect {
        /// Id the UI gave it.
        conn_id: ConnId,
        /// Where and how.
        profile: Box<Profile>,
    },
    /// Save the connection profiles; `check` (the one just edited) has its certificate files checked first,
    /// and nothing is written if they are unusable.
    SaveProfiles {
        /// Every profile.
        file: ProfileFile,
        /// The profile to check.
        check: Option<Box<Profile>>,
    },
    /// Ask for a file (off the UI thread) for a profile field.
    PickFile {
        /// Which field it is for.
        field: FileField,
    },
    /// Export profiles to a file the user picks.
    ExportProfiles(ProfileFile),
    /// Import profiles from a file the user picks.
    ImportProfiles,
    /// Close a connection; its tree stays.
    Disconnect {
        /// Which one.
        conn_id: ConnId,
    },
    /// Ask the user for a file name (off the UI thread) and save these bytes there.
    SavePayload {
        /// The bytes.
        bytes: Bytes,
        /// File name to suggest.
        suggested_name: String,
    },
    /// Ask the user for a file name (off the UI thread) and save these bytes there (chart CSV, …).
    SaveFile {
        /// The bytes.
        bytes: Bytes,
        /// File name to suggest.
        suggested_name: String,
        /// Title of the dialog.
        title: String,
    },
    /// Save these bytes at this path (typed by the user where no file dialog can open).
    SaveTo {
        /// Where.
        path: std::path::PathBuf,
        /// What.
        bytes: Bytes,
    },
    /// Encode this image as PNG (off the UI thread), ask for a file name and save it.
    SavePng {
        /// The pixels.
        image: RgbaImage,
        /// File name to suggest.
        suggested_name: String,
    },
    /// Ask the user for a file (off the UI thread) whose bytes become the publish payload.
    LoadPayloadFile,
    /// Save the publish templates to the config dir.
    SaveTemplates(TemplateFile),
    /// Stop everything and exit.
    Shutdown,
}

/// An image as 8-bit sRGBA rows, top to bottom (for [`Command::SavePng`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

/// Names one publish request, so that its outcome ([`Event::PublishResult`]) finds it; 0 for
/// publishes nobody waits for (deleting retained values on an external broker).
pub type PublishId = u64;

/// What became of a [`PublishRequest`]; the publish panel says exactly this, nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The connection is down: the message waits, and goes out once it is up again.
    Queued,
    /// QoS 0: written to the network (there is no acknowledgement to wait for).
    Sent,
    /// Acknowledged by the broker (PUBACK for QoS 1, PUBCOMP for QoS 2), or taken by the embedded broker.
    Delivered,
    /// Not published, and why.
    Refused(String),
}

/// A message to publish, as typed in the publish panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRequest {
    /// Names this request in its [`Event::PublishResult`] (0: no result is wanted).
    pub id: PublishId,
    /// Connection to publish on.
    pub conn_id: ConnId,
    /// Topic name.
    pub topic: String,
    /// Payload bytes.
    pub payload: Bytes,
    /// QoS to publish with.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties (ignored on 3.1.1 connections).
    pub meta: MessageMeta,
}

/// Facts from the runtime, folded into the [`Store`] by [`Event::apply_to`].
#[derive(Debug)]
pub enum Event {
    /// The embedded broker listens at `local_addr`; `note` says why not where asked, if so.
    BrokerStarted {
        /// Bound address.
        local_addr: SocketAddr,
        /// E.g. "port 1883 is in use (…); using 38211".
        note: Option<String>,
    },
    /// The embedded broker stopped; `error` if it failed.
    BrokerStopped {
        /// Why, if not on request.
        error: Option<String>,
    },
    /// Periodic counters of the embedded broker.
    BrokerStats(BrokerStats),
    /// A connection changed state.
    ConnStatus {
        /// Which one.
        conn_id: ConnId,
        /// New state.
        status: ConnStatus,
    },
    /// A batch of received messages, in arrival order.
    Messages {
        /// Where they came from.
        conn_id: ConnId,
        /// The messages.
        msgs: Vec<Message>,
    },
    /// What became of a publish request (handled by the app, not the store).
    PublishResult {
        /// The request's id.
        id: PublishId,
        /// Connection it was published on.
        conn_id: ConnId,
        /// What happened.
        outcome: PublishOutcome,
    },
    /// These topics no longer have a retained value.
    RetainedDeleted {
        /// Connection.
        conn_id: ConnId,
        /// The topics.
        topics: Vec<Arc<str>>,
    },
    /// Messages lost because the UI channel was full.
    Dropped {
        /// Where they were lost.
        conn_id: ConnId,
        /// How many.
        count: u64,
    },
    /// A subscription was refused by the broker.
    SubscribeFailed {
        /// Connection.
        conn_id: ConnId,
        /// The filter.
        filter: String,
        /// The broker's reason.
        reason: String,
    },
    /// Profiles read at start, saved, or imported (handled by the app).
    Profiles {
        /// The profiles.
        file: ProfileFile,
        /// What happened, for the user.
        origin: ProfilesOrigin,
    },
    /// A profile was not saved: a field is unusable (handled by the app).
    ProfileRejected {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// A file was picked for a profile field (handled by the app).
    FilePicked {
        /// The field.
        field: FileField,
        /// The path.
        path: String,
    },
    /// A file was read for the publish payload (handled by the app).
    PayloadFile {
        /// File name, for display.
        name: String,
        /// Its bytes.
        bytes: Bytes,
    },
    /// No file dialog can open here: the user types where to save these bytes (handled by the app).
    SaveNeedsPath {
        /// What to save.
        bytes: Bytes,
        /// A path to suggest.
        path: std::path::PathBuf,
        /// What is being saved ("Export chart data as CSV").
        title: String,
        /// Why there is no dialog.
        reason: String,
    },
    /// Saved publish templates, read at start (handled by the app, not the store).
    TemplatesLoaded(TemplateFile),
    /// A command failed; shown to the user (handled by the app, not the store).
    Error(String),
    /// An action finished; shown to the user (handled by the app, not the store).
    Notice(String),
}

impl Event {
    /// Fold this event into the store. Pure: no I/O, no clock.
    pub fn apply_to(self, store: &mut Store) {
        match self {
            Self::BrokerStarted { local_addr, note } => {
                store.broker.local_addr = Some(local_addr);
                store.broker.note = note;
                store.broker.running = true;
                if let Some(local) = store.conn_mut(ConnId::LOCAL) {
                    local.address = local_addr.to_string();
                    local.status = ConnStatus::Connected;
                }
            }
            Self::BrokerStopped { error } => {
                store.broker.running = false;
                store.broker.note.clone_from(&error);
                if let Some(local) = store.conn_mut(ConnId::LOCAL) {
                    local.status = ConnStatus::Disconnected { error };
                }
            }
            Self::BrokerStats(stats) => store.broker.stats = stats,
            Self::ConnStatus { conn_id, status } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    conn.status = status;
                }
            }
            Self::Messages { conn_id, msgs } => store.insert_messages(conn_id, msgs),
            Self::RetainedDeleted { conn_id, topics } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    for topic in &topics {
                        conn.tree.clear_retained(topic);
                    }
                }
            }
            Self::Dropped { conn_id, count } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    conn.dropped += count;
                }
            }
            Self::SubscribeFailed { conn_id, filter, reason } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    conn.sub_failures.retain(|(f, _)| *f != filter);
                    conn.sub_failures.push((filter, reason));
                }
            }
            Self::Error(_)
            | Self::Notice(_)
            | Self::PublishResult { .. }
            | Self::SaveNeedsPath { .. }
            | Self::TemplatesLoaded(_)
            | Self::Profiles { .. }
            | Self::ProfileRejected { .. }
            | Self::FilePicked { .. }
            | Self::PayloadFile { .. } => {}
        }
    }
}

/// A profile field that takes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileField {
    /// TLS CA certificate.
    CaFile,
    /// TLS client certificate.
    ClientCert,
    /// TLS client key.
    ClientKey,
}

/// Where a [`Event::Profiles`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfilesOrigin {
    /// Read at start.
    Loaded,
    /// Written after a save.
    Saved,
    /// Read from a file the user picked.
    Imported,
}

/// Wakes the UI after events were sent; a plain closure so that the runtime never depends on egui.
/// Its argument tells whether the UI is backlogged (more than [`BACKLOG`] messages waiting for it).
pub type Waker = Arc<dyn Fn(bool) + Send + Sync>;

/// Messages waiting for the UI above which it counts as backlogged: it is not folding messages
/// in as fast as they come, and should draw fewer frames so as not to starve the broker.
pub const BACKLOG: usize = 20_000;

/// Most messages on their way to the UI at once (sent, not yet folded into the store). The channel is
/// bounded in batches; this bounds it in messages, so a UI that falls behind costs counted drops,
/// never unbounded memory.
pub const MAX_MESSAGES_IN_FLIGHT: usize = 150_000;

/// The runtime's sending end of the event channel. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    /// Bounded: a slow UI costs dropped messages, never a stalled broker.
    tx: mpsc::Sender<Event>,
    /// Called after each successful send to schedule a repaint.
    waker: Waker,
    /// Messages sent and not yet received, shared with the [`EventReceiver`].
    in_flight: Arc<AtomicUsize>,
}

/// The UI's receiving end: counts messages off as they are received.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<Event>,
    in_flight: Arc<AtomicUsize>,
}

impl EventReceiver {
    fn account(&self, event: &Event) {
        if let Event::Messages { msgs, .. } = event {
            self.in_flight.fetch_sub(msgs.len(), Ordering::Relaxed);
        }
    }

    /// The next event if one is waiting (the UI thread never waits).
    ///
    /// # Errors
    /// Empty or disconnected, as [`mpsc::Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<Event, mpsc::error::TryRecvError> {
        let event = self.rx.try_recv()?;
        self.account(&event);
        Ok(event)
    }

    /// The next event (tests and headless users).
    pub async fn recv(&mut self) -> Option<Event> {
        let event = self.rx.recv().await?;
        self.account(&event);
        Some(event)
    }

    /// Messages sent but not yet received.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// More than [`BACKLOG`] messages wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > BACKLOG
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

impl EventSink {
    /// Wrap a channel and a waker.
    #[must_use]
    fn new(tx: mpsc::Sender<Event>, waker: Waker, in_flight: Arc<AtomicUsize>) -> Self {
        Self { tx, waker, in_flight }
    }

    /// A channel pair with [`EVENT_CAPACITY`], for the app and tests.
    #[must_use]
    pub fn channel(waker: Waker) -> (Self, EventReceiver) {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let in_flight = Arc::new(AtomicUsize::new(0));
        (Self::new(tx, waker, Arc::clone(&in_flight)), EventReceiver { rx, in_flight })
    }

    /// High-rate path: never waits. Returns how many messages were dropped (0 on success).
    pub fn messages(&self, conn_id: ConnId, msgs: Vec<Message>) -> u64 {
        if msgs.is_empty() {
            return 0;
        }
        let n = msgs.len();
        let count = n as u64;
        if self.in_flight.fetch_add(n, Ordering::Relaxed) + n > MAX_MESSAGES_IN_FLIGHT {
            self.in_flight.fetch_sub(n, Ordering::Relaxed);
            return count;
        }
        match self.tx.try_send(Event::Messages { conn_id, msgs }) {
            Ok(()) => {
                (self.waker)(self.backlogged());
                0
            }
            Err(TrySendError::Full(_)) => {
                self.in_flight.fetch_sub(n, Ordering::Relaxed);
                count
            }
            Err(TrySendError::Closed(_)) => {
                self.in_flight.fetch_sub(n, Ordering::Relaxed);
                0
            }
        }
    }

    /// Rare control events must not be lost: wait for room.
    pub async fn control(&self, event: Event) {
        if self.tx.send(event).await.is_ok() {
            (self.waker)(self.backlogged());
        }
    }

    /// Messages sent and not yet taken by the UI.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// More than [`BACKLOG`] messages wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > BACKLOG
    }

    /// True once the UI has gone away.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn batch(n: usize) -> Vec<Message> {
        (0..n).map(|_| Message::new("t", "1", QoS::AtMostOnce, false, SystemTime::UNIX_EPOCH)).collect()
    }

    #[test]
    fn messages_in_flight_to_the_ui_are_bounded_and_drops_counted() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        let half = MAX_MESSAGES_IN_FLIGHT / 2;
        assert_eq!(sink.messages(ConnId::LOCAL, batch(half)), 0);
        assert_eq!(sink.messages(ConnId::LOCAL, batch(half)), 0);
        assert_eq!(sink.messages(ConnId::LOCAL, batch(10)), 10, "over the bound: dropped and counted");
        assert_eq!(rx.in_flight(), 2 * half);
        assert!(matches!(rx.try_recv(), Ok(Event::Messages { .. })));
        assert_eq!(rx.in_flight(), half, "receiving frees room");
        assert_eq!(sink.messages(ConnId::LOCAL, batch(10)), 0);
    }
}
