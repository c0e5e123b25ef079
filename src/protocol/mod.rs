//! The UI ↔ runtime protocol: [`Command`]s go down, [`Event`]s come up, over bounded channels.
//!
//! Owns: the message types, [`EventSink`] (the runtime's only way to reach the UI) and [`Feed`],
//! one connection's message stream into it. The high-rate path never waits for the UI and never
//! drops: when the UI has no room, a [`Feed`] coalesces per topic (latest message and counters) and
//! hands the runs over as soon as there is room again. Must not touch: egui (the UI is woken
//! through a plain [`Waker`] closure).

mod channel;
mod feed;
pub mod recording;
pub mod timers;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

pub use channel::{BACKLOG, BATCH, EventReceiver, EventSink, MAX_MESSAGES_IN_FLIGHT, Waker};
pub use feed::Feed;

use crate::model::broker_view::{ClientAction, InsideUpdate};
use crate::model::export::{ExportFormat, Progress};
use crate::model::faults::FaultAction;
use crate::model::profile::{Profile, ProfileFile};
use crate::model::publish::TemplateFile;
use crate::model::{BrokerStats, Coalesced, ConnId, ConnStatus, Message, MessageMeta, QoS, Store};

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
    /// Apply the window's TLS listener and access settings to the embedded broker; answered with
    /// [`Event::BrokerConfigured`].
    ConfigureBroker(Box<crate::model::broker_security::BrokerSecuritySettings>),
    /// Generate (or reuse) TLS certificates for the broker in `dir` (default: `tls` in the config
    /// directory), off the UI thread; answered with [`Event::CertificatesGenerated`].
    GenerateCertificates {
        /// Where.
        dir: Option<std::path::PathBuf>,
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
    /// Write these messages (sorted by time first) to `path`, off the UI thread, counting in `progress`.
    Export {
        /// Where.
        path: std::path::PathBuf,
        /// NDJSON or CSV.
        format: ExportFormat,
        /// What (clones: payloads are shared, not copied).
        msgs: Vec<Message>,
        /// Read and cancelled by the window.
        progress: Progress,
    },
    /// Record connection `conn_id`'s messages (those matching `filter`) to `path`, from where they
    /// arrive (the broker's tap, the connection's link), until stopped or a bound is reached.
    StartRecording {
        /// Which connection.
        conn_id: ConnId,
        /// The capture file to write.
        path: std::path::PathBuf,
        /// Only these topics (`None`: all).
        filter: Option<String>,
        /// Stop at this size.
        max_bytes: Option<u64>,
        /// Stop after this long.
        max_duration: Option<std::time::Duration>,
        /// Shared with the window, which shows them next to the red dot.
        stats: Arc<recording::RecordStats>,
    },
    /// Start publishing on a timer (a template, or simulated sensors); stopped through `stats`.
    StartTimer {
        /// What, where, how often.
        spec: Box<crate::model::timer::TimerSpec>,
        /// Shared with the window: messages sent, ended, stop.
        stats: Arc<timers::TimerStats>,
    },
    /// Replay a capture file into a connection (progress, pause and stop through `progress`).
    Replay {
        /// What, where, how fast.
        plan: Box<crate::model::export::ReplayPlan>,
        /// Shared with the window.
        progress: Progress,
    },
    /// Stop connection `conn_id`'s recording.
    StopRecording {
        /// Which connection.
        conn_id: ConnId,
    },
    /// Read a capture file into connection `conn_id` (a tab the window opened for it, with no broker).
    OpenCapture {
        /// The tab.
        conn_id: ConnId,
        /// The file.
        path: std::path::PathBuf,
        /// Read and cancelled by the window.
        progress: Progress,
    },
    /// Save the publish templates to the config dir.
    SaveTemplates(TemplateFile),
    /// Save the decoder bindings to the config dir.
    SaveDecoders(crate::model::decode::BindingFile),
    /// Compile a .proto file (and its imports) on the blocking pool; answered with
    /// [`Event::ProtoCompiled`].
    CompileProto(std::path::PathBuf),
    /// Append a line to the stats file (`mqscope --stats-file`, for scripts measuring the window).
    AppendStats(String),
    /// Ask the embedded broker for a view from inside (sent by the UI only while the view is shown);
    /// answered with [`Event::BrokerInside`].
    Inspect(InspectRequest),
    /// Act on a client of the embedded broker; answered with [`Event::Notice`] or [`Event::Error`].
    ClientAction(ClientAction),
    /// Change the faults injected into the embedded broker; answered with [`Event::Notice`] and
    /// the new list ([`Event::BrokerInside`]).
    Fault(FaultAction),
    /// Stop everything and exit.
    Shutdown,
}

/// Which view from inside the embedded broker to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InspectRequest {
    /// Every session, online or offline.
    Clients,
    /// Every subscription.
    Subscriptions,
    /// Retained messages in the store: see [`crate::broker::inspect::retained`].
    Retained {
        /// An MQTT filter if it holds a wildcard, else a topic substring (empty: all).
        filter: String,
    },
    /// Who receives a message on this topic.
    Receivers {
        /// The topic.
        topic: String,
    },
    /// The faults active now.
    Faults,
    /// Every session with a will, and the retained value its will would set.
    Availability,
    /// Every retained value in the store, with its payload, for the tree's "retained only" mode.
    RetainedValues,
    /// The packets traced after this sequence number (and whose packets are traced).
    Trace {
        /// The last sequence number the UI has.
        after: u64,
    },
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
    /// A view from inside the embedded broker, as asked for with [`Command::Inspect`].
    BrokerInside(InsideUpdate),
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
    /// Saved decoder bindings, read at start (handled by the app, not the store).
    DecodersLoaded(crate::model::decode::BindingFile),
    /// A .proto file compiled, or why not (handled by the app, not the store).
    ProtoCompiled {
        /// The file, as asked for.
        file: std::path::PathBuf,
        /// Its message types, or the compile error (`file:line:column: what`).
        result: Result<crate::model::decode::protobuf::ProtoFile, String>,
    },
    /// A command failed; shown to the user (handled by the app, not the store).
    Error(String),
    /// An action finished; shown to the user (handled by the app, not the store).
    Notice(String),
    /// Certificates generated or reused: their directory and how to use them, or why not (handled by the app).
    CertificatesGenerated(Result<(std::path::PathBuf, String), String>),
    /// The broker settings were applied: what is in force, or why not (handled by the app).
    BrokerConfigured(Result<String, String>),
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
                    local.sparkplug.connection_lost();
                }
            }
            Self::BrokerStats(stats) => store.broker.stats = stats,
            Self::BrokerInside(InsideUpdate::RetainedValues(snap)) => {
                let (total, cut) = (snap.total, snap.cut());
                let inserted = store.import_retained(snap.rows);
                store.broker.inside.retained_import = Some((inserted, total, cut));
            }
            Self::BrokerInside(update) => store.broker.inside.apply(update),
            Self::ConnStatus { conn_id, status } => {
                if let Some(conn) = store.conn_mut(conn_id) {
                    let was_up = conn.status == ConnStatus::Connected;
                    conn.status = status;
                    if was_up && conn.status != ConnStatus::Connected {
                        conn.sparkplug.connection_lost();
                    }
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
            | Self::PublishResult { .. }
            | Self::SaveNeedsPath { .. }
            | Self::TemplatesLoaded(_)
            | Self::DecodersLoaded(_)
            | Self::ProtoCompiled { .. }
            | Self::Profiles { .. }
            | Self::ProfileRejected { .. }
            | Self::FilePicked { .. }
            | Self::CertificatesGenerated(_)
            | Self::BrokerConfigured(_)
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
    /// The file an export writes.
    ExportFile,
    /// A capture file to open.
    CaptureFile,
    /// The file a recording writes.
    RecordFile,
    /// A capture file to replay.
    ReplayFile,
    /// The .proto schema of a decoder binding.
    ProtoFile,
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
