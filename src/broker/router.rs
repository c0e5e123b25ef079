//! Fan-out: sessions, subscriptions, retained messages and wills, behind one short-held mutex.
//!
//! Owns: [`State`] and the functions that route a message to every matching session's queue. No
//! `.await` happens while [`State`] is locked; each session's own lock is taken only inside it.
//! Wills and session expiry live in `wills`, shared-subscription choice and redelivery in `shared`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::Shared;
use super::client_state::{Delivery, QueueLimits, Routed, SessionCell, SubEntry};
use super::codec::{Properties, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions, reason};
use super::order::Recent;
use super::retained::Retained;
use super::store::{Op, Store, record::Rec};
use super::topic::{self, FilterTrie, TopicError, TopicTrie};
use crate::protocol::PublishRequest;

mod shared;
mod wills;

pub use shared::redistribute_shared_locked;
pub use wills::{expiry_loop, publish_will, schedule_will};

/// A subscription in the trie: the session it feeds and its options.
#[derive(Clone, Debug)]
pub struct Sub {
    /// The subscribing session.
    pub cell: Arc<SessionCell>,
    /// Options and identifier.
    pub entry: SubEntry,
}

/// Everything shared between connections.
#[derive(Debug, Default)]
pub struct State {
    /// Sessions by client id, online or offline.
    pub sessions: HashMap<Arc<str>, Arc<SessionCell>>,
    /// Non-shared subscriptions, keyed by client id.
    pub subs: FilterTrie<Arc<str>, Sub>,
    /// Shared subscriptions (`$share/group/filter`), keyed by (group, client id).
    pub shared_subs: FilterTrie<(Arc<str>, Arc<str>), Sub>,
    /// Round-robin position per (group, filter).
    share_cursor: HashMap<(Arc<str>, String), usize>,
    /// Retained messages by topic.
    pub retained: TopicTrie<Retained>,
    /// Wills waiting for their delay.
    pending_wills: Vec<wills::PendingWill>,
    /// Last connection generation handed out.
    pub last_connection: u64,
    /// The last messages routed, numbered: what a late SUBSCRIBE catches up on ([`super::order`]).
    pub recent: Recent,
    /// The journal, when persistence is on: changes are appended with the state locked, so that
    /// the journal's order is the state's.
    pub store: Option<Arc<Store>>,
}

impl State {
    /// (retained messages, subscriptions).
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        (self.retained.len(), self.subs.len() + self.shared_subs.len())
    }

    /// Sessions known, online or not.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// End a session: hand its shared-subscription messages to other members (MQTT 5 §4.8.2), then
    /// forget it and all its subscriptions.
    pub fn remove_session(&mut self, client_id: &Arc<str>, limits: &QueueLimits) {
        let Some(cell) = self.sessions.get(client_id).map(Arc::clone) else { return };
        shared::redistribute(self, limits, &cell);
        self.sessions.remove(client_id);
        if let Some(store) = &self.store
            && cell.lock().persist
        {
            store.append(Op::Rec(Rec::SessionRemove(Arc::clone(client_id))));
        }
        let filters: Vec<String> = cell.lock().subscriptions.keys().cloned().collect();
        for filter in filters {
            self.remove_subscription(client_id, &filter);
        }
    }

    /// Remove one subscription of a client from the tries; true if it existed.
    pub fn remove_subscription(&mut self, client_id: &Arc<str>, filter: &str) -> bool {
        match topic::parse_shared(filter) {
            Ok(Some((group, inner))) => self.shared_subs.remove(inner, &(Arc::from(group), Arc::clone(client_id))).is_some(),
            _ => self.subs.remove(filter, client_id).is_some(),
        }
    }

    /// When the will waiting for its delay of this client goes out, if one waits.
    #[must_use]
    pub fn pending_will_due(&self, client_id: &str) -> Option<tokio::time::Instant> {
        self.pending_wills.iter().find(|w| &*w.client_id == client_id).map(|w| w.due)
    }

    /// Take the will waiting for a client that came back, if any.
    pub fn take_pending_will(&mut self, client_id: &str) -> Option<super::codec::LastWill> {
        let i = self.pending_wills.iter().position(|w| &*w.client_id == client_id)?;
        Some(self.pending_wills.swap_remove(i).will)
    }
}

/// One session a message goes to, with the options that decide its copy.
struct Target {
    cell: Arc<SessionCell>,
    qos: QoS,
    retain: bool,
    sub_ids: Vec<u32>,
    /// Set while every matching subscription of this session is the same shared one.
    share: Option<Arc<str>>,
}

/// Route one message: store or clear it if retained, queue it to every matching session, show it in the tap.
/// Returns the online sessions whose queue is now over the back-pressure high-water mark.
pub fn route(shared: &Shared, msg: &Arc<Routed>) -> Vec<Arc<SessionCell>> {
    route_journaled(shared, msg).0
}

/// [`route`], also returning the number of the journal operation that persists the message
/// (retained, or queued to a persistent session), if it was journaled: its acknowledgement waits
/// until that operation is synced ([`super::store`]).
pub fn route_journaled(shared: &Shared, msg: &Arc<Routed>) -> (Vec<Arc<SessionCell>>, Option<u64>) {
    let limits = shared.config.queue_limits();
    let mut congested = Vec::new();
    let mut journaled = None;
    let Ok(mut state) = shared.state.lock() else { return (congested, journaled) };
    // `$SYS` values are published again by the broker that restarts: not worth a disk write each.
    let store = state.store.clone().filter(|_| !msg.topic.starts_with("$SYS"));
    if msg.retain {
        if msg.payload.is_empty() {
            // MQTT-3.3.1-10/-11 (3.1.1), MQTT-3.3.1-6/-7 (5.0): an empty retained payload clears the topic.
            if state.retained.remove(&msg.topic).is_some()
                && let Some(store) = &store
            {
                journaled = Some(store.append(Op::Rec(Rec::RetainClear(Arc::clone(&msg.topic)))));
            }
        } else {
            let retained = Retained::new(msg);
            if let Some(store) = &store {
                journaled = Some(store.append(Op::Rec(Rec::RetainSet(retained.clone()))));
            }
            state.retained.insert(&msg.topic, retained);
        }
    }
    let seq = state.recent.push(msg);
    // Relaxed: a reader that sees an older number only catches up on a few messages more.
    shared.route_seq.store(seq, std::sync::atomic::Ordering::Relaxed);
    let mut targets = targets(&mut state, msg);
    if let Some(policy) = shared.acl_policy() {
        targets.retain(|t| {
            let allowed = may_read(&policy, &t.cell, &msg.topic);
            if !allowed {
                // A `deny` below a granted wildcard, or a grant withdrawn by a reload.
                shared.stats.security.delivery_denied.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            allowed
        });
    }
    // Journaled before it is queued: a session that sends it at once journals that after this.
    let persisted: Vec<bool> = targets.iter().map(|t| store.is_some() && t.qos != QoS::AtMostOnce && t.cell.lock().persist).collect();
    if let Some(store) = &store
        && persisted.contains(&true)
    {
        let to = targets
            .iter()
            .zip(&persisted)
            .filter(|(_, p)| **p)
            .map(|(t, _)| (Arc::clone(&t.cell.lock().client_id), t.qos, t.retain, t.sub_ids.clone()))
            .collect();
        journaled = Some(store.append(Op::Msg { msg: Arc::clone(msg), targets: to }));
    }
    for (t, persisted) in targets.into_iter().zip(persisted) {
        let delivery = Delivery { msg: Arc::clone(msg), qos: t.qos, retain: t.retain, sub_ids: t.sub_ids, share: t.share };
        let (queued, over) = t.cell.try_enqueue(delivery, &limits);
        if persisted
            && !queued
            && let Some(store) = &store
        {
            let client_id = Arc::clone(&t.cell.lock().client_id);
            store.append(Op::Dropped { client_id, msg: Arc::clone(msg) });
        }
        if over && *t.cell.lock().client_id != *msg.publisher {
            congested.push(t.cell);
        }
    }
    drop(state);
    if let Some(tap) = &shared.tap {
        tap.record(msg);
    }
    (congested, journaled)
}

/// Whether the ACL lets the session's client read `topic` (lock order: state, then session).
fn may_read(policy: &crate::broker::security::Security, cell: &SessionCell, topic: &str) -> bool {
    let data = cell.lock();
    let who = crate::broker::security::Who { client_id: &data.client_id, username: data.username.as_deref() };
    policy.acl.as_ref().is_none_or(|acl| acl.may_read(who, topic))
}

/// Every session `msg` goes to: one copy per session at the highest QoS of its matching
/// subscriptions, with every subscription id (MQTT-3.3.4-2, -3, -4).
fn targets(state: &mut State, msg: &Routed) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    let mut add = |cell: &Arc<SessionCell>, entry: &SubEntry, share: Option<Arc<str>>| {
        let qos = msg.published_qos.min(entry.options.qos);
        // MQTT-3.3.1-12 / -13: Retain As Published.
        let retain = entry.options.retain_as_published && msg.retain;
        if let Some(t) = targets.iter_mut().find(|t| Arc::ptr_eq(&t.cell, cell)) {
            t.qos = t.qos.max(qos);
            t.retain |= retain;
            t.sub_ids.extend(entry.id);
            if t.share != share {
                t.share = None;
            }
        } else {
            targets.push(Target { cell: Arc::clone(cell), qos, retain, sub_ids: entry.id.into_iter().collect(), share });
        }
    };
    state.subs.for_each_match(&msg.topic, |_, client, sub| {
        // MQTT-3.8.3-3: No Local.
        if !(sub.entry.options.no_local && **client == *msg.publisher) {
            add(&sub.cell, &sub.entry, None);
        }
    });
    for (share, sub) in shared::pick_members(state, &msg.topic) {
        add(&sub.cell, &sub.entry, Some(share));
    }
    targets
}

/// Keep only the properties a broker forwards unchanged (MQTT-3.3.2-4, -15, -18, -20).
#[must_use]
pub fn forwarded_properties(p: &Properties) -> Option<Box<Properties>> {
    let none = p.payload_format_indicator.is_none()
        && p.content_type.is_none()
        && p.response_topic.is_none()
        && p.correlation_data.is_none()
        && p.user_properties.is_empty();
    (!none).then(|| {
        Box::new(Properties {
            payload_format_indicator: p.payload_format_indicator,
            content_type: p.content_type.clone(),
            response_topic: p.response_topic.clone(),
            correlation_data: p.correlation_data.clone(),
            user_properties: p.user_properties.clone(),
            ..Properties::default()
        })
    })
}

/// A routed message from its parts.
#[must_use]
pub fn routed(topic: Arc<str>, payload: Bytes, qos: QoS, retain: bool, props: &Properties, publisher: Arc<str>) -> Arc<Routed> {
    Arc::new(Routed {
        topic,
        payload,
        published_qos: qos,
        retain,
        properties: forwarded_properties(props),
        expires_at: props.message_expiry_interval.map(|secs| Instant::now() + Duration::from_secs(u64::from(secs))),
        publisher,
    })
}

/// Publish from inside the process (the explorer), as client `mqscope` or as the client id the
/// request names in `meta.publisher` (the publish panel's "As client id").
///
/// # Errors
/// When the topic is not a valid topic name.
pub fn publish_internal(shared: &Shared, req: &PublishRequest) -> Result<(), TopicError> {
    topic::validate_topic_name(&req.topic)?;
    let m = &req.meta;
    let props = Properties {
        payload_format_indicator: m.payload_format,
        message_expiry_interval: m.message_expiry_secs,
        content_type: m.content_type.clone(),
        response_topic: m.response_topic.clone(),
        correlation_data: m.correlation_data.clone(),
        user_properties: m.user_properties.clone(),
        ..Properties::default()
    };
    let qos = QoS::try_from(req.qos.as_u8()).unwrap_or(QoS::AtMostOnce);
    // As the client id the publish panel names, if any (No Local then applies to that client, MQTT-3.8.3-3).
    let publisher = m.publisher.clone().unwrap_or_else(|| "mqscope".into());
    route(shared, &routed(req.topic.as_str().into(), req.payload.clone(), qos, req.retain, &props, publisher));
    Ok(())
}

/// Publish a `$SYS` value.
pub fn publish_sys(shared: &Shared, topic: Arc<str>, payload: Bytes, qos: QoS, retain: bool, props: &Properties) {
    route(shared, &routed(topic, payload, qos, retain, props, "$SYS".into()));
}

/// Add one subscription of `cell`, and owe it the retained messages it should receive (sent after
/// the SUBACK and after what was queued before it, before anything queued later). With `since` (the
/// router's message number when the SUBSCRIBE arrived, [`super::order`]), a new subscription also
/// gets the messages routed between its arrival and now. Returns the SUBACK code: the granted QoS
/// or a failure reason.
pub fn subscribe(
    shared: &Shared,
    cell: &Arc<SessionCell>,
    filter: &str,
    options: SubscriptionOptions,
    id: Option<u32>,
    since: Option<u64>,
) -> u8 {
    let (client_id, version) = {
        let data = cell.lock();
        (Arc::clone(&data.client_id), data.version)
    };
    let invalid = if version == ProtocolVersion::V5 { reason::TOPIC_FILTER_INVALID } else { reason::SUBACK_V3_FAILURE };
    let Ok(shared_sub) = topic::parse_shared(filter) else { return invalid };
    let inner = shared_sub.map_or(filter, |(_, f)| f);
    if topic::validate_topic_filter(inner).is_err() {
        return invalid;
    }
    if shared_sub.is_some() && options.no_local {
        // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error; refuse the filter.
        return invalid;
    }
    let entry = SubEntry { options, id };
    let sub = Sub { cell: Arc::clone(cell), entry: entry.clone() };
    let Ok(mut state) = shared.state.lock() else { return reason::UNSPECIFIED_ERROR };
    let existed = match shared_sub {
        Some((group, inner)) => state.shared_subs.insert(inner, (Arc::from(group), Arc::clone(&client_id)), sub).is_some(),
        None => state.subs.insert(filter, Arc::clone(&client_id), sub).is_some(),
    };
    let persist = {
        let mut data = cell.lock();
        data.subscriptions.insert(filter.to_owned(), entry.clone());
        data.persist
    };
    if persist && let Some(store) = &state.store {
        store.append(Op::Rec(Rec::Subscribe { client_id: Arc::clone(&client_id), filter: filter.to_owned(), entry }));
    }
    let send_retained = match options.retain_handling {
        RetainHandling::SendAtSubscribe => true,
        RetainHandling::SendIfNew => !existed,
        RetainHandling::DoNotSend => false,
    };
    // 5.0 §4.8.2: retained messages are not sent when a shared subscription is made.
    if send_retained && shared_sub.is_none() {
        let now = Instant::now();
        let (mut owed, mut expired) = (Vec::new(), Vec::new());
        let acl = shared.acl_policy();
        let mut take = |batch: &mut Vec<&Retained>| {
            std::hint::black_box(super::retained::warm(batch));
            for msg in batch.drain(..) {
                if acl.as_ref().is_some_and(|policy| !may_read(policy, cell, msg.topic())) {
                    continue; // A `deny` below the granted filter.
                }
                if msg.expired(now) { &mut expired } else { &mut owed }.push(msg.clone());
            }
        };
        // In batches, each read in one go before it is used ([`super::retained::warm`]).
        let mut batch = Vec::with_capacity(super::retained::WARM_BATCH);
        state.retained.for_each_value_matching(filter, |msg| {
            batch.push(msg);
            if batch.len() == super::retained::WARM_BATCH {
                take(&mut batch);
            }
        });
        take(&mut batch);
        for msg in expired {
            state.retained.remove(msg.topic());
        }
        let room = shared.config.max_queued_messages.max(state.retained.len());
        // With the state still locked: nothing routed to the new subscription is queued before the
        // retained values it follows (lock order: state, then session).
        cell.push_replay(filter, owed, options.qos, id, room);
    }
    // After the retained replay: a live message caught up on is newer than the retained value of its topic.
    if let Some(since) = since
        && !existed
        && shared_sub.is_none()
    {
        catch_up(&state, cell, filter, &SubEntry { options, id }, since, send_retained, &shared.config.queue_limits());
    }
    options.qos as u8
}

/// Queue to a new subscription of `filter` the recent messages routed after number `since` that it
/// matches and that no other subscription of the session already brought ([`super::order`]).
/// Retained ones are left to the retained replay when there is one.
fn catch_up(state: &State, cell: &Arc<SessionCell>, filter: &str, entry: &SubEntry, since: u64, send_retained: bool, limits: &QueueLimits) {
    let client_id = Arc::clone(&cell.lock().client_id);
    let owed: Vec<&Arc<Routed>> = state
        .recent
        .after(since)
        .filter(|m| topic::matches(filter, &m.topic))
        // The session's own messages are in order with its SUBSCRIBE already: one sent before it is not owed.
        .filter(|m| *m.publisher != *client_id)
        .filter(|m| !(m.retain && send_retained))
        .collect();
    if owed.is_empty() {
        return;
    }
    // The session's other filters (a shared one counts as if it had brought the message).
    let others: Vec<String> = cell
        .lock()
        .subscriptions
        .keys()
        .filter(|f| *f != filter)
        .map(|f| topic::parse_shared(f).ok().flatten().map_or(f.as_str(), |(_, inner)| inner).to_owned())
        .collect();
    for msg in owed {
        if others.iter().any(|other| topic::matches(other, &msg.topic)) {
            continue;
        }
        let qos = msg.published_qos.min(entry.options.qos);
        let retain = entry.options.retain_as_published && msg.retain;
        let delivery = Delivery { msg: Arc::clone(msg), qos, retain, sub_ids: entry.id.into_iter().collect(), share: None };
        cell.enqueue(delivery, limits);
    }
}

/// Remove one subscription; returns the UNSUBACK code.
pub fn unsubscribe(shared: &Shared, cell: &Arc<SessionCell>, filter: &str) -> u8 {
    let client_id = Arc::clone(&cell.lock().client_id);
    let Ok(mut state) = shared.state.lock() else { return reason::UNSPECIFIED_ERROR };
    let existed = state.remove_subscription(&client_id, filter);
    let mut data = cell.lock();
    data.subscriptions.remove(filter);
    // What was still owed to the subscription goes with it.
    data.replay.retain(|r| r.filter != filter);
    let persist = data.persist;
    drop(data);
    if existed
        && persist
        && let Some(store) = &state.store
    {
        store.append(Op::Rec(Rec::Unsubscribe { client_id: Arc::clone(&client_id), filter: filter.to_owned() }));
    }
    if existed { reason::SUCCESS } else { reason::NO_SUBSCRIPTION_EXISTED }
}
