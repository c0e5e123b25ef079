//! One client connection: CONNECT handshake, the read/write loop, keep-alive, and what happens to
//! the session and its will when the connection ends.
//!
//! Owns: [`serve`] and the per-connection [`Session`]. Packet handling lives in `inbound`, queue
//! draining in `outbound`. An error here ends only this connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::Shared;
use super::client_state::SessionCell;
use super::codec::{ConnAck, Connect, DecodeError, Disconnect, Packet, Properties, ProtocolVersion, reason};
use super::connection::{Connection, ConnectionError};
use super::router;

mod inbound;
mod outbound;

/// How a connection ended, deciding the will's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// DISCONNECT with reason 0: the will is discarded (MQTT-3.1.2-10 / MQTT-3.14.4-3).
    Normal,
    /// Any other end (I/O error, keep-alive, protocol error, DISCONNECT 0x04): the will is published.
    WithWill,
    /// Another connection took the session over; it already dealt with the will.
    TakenOver,
    /// The broker is shutting down.
    Shutdown,
}

/// One connected client.
pub struct Session {
    shared: Arc<Shared>,
    conn: Connection,
    cell: Arc<SessionCell>,
    client_id: Arc<str>,
    version: ProtocolVersion,
    generation: u64,
    /// Keep-alive granted; zero disables the check.
    keep_alive: Duration,
    /// Topic aliases the client set (MQTT 5, client → server).
    aliases_in: HashMap<u16, Arc<str>>,
    /// Session Expiry Interval from CONNECT (a DISCONNECT may not raise it from 0, MQTT-3.14.2-2).
    connect_expiry: u32,
}

/// Serve one accepted TCP connection to its end.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut conn = Connection::new(stream, shared.config.max_packet_size);
    let first = tokio::time::timeout(shared.config.connect_timeout, conn.read_packet()).await;
    let connect = match first {
        Ok(Ok(Some(Packet::Connect(connect)))) => connect,
        Ok(Ok(Some(_))) => return conn.close().await, // MQTT-3.1.0-1: the first packet must be CONNECT.
        Ok(Ok(None)) | Err(_) => return,
        Ok(Err(err)) => return refuse_connect(&mut conn, &err, peer).await,
    };
    let version = connect.protocol;
    conn.version = Some(version);
    let Some((mut session, kick_rx)) = accept(conn, *connect, peer, shared).await else { return };
    let exit = session.run(kick_rx).await;
    session.finish(exit, peer);
}

/// Answer an unreadable CONNECT: CONNACK with the reason where the client can read one, then close.
async fn refuse_connect(conn: &mut Connection, err: &ConnectionError, peer: SocketAddr) {
    tracing::debug!(%peer, error = %err, "refusing CONNECT");
    let level = conn.peek_connect_level();
    if let ConnectionError::Decode(decode) = err {
        let ack = match (decode, level) {
            // MQTT-3.1.2-2: a level we do not speak gets the 3.1.1 answer 0x01, which every client version can read.
            (DecodeError::UnsupportedProtocolVersion(_), _) => Some((ProtocolVersion::V311, reason::CONNACK_V3_UNACCEPTABLE_PROTOCOL)),
            (other, Some(5)) => Some((ProtocolVersion::V5, other.reason_code())),
            _ => None,
        };
        if let Some((version, code)) = ack {
            conn.version = Some(version);
            conn.queue(&Packet::ConnAck(ConnAck { session_present: false, code, properties: Properties::default() }));
        }
    }
    conn.close().await;
}

/// Generated identifier for a client that sent an empty one.
fn assign_client_id() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("mqscope-{:08x}{:04x}", nanos, NEXT.fetch_add(1, Relaxed) & 0xffff)
}

/// Validate CONNECT, attach (or create) the session, send CONNACK. `None` if refused.
async fn accept(mut conn: Connection, connect: Connect, peer: SocketAddr, shared: Arc<Shared>) -> Option<(Session, oneshot::Receiver<u8>)> {
    let v5 = connect.protocol == ProtocolVersion::V5;
    let cfg = &shared.config;
    let mut ack = Properties::default();
    let refuse = |conn: &mut Connection, code: u8| {
        conn.queue(&Packet::ConnAck(ConnAck { session_present: false, code, properties: Properties::default() }));
    };
    if connect.properties.authentication_method.is_some() {
        // We support no enhanced authentication method (MQTT-4.12.0-1 lets the server refuse it).
        refuse(&mut conn, reason::BAD_AUTHENTICATION_METHOD);
        conn.close().await;
        return None;
    }
    let client_id: Arc<str> = if connect.client_id.is_empty() {
        if !v5 && !connect.clean_start {
            // MQTT-3.1.3-8: empty id with CleanSession=0 is rejected with return code 0x02.
            refuse(&mut conn, reason::CONNACK_V3_IDENTIFIER_REJECTED);
            conn.close().await;
            return None;
        }
        let id = assign_client_id();
        if v5 {
            ack.assigned_client_identifier = Some(id.clone());
        }
        id.into()
    } else {
        connect.client_id.as_str().into()
    };
    let expiry = if v5 {
        connect.properties.session_expiry_interval.unwrap_or(0)
    } else if connect.clean_start {
        0
    } else {
        u32::MAX
    };
    let expiry = expiry.min(cfg.max_session_expiry_secs);
    let mut keep_alive = connect.keep_alive;
    if v5 && (keep_alive == 0 || keep_alive > cfg.max_keep_alive_secs) {
        keep_alive = cfg.max_keep_alive_secs;
        ack.server_keep_alive = Some(keep_alive);
    }
    let (kick_tx, kick_rx) = oneshot::channel();
    let (cell, session_present, generation) = attach(&shared, &client_id, &connect, expiry, peer, kick_tx);
    if v5 {
        ack.receive_maximum = Some(cfg.receive_maximum);
        ack.topic_alias_maximum = Some(cfg.topic_alias_maximum);
        ack.maximum_packet_size = Some(cfg.max_packet_size);
        if expiry != connect.properties.session_expiry_interval.unwrap_or(0) {
            ack.session_expiry_interval = Some(expiry);
        }
    }
    conn.queue(&Packet::ConnAck(ConnAck { session_present, code: reason::SUCCESS, properties: ack }));
    shared.stats.client_connected();
    tracing::debug!(%peer, client_id = %client_id, ?connect.protocol, session_present, "client connected");
    let session = Session {
        shared,
        conn,
        cell,
        client_id,
        version: connect.protocol,
        generation,
        keep_alive: Duration::from_secs(u64::from(keep_alive)),
        aliases_in: HashMap::new(),
        connect_expiry: expiry,
    };
    Some((session, kick_rx))
}

/// Take over or create the session for `client_id`. Returns (cell, session present, connection generation).
fn attach(
    shared: &Shared,
    client_id: &Arc<str>,
    connect: &Connect,
    expiry: u32,
    peer: SocketAddr,
    kick_tx: oneshot::Sender<u8>,
) -> (Arc<SessionCell>, bool, u64) {
    let mut state = shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    state.cancel_pending_will(client_id);
    let mut old_will = None;
    if let Some(old) = state.sessions.get(client_id) {
        let mut data = old.lock();
        if let Some(kick) = data.kick.take() {
            // MQTT-3.1.4-3: the existing connection is closed (0x8E in 5.0); its will is ours to handle.
            kick.send(reason::SESSION_TAKEN_OVER).ok();
            old_will = data.will.take();
        }
        data.connection = None;
    }
    let resume = !connect.clean_start && state.sessions.contains_key(client_id);
    let cell = if resume {
        state.sessions.get(client_id).map(Arc::clone)
    } else {
        state.remove_session(client_id);
        None
    };
    let session_present = cell.is_some();
    let cell = cell.unwrap_or_else(|| SessionCell::new(Arc::clone(client_id), connect.protocol, Arc::clone(&shared.stats.dropped)));
    state.last_connection += 1;
    let generation = state.last_connection;
    {
        let mut data = cell.lock();
        data.version = connect.protocol;
        data.connection = Some(generation);
        data.kick = Some(kick_tx);
        data.will.clone_from(&connect.will);
        data.expiry_secs = expiry;
        data.expires_at = None;
        data.send_quota = connect.properties.receive_maximum.unwrap_or(shared.config.default_inflight);
        data.client_max_packet = connect.properties.maximum_packet_size.unwrap_or(u32::MAX);
        data.peer = Some(peer);
    }
    state.sessions.insert(Arc::clone(client_id), Arc::clone(&cell));
    drop(state);
    if let Some(will) = old_will {
        // A will with a delay is dropped if the session is resumed at once (MQTT 5 §3.1.3.2.2).
        let delayed = will.properties.will_delay_interval.unwrap_or(0) > 0;
        if !(resume && delayed) {
            router::schedule_will(shared, Arc::clone(client_id), will);
        }
    }
    (cell, session_present, generation)
}

impl Session {
    /// The read/write loop, until the connection ends.
    async fn run(&mut self, mut kick_rx: oneshot::Receiver<u8>) -> Exit {
        let mut shutdown = self.shared.shutdown.clone();
        self.resend_inflight();
        let mut deadline = self.next_deadline();
        loop {
            if let Err(err) = self.drain_and_flush().await {
                tracing::debug!(client_id = %self.client_id, error = %err, "write failed");
                return Exit::WithWill;
            }
            let keep_alive_on = !self.keep_alive.is_zero();
            tokio::select! {
                biased;
                code = &mut kick_rx => {
                    self.send_disconnect(code.unwrap_or(reason::SESSION_TAKEN_OVER)).await;
                    return Exit::TakenOver;
                }
                _ = shutdown.changed() => {
                    self.send_disconnect(reason::SERVER_SHUTTING_DOWN).await;
                    return Exit::Shutdown;
                }
                read = self.conn.read_more() => {
                    match read {
                        Ok(0) => return Exit::WithWill,
                        Ok(n) => {
                            self.shared.stats.bytes_received.fetch_add(n as u64, Relaxed);
                            deadline = self.next_deadline();
                            if let Some(exit) = self.handle_buffered().await {
                                return exit;
                            }
                        }
                        Err(err) => {
                            tracing::debug!(client_id = %self.client_id, error = %err, "read failed");
                            return Exit::WithWill;
                        }
                    }
                }
                () = self.cell.notify.notified() => {}
                () = tokio::time::sleep_until(deadline.into()), if keep_alive_on => {
                    // MQTT-3.1.2-24 / MQTT-3.1.2-22 (5.0): 1.5 × keep-alive without a packet ends the connection.
                    tracing::debug!(client_id = %self.client_id, "keep-alive expired");
                    self.send_disconnect(reason::KEEP_ALIVE_TIMEOUT).await;
                    return Exit::WithWill;
                }
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        Instant::now() + self.keep_alive + self.keep_alive / 2
    }

    /// Parse and handle every complete packet already read.
    async fn handle_buffered(&mut self) -> Option<Exit> {
        loop {
            let packet = match self.conn.parse() {
                Ok(Some(packet)) => packet,
                Ok(None) => return None,
                Err(err) => {
                    tracing::debug!(client_id = %self.client_id, error = %err, "malformed packet");
                    self.send_disconnect(err.reason_code()).await;
                    return Some(Exit::WithWill);
                }
            };
            if let Some(exit) = self.handle(packet).await {
                return Some(exit);
            }
            if self.conn.out.len() >= super::connection::WRITE_HIGH_WATER && self.conn.flush().await.is_err() {
                return Some(Exit::WithWill);
            }
        }
    }

    /// Send DISCONNECT (5.0 only; 3.1.1 servers just close) and close.
    async fn send_disconnect(&mut self, code: u8) {
        if self.version == ProtocolVersion::V5 {
            self.conn.queue(&Packet::Disconnect(Disconnect { code, properties: Properties::default() }));
        }
        self.conn.close().await;
    }

    /// Detach from the session: publish or schedule the will, start the expiry clock, or drop the session.
    fn finish(self, exit: Exit, peer: SocketAddr) {
        self.shared.stats.client_disconnected();
        tracing::debug!(%peer, client_id = %self.client_id, ?exit, "client disconnected");
        let mut state = self.shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut data = self.cell.lock();
        if data.connection != Some(self.generation) {
            return; // Taken over: the new connection owns the session now.
        }
        data.connection = None;
        data.kick = None;
        data.peer = None;
        let will = data.will.take().filter(|_| exit == Exit::WithWill);
        let expiry = data.expiry_secs;
        if !self.shared.config.queue_qos0_offline {
            let before = data.queue.len();
            data.queue.retain(|d| d.qos != super::codec::QoS::AtMostOnce);
            let lost = (before - data.queue.len()) as u64;
            data.dropped += lost;
            self.shared.stats.dropped.fetch_add(lost, Relaxed);
            data.queued_bytes = data.queue.iter().map(|d| d.msg.cost()).sum();
        }
        data.expires_at = (expiry != u32::MAX).then(|| Instant::now() + Duration::from_secs(u64::from(expiry)));
        drop(data);
        if expiry == 0 {
            state.remove_session(&self.client_id);
        }
        drop(state);
        if let Some(mut will) = will {
            // The will goes out at the earlier of its delay and the session's end (MQTT 5 §3.1.2.5).
            let delay = will.properties.will_delay_interval.unwrap_or(0).min(expiry);
            will.properties.will_delay_interval = Some(delay);
            router::schedule_will(&self.shared, Arc::clone(&self.client_id), will);
        }
    }
}
