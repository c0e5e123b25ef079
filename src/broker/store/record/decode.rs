//! Reading a record body back ([`decode`]); payloads are copied out of the journal.

use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Queued, Rec, RecError, SentFrom, from_wall, kind};
use crate::broker::client_state::{Routed, SubEntry};
use crate::broker::codec::{LastWill, Properties, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions};
use crate::broker::retained::Retained;

/// Client ids and publishers read so far, shared: a million retained messages from one publisher
/// hold one copy of its name, as they did before the restart.
#[derive(Debug, Default)]
pub struct Names(std::collections::HashSet<Arc<str>>);

impl Names {
    /// The shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.0.get(name) {
            return Arc::clone(known);
        }
        let new: Arc<str> = name.into();
        self.0.insert(Arc::clone(&new));
        new
    }
}

/// Reads one record body.
pub struct Dec<'a> {
    body: &'a [u8],
    pos: usize,
    names: &'a mut Names,
}

impl<'a> Dec<'a> {
    /// Read `body`. Payloads are copied out: a slice would pin the whole journal in memory.
    #[must_use]
    pub const fn new(body: &'a [u8], names: &'a mut Names) -> Self {
        Self { body, pos: 0, names }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RecError> {
        let s = self.body.get(self.pos..self.pos + n).ok_or(RecError("record cut short"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, RecError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, RecError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, RecError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, RecError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<Bytes, RecError> {
        let n = self.u32()? as usize;
        Ok(Bytes::copy_from_slice(self.take(n)?))
    }
    fn str(&mut self) -> Result<&'a str, RecError> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| RecError("string not UTF-8"))
    }
    fn flag(&mut self) -> Result<bool, RecError> {
        Ok(self.u8()? != 0)
    }
    fn opt_u64(&mut self) -> Result<Option<u64>, RecError> {
        Ok(if self.flag()? { Some(self.u64()?) } else { None })
    }
    fn opt_string(&mut self) -> Result<Option<String>, RecError> {
        Ok(if self.flag()? { Some(self.str()?.to_owned()) } else { None })
    }
    fn qos(&mut self) -> Result<QoS, RecError> {
        QoS::try_from(self.u8()?).map_err(|_| RecError("bad QoS"))
    }
    fn u32_opt(v: Option<u64>) -> Option<u32> {
        v.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn props(&mut self) -> Result<Properties, RecError> {
        let pfi = self.u8()?;
        let mut p = Properties {
            payload_format_indicator: (pfi != 0xFF).then_some(pfi),
            message_expiry_interval: Self::u32_opt(self.opt_u64()?),
            will_delay_interval: Self::u32_opt(self.opt_u64()?),
            content_type: self.opt_string()?,
            response_topic: self.opt_string()?,
            correlation_data: if self.flag()? { Some(self.bytes()?) } else { None },
            ..Properties::default()
        };
        let n = self.u32()?;
        for _ in 0..n {
            let k = self.str()?.to_owned();
            let v = self.str()?.to_owned();
            p.user_properties.push((k, v));
        }
        Ok(p)
    }

    fn msg(&mut self, now: Instant, now_ms: u64) -> Result<Routed, RecError> {
        let topic: Arc<str> = self.str()?.into();
        let payload = self.bytes()?;
        let published_qos = self.qos()?;
        let retain = self.flag()?;
        let publisher = self.name()?;
        let expires_at = self.opt_u64()?.map(|ms| from_wall(ms, now, now_ms));
        let properties = if self.flag()? { Some(Box::new(self.props()?)) } else { None };
        Ok(Routed { topic, payload, published_qos, retain, properties, expires_at, publisher })
    }

    fn will(&mut self) -> Result<Option<Box<LastWill>>, RecError> {
        if !self.flag()? {
            return Ok(None);
        }
        Ok(Some(Box::new(LastWill {
            topic: self.str()?.to_owned(),
            payload: self.bytes()?,
            qos: self.qos()?,
            retain: self.flag()?,
            properties: self.props()?,
        })))
    }

    fn queued(&mut self, msg: Arc<Routed>) -> Result<Queued, RecError> {
        let qos = self.qos()?;
        let retain = self.flag()?;
        let n = self.u32()?;
        let sub_ids = (0..n).map(|_| self.u32()).collect::<Result<Vec<u32>, RecError>>()?;
        Ok(Queued { msg, qos, retain, sub_ids })
    }

    fn client(&mut self) -> Result<Arc<str>, RecError> {
        self.name()
    }

    fn name(&mut self) -> Result<Arc<str>, RecError> {
        let s = self.str()?;
        Ok(self.names.get(s))
    }
}

/// Decode one record body. `msgs` resolves the ids of [`Rec::Msg`] records read before; `Ok(None)`:
/// the record refers to a message that was lost (damage earlier in the file) and is skipped.
pub fn decode<S: std::hash::BuildHasher>(
    body: &[u8],
    msgs: &std::collections::HashMap<u64, Arc<Routed>, S>,
    names: &mut Names,
    now: Instant,
    now_ms: u64,
) -> Result<Option<Rec>, RecError> {
    let mut d = Dec::new(body, names);
    let rec = match d.u8()? {
        kind::RETAIN_SET => {
            let m = d.msg(now, now_ms)?;
            Rec::RetainSet(Retained::new(&m))
        }
        kind::RETAIN_CLEAR => Rec::RetainClear(d.str()?.into()),
        kind::SESSION_OPEN => Rec::SessionOpen {
            client_id: d.client()?,
            clean: d.flag()?,
            version: match d.u8()? {
                3 => ProtocolVersion::V31,
                4 => ProtocolVersion::V311,
                _ => ProtocolVersion::V5,
            },
            expiry_secs: d.u32()?,
            will: d.will()?,
        },
        kind::SESSION_CLOSE => {
            let client_id = d.client()?;
            let expiry_secs = d.u32()?;
            let at_ms = d.u64()?;
            let will = d.will()?;
            let due = d.u64()?;
            Rec::SessionClose { client_id, expiry_secs, at_ms, pending_will: will.map(|w| (w, due)) }
        }
        kind::SESSION_REMOVE => Rec::SessionRemove(d.client()?),
        kind::WILL_DONE => Rec::WillDone(d.client()?),
        kind::SUBSCRIBE => {
            let client_id = d.client()?;
            let filter = d.str()?.to_owned();
            let qos = d.qos()?;
            let flags = d.u8()?;
            let retain_handling = RetainHandling::try_from(d.u8()?).map_err(|_| RecError("bad retain handling"))?;
            let id = Dec::u32_opt(d.opt_u64()?);
            let options = SubscriptionOptions { qos, no_local: flags & 1 != 0, retain_as_published: flags & 2 != 0, retain_handling };
            Rec::Subscribe { client_id, filter, entry: SubEntry { options, id } }
        }
        kind::UNSUBSCRIBE => Rec::Unsubscribe { client_id: d.client()?, filter: d.str()?.to_owned() },
        kind::MSG => {
            let id = d.u64()?;
            Rec::Msg { id, msg: Arc::new(d.msg(now, now_ms)?) }
        }
        kind::ENQUEUE => {
            let client_id = d.client()?;
            let id = d.u64()?;
            let Some(msg) = msgs.get(&id) else { return Ok(None) };
            Rec::Enqueue { client_id, id, queued: d.queued(Arc::clone(msg))? }
        }
        k @ (kind::SENT_INDEX | kind::SENT_INLINE) => {
            let client_id = d.client()?;
            let from = if k == kind::SENT_INDEX {
                SentFrom::Index(d.u32()?)
            } else {
                let id = d.u64()?;
                let Some(msg) = msgs.get(&id) else { return Ok(None) };
                SentFrom::Inline(id, d.queued(Arc::clone(msg))?)
            };
            Rec::Sent { client_id, pkid: d.u16()?, seq: d.u64()?, from }
        }
        kind::DROPPED => Rec::Dropped { client_id: d.client()?, index: d.u32()? },
        kind::ACKED => Rec::Acked { client_id: d.client()?, pkid: d.u16()? },
        kind::QOS2_IN => Rec::Qos2In { client_id: d.client()?, pkid: d.u16()? },
        kind::QOS2_DONE => Rec::Qos2Done { client_id: d.client()?, pkid: d.u16()? },
        kind::RELEASED => Rec::Released { client_id: d.client()?, pkid: d.u16()?, seq: d.u64()? },
        _ => return Err(RecError("unknown record kind")),
    };
    Ok(Some(rec))
}
