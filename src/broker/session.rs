//! One client connection: CONNECT handshake, the read/write loop, keep-alive, and what happens to
//! the session and its will when the connection ends.
//!
//! Owns: the per-connection [`Session`]. The handshake lives in `connect`, packet handling in
//! `inbound`, queue draining in `outbound`. An error here ends only this connection.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Shared;
use super::client_state::{Kick, SessionCell};
use super::codec::{DecodeError, Disconnect, Packet, Properties, ProtocolVersion, reason};
use super::connection::{Connection, Io, WRITE_HIGH_WATER};
use super::router;
use super::security::Security;
use super::stats::Limit;
use super::store::{self, Op, Store, record::Rec};

mod connect;
mod inbound;
mod outbound;

pub use connect::serve;

/// How a connection ended, deciding the will's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// DISCONNECT with reason 0: the will is discarded (MQTT-3.1.2-10 / MQTT-3.14.4-3).
    Normal,
    /// Any other end (I/O error, keep-alive, protocol error, DISCONNECT 0x04): the will is published.
    WithWill,
    /// Another connection took the session over; it already dealt with the will.
    TakenOver,
    /// The broker is shutting down.
    Shutdown,
    /// The explorer dropped the connection: closed at once, without DISCONNECT; the will is published.
    Dropped,
}

/// One connected client.
pub struct Session {
    shared: Arc<Shared>,
    conn: Connection,
    cell: Arc<SessionCell>,
    client_id: Arc<str>,
    version: ProtocolVersion,
    generation: u64,
    /// Keep-alive granted; zero disables the check.
    keep_alive: Duration,
    /// Topic aliases the client set (MQTT 5, client → server); they live as long as the connection.
    aliases_in: HashMap<u16, Arc<str>>,
    /// Topic aliases we set towards the client (MQTT 5, server → client), at most `alias_max_out`.
    aliases_out: HashMap<Arc<str>, u16>,
    /// The client's Topic Alias Maximum (0: it accepts none, MQTT-3.1.2-27).
    alias_max_out: u16,
    /// Session Expiry Interval from CONNECT (a DISCONNECT may not raise it from 0, 5.0 §3.14.2.2.2).
    connect_expiry: u32,
    /// Online subscribers whose queue a message from this client just pushed over the high-water
    /// mark: reading this socket pauses until they drain (back-pressure).
    congested: Vec<Arc<SessionCell>>,
    /// Complete packets wait in the read buffer because the write buffer was full when they came.
    parse_pending: bool,
    /// PUBLISH packets handled since the last read was counted ([`super::counters`]).
    publishes_in: u64,
    /// User name the client acts as (the CONNECT's, or its certificate's CN), for the ACL.
    username: Option<Arc<str>>,
    /// The policy in force when last looked at ([`Session::policy`]).
    policy: Arc<Security>,
    /// Its generation ([`super::Shared::security_generation`]).
    policy_gen: u64,
    /// Encoded deliveries held back by an injected delay ([`super::faults`]), each with when it is
    /// due, in order; empty unless the explorer delays this client.
    delayed: VecDeque<(Instant, BytesMut)>,
    /// Number of the last journal operation our output depends on: nothing is written to the
    /// socket until it is synced ([`super::store`]), so an acknowledgement never promises more
    /// than the disk holds.
    need_sync: u64,
}

impl Session {
    /// The read/write loop, until the connection ends. Reading, writing, the takeover signal, shutdown,
    /// keep-alive and the write timeout are awaited together: a peer that stops reading blocks
    /// nothing but its own output, and is disconnected once none of it was taken for `write_timeout`.
    async fn run(&mut self, mut kick_rx: oneshot::Receiver<Kick>) -> Exit {
        let mut shutdown = self.shared.shutdown.clone();
        let write_timeout = self.shared.config.write_timeout;
        self.resend_inflight();
        let mut deadline = self.next_deadline();
        // When the write buffer last went from empty to not, or last made progress.
        let mut writing_since: Option<Instant> = None;
        // One timer for keep-alive and the write timeout, for the connection's life. It is only ever
        // moved earlier, or on firing to the next real deadline: moving it at every read or write
        // would take the runtime's timer lock once per packet batch, on every connection.
        let timer = tokio::time::sleep_until(deadline);
        tokio::pin!(timer);
        loop {
            self.release_delayed();
            let room = self.conn.out.len() < WRITE_HIGH_WATER;
            if room && self.parse_pending {
                self.parse_pending = false;
                if let Some(exit) = self.handle_buffered().await {
                    return exit;
                }
            }
            if self.conn.out.len() < WRITE_HIGH_WATER {
                self.drain();
            }
            let store = self.shared.store.as_ref().filter(|s| self.need_sync > s.synced_now()).map(Arc::clone);
            self.conn.hold_writes = store.is_some();
            let writing = !self.conn.out.is_empty() && store.is_none();
            let reading = !self.parse_pending && self.conn.out.len() < WRITE_HIGH_WATER;
            writing_since = if writing { Some(writing_since.unwrap_or_else(Instant::now)) } else { None };
            let stuck_at = writing_since.map(|since| since + write_timeout);
            let keep_alive_on = !self.keep_alive.is_zero();
            let wake_at = match (keep_alive_on, stuck_at) {
                (true, Some(stuck)) => Some(deadline.min(stuck)),
                (true, None) => Some(deadline),
                (false, stuck) => stuck,
            };
            let delayed_at = self.delayed.front().map(|d| d.0);
            let wake_at = wake_at.into_iter().chain(delayed_at).min();
            if let Some(at) = wake_at
                && at < timer.deadline()
            {
                timer.as_mut().reset(at);
            }
            tokio::select! {
                biased;
                kick = &mut kick_rx => return self.kicked(kick.unwrap_or(Kick::TakenOver)),
                _ = shutdown.changed() => {
                    self.queue_disconnect(reason::SERVER_SHUTTING_DOWN);
                    return Exit::Shutdown;
                }
                io = self.conn.io(reading), if reading || writing => match io {
                    Ok(Io::Wrote(n)) => {
                        self.shared.stats.bytes_sent.fetch_add(n as u64, Relaxed);
                        self.cell.counters.wrote(n);
                        writing_since = None;
                    }
                    Ok(Io::Read(0)) => return Exit::WithWill,
                    Ok(Io::Read(n)) => {
                        self.shared.stats.bytes_received.fetch_add(n as u64, Relaxed);
                        let exit = self.handle_buffered().await;
                        let now = Instant::now();
                        self.cell.counters.read(n, std::mem::take(&mut self.publishes_in), now);
                        if let Some(exit) = exit {
                            return exit;
                        }
                        // After the packets (and any back-pressure pause), not before: a pause is not the client's silence.
                        deadline = now + self.keep_alive + self.keep_alive / 2;
                    }
                    Err(err) => {
                        tracing::debug!(client_id = %self.client_id, error = %err, "connection failed");
                        return Exit::WithWill;
                    }
                },
                () = self.cell.notify.notified(), if !writing => {}
                () = until_synced(store.as_deref(), self.need_sync), if store.is_some() => {}
                () = &mut timer, if wake_at.is_some() => {
                    let now = Instant::now();
                    if keep_alive_on && now >= deadline {
                        // MQTT-3.1.2-22 (5.0) / MQTT-3.1.2-24 (3.1.1): 1.5 × keep-alive without a packet ends the connection.
                        tracing::debug!(client_id = %self.client_id, "keep-alive expired");
                        self.queue_disconnect(reason::KEEP_ALIVE_TIMEOUT);
                        return Exit::WithWill;
                    }
                    if stuck_at.is_some_and(|stuck| now >= stuck) {
                        self.shared.stats.limits.hit(Limit::WriteTimeout, &self.client_id);
                        return Exit::WithWill;
                    }
                    // Fired for a deadline that has moved on since (or for a delayed delivery, released
                    // at the top of the loop): on to the next one.
                    let next = [keep_alive_on.then_some(deadline), stuck_at, self.delayed.front().map(|d| d.0)].into_iter().flatten().min();
                    timer.as_mut().reset(next.unwrap_or(now + write_timeout));
                }
            }
        }
    }

    /// The connection was told to end: by a takeover, or by the explorer.
    fn kicked(&mut self, kick: Kick) -> Exit {
        match kick {
            Kick::TakenOver => {
                self.queue_disconnect(reason::SESSION_TAKEN_OVER);
                Exit::TakenOver
            }
            Kick::Disconnect(code) => {
                self.queue_disconnect(code);
                // MQTT-3.14.4-3: ended as by a normal disconnection (0x00), the will is discarded; otherwise it is published.
                if code == reason::SUCCESS { Exit::Normal } else { Exit::WithWill }
            }
            Kick::Drop => Exit::Dropped,
            Kick::Restart => {
                self.queue_disconnect(reason::SERVER_SHUTTING_DOWN);
                Exit::Shutdown
            }
        }
    }

    /// Bring `self.policy` up to date when a reload replaced it (one relaxed read otherwise).
    fn refresh_policy(&mut self) {
        let generation = self.shared.security_generation();
        if generation != self.policy_gen {
            self.policy = self.shared.security();
            self.policy_gen = generation;
        }
    }

    /// Who this client is, for the ACL.
    fn who(&self) -> super::security::Who<'_> {
        super::security::Who { client_id: &self.client_id, username: self.username.as_deref() }
    }

    /// Wait until the journal operations our output depends on are synced (at once without persistence).
    async fn output_synced(&self) {
        until_synced(self.shared.store.as_deref(), self.need_sync).await;
    }

    /// Journal `op` if persistence is on, without waiting for it.
    fn record(&self, op: Op) {
        if let Some(store) = &self.shared.store {
            store.append(op);
        }
    }

    /// Journal `op` if persistence is on; with `gate`, our output waits until it is synced.
    fn journal(&mut self, op: Op, gate: bool) {
        if let Some(store) = &self.shared.store {
            let n = store.append(op);
            if gate {
                self.need_sync = n;
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        Instant::now() + self.keep_alive + self.keep_alive / 2
    }

    /// Back-pressure: with the replies so far written, wait until every congested subscriber has
    /// drained below half the high-water mark, each for at most `backpressure_max_pause`. The
    /// socket is not read meanwhile, so a flooding client is slowed down by TCP flow control. A
    /// subscriber that did not drain within the pause is marked stalled and not waited for again
    /// until it has drained (its queue then overflows and drops, counted).
    async fn pause_for_congestion(&mut self) -> std::io::Result<()> {
        if self.congested.is_empty() {
            return Ok(());
        }
        // Bounded: this client may itself be the one that does not read.
        tokio::time::timeout(self.shared.config.write_timeout, self.drain_and_flush())
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let low_water = self.shared.config.backpressure_high_water / 2;
        let max_pause = self.shared.config.backpressure_max_pause;
        for cell in std::mem::take(&mut self.congested) {
            let drained = cell.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let waiting = {
                let data = cell.lock();
                data.connection.is_some() && data.queue.len() > low_water
            };
            if waiting && !cell.stalled.load(Relaxed) && tokio::time::timeout(max_pause, drained).await.is_err() {
                cell.stalled.store(true, Relaxed);
            }
        }
        Ok(())
    }

    /// Parse and handle every complete packet already read.
    async fn handle_buffered(&mut self) -> Option<Exit> {
        loop {
            let packet = match self.conn.parse() {
                Ok(Some(packet)) => packet,
                Ok(None) => return None,
                Err(err) => {
                    if let DecodeError::PacketTooLarge { .. } = err {
                        self.shared.stats.limits.hit(Limit::PacketSize, &self.client_id);
                    } else {
                        tracing::debug!(client_id = %self.client_id, error = %err, "malformed packet");
                    }
                    self.queue_disconnect(err.reason_code());
                    return Some(Exit::WithWill);
                }
            };
            if let Some(exit) = self.handle(packet) {
                return Some(exit);
            }
            if self.conn.out.len() >= WRITE_HIGH_WATER {
                // The rest waits until the peer has taken some of our output.
                self.parse_pending = true;
                return None;
            }
            if self.pause_for_congestion().await.is_err() {
                return Some(Exit::WithWill);
            }
        }
    }

    /// Queue DISCONNECT (5.0 only; 3.1.1 servers just close); the connection closes once the session ends.
    fn queue_disconnect(&mut self, code: u8) {
        if self.version == ProtocolVersion::V5 {
            self.conn.queue(&Packet::Disconnect(Disconnect { code, properties: Properties::default() }));
        }
    }

    /// Detach from the session: publish or schedule the will, start the expiry clock, or drop the
    /// session. Returns the connection, to be closed.
    fn finish(self, exit: Exit, peer: SocketAddr) -> Connection {
        self.shared.stats.client_disconnected();
        tracing::debug!(%peer, client_id = %self.client_id, ?exit, "client disconnected");
        let limits = self.shared.config.queue_limits();
        let mut state = self.shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut data = self.cell.lock();
        if data.connection != Some(self.generation) {
            return self.conn; // Taken over: the new connection owns the session now.
        }
        data.connection = None;
        data.kick = None;
        data.peer = None;
        // MQTT-3.1.2-10 / MQTT-3.14.4-3: a normal DISCONNECT deletes the will; every other end publishes it.
        let will = data.will.take().filter(|_| matches!(exit, Exit::WithWill | Exit::Dropped));
        data.last_will_fired = Some(will.is_some());
        let expiry = data.expiry_secs;
        let journaled = data.persist;
        if !limits.queue_qos0_offline {
            let lost = data.drop_qos0();
            self.cell.count_dropped(&mut data, lost);
        }
        data.expires_at = (expiry != u32::MAX).then(|| Instant::now() + Duration::from_secs(u64::from(expiry)));
        drop(data);
        if expiry == 0 {
            // Session Expiry 0 (5.0) / CleanSession=1 (3.1.1): the session ends with the connection.
            state.remove_session(&self.client_id, &limits);
        } else {
            router::redistribute_shared_locked(&mut state, &limits, &self.cell);
            if journaled && let Some(store) = &state.store {
                let at_ms = store::record::wall_now_ms();
                let delay = will.as_ref().map_or(0, |w| w.properties.will_delay_interval.unwrap_or(0).min(expiry));
                let pending_will = will.clone().filter(|_| delay > 0).map(|w| (Box::new(w), at_ms + u64::from(delay) * 1000));
                store.append(Op::Rec(Rec::SessionClose {
                    client_id: Arc::clone(&self.client_id),
                    expiry_secs: expiry,
                    at_ms,
                    pending_will,
                }));
            }
        }
        drop(state);
        if let Some(will) = will {
            // The will goes out at the earlier of its delay and the session's end (5.0 §3.1.3.2.2).
            let delay = will.properties.will_delay_interval.unwrap_or(0).min(expiry);
            router::schedule_will(&self.shared, Arc::clone(&self.client_id), will, delay);
        }
        self.conn
    }
}

/// Wait until journal operation `n` is synced; at once without a store.
async fn until_synced(store: Option<&Store>, n: u64) {
    if let Some(store) = store {
        store.wait_synced(n).await;
    }
}
