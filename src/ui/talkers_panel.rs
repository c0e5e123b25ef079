//! Top talkers (a tab of the bottom dock) and the selected node's rate sparkline.
//!
//! Owns: [`TalkersPanel`] (rank order and the list computed about once a second) and
//! [`RateSparkline`] (one sample a second of the selected node's rates). Selecting a talker is
//! returned to the app, which reveals it in the tree.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use egui::{RichText, Sense};

use crate::model::talkers::{RankBy, Talker, top_talkers};
use crate::model::{ConnId, NodeId, TopicTree, format};

/// Rows per list.
const TOP: usize = 20;
/// How often the lists are recomputed (a pass over every node).
const REFRESH: Duration = Duration::from_secs(1);
/// Seconds of history in the sparkline.
const SPARK_SECS: usize = 60;

/// The lists as last computed.
#[derive(Debug, Default)]
struct Ranking {
    conn: Option<ConnId>,
    at: Option<SystemTime>,
    by: RankBy,
    topics: Vec<Talker>,
    subtrees: Vec<Talker>,
}

/// The Top talkers tab.
#[derive(Debug, Default)]
pub struct TalkersPanel {
    /// Rank by messages or bytes per second.
    pub by: RankBy,
    ranking: Ranking,
}

impl TalkersPanel {
    /// Draw the lists for `tree` (of `conn_id`) as of `now`; returns the node the user clicked.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, tree: &TopicTree, now: SystemTime) -> Option<NodeId> {
        let r = &mut self.ranking;
        let stale =
            r.conn != Some(conn_id) || r.by != self.by || r.at.is_none_or(|at| now.duration_since(at).unwrap_or_default() >= REFRESH);
        if stale {
            let (topics, subtrees) = top_talkers(tree, now, TOP, self.by);
            *r = Ranking { conn: Some(conn_id), at: Some(now), by: self.by, topics, subtrees };
        }
        ui.ctx().request_repaint_after(REFRESH);
        ui.horizontal(|ui| {
            ui.label("Rank by");
            ui.selectable_value(&mut self.by, RankBy::Messages, "msgs/s");
            ui.selectable_value(&mut self.by, RankBy::Bytes, "bytes/s");
            ui.weak("· live, every second; click a row to select it in the tree");
        });
        ui.separator();
        let mut picked = None;
        ui.columns(2, |cols| {
            picked = list_ui(&mut cols[0], "Topics", &self.ranking.topics, tree).or(picked);
            picked = list_ui(&mut cols[1], "Subtrees", &self.ranking.subtrees, tree).or(picked);
        });
        picked
    }
}

/// One ranked list; returns the clicked node.
fn list_ui(ui: &mut egui::Ui, title: &str, talkers: &[Talker], tree: &TopicTree) -> Option<NodeId> {
    ui.strong(title);
    if talkers.is_empty() {
        ui.weak("Nothing is arriving.");
        return None;
    }
    let mut picked = None;
    egui::ScrollArea::vertical().id_salt(title).auto_shrink([false, true]).show(ui, |ui| {
        egui::Grid::new(title).num_columns(3).striped(true).show(ui, |ui| {
            for t in talkers {
                let path = tree.path(t.id);
                let shown = if path.is_empty() { "(empty)".to_owned() } else { path.clone() };
                if ui
                    .selectable_label(false, RichText::new(shown).monospace())
                    .on_hover_text(format!("Select {path} in the tree"))
                    .clicked()
                {
                    picked = Some(t.id);
                }
                ui.label(format::rate(t.msgs_per_sec));
                ui.label(format::byte_rate(t.bytes_per_sec));
                ui.end_row();
            }
        });
    });
    picked
}

/// One sample a second of a node's message and byte rates, drawn as a small line.
#[derive(Debug, Default)]
pub struct RateSparkline {
    node: Option<(ConnId, NodeId)>,
    /// (Unix second, msgs/s, bytes/s), oldest first.
    samples: VecDeque<(u64, f64, f64)>,
}

impl RateSparkline {
    /// Draw the selected node's rates with their last minute (samples start when it is selected).
    pub fn ui(&mut self, ui: &mut egui::Ui, conn_id: ConnId, tree: &TopicTree, selected: Option<NodeId>, now: SystemTime) {
        let Some(id) = selected else {
            ui.weak("Select a topic to see its rates.");
            return;
        };
        if self.node != Some((conn_id, id)) {
            self.node = Some((conn_id, id));
            self.samples.clear();
        }
        let node = tree.node(id);
        let (msgs, bytes) = (node.rate_per_sec(now), node.bytes_per_sec(now));
        let sec = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if self.samples.back().is_none_or(|s| s.0 < sec) {
            self.samples.push_back((sec, msgs, bytes));
            while self.samples.len() > SPARK_SECS {
                self.samples.pop_front();
            }
        }
        ui.horizontal(|ui| {
            let text = format!("{} · {}", format::rate(msgs), format::byte_rate(bytes));
            ui.label(RichText::new(text).monospace()).on_hover_text("Messages and payload bytes per second, here and below");
            let (rect, response) = ui.allocate_exact_size(egui::vec2(120.0, ui.text_style_height(&egui::TextStyle::Body)), Sense::hover());
            let peak = self.samples.iter().map(|s| s.1).fold(0.0_f64, f64::max);
            #[expect(clippy::cast_precision_loss, clippy::cast_possible_truncation, reason = "pixel positions")]
            let points: Vec<egui::Pos2> = self
                .samples
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let x = rect.left() + rect.width() * (i as f32 + (SPARK_SECS - self.samples.len()) as f32) / (SPARK_SECS - 1) as f32;
                    let y = if peak > 0.0 { rect.bottom() - rect.height() * (s.1 / peak) as f32 } else { rect.bottom() };
                    egui::pos2(x, y)
                })
                .collect();
            let stroke = egui::Stroke::new(1.5, super::qos_color(crate::model::QoS::AtLeastOnce));
            ui.painter().rect_stroke(rect, 2.0, ui.visuals().widgets.noninteractive.bg_stroke, egui::StrokeKind::Inside);
            if points.len() > 1 {
                ui.painter().line(points, stroke);
            }
            response.on_hover_text(format!("msgs/s over the last {} s (peak {})", self.samples.len(), format::rate(peak)));
        });
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}
