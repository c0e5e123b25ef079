//! Fan-out: sessions, subscriptions, retained messages and wills, behind one short-held mutex.
//!
//! Owns: [`State`] and the functions that route a message to every matching session's queue. No
//! `.await` happens while [`State`] is locked; each session's own lock is taken only inside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::Shared;
use super::client_state::{Delivery, Routed, SessionCell, SubEntry};
use super::codec::{LastWill, Properties, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions, reason};
use super::topic::{self, FilterTrie, TopicError, TopicTrie};
use crate::model::{Message, MessageMeta};
use crate::protocol::PublishRequest;

/// A subscription in the trie: the session it feeds and its options.
#[derive(Clone, Debug)]
pub struct Sub {
    /// The subscribing session.
    pub cell: Arc<SessionCell>,
    /// Options and identifier.
    pub entry: SubEntry,
}

/// A will waiting for its Will Delay Interval.
#[derive(Debug)]
struct PendingWill {
    due: Instant,
    client_id: Arc<str>,
    will: LastWill,
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
    pub retained: TopicTrie<Arc<Routed>>,
    /// Wills waiting for their delay.
    pending_wills: Vec<PendingWill>,
    /// Last connection generation handed out.
    pub last_connection: u64,
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

    /// Forget a session and all its subscriptions.
    pub fn remove_session(&mut self, client_id: &Arc<str>) {
        let Some(cell) = self.sessions.remove(client_id) else { return };
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

    /// Cancel wills waiting for a client that came back.
    pub fn cancel_pending_will(&mut self, client_id: &str) {
        self.pending_wills.retain(|w| &*w.client_id != client_id);
    }
}

/// One session a message goes to: (session, QoS, retain flag, subscription ids).
type Target = (Arc<SessionCell>, QoS, bool, Vec<u32>);
/// A shared subscription group: (share name, filter).
type ShareKey = (Arc<str>, String);

/// Route one message: store or clear it if retained, queue it to every matching session, show it in the tap.
pub fn route(shared: &Shared, msg: &Arc<Routed>) {
    let cfg = &shared.config;
    let Ok(mut state) = shared.state.lock() else { return };
    if msg.retain {
        if msg.payload.is_empty() {
            state.retained.remove(&msg.topic);
        } else {
            state.retained.insert(&msg.topic, Arc::clone(msg));
        }
    }
    // One copy per session: the highest QoS of its matching subscriptions, every subscription id (MQTT-3.3.4-2, -3).
    let mut targets: Vec<Target> = Vec::new();
    let mut add = |cell: &Arc<SessionCell>, entry: &SubEntry| {
        let qos = msg.published_qos.min(entry.options.qos);
        let retain = entry.options.retain_as_published && msg.retain;
        if let Some(t) = targets.iter_mut().find(|t| Arc::ptr_eq(&t.0, cell)) {
            t.1 = t.1.max(qos);
            t.2 |= retain;
            t.3.extend(entry.id);
        } else {
            targets.push((Arc::clone(cell), qos, retain, entry.id.into_iter().collect()));
        }
    };
    state.subs.for_each_match(&msg.topic, |_, client, sub| {
        if !(sub.entry.options.no_local && **client == *msg.publisher) {
            add(&sub.cell, &sub.entry);
        }
    });
    // Shared subscriptions: one member per (group, filter), round robin, online members first.
    let mut groups: HashMap<ShareKey, Vec<(Arc<str>, Sub)>> = HashMap::new();
    state.shared_subs.for_each_match(&msg.topic, |filter, (group, client), sub| {
        groups.entry((Arc::clone(group), filter.to_owned())).or_default().push((Arc::clone(client), sub.clone()));
    });
    for (key, mut members) in groups {
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let cursor = state.share_cursor.entry(key).or_insert(0);
        let n = members.len();
        let start = *cursor % n;
        let pick = (0..n).map(|i| (start + i) % n).find(|&i| members[i].1.cell.lock().connection.is_some()).unwrap_or(start);
        *cursor = pick + 1;
        let (_, sub) = &members[pick];
        add(&sub.cell, &sub.entry);
    }
    for (cell, qos, retain, sub_ids) in targets {
        let delivery = Delivery { msg: Arc::clone(msg), qos, retain, sub_ids };
        cell.enqueue(delivery, cfg.max_queued_messages, cfg.max_queued_bytes, cfg.queue_qos0_offline);
    }
    drop(state);
    if let Some(tap) = &shared.tap {
        tap.push(to_model(msg));
    }
}

/// The explorer's copy of a routed message, with its provenance.
fn to_model(msg: &Routed) -> Message {
    let qos = crate::model::QoS::from_u8(msg.published_qos as u8);
    let p = &msg.properties;
    let meta = MessageMeta {
        publisher: Some(Arc::clone(&msg.publisher)),
        published_qos: Some(qos),
        payload_format: p.payload_format_indicator,
        message_expiry_secs: msg
            .expires_at
            .map(|at| u32::try_from(at.saturating_duration_since(Instant::now()).as_secs()).unwrap_or(u32::MAX)),
        content_type: p.content_type.clone(),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
    };
    Message {
        topic: Arc::clone(&msg.topic),
        payload: msg.payload.clone(),
        qos,
        retain: msg.retain,
        dup: false,
        received_at: SystemTime::now(),
        meta: Some(Box::new(meta)),
    }
}

/// Keep only the properties a broker forwards unchanged (MQTT-3.3.2-4, -15, -18, -20).
#[must_use]
pub fn forwarded_properties(p: &Properties) -> Properties {
    Properties {
        payload_format_indicator: p.payload_format_indicator,
        content_type: p.content_type.clone(),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        ..Properties::default()
    }
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

/// Publish from inside the process (the explorer), as client `mqscope`.
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
    route(shared, &routed(req.topic.as_str().into(), req.payload.clone(), qos, req.retain, &props, "mqscope".into()));
    Ok(())
}

/// Publish a `$SYS` value.
pub fn publish_sys(shared: &Shared, topic: Arc<str>, payload: Bytes, qos: QoS, retain: bool, props: &Properties) {
    route(shared, &routed(topic, payload, qos, retain, props, "$SYS".into()));
}

/// Result of one SUBSCRIBE filter.
#[derive(Debug)]
pub struct Granted {
    /// SUBACK code (granted QoS or failure reason).
    pub code: u8,
    /// Retained messages to send after the SUBACK.
    pub retained: Vec<Delivery>,
}

/// Add one subscription of `cell` and collect the retained messages it should receive.
pub fn subscribe(shared: &Shared, cell: &Arc<SessionCell>, filter: &str, options: SubscriptionOptions, id: Option<u32>) -> Granted {
    let (client_id, version) = {
        let data = cell.lock();
        (Arc::clone(&data.client_id), data.version)
    };
    let invalid = if version == ProtocolVersion::V5 { reason::TOPIC_FILTER_INVALID } else { reason::SUBACK_V3_FAILURE };
    let Ok(shared_sub) = topic::parse_shared(filter) else { return Granted { code: invalid, retained: Vec::new() } };
    let inner = shared_sub.map_or(filter, |(_, f)| f);
    if topic::validate_topic_filter(inner).is_err() {
        return Granted { code: invalid, retained: Vec::new() };
    }
    if shared_sub.is_some() && options.no_local {
        // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error; refuse the filter.
        return Granted { code: invalid, retained: Vec::new() };
    }
    let entry = SubEntry { options, id };
    let sub = Sub { cell: Arc::clone(cell), entry: entry.clone() };
    let Ok(mut state) = shared.state.lock() else { return Granted { code: reason::UNSPECIFIED_ERROR, retained: Vec::new() } };
    let existed = match shared_sub {
        Some((group, inner)) => state.shared_subs.insert(inner, (Arc::from(group), Arc::clone(&client_id)), sub).is_some(),
        None => state.subs.insert(filter, Arc::clone(&client_id), sub).is_some(),
    };
    cell.lock().subscriptions.insert(filter.to_owned(), entry);
    let mut retained = Vec::new();
    let send_retained = match options.retain_handling {
        RetainHandling::SendAtSubscribe => true,
        RetainHandling::SendIfNew => !existed,
        RetainHandling::DoNotSend => false,
    };
    // MQTT-3.8.4-?: retained messages are not sent for shared subscriptions (MQTT 5 §4.8.2).
    if send_retained && shared_sub.is_none() {
        let now = Instant::now();
        let mut expired = Vec::new();
        state.retained.for_each_matching(filter, |topic, msg| {
            if msg.expired(now) {
                expired.push(topic.to_owned());
            } else {
                retained.push(Delivery {
                    msg: Arc::clone(msg),
                    qos: msg.published_qos.min(options.qos),
                    retain: true,
                    sub_ids: id.into_iter().collect(),
                });
            }
        });
        for topic in expired {
            state.retained.remove(&topic);
        }
    }
    Granted { code: options.qos as u8, retained }
}

/// Remove one subscription; returns the UNSUBACK code.
pub fn unsubscribe(shared: &Shared, cell: &Arc<SessionCell>, filter: &str) -> u8 {
    let client_id = Arc::clone(&cell.lock().client_id);
    let Ok(mut state) = shared.state.lock() else { return reason::UNSPECIFIED_ERROR };
    let existed = state.remove_subscription(&client_id, filter);
    cell.lock().subscriptions.remove(filter);
    if existed { reason::SUCCESS } else { reason::NO_SUBSCRIPTION_EXISTED }
}

/// Publish a will now, or after its Will Delay Interval (MQTT-3.1.3-9).
pub fn schedule_will(shared: &Shared, client_id: Arc<str>, will: LastWill) {
    let delay = will.properties.will_delay_interval.unwrap_or(0);
    if delay == 0 {
        publish_will(shared, &client_id, &will);
    } else if let Ok(mut state) = shared.state.lock() {
        state.pending_wills.push(PendingWill { due: Instant::now() + Duration::from_secs(u64::from(delay)), client_id, will });
    }
}

fn publish_will(shared: &Shared, client_id: &Arc<str>, will: &LastWill) {
    let msg = routed(will.topic.as_str().into(), will.payload.clone(), will.qos, will.retain, &will.properties, Arc::clone(client_id));
    route(shared, &msg);
}

/// Once a second: fire due wills, expire offline sessions (sending a pending will first, MQTT-3.1.2-8 in 5.0).
pub async fn expiry_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = Instant::now();
        let mut fire = Vec::new();
        if let Ok(mut state) = shared.state.lock() {
            let expired: Vec<Arc<str>> = state
                .sessions
                .iter()
                .filter(|(_, cell)| {
                    let d = cell.lock();
                    d.connection.is_none() && d.expires_at.is_some_and(|at| at <= now)
                })
                .map(|(id, _)| Arc::clone(id))
                .collect();
            let mut i = 0;
            while i < state.pending_wills.len() {
                let w = &state.pending_wills[i];
                if w.due <= now || expired.contains(&w.client_id) {
                    fire.push(state.pending_wills.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            for id in &expired {
                state.remove_session(id);
            }
        }
        for w in fire {
            publish_will(&shared, &w.client_id, &w.will);
        }
    }
}
