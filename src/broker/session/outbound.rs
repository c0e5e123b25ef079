//! Messages to the client: drain the session's queue into the write buffer within the client's
//! Receive Maximum, and retransmit what was in flight when a session resumes.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::Session;
use crate::broker::client_state::{Delivery, Outgoing};
use crate::broker::codec::{self, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS};
use crate::broker::connection::WRITE_HIGH_WATER;

impl Session {
    /// MQTT-4.4.0-1: on resumption, resend unacknowledged PUBLISH (DUP=1) and PUBREL packets, in order.
    pub(super) fn resend_inflight(&mut self) {
        let data = self.cell.lock();
        let packets: Vec<Packet> = data
            .inflight
            .iter()
            .map(|(&pkid, out)| match out {
                Outgoing::Publish(d) => Packet::Publish(self.publish_packet(d, pkid, true, Instant::now())),
                Outgoing::Released => Packet::PubRel(PubResp { pkid, code: 0, properties: Properties::default() }),
            })
            .collect();
        drop(data);
        for p in &packets {
            self.conn.queue(p);
        }
    }

    /// Move queued deliveries into the write buffer and write it, until the queue is empty or the window is full.
    pub(super) async fn drain_and_flush(&mut self) -> std::io::Result<()> {
        loop {
            let more = self.drain();
            let n = self.conn.flush().await?;
            self.shared.stats.bytes_sent.fetch_add(n as u64, Relaxed);
            if !more {
                return Ok(());
            }
        }
    }

    /// Encode queued deliveries; true if more remain that fit the window (the buffer filled up first).
    fn drain(&mut self) -> bool {
        let now = Instant::now();
        let mut data = self.cell.lock();
        let quota = usize::from(data.send_quota.max(1));
        let max_packet = data.client_max_packet as usize;
        let mut sent = 0u64;
        let mut dropped = 0u64;
        let more = loop {
            let Some(front) = data.queue.front() else { break false };
            if front.qos != QoS::AtMostOnce && data.inflight.len() >= quota {
                break false; // Window full: PUBACK/PUBCOMP will wake us (MQTT-4.9.0-2).
            }
            if self.conn.out.len() >= WRITE_HIGH_WATER {
                break true;
            }
            let Some(d) = data.queue.pop_front() else { break false };
            data.queued_bytes = data.queued_bytes.saturating_sub(d.msg.cost());
            if d.msg.expired(now) {
                dropped += 1;
                continue;
            }
            let pkid = if d.qos == QoS::AtMostOnce { 0 } else { data.next_pkid().unwrap_or(0) };
            let packet = Packet::Publish(self.publish_packet(&d, pkid, false, now));
            if codec::encoded_len(&packet, self.version) > max_packet {
                // MQTT-3.1.2-25: never send a packet over the client's Maximum Packet Size; the message is dropped.
                dropped += 1;
                continue;
            }
            self.conn.queue(&packet);
            sent += 1;
            if d.qos != QoS::AtMostOnce {
                data.inflight.insert(pkid, Outgoing::Publish(d));
            }
        };
        data.dropped += dropped;
        drop(data);
        self.shared.stats.msgs_sent.fetch_add(sent, Relaxed);
        self.shared.stats.dropped.fetch_add(dropped, Relaxed);
        more
    }

    /// The PUBLISH packet for one delivery.
    fn publish_packet(&self, d: &Delivery, pkid: u16, dup: bool, now: Instant) -> Publish {
        let mut properties = if self.version == ProtocolVersion::V5 { d.msg.properties.clone() } else { Properties::default() };
        if self.version == ProtocolVersion::V5 {
            properties.subscription_identifiers.clone_from(&d.sub_ids);
            // MQTT-3.3.2-6: the remaining lifetime, not the original interval.
            properties.message_expiry_interval =
                d.msg.expires_at.map(|at| u32::try_from(at.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX).max(1));
        }
        Publish { dup, qos: d.qos, retain: d.retain, topic: d.msg.topic.to_string(), pkid, payload: d.msg.payload.clone(), properties }
    }
}
