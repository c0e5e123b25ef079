//! The binary form of a [`Rec`]: what [`encode`] writes.

use tokio::time::Instant;

use super::{Queued, Rec, SentFrom, kind, to_wall, version_byte};
use crate::broker::client_state::Routed;
use crate::broker::codec::{LastWill, Properties};
use crate::broker::retained::Retained;

/// The record body writer.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    /// The properties a stored message or will keeps (the rest are per connection).
    fn props(&mut self, p: &Properties) {
        self.u8(p.payload_format_indicator.map_or(0xFF, |v| v));
        self.opt_u64(p.message_expiry_interval.map(u64::from));
        self.opt_u64(p.will_delay_interval.map(u64::from));
        self.opt_str(p.content_type.as_deref());
        self.opt_str(p.response_topic.as_deref());
        match &p.correlation_data {
            Some(c) => {
                self.u8(1);
                self.bytes(c);
            }
            None => self.u8(0),
        }
        self.u32(u32::try_from(p.user_properties.len()).unwrap_or(0));
        for (k, v) in &p.user_properties {
            self.str(k);
            self.str(v);
        }
    }

    /// A routed message: topic, payload, QoS, retain, publisher, expiry (wall ms), properties.
    fn msg(&mut self, m: &Routed, now: Instant, now_ms: u64) {
        self.str(&m.topic);
        self.bytes(&m.payload);
        self.u8(m.published_qos as u8);
        self.u8(u8::from(m.retain));
        self.str(&m.publisher);
        self.opt_u64(m.expires_at.map(|at| to_wall(at, now, now_ms)));
        match &m.properties {
            Some(p) => {
                self.u8(1);
                self.props(p);
            }
            None => self.u8(0),
        }
    }

    /// A retained message, in the same form as [`Enc::msg`].
    fn retained(&mut self, r: &Retained, now: Instant, now_ms: u64) {
        self.str(r.topic());
        self.bytes(r.payload());
        self.u8(r.qos() as u8);
        self.u8(1);
        self.str(r.publisher());
        self.opt_u64(r.expires_at().map(|at| to_wall(at, now, now_ms)));
        match r.properties() {
            Some(p) => {
                self.u8(1);
                self.props(p);
            }
            None => self.u8(0),
        }
    }

    fn will(&mut self, w: &LastWill) {
        self.str(&w.topic);
        self.bytes(&w.payload);
        self.u8(w.qos as u8);
        self.u8(u8::from(w.retain));
        self.props(&w.properties);
    }

    fn opt_will(&mut self, w: Option<&LastWill>) {
        match w {
            Some(w) => {
                self.u8(1);
                self.will(w);
            }
            None => self.u8(0),
        }
    }

    fn queued(&mut self, q: &Queued) {
        self.u8(q.qos as u8);
        self.u8(u8::from(q.retain));
        self.u32(u32::try_from(q.sub_ids.len()).unwrap_or(0));
        for id in &q.sub_ids {
            self.u32(*id);
        }
    }
}

/// Encode `rec` as one record body into `e` (cleared first).
pub fn encode(rec: &Rec, e: &mut Enc, now: Instant, now_ms: u64) {
    e.0.clear();
    match rec {
        Rec::RetainSet(r) => {
            e.u8(kind::RETAIN_SET);
            e.retained(r, now, now_ms);
        }
        Rec::RetainClear(topic) => {
            e.u8(kind::RETAIN_CLEAR);
            e.str(topic);
        }
        Rec::SessionOpen { client_id, clean, version, expiry_secs, will } => {
            e.u8(kind::SESSION_OPEN);
            e.str(client_id);
            e.u8(u8::from(*clean));
            e.u8(version_byte(*version));
            e.u32(*expiry_secs);
            e.opt_will(will.as_deref());
        }
        Rec::SessionClose { client_id, expiry_secs, at_ms, pending_will } => {
            e.u8(kind::SESSION_CLOSE);
            e.str(client_id);
            e.u32(*expiry_secs);
            e.u64(*at_ms);
            e.opt_will(pending_will.as_ref().map(|(w, _)| &**w));
            e.u64(pending_will.as_ref().map_or(0, |(_, due)| *due));
        }
        Rec::SessionRemove(client_id) => {
            e.u8(kind::SESSION_REMOVE);
            e.str(client_id);
        }
        Rec::WillDone(client_id) => {
            e.u8(kind::WILL_DONE);
            e.str(client_id);
        }
        Rec::Subscribe { client_id, filter, entry } => {
            e.u8(kind::SUBSCRIBE);
            e.str(client_id);
            e.str(filter);
            let o = entry.options;
            e.u8(o.qos as u8);
            e.u8(u8::from(o.no_local) | u8::from(o.retain_as_published) << 1);
            e.u8(o.retain_handling as u8);
            e.opt_u64(entry.id.map(u64::from));
        }
        Rec::Unsubscribe { client_id, filter } => {
            e.u8(kind::UNSUBSCRIBE);
            e.str(client_id);
            e.str(filter);
        }
        Rec::Msg { id, msg } => {
            e.u8(kind::MSG);
            e.u64(*id);
            e.msg(msg, now, now_ms);
        }
        Rec::Enqueue { client_id, id, queued } => {
            e.u8(kind::ENQUEUE);
            e.str(client_id);
            e.u64(*id);
            e.queued(queued);
        }
        Rec::Sent { client_id, pkid, seq, from } => {
            match from {
                SentFrom::Index(i) => {
                    e.u8(kind::SENT_INDEX);
                    e.str(client_id);
                    e.u32(*i);
                }
                SentFrom::Inline(id, q) => {
                    e.u8(kind::SENT_INLINE);
                    e.str(client_id);
                    e.u64(*id);
                    e.queued(q);
                }
            }
            e.u16(*pkid);
            e.u64(*seq);
        }
        Rec::Dropped { client_id, index } => {
            e.u8(kind::DROPPED);
            e.str(client_id);
            e.u32(*index);
        }
        Rec::Acked { client_id, pkid } | Rec::Qos2In { client_id, pkid } | Rec::Qos2Done { client_id, pkid } => {
            e.u8(match rec {
                Rec::Acked { .. } => kind::ACKED,
                Rec::Qos2In { .. } => kind::QOS2_IN,
                _ => kind::QOS2_DONE,
            });
            e.str(client_id);
            e.u16(*pkid);
        }
        Rec::Released { client_id, pkid, seq } => {
            e.u8(kind::RELEASED);
            e.str(client_id);
            e.u16(*pkid);
            e.u64(*seq);
        }
    }
}
