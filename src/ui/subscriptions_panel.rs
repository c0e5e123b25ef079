//! The Subscriptions tab of the bottom dock: every subscription the embedded broker holds (client,
//! filter, granted QoS, No Local, Retain As Published, Retain Handling, subscription id, shared
//! group), filtered and virtualised; and, for the topic selected in the tree, who would receive a
//! message published there and at which QoS (a shared group counts as one delivery).
//!
//! Also the subscriptions that never matched a topic seen since the window opened, and the topics
//! seen that no subscription matches ([`crate::model::coverage`]).
//!
//! Owns: [`SubscriptionsPanel`] (the filter, the last coverage computed). Rows come from the store's latest snapshots; the app
//! asks for new ones while this tab is shown.

use std::sync::Arc;

use egui::RichText;

use crate::model::TopicTree;
use crate::model::broker_view::{Receiver, Snapshot, SubscriptionRow, subscription_order};
use crate::model::coverage::{Coverage, coverage};
use crate::ui::inside_table::{self, cell, header, row_height};
use crate::ui::qos_color;

/// Columns: name and width.
const COLUMNS: [(&str, f32); 9] = [
    ("Client id", 170.0),
    ("Filter", 240.0),
    ("QoS", 40.0),
    ("No Local", 70.0),
    ("Retain As Published", 130.0),
    ("Retain Handling", 150.0),
    ("Sub id", 60.0),
    ("Shared group", 110.0),
    ("Client", 60.0),
];

/// Most entries listed in each coverage list (the count says how many there are).
const COVERAGE_LISTED: usize = 200;

/// The Subscriptions tab.
#[derive(Debug, Default)]
pub struct SubscriptionsPanel {
    /// Shows only subscriptions whose client id or filter contains this.
    pub filter: String,
    /// The last coverage computed, with the snapshot time and tree size it was computed for, and
    /// its topics without subscriber shared with the tree's badge.
    coverage: Option<(std::time::SystemTime, usize, Coverage, Unheard)>,
}

/// Topics without subscriber, sorted, shared with the tree panel.
type Unheard = Arc<Vec<Arc<str>>>;

impl SubscriptionsPanel {
    /// Draw the list from `snap`, and who receives `topic` (the tree's selection) from `receivers`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snap: Option<&Snapshot<SubscriptionRow>>,
        topic: Option<&str>,
        receivers: Option<&(String, Vec<Receiver>)>,
        tree: Option<&TopicTree>,
    ) {
        let Some(snap) = snap else {
            ui.weak("Asking the embedded broker for its subscriptions…");
            return;
        };
        receivers_ui(ui, topic, receivers);
        if let Some(tree) = tree {
            self.coverage_ui(ui, snap, tree);
        }
        ui.separator();
        let order = subscription_order(&snap.rows, &self.filter);
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Filter subscriptions");
            ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(160.0).hint_text("client id or filter"))
                .labelled_by(label.id);
            inside_table::freshness(ui, snap, order.len(), "subscriptions");
        });
        egui::ScrollArea::horizontal().id_salt("subs-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("subs-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height(ui),
                order.len(),
                |ui, range| {
                    for &i in &order[range] {
                        row_ui(ui, &snap.rows[i]);
                    }
                },
            );
        });
    }
}

impl SubscriptionsPanel {
    /// The topics seen that no subscription matched at the last snapshot (sorted), for the tree's badge.
    #[must_use]
    pub fn unheard(&self) -> Option<Unheard> {
        self.coverage.as_ref().map(|c| Arc::clone(&c.3))
    }

    /// Subscriptions that matched no topic seen since the window opened, and topics seen that no
    /// subscription matches now; computed once per snapshot (or when the tree gains topics).
    fn coverage_ui(&mut self, ui: &mut egui::Ui, snap: &Snapshot<SubscriptionRow>, tree: &TopicTree) {
        let key = (snap.taken_at, tree.topic_count());
        if self.coverage.as_ref().is_none_or(|(at, n, _, _)| (*at, *n) != key) {
            let c = coverage(&snap.rows, tree.topics().map(|(topic, _)| topic));
            let unheard = Arc::new(c.unheard.clone());
            self.coverage = Some((key.0, key.1, c, unheard));
        }
        let Some((_, _, c, _)) = &self.coverage else { return };
        let title = format!(
            "{} subscriptions never matched · {} topics with no subscriber (of {} seen since the window opened)",
            c.unmatched.len(),
            c.unheard.len(),
            c.topics
        );
        egui::CollapsingHeader::new(title).id_salt("subs-coverage").show(ui, |ui| {
            ui.weak(
                "Never matched: no topic published since the window opened matches the filter (a typo, a device that never \
                 speaks). No subscriber: no subscription now matches the topic, so nobody got its messages.",
            );
            egui::ScrollArea::vertical().id_salt("subs-coverage-v").max_height(140.0).show(ui, |ui| {
                for &i in c.unmatched.iter().take(COVERAGE_LISTED) {
                    if let Some(r) = snap.rows.get(i) {
                        ui.label(RichText::new(format!("never matched: {} ({})", r.filter, r.client_id)).monospace());
                    }
                }
                for topic in c.unheard.iter().take(COVERAGE_LISTED) {
                    ui.label(RichText::new(format!("no subscriber: {topic}")).monospace());
                }
                let more = c.unmatched.len().saturating_sub(COVERAGE_LISTED) + c.unheard.len().saturating_sub(COVERAGE_LISTED);
                if more > 0 {
                    ui.weak(format!("and {more} more"));
                }
            });
        });
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn row_ui(ui: &mut egui::Ui, r: &SubscriptionRow) {
    ui.horizontal(|ui| {
        cell(ui, COLUMNS[0].1, r.client_id.to_string(), true);
        cell(ui, COLUMNS[1].1, r.filter.clone(), true);
        let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[2].1, row_height(ui)), egui::Sense::hover());
        ui.put(rect, egui::Label::new(RichText::new(r.qos.badge()).monospace().color(qos_color(r.qos)))).on_hover_text(r.qos.describe());
        cell(ui, COLUMNS[3].1, yes_no(r.no_local), false);
        cell(ui, COLUMNS[4].1, yes_no(r.retain_as_published), false);
        let rh = match r.retain_handling {
            0 => "0 send at subscribe",
            1 => "1 send if new",
            _ => "2 do not send",
        };
        cell(ui, COLUMNS[5].1, rh, false);
        cell(ui, COLUMNS[6].1, r.subscription_id.map_or_else(|| "–".to_owned(), |id| id.to_string()), false);
        cell(ui, COLUMNS[7].1, r.share_group.clone().unwrap_or_else(|| "–".to_owned()), true);
        cell(ui, COLUMNS[8].1, if r.online { "online" } else { "offline" }, false);
    });
}

/// "Who receives this": one line per session or shared group matching the selected topic.
fn receivers_ui(ui: &mut egui::Ui, topic: Option<&str>, receivers: Option<&(String, Vec<Receiver>)>) {
    let Some(topic) = topic else {
        ui.weak("Select a topic in the tree to see who receives a message published there.");
        return;
    };
    let rows = receivers.filter(|(t, _)| t == topic).map(|(_, rows)| rows);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Who receives {topic}:")).strong());
        match rows {
            None => {
                ui.weak("asking…");
            }
            Some(rows) if rows.is_empty() => {
                ui.label("nobody: no subscription matches it");
            }
            Some(rows) => {
                ui.weak(format!("{} deliveries", rows.len())).on_hover_text(
                    "Each at min(QoS published, QoS shown): the highest granted over the session's matching subscriptions. \
                     No Local is not applied (it depends on the publisher).",
                );
            }
        }
    });
    for r in rows.into_iter().flatten() {
        ui.horizontal(|ui| {
            ui.label(RichText::new(r.max_qos.badge()).monospace().color(qos_color(r.max_qos))).on_hover_text(r.max_qos.describe());
            let who = match &r.share_group {
                Some(group) => format!("shared group {group} ({} members, one delivery for the group)", r.members),
                None => r.client_id.to_string(),
            };
            ui.label(RichText::new(who).monospace());
            ui.weak(format!("via {}", r.filters.join(", ")));
        });
    }
}
