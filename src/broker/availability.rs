//! The availability board from inside the broker: each session's will next to the retained value
//! on its topic, and "publish the will now".
//!
//! Owns: [`board`] and [`publish_will_now`]. Runs only when the UI asks (while the board is shown):
//! one walk over the sessions under the state's lock, one retained lookup per will.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use super::Shared;
use super::codec::LastWill;
use super::router;
use crate::model::QoS;
use crate::model::availability::{AvailabilityRow, Verdict, WillState, preview};
use crate::model::broker_view::{MAX_ROWS, Snapshot};

/// Every session whose latest connection registered a will, by client id (at most [`MAX_ROWS`]).
#[must_use]
pub fn board(shared: &Shared) -> Snapshot<AvailabilityRow> {
    let now = Instant::now();
    let Ok(state) = shared.state.lock() else {
        return Snapshot { rows: Vec::new(), total: 0, taken_at: SystemTime::now() };
    };
    let mut sessions: Vec<_> = state.sessions.iter().collect();
    sessions.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut rows = Vec::new();
    let mut total = 0;
    for (id, cell) in sessions {
        let data = cell.lock();
        let Some(will) = data.last_will.as_ref() else { continue };
        total += 1;
        if rows.len() >= MAX_ROWS {
            continue;
        }
        let online = data.connection.is_some();
        let will_state = match (online, state.pending_will_due(id), data.last_will_fired) {
            (true, _, _) => WillState::Armed,
            (false, Some(due), _) => WillState::Pending(due.saturating_duration_since(now).as_secs()),
            (false, None, Some(false)) => WillState::Discarded,
            (false, None, _) => WillState::Published,
        };
        let retained = state.retained.get(&will.topic).filter(|r| !r.expired(now));
        let verdict = match retained {
            Some(r) if r.payload() == &will.payload[..] => Verdict::ShowsWill,
            Some(_) => Verdict::ShowsOther,
            None => Verdict::NothingRetained,
        };
        rows.push(AvailabilityRow {
            client_id: Arc::clone(id),
            online,
            will_state,
            topic: will.topic.clone(),
            will_payload: preview(&will.payload),
            will_qos: QoS::from_u8(will.qos as u8),
            will_retain: will.retain,
            retained_payload: retained.map(|r| preview(r.payload())),
            retained_by: retained.map(|r| Arc::clone(r.publisher())),
            verdict,
        });
    }
    Snapshot { rows, total, taken_at: SystemTime::now() }
}

/// Why the will could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WillError {
    /// No session has this client id.
    #[error("no session {0}")]
    NoSession(String),
    /// The session has no will armed or waiting.
    #[error("{0} has no will to publish now")]
    NoWill(String),
}

/// Publish `client_id`'s will now, as its client: a copy of the armed will of a connected client
/// (which stays armed), or the will waiting for its delay (which then no longer waits).
///
/// # Errors
/// When there is no such session or no will to publish.
pub fn publish_will_now(shared: &Shared, client_id: &str) -> Result<String, WillError> {
    let will: LastWill = {
        let Ok(mut state) = shared.state.lock() else { return Err(WillError::NoSession(client_id.to_owned())) };
        let cell = state.sessions.get(client_id).cloned().ok_or_else(|| WillError::NoSession(client_id.to_owned()))?;
        let armed = cell.lock().will.clone();
        match armed.or_else(|| state.take_pending_will(client_id)) {
            Some(will) => will,
            None => return Err(WillError::NoWill(client_id.to_owned())),
        }
    };
    router::publish_will(shared, &client_id.into(), &will);
    Ok(format!("Published the will of {client_id} on {}", will.topic))
}
