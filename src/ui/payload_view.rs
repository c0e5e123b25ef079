//! Shows one payload, whatever its size, without freezing: text and hex are virtualised (only the
//! lines on screen are laid out, hex lines are formatted on demand), JSON is parsed once per
//! message and shown as a collapsible tree or pretty text.
//!
//! Owns: the chosen view and the per-message cache (line index, parsed JSON, pretty text).

use std::sync::Arc;

use bytes::Bytes;
use egui::{RichText, ScrollArea};

use crate::model::payload::{self, JsonPath, PayloadKind};

/// Longest line laid out as one row; longer lines are wrapped at this many bytes.
const WRAP_BYTES: usize = 240;
/// Levels of a decoded value open at first: a Sparkplug payload's metrics and each metric's fields.
const DECODED_OPEN_DEPTH: usize = 2;
/// Most children of one JSON object or array listed in the tree.
const JSON_CHILDREN_SHOWN: usize = 500;

/// How to show the payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PayloadView {
    /// JSON tree for JSON, text for UTF-8, hex for binary.
    #[default]
    Auto,
    /// UTF-8 text (invalid bytes shown as �).
    Text,
    /// Pretty-printed JSON.
    Json,
    /// Hex dump.
    Hex,
    /// Base64.
    Base64,
}

impl PayloadView {
    /// Every view, for the switch.
    pub const ALL: [Self; 5] = [Self::Auto, Self::Text, Self::Json, Self::Hex, Self::Base64];

    /// Label of the switch.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "Auto",
            Self::Text => "Text",
            Self::Json => "JSON",
            Self::Hex => "Hex",
            Self::Base64 => "Base64",
        }
    }
}

/// What was derived from the shown payload; rebuilt when another payload is shown.
#[derive(Default)]
struct Cache {
    /// Identity of the payload: pointer and length of its shared bytes.
    key: (usize, usize),
    kind: Option<PayloadKind>,
    json: Option<Arc<serde_json::Value>>,
    /// The text of the current textual view and its row starts (byte offsets).
    text: Option<(PayloadView, Arc<str>, Vec<usize>)>,
}

/// The payload viewer.
#[derive(Default)]
pub struct PayloadViewer {
    /// Chosen view.
    pub view: PayloadView,
    cache: Cache,
}

impl std::fmt::Debug for PayloadViewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadViewer").field("view", &self.view).finish_non_exhaustive()
    }
}

/// Row starts for `text`, breaking at newlines and every [`WRAP_BYTES`] (on a char boundary).
fn row_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut line_start = 0;
    for (i, ch) in text.char_indices() {
        if ch == '\n' {
            line_start = i + 1;
            starts.push(line_start);
        } else if i - line_start >= WRAP_BYTES {
            line_start = i;
            starts.push(i);
        }
    }
    starts
}

impl PayloadViewer {
    fn refresh(&mut self, bytes: &Bytes) {
        let key = (bytes.as_ptr() as usize, bytes.len());
        if self.cache.key != key || self.cache.kind.is_none() {
            self.cache = Cache { key, kind: Some(payload::detect(bytes)), ..Cache::default() };
            if self.cache.kind == Some(PayloadKind::Json) {
                self.cache.json = serde_json::from_slice(bytes).ok().map(Arc::new);
            }
        }
    }

    /// The view actually used for `Auto`.
    fn effective(&self) -> PayloadView {
        match (self.view, self.cache.kind) {
            (PayloadView::Auto, Some(PayloadKind::Json)) if self.cache.json.is_some() => PayloadView::Json,
            (PayloadView::Auto, Some(PayloadKind::Binary)) => PayloadView::Hex,
            (PayloadView::Auto, _) => PayloadView::Text,
            (v, _) => v,
        }
    }

    /// Draw the view switch and the payload. Returns the JSON field whose Plot button was clicked.
    pub fn ui(&mut self, ui: &mut egui::Ui, bytes: &Bytes) -> Option<JsonPath> {
        self.refresh(bytes);
        ui.horizontal_wrapped(|ui| {
            for v in PayloadView::ALL {
                ui.selectable_value(&mut self.view, v, v.label());
            }
        });
        if bytes.is_empty() {
            ui.weak("(empty payload)");
            return None;
        }
        let mut plot = None;
        let view = self.effective();
        let height = (ui.available_height() * 0.55).max(120.0);
        match view {
            PayloadView::Json if self.view == PayloadView::Auto => {
                let json = self.cache.json.clone();
                ScrollArea::both().id_salt("json-tree").max_height(height).auto_shrink([false, true]).show(ui, |ui| {
                    if let Some(json) = json {
                        json_tree(ui, &json, &JsonPath::default(), 1, &mut plot);
                    }
                });
            }
            PayloadView::Hex => hex_rows(ui, bytes, height),
            _ => self.text_rows(ui, bytes, view, height),
        }
        plot
    }

    fn text_rows(&mut self, ui: &mut egui::Ui, bytes: &Bytes, view: PayloadView, height: f32) {
        if self.cache.text.as_ref().is_none_or(|(v, _, _)| *v != view) {
            let text: String = match view {
                PayloadView::Json => self.cache.json.as_ref().and_then(|j| serde_json::to_string_pretty(&**j).ok()).unwrap_or_else(|| {
                    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                        Err(e) => format!("(not valid JSON: line {}, column {}: {e})", e.line(), e.column()),
                        Ok(_) => "(not valid JSON)".to_owned(),
                    }
                }),
                PayloadView::Base64 => payload::to_base64(bytes),
                _ => String::from_utf8_lossy(bytes).into_owned(),
            };
            let starts = row_starts(&text);
            self.cache.text = Some((view, text.into(), starts));
        }
        let Some((_, text, starts)) = &self.cache.text else { return };
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        ScrollArea::both().id_salt("payload-text").max_height(height).auto_shrink([false, true]).show_rows(
            ui,
            row_height,
            starts.len(),
            |ui, range| {
                let last = range.end == starts.len();
                for i in range {
                    let start = starts[i];
                    let end = starts.get(i + 1).copied().unwrap_or(text.len());
                    let line = text[start..end].trim_end_matches('\n');
                    ui.add(egui::Label::new(RichText::new(line).monospace()).extend());
                }
                if last {
                    ui.add_space(scrollbar_room(ui));
                }
            },
        );
    }
}

/// A decoded value (Sparkplug, CBOR, MessagePack) in the same collapsible tree as JSON payloads.
/// Returns the field whose Plot button was clicked.
pub fn value_tree(ui: &mut egui::Ui, value: &serde_json::Value) -> Option<JsonPath> {
    let mut plot = None;
    let height = (ui.available_height() * 0.55).max(120.0);
    ScrollArea::both().id_salt("decoded-tree").max_height(height).auto_shrink([false, true]).show(ui, |ui| {
        json_tree(ui, value, &JsonPath::default(), DECODED_OPEN_DEPTH, &mut plot);
    });
    plot
}

/// A hex dump, only the rows on screen, with as many bytes a row (16, 8 or 4) as fit the width, so
/// that the ASCII column stays in view.
fn hex_rows(ui: &mut egui::Ui, bytes: &[u8], height: f32) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    let char_width = ui.fonts_mut(|f| f.glyph_width(&egui::TextStyle::Monospace.resolve(ui.style()), '0')).max(1.0);
    let fits = |n: usize| {
        #[expect(clippy::cast_precision_loss, reason = "a few dozen characters")]
        let width = payload::hex_line_chars(n) as f32 * char_width;
        width <= ui.available_width() - scrollbar_room(ui)
    };
    let per_line = [16, 8].into_iter().find(|&n| fits(n)).unwrap_or(4);
    let rows = bytes.len().div_ceil(per_line);
    ScrollArea::both().id_salt("payload-hex").max_height(height).auto_shrink([false, true]).show_rows(ui, row_height, rows, |ui, range| {
        let last = range.end == rows;
        for row in range {
            let line = payload::hex_dump_by(bytes, row * per_line, per_line, per_line);
            ui.add(egui::Label::new(RichText::new(line.trim_end()).monospace()).extend());
        }
        if last {
            ui.add_space(scrollbar_room(ui));
        }
    });
}

/// Room kept below the last row (and beside the widest), so that a floating scroll bar never
/// covers a one-line value.
fn scrollbar_room(ui: &egui::Ui) -> f32 {
    let s = &ui.spacing().scroll;
    s.bar_width + s.bar_inner_margin + s.bar_outer_margin
}

/// A collapsible JSON tree; every leaf can copy its path, numeric leaves can be plotted (`plot`).
/// Objects and arrays less than `open_depth` levels deep start open.
fn json_tree(ui: &mut egui::Ui, value: &serde_json::Value, path: &JsonPath, open_depth: usize, plot: &mut Option<JsonPath>) {
    use serde_json::Value;
    let children: Vec<(JsonPath, &Value, String)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (path.child(payload::PathSegment::Key(k.clone())), v, k.clone())).collect(),
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, v)| (path.child(payload::PathSegment::Index(i)), v, format!("[{i}]"))).collect()
        }
        leaf => {
            leaf_ui(ui, "value", leaf, path, plot);
            return;
        }
    };
    let total = children.len();
    for (child_path, child, name) in children.into_iter().take(JSON_CHILDREN_SHOWN) {
        match child {
            Value::Object(m) => {
                egui::CollapsingHeader::new(RichText::new(format!("{name} {{{}}}", m.len())).monospace())
                    .id_salt(child_path.to_string())
                    .default_open(path.0.len() < open_depth)
                    .show(ui, |ui| json_tree(ui, child, &child_path, open_depth, plot));
            }
            Value::Array(a) => {
                egui::CollapsingHeader::new(RichText::new(format!("{name} [{}]", a.len())).monospace())
                    .id_salt(child_path.to_string())
                    .default_open(path.0.len() < open_depth && a.len() <= 20)
                    .show(ui, |ui| json_tree(ui, child, &child_path, open_depth, plot));
            }
            leaf => leaf_ui(ui, &name, leaf, &child_path, plot),
        }
    }
    if total > JSON_CHILDREN_SHOWN {
        ui.weak(format!("… {} more (switch to the JSON or Text view to see all)", total - JSON_CHILDREN_SHOWN));
    }
}

fn leaf_ui(ui: &mut egui::Ui, name: &str, value: &serde_json::Value, path: &JsonPath, plot: &mut Option<JsonPath>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{name}:")).monospace().strong());
        let text = value.to_string();
        let color = match value {
            serde_json::Value::Number(_) => egui::Color32::from_rgb(0x3d, 0x8b, 0xfd),
            serde_json::Value::Bool(_) => super::RETAINED_COLOR,
            serde_json::Value::Null => egui::Color32::GRAY,
            _ => ui.visuals().text_color(),
        };
        ui.label(RichText::new(payload::preview(text.as_bytes(), 200)).monospace().color(color));
        if ui.small_button("Copy path").on_hover_text(format!("Copy {path}")).clicked() {
            ui.ctx().copy_text(path.to_string());
        }
        let numeric = match value {
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => true,
            serde_json::Value::String(s) => payload::numeric_value(s.as_bytes(), None).is_some(),
            _ => false,
        };
        if numeric {
            let response = ui.small_button("Plot").on_hover_text(format!("Chart {path} over time"));
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Plot {path}")));
            if response.clicked() {
                *plot = Some(path.clone());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_break_at_newlines_and_wrap_long_lines() {
        assert_eq!(row_starts("a\nbc\n"), [0, 2, 5]);
        let long = "x".repeat(WRAP_BYTES * 2 + 10);
        assert_eq!(row_starts(&long).len(), 3);
        let multibyte = "é".repeat(WRAP_BYTES);
        for start in row_starts(&multibyte) {
            assert!(multibyte.is_char_boundary(start));
        }
    }
}
