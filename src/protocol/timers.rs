//! A running timer as the window and the runtime share it: how many messages it sent, whether it
//! ended, and the stop button's signal (which never waits).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use tokio::sync::Notify;

/// Shared state of one running timer.
#[derive(Debug, Default)]
pub struct TimerStats {
    /// Messages handed to the connection.
    pub sent: AtomicU64,
    /// The timer has ended (its count reached, stopped, or the connection went).
    pub finished: AtomicBool,
    stop: AtomicBool,
    wake: Notify,
}

impl TimerStats {
    /// Ask the timer to stop (it ends before its next tick).
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
        self.wake.notify_one();
    }

    /// Whether a stop was asked for.
    #[must_use]
    pub fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// Completes when a stop is asked for.
    pub async fn stopped(&self) {
        while !self.stopping() {
            self.wake.notified().await;
        }
    }
}
