//! The CONNECT handshake: protocol checks, client identifier, session attach or takeover, CONNACK.
//!
//! Owns: [`serve`] (the connection task's entry point) and the decisions of 5.0 §3.1.4 / 3.1.1
//! §3.1.4. Nothing here reads packets after CONNECT.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::oneshot;

use super::Session;
use crate::broker::Shared;
use crate::broker::client_state::{Kick, SessionCell};
use crate::broker::codec::{self, ConnAck, Connect, DecodeError, LastWill, Packet, Properties, ProtocolVersion, reason};
use crate::broker::connection::{Connection, ConnectionError, Transport};
use crate::broker::router;
use crate::broker::security::{Security, Verdict, Who};
use crate::broker::stats::Limit;
use crate::broker::store::{Op, record::Rec};
use crate::broker::trace::Tracer;
use crate::model::packet_trace::Direction;

/// Serve one accepted connection (TCP, or a WebSocket after its handshake) to its end.
pub async fn serve(stream: Transport, peer: SocketAddr, shared: Arc<Shared>) {
    let slot = Slot::take(&shared);
    let close_within = shared.config.close_timeout;
    let mut conn = Connection::new(stream, shared.config.max_packet_size);
    conn.keep_order(&shared.route_seq);
    if slot.over_hard_cap {
        // A flood far past `max_connections`: no task waits for these CONNECTs (counted and logged).
        shared.stats.limits.hit(Limit::Connections, &peer);
        return;
    }
    // Past the limit the CONNECT is read only to answer it: no longer than a close may take.
    let connect_timeout = if slot.over_limit { shared.config.connect_timeout.min(close_within) } else { shared.config.connect_timeout };
    let first = tokio::time::timeout(connect_timeout, conn.read_packet()).await;
    let connect = match first {
        Ok(Ok(Some(Packet::Connect(connect)))) => connect,
        // MQTT-3.1.0-1: the first packet must be CONNECT.
        Ok(Ok(Some(_))) => return conn.close_gracefully(close_within).await,
        Ok(Ok(None)) => return,
        Err(_) => {
            shared.stats.limits.hit(Limit::ConnectTimeout, &peer);
            return conn.close_gracefully(close_within).await;
        }
        Ok(Err(err)) => {
            if let ConnectionError::Decode(DecodeError::PacketTooLarge { .. }) = err {
                shared.stats.limits.hit(Limit::PacketSize, &peer);
            }
            refuse_connect(&mut conn, &err, peer);
            return conn.close_gracefully(close_within).await;
        }
    };
    let version = connect.protocol;
    conn.version = Some(version);
    if slot.over_limit {
        // Quota exceeded (5.0 §3.2.2.2: 0x97) / Server unavailable (3.1.1 §3.2.2.3: 0x03), never a silent drop.
        shared.stats.limits.hit(Limit::Connections, &peer);
        conn.queue(&refusal(reason::QUOTA_EXCEEDED));
        return conn.close_gracefully(close_within).await;
    }
    if !shared.connect_rate.admit() {
        // 5.0 §3.2.2.2: 0x9F Connection rate exceeded; 3.1.1 has only 0x03 Server unavailable (the codec maps it).
        shared.stats.limits.hit(Limit::ConnectionRate, &peer);
        conn.queue(&refusal(reason::CONNECTION_RATE_EXCEEDED));
        return conn.close_gracefully(close_within).await;
    }
    let (mut session, kick_rx) = match accept(conn, &connect, peer, shared) {
        Ok(accepted) => accepted,
        Err(mut conn) => return conn.close_gracefully(close_within).await,
    };
    let exit = session.run(kick_rx).await;
    // The acknowledgements still buffered go out once what they promise is on disk (bounded, in case the disk hangs).
    tokio::time::timeout(session.shared.config.shutdown_timeout, session.output_synced()).await.ok();
    let mut conn = session.finish(exit, peer);
    if exit != super::Exit::Dropped {
        conn.close_gracefully(close_within).await;
    }
}

/// One served socket, counted against `max_connections` while it lives.
struct Slot {
    shared: Arc<Shared>,
    /// Past `max_connections`: answered with a refusing CONNACK.
    over_limit: bool,
    /// Far past it (twice the limit and 64 more): dropped without waiting for the CONNECT.
    over_hard_cap: bool,
}

impl Slot {
    fn take(shared: &Arc<Shared>) -> Self {
        let before = shared.stats.connections.fetch_add(1, Relaxed);
        let max = shared.config.max_connections;
        Self { shared: Arc::clone(shared), over_limit: before >= max, over_hard_cap: before >= max.saturating_mul(2).saturating_add(64) }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.stats.connections.fetch_sub(1, Relaxed);
    }
}

/// A refusing CONNACK (the codec maps the code to a 3.1.1 return code for 3.1.1 clients).
fn refusal(code: u8) -> Packet {
    Packet::ConnAck(ConnAck { session_present: false, code, properties: Properties::default() })
}

/// Answer an unreadable CONNECT: CONNACK with the reason where the client can read one.
fn refuse_connect(conn: &mut Connection, err: &ConnectionError, peer: SocketAddr) {
    tracing::debug!(%peer, error = %err, "refusing CONNECT");
    let level = conn.peek_connect_level();
    if let ConnectionError::Decode(decode) = err {
        let ack = match (decode, level) {
            // 5.0 MQTT-3.1.2-2: a level above 5 is answered in 5.0 format with 0x84 Unsupported Protocol Version.
            (DecodeError::UnsupportedProtocolVersion(level), _) if *level > 5 => {
                Some((ProtocolVersion::V5, reason::UNSUPPORTED_PROTOCOL_VERSION))
            }
            // 3.1.1 MQTT-3.1.2-2: an older level (or wrong name) gets return code 0x01, which every client version can read.
            (DecodeError::UnsupportedProtocolVersion(_), _) => Some((ProtocolVersion::V311, reason::CONNACK_V3_UNACCEPTABLE_PROTOCOL)),
            // 5.0 §4.13.1: a malformed or erroneous CONNECT gets CONNACK 0x81/0x82 (or more specific) before closing.
            (other, Some(5)) => Some((ProtocolVersion::V5, other.reason_code())),
            // 3.1.1 §4.8: the connection is just closed.
            _ => None,
        };
        if let Some((version, code)) = ack {
            conn.version = Some(version);
            conn.queue(&refusal(code));
        }
    }
}

/// Generated identifier for a client that sent an empty one.
fn assign_client_id() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("mqscope-{:08x}{:04x}", nanos, NEXT.fetch_add(1, Relaxed) & 0xffff)
}

/// The session of an accepted CONNECT and the receiver of its takeover signal; or, refused, the connection to close.
type Accepted = Result<(Session, oneshot::Receiver<Kick>), Box<Connection>>;

/// Refuse a CONNECT with `code` (mapped to the 3.1.1 return code by the codec).
fn refuse(mut conn: Connection, code: u8) -> Accepted {
    conn.queue(&refusal(code));
    Err(Box::new(conn))
}

/// Validate CONNECT, attach (or create) the session, queue CONNACK.
fn accept(mut conn: Connection, connect: &Connect, peer: SocketAddr, shared: Arc<Shared>) -> Accepted {
    trace_connect(&mut conn, connect, &shared);
    let v5 = connect.protocol == ProtocolVersion::V5;
    let cfg = &shared.config;
    let mut ack = Properties::default();
    if connect.properties.authentication_method.is_some() {
        // We support no enhanced authentication method: CONNACK 0x8C and close (5.0 §4.12, MQTT-4.12.0-1).
        return refuse(conn, reason::BAD_AUTHENTICATION_METHOD);
    }
    if let Some(will) = &connect.will
        && will.properties.payload_format_indicator == Some(1)
        && std::str::from_utf8(&will.payload).is_err()
    {
        // 5.0 §3.1.3.2.3: a Will Payload declared UTF-8 that is not → CONNACK 0x99.
        return refuse(conn, reason::PAYLOAD_FORMAT_INVALID);
    }
    let policy = shared.security();
    let username = match authenticate(&conn, connect, &policy, peer, &shared) {
        Ok(username) => username,
        Err(code) => return refuse(conn, code),
    };
    let client_id: Arc<str> = if connect.client_id.is_empty() {
        if !v5 && !connect.clean_start {
            // MQTT-3.1.3-8 (3.1.1): empty id with CleanSession=0 is rejected with return code 0x02.
            return refuse(conn, reason::CONNACK_V3_IDENTIFIER_REJECTED);
        }
        let id = assign_client_id();
        if v5 {
            // MQTT-3.2.2-16: the identifier we assigned goes back in CONNACK.
            ack.assigned_client_identifier = Some(id.clone());
        }
        id.into()
    } else {
        connect.client_id.as_str().into()
    };
    if let Some(code) = shared.faults.take_refusal(&client_id) {
        // A fault the explorer injected ([`crate::broker::faults`]); MQTT-3.2.2-7 (5.0): the connection closes after it.
        tracing::info!(%peer, %client_id, code, "CONNECT refused by an injected fault");
        return refuse(conn, code);
    }
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
        // MQTT-3.2.2-21: the client must use the Server Keep Alive we send.
        keep_alive = cfg.max_keep_alive_secs;
        ack.server_keep_alive = Some(keep_alive);
    }
    let (kick_tx, kick_rx) = oneshot::channel();
    let (cell, session_present, generation) = attach(&shared, &client_id, connect, expiry, peer, kick_tx);
    {
        let mut data = cell.lock();
        data.keep_alive_secs = keep_alive;
        data.clean_start = connect.clean_start;
        data.connected_at = Some(std::time::SystemTime::now());
        data.username.clone_from(&username);
    }
    if v5 {
        ack.receive_maximum = Some(cfg.receive_maximum);
        ack.topic_alias_maximum = Some(cfg.topic_alias_maximum);
        ack.maximum_packet_size = Some(cfg.max_packet_size);
        if expiry != connect.properties.session_expiry_interval.unwrap_or(0) {
            ack.session_expiry_interval = Some(expiry);
        }
    }
    let shared_generation = shared.security_generation();
    conn.tracer = Some(Tracer::new(Arc::clone(&cell.tracing), Arc::clone(&client_id), Arc::clone(&shared.trace)));
    let mut session = Session {
        shared,
        conn,
        cell,
        client_id,
        version: connect.protocol,
        generation,
        keep_alive: Duration::from_secs(u64::from(keep_alive)),
        aliases_in: HashMap::new(),
        aliases_out: HashMap::new(),
        alias_max_out: if v5 { connect.properties.topic_alias_maximum.unwrap_or(0) } else { 0 },
        connect_expiry: expiry,
        congested: Vec::new(),
        parse_pending: false,
        publishes_in: 0,
        username,
        policy_gen: shared_generation,
        policy,
        delayed: std::collections::VecDeque::new(),
        need_sync: 0,
    };
    session.conn.queue(&Packet::ConnAck(ConnAck { session_present, code: reason::SUCCESS, properties: ack }));
    session.shared.stats.client_connected();
    tracing::debug!(%peer, client_id = %session.client_id, ?connect.protocol, session_present, "client connected");
    Ok((session, kick_rx))
}

/// Check the CONNECT's credentials (and, with an ACL, its will topic) against `policy`. Returns
/// the user name to act as, or the CONNACK code refusing it: 0x86 / 0x87 in 5.0, 0x05 Not
/// authorized in 3.1.1 for both (as mosquitto answers). Neither the user name nor the password is logged.
fn authenticate(
    conn: &Connection,
    connect: &Connect,
    policy: &Security,
    peer: SocketAddr,
    shared: &Shared,
) -> Result<Option<Arc<str>>, u8> {
    let v5 = connect.protocol == ProtocolVersion::V5;
    let cert_cn =
        if policy.use_identity_as_username { conn.peer_certificate().and_then(|c| crate::broker::tls::common_name(c)) } else { None };
    let (code, why) = match policy.authenticate(connect.username.as_deref(), connect.password.as_deref(), cert_cn) {
        Verdict::Accept(username) => {
            let client_id = connect.client_id.as_str();
            let denied_will =
                connect.will.as_ref().is_some_and(|w| !policy.may_write(Who { client_id, username: username.as_deref() }, &w.topic));
            if !denied_will {
                return Ok(username);
            }
            (reason::NOT_AUTHORIZED, "will topic not writable under the ACL")
        }
        Verdict::BadCredentials => (reason::BAD_USER_NAME_OR_PASSWORD, "bad user name or password"),
        Verdict::NotAuthorized => (reason::NOT_AUTHORIZED, "not authorized (anonymous, or no certificate identity)"),
    };
    shared.stats.security.auth_failed.fetch_add(1, Relaxed);
    tracing::info!(%peer, "CONNECT refused: {why}");
    Err(if v5 { code } else { reason::CONNACK_V3_NOT_AUTHORIZED })
}

/// If the explorer traces this client id: record the CONNECT (its password left out) and give
/// the connection a tracer, so that a refusing CONNACK is traced too.
fn trace_connect(conn: &mut Connection, connect: &Connect, shared: &Shared) {
    if !shared.trace.covers(&connect.client_id) {
        return;
    }
    let id: Arc<str> = connect.client_id.as_str().into();
    let packet = Packet::Connect(Box::new(connect.clone()));
    shared.trace.record(&id, Direction::In, &packet, codec::encoded_len(&packet, connect.protocol));
    conn.tracer = Some(Tracer::new(Arc::new(AtomicBool::new(true)), id, Arc::clone(&shared.trace)));
}

/// Take over or create the session for `client_id`. Returns (cell, session present, connection generation).
fn attach(
    shared: &Shared,
    client_id: &Arc<str>,
    connect: &Connect,
    expiry: u32,
    peer: SocketAddr,
    kick_tx: oneshot::Sender<Kick>,
) -> (Arc<SessionCell>, bool, u64) {
    let limits = shared.config.queue_limits();
    let mut state = shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let old = state.sessions.get(client_id).map(Arc::clone);
    // The will of a connection still attached (takeover), and whether its session ends with it.
    let mut taken_will = None;
    let mut old_ends_with_connection = false;
    if let Some(old) = &old {
        let mut data = old.lock();
        if let Some(kick) = data.kick.take() {
            // MQTT-3.1.4-3 (5.0: DISCONNECT 0x8E) / MQTT-3.1.4-2 (3.1.1): the existing connection is closed.
            kick.send(Kick::TakenOver).ok();
            taken_will = data.will.take();
            old_ends_with_connection = data.expiry_secs == 0;
        }
        data.connection = None;
    }
    let pending_will = state.take_pending_will(client_id);
    // MQTT-3.1.2-4 / -5 (5.0), MQTT-3.1.2-4 / -6 (3.1.1): Clean Start discards the old session.
    let resume = !connect.clean_start && old.is_some() && !old_ends_with_connection;
    let cell = if resume {
        old
    } else {
        state.remove_session(client_id, &limits);
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
        data.last_will = connect.will.as_ref().map(|w| LastWill {
            topic: w.topic.clone(),
            // A copy: the will's payload is a slice of the connection's read buffer.
            payload: bytes::Bytes::copy_from_slice(&w.payload),
            qos: w.qos,
            retain: w.retain,
            properties: Properties { will_delay_interval: w.properties.will_delay_interval, ..Properties::default() },
        });
        data.last_will_fired = None;
        data.expiry_secs = expiry;
        data.expires_at = None;
        data.send_quota = connect.properties.receive_maximum.unwrap_or(shared.config.default_inflight);
        data.client_max_packet = connect.properties.maximum_packet_size.unwrap_or(u32::MAX);
        data.peer = Some(peer);
        let was_journaled = data.persist;
        data.persist = state.store.is_some() && expiry > 0;
        if let Some(store) = &state.store {
            if data.persist {
                let (client_id, version, will) = (Arc::clone(client_id), connect.protocol, connect.will.clone().map(Box::new));
                store.append(Op::Rec(Rec::SessionOpen { client_id, clean: !resume, version, expiry_secs: expiry, will }));
            } else if was_journaled {
                // Resumed with Session Expiry 0: it ends with this connection, and is no longer kept.
                store.append(Op::Rec(Rec::SessionRemove(Arc::clone(client_id))));
            }
        }
    }
    // Lock order: state, then the trace's targets (as when the explorer switches tracing).
    cell.tracing.store(shared.trace.covers(client_id), Relaxed);
    cell.faulted.store(shared.faults.covers_session(client_id), Relaxed);
    state.sessions.insert(Arc::clone(client_id), Arc::clone(&cell));
    drop(state);
    for will in previous_wills(taken_will, pending_will, resume) {
        router::schedule_will(shared, Arc::clone(client_id), will, 0);
    }
    (cell, session_present, generation)
}

/// The wills of the previous connection that go out now.
///
/// - Taken over while connected: that connection closed without DISCONNECT 0x00, so its will is due
///   (MQTT-3.1.2-8); with a Will Delay Interval it is dropped if this connection resumes the session
///   (MQTT-3.1.3-9), and published at once if the session ends here (Clean Start, or Session Expiry 0:
///   "whichever happens first", 5.0 §3.1.3.2.2).
/// - Waiting for its delay: dropped on resumption (MQTT-3.1.3-9), published now if the session ends.
fn previous_wills(taken: Option<LastWill>, pending: Option<LastWill>, resume: bool) -> Vec<LastWill> {
    let mut due = Vec::new();
    if let Some(will) = taken
        && !(resume && will.properties.will_delay_interval.unwrap_or(0) > 0)
    {
        due.push(will);
    }
    if let Some(will) = pending
        && !resume
    {
        due.push(will);
    }
    due
}
