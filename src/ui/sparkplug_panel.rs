//! The Sparkplug tab of the bottom dock: the current connection's Sparkplug B groups, edge nodes
//! and devices as a table (online green, offline grey, a stale NDEATH and sequence gaps in amber),
//! and the primary host applications' STATE. Clicking a node or device selects its topic in the
//! tree; "Send command…" opens the NCMD/DCMD editor ([`super::sparkplug_command`]).
//!
//! Owns: [`SparkplugPanel`] (which nodes are folded, the row list, rebuilt only when a node or
//! device is added, and the command editor). Reads [`crate::model::Conn::sparkplug`]; draws only
//! the rows in view.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::SystemTime;

use egui::{Color32, RichText};

use super::inside_table::{cell, header, row_height};
use super::sparkplug_command::CommandWindow;
use crate::model::decode::sparkplug::NAMESPACE;
use crate::model::decode::sparkplug::hierarchy::{Device, EdgeNode, Hierarchy, MAX_DEVICES, MAX_HOSTS, MAX_NODES, Presence};
use crate::model::{Conn, ConnId, format};

/// Green, for an online node or device (as the connection tabs show a connected broker).
pub const ONLINE_COLOR: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);

/// Columns: name and width.
const COLUMNS: [(&str, f32); 9] = [
    ("Group / edge node / device", 250.0),
    ("State", 150.0),
    ("bdSeq", 50.0),
    ("seq", 40.0),
    ("Gaps", 70.0),
    ("BIRTH", 100.0),
    ("Metrics", 60.0),
    ("Messages", 70.0),
    ("", 130.0),
];

/// Something the user asked for in the tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SparkplugAction {
    /// Select the first of these topics that the tree holds.
    Reveal(Vec<String>),
    /// Open the command editor for an edge node (`device: None`) or one of its devices.
    Command {
        /// Group id.
        group: String,
        /// Edge node id.
        node: String,
        /// Device id, for a DCMD.
        device: Option<String>,
    },
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Row {
    Group(String),
    Node(String, String),
    Device(String, String, String),
}

/// The Sparkplug tab.
#[derive(Debug, Default)]
pub struct SparkplugPanel {
    /// Edge nodes whose devices are hidden: (group, node).
    folded: HashSet<(String, String)>,
    /// The table's lines, as last built.
    rows: Vec<Row>,
    /// What `rows` was built from: connection, hierarchy generation, folded nodes.
    rows_for: Option<(ConnId, u64, usize)>,
    /// The NCMD/DCMD editor.
    pub command: CommandWindow,
}

impl SparkplugPanel {
    /// Draw `conn`'s hierarchy as of `now`; returns what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui, conn: &Conn, now: SystemTime) -> Option<SparkplugAction> {
        let h = &conn.sparkplug;
        summary_ui(ui, h, &conn.name);
        if h.is_empty() {
            ui.weak(
                "Edge nodes appear here as their messages arrive under spBv1.0/ (subscribe to spBv1.0/# on an external broker): \
                 online and offline from their BIRTH and DEATH certificates, with their sequence numbers checked.",
            );
            return None;
        }
        hosts_ui(ui, h, now);
        let key = (conn.id, h.generation(), self.folded.len());
        if self.rows_for != Some(key) {
            self.rows = rows(h, &self.folded);
            self.rows_for = Some(key);
        }
        ui.separator();
        let (mut out, mut fold) = (None, None);
        egui::ScrollArea::horizontal().id_salt("sparkplug-h").show(ui, |ui| {
            header(ui, &COLUMNS);
            egui::ScrollArea::vertical().id_salt("sparkplug-v").auto_shrink([false, false]).show_rows(
                ui,
                row_height(ui),
                self.rows.len(),
                |ui, range| {
                    for row in &self.rows[range] {
                        let action = ui.horizontal(|ui| self.row_ui(ui, h, row, now, &mut fold)).inner;
                        out = out.take().or(action);
                    }
                },
            );
        });
        if let Some((group, node)) = fold {
            self.toggle(&group, &node);
        }
        out
    }

    /// One line of the table; a click on a node's fold button lands in `fold`.
    fn row_ui(
        &self,
        ui: &mut egui::Ui,
        h: &Hierarchy,
        row: &Row,
        now: SystemTime,
        fold: &mut Option<(String, String)>,
    ) -> Option<SparkplugAction> {
        match row {
            Row::Group(group) => {
                let nodes = h.groups().find(|(g, _)| g == group).map_or(0, |(_, n)| n.len());
                let text = RichText::new(format!("{group} · {nodes} edge node{}", plural(nodes))).strong();
                column(ui, COLUMNS[0].1, |ui| ui.add(egui::Label::new(text).truncate()).on_hover_text(format!("Group {group}")));
                None
            }
            Row::Node(group, id) => {
                let node = h.node(group, id)?;
                let folded = (!node.devices.is_empty()).then(|| self.folded.contains(&(group.clone(), id.clone())));
                let (mut out, toggled) = name_ui(ui, 12.0, folded, id, node_topics(group, id), id);
                if toggled {
                    *fold = Some((group.clone(), id.clone()));
                }
                node_state_ui(ui, node, now);
                cell(ui, COLUMNS[2].1, node.bd_seq.map_or_else(|| "–".to_owned(), |b| b.to_string()), true);
                cell(ui, COLUMNS[3].1, node.seq.map_or_else(|| "–".to_owned(), |s| s.to_string()), true);
                gaps_ui(ui, node);
                times_ui(ui, node.birth_at, node.metrics, node.messages, now);
                out = out.or_else(|| command_button(ui, group, id, None));
                out
            }
            Row::Device(group, node_id, id) => {
                let device = h.node(group, node_id)?.devices.get(id)?;
                let (out, _) = name_ui(ui, 40.0, None, id, device_topics(group, node_id, id), &format!("{node_id}/{id}"));
                device_state_ui(ui, device, now);
                for width in [COLUMNS[2].1, COLUMNS[3].1, COLUMNS[4].1] {
                    ui.allocate_exact_size(egui::vec2(width, row_height(ui)), egui::Sense::hover());
                }
                times_ui(ui, device.birth_at, device.metrics, device.messages, now);
                out.or_else(|| command_button(ui, group, node_id, Some(id)))
            }
        }
    }

    /// Fold or unfold an edge node's devices.
    pub fn toggle(&mut self, group: &str, node: &str) {
        let key = (group.to_owned(), node.to_owned());
        if !self.folded.remove(&key) {
            self.folded.insert(key);
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "3 edge nodes (2 online) · 7 devices (5 online)", and what did not fit or decode.
fn summary_ui(ui: &mut egui::Ui, h: &Hierarchy, conn_name: &str) {
    let (mut nodes_online, mut devices_online) = (0, 0);
    for (_, nodes) in h.groups() {
        nodes_online += nodes.values().filter(|n| n.presence == Presence::Online).count();
        devices_online += nodes.values().map(EdgeNode::devices_online).sum::<usize>();
    }
    let (nodes, devices) = (h.node_count(), h.device_count());
    let mut text = format!(
        "Sparkplug B on {conn_name}: {nodes} edge node{} ({nodes_online} online) · {devices} device{} ({devices_online} online)",
        plural(nodes),
        plural(devices)
    );
    if h.untracked() > 0 {
        write!(
            text,
            " · {} messages not tracked (beyond {} edge nodes, {} devices, {} host applications)",
            format::count(h.untracked()),
            format::count(MAX_NODES as u64),
            format::count(MAX_DEVICES as u64),
            MAX_HOSTS
        )
        .ok();
    }
    if h.malformed() > 0 {
        write!(text, " · {} BIRTH/DEATH/STATE payloads did not decode", format::count(h.malformed())).ok();
    }
    ui.label(text);
}

/// One line per primary host application: its STATE.
fn hosts_ui(ui: &mut egui::Ui, h: &Hierarchy, now: SystemTime) {
    for (id, host) in h.hosts() {
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("Primary host {id}")).monospace());
            let (text, color, says) = match host.online {
                Some(true) => ("● online", ONLINE_COLOR, "online"),
                Some(false) => ("○ offline", Color32::GRAY, "offline"),
                None => ("? unreadable", super::RETAINED_COLOR, "neither {\"online\": …} nor ONLINE/OFFLINE"),
            };
            let when = host.timestamp.map_or_else(String::new, |t| format!(", timestamp {t}"));
            let hover = format!("spBv1.0/STATE/{id} says {says}{when}; received {}", format::ago(host.at, now));
            state_badge(ui, text, color, &hover);
            if host.stale > 0 {
                super::badge(ui, &format!("{} stale", host.stale), super::RETAINED_COLOR, "STATE messages older than this one, ignored");
            }
        });
    }
}

/// The flattened table: each group, its edge nodes, their devices unless folded.
fn rows(h: &Hierarchy, folded: &HashSet<(String, String)>) -> Vec<Row> {
    let mut rows = Vec::with_capacity(h.node_count() + h.device_count());
    for (group, nodes) in h.groups() {
        rows.push(Row::Group(group.to_owned()));
        for (id, node) in nodes {
            rows.push(Row::Node(group.to_owned(), id.clone()));
            if !folded.contains(&(group.to_owned(), id.clone())) {
                rows.extend(node.devices.keys().map(|d| Row::Device(group.to_owned(), id.clone(), d.clone())));
            }
        }
    }
    rows
}

/// The topics to select for an edge node, best first.
fn node_topics(group: &str, node: &str) -> Vec<String> {
    ["NDATA", "NBIRTH", "NDEATH", "NCMD"].iter().map(|k| format!("{NAMESPACE}/{group}/{k}/{node}")).collect()
}

/// The topics to select for a device, best first.
fn device_topics(group: &str, node: &str, device: &str) -> Vec<String> {
    ["DDATA", "DBIRTH", "DDEATH", "DCMD"].iter().map(|k| format!("{NAMESPACE}/{group}/{k}/{node}/{device}")).collect()
}

/// The name cell, indented, with a fold button for an edge node with devices (`folded`): a click
/// on the name selects the node's or device's topic in the tree. Returns that, and whether the
/// fold button was clicked.
fn name_ui(
    ui: &mut egui::Ui,
    indent: f32,
    folded: Option<bool>,
    shown: &str,
    topics: Vec<String>,
    name: &str,
) -> (Option<SparkplugAction>, bool) {
    column(ui, COLUMNS[0].1, |ui| {
        ui.spacing_mut().item_spacing.x = 0.0;
        let mut toggled = false;
        if let Some(folded) = folded {
            ui.add_space(indent - 12.0);
            let what = if folded { format!("Show {name}'s devices") } else { format!("Hide {name}'s devices") };
            let arrow = RichText::new(if folded { "▸" } else { "▾" }).monospace();
            let button = ui.add_sized([12.0, row_height(ui)], egui::Button::new(arrow).frame(false).small()).on_hover_text(&what);
            button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &what));
            toggled = button.clicked();
        } else {
            ui.add_space(indent);
        }
        let response = ui.add(egui::Button::selectable(false, RichText::new(shown).monospace()).truncate());
        let response = response.on_hover_text(format!("Select {name}'s topic in the tree ({})", topics[0]));
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Select {name}")));
        (response.clicked().then_some(SparkplugAction::Reveal(topics)), toggled)
    })
}

/// One column of a row: `width` points, filled from the left by `add`.
fn column<R>(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    let layout = egui::Layout::left_to_right(egui::Align::Center);
    ui.allocate_ui_with_layout(egui::vec2(width, row_height(ui)), layout, |ui| {
        ui.set_width(width);
        add(ui)
    })
    .inner
}

fn node_state_ui(ui: &mut egui::Ui, node: &EdgeNode, now: SystemTime) {
    column(ui, COLUMNS[1].1, |ui| {
        presence_badge(ui, node.presence, node.birth_at, node.death_at, now, "NBIRTH", "NDEATH");
        if let Some(stale) = node.stale_death {
            let hover = format!(
                "An NDEATH with bdSeq {} came {} while the current NBIRTH has bdSeq {}: it is from an earlier session \
                 (a will published late), so it took nothing offline.",
                stale.bd_seq,
                format::ago(stale.at, now),
                stale.birth_bd_seq
            );
            super::badge(ui, "stale NDEATH", super::RETAINED_COLOR, &hover);
        }
    });
}

fn device_state_ui(ui: &mut egui::Ui, device: &Device, now: SystemTime) {
    column(ui, COLUMNS[1].1, |ui| {
        presence_badge(
            ui,
            device.presence,
            device.birth_at,
            device.death_at,
            now,
            "DBIRTH",
            "DDEATH, its node's NDEATH, or its node's new NBIRTH (then it awaits its DBIRTH)",
        );
    });
}

fn presence_badge(
    ui: &mut egui::Ui,
    presence: Presence,
    birth_at: Option<SystemTime>,
    death_at: Option<SystemTime>,
    now: SystemTime,
    birth: &str,
    death: &str,
) {
    let ago = |t: Option<SystemTime>| t.map_or_else(|| "never seen".to_owned(), |t| format::ago(t, now));
    match presence {
        Presence::Online => state_badge(ui, "● online", ONLINE_COLOR, &format!("Online since its {birth} ({})", ago(birth_at))),
        Presence::Offline => state_badge(ui, "○ offline", Color32::GRAY, &format!("Offline: its {death} ({})", ago(death_at))),
        Presence::Unknown => state_badge(
            ui,
            "? no BIRTH",
            Color32::GRAY,
            &format!(
                "Messages came but no {birth} yet: the explorer joined after it, or lost its own connection since (a rebirth request, NCMD Node Control/Rebirth, asks for one)"
            ),
        ),
    };
}

/// A state badge: its glyph (● ○ ?) needs the monospace font.
fn state_badge(ui: &mut egui::Ui, text: &str, color: Color32, hover: &str) -> egui::Response {
    ui.label(RichText::new(text).monospace().strong().color(color)).on_hover_text(hover)
}

fn gaps_ui(ui: &mut egui::Ui, node: &EdgeNode) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(COLUMNS[4].1, row_height(ui)), egui::Sense::hover());
    if let Some(gap) = node.last_gap {
        let text = format!("{} gap{}", node.gaps, plural(usize::try_from(node.gaps).unwrap_or(usize::MAX)));
        let hover = format!(
            "Sequence numbers that did not follow the previous one: {} since the explorer started; the last expected {}, got {} at {}",
            node.gaps,
            gap.expected,
            gap.got,
            format::clock(gap.at)
        );
        ui.put(rect, egui::Label::new(RichText::new(text).color(super::RETAINED_COLOR))).on_hover_text(hover);
    } else {
        ui.put(rect, egui::Label::new(RichText::new("0").weak())).on_hover_text("No sequence gap seen");
    }
}

fn times_ui(ui: &mut egui::Ui, birth_at: Option<SystemTime>, metrics: usize, messages: u64, now: SystemTime) {
    let birth = birth_at.map_or_else(|| "–".to_owned(), format::clock);
    let response = cell(ui, COLUMNS[5].1, birth, true);
    if let Some(t) = birth_at {
        response.on_hover_text(format::ago(t, now));
    }
    cell(ui, COLUMNS[6].1, metrics.to_string(), true);
    cell(ui, COLUMNS[7].1, format::count(messages), true);
}

fn command_button(ui: &mut egui::Ui, group: &str, node: &str, device: Option<&str>) -> Option<SparkplugAction> {
    let (kind, who) = match device {
        Some(d) => ("DCMD", format!("{node}/{d}")),
        None => ("NCMD", node.to_owned()),
    };
    let name = format!("Send a command to {who}");
    let response = ui.small_button("Send command…").on_hover_text(format!("{name} ({kind}: a metric list, QoS 0, not retained)"));
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
    response.clicked().then(|| SparkplugAction::Command {
        group: group.to_owned(),
        node: node.to_owned(),
        device: device.map(str::to_owned),
    })
}
