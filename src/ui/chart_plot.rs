//! One chart drawn with egui_plot: the visible range of each series decimated per pixel column
//! into reused buffers that the plot borrows, a clock time axis, a hover tooltip with time and
//! value, live follow (the window ends now) or free pan and zoom.
//!
//! Owns: nothing but what [`ChartView`] holds between frames (follow flag, buffers, last stats).

use std::time::{Duration, SystemTime};

use egui::Color32;
use egui_plot::{GridInput, GridMark, HoverPosition, Line, Plot, PlotBounds, PlotPoint, PlotPoints};

use crate::model::charts::Chart;
use crate::model::decimate::{WindowStats, decimate, segments, window_stats};
use crate::model::series::unix_secs_f64;
use crate::model::{format, time_axis};

/// Most grid marks per axis.
const MAX_MARKS: usize = 400;

/// View state of one chart, kept between frames.
#[derive(Debug)]
pub struct ChartView {
    /// The window ends now and moves with time; off once the user pans or zooms.
    pub follow: bool,
    /// Statistics of each series' points in exactly the visible time range, from the last frame
    /// (`None`: hidden or none in view).
    pub stats: Vec<Option<WindowStats>>,
    /// Decimated points per series, reused every frame and borrowed by the plot.
    buffers: Vec<Vec<PlotPoint>>,
    /// The x range the buffers were made for.
    drawn_x: (f64, f64),
    /// Reset asked for: show the live window, or the newest data if it is older than that.
    reset: bool,
}

impl Default for ChartView {
    fn default() -> Self {
        Self { follow: true, stats: Vec::new(), buffers: Vec::new(), drawn_x: (0.0, 0.0), reset: false }
    }
}

/// Wheel steps (points) per e-fold of zoom.
const WHEEL_ZOOM_POINTS: f32 = 400.0;

/// sRGB triple as an egui colour.
#[must_use]
pub fn color(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

/// The wheel zooms time around the pointer, Shift+wheel (horizontal scroll) pans it, Ctrl+wheel
/// (egui's zoom) zooms values. egui_plot's own scrolling is off: it panned values into emptiness.
fn wheel_zoom(plot_ui: &mut egui_plot::PlotUi<'_>, wheel: egui::Vec2, zoom: f32, secs_per_px: f64) {
    if wheel.y != 0.0 {
        plot_ui.zoom_bounds_around_hovered(egui::vec2((wheel.y / WHEEL_ZOOM_POINTS).exp(), 1.0));
    }
    if wheel.x != 0.0 {
        #[expect(clippy::cast_possible_truncation, reason = "a pan step in seconds")]
        let dx = (-f64::from(wheel.x) * secs_per_px) as f32;
        plot_ui.translate_bounds(egui::vec2(dx, 0.0));
    }
    if (zoom - 1.0).abs() > f32::EPSILON {
        plot_ui.zoom_bounds_around_hovered(egui::vec2(1.0, zoom));
    }
}

/// Grid marks for a time axis.
fn time_marks(input: &GridInput) -> Vec<GridMark> {
    let steps = time_axis::grid_steps(input.base_step_size);
    time_axis::grid_marks(input.bounds.0, input.bounds.1, steps, MAX_MARKS)
        .into_iter()
        .map(|(value, step_size)| GridMark { value, step_size })
        .collect()
}

/// The hover text: series, local time, value and unit.
fn hover_text(pos: &HoverPosition<'_>, unit: &str) -> String {
    let (name, point) = match pos {
        HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
        HoverPosition::Elsewhere { position } => ("", *position),
    };
    let time = time_axis::system_time(point.x).map(format::clock).unwrap_or_default();
    let value = format::value(point.y);
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    if name.is_empty() { format!("{time}\n{value}{unit}") } else { format!("{name}\n{time}\n{value}{unit}") }
}

impl ChartView {
    /// Back to a view with data: the live window, or the newest data when it is older than the window.
    pub fn reset(&mut self) {
        self.follow = true;
        self.reset = true;
    }

    /// After a reset with nothing in the live window: stop following and show the window ending at
    /// the newest data instead (the range to pin, once).
    fn take_reset(&mut self, chart: &Chart, now_secs: f64, window: f64) -> Option<(f64, f64)> {
        if !std::mem::take(&mut self.reset) {
            return None;
        }
        let newest = chart.series.iter().filter(|s| s.def.visible).filter_map(|s| s.last().map(|p| p[0])).max_by(f64::total_cmp)?;
        if newest >= now_secs - window {
            return None;
        }
        self.follow = false;
        Some((newest - window * 0.95, newest + window * 0.05))
    }

    /// The time range drawn last frame (unix seconds).
    #[must_use]
    pub fn drawn_x(&self) -> (f64, f64) {
        self.drawn_x
    }

    /// True if any visible series has a point in view (after the last frame).
    #[must_use]
    pub fn has_data_in_view(&self) -> bool {
        self.stats.iter().any(Option::is_some)
    }

    /// Draw `chart` filling `ui`, as of `now`. Returns the plot's response (for the PNG crop).
    ///
    /// The wheel zooms the time axis around the pointer, Shift+wheel pans it, Ctrl+wheel zooms the
    /// value axis; drag pans; double-click resets.
    pub fn ui(&mut self, ui: &mut egui::Ui, chart: &Chart, now: SystemTime) -> egui::Response {
        let n = chart.series.len();
        self.buffers.resize_with(n, Vec::new);
        self.stats.resize(n, None);
        let now_secs = unix_secs_f64(now);
        let window = f64::from(chart.window_secs.max(1));
        let pinned = self.take_reset(chart, now_secs, window);
        let follow = self.follow;
        let unit = chart.unit.as_str();
        let mut plot = Plot::new(("chart", chart.id))
            .x_grid_spacer(|input| time_marks(&input))
            .x_axis_formatter(|mark, range| time_axis::tick_label_in(mark.value, range.end() - range.start()))
            .y_axis_formatter(|mark, _range| format::value(mark.value))
            .label_formatter(move |pos| Some(hover_text(pos, unit)))
            .allow_double_click_reset(false)
            .allow_scroll(false)
            .allow_zoom(false)
            .min_size(egui::vec2(120.0, 80.0));
        if !unit.is_empty() {
            plot = plot.y_axis_label(unit);
        }
        let (wheel, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
        let Self { stats, buffers, drawn_x, .. } = self;
        let response = plot.show(ui, move |plot_ui| {
            let (x_min, x_max) = if let Some(range) = pinned {
                range
            } else if follow {
                (now_secs - window, now_secs)
            } else {
                let b = plot_ui.plot_bounds();
                (b.min()[0], b.max()[0])
            };
            let width_px = plot_ui.response().rect.width().max(1.0);
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a pixel width")]
            let columns = width_px as usize;
            let fixed = follow || pinned.is_some();
            // When panning, this frame's bounds are known only after the build: decimate a wider range,
            // so that the newly exposed edge is drawn right, and repaint if it still moved.
            let pad = if fixed { 0.0 } else { (x_max - x_min) * 0.5 };
            let (from, to, columns) = if fixed { (x_min, x_max, columns) } else { (x_min - pad, x_max + pad, columns * 2) };
            *drawn_x = (x_min, x_max);
            let secs_per_px = (x_max - x_min) / f64::from(width_px);
            let mut y_range: Option<(f64, f64)> = None;
            let mut lines = Vec::new();
            for ((series, buffer), stat) in chart.series.iter().zip(buffers.iter_mut()).zip(stats.iter_mut()) {
                buffer.clear();
                if !series.def.visible {
                    *stat = None;
                    continue;
                }
                decimate(series.points(), from, to, columns, |p| buffer.push(PlotPoint::new(p[0], p[1])));
                // Statistics of exactly what is in view, never of the padding.
                *stat = window_stats(series.points(), x_min, x_max);
                if let Some(s) = stat {
                    y_range = Some(y_range.map_or((s.min, s.max), |(lo, hi)| (lo.min(s.min), hi.max(s.max))));
                }
                // Break the line where data is missing for much longer than the usual interval.
                #[expect(clippy::cast_precision_loss, reason = "a point count")]
                let usual = stat.map_or(f64::INFINITY, |s| (x_max - x_min) / s.count.max(1) as f64);
                let max_gap = (usual * 10.0).max(secs_per_px * 3.0);
                let xy: Vec<[f64; 2]> = buffer.iter().map(|p| [p.x, p.y]).collect();
                lines.push((series, segments(&xy, max_gap)));
            }
            if fixed {
                // Nothing in view: a plain 0…1 value axis rather than a meaningless range.
                let (lo, hi) = y_range.unwrap_or((0.0, 1.0));
                let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.05 };
                plot_ui.set_plot_bounds(PlotBounds::from_min_max([x_min, lo - pad], [x_max, hi + pad]));
            }
            if plot_ui.response().hovered() {
                wheel_zoom(plot_ui, wheel, zoom, secs_per_px);
            }
            let buffers: &[Vec<PlotPoint>] = buffers;
            for ((series, parts), buffer) in
                lines.into_iter().zip(buffers.iter().zip(&chart.series).filter(|(_, s)| s.def.visible).map(|(b, _)| b))
            {
                for (k, part) in parts.into_iter().enumerate() {
                    let line = Line::new(series.def.label(), PlotPoints::Borrowed(&buffer[part])).color(color(series.def.color)).id((
                        "series",
                        chart.id,
                        series.def.label(),
                        k,
                    ));
                    plot_ui.line(line);
                }
            }
        });
        let interacted = response.response.dragged()
            || (response.response.hovered() && (wheel != egui::Vec2::ZERO || (zoom - 1.0).abs() > f32::EPSILON));
        if response.response.double_clicked() {
            self.reset();
        } else if interacted {
            self.follow = false;
        }
        let bounds = response.transform.bounds();
        if !self.follow && (bounds.min()[0], bounds.max()[0]) != self.drawn_x {
            ui.ctx().request_repaint();
        }
        if self.follow {
            // Move about one pixel at a time, at most 20 times a second, at least once a second.
            let per_pixel = window / f64::from(response.response.rect.width().max(1.0));
            ui.ctx().request_repaint_after(Duration::from_secs_f64(per_pixel.clamp(0.05, 1.0)));
        }
        response.response
    }
}
