//! The Charts tab of the bottom dock: one tab per chart, its toolbar (window, follow or pause,
//! reset zoom, unit, export) and the plot beside a legend that is also the statistics table
//! (show or hide, colour, min, max, mean and last of what is in view, points, skipped, remove).
//!
//! Owns: the open tab and each chart's [`ChartView`]. Reads and edits [`Charts`] (view settings,
//! removals); exports leave as [`ChartAction`]s for the app to send to the runtime.

use std::collections::HashMap;
use std::time::SystemTime;

use egui::{Rect, RichText};

use super::chart_plot::{ChartView, color};
use crate::model::charts::{ChartDef, WINDOWS_SECS};
use crate::model::{Charts, chart_csv, format};

/// Width of the legend beside the plot.
const LEGEND_WIDTH: f32 = 640.0;

/// Something the charts ask the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum ChartAction {
    /// Save this CSV text to a file the user picks.
    SaveCsv {
        /// The CSV.
        text: String,
        /// File name to suggest.
        suggested_name: String,
    },
    /// Take a screenshot, crop it to `rect` (points) and save it as PNG.
    SavePng {
        /// The chart's area on screen.
        rect: Rect,
        /// File name to suggest.
        suggested_name: String,
    },
}

/// The Charts tab's view state.
#[derive(Debug, Default)]
pub struct PlotPanel {
    /// Index of the chart shown.
    pub current: usize,
    /// Per chart id.
    views: HashMap<u64, ChartView>,
}

/// `secs` as a window label: `10 s`, `5 min`, `24 h`.
fn window_label(secs: u32) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// A file name from a chart title: letters, digits, `-` and `_` kept, the rest `_`.
fn file_stem(title: &str) -> String {
    let stem: String = title.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' }).collect();
    if stem.is_empty() { "chart".to_owned() } else { stem }
}

impl PlotPanel {
    /// The view state of chart `id` (follow, last stats).
    pub fn view(&mut self, id: u64) -> &mut ChartView {
        self.views.entry(id).or_default()
    }

    /// Show chart `index` and follow it live.
    pub fn show_chart(&mut self, charts: &Charts, index: usize) {
        self.current = index;
        if let Some(chart) = charts.charts().get(index) {
            self.view(chart.id).follow = true;
        }
    }

    /// Draw the charts, as of `now`.
    pub fn ui(&mut self, ui: &mut egui::Ui, charts: &mut Charts, now: SystemTime) -> Option<ChartAction> {
        let mut action = None;
        self.views.retain(|id, _| charts.charts().iter().any(|c| c.id == *id));
        ui.horizontal(|ui| {
            for (i, chart) in charts.charts().iter().enumerate() {
                if ui.selectable_label(self.current == i, &chart.title).on_hover_text("Show this chart").clicked() {
                    self.current = i;
                }
            }
            if ui.button("New chart").on_hover_text("Add an empty chart; plot topics into it from the tree or the inspector").clicked() {
                let title = format!("Chart {}", charts.charts().len() + 1);
                self.current = charts.add_chart(&ChartDef { title, ..ChartDef::default() });
            }
        });
        if charts.is_empty() {
            ui.weak(
                "No chart yet. Right-click a topic with a numeric value and pick Plot, or use Plot in the inspector or on a JSON field.",
            );
            return None;
        }
        self.current = self.current.min(charts.charts().len() - 1);
        let index = self.current;
        let id = charts.charts().get(index).map(|c| c.id)?;
        let view = self.views.entry(id).or_default();
        let (mut png_requested, mut close_requested) = (false, false);
        ui.horizontal_wrapped(|ui| {
            let Some(chart) = charts.charts_mut().get_mut(index) else { return };
            egui::ComboBox::from_label("Window").selected_text(window_label(chart.window_secs)).show_ui(ui, |ui| {
                for secs in WINDOWS_SECS {
                    if ui.selectable_value(&mut chart.window_secs, secs, window_label(secs)).clicked() {
                        view.follow = true;
                    }
                }
            });
            let (text, hover) = if view.follow {
                ("Pause chart", "Stop following: the view stays where it is (data keeps coming in)")
            } else {
                ("Follow", "Follow live: the window ends now")
            };
            if ui.button(text).on_hover_text(hover).clicked() {
                view.follow = !view.follow;
            }
            if ui
                .button("Reset zoom")
                .on_hover_text("Back to the live window, or to the newest data if it is older (also: double-click the plot)")
                .clicked()
            {
                view.reset();
            }
            let l = ui.label("Unit");
            ui.add(egui::TextEdit::singleline(&mut chart.unit).desired_width(50.0).hint_text("°C")).labelled_by(l.id);
            let l = ui.label("Title");
            ui.add(egui::TextEdit::singleline(&mut chart.title).desired_width(90.0)).labelled_by(l.id);
            ui.separator();
            if ui.button("Export CSV…").on_hover_text("Save every kept point of this chart's series as CSV").clicked() {
                action = Some(ChartAction::SaveCsv {
                    text: chart_csv::chart_csv(chart),
                    suggested_name: format!("{}.csv", file_stem(&chart.title)),
                });
            }
            png_requested = ui.button("Export PNG…").on_hover_text("Save a picture of this chart, with its title and legend").clicked();
            close_requested = ui.button("Close chart").on_hover_text("Remove this chart and its series").clicked();
        });
        let mut png_rect = None;
        let mut remove = None;
        ui.horizontal_top(|ui| {
            let legend_width = LEGEND_WIDTH.min(ui.available_width() * 0.5);
            let plot_size = egui::vec2(ui.available_width() - legend_width, ui.available_height());
            let Some(chart) = charts.charts().get(index) else { return };
            let scope = ui.allocate_ui(plot_size, |ui| {
                ui.vertical(|ui| {
                    // The title is part of the picture that Export PNG saves; it also says when nothing is in view.
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(&chart.title).strong());
                        if !chart.series.is_empty() && !view.has_data_in_view() {
                            ui.weak("— no data in this time range (Reset zoom shows the newest)");
                        }
                    });
                    view.ui(ui, chart, now);
                })
            });
            let chart_rect = scope.response.rect;
            ui.vertical(|ui| {
                if let Some(chart) = charts.charts_mut().get_mut(index) {
                    let (asked, legend_rect) = legend_ui(ui, chart, &view.stats);
                    remove = asked;
                    png_rect = Some(chart_rect.union(legend_rect));
                }
            });
        });
        if png_requested && let (Some(rect), Some(chart)) = (png_rect, charts.charts().get(index)) {
            action = Some(ChartAction::SavePng { rect, suggested_name: format!("{}.png", file_stem(&chart.title)) });
        }
        if close_requested {
            remove = Some(usize::MAX);
        }
        match remove {
            Some(usize::MAX) => charts.remove_chart(index),
            Some(series) => charts.remove_series(index, series),
            None => {}
        }
        action
    }
}

/// Longest series label shown in the legend (the full one is its accessible name and hover text).
const LABEL_CHARS: usize = 30;

/// `label`, cut from the left to [`LABEL_CHARS`] with a leading `…`.
fn short_label(label: &str) -> String {
    let count = label.chars().count();
    if count <= LABEL_CHARS {
        return label.to_owned();
    }
    let tail: String = label.chars().skip(count - (LABEL_CHARS - 1)).collect();
    format!("…{tail}")
}

/// The legend and statistics table; returns the series to remove, if asked, and the table's rect
/// (part of the exported picture).
fn legend_ui(
    ui: &mut egui::Ui,
    chart: &mut crate::model::Chart,
    stats: &[Option<crate::model::decimate::WindowStats>],
) -> (Option<usize>, Rect) {
    let mut remove = None;
    let unit = chart.unit.clone();
    let with_unit = |text: String| if unit.is_empty() { text } else { format!("{text} {unit}") };
    let output = egui::ScrollArea::both().id_salt(("legend", chart.id)).max_height(ui.available_height() - 60.0).show(ui, |ui| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        egui::Grid::new(("legend-grid", chart.id)).striped(true).num_columns(7).show(ui, |ui| {
            // Remove comes first, so that a narrow legend never hides it.
            for title in ["", "Series", "", "Min", "Max", "Mean", "Last"] {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for (i, series) in chart.series.iter_mut().enumerate() {
                let label = series.def.label();
                let stat = stats.get(i).copied().flatten();
                let response = ui.small_button("x").on_hover_text(format!("Remove {label} from this chart"));
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Remove {label}")));
                if response.clicked() {
                    remove = Some(i);
                }
                ui.vertical(|ui| {
                    // A Sparkplug metric across devices reads apart by its edge node and device.
                    let shown = series
                        .def
                        .path
                        .as_ref()
                        .filter(|_| series.def.decoder == Some(crate::model::decode::Decoder::Sparkplug))
                        .and_then(|path| crate::model::decode::sparkplug::hierarchy::series_name(&series.def.topic, path))
                        .unwrap_or_else(|| short_label(&label));
                    let text = RichText::new(shown).monospace().color(color(series.def.color));
                    let response = ui.checkbox(&mut series.def.visible, text).on_hover_text(format!(
                        "{label}\nShow or hide this series\n{} points kept (at most {}); {} in view",
                        series.points().len(),
                        series.cap(),
                        stat.map_or(0, |s| s.count)
                    ));
                    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, series.def.visible, &label));
                    if series.skipped() > 0 {
                        ui.colored_label(super::ALERT_COLOR, format!("{} skipped", format::count(series.skipped()))).on_hover_text(
                            format!(
                                "{} payloads held no number (or NaN, or infinity); {} lone spikes were left out",
                                series.not_numeric(),
                                series.spikes()
                            ),
                        );
                    }
                });
                let colour = egui::color_picker::color_edit_button_srgb(ui, &mut series.def.color).on_hover_text("Line colour");
                colour.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Colour of {label}")));
                let last = series.last().map(|p| p[1]);
                let texts = match stat {
                    Some(s) => {
                        // The mean as precise as the values beside it.
                        let like: Vec<f64> = [Some(s.min), Some(s.max), last].into_iter().flatten().collect();
                        [format::value(s.min), format::value(s.max), format::value_like(s.mean, &like)].map(&with_unit)
                    }
                    None => ["-".to_owned(), "-".to_owned(), "-".to_owned()],
                };
                for text in texts {
                    ui.label(text).on_hover_text("Of the points in the visible time range");
                }
                ui.label(last.map_or_else(|| "-".to_owned(), |v| with_unit(format::value(v)))).on_hover_text("Newest value");
                ui.end_row();
            }
        });
    });
    (remove, output.inner_rect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_window_labels() {
        assert_eq!(file_stem("Chart 1/temp"), "Chart_1_temp");
        assert_eq!(file_stem(""), "chart");
        assert_eq!(window_label(10), "10 s");
        assert_eq!(window_label(86_400), "24 h");
        assert_eq!(window_label(300), "5 min");
        assert_eq!(window_label(90), "90 s");
        assert_eq!(short_label("a/b"), "a/b");
        let long = "factory/line1/press[temperature.value]";
        assert_eq!(short_label(long).chars().count(), LABEL_CHARS);
        assert!(short_label(long).starts_with('…') && short_label(long).ends_with("value]"));
    }
}
