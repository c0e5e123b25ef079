//! Messages to the client: drain the session's queue into the write buffer within the client's
//! Receive Maximum, apply outgoing Topic Aliases, and retransmit what was in flight when a session resumes.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::time::Instant;

use super::Session;
use crate::broker::client_state::{Delivery, Outgoing, SessionData};
use crate::broker::codec::{self, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS};
use crate::broker::connection::WRITE_HIGH_WATER;
use crate::broker::store::{Op, record::Queued};

impl Session {
    /// MQTT-4.4.0-1: on resumption, resend unacknowledged PUBLISH (DUP=1, MQTT-3.3.1-1) and PUBREL
    /// packets with their original packet ids, in the order first sent (MQTT-4.6.0-1).
    pub(super) fn resend_inflight(&mut self) {
        let data = self.cell.lock();
        let mut pending: Vec<(u64, Packet)> = data
            .inflight
            .iter()
            .map(|(&pkid, out)| {
                let packet = match out {
                    Outgoing::Publish(d, _) => Packet::Publish(self.publish_packet(d, pkid, true, Instant::now())),
                    Outgoing::Released(_) => Packet::PubRel(PubResp { pkid, code: 0, properties: Properties::default() }),
                };
                (out.seq(), packet)
            })
            .collect();
        drop(data);
        pending.sort_by_key(|(seq, _)| *seq);
        for (_, p) in &pending {
            self.conn.queue(p);
        }
    }

    /// Move queued deliveries into the write buffer and write it, until the queue is empty or the window is full.
    pub(super) async fn drain_and_flush(&mut self) -> std::io::Result<()> {
        loop {
            let more = self.drain();
            self.output_synced().await;
            let n = self.conn.flush().await?;
            self.shared.stats.bytes_sent.fetch_add(n as u64, Relaxed);
            self.cell.counters.wrote(n);
            if !more {
                return Ok(());
            }
        }
    }

    /// Encode queued deliveries; true if more remain that fit the window (the buffer filled up first).
    pub(super) fn drain(&mut self) -> bool {
        let now = Instant::now();
        let cell = Arc::clone(&self.cell);
        let mut data = cell.lock();
        if data.connection != Some(self.generation) {
            return false; // Taken over: the queue belongs to the new connection now.
        }
        let start = self.conn.out.len();
        let quota = usize::from(data.send_quota.max(1));
        let max_packet = data.client_max_packet as usize;
        let mut sent = 0u64;
        let mut dropped = 0u64;
        let more = loop {
            let Some(qos) = data.peek_qos() else { break false };
            if qos != QoS::AtMostOnce && data.inflight.len() >= quota {
                break false; // Send quota used up (MQTT-3.3.4-9, MQTT-4.9.0-2): a PUBACK/PUBCOMP wakes us.
            }
            if self.conn.out.len() >= WRITE_HIGH_WATER {
                break true;
            }
            let Some(d) = data.pop_next() else { break false };
            if d.msg.expired(now) {
                // MQTT-3.3.2-5: expired before onward delivery started: this copy is deleted.
                dropped += 1;
                self.journal_dropped(&data, &d);
                continue;
            }
            let pkid = if d.qos == QoS::AtMostOnce { 0 } else { data.next_pkid().unwrap_or(0) };
            let mut publish = self.publish_packet(&d, pkid, false, now);
            let new_alias = self.apply_topic_alias(&mut publish);
            let packet = Packet::Publish(publish);
            if max_packet < codec::MAX_REMAINING_LENGTH + 5 && codec::encoded_len(&packet, self.version) > max_packet {
                // MQTT-3.1.2-24 / -25: never send a packet over the client's Maximum Packet Size; the
                // message is discarded as if sent (counted as dropped).
                dropped += 1;
                self.journal_dropped(&data, &d);
                continue;
            }
            if let Some((topic, alias)) = new_alias {
                self.aliases_out.insert(topic, alias);
            }
            self.conn.queue(&packet);
            sent += 1;
            if d.qos != QoS::AtMostOnce {
                data.last_seq += 1;
                let seq = data.last_seq;
                if data.persist {
                    let queued = Queued { msg: Arc::clone(&d.msg), qos: d.qos, retain: d.retain, sub_ids: d.sub_ids.clone() };
                    // A QoS 2 PUBLISH goes out only once its packet id is on disk: a resend after a
                    // restart must use the same one (MQTT-4.3.3-1), or the client would take it as new.
                    self.journal(Op::Sent { client_id: Arc::clone(&data.client_id), pkid, seq, queued }, d.qos == QoS::ExactlyOnce);
                }
                data.inflight.insert(pkid, Outgoing::Publish(d, seq));
            }
        };
        cell.count_dropped(&mut data, dropped);
        let drained = data.queue.len() <= self.shared.config.backpressure_high_water / 2;
        drop(data);
        if drained {
            cell.stalled.store(false, Relaxed);
            cell.drained.notify_waiters();
        }
        self.shared.stats.msgs_sent.fetch_add(sent, Relaxed);
        cell.counters.msgs_out.fetch_add(sent, Relaxed);
        if cell.faulted.load(Relaxed) || !self.delayed.is_empty() {
            self.hold_back(start, now);
        }
        more
    }

    /// An injected delay ([`crate::broker::faults`]): move the deliveries just encoded (from `start`
    /// in the write buffer) aside until `now` + the delay. While some are held, later ones queue
    /// behind them even once the fault is cleared, so that order is kept (5.0 §4.6).
    fn hold_back(&mut self, start: usize, now: Instant) {
        let delay = self.shared.faults.delay_for(&self.client_id);
        if (delay.is_zero() && self.delayed.is_empty()) || self.conn.out.len() <= start {
            return;
        }
        let held = self.conn.out.split_off(start);
        let due = self.delayed.back().map_or(now + delay, |last| last.0.max(now + delay));
        self.delayed.push_back((due, held));
    }

    /// Put the held deliveries that are due into the write buffer.
    pub(super) fn release_delayed(&mut self) {
        if self.delayed.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some((due, _)) = self.delayed.front()
            && *due <= now
        {
            if let Some((_, bytes)) = self.delayed.pop_front() {
                self.conn.out.extend_from_slice(&bytes);
            }
        }
    }

    /// Journal that a QoS 1/2 message left a persistent session's queue unsent.
    fn journal_dropped(&self, data: &SessionData, d: &Delivery) {
        if data.persist
            && d.qos != QoS::AtMostOnce
            && let Some(store) = &self.shared.store
        {
            store.append(Op::Dropped { client_id: Arc::clone(&data.client_id), msg: Arc::clone(&d.msg) });
        }
    }

    /// Outgoing Topic Alias (5.0 §3.3.2.3.4): the first PUBLISH on a topic sets an alias while the
    /// client's Topic Alias Maximum allows (MQTT-3.1.2-26, -27, MQTT-3.3.2-11); later ones send an
    /// empty topic with the alias. Aliases live as long as this connection (MQTT-3.3.2-7). Returns a
    /// new mapping, to be recorded once the packet is really sent.
    fn apply_topic_alias(&self, publish: &mut Publish) -> Option<(Arc<str>, u16)> {
        if self.alias_max_out == 0 {
            return None;
        }
        if let Some(&alias) = self.aliases_out.get(publish.topic.as_str()) {
            publish.topic.clear();
            publish.properties.topic_alias = Some(alias);
            return None;
        }
        let next = u16::try_from(self.aliases_out.len() + 1).ok().filter(|&n| n <= self.alias_max_out)?;
        publish.properties.topic_alias = Some(next);
        Some((publish.topic.as_str().into(), next))
    }

    /// The PUBLISH packet for one delivery.
    fn publish_packet(&self, d: &Delivery, pkid: u16, dup: bool, now: Instant) -> Publish {
        let mut properties = if self.version == ProtocolVersion::V5 {
            d.msg.properties.as_deref().cloned().unwrap_or_default()
        } else {
            Properties::default()
        };
        if self.version == ProtocolVersion::V5 {
            properties.subscription_identifiers.clone_from(&d.sub_ids);
            // MQTT-3.3.2-6: the remaining lifetime, not the original interval.
            properties.message_expiry_interval =
                d.msg.expires_at.map(|at| u32::try_from(at.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX).max(1));
        }
        Publish { dup, qos: d.qos, retain: d.retain, topic: d.msg.topic.to_string(), pkid, payload: d.msg.payload.clone(), properties }
    }
}
