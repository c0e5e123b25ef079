//! Shared subscriptions (`$share/{ShareName}/{filter}`, MQTT 5 §4.8.2): one member of each group
//! gets each message, round robin over the members that are online; a leaving member's messages
//! go to another member where the spec allows it.
//!
//! Owns: the choice of member and the redistribution. Called with [`State`] locked; locks one
//! session at a time.

use std::collections::HashMap;
use std::sync::Arc;

use super::{State, Sub};
use crate::broker::client_state::{Delivery, Outgoing, QueueLimits, SessionCell};
use crate::broker::codec::QoS;
use crate::broker::store::{Op, record::Rec};
use crate::broker::topic;

/// A group: (share name, filter inside `$share/{name}/`).
type GroupKey = (Arc<str>, String);
/// The members of a group: (client id, subscription).
type Members = Vec<(Arc<str>, Sub)>;

/// For every shared group with a filter matching `topic`, the member chosen for this message,
/// with the full `$share/...` filter it subscribed with.
pub(super) fn pick_members(state: &mut State, topic: &str) -> Vec<(Arc<str>, Sub)> {
    let mut groups: HashMap<GroupKey, Members> = HashMap::new();
    state.shared_subs.for_each_match(topic, |filter, (group, client), sub| {
        groups.entry((Arc::clone(group), filter.to_owned())).or_default().push((Arc::clone(client), sub.clone()));
    });
    let mut picked = Vec::with_capacity(groups.len());
    for ((group, filter), members) in groups {
        let share: Arc<str> = format!("{}{group}/{filter}", topic::SHARED_PREFIX).into();
        if let Some(sub) = choose(state, (group, filter), members, None) {
            picked.push((share, sub));
        }
    }
    picked
}

/// Round robin from the group's cursor: the first online member other than `exclude`; with no
/// member online (and no exclusion), the member at the cursor, whose session queues it.
fn choose(
    state: &mut State,
    key: (Arc<str>, String),
    mut members: Vec<(Arc<str>, Sub)>,
    exclude: Option<&Arc<SessionCell>>,
) -> Option<Sub> {
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let n = members.len();
    if n == 0 {
        return None;
    }
    let cursor = state.share_cursor.entry(key).or_insert(0);
    let start = *cursor % n;
    let eligible = |i: &usize| {
        let cell = &members[*i].1.cell;
        exclude.is_none_or(|ex| !Arc::ptr_eq(ex, cell)) && cell.lock().connection.is_some()
    };
    let pick = (0..n).map(|i| (start + i) % n).find(eligible).or_else(|| exclude.is_none().then_some(start))?;
    *cursor = pick + 1;
    members.into_iter().nth(pick).map(|(_, sub)| sub)
}

/// Another online member of the group `share` (a full `$share/...` filter) for a message on `topic`.
fn other_member(state: &mut State, share: &str, topic: &str, leaving: &Arc<SessionCell>) -> Option<Sub> {
    let Ok(Some((group, filter))) = topic::parse_shared(share) else { return None };
    let mut members = Vec::new();
    state.shared_subs.for_each_match(topic, |f, (g, client), sub| {
        if f == filter && &**g == group {
            members.push((Arc::clone(client), sub.clone()));
        }
    });
    choose(state, (group.into(), filter.to_owned()), members, Some(leaving))
}

/// [`redistribute`] for a connection that just ended, its session kept.
pub fn redistribute_shared_locked(state: &mut State, limits: &QueueLimits, cell: &Arc<SessionCell>) {
    redistribute(state, limits, cell);
}

/// A member is leaving (its connection closed, or its session ended): hand its queued copies that
/// came through a shared subscription, and its unacknowledged QoS 1 ones, to another online member
/// (5.0 §4.8.2: "MAY … as soon as it loses its connection", "SHOULD" when the session ends). QoS 2
/// copies in flight stay: the leaving client must complete them (MQTT-4.8.2-4, MQTT-4.8.2-5).
/// Copies no other member can take stay where they are.
pub(super) fn redistribute(state: &mut State, limits: &QueueLimits, cell: &Arc<SessionCell>) {
    let (queued, unacked) = {
        let mut data = cell.lock();
        data.queued_bytes = 0;
        let queued = std::mem::take(&mut data.queue);
        let pkids: Vec<u16> = data
            .inflight
            .iter()
            .filter(|(_, out)| matches!(out, Outgoing::Publish(d, _) if d.qos == QoS::AtLeastOnce && d.share.is_some()))
            .map(|(&pkid, _)| pkid)
            .collect();
        let unacked: Vec<(u16, Outgoing)> = pkids.into_iter().filter_map(|pkid| data.inflight.remove(&pkid).map(|o| (pkid, o))).collect();
        (queued, unacked)
    };
    // Decide in queue order, so that what stays keeps its order (MQTT-4.6.0-6).
    let flags: Vec<bool> = queued
        .iter()
        .map(|d| {
            let moved = forward(state, limits, cell, d);
            if moved {
                journal_left(state, cell, |client_id| Op::Dropped { client_id, msg: Arc::clone(&d.msg) });
            }
            !moved
        })
        .collect();
    let kept: Vec<Delivery> = queued.into_iter().zip(&flags).filter_map(|(d, keep)| keep.then_some(d)).collect();
    let mut back_inflight = Vec::new();
    for (pkid, out) in unacked {
        if let Outgoing::Publish(d, _) = &out
            && forward(state, limits, cell, d)
        {
            journal_left(state, cell, |client_id| Op::Rec(Rec::Acked { client_id, pkid }));
            continue;
        }
        back_inflight.push((pkid, out));
    }
    let mut data = cell.lock();
    // The state lock is held, so nothing was queued meanwhile; `kept` goes back in front anyway,
    // and what is owed to new subscriptions keeps its place among it.
    data.requeue_kept(&flags);
    for d in kept.into_iter().rev() {
        data.queued_bytes += d.msg.cost();
        data.queue.push_front(d);
    }
    data.inflight.extend(back_inflight);
}

/// Queue `d` to another online member of its group; false if there is none.
fn forward(state: &mut State, limits: &QueueLimits, leaving: &Arc<SessionCell>, d: &Delivery) -> bool {
    let Some(share) = &d.share else { return false };
    let Some(sub) = other_member(state, share, &d.msg.topic, leaving) else { return false };
    let copy = Delivery {
        msg: Arc::clone(&d.msg),
        qos: d.msg.published_qos.min(sub.entry.options.qos),
        retain: d.retain,
        sub_ids: sub.entry.id.into_iter().collect(),
        share: Some(Arc::clone(share)),
    };
    if let Some(store) = &state.store
        && copy.qos != QoS::AtMostOnce
    {
        let data = sub.cell.lock();
        if data.persist {
            let target = (Arc::clone(&data.client_id), copy.qos, copy.retain, copy.sub_ids.clone());
            drop(data);
            store.append(Op::Msg { msg: Arc::clone(&copy.msg), targets: vec![target] });
        }
    }
    sub.cell.enqueue(copy, limits);
    true
}

/// Journal that a message left a kept session for another member of its group.
fn journal_left(state: &State, leaving: &Arc<SessionCell>, op: impl FnOnce(Arc<str>) -> Op) {
    if let Some(store) = &state.store {
        let data = leaving.lock();
        if data.persist {
            let client_id = Arc::clone(&data.client_id);
            drop(data);
            store.append(op(client_id));
        }
    }
}
