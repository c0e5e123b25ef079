//! Client sessions to external brokers, one rumqttc event loop per connection.
//!
//! Owns: [`ClientSessions`] (the runtime's table of open connections) and [`ClientOptions`].
//! Must not touch: egui, the model's internals (it only sends [`Event`]s).

mod session;

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::model::{ConnId, ConnStatus};
use crate::protocol::{Event, EventSink, PublishRequest};

pub use session::ClientOptions;

/// Open connections, by id.
#[derive(Debug)]
pub struct ClientSessions {
    sink: EventSink,
    /// Each connection's publish channel; dropping it ends the session task.
    sessions: HashMap<ConnId, (mpsc::Sender<PublishRequest>, tokio::task::JoinHandle<()>)>,
}

impl ClientSessions {
    /// No connections yet.
    #[must_use]
    pub fn new(sink: EventSink) -> Self {
        Self { sink, sessions: HashMap::new() }
    }

    /// Open (or reopen) a connection.
    pub fn connect(&mut self, conn_id: ConnId, opts: ClientOptions) {
        self.disconnect(conn_id);
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(session::run(conn_id, opts, rx, self.sink.clone()));
        self.sessions.insert(conn_id, (tx, task));
    }

    /// Close a connection; its tree stays in the UI, marked disconnected.
    pub fn disconnect(&mut self, conn_id: ConnId) {
        if let Some((_, task)) = self.sessions.remove(&conn_id) {
            task.abort();
            let sink = self.sink.clone();
            tokio::spawn(
                async move { sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Disconnected { error: None } }).await },
            );
        }
    }

    /// Publish on an open connection; an error event if it is not open or busy.
    pub async fn publish(&mut self, req: PublishRequest) {
        let conn_id = req.conn_id;
        let error = match self.sessions.get(&conn_id) {
            None => Some("connection is not open".to_owned()),
            Some((tx, _)) => tx.send(req).await.err().map(|_| "connection closed".to_owned()),
        };
        if let Some(error) = error {
            self.sink.control(Event::Error(format!("cannot publish: {error}"))).await;
        }
    }

    /// Close every connection.
    pub fn shutdown(&mut self) {
        for (_, (_, task)) in self.sessions.drain() {
            task.abort();
        }
    }
}
