//! The inspector: the selected topic's value (any size, any bytes), its metadata with provenance and
//! MQTT 5 properties, and its history, where any two messages can be compared.
//!
//! Owns: which message is shown (the latest unless one is picked from the history), the two picked
//! for a diff, and the payload viewer. Saving to a file goes to the runtime as a command.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use egui::{RichText, ScrollArea};

use super::payload_view::PayloadViewer;
use crate::model::decode::binding::Applied;
use crate::model::decode::{DecodeError, Decoder, Decoders, ProtoRef, sparkplug};
use crate::model::diff::{self, DiffLine, JsonChange};
use crate::model::payload::JsonPath;
use crate::model::{Message, NodeId, TopicTree, format, payload};

/// Identifies a kept message across frames (indices shift as messages arrive).
type MsgKey = (SystemTime, usize);

fn key(m: &Message) -> MsgKey {
    (m.received_at, m.payload.as_ptr() as usize)
}

/// Something the inspector asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectorAction {
    /// Save these bytes to a file the user picks.
    SavePayload {
        /// The payload.
        bytes: Bytes,
        /// File name to suggest.
        suggested_name: String,
    },
    /// Chart this topic (the whole payload, or a JSON field).
    Plot {
        /// Topic.
        topic: String,
        /// JSON field, if not the whole payload.
        path: Option<JsonPath>,
        /// The decoder the field is read through, for a decoded payload.
        decoder: Option<Decoder>,
        /// The message type, for a Protobuf payload.
        proto: Option<ProtoRef>,
    },
}

/// The inspector's view state.
#[derive(Debug, Default)]
pub struct MessagePanel {
    viewer: PayloadViewer,
    /// Node the state below belongs to.
    node: Option<NodeId>,
    /// A message picked in the history (else the latest is shown).
    picked: Option<MsgKey>,
    /// Messages ticked for comparison (at most two).
    compare: Vec<MsgKey>,
    /// The diff of the two ticked messages, computed once (a text diff of large payloads is not free).
    diff: Option<(DiffKey, Diff)>,
    /// The raw views were asked for although a decoder applies.
    raw: bool,
    /// The shown message decoded, computed once per message and decoder (only this message is decoded).
    decoded: Option<(MsgKey, Through, Result<Arc<serde_json::Value>, DecodeError>)>,
}

/// The decoder a value was read through, with the schemas' generation (a recompiled .proto decodes again).
type Through = (Applied, u64);

/// The two messages compared (older first) and the decoder they were compared through.
type DiffKey = (MsgKey, MsgKey, Option<Through>);

/// What two messages differ in.
#[derive(Debug)]
enum Diff {
    /// Both are JSON objects or arrays: changed leaves by path.
    Json(Vec<JsonChange>),
    /// Otherwise: lines.
    Text(diff::TextDiff),
}

impl Diff {
    /// Compare two messages, through `decoder` when one applies (the same structural diff as JSON).
    fn of(old: &Message, new: &Message, decoder: Option<(&Decoders, &Applied, &sparkplug::Aliases)>) -> Self {
        let json = |m: &Message| {
            match decoder {
                Some((decoders, applied, aliases)) => decoders.decode(applied, &m.payload, Some(aliases)).ok(),
                None => serde_json::from_slice::<serde_json::Value>(&m.payload).ok(),
            }
            .filter(|v| v.is_object() || v.is_array())
        };
        match (json(old), json(new)) {
            (Some(a), Some(b)) => Self::Json(diff::json_diff(&a, &b)),
            _ => Self::Text(diff::text_diff(&String::from_utf8_lossy(&old.payload), &String::from_utf8_lossy(&new.payload))),
        }
    }
}

impl MessagePanel {
    /// The view new topics open in.
    pub fn set_default_view(&mut self, view: super::payload_view::PayloadView) {
        self.viewer.view = view;
    }

    /// Draw the inspector for `selected` in `tree`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        tree: &TopicTree,
        selected: Option<NodeId>,
        now: SystemTime,
        decoders: &Decoders,
    ) -> Option<InspectorAction> {
        let Some(id) = selected else {
            ui.weak("Select a topic in the tree to see its value and history.");
            return None;
        };
        if self.node != Some(id) {
            *self = Self { viewer: std::mem::take(&mut self.viewer), node: Some(id), ..Self::default() };
        }
        // Every scroll position inside belongs to this topic: a newly selected one opens at the top.
        ui.push_id(("inspector", id), |ui| self.node_ui(ui, tree, id, now, decoders)).inner
    }

    fn node_ui(
        &mut self,
        ui: &mut egui::Ui,
        tree: &TopicTree,
        id: NodeId,
        now: SystemTime,
        decoders: &Decoders,
    ) -> Option<InspectorAction> {
        let node = tree.node(id);
        let path = tree.path(id);
        ui.horizontal(|ui| {
            ui.heading(RichText::new(&path).monospace());
            if ui.small_button("Copy topic").clicked() {
                ui.ctx().copy_text(path.clone());
            }
        });
        let messages: Vec<&Message> = node.messages().collect();
        let Some(latest) = messages.first() else {
            ui.weak(format!(
                "No message on this exact topic; {} topics and {} messages below.",
                format::count(node.topics_below().into()),
                format::count(node.msgs_below())
            ));
            return None;
        };
        let shown = self.picked.and_then(|k| messages.iter().find(|m| key(m) == k)).unwrap_or(latest);
        let mut action = None;
        if self.picked.is_some() {
            ui.horizontal(|ui| {
                ui.colored_label(super::RETAINED_COLOR, format!("Showing the message of {}", format::clock(shown.received_at)));
                if ui.small_button("Back to latest").clicked() {
                    self.picked = None;
                }
            });
        }
        meta_ui(ui, shown, node.is_retained(), now);
        ui.horizontal(|ui| {
            if ui.small_button("Copy value").clicked() {
                ui.ctx().copy_text(String::from_utf8_lossy(&shown.payload).into_owned());
            }
            if ui.small_button("Save to file…").on_hover_text("Save the payload's bytes to a file").clicked() {
                let name = path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("payload");
                action = Some(InspectorAction::SavePayload { bytes: shown.payload.clone(), suggested_name: format!("{name}.bin") });
            }
            if payload::numeric_value(&shown.payload, None).is_some()
                && ui.small_button("Plot").on_hover_text("Chart this topic's values over time").clicked()
            {
                action = Some(InspectorAction::Plot { topic: path.clone(), path: None, decoder: None, proto: None });
            }
        });
        let applied = decoders.applied_to(&path, shown.meta.as_ref().and_then(|m| m.content_type.as_deref()));
        let decoded_tree = applied.as_ref().filter(|_| !self.raw && !shown.payload.is_empty());
        if let Some(applied) = decoded_tree
            && let Some(field) = self.decoded_ui(ui, shown, decoders, applied, || aliases_for(tree, &path, applied.decoder))
        {
            let (decoder, proto) = (Some(applied.decoder), applied.proto.clone());
            action = Some(InspectorAction::Plot { topic: path.clone(), path: Some(field), decoder, proto });
        }
        let decode_failed = matches!(&self.decoded, Some((k, _, Err(_))) if *k == key(shown));
        if decoded_tree.is_none() || decode_failed {
            if let Some(applied) = applied.as_ref().filter(|_| self.raw) {
                ui.horizontal(|ui| {
                    ui.weak(format!("Raw bytes ({} applies here).", applied.decoder.label()));
                    if ui.small_button(format!("Decode as {}", applied.decoder.label())).clicked() {
                        self.raw = false;
                    }
                });
            }
            if let Some(field) = self.viewer.ui(ui, &shown.payload) {
                action = Some(InspectorAction::Plot { topic: path.clone(), path: Some(field), decoder: None, proto: None });
            }
        }
        ui.separator();
        let diff_decoder = applied.filter(|_| !self.raw);
        let through = diff_decoder.map(|a| {
            let d = a.decoder;
            (decoders, a, move || aliases_for(tree, &path, d))
        });
        self.history_ui(ui, node.msg_count(), node.thinned(), &messages, through);
        action
    }

    /// The note saying which decoder applies and why, the switch to the raw views, and the decoded
    /// tree (or the decode error with its byte offset). Returns the field whose Plot was clicked.
    fn decoded_ui(
        &mut self,
        ui: &mut egui::Ui,
        shown: &Message,
        decoders: &Decoders,
        applied: &Applied,
        aliases: impl FnOnce() -> sparkplug::Aliases,
    ) -> Option<JsonPath> {
        let k = key(shown);
        let through = (applied.clone(), decoders.schemas.generation());
        if self.decoded.as_ref().is_none_or(|(dk, d, _)| *dk != k || *d != through) {
            let result = decoders.decode(applied, &shown.payload, Some(&aliases())).map(Arc::new);
            self.decoded = Some((k, through, result));
        }
        ui.horizontal_wrapped(|ui| {
            let why = match applied.filter.strip_prefix("content type ") {
                Some(ct) if applied.auto => format!("declared content type {ct}"),
                _ if applied.auto => format!("detected under {}", applied.filter),
                _ => format!("binding {}", applied.filter),
            };
            ui.label(RichText::new(format!("decoded as {} ({why})", applied.decoder.label())).color(super::RETAINED_COLOR));
            if ui.small_button("Show raw").on_hover_text("Show the payload's bytes in the raw views").clicked() {
                self.raw = true;
            }
        });
        match &self.decoded {
            Some((_, _, Ok(value))) => super::payload_view::value_tree(ui, &Arc::clone(value)),
            Some((_, _, Err(err))) => {
                ui.colored_label(super::ALERT_COLOR, format!("Cannot decode as {}: {err}", applied.decoder.label()));
                None
            }
            None => None,
        }
    }

    fn history_ui(
        &mut self,
        ui: &mut egui::Ui,
        received: u64,
        thinned: u64,
        messages: &[&Message],
        decoder: Option<(&Decoders, Applied, impl FnOnce() -> sparkplug::Aliases)>,
    ) {
        self.compare.retain(|k| messages.iter().any(|m| key(m) == *k));
        ui.horizontal(|ui| {
            ui.strong(format!("History ({} kept of {} received)", messages.len(), format::count(received)));
            if thinned > 0 {
                ui.colored_label(super::RETAINED_COLOR, format!("{} thinned", format::count(thinned))).on_hover_text(
                    "Messages counted but not kept: the window fell behind (or was paused) and kept only the latest of them. \
                     The latest value and the count are exact.",
                );
            }
            ui.weak("tick two to compare");
        });
        if let [a, b] = self.compare[..]
            && let (Some(old), Some(new)) = (messages.iter().find(|m| key(m) == a), messages.iter().find(|m| key(m) == b))
        {
            let (old, new) = if old.received_at <= new.received_at { (old, new) } else { (new, old) };
            let pair = (key(old), key(new), decoder.as_ref().map(|(d, a, _)| (a.clone(), d.schemas.generation())));
            if self.diff.as_ref().is_none_or(|(k, _)| *k != pair) {
                let decoder = decoder.map(|(d, a, aliases)| (d, a, aliases()));
                self.diff = Some((pair, Diff::of(old, new, decoder.as_ref().map(|(d, a, al)| (*d, a, al)))));
            }
            if let Some((_, d)) = &self.diff {
                diff_ui(ui, old, new, d);
            }
        }
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
        ScrollArea::vertical().id_salt("history").auto_shrink(false).show_rows(ui, row_height, messages.len(), |ui, range| {
            for (i, msg) in messages[range.clone()].iter().enumerate() {
                let k = key(msg);
                ui.horizontal(|ui| {
                    let mut ticked = self.compare.contains(&k);
                    let label = format!("Compare message {}", range.start + i + 1);
                    let response = ui.checkbox(&mut ticked, "").on_hover_text(&label);
                    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::CheckBox, true, &label));
                    if response.changed() {
                        if ticked {
                            self.compare.push(k);
                            if self.compare.len() > 2 {
                                self.compare.remove(0);
                            }
                        } else {
                            self.compare.retain(|c| *c != k);
                        }
                    }
                    let picked = self.picked == Some(k) || (self.picked.is_none() && range.start + i == 0);
                    if ui
                        .selectable_label(picked, RichText::new(format::clock(msg.received_at)).monospace())
                        .on_hover_text("Show this message")
                        .clicked()
                    {
                        self.picked = if range.start + i == 0 { None } else { Some(k) };
                    }
                    super::qos_badge(ui, msg.qos);
                    if msg.retain {
                        super::retained_badge(ui);
                    }
                    ui.weak(format::bytes(msg.payload.len() as u64));
                    ui.monospace(payload::preview(&msg.payload, 80));
                });
            }
        });
    }
}

/// The Sparkplug aliases for `path` from the BIRTHs kept in `tree` (none for other decoders);
/// called only when a message is (re)decoded, never every frame.
fn aliases_for(tree: &TopicTree, path: &str, decoder: Decoder) -> sparkplug::Aliases {
    if decoder == Decoder::Sparkplug { sparkplug::aliases_in(tree, path) } else { sparkplug::Aliases::default() }
}

/// QoS, flags, size, time, provenance and MQTT 5 properties.
fn meta_ui(ui: &mut egui::Ui, msg: &Message, retained_stored: bool, now: SystemTime) {
    ui.horizontal_wrapped(|ui| {
        super::qos_badge(ui, msg.qos);
        if msg.retain {
            super::retained_badge(ui);
        } else if retained_stored {
            ui.weak("(a retained value is stored)").on_hover_text("The broker keeps an earlier retained message for new subscribers");
        }
        if msg.dup {
            super::badge(ui, "D", super::ALERT_COLOR, "DUP: a retransmission");
        }
        ui.label(format::bytes(msg.payload.len() as u64));
        ui.label(format::date_time(msg.received_at)).on_hover_text(format::ago(msg.received_at, now));
        if let Some(meta) = &msg.meta
            && let Some(publisher) = &meta.publisher
        {
            let published = meta.published_qos.map_or(String::new(), |q| format!(", published with {}", q.badge()));
            ui.label(format!("from client {publisher}{published}"));
        }
    });
    let Some(meta) = &msg.meta else { return };
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(ct) = &meta.content_type {
        rows.push(("Content type", ct.clone()));
    }
    if let Some(pf) = meta.payload_format {
        rows.push(("Payload format", if pf == 1 { "UTF-8 (1)".into() } else { format!("bytes ({pf})") }));
    }
    if let Some(secs) = meta.message_expiry_secs {
        rows.push(("Message expiry", format::duration_secs(secs.into())));
    }
    if let Some(rt) = &meta.response_topic {
        rows.push(("Response topic", rt.clone()));
    }
    if let Some(cd) = &meta.correlation_data {
        rows.push(("Correlation data", payload::hex_dump(cd, 0, 64).lines().next().unwrap_or_default().to_owned()));
    }
    for (k, v) in &meta.user_properties {
        rows.push((k.as_str(), v.clone()));
    }
    if rows.is_empty() {
        return;
    }
    egui::Grid::new("meta-grid").num_columns(2).striped(true).show(ui, |ui| {
        for (k, v) in rows {
            ui.label(RichText::new(k).strong());
            ui.label(RichText::new(v).monospace());
            ui.end_row();
        }
    });
}

/// The difference between two messages: structural for JSON, by line for text.
fn diff_ui(ui: &mut egui::Ui, old: &Message, new: &Message, d: &Diff) {
    let add = egui::Color32::from_rgb(0x3c, 0xb3, 0x71);
    let del = super::ALERT_COLOR;
    ui.label(RichText::new(format!("Changes from {} to {}", format::clock(old.received_at), format::clock(new.received_at))).strong());
    ScrollArea::vertical().id_salt("diff").max_height(200.0).show(ui, |ui| match d {
        Diff::Json(changes) => {
            if changes.is_empty() {
                ui.weak("No difference.");
            }
            for change in changes {
                match change {
                    JsonChange::Added { path, value } => ui.colored_label(add, RichText::new(format!("+ {path}: {value}")).monospace()),
                    JsonChange::Removed { path, value } => ui.colored_label(del, RichText::new(format!("- {path}: {value}")).monospace()),
                    JsonChange::Changed { path, old, new } => {
                        ui.label(RichText::new(format!("~ {path}: {old} → {new}")).monospace().color(super::RETAINED_COLOR))
                    }
                };
            }
        }
        Diff::Text(d) => {
            for line in &d.lines {
                match line {
                    DiffLine::Same(l) => ui.monospace(format!("  {l}")),
                    DiffLine::Added(l) => ui.colored_label(add, RichText::new(format!("+ {l}")).monospace()),
                    DiffLine::Removed(l) => ui.colored_label(del, RichText::new(format!("- {l}")).monospace()),
                };
            }
            if d.truncated {
                ui.weak("(compared a bounded part of these large payloads)");
            }
        }
    });
}
