//! The charts the user built: each [`Chart`] holds several [`Series`], a time window and a unit.
//!
//! Owns: [`Charts`] with its topic → series index, so that feeding a message costs one hash lookup
//! (and nothing at all while no series exists), and [`ChartDef`], the persisted form. New series are
//! filled from the topic's kept history. Must not touch: egui, the clock.

use std::collections::HashMap;
use std::sync::Arc;

use super::decode::Schemas;
use super::message::Message;
use super::series::{DEFAULT_POINTS_PER_SERIES, Series, SeriesDef};
use super::{ConnId, TopicTree};

/// Live windows offered, seconds: 10 s … 24 h.
pub const WINDOWS_SECS: [u32; 9] = [10, 30, 60, 300, 900, 3600, 6 * 3600, 12 * 3600, 24 * 3600];

/// Window of a new chart, seconds.
pub const DEFAULT_WINDOW_SECS: u32 = 300;

/// Line colours handed out in turn (sRGB), readable on dark and light backgrounds.
pub const PALETTE: [[u8; 3]; 8] = [
    [0x3d, 0x8b, 0xfd],
    [0xe0, 0x7a, 0x2e],
    [0x3c, 0xb3, 0x71],
    [0xd6, 0x4f, 0x8c],
    [0xa3, 0x71, 0xf7],
    [0x1f, 0xb5, 0xb5],
    [0xc9, 0xa2, 0x27],
    [0x8a, 0x8a, 0x8a],
];

/// A chart as saved: what it plots, its window, unit and colours.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ChartDef {
    /// Tab title.
    pub title: String,
    /// Live window, seconds.
    pub window_secs: u32,
    /// Unit shown on the value axis and in tooltips ("" for none).
    pub unit: String,
    /// The series, in legend order.
    pub series: Vec<SeriesDef>,
}

impl Default for ChartDef {
    fn default() -> Self {
        Self { title: "Chart".to_owned(), window_secs: DEFAULT_WINDOW_SECS, unit: String::new(), series: Vec::new() }
    }
}

/// One chart with its live series.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Stable for the chart's life, for view state and widget ids.
    pub id: u64,
    /// Tab title.
    pub title: String,
    /// Live window, seconds.
    pub window_secs: u32,
    /// Unit label ("" for none).
    pub unit: String,
    /// The series, in legend order.
    pub series: Vec<Series>,
}

impl Chart {
    /// The saved form.
    #[must_use]
    pub fn def(&self) -> ChartDef {
        ChartDef {
            title: self.title.clone(),
            window_secs: self.window_secs,
            unit: self.unit.clone(),
            series: self.series.iter().map(|s| s.def.clone()).collect(),
        }
    }

    /// The first palette colour not used yet here (cycling when all are).
    #[must_use]
    pub fn next_color(&self) -> [u8; 3] {
        PALETTE
            .iter()
            .find(|c| self.series.iter().all(|s| s.def.color != **c))
            .copied()
            .unwrap_or(PALETTE[self.series.len() % PALETTE.len()])
    }
}

/// Where a series lives: chart index, series index.
type SeriesRef = (usize, usize);

/// Every chart, and the index that routes messages to their series.
#[derive(Debug)]
pub struct Charts {
    list: Vec<Chart>,
    /// Points kept per series.
    cap: usize,
    /// connection → topic → series fed by it; rebuilt whenever series are added or removed.
    index: HashMap<ConnId, HashMap<Arc<str>, Vec<SeriesRef>>>,
    next_id: u64,
    /// The compiled .proto files, for series of Protobuf fields (a copy of the window's; shared, cheap).
    schemas: Schemas,
}

impl Default for Charts {
    fn default() -> Self {
        Self { list: Vec::new(), cap: DEFAULT_POINTS_PER_SERIES, index: HashMap::new(), next_id: 1, schemas: Schemas::default() }
    }
}

impl Charts {
    /// The charts, in tab order.
    #[must_use]
    pub fn charts(&self) -> &[Chart] {
        &self.list
    }

    /// The charts, mutable for view changes (title, window, unit, colour, visibility). To add or
    /// remove series use [`Self::add_series`] and [`Self::remove_series`], which keep the index.
    pub fn charts_mut(&mut self) -> &mut [Chart] {
        &mut self.list
    }

    /// True if there is no chart.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Points kept per series.
    #[must_use]
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Keep at most `cap` points per series, trimming at once.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(2);
        for series in self.list.iter_mut().flat_map(|c| c.series.iter_mut()) {
            series.set_cap(self.cap);
        }
    }

    /// Adopt the window's compiled .proto files: series of Protobuf fields read through them from now on.
    pub fn set_schemas(&mut self, schemas: &Schemas) {
        self.schemas = schemas.clone();
        for series in self.list.iter_mut().flat_map(|c| c.series.iter_mut()) {
            series.set_schema(schemas);
        }
    }

    /// Append an empty chart; returns its index.
    pub fn add_chart(&mut self, def: &ChartDef) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let series = def
            .series
            .iter()
            .map(|d| {
                let mut series = Series::new(d.clone(), self.cap);
                series.set_schema(&self.schemas);
                series
            })
            .collect();
        self.list.push(Chart { id, title: def.title.clone(), window_secs: def.window_secs, unit: def.unit.clone(), series });
        self.rebuild_index();
        self.list.len() - 1
    }

    /// Remove a chart and its series.
    pub fn remove_chart(&mut self, chart: usize) {
        if chart < self.list.len() {
            self.list.remove(chart);
            self.rebuild_index();
        }
    }

    /// Add a series to chart `chart` (a new chart if `None` or out of range), filled from `tree`'s
    /// kept history of its topic. A series already on that chart is not added twice.
    /// Returns (chart index, series index).
    pub fn add_series(&mut self, chart: Option<usize>, def: SeriesDef, tree: Option<&TopicTree>) -> SeriesRef {
        let chart = chart.filter(|&c| c < self.list.len()).unwrap_or_else(|| {
            let title = format!("Chart {}", self.next_id);
            self.add_chart(&ChartDef { title, ..ChartDef::default() })
        });
        let target = &mut self.list[chart];
        if let Some(existing) = target.series.iter().position(|s| s.def.same_source(&def)) {
            return (chart, existing);
        }
        let mut series = Series::new(def, self.cap);
        series.set_schema(&self.schemas);
        if let Some(tree) = tree {
            // Sparkplug names from the latest BIRTHs, before the history that uses their aliases.
            let births: Vec<String> = series.def.birth_topics().into_iter().filter(|b| *b != series.def.topic).collect();
            for birth in births {
                if let Some(msg) = tree.find(&birth).and_then(|id| tree.node(id).latest()) {
                    series.push_message(msg);
                }
            }
        }
        if let Some(node) = tree.and_then(|t| t.find(&series.def.topic).map(|id| t.node(id))) {
            let kept: Vec<&Message> = node.messages().collect();
            for msg in kept.into_iter().rev() {
                series.push_message(msg);
            }
        }
        target.series.push(series);
        let index = target.series.len() - 1;
        self.rebuild_index();
        (chart, index)
    }

    /// Remove one series.
    pub fn remove_series(&mut self, chart: usize, series: usize) {
        if let Some(c) = self.list.get_mut(chart)
            && series < c.series.len()
        {
            c.series.remove(series);
            self.rebuild_index();
        }
    }

    /// Feed a newly received message to the series of its topic. One branch when there is no
    /// series; otherwise one hash lookup, plus the parse for each series of that topic.
    #[inline]
    pub fn offer(&mut self, conn_id: ConnId, msg: &Message) {
        if self.index.is_empty() {
            return;
        }
        let Some(refs) = self.index.get(&conn_id).and_then(|topics| topics.get(&*msg.topic)) else { return };
        for &(c, s) in refs {
            if let Some(series) = self.list.get_mut(c).and_then(|chart| chart.series.get_mut(s)) {
                series.push_message(msg);
            }
        }
    }

    /// The saved form of every chart.
    #[must_use]
    pub fn defs(&self) -> Vec<ChartDef> {
        self.list.iter().map(Chart::def).collect()
    }

    /// Replace every chart by these (empty) ones; they fill as messages arrive.
    pub fn restore(&mut self, defs: &[ChartDef]) {
        self.list.clear();
        for def in defs {
            self.add_chart(def);
        }
        self.rebuild_index();
    }

    fn rebuild_index(&mut self) {
        self.index.clear();
        for (c, chart) in self.list.iter().enumerate() {
            for (s, series) in chart.series.iter().enumerate() {
                let topics = self.index.entry(series.def.conn_id).or_default();
                topics.entry(Arc::from(series.def.topic.as_str())).or_default().push((c, s));
                for birth in series.def.birth_topics().into_iter().filter(|b| *b != series.def.topic) {
                    topics.entry(Arc::from(birth.as_str())).or_default().push((c, s));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::QoS;
    use crate::model::payload::JsonPath;

    fn msg(topic: &str, payload: &str, secs: u64) -> Message {
        Message::new(topic, payload.to_owned(), QoS::AtMostOnce, false, UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn def(topic: &str, path: Option<&str>) -> SeriesDef {
        SeriesDef::new(ConnId::LOCAL, topic, path.map(|p| JsonPath::parse(p).expect("path")), [0; 3])
    }

    #[test]
    fn a_sparkplug_series_names_aliases_from_the_birth_in_history_and_live() {
        use crate::model::decode::{Decoder, sparkplug::tests as sp};
        let bin = |topic: &str, payload: Vec<u8>, secs: u64| {
            Message::new(topic, bytes::Bytes::from(payload), QoS::AtMostOnce, false, UNIX_EPOCH + Duration::from_secs(secs))
        };
        let mut tree = TopicTree::default();
        tree.insert(bin("spBv1.0/g/NBIRTH/e", sp::birth(), 1));
        tree.insert(bin("spBv1.0/g/NDATA/e", sp::data(1, 22.0), 2));
        let mut charts = Charts::default();
        let def = def("spBv1.0/g/NDATA/e", Some("metrics.Temperature.value")).with_decoder(Some(Decoder::Sparkplug));
        let (c, s) = charts.add_series(None, def, Some(&tree));
        charts.offer(ConnId::LOCAL, &bin("spBv1.0/g/NDATA/e", sp::data(2, 23.5), 3));
        // A rebirth is seen live too (it names the same alias), and is not itself a point.
        charts.offer(ConnId::LOCAL, &bin("spBv1.0/g/NBIRTH/e", sp::birth(), 4));
        charts.offer(ConnId::LOCAL, &bin("spBv1.0/g/NDATA/e", sp::data(3, 24.0), 5));
        let series = &charts.charts()[c].series[s];
        assert_eq!(series.points().iter().map(|p| p[1]).collect::<Vec<_>>(), [22.0, 23.5, 24.0]);
        assert_eq!(series.not_numeric(), 0);
        assert_eq!(series.def.label(), "spBv1.0/g/NDATA/e[metrics.Temperature.value]");
    }

    #[test]
    fn a_new_series_is_filled_from_history_then_follows_live_messages() {
        let mut tree = TopicTree::default();
        for (i, v) in ["1", "2", "oops", "3"].iter().enumerate() {
            tree.insert(msg("a/t", v, i as u64));
        }
        let mut charts = Charts::default();
        let (c, s) = charts.add_series(None, def("a/t", None), Some(&tree));
        assert_eq!(charts.charts()[c].series[s].points().iter().map(|p| p[1]).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
        assert_eq!(charts.charts()[c].series[s].not_numeric(), 1);
        charts.offer(ConnId::LOCAL, &msg("a/t", "4", 10));
        charts.offer(ConnId::LOCAL, &msg("a/other", "5", 11));
        charts.offer(ConnId(7), &msg("a/t", "6", 12));
        assert_eq!(charts.charts()[c].series[s].last(), Some([10.0, 4.0]));
        assert_eq!(charts.charts()[c].series[s].points().len(), 4);
    }

    #[test]
    fn several_series_per_chart_and_per_topic() {
        let mut charts = Charts::default();
        let (c, _) = charts.add_series(None, def("m", Some("a")), None);
        let (c2, s2) = charts.add_series(Some(c), def("m", Some("b")), None);
        assert_eq!((c2, s2), (c, 1));
        assert_eq!(charts.add_series(Some(c), def("m", Some("b")), None), (c, 1), "not twice");
        let (other, _) = charts.add_series(None, def("m", Some("a")), None);
        assert_eq!(other, 1, "a second chart");
        charts.offer(ConnId::LOCAL, &msg("m", r#"{"a":1,"b":2}"#, 1));
        let last = |c: usize, s: usize| charts.charts()[c].series[s].last().map(|p| p[1]);
        assert_eq!((last(0, 0), last(0, 1), last(1, 0)), (Some(1.0), Some(2.0), Some(1.0)));
        charts.remove_series(0, 0);
        charts.offer(ConnId::LOCAL, &msg("m", r#"{"a":5,"b":6}"#, 2));
        assert_eq!(charts.charts()[0].series.len(), 1);
        assert_eq!(charts.charts()[0].series[0].last().map(|p| p[1]), Some(6.0), "the index follows removals");
        charts.remove_chart(0);
        charts.offer(ConnId::LOCAL, &msg("m", r#"{"a":9}"#, 3));
        assert_eq!(charts.charts()[0].series[0].last().map(|p| p[1]), Some(9.0));
    }

    #[test]
    fn definitions_persist_and_restore() {
        let mut charts = Charts::default();
        let (c, _) = charts.add_series(None, def("x", Some(r#"["a.b"][2]"#)), None);
        charts.charts_mut()[c].unit = "°C".into();
        charts.charts_mut()[c].window_secs = 3600;
        let text = serde_json::to_string(&charts.defs()).expect("serialize");
        let defs: Vec<ChartDef> = serde_json::from_str(&text).expect("deserialize");
        let mut restored = Charts::default();
        restored.restore(&defs);
        assert_eq!(restored.defs(), charts.defs());
        restored.offer(ConnId::LOCAL, &msg("x", r#"{"a.b":[0,0,42]}"#, 1));
        assert_eq!(restored.charts()[0].series[0].last(), Some([1.0, 42.0]));
    }

    #[test]
    fn cap_applies_to_every_series() {
        let mut charts = Charts::default();
        charts.add_series(None, def("t", None), None);
        for i in 0..50 {
            charts.offer(ConnId::LOCAL, &msg("t", &i.to_string(), i));
        }
        charts.set_cap(10);
        assert_eq!(charts.charts()[0].series[0].points().len(), 10);
        assert_eq!(charts.charts()[0].series[0].cap(), 10);
    }
}
