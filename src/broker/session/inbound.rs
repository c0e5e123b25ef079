//! Packets from the client: PUBLISH in all three QoS flows, the acknowledgements of our
//! deliveries, SUBSCRIBE/UNSUBSCRIBE, PINGREQ, DISCONNECT, and the protocol errors.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::{Exit, Session};
use crate::broker::client_state::Outgoing;
use crate::broker::codec::{Packet, Properties, ProtocolVersion, PubResp, Publish, QoS, SubAck, SubscriptionOptions, UnsubAck, reason};
use crate::broker::stats::Limit;
use crate::broker::store::{Op, record::Rec};
use crate::broker::{router, topic};

impl Session {
    /// Handle one packet; `Some` ends the connection.
    pub(super) fn handle(&mut self, packet: Packet) -> Option<Exit> {
        match packet {
            Packet::Publish(publish) => return self.on_publish(publish),
            Packet::PubAck(ack) => {
                let mut data = self.cell.lock();
                // MQTT-4.3.2-4 (5.0) / MQTT-4.3.2-3: the PUBACK ends the flow, whatever its reason code
                // (a code ≥ 0x80 is not retried, nor sent to another shared member, MQTT-4.8.2-6).
                if matches!(data.inflight.get(&ack.pkid), Some(Outgoing::Publish(d, _)) if d.qos == QoS::AtLeastOnce) {
                    data.inflight.remove(&ack.pkid);
                    if data.persist {
                        // Not waited for: if lost, the message goes out once more after a restart (QoS 1 allows it).
                        self.record(Op::Rec(Rec::Acked { client_id: Arc::clone(&self.client_id), pkid: ack.pkid }));
                    }
                }
            }
            Packet::PubRec(rec) => {
                let mut data = self.cell.lock();
                let seq = match data.inflight.get(&rec.pkid) {
                    Some(Outgoing::Publish(d, seq)) if d.qos == QoS::ExactlyOnce => Some(*seq),
                    Some(Outgoing::Released(seq)) => Some(*seq),
                    _ => None,
                };
                let known = seq.is_some();
                if known && rec.code >= 0x80 {
                    // 5.0 §4.3.3: a PUBREC with a reason code ≥ 0x80 ends the flow; the packet id is free again
                    // and the message is not sent again (nor to another shared member, MQTT-4.8.2-6).
                    data.inflight.remove(&rec.pkid);
                    if data.persist {
                        self.record(Op::Rec(Rec::Acked { client_id: Arc::clone(&self.client_id), pkid: rec.pkid }));
                    }
                } else {
                    if let Some(seq) = seq {
                        // MQTT-4.3.3-3 (5.0) / MQTT-4.3.3-1 (3.1.1): discard the message, keep the packet id, send PUBREL.
                        data.inflight.insert(rec.pkid, Outgoing::Released(seq));
                        if data.persist {
                            // Not waited for: if lost, the PUBLISH is resent with its packet id and the client answers PUBREC again.
                            self.record(Op::Rec(Rec::Released { client_id: Arc::clone(&self.client_id), pkid: rec.pkid, seq }));
                        }
                    }
                    drop(data);
                    let code = if known { reason::SUCCESS } else { reason::PACKET_IDENTIFIER_NOT_FOUND };
                    self.conn.queue(&Packet::PubRel(PubResp { pkid: rec.pkid, code, properties: Properties::default() }));
                }
            }
            Packet::PubRel(rel) => {
                let (found, persist) = {
                    let mut data = self.cell.lock();
                    (data.incoming_qos2.remove(&rel.pkid), data.persist)
                };
                if found && persist {
                    // PUBCOMP waits for this: a packet id still on disk after a restart would make the
                    // client's next message under it look like a duplicate, and it would be lost.
                    self.journal(Op::Rec(Rec::Qos2Done { client_id: Arc::clone(&self.client_id), pkid: rel.pkid }), true);
                }
                let code = if found { reason::SUCCESS } else { reason::PACKET_IDENTIFIER_NOT_FOUND };
                self.conn.queue(&Packet::PubComp(PubResp { pkid: rel.pkid, code, properties: Properties::default() }));
            }
            Packet::PubComp(comp) => {
                let mut data = self.cell.lock();
                if matches!(data.inflight.get(&comp.pkid), Some(Outgoing::Released(_))) {
                    data.inflight.remove(&comp.pkid);
                    if data.persist {
                        self.record(Op::Rec(Rec::Acked { client_id: Arc::clone(&self.client_id), pkid: comp.pkid }));
                    }
                }
            }
            Packet::Subscribe(sub) => {
                if sub.filters.iter().any(|(f, o)| o.no_local && f.starts_with(topic::SHARED_PREFIX)) {
                    // MQTT-3.8.3-4: No Local on a Shared Subscription is a Protocol Error.
                    self.queue_disconnect(reason::PROTOCOL_ERROR);
                    return Some(Exit::WithWill);
                }
                self.refresh_policy();
                let id = sub.properties.subscription_identifiers.first().copied();
                let codes = sub.filters.iter().map(|(filter, options)| self.subscribe_within_limits(filter, *options, id)).collect();
                self.gate_on_journal();
                // MQTT-3.8.4-1: SUBACK first; the retained messages the subscriptions are owed follow it
                // (this task drains them only after this packet is handled).
                self.conn.queue(&Packet::SubAck(SubAck { pkid: sub.pkid, codes, properties: Properties::default() }));
            }
            Packet::Unsubscribe(unsub) => {
                let codes: Vec<u8> = unsub.filters.iter().map(|f| router::unsubscribe(&self.shared, &self.cell, f)).collect();
                self.gate_on_journal();
                let codes = if self.version == ProtocolVersion::V5 { codes } else { Vec::new() };
                self.conn.queue(&Packet::UnsubAck(UnsubAck { pkid: unsub.pkid, codes, properties: Properties::default() }));
            }
            Packet::PingReq => self.conn.queue(&Packet::PingResp),
            Packet::Disconnect(d) => {
                if let Some(expiry) = d.properties.session_expiry_interval {
                    if self.connect_expiry == 0 && expiry != 0 {
                        // 5.0 §3.14.2.2.2: a Session Expiry of 0 in CONNECT cannot become non-zero on DISCONNECT (Protocol Error).
                        self.queue_disconnect(reason::PROTOCOL_ERROR);
                        return Some(Exit::WithWill);
                    }
                    self.cell.lock().expiry_secs = expiry.min(self.shared.config.max_session_expiry_secs);
                }
                // MQTT-3.14.4-3: a normal DISCONNECT discards the will; 0x04 asks for it.
                return Some(if d.code == reason::DISCONNECT_WITH_WILL_MESSAGE { Exit::WithWill } else { Exit::Normal });
            }
            // MQTT-3.1.0-2: a second CONNECT is a Protocol Error; so is AUTH after a CONNECT without
            // Authentication Method (MQTT-4.12.0-7), and any server-to-client packet from a client.
            Packet::Connect(_) | Packet::Auth(_) | Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                self.queue_disconnect(reason::PROTOCOL_ERROR);
                return Some(Exit::WithWill);
            }
        }
        None
    }

    fn on_publish(&mut self, mut publish: Publish) -> Option<Exit> {
        let v5 = self.version == ProtocolVersion::V5;
        self.shared.stats.msgs_received.fetch_add(1, Relaxed);
        self.publishes_in += 1;
        if !publish.properties.subscription_identifiers.is_empty() {
            // MQTT-3.3.4-6: a PUBLISH from a client must not carry a Subscription Identifier.
            self.queue_disconnect(reason::PROTOCOL_ERROR);
            return Some(Exit::WithWill);
        }
        // Topic Alias (MQTT 5 §3.3.2.3.4).
        let topic: Arc<str> = match publish.properties.topic_alias.take() {
            Some(alias) if alias == 0 || alias > self.shared.config.topic_alias_maximum => {
                self.queue_disconnect(reason::TOPIC_ALIAS_INVALID);
                return Some(Exit::WithWill);
            }
            Some(alias) if publish.topic.is_empty() => {
                let Some(topic) = self.aliases_in.get(&alias) else {
                    // 5.0 §3.3.2.3.4: an alias with no mapping on this connection is a Protocol Error (MQTT-3.3.2-7: none carried over).
                    self.queue_disconnect(reason::PROTOCOL_ERROR);
                    return Some(Exit::WithWill);
                };
                Arc::clone(topic)
            }
            Some(alias) => {
                let topic: Arc<str> = publish.topic.as_str().into();
                self.aliases_in.insert(alias, Arc::clone(&topic));
                topic
            }
            None => publish.topic.as_str().into(),
        };
        if topic::validate_topic_name(&topic).is_err() {
            // MQTT-3.3.2-2: no wildcards in a topic name.
            self.queue_disconnect(reason::TOPIC_NAME_INVALID);
            return Some(Exit::WithWill);
        }
        if self.over_topic_limits(&topic) {
            // Ours, not the spec's: 0x90 Topic Name invalid (5.0 §3.14.2.1), or just the close in 3.1.1.
            self.shared.stats.limits.hit(Limit::Topic, &self.client_id);
            self.queue_disconnect(reason::TOPIC_NAME_INVALID);
            return Some(Exit::WithWill);
        }
        let bad_format = v5 && publish.properties.payload_format_indicator == Some(1) && std::str::from_utf8(&publish.payload).is_err();
        let pkid = publish.pkid;
        self.refresh_policy();
        if !self.policy.may_write(self.who(), &topic) {
            return self.refuse_publish(&publish, &topic);
        }
        match publish.qos {
            QoS::AtMostOnce => {
                if bad_format {
                    // 5.0 §3.3.2.3.2: a payload declared UTF-8 that is not → 0x99 Payload format invalid.
                    self.queue_disconnect(reason::PAYLOAD_FORMAT_INVALID);
                    return Some(Exit::WithWill);
                }
                self.route(topic, publish);
            }
            QoS::AtLeastOnce => {
                let code = if bad_format { reason::PAYLOAD_FORMAT_INVALID } else { reason::SUCCESS };
                if !bad_format {
                    self.route(topic, publish);
                }
                // MQTT-4.3.2-2: PUBACK after taking ownership (unless a fault withholds it, as if lost).
                if !self.withhold_ack() {
                    self.conn.queue(&Packet::PubAck(PubResp { pkid, code, properties: Properties::default() }));
                }
            }
            QoS::ExactlyOnce => {
                let (duplicate, over) = {
                    let data = self.cell.lock();
                    let dup = data.incoming_qos2.contains(&pkid);
                    (dup, !dup && data.incoming_qos2.len() >= usize::from(self.shared.config.receive_maximum))
                };
                if over && v5 {
                    // MQTT-3.3.4-7: more unacknowledged QoS 2 publications than our Receive Maximum → DISCONNECT 0x93 (§3.3.4).
                    self.queue_disconnect(reason::RECEIVE_MAXIMUM_EXCEEDED);
                    return Some(Exit::WithWill);
                }
                let code = if bad_format { reason::PAYLOAD_FORMAT_INVALID } else { reason::SUCCESS };
                if !duplicate && !bad_format {
                    // MQTT-4.3.3-10 (5.0) / MQTT-4.3.3-2 (3.1.1): route once; a retransmission with the same packet id before PUBREL is not routed again.
                    let persist = {
                        let mut data = self.cell.lock();
                        data.incoming_qos2.insert(pkid);
                        data.persist
                    };
                    if persist {
                        // PUBREC waits for this: after a restart a resent PUBLISH is still known as a duplicate (MQTT-4.3.3-10).
                        self.journal(Op::Rec(Rec::Qos2In { client_id: Arc::clone(&self.client_id), pkid }), true);
                    }
                    self.route(topic, publish);
                }
                if !self.withhold_ack() {
                    self.conn.queue(&Packet::PubRec(PubResp { pkid, code, properties: Properties::default() }));
                }
            }
        }
        None
    }

    /// A PUBLISH the ACL does not let this client write: not routed (nor retained), counted. 3.1.1
    /// has no way to say so: the flow completes as if it had been accepted (mosquitto does the same).
    /// 5.0 answers 0x87 Not authorized in PUBACK / PUBREC (§3.4.2.1, §3.5.2.1), which ends a QoS 2 flow.
    fn refuse_publish(&mut self, publish: &Publish, topic: &str) -> Option<Exit> {
        let v5 = self.version == ProtocolVersion::V5;
        self.shared.stats.security.publish_denied.fetch_add(1, Relaxed);
        tracing::debug!(client_id = %self.client_id, topic, "PUBLISH refused by the ACL");
        let code = if v5 { reason::NOT_AUTHORIZED } else { reason::SUCCESS };
        let pkid = publish.pkid;
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.conn.queue(&Packet::PubAck(PubResp { pkid, code, properties: Properties::default() })),
            QoS::ExactlyOnce => {
                if !v5 {
                    // The PUBREL that follows must find its packet id (MQTT-4.3.3-2).
                    self.cell.lock().incoming_qos2.insert(pkid);
                }
                self.conn.queue(&Packet::PubRec(PubResp { pkid, code, properties: Properties::default() }));
            }
        }
        None
    }

    /// Whether an injected fault withholds this acknowledgement ([`crate::broker::faults`]): one
    /// relaxed load unless a fault applies to this session.
    fn withhold_ack(&self) -> bool {
        if !self.cell.faulted.load(Relaxed) {
            return false;
        }
        let (withhold, ended) = self.shared.faults.take_withheld_ack(&self.client_id);
        if ended {
            crate::broker::faults::reflag(&self.shared);
        }
        withhold
    }

    /// Whether a topic name or filter is longer than `max_topic_length` or has more levels than `max_topic_levels`.
    fn over_topic_limits(&self, topic: &str) -> bool {
        let cfg = &self.shared.config;
        // A topic of n bytes has at most n + 1 levels: only a long one needs counting.
        topic.len() > cfg.max_topic_length
            || (topic.len() >= cfg.max_topic_levels && topic.bytes().filter(|&b| b == b'/').count() >= cfg.max_topic_levels)
    }

    /// One filter of a SUBSCRIBE, within our limits on topics and on subscriptions per client; returns its SUBACK code.
    fn subscribe_within_limits(&self, filter: &str, options: SubscriptionOptions, id: Option<u32>) -> u8 {
        let v5 = self.version == ProtocolVersion::V5;
        if self.over_topic_limits(filter) {
            self.shared.stats.limits.hit(Limit::Topic, &self.client_id);
            return if v5 { reason::TOPIC_FILTER_INVALID } else { reason::SUBACK_V3_FAILURE };
        }
        let full = {
            let data = self.cell.lock();
            data.subscriptions.len() >= self.shared.config.max_subscriptions_per_client && !data.subscriptions.contains_key(filter)
        };
        if full {
            // 5.0 §3.9.3: 0x97 Quota exceeded; 3.1.1 has only 0x80 Failure (MQTT-3.9.3-2).
            self.shared.stats.limits.hit(Limit::Subscriptions, &self.client_id);
            return if v5 { reason::QUOTA_EXCEEDED } else { reason::SUBACK_V3_FAILURE };
        }
        if !self.policy.may_subscribe(self.who(), filter) {
            // Ours (mosquitto 2.0.11 grants it and filters deliveries): refused per filter, 0x87 Not
            // authorized (5.0 §3.9.3) / 0x80 Failure (3.1.1, MQTT-3.9.3-2 has no other code).
            self.shared.stats.security.subscribe_denied.fetch_add(1, Relaxed);
            tracing::debug!(client_id = %self.client_id, filter, "SUBSCRIBE refused by the ACL");
            return if v5 { reason::NOT_AUTHORIZED } else { reason::SUBACK_V3_FAILURE };
        }
        router::subscribe(&self.shared, &self.cell, filter, options, id, self.conn.input_since)
    }

    fn route(&mut self, topic: Arc<str>, publish: Publish) {
        let msg = router::routed(topic, publish.payload, publish.qos, publish.retain, &publish.properties, Arc::clone(&self.client_id));
        let (congested, journaled) = router::route_journaled(&self.shared, &msg);
        self.congested.extend(congested);
        if let Some(n) = journaled {
            // The PUBACK / PUBREC queued after this goes out once the message is on disk.
            self.need_sync = self.need_sync.max(n);
        }
    }

    /// Our output waits for everything journaled so far if this session is journaled (its SUBACK
    /// or UNSUBACK then promises a subscription that survives a restart).
    fn gate_on_journal(&mut self) {
        if let Some(store) = &self.shared.store
            && self.cell.lock().persist
        {
            self.need_sync = store.appended();
        }
    }
}
