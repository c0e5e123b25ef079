//! Wills (MQTT-3.1.2-8 … -10, Will Delay Interval MQTT-3.1.3-9) and the expiry of offline sessions
//! (Session Expiry Interval, 5.0 §3.1.2.11.2).
//!
//! Owns: [`PendingWill`], [`schedule_will`], [`expiry_loop`]. Locks [`super::State`] briefly, never across `.await`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{route, routed};
use crate::broker::Shared;
use crate::broker::codec::LastWill;
use crate::broker::store::{Op, record::Rec};

/// How often due wills and expired sessions are looked for.
const TICK: Duration = Duration::from_millis(250);

/// A will waiting for its Will Delay Interval.
#[derive(Debug)]
pub struct PendingWill {
    /// When it is published, unless the client comes back to its session first.
    pub due: Instant,
    /// Whose will.
    pub client_id: Arc<str>,
    /// The will.
    pub will: LastWill,
}

/// Publish a will after `delay_secs` (0: now). A will waiting for its delay is dropped if a new
/// connection resumes the session in time (MQTT-3.1.3-9) and published early if the session ends first.
pub fn schedule_will(shared: &Shared, client_id: Arc<str>, will: LastWill, delay_secs: u32) {
    if delay_secs == 0 {
        publish_will(shared, &client_id, &will);
    } else if let Ok(mut state) = shared.state.lock() {
        let due = Instant::now() + Duration::from_secs(u64::from(delay_secs));
        state.pending_wills.push(PendingWill { due, client_id, will });
    }
}

/// Publish a will as if its client had published it (MQTT-3.1.2-8).
pub fn publish_will(shared: &Shared, client_id: &Arc<str>, will: &LastWill) {
    let msg = routed(will.topic.as_str().into(), will.payload.clone(), will.qos, will.retain, &will.properties, Arc::clone(client_id));
    route(shared, &msg);
}

/// Every [`TICK`]: publish due wills, end offline sessions whose expiry has passed (their pending
/// will goes out first: the session ended, 5.0 §3.1.3.2.2).
pub async fn expiry_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        expire_now(&shared);
    }
}

/// One pass of [`expiry_loop`].
fn expire_now(shared: &Shared) {
    let now = Instant::now();
    let limits = shared.config.queue_limits();
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
            tracing::debug!(client_id = %id, "session expired");
            state.remove_session(id, &limits);
        }
    }
    fire.sort_by_key(|w| w.due);
    if let Some(store) = &shared.store {
        for w in &fire {
            store.append(Op::Rec(Rec::WillDone(Arc::clone(&w.client_id))));
        }
    }
    for w in fire {
        publish_will(shared, &w.client_id, &w.will);
    }
}
