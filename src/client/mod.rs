//! Client sessions to external brokers, one rumqttc event loop per connection.
//!
//! Owns: [`ClientSessions`] (the runtime's table of open connections). Must not touch: egui, the
//! model's internals (it only sends [`Event`]s).
//!
//! # Layout
//! - `session`: one connection: checks, then the loop of its protocol version.
//! - `link`: what both protocol versions share (back-off, batching, coalescing, publish outcomes).
//! - `v4`, `v5`: the MQTT 3.1.1 and 5.0 loops.
//! - [`tls`]: rustls configuration from a profile's PEM files, and the transport to dial.

mod link;
mod session;
pub mod tls;
pub(crate) mod v4;
pub(crate) mod v5;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::model::profile::Profile;
use crate::model::{ConnId, ConnStatus};
use crate::protocol::recording::RecordSlot;
use crate::protocol::{Event, EventSink, PublishOutcome, PublishRequest};

/// One open connection: it runs on a thread of its own, in a single-threaded tokio runtime, so that
/// a chatty broker costs no cross-thread wake-ups per message and neither steals the embedded
/// broker's workers nor waits for them.
#[derive(Debug)]
struct Running {
    /// Publish requests; dropping it ends the session cleanly (DISCONNECT).
    publishes: mpsc::Sender<PublishRequest>,
    /// Ends the session at once.
    abort: Option<tokio::sync::oneshot::Sender<()>>,
    /// Completes when the session's thread is done.
    done: tokio::sync::oneshot::Receiver<()>,
    /// Where the session offers its messages to a recording.
    recording: Arc<RecordSlot>,
}

impl Running {
    fn start(conn_id: ConnId, profile: Profile, sink: EventSink, recording: Arc<RecordSlot>) -> std::io::Result<Self> {
        let (publishes, rx) = mpsc::channel(256);
        let (abort, aborted) = tokio::sync::oneshot::channel::<()>();
        let (finished, done) = tokio::sync::oneshot::channel();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let slot = Arc::clone(&recording);
        std::thread::Builder::new().name(format!("mqtt-conn-{}", conn_id.0)).spawn(move || {
            rt.block_on(async move {
                tokio::select! {
                    () = session::run(conn_id, profile, rx, sink, slot) => {}
                    _ = aborted => {}
                }
            });
            finished.send(()).ok();
        })?;
        Ok(Self { publishes, abort: Some(abort), done, recording })
    }

    fn abort(&mut self) {
        if let Some(abort) = self.abort.take() {
            abort.send(()).ok();
        }
    }
}

/// Open connections, by id.
#[derive(Debug)]
pub struct ClientSessions {
    sink: EventSink,
    sessions: HashMap<ConnId, Running>,
}

impl ClientSessions {
    /// No connections yet.
    #[must_use]
    pub fn new(sink: EventSink) -> Self {
        Self { sink, sessions: HashMap::new() }
    }

    /// Where connection `conn_id` offers its messages to a recording, while it is open.
    #[must_use]
    pub fn recording(&self, conn_id: ConnId) -> Option<Arc<RecordSlot>> {
        self.sessions.get(&conn_id).map(|r| Arc::clone(&r.recording))
    }

    /// Open (or reopen) a connection.
    pub fn connect(&mut self, conn_id: ConnId, profile: Profile) {
        // A recording goes on across a reconnect with other settings.
        let recording = self.sessions.remove(&conn_id).map(|mut old| {
            old.abort();
            old.recording
        });
        match Running::start(conn_id, profile, self.sink.clone(), recording.unwrap_or_default()) {
            Ok(running) => {
                self.sessions.insert(conn_id, running);
            }
            Err(err) => {
                let status = ConnStatus::Disconnected { error: Some(format!("cannot start the connection's thread: {err}")) };
                let sink = self.sink.clone();
                tokio::spawn(async move { sink.control(Event::ConnStatus { conn_id, status }).await });
            }
        }
    }

    /// Close a connection; its tree stays in the UI, marked disconnected.
    pub async fn disconnect(&mut self, conn_id: ConnId) {
        if let Some(Running { publishes, mut abort, done, recording }) = self.sessions.remove(&conn_id) {
            // A closed connection's recording ends with it.
            recording.stop();
            drop(publishes);
            // Give the session a moment to send DISCONNECT, then make sure it is gone.
            if tokio::time::timeout(std::time::Duration::from_millis(500), done).await.is_err() {
                tracing::debug!(?conn_id, "session did not end in time");
                if let Some(abort) = abort.take() {
                    abort.send(()).ok();
                }
            }
        }
        self.sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Disconnected { error: None } }).await;
    }

    /// Publish on an open connection; refused (an [`Event::PublishResult`]) if it is not open.
    pub async fn publish(&mut self, req: PublishRequest) {
        let (id, conn_id) = (req.id, req.conn_id);
        let error = match self.sessions.get(&req.conn_id) {
            None => Some("connection is not open".to_owned()),
            Some(running) => running.publishes.send(req).await.err().map(|_| "connection closed".to_owned()),
        };
        if let Some(error) = error {
            let event = if id == 0 {
                Event::Error(format!("cannot publish: {error}"))
            } else {
                Event::PublishResult { id, conn_id, outcome: PublishOutcome::Refused(error) }
            };
            self.sink.control(event).await;
        }
    }

    /// Close every connection.
    pub fn shutdown(&mut self) {
        for (_, mut running) in self.sessions.drain() {
            running.abort();
        }
    }
}
