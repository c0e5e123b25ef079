//! Fault injection: the faults the explorer set on the embedded broker, and the checks the
//! connection tasks make for them.
//!
//! Owns: [`Faults`] (the active list) and [`act`]. With no fault active a CONNECT costs one relaxed
//! load ([`Faults::active`]); each session has its own switch (`SessionCell::faulted`), so the
//! PUBLISH path of a client with no fault costs one relaxed load and never this module's lock.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::Shared;
use super::client_state::Kick;
use crate::model::faults::{Fault, FaultAction};

/// The active faults.
#[derive(Debug, Default)]
pub struct Faults {
    /// Set while the list is not empty: the CONNECT path looks at nothing else when it is clear.
    any: AtomicBool,
    /// Taken on a CONNECT while `any`, by a faulted session, and when the explorer changes the list.
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Whether any fault is active (one relaxed load).
    #[must_use]
    #[inline]
    pub fn active(&self) -> bool {
        self.any.load(Relaxed)
    }

    /// The active faults, in the order they were set.
    #[must_use]
    pub fn list(&self) -> Vec<Fault> {
        self.list.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether a session of `client_id` has a fault that its connection must look for.
    #[must_use]
    pub fn covers_session(&self, client_id: &str) -> bool {
        self.active()
            && self
                .list
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|f| matches!(f, Fault::DelayDeliveries { .. } | Fault::WithholdAcks { .. }) && f.covers(client_id))
    }

    /// The reason code to refuse this CONNECT with, if a fault says so; a one-shot refusal of this
    /// client id is used up (a refusal of every client stays until cleared).
    #[must_use]
    pub fn take_refusal(&self, client_id: &str) -> Option<u8> {
        if !self.active() {
            return None;
        }
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        let at = list
            .iter()
            .position(|f| matches!(f, Fault::RefuseConnect { client_id: Some(id), .. } if id == client_id))
            .or_else(|| list.iter().position(|f| matches!(f, Fault::RefuseConnect { client_id: None, .. })))?;
        let Fault::RefuseConnect { client_id: who, code } = list[at].clone() else { return None };
        if who.is_some() {
            list.remove(at);
            self.any.store(!list.is_empty(), Relaxed);
        }
        Some(code)
    }

    /// Whether to withhold this acknowledgement to `client_id` (counted down; the fault ends at 0).
    /// Returns (withhold, the fault just ended).
    #[must_use]
    pub fn take_withheld_ack(&self, client_id: &str) -> (bool, bool) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(at) = list.iter().position(|f| matches!(f, Fault::WithholdAcks { client_id: id, .. } if id == client_id)) else {
            return (false, false);
        };
        let Fault::WithholdAcks { left, .. } = &mut list[at] else { return (false, false) };
        *left = left.saturating_sub(1);
        let ended = *left == 0;
        if ended {
            list.remove(at);
            self.any.store(!list.is_empty(), Relaxed);
        }
        (true, ended)
    }

    /// How long to hold deliveries to `client_id` (zero: not delayed).
    #[must_use]
    pub fn delay_for(&self, client_id: &str) -> Duration {
        let list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter()
            .find_map(|f| match f {
                Fault::DelayDeliveries { client_id: id, delay_ms } if id == client_id => Some(Duration::from_millis(*delay_ms)),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn change(&self, action: &FaultAction) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        match action {
            FaultAction::Add(fault) => {
                list.retain(|f| !f.same_slot(fault));
                list.push(fault.clone());
            }
            FaultAction::Clear(fault) => list.retain(|f| !f.same_slot(fault)),
            FaultAction::ClearAll => list.clear(),
            // Not a fault: carried out by `act`.
            FaultAction::Restart { .. } => {}
        }
        self.any.store(!list.is_empty(), Relaxed);
    }
}

/// Change the list of faults and switch each session's check to match (or restart the broker in
/// place); returns what happened, for the user.
pub fn act(shared: &Shared, action: &FaultAction) -> String {
    if let FaultAction::Restart { keep_sessions } = action {
        return restart(shared, *keep_sessions);
    }
    shared.faults.change(action);
    reflag(shared);
    match action {
        FaultAction::Add(fault) => fault.describe(),
        FaultAction::Clear(fault) => format!("Cleared: {}", fault.describe()),
        FaultAction::ClearAll => "Every fault cleared".to_owned(),
        FaultAction::Restart { .. } => String::new(),
    }
}

/// Restart in place ([`FaultAction::Restart`]).
fn restart(shared: &Shared, keep_sessions: bool) -> String {
    let limits = shared.config.queue_limits();
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut ended = 0;
    for cell in state.sessions.values() {
        if let Some(kick) = cell.lock().kick.take() {
            // A connection ending on its own right now has dropped its receiver: it ends anyway.
            kick.send(Kick::Restart).ok();
            ended += 1;
        }
    }
    let sessions = state.sessions.len();
    if keep_sessions {
        return format!("Restarted in place: {ended} connections ended (DISCONNECT 0x8B), {sessions} sessions kept");
    }
    let ids: Vec<Arc<str>> = state.sessions.keys().cloned().collect();
    for id in &ids {
        state.take_pending_will(id);
        state.remove_session(id, &limits);
    }
    format!("Restarted in place: {ended} connections ended (DISCONNECT 0x8B), {sessions} sessions dropped")
}

/// Set each session's switch from the list. Lock order: state, then the list (as in a CONNECT).
pub fn reflag(shared: &Shared) {
    let state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    for (id, cell) in &state.sessions {
        cell.faulted.store(shared.faults.covers_session(id), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_of_one_client_is_used_once_and_one_of_all_stays() {
        let faults = Faults::default();
        assert_eq!(faults.take_refusal("a"), None);
        faults.change(&FaultAction::Add(Fault::RefuseConnect { client_id: Some("a".into()), code: 0x87 }));
        assert!(faults.active());
        assert_eq!(faults.take_refusal("b"), None);
        assert_eq!(faults.take_refusal("a"), Some(0x87));
        assert_eq!(faults.take_refusal("a"), None, "used up");
        assert!(!faults.active());
        faults.change(&FaultAction::Add(Fault::RefuseConnect { client_id: None, code: 0x89 }));
        assert_eq!((faults.take_refusal("x"), faults.take_refusal("y")), (Some(0x89), Some(0x89)));
        faults.change(&FaultAction::ClearAll);
        assert!(!faults.active() && faults.list().is_empty());
    }

    #[test]
    fn withheld_acknowledgements_count_down_and_end_the_fault() {
        let faults = Faults::default();
        faults.change(&FaultAction::Add(Fault::WithholdAcks { client_id: "a".into(), left: 2 }));
        assert!(faults.covers_session("a") && !faults.covers_session("b"));
        assert_eq!(faults.take_withheld_ack("a"), (true, false));
        assert_eq!(faults.list(), [Fault::WithholdAcks { client_id: "a".into(), left: 1 }]);
        assert_eq!(faults.take_withheld_ack("a"), (true, true));
        assert_eq!(faults.take_withheld_ack("a"), (false, false));
        assert!(!faults.active());
    }
}
