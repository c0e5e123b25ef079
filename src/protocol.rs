//! The UI ↔ runtime protocol: [`Command`]s go down, [`Event`]s come up, over bounded channels.
//!
//! Owns: the message types, [`EventSink`] (the runtime's only way to reach the UI) and [`Feed`],
//! one connection's message stream into it. The high-rate path never waits for the UI and never
//! drops: when the UI has no room, a [`Feed`] coalesces per topic (latest message and counters) and
//! hands the runs over as soon as there is room again. Must not touch: egui (the UI is woken
//! through a plain [`Waker`] closure).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::model::profile::{Profile, ProfileFile};
use crate::model::publish::TemplateFile;
use crate::model::{BrokerStats, Coalesced, Coalescer, ConnId, ConnStatus, Message, MessageMeta, QoS, Store};

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
    /// Append a line to the stats file (`mqscope --stats-file`, for scripts measuring the window).
    AppendStats(String),
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

/// A message to publish, as typed in the publish panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRequest {
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
    /// Messages that arrived while the UI had no room, coalesced per topic: each run is a topic's
    /// latest message and the count of those before it (after every earlier batch of the connection,
    /// before every later one).
    Coalesced {
        /// Where they came from.
        conn_id: ConnId,
        /// One run per topic.
        runs: Vec<Coalesced>,
    },
    /// These topics no longer have a retained value.
    RetainedDeleted {
        /// Connection.
        conn_id: ConnId,
        /// The topics.
        topics: Vec<Arc<str>>,
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
    /// Saved publish templates, read at start (handled by the app, not the store).
    TemplatesLoaded(TemplateFile),
    /// A command failed; shown to the user (handled by the app, not the store).
    Error(String),
    /// An action finished; shown to the user (handled by the app, not the store).
    Notice(String),
}

impl Event {
    /// The messages a [`Event::Messages`] carries, or the latest messages of a [`Event::Coalesced`]
    /// (for headless users and tests); `None` for other events.
    #[must_use]
    pub fn into_messages(self) -> Option<(ConnId, Vec<Message>)> {
        match self {
            Self::Messages { conn_id, msgs } => Some((conn_id, msgs)),
            Self::Coalesced { conn_id, runs } => Some((conn_id, runs.into_iter().map(|r| r.latest).collect())),
            _ => None,
        }
    }

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
            Self::Coalesced { conn_id, runs } => store.insert_coalesced(conn_id, runs),
            Self::RetainedDeleted { conn_id, topics } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    for topic in &topics {
                        conn.tree.clear_retained(topic);
                    }
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
/// in as fast as they come. It then draws fewer frames, and external connections pause reading.
pub const BACKLOG: usize = 20_000;

/// Most messages (or coalesced runs) on their way to the UI at once: sent, not yet folded into the
/// store. The channel is bounded in batches; this bounds it in messages. Beyond it, a [`Feed`]
/// coalesces per topic instead of sending, so a UI that falls behind costs thinned history, never
/// unbounded memory and never a topic or a latest value.
pub const MAX_MESSAGES_IN_FLIGHT: usize = 150_000;

/// Most messages or runs in one event: the UI checks its per-frame time budget between events.
pub const BATCH: usize = 4096;

/// What the sending and receiving ends share.
#[derive(Debug)]
struct Shared {
    /// Messages and runs sent and not yet received.
    in_flight: AtomicUsize,
    /// Most messages and runs in flight ([`MAX_MESSAGES_IN_FLIGHT`] but in tests).
    max_in_flight: usize,
    /// Notified when `in_flight` falls to [`BACKLOG`] or below, for [`EventSink::room`].
    room: Notify,
}

/// The runtime's sending end of the event channel. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    /// Bounded: a slow UI costs coalesced history, never a stalled broker.
    tx: mpsc::Sender<Event>,
    /// Called after each successful send to schedule a repaint.
    waker: Waker,
    /// Shared with the [`EventReceiver`].
    shared: Arc<Shared>,
}

/// The UI's receiving end: counts messages off as they are received.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<Event>,
    shared: Arc<Shared>,
}

impl EventReceiver {
    fn account(&self, event: &Event) {
        let n = match event {
            Event::Messages { msgs, .. } => msgs.len(),
            Event::Coalesced { runs, .. } => runs.len(),
            _ => return,
        };
        let before = self.shared.in_flight.fetch_sub(n, Ordering::Relaxed);
        let backlog = self.shared.backlog();
        if before > backlog && before - n <= backlog {
            self.shared.room.notify_waiters();
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
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// More than [`BACKLOG`] messages (or a third of the bound, if less) wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > self.shared.backlog()
    }
}

impl Shared {
    /// In flight above this, the UI counts as backlogged.
    fn backlog(&self) -> usize {
        BACKLOG.min(self.max_in_flight / 3)
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

impl EventSink {
    /// A channel pair with [`EVENT_CAPACITY`], for the app and tests.
    #[must_use]
    pub fn channel(waker: Waker) -> (Self, EventReceiver) {
        Self::channel_bounded(waker, MAX_MESSAGES_IN_FLIGHT)
    }

    /// A channel pair that holds at most `max_in_flight` messages (or runs) on their way to the UI:
    /// tests use a small bound to see coalescing without millions of messages.
    #[must_use]
    pub fn channel_bounded(waker: Waker, max_in_flight: usize) -> (Self, EventReceiver) {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared { in_flight: AtomicUsize::new(0), max_in_flight, room: Notify::new() });
        (Self { tx, waker, shared: Arc::clone(&shared) }, EventReceiver { rx, shared })
    }

    /// Send `n` messages or runs as `event` if the UI has room for them; else give the event back.
    fn try_send_counted(&self, n: usize, event: Event) -> Result<(), Event> {
        let in_flight = &self.shared.in_flight;
        if in_flight.fetch_add(n, Ordering::Relaxed) + n > self.shared.max_in_flight {
            in_flight.fetch_sub(n, Ordering::Relaxed);
            return Err(event);
        }
        match self.tx.try_send(event) {
            Ok(()) => {
                (self.waker)(self.backlogged());
                Ok(())
            }
            Err(TrySendError::Full(event)) => {
                in_flight.fetch_sub(n, Ordering::Relaxed);
                Err(event)
            }
            // The UI is gone and shutdown follows: nothing is left to show them to.
            Err(TrySendError::Closed(_)) => {
                in_flight.fetch_sub(n, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// High-rate path: never waits. Sends the batch if the UI has room for it, else gives it back
    /// (to be coalesced: see [`Feed`]).
    ///
    /// # Errors
    /// The batch itself, when the UI has no room for it.
    pub fn try_messages(&self, conn_id: ConnId, msgs: Vec<Message>) -> Result<(), Vec<Message>> {
        if msgs.is_empty() {
            return Ok(());
        }
        self.try_send_counted(msgs.len(), Event::Messages { conn_id, msgs }).map_err(|event| match event {
            Event::Messages { msgs, .. } => msgs,
            _ => Vec::new(),
        })
    }

    /// Like [`Self::try_messages`], for coalesced runs.
    ///
    /// # Errors
    /// The runs themselves, when the UI has no room for them.
    pub fn try_coalesced(&self, conn_id: ConnId, runs: Vec<Coalesced>) -> Result<(), Vec<Coalesced>> {
        if runs.is_empty() {
            return Ok(());
        }
        self.try_send_counted(runs.len(), Event::Coalesced { conn_id, runs }).map_err(|event| match event {
            Event::Coalesced { runs, .. } => runs,
            _ => Vec::new(),
        })
    }

    /// Rare control events must not be lost: wait for room.
    pub async fn control(&self, event: Event) {
        if self.tx.send(event).await.is_ok() {
            (self.waker)(self.backlogged());
        }
    }

    /// Wait until the UI is no longer backlogged, or for at most `max`. A connection that waits here
    /// before reading on lets TCP flow control slow its broker down, instead of thinning history.
    pub async fn room(&self, max: Duration) {
        let notified = self.shared.room.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.backlogged() && !self.is_closed() {
            tokio::time::timeout(max, notified).await.ok();
        }
    }

    /// Messages sent and not yet taken by the UI.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// More than [`BACKLOG`] messages (or a third of the bound, if less) wait for the UI.
    #[must_use]
    pub fn backlogged(&self) -> bool {
        self.in_flight() > self.backlog()
    }

    fn backlog(&self) -> usize {
        self.shared.backlog()
    }

    /// Most messages or runs in flight at once.
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight
    }

    /// Room for more messages or runs before the bound.
    #[must_use]
    pub fn room_left(&self) -> usize {
        self.shared.max_in_flight.saturating_sub(self.in_flight())
    }

    /// True once the UI has gone away.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// One connection's stream of messages into the [`EventSink`]: batches in order while the UI has
/// room; when it has none, per-topic coalescing, handed over as the UI makes room. Never drops.
///
/// Order holds per topic: once a batch was coalesced, later messages are coalesced too until every
/// run went to the UI, so a run always follows the batches sent before it and precedes those after.
#[derive(Debug)]
pub struct Feed {
    sink: EventSink,
    conn_id: ConnId,
    /// What the UI had no room for yet. Bounded by the number of topics (one run each).
    overflow: Coalescer,
}

impl Feed {
    /// A feed for connection `conn_id`.
    #[must_use]
    pub fn new(sink: EventSink, conn_id: ConnId) -> Self {
        Self { sink, conn_id, overflow: Coalescer::default() }
    }

    /// The sink it feeds.
    #[must_use]
    pub fn sink(&self) -> &EventSink {
        &self.sink
    }

    /// Messages that arrived after everything given before: sent as they are, or coalesced.
    pub fn send(&mut self, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        let msgs = if self.overflow.is_empty() {
            match self.sink.try_messages(self.conn_id, msgs) {
                Ok(()) => return,
                Err(msgs) => msgs,
            }
        } else {
            msgs
        };
        for msg in msgs {
            self.overflow.push(msg);
        }
        self.flush();
    }

    /// Runs coalesced elsewhere (the broker's tap), which followed everything given before.
    pub fn absorb(&mut self, runs: Coalescer) {
        if runs.is_empty() {
            return;
        }
        self.overflow.merge(runs);
        self.flush();
    }

    /// Hand coalesced runs to the UI as far as it has room. True when none are left.
    pub fn flush(&mut self) -> bool {
        while !self.overflow.is_empty() {
            let room = self.sink.room_left();
            if room == 0 {
                return false;
            }
            let runs = self.overflow.take_some(room.min(BATCH));
            if let Err(runs) = self.sink.try_coalesced(self.conn_id, runs) {
                for run in runs {
                    self.overflow.push_entry(run);
                }
                return false;
            }
        }
        true
    }

    /// Runs are waiting for room: call [`Self::flush`] again soon, even if no message arrives.
    #[must_use]
    pub fn is_coalescing(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Messages waiting as coalesced runs.
    #[must_use]
    pub fn coalesced_messages(&self) -> u64 {
        self.overflow.messages()
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
    fn messages_in_flight_to_the_ui_are_bounded_and_the_batch_given_back() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        let half = MAX_MESSAGES_IN_FLIGHT / 2;
        assert!(sink.try_messages(ConnId::LOCAL, batch(half)).is_ok());
        assert!(sink.try_messages(ConnId::LOCAL, batch(half)).is_ok());
        assert_eq!(sink.try_messages(ConnId::LOCAL, batch(10)).map_err(|b| b.len()), Err(10), "over the bound: given back");
        assert_eq!(rx.in_flight(), 2 * half);
        assert!(matches!(rx.try_recv(), Ok(Event::Messages { .. })));
        assert_eq!(rx.in_flight(), half, "receiving frees room");
        assert!(sink.try_messages(ConnId::LOCAL, batch(10)).is_ok());
    }

    /// Everything the receiver got, folded into a store.
    fn fold(rx: &mut EventReceiver, store: &mut Store) {
        while let Ok(event) = rx.try_recv() {
            event.apply_to(store);
        }
    }

    #[test]
    fn a_feed_without_room_coalesces_and_loses_no_topic_nor_latest_value() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        let mut feed = Feed::new(sink, ConnId::LOCAL);
        let topics = 100_000;
        let rounds = 10;
        for round in 0..rounds {
            let msgs = (0..topics)
                .map(|i| Message::new(format!("t/{i}"), format!("{round}"), QoS::AtMostOnce, round == 0, SystemTime::UNIX_EPOCH))
                .collect::<Vec<_>>();
            for chunk in msgs.chunks(BATCH) {
                feed.send(chunk.to_vec());
            }
        }
        assert!(feed.is_coalescing(), "1M messages with nobody reading cannot all be in flight");
        assert!(rx.in_flight() <= MAX_MESSAGES_IN_FLIGHT);
        let mut store = Store::default();
        while feed.is_coalescing() {
            fold(&mut rx, &mut store);
            feed.flush();
        }
        fold(&mut rx, &mut store);
        let tree = &store.conn(ConnId::LOCAL).expect("local").tree;
        assert_eq!(tree.topic_count(), topics);
        assert_eq!(tree.message_count(), (topics * rounds) as u64, "every message counted");
        assert!(tree.thinned() > 0);
        for i in 0..topics {
            let node = tree.node(tree.find(&format!("t/{i}")).expect("every topic"));
            assert_eq!(&node.latest().expect("latest").payload[..], format!("{}", rounds - 1).as_bytes());
            assert_eq!(node.msg_count(), rounds as u64);
            assert!(node.is_retained(), "the retained value of round 0 is still stored");
            assert_eq!(node.kept_count() as u64 + node.thinned(), rounds as u64, "kept or counted as thinned");
        }
    }

    #[tokio::test]
    async fn room_returns_once_the_ui_catches_up() {
        let (sink, mut rx) = EventSink::channel(Arc::new(|_| {}));
        sink.try_messages(ConnId::LOCAL, batch(BACKLOG + 1)).expect("room");
        assert!(sink.backlogged());
        let waiter = {
            let sink = sink.clone();
            tokio::spawn(async move { sink.room(Duration::from_hours(1)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        rx.recv().await.expect("the batch");
        waiter.await.expect("woken when the UI took the batch");
    }
}
