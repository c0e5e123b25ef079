//! Timed publishing: one task per timer, handing its messages to the runtime's publish path (the
//! embedded broker, or the connection's client) through a channel, at its pace.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use crate::model::timer::{TimerSpec, TimerState};
use crate::protocol::PublishRequest;
use crate::protocol::timers::TimerStats;

/// Run `spec` until its count is reached, a stop is asked for, or the runtime goes.
pub async fn run(spec: TimerSpec, stats: Arc<TimerStats>, out: mpsc::Sender<PublishRequest>) {
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs());
    let mut ticker = TimerState::new(seed);
    let mut ticks = tokio::time::interval(spec.every.max(std::time::Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut done = 0u64;
    while spec.times.is_none_or(|n| done < n) {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stats.stopped() => break,
        }
        for (topic, payload) in spec.messages(&mut ticker, SystemTime::now(), started.elapsed().as_secs_f64()) {
            let req = PublishRequest {
                id: 0,
                conn_id: spec.conn_id,
                topic,
                payload: payload.into(),
                qos: spec.qos,
                retain: spec.retain,
                meta: crate::model::MessageMeta::default(),
            };
            if out.send(req).await.is_err() {
                stats.finished.store(true, Relaxed);
                return;
            }
            stats.sent.fetch_add(1, Relaxed);
        }
        done += 1;
    }
    stats.finished.store(true, Relaxed);
}
