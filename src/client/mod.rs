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
mod v4;
mod v5;

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::model::profile::Profile;
use crate::model::{ConnId, ConnStatus};
use crate::protocol::{Event, EventSink, PublishOutcome, PublishRequest};

/// Open connections, by id.
#[derive(Debug)]
pub struct ClientSessions {
    sink: EventSink,
    /// Each connection's publish channel and task; dropping the channel ends the session cleanly.
    sessions: HashMap<ConnId, (mpsc::Sender<PublishRequest>, tokio::task::JoinHandle<()>)>,
}

impl ClientSessions {
    /// No connections yet.
    #[must_use]
    pub fn new(sink: EventSink) -> Self {
        Self { sink, sessions: HashMap::new() }
    }

    /// Open (or reopen) a connection.
    pub fn connect(&mut self, conn_id: ConnId, profile: Profile) {
        if let Some((_, task)) = self.sessions.remove(&conn_id) {
            task.abort();
        }
        let (tx, rx) = mpsc::channel(256);
        let task = tokio::spawn(session::run(conn_id, profile, rx, self.sink.clone()));
        self.sessions.insert(conn_id, (tx, task));
    }

    /// Close a connection; its tree stays in the UI, marked disconnected.
    pub async fn disconnect(&mut self, conn_id: ConnId) {
        if let Some((tx, task)) = self.sessions.remove(&conn_id) {
            drop(tx);
            // Give the session a moment to send DISCONNECT, then make sure it is gone.
            if tokio::time::timeout(std::time::Duration::from_millis(500), task).await.is_err() {
                tracing::debug!(?conn_id, "session did not end in time");
            }
        }
        self.sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Disconnected { error: None } }).await;
    }

    /// Publish on an open connection; refused (an [`Event::PublishResult`]) if it is not open.
    pub async fn publish(&mut self, req: PublishRequest) {
        let (id, conn_id) = (req.id, req.conn_id);
        let error = match self.sessions.get(&req.conn_id) {
            None => Some("connection is not open".to_owned()),
            Some((tx, _)) => tx.send(req).await.err().map(|_| "connection closed".to_owned()),
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
        for (_, (_, task)) in self.sessions.drain() {
            task.abort();
        }
    }
}
