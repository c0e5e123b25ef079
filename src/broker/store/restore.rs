//! Rebuild the broker's state from a loaded journal: retained messages into the store's trie,
//! persistent sessions (offline, their expiry clock running) with their subscriptions, queue,
//! flows in progress and incoming QoS 2 packet ids; then the wills that are due.
//!
//! A session that had a connection when the journal ends (the broker was killed) is treated as
//! disconnected now, without DISCONNECT: its will goes out after its delay (MQTT-3.1.2-8), its
//! expiry clock starts now.

use std::sync::Arc;
use tokio::time::Instant;

use super::Op;
use super::image::Image;
use super::record::{Rec, from_wall, wall_now_ms};
use crate::broker::Shared;
use crate::broker::client_state::{Delivery, Outgoing, SessionCell};
use crate::broker::codec::LastWill;
use crate::broker::router::{self, State, Sub};
use crate::broker::topic;

/// What a restore brought back, for the log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Retained messages.
    pub retained: usize,
    /// Sessions.
    pub sessions: usize,
    /// Messages queued or in flight to them.
    pub messages: usize,
}

/// A will to schedule once the broker runs: (client id, will, delay in seconds).
pub type DueWill = (Arc<str>, LastWill, u32);

/// Fill `state` from `image`. Returns the counts, the wills to schedule, and the sessions that were
/// connected when the journal ends (their close is to be journaled).
pub fn fill(
    state: &mut State,
    image: &Image,
    shared_dropped: &Arc<std::sync::atomic::AtomicU64>,
) -> (Restored, Vec<DueWill>, Vec<Arc<str>>) {
    let (now, now_ms) = (Instant::now(), wall_now_ms());
    let mut restored = Restored::default();
    for r in &image.retained {
        if !r.0.expired(now) {
            state.retained.insert(r.0.topic(), r.0.clone());
            restored.retained += 1;
        }
    }
    let mut wills = Vec::new();
    let mut were_online = Vec::new();
    for (client_id, s) in &image.sessions {
        let cell = SessionCell::new(Arc::clone(client_id), s.version, Arc::clone(shared_dropped));
        let mut data = cell.lock();
        data.clean_start = false;
        data.persist = true;
        data.expiry_secs = s.expiry_secs;
        let closed_at = if s.online { now_ms } else { s.closed_at_ms };
        data.expires_at =
            (s.expiry_secs != u32::MAX).then(|| from_wall(closed_at.saturating_add(u64::from(s.expiry_secs) * 1000), now, now_ms));
        for (filter, entry) in &s.subs {
            data.subscriptions.insert(filter.clone(), entry.clone());
            let sub = Sub { cell: Arc::clone(&cell), entry: entry.clone() };
            match topic::parse_shared(filter) {
                Ok(Some((group, inner))) => {
                    state.shared_subs.insert(inner, (Arc::from(group), Arc::clone(client_id)), sub);
                }
                _ => {
                    state.subs.insert(filter, Arc::clone(client_id), sub);
                }
            }
        }
        for q in &s.queue {
            data.queued_bytes += q.msg.cost();
            data.queue.push_back(Delivery {
                msg: Arc::clone(&q.msg),
                qos: q.qos,
                retain: q.retain,
                sub_ids: q.sub_ids.clone(),
                share: None,
            });
        }
        for (&pkid, f) in &s.inflight {
            let out = match &f.msg {
                Some(q) => Outgoing::Publish(
                    Delivery { msg: Arc::clone(&q.msg), qos: q.qos, retain: q.retain, sub_ids: q.sub_ids.clone(), share: None },
                    f.seq,
                ),
                None => Outgoing::Released(f.seq),
            };
            if f.seq >= data.last_seq {
                data.last_seq = f.seq;
                data.last_pkid = pkid;
            }
            data.inflight.insert(pkid, out);
        }
        data.incoming_qos2.extend(s.qos2_in.iter().copied());
        restored.messages += s.queue.len() + s.inflight.len();
        drop(data);
        if let Some(will) = &s.will {
            let delay = if s.online {
                will.properties.will_delay_interval.unwrap_or(0).min(s.expiry_secs)
            } else {
                let left = s.will_due_ms.unwrap_or(0).saturating_sub(now_ms);
                u32::try_from(left.div_ceil(1000)).unwrap_or(u32::MAX)
            };
            wills.push((Arc::clone(client_id), will.clone(), delay));
        }
        if s.online {
            were_online.push(Arc::clone(client_id));
        }
        state.sessions.insert(Arc::clone(client_id), cell);
        restored.sessions += 1;
    }
    (restored, wills, were_online)
}

/// Once the broker runs: journal the close of the sessions that were connected, and schedule the wills.
pub fn finish(shared: &Shared, wills: Vec<DueWill>, were_online: &[Arc<str>]) {
    let Some(store) = &shared.store else { return };
    let now_ms = wall_now_ms();
    for client_id in were_online {
        let expiry_secs = shared.state.lock().ok().and_then(|s| s.sessions.get(client_id).map(|c| c.lock().expiry_secs)).unwrap_or(0);
        let pending_will = wills
            .iter()
            .find(|(id, _, delay)| id == client_id && *delay > 0)
            .map(|(_, w, delay)| (Box::new(w.clone()), now_ms + u64::from(*delay) * 1000));
        store.append(Op::Rec(Rec::SessionClose { client_id: Arc::clone(client_id), expiry_secs, at_ms: now_ms, pending_will }));
    }
    for (client_id, will, delay) in wills {
        if delay == 0 {
            store.append(Op::Rec(Rec::WillDone(Arc::clone(&client_id))));
        }
        router::schedule_will(shared, client_id, will, delay);
    }
}
