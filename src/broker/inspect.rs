//! The embedded broker from inside, for the explorer: snapshots of its sessions, subscriptions and
//! retained store, "who receives this topic", and the explorer's actions on a client.
//!
//! Owns: the functions that read [`router::State`] into the model's plain rows
//! ([`crate::model::broker_view`]) and carry out a [`ClientAction`]. Nothing here runs unless the UI asks
//! (while a view is shown): the message path is untouched. A snapshot holds the state's lock for
//! one walk over it, bounded by [`MAX_ROWS`] rows; each session's lock is taken once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use tokio::time::Instant;

use super::Shared;
use super::client_state::{Kick, SessionCell};
use super::codec::{self, ProtocolVersion, RetainHandling};
use super::router::{self, State};
use super::topic;
use crate::model::broker_view::{
    ClientAction, ClientRow, MAX_ROWS, RETAINED_IMPORT_MAX, Receiver, RetainedRow, Snapshot, SubscriptionRow, WillInfo,
};
use crate::model::{Message, MessageMeta, QoS};

/// Why an action could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// No session has this client id.
    #[error("no session {0}")]
    NoSession(String),
    /// The client is not connected (for disconnect and drop).
    #[error("{0} is not connected")]
    Offline(String),
    /// No will to publish (for publish will now).
    #[error("{0}")]
    NoWill(String),
    /// The client is connected (for expire).
    #[error("{0} is connected: disconnect it first")]
    Online(String),
}

fn qos(q: codec::QoS) -> QoS {
    QoS::from_u8(q as u8)
}

/// One session as a row.
fn session_row(id: &Arc<str>, cell: &SessionCell, now: Instant) -> ClientRow {
    let data = cell.lock();
    let online = data.connection.is_some();
    ClientRow {
        client_id: Arc::clone(id),
        online,
        address: data.peer,
        protocol: if data.version == ProtocolVersion::V5 { 5 } else { 4 },
        keep_alive_secs: data.keep_alive_secs,
        clean_start: data.clean_start,
        session_expiry_secs: data.expiry_secs,
        expires_in_secs: data.expires_at.filter(|_| !online).map(|at| at.saturating_duration_since(now).as_secs()),
        will: data.will.as_ref().map(|w| WillInfo {
            topic: w.topic.clone(),
            qos: qos(w.qos),
            retain: w.retain,
            delay_secs: w.properties.will_delay_interval.unwrap_or(0),
            payload_len: w.payload.len(),
        }),
        inflight_out: data.inflight.len(),
        inflight_in: data.incoming_qos2.len(),
        queued_msgs: data.queue.len() + data.replay_len(),
        queued_bytes: data.queued_bytes,
        dropped: data.dropped,
        msgs_in: cell.counters.msgs_in.load(Relaxed),
        msgs_out: cell.counters.msgs_out.load(Relaxed),
        bytes_in: cell.counters.bytes_in.load(Relaxed),
        bytes_out: cell.counters.bytes_out.load(Relaxed),
        subscriptions: data.subscriptions.len(),
        connected_at: data.connected_at,
        last_activity: cell.counters.last_activity(),
        traced: cell.tracing.load(Relaxed),
    }
}

/// Every session, online or offline, by client id (at most [`MAX_ROWS`]).
#[must_use]
pub fn clients(shared: &Shared) -> Snapshot<ClientRow> {
    let now = Instant::now();
    let Ok(state) = shared.state.lock() else { return empty() };
    let total = state.sessions.len();
    let mut ids: Vec<(&Arc<str>, &Arc<SessionCell>)> = state.sessions.iter().collect();
    ids.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let rows = ids.into_iter().take(MAX_ROWS).map(|(id, cell)| session_row(id, cell, now)).collect();
    Snapshot { rows, total, taken_at: SystemTime::now() }
}

fn empty<T>() -> Snapshot<T> {
    Snapshot { rows: Vec::new(), total: 0, taken_at: SystemTime::now() }
}

/// Every subscription of every session, by client id then filter (at most [`MAX_ROWS`]).
#[must_use]
pub fn subscriptions(shared: &Shared) -> Snapshot<SubscriptionRow> {
    let Ok(state) = shared.state.lock() else { return empty() };
    let mut rows = Vec::new();
    let mut total = 0;
    let mut sessions: Vec<(&Arc<str>, &Arc<SessionCell>)> = state.sessions.iter().collect();
    sessions.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (id, cell) in sessions {
        let data = cell.lock();
        total += data.subscriptions.len();
        let online = data.connection.is_some();
        let mut subs: Vec<_> = data.subscriptions.iter().collect();
        subs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (filter, entry) in subs.into_iter().take(MAX_ROWS.saturating_sub(rows.len())) {
            let (share_group, inner) = match topic::parse_shared(filter) {
                Ok(Some((group, inner))) => (Some(group.to_owned()), inner.to_owned()),
                _ => (None, filter.clone()),
            };
            let o = entry.options;
            rows.push(SubscriptionRow {
                client_id: Arc::clone(id),
                filter: inner,
                share_group,
                qos: qos(o.qos),
                no_local: o.no_local,
                retain_as_published: o.retain_as_published,
                retain_handling: match o.retain_handling {
                    RetainHandling::SendAtSubscribe => 0,
                    RetainHandling::SendIfNew => 1,
                    RetainHandling::DoNotSend => 2,
                },
                subscription_id: entry.id,
                online,
            });
        }
    }
    Snapshot { rows, total, taken_at: SystemTime::now() }
}

/// Retained messages selected by `filter`, by topic, at most [`MAX_ROWS`]; `total` counts every
/// unexpired match. `filter` is an MQTT filter when it holds a wildcard (`+`, `#`), otherwise a
/// substring of the topic (case-insensitive); empty selects all.
#[must_use]
pub fn retained(shared: &Shared, filter: &str) -> Snapshot<RetainedRow> {
    let filter = filter.trim();
    let wildcard = filter.contains(['+', '#']);
    if wildcard && topic::validate_topic_filter(filter).is_err() {
        return empty();
    }
    let (mqtt, needle) = if wildcard { (filter, String::new()) } else { ("#", filter.to_lowercase()) };
    let now = Instant::now();
    let now_wall = SystemTime::now();
    let Ok(state) = shared.state.lock() else { return empty() };
    let mut rows = Vec::new();
    let mut total = 0;
    state.retained.for_each_matching(mqtt, |topic, msg| {
        if msg.expired(now) || !(needle.is_empty() || topic.to_lowercase().contains(&needle)) {
            return;
        }
        total += 1;
        if rows.len() < MAX_ROWS {
            rows.push(RetainedRow {
                topic: topic.into(),
                size: msg.payload().len(),
                stored_at: now_wall.checked_sub(now.saturating_duration_since(msg.stored_at())).unwrap_or(SystemTime::UNIX_EPOCH),
                publisher: Arc::clone(msg.publisher()),
                qos: qos(msg.qos()),
                expires_in_secs: msg.expires_at().map(|at| at.saturating_duration_since(now).as_secs()),
            });
        }
    });
    drop(state);
    rows.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
    Snapshot { rows, total, taken_at: SystemTime::now() }
}

/// Every unexpired retained value with its payload (an own copy), its publisher and QoS, stamped
/// with when it was stored; at most [`RETAINED_IMPORT_MAX`], in the store's order; `total` counts all.
#[must_use]
pub fn retained_values(shared: &Shared) -> Snapshot<Message> {
    let now = Instant::now();
    let now_wall = SystemTime::now();
    let Ok(state) = shared.state.lock() else { return empty() };
    let mut rows = Vec::new();
    let mut total = 0;
    state.retained.for_each_matching("#", |topic, msg| {
        if msg.expired(now) {
            return;
        }
        total += 1;
        if rows.len() < RETAINED_IMPORT_MAX {
            let meta =
                MessageMeta { publisher: Some(Arc::clone(msg.publisher())), published_qos: Some(qos(msg.qos())), ..MessageMeta::default() };
            rows.push(Message {
                topic: topic.into(),
                payload: bytes::Bytes::copy_from_slice(msg.payload()),
                qos: qos(msg.qos()),
                retain: true,
                dup: false,
                received_at: now_wall.checked_sub(now.saturating_duration_since(msg.stored_at())).unwrap_or(SystemTime::UNIX_EPOCH),
                meta: Some(Arc::new(meta)),
            });
        }
    });
    Snapshot { rows, total, taken_at: now_wall }
}

/// Who would receive a message published on `topic` now: one row per session at the highest QoS
/// of its matching subscriptions (MQTT-3.3.4-2), and one per shared group (one delivery for the
/// group, MQTT 5 §4.8.2). No Local depends on the publisher and is not applied.
#[must_use]
pub fn receivers(shared: &Shared, topic_name: &str) -> Vec<Receiver> {
    if topic::validate_topic_name(topic_name).is_err() {
        return Vec::new();
    }
    let Ok(state) = shared.state.lock() else { return Vec::new() };
    receivers_locked(&state, topic_name)
}

/// Members of one shared group on one filter, with their granted QoS.
type Members = Vec<(Arc<str>, QoS)>;

fn receivers_locked(state: &State, topic_name: &str) -> Vec<Receiver> {
    let mut direct: BTreeMap<Arc<str>, Receiver> = BTreeMap::new();
    state.subs.for_each_match(topic_name, |filter, client, sub| {
        let q = qos(sub.entry.options.qos);
        let r = direct.entry(Arc::clone(client)).or_insert_with(|| Receiver {
            client_id: Arc::clone(client),
            share_group: None,
            members: 1,
            max_qos: q,
            filters: Vec::new(),
        });
        r.max_qos = r.max_qos.max(q);
        r.filters.push(filter.to_owned());
    });
    let mut groups: BTreeMap<(Arc<str>, String), Members> = BTreeMap::new();
    state.shared_subs.for_each_match(topic_name, |filter, (group, client), sub| {
        groups.entry((Arc::clone(group), filter.to_owned())).or_default().push((Arc::clone(client), qos(sub.entry.options.qos)));
    });
    let mut out: Vec<Receiver> = direct.into_values().collect();
    for ((group, filter), mut members) in groups {
        members.sort();
        let Some((first, _)) = members.first().cloned() else { continue };
        out.push(Receiver {
            client_id: first,
            share_group: Some(group.to_string()),
            members: members.len(),
            max_qos: members.iter().map(|m| m.1).max().unwrap_or_default(),
            filters: vec![filter],
        });
    }
    out
}

/// Carry out an action; returns what happened, for the user.
///
/// # Errors
/// When the session does not exist or is not in the state the action needs.
pub fn act(shared: &Shared, action: &ClientAction) -> Result<String, ActionError> {
    match action {
        ClientAction::Disconnect { client_id, code } => {
            kick(shared, client_id, Kick::Disconnect(*code))?;
            let will = if *code == codec::reason::SUCCESS { "will discarded" } else { "will published" };
            Ok(format!("Disconnected {client_id} (reason 0x{code:02X}, {will})"))
        }
        ClientAction::Drop { client_id } => {
            kick(shared, client_id, Kick::Drop)?;
            Ok(format!("Dropped the connection of {client_id} (will published)"))
        }
        ClientAction::Expire { client_id } => {
            expire(shared, client_id)?;
            Ok(format!("Session {client_id} expired"))
        }
        ClientAction::PublishWill { client_id } => {
            super::availability::publish_will_now(shared, client_id).map_err(|e| ActionError::NoWill(e.to_string()))
        }
        ClientAction::TakeOver { client_id } => {
            kick(shared, client_id, Kick::Disconnect(codec::reason::SESSION_TAKEN_OVER))?;
            Ok(format!("Took the session of {client_id} over: DISCONNECT 0x8E Session taken over, will published"))
        }
        ClientAction::Trace { client_id, on } => {
            super::trace::set(shared, client_id.as_deref(), *on);
            let whose = client_id.as_deref().map_or_else(|| "every client".to_owned(), ToOwned::to_owned);
            Ok(if *on { format!("Tracing the packets of {whose}") } else { format!("No longer tracing {whose}") })
        }
    }
}

/// Tell the connection attached to `client_id` to end.
fn kick(shared: &Shared, client_id: &str, kick: Kick) -> Result<(), ActionError> {
    let Ok(state) = shared.state.lock() else { return Err(ActionError::NoSession(client_id.to_owned())) };
    let cell = state.sessions.get(client_id).ok_or_else(|| ActionError::NoSession(client_id.to_owned()))?;
    let sender = cell.lock().kick.take().ok_or_else(|| ActionError::Offline(client_id.to_owned()))?;
    // The connection task may be ending on its own right now: then the receiver is gone and the
    // session goes offline anyway.
    sender.send(kick).ok();
    Ok(())
}

/// End an offline session now (its pending will first).
fn expire(shared: &Shared, client_id: &str) -> Result<(), ActionError> {
    let limits = shared.config.queue_limits();
    let will = {
        let Ok(mut state) = shared.state.lock() else { return Err(ActionError::NoSession(client_id.to_owned())) };
        let id: Arc<str> = client_id.into();
        let cell = state.sessions.get(&id).ok_or_else(|| ActionError::NoSession(client_id.to_owned()))?;
        if cell.lock().connection.is_some() {
            return Err(ActionError::Online(client_id.to_owned()));
        }
        let will = state.take_pending_will(client_id);
        state.remove_session(&id, &limits);
        will
    };
    if let Some(will) = will {
        router::schedule_will(shared, client_id.into(), will, 0);
    }
    Ok(())
}
