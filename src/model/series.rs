//! One charted series: the numbers read from one topic (optionally at a JSON path), as time-ordered
//! `(unix seconds, value)` points in a bounded ring, with counters for what had to be skipped.
//!
//! Owns: [`SeriesDef`] (what to plot and how it looks, persisted) and [`Series`] (its points).
//! Bad input never reaches the points: payloads that are not numbers (NaN and infinities included)
//! and lone spikes (a value that jumps by more than [`JUMP_FACTOR`] times the smaller magnitude of
//! the two, and comes straight back) are counted instead. Must not touch: egui, the clock.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ConnId;
use super::decode::{self, Decoder, ProtoRef, ProtoSchema, Schemas, sparkplug};
use super::message::Message;
use super::payload::{self, JsonPath};

/// Points kept per series unless configured otherwise.
pub const DEFAULT_POINTS_PER_SERIES: usize = 100_000;

/// A value is a suspected spike when it differs from the previous one by more than this many times
/// `max(min(|previous|, |value|), 1)`; it is kept only if the next value confirms the new level.
pub const JUMP_FACTOR: f64 = 1e6;

/// What to plot and how it looks; saved with the chart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesDef {
    /// Connection the topic belongs to.
    #[serde(default = "local")]
    pub conn_id: ConnId,
    /// Exact topic.
    pub topic: String,
    /// Field of a JSON payload; `None` reads the whole payload as a number.
    #[serde(default)]
    pub path: Option<JsonPath>,
    /// Line colour, sRGB.
    pub color: [u8; 3],
    /// Drawn (hidden series keep collecting points).
    #[serde(default = "yes")]
    pub visible: bool,
    /// Decoder of a binary payload (Sparkplug B, CBOR, MessagePack); `path` then reads the decoded value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<Decoder>,
    /// The .proto message type, for [`Decoder::Protobuf`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<ProtoRef>,
}

fn local() -> ConnId {
    ConnId::LOCAL
}

fn yes() -> bool {
    true
}

impl SeriesDef {
    /// A visible series of `topic` (at `path`) on `conn_id`, in `color`.
    #[must_use]
    pub fn new(conn_id: ConnId, topic: impl Into<String>, path: Option<JsonPath>, color: [u8; 3]) -> Self {
        Self { conn_id, topic: topic.into(), path: path.filter(|p| !p.is_root()), color, visible: true, decoder: None, proto: None }
    }

    /// The same series read through `decoder`.
    #[must_use]
    pub fn with_decoder(mut self, decoder: Option<Decoder>) -> Self {
        self.decoder = decoder;
        self
    }

    /// The same series read through the Protobuf message type `proto`.
    #[must_use]
    pub fn with_proto(mut self, proto: Option<ProtoRef>) -> Self {
        self.proto = proto;
        self
    }

    /// Topics besides its own whose messages this series must see: the Sparkplug BIRTHs that
    /// name the aliases its topic's DATA messages use.
    #[must_use]
    pub fn birth_topics(&self) -> Vec<String> {
        if self.decoder == Some(Decoder::Sparkplug) { sparkplug::birth_topics(&self.topic) } else { Vec::new() }
    }

    /// `topic`, or `topic[path]` for a JSON field.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.path {
            Some(path) => format!("{}[{path}]", self.topic),
            None => self.topic.clone(),
        }
    }

    /// True if both plot the same thing (colour and visibility aside).
    #[must_use]
    pub fn same_source(&self, other: &Self) -> bool {
        self.conn_id == other.conn_id
            && self.topic == other.topic
            && self.path == other.path
            && self.decoder == other.decoder
            && self.proto == other.proto
    }
}

/// Seconds since the Unix epoch as `f64` (negative before it), the x of a point.
#[must_use]
pub fn unix_secs_f64(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The points of one series and its bad-input counters.
#[derive(Clone, Debug)]
pub struct Series {
    /// What it plots.
    pub def: SeriesDef,
    /// `[x = unix secs, y]`, x never decreasing, all finite.
    points: VecDeque<[f64; 2]>,
    /// Most points kept; the oldest go first.
    cap: usize,
    /// A suspected spike, held until the next value says whether it is a new level.
    pending: Option<[f64; 2]>,
    /// Payloads that held no number (or NaN, or an infinity).
    not_numeric: u64,
    /// Lone spikes left out.
    spikes: u64,
    /// Sparkplug metric names by alias, learned from the BIRTHs of the series' edge node.
    aliases: sparkplug::Aliases,
    /// Those BIRTH topics ([`SeriesDef::birth_topics`]).
    births: Vec<String>,
    /// The compiled message type of [`SeriesDef::proto`], once its file compiled.
    schema: Option<ProtoSchema>,
}

impl Series {
    /// An empty series keeping at most `cap` points (at least 2).
    #[must_use]
    pub fn new(def: SeriesDef, cap: usize) -> Self {
        let births = def.birth_topics();
        Self {
            def,
            points: VecDeque::new(),
            cap: cap.max(2),
            pending: None,
            not_numeric: 0,
            spikes: 0,
            aliases: sparkplug::Aliases::default(),
            births,
            schema: None,
        }
    }

    /// Take the series' Protobuf message type from `schemas` (none while its file is not compiled).
    pub fn set_schema(&mut self, schemas: &Schemas) {
        self.schema = self.def.proto.as_ref().and_then(|p| schemas.schema(p).ok());
    }

    /// The points, oldest first: `[unix secs, value]`, x never decreasing.
    #[must_use]
    pub fn points(&self) -> &VecDeque<[f64; 2]> {
        &self.points
    }

    /// The newest point.
    #[must_use]
    pub fn last(&self) -> Option<[f64; 2]> {
        self.points.back().copied()
    }

    /// Payloads skipped because they held no finite number.
    #[must_use]
    pub fn not_numeric(&self) -> u64 {
        self.not_numeric
    }

    /// Values skipped as lone spikes.
    #[must_use]
    pub fn spikes(&self) -> u64 {
        self.spikes
    }

    /// Everything skipped.
    #[must_use]
    pub fn skipped(&self) -> u64 {
        self.not_numeric + self.spikes
    }

    /// Most points kept.
    #[must_use]
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Keep at most `cap` points (at least 2), dropping the oldest at once.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(2);
        let excess = self.points.len().saturating_sub(self.cap);
        self.points.drain(..excess);
    }

    /// Read `msg` as this series reads payloads and add its value (or count why not). A Sparkplug
    /// BIRTH of the series' edge node (on another topic) only teaches metric names.
    pub fn push_message(&mut self, msg: &Message) {
        if self.births.iter().any(|t| *t == *msg.topic) {
            self.aliases.learn(&msg.payload);
        }
        if *msg.topic != *self.def.topic {
            return;
        }
        let value = match (self.def.decoder, &self.schema) {
            (Some(Decoder::Protobuf), Some(schema)) => {
                schema.decode(&msg.payload).ok().and_then(|v| payload::numeric_at(&v, self.def.path.as_ref()))
            }
            (Some(decoder), _) => decode::decode_with(decoder, &msg.payload, Some(&self.aliases))
                .ok()
                .and_then(|v| payload::numeric_at(&v, self.def.path.as_ref())),
            (None, _) => payload::numeric_value(&msg.payload, self.def.path.as_ref()),
        };
        match value {
            Some(y) => self.push(unix_secs_f64(msg.received_at), y),
            None => self.not_numeric += 1,
        }
    }

    /// Add a value at `x` (unix secs). Non-finite values are counted, not kept; an `x` older than
    /// the newest point is moved up to it (the clock stepped back), so x never decreases.
    pub fn push(&mut self, x: f64, y: f64) {
        if !x.is_finite() || !y.is_finite() {
            self.not_numeric += 1;
            return;
        }
        let x = self.last().map_or(x, |[last_x, _]| x.max(last_x));
        if let Some(pending) = self.pending.take() {
            if is_jump(pending[1], y) {
                // The pending value stood alone: a spike.
                self.spikes += 1;
            } else {
                // Two values agree on a new level: keep both.
                self.keep(pending);
                self.keep([x.max(pending[0]), y]);
                return;
            }
        }
        match self.last() {
            Some([_, level]) if is_jump(level, y) => self.pending = Some([x, y]),
            _ => self.keep([x, y]),
        }
    }

    fn keep(&mut self, point: [f64; 2]) {
        if self.points.len() >= self.cap {
            self.points.pop_front();
        }
        self.points.push_back(point);
    }

    /// Forget every point and counter (the definition stays).
    pub fn clear(&mut self) {
        self.points.clear();
        self.pending = None;
        self.not_numeric = 0;
        self.spikes = 0;
    }
}

/// True if going from `from` to `to` is a jump too large to trust on one value alone.
fn is_jump(from: f64, to: f64) -> bool {
    (to - from).abs() > JUMP_FACTOR * from.abs().min(to.abs()).max(1.0)
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact values go in and must come out unchanged")]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::QoS;

    fn series(cap: usize) -> Series {
        Series::new(SeriesDef::new(ConnId::LOCAL, "t", None, [1, 2, 3]), cap)
    }

    fn msg(payload: &str, secs: u64) -> Message {
        Message::new("t", payload.to_owned(), QoS::AtMostOnce, false, UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn ys(s: &Series) -> Vec<f64> {
        s.points().iter().map(|p| p[1]).collect()
    }

    #[test]
    fn reads_numbers_units_and_booleans_and_counts_the_rest() {
        let mut s = series(100);
        for (i, p) in ["21.5", "22 °C", "true", "off", "  -3e2 ", "hello", "NaN", "inf", "1e999", "", "{\"a\":1}"].iter().enumerate() {
            s.push_message(&msg(p, i as u64));
        }
        assert_eq!(ys(&s), [21.5, 22.0, 1.0, 0.0, -300.0]);
        assert_eq!(s.not_numeric(), 6);
        assert_eq!(s.skipped(), 6);
        assert_eq!(s.points()[1][0], 1.0, "x is the receive time in unix seconds");
    }

    #[test]
    fn json_paths_with_dots_and_arrays() {
        let path = JsonPath::parse(r#"["a.b"].c[1]"#).expect("path");
        let mut s = Series::new(SeriesDef::new(ConnId::LOCAL, "t", Some(path), [0; 3]), 10);
        s.push_message(&msg(r#"{"a.b":{"c":[1, 2.5]}}"#, 1));
        s.push_message(&msg(r#"{"a.b":{"c":[1, "7 kW"]}}"#, 2));
        s.push_message(&msg(r#"{"a.b":{"c":[1]}}"#, 3));
        s.push_message(&msg("2.5", 4));
        assert_eq!(ys(&s), [2.5, 7.0]);
        assert_eq!(s.not_numeric(), 2);
        assert_eq!(s.def.label(), r#"t[["a.b"].c[1]]"#);
    }

    #[test]
    fn a_lone_spike_is_skipped_and_counted_but_a_new_level_is_kept() {
        let mut s = series(100);
        for (x, y) in [(1.0, 21.5), (2.0, 1e12), (3.0, 21.7), (4.0, -1e13), (5.0, 21.6)] {
            s.push(x, y);
        }
        assert_eq!(ys(&s), [21.5, 21.7, 21.6]);
        assert_eq!(s.spikes(), 2);
        // A real step: two values at the new level.
        s.push(6.0, 5e12);
        s.push(7.0, 5.1e12);
        assert_eq!(ys(&s)[3..], [5e12, 5.1e12]);
        assert_eq!(s.spikes(), 2);
        s.push(8.0, f64::NAN);
        s.push(f64::INFINITY, 1.0);
        assert_eq!(s.not_numeric(), 2);
    }

    #[test]
    fn bounded_and_time_ordered() {
        let mut s = series(3);
        for i in 0..10 {
            s.push(f64::from(i), f64::from(i));
        }
        assert_eq!(ys(&s), [7.0, 8.0, 9.0]);
        s.push(2.0, 10.0);
        assert_eq!(s.last(), Some([9.0, 10.0]), "an older time is moved up to the newest");
        s.set_cap(1);
        assert_eq!(s.points().len(), 2, "at least two points are kept");
    }

    #[test]
    fn defs_round_trip_through_serde() {
        let def = SeriesDef::new(ConnId(3), "a/b", Some(JsonPath::parse("x[0].y").expect("path")), [9, 8, 7]);
        let text = serde_json::to_string(&def).expect("serialize");
        assert!(text.contains(r#""path":"x[0].y""#), "{text}");
        let back: SeriesDef = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, def);
        let minimal: SeriesDef = serde_json::from_str(r#"{"topic":"t","color":[1,2,3]}"#).expect("defaults");
        assert_eq!((minimal.conn_id, minimal.visible, minimal.path), (ConnId::LOCAL, true, None));
    }
}
