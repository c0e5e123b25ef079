//! Sparkplug B: payloads (Eclipse Tahu's protobuf) as JSON with a metrics table keyed by name, and
//! the alias state that lets DATA messages (which usually carry aliases only) show names.
//!
//! Decoded shape: `{"timestamp", "seq", "uuid"?, "body"?, "metrics": {NAME: {"alias"?, "datatype",
//! "value", "timestamp"?, "is_historical"?, "is_transient"?, "is_null"?, "properties"?,
//! "metadata"?}}}`, so "Plot" on `metrics.Temperature.value` reads one metric across messages.
//! A metric without a name whose alias is unknown is listed as `"alias N"`.

pub mod encode;
pub mod hierarchy;
pub mod proto;
mod value;

pub use value::datatype_name;

use std::collections::HashMap;

use prost::Message as _;
use serde_json::{Map, Value};

use super::{DecodeError, bytes_value};
use proto::Payload;

/// Topic namespace of Sparkplug B.
pub const NAMESPACE: &str = "spBv1.0";

/// Metric names by alias, learned from the BIRTH certificates of one edge node (aliases are
/// unique within an edge node and its devices).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aliases(HashMap<u64, String>);

impl Aliases {
    /// Learn every `(alias, name)` pair of a BIRTH payload; later BIRTHs replace earlier names.
    /// Bytes that do not decode teach nothing.
    pub fn learn(&mut self, birth: &[u8]) {
        let Ok(payload) = Payload::decode(birth) else { return };
        for m in payload.metrics {
            if let (Some(alias), Some(name)) = (m.alias, m.name) {
                self.0.insert(alias, name);
            }
        }
    }

    /// The name of `alias`, if a BIRTH told it.
    #[must_use]
    pub fn name(&self, alias: u64) -> Option<&str> {
        self.0.get(&alias).map(String::as_str)
    }

    /// Number of aliases known.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if none is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// State of every edge node seen in a stream (`mqscope sub --decode sparkplug`): the aliases
/// (each NBIRTH starts its node afresh, each DBIRTH adds its device's metrics) and the last
/// sequence number, to flag gaps.
#[derive(Clone, Debug, Default)]
pub struct EdgeAliases(HashMap<String, EdgeNode>);

#[derive(Clone, Debug, Default)]
struct EdgeNode {
    aliases: Aliases,
    /// `seq` of the node's last message that carried one (0..=255, wrapping).
    last_seq: Option<u64>,
}

/// `(group/edge, message type)` of a Sparkplug topic.
fn edge_of(topic: &str) -> Option<(String, &str)> {
    let mut levels = topic.split('/');
    let (Some(NAMESPACE), Some(group), Some(kind), Some(edge)) = (levels.next(), levels.next(), levels.next(), levels.next()) else {
        return None;
    };
    Some((format!("{group}/{edge}"), kind))
}

impl EdgeAliases {
    /// Learn from `payload` if `topic` is a BIRTH.
    pub fn observe(&mut self, topic: &str, payload: &[u8]) {
        if let Some((key, kind @ ("NBIRTH" | "DBIRTH"))) = edge_of(topic) {
            let node = self.0.entry(key).or_default();
            if kind == "NBIRTH" {
                node.aliases = Aliases::default();
            }
            node.aliases.learn(payload);
        }
    }

    /// The aliases of `topic`'s edge node, if a BIRTH was seen.
    #[must_use]
    pub fn for_topic(&self, topic: &str) -> Option<&Aliases> {
        edge_of(topic).and_then(|(key, _)| self.0.get(&key)).map(|n| &n.aliases)
    }

    /// Note the `seq` of a message of `topic`'s edge node; returns the number that was expected
    /// when it is not the one after the node's previous message (an NBIRTH starts afresh; NDEATH,
    /// commands and STATE carry no node sequence).
    pub fn check_seq(&mut self, topic: &str, seq: Option<u64>) -> Option<u64> {
        let (key, kind) = edge_of(topic)?;
        if !matches!(kind, "NBIRTH" | "NDATA" | "DBIRTH" | "DDATA" | "DDEATH") {
            return None;
        }
        let seq = seq?;
        let node = self.0.entry(key).or_default();
        let expected = seq_gap(node.last_seq, seq);
        node.last_seq = Some(seq);
        if kind == "NBIRTH" {
            return None;
        }
        expected
    }
}

/// The sequence number expected after `last` (0..=255, wrapping), if `seq` is not it: a gap. A
/// `seq` outside 0..=255 (out of spec, any u64 can come off the wire) is never the one expected.
#[must_use]
pub fn seq_gap(last: Option<u64>, seq: u64) -> Option<u64> {
    last.map(|last| (last % 256 + 1) % 256).filter(|&expected| expected != seq)
}

/// True for topics whose payload is a Sparkplug B protobuf: under `spBv1.0/`, except the host
/// application's `STATE` messages (JSON or text).
#[must_use]
pub fn is_sparkplug_topic(topic: &str) -> bool {
    let mut levels = topic.split('/');
    levels.next() == Some(NAMESPACE) && levels.next().is_some_and(|l| l != "STATE") && levels.next().is_some_and(|t| t != "STATE")
}

/// The BIRTH topics whose metrics name the aliases used on `topic`: for a device's
/// `spBv1.0/G/DDATA/E/D` (or DCMD, DBIRTH, DDEATH) the node's `NBIRTH/E` and the device's
/// `DBIRTH/E/D`; for a node's NDATA/NCMD its `NBIRTH/E`. Empty for anything else.
#[must_use]
pub fn birth_topics(topic: &str) -> Vec<String> {
    let levels: Vec<&str> = topic.split('/').collect();
    match levels[..] {
        [NAMESPACE, group, kind, edge] if kind.starts_with('N') => vec![format!("{NAMESPACE}/{group}/NBIRTH/{edge}")],
        [NAMESPACE, group, kind, edge, device] if kind.starts_with('D') => {
            vec![format!("{NAMESPACE}/{group}/NBIRTH/{edge}"), format!("{NAMESPACE}/{group}/DBIRTH/{edge}/{device}")]
        }
        _ => Vec::new(),
    }
}

/// The aliases named by the latest BIRTHs kept in `tree` for `topic`'s edge node (and device).
#[must_use]
pub fn aliases_in(tree: &crate::model::TopicTree, topic: &str) -> Aliases {
    let mut aliases = Aliases::default();
    for birth in birth_topics(topic) {
        if let Some(msg) = tree.find(&birth).and_then(|id| tree.node(id).latest()) {
            aliases.learn(&msg.payload);
        }
    }
    aliases
}

/// Decode a Sparkplug B payload; names of alias-only metrics come from `aliases`.
pub(super) fn decode(bytes: &[u8], aliases: Option<&Aliases>) -> Result<Value, DecodeError> {
    let payload = Payload::decode(bytes)
        .map_err(|e| DecodeError::new(super::wire::sparkplug_error_offset(bytes), format!("invalid Sparkplug B payload: {e}")))?;
    let mut out = Map::new();
    if let Some(t) = payload.timestamp {
        out.insert("timestamp".into(), t.into());
    }
    if let Some(s) = payload.seq {
        out.insert("seq".into(), s.into());
    }
    if let Some(u) = payload.uuid {
        out.insert("uuid".into(), u.into());
    }
    if let Some(b) = &payload.body {
        out.insert("body".into(), bytes_value(b));
    }
    out.insert("metrics".into(), Value::Object(value::metrics(payload.metrics, aliases)));
    Ok(Value::Object(out))
}

#[cfg(test)]
pub(crate) mod tests;
