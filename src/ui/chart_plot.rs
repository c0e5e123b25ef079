//! One chart drawn with egui_plot: the visible range of each series decimated per pixel column
//! into reused buffers that the plot borrows, a clock time axis, a hover tooltip with time and
//! value, live follow (the window ends now) or free pan and zoom.
//!
//! Owns: nothing but what [`ChartView`] holds between frames (follow flag, buffers, last stats).

use std::time::{Duration, SystemTime};

use egui::Color32;
use egui_plot::{GridInput, GridMark, HoverPosition, Line, Plot, PlotBounds, PlotPoint, PlotPoints};

use crate::model::charts::Chart;
use crate::model::decimate::{WindowStats, decimate};
use crate::model::series::unix_secs_f64;
use crate::model::{format, time_axis};

/// Most grid marks per axis.
const MAX_MARKS: usize = 400;

/// View state of one chart, kept between frames.
#[derive(Debug)]
pub struct ChartView {
    /// The window ends now and moves with time; off once the user pans or zooms.
    pub follow: bool,
    /// Statistics of each series' visible points, from the last frame (`None`: hidden or none in view).
    pub stats: Vec<Option<WindowStats>>,
    /// Decimated points per series, reused every frame and borrowed by the plot.
    buffers: Vec<Vec<PlotPoint>>,
    /// The x range the buffers were made for.
    drawn_x: (f64, f64),
}

impl Default for ChartView {
    fn default() -> Self {
        Self { follow: true, stats: Vec::new(), buffers: Vec::new(), drawn_x: (0.0, 0.0) }
    }
}

/// sRGB triple as an egui colour.
#[must_use]
pub fn color(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
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
    /// Draw `chart` filling `ui`, as of `now`. Returns the plot's response (for the PNG crop).
    pub fn ui(&mut self, ui: &mut egui::Ui, chart: &Chart, now: SystemTime) -> egui::Response {
        let n = chart.series.len();
        self.buffers.resize_with(n, Vec::new);
        self.stats.resize(n, None);
        let now_secs = unix_secs_f64(now);
        let window = f64::from(chart.window_secs.max(1));
        let follow = self.follow;
        let unit = chart.unit.as_str();
        let mut plot = Plot::new(("chart", chart.id))
            .x_grid_spacer(|input| time_marks(&input))
            .x_axis_formatter(|mark, _range| time_axis::tick_label(mark.value, mark.step_size))
            .y_axis_formatter(|mark, _range| format::value(mark.value))
            .label_formatter(move |pos| Some(hover_text(pos, unit)))
            .allow_double_click_reset(false)
            .min_size(egui::vec2(120.0, 80.0));
        if !unit.is_empty() {
            plot = plot.y_axis_label(unit);
        }
        let Self { stats, buffers, drawn_x, .. } = self;
        let response = plot.show(ui, move |plot_ui| {
            let (x_min, x_max) = if follow {
                (now_secs - window, now_secs)
            } else {
                let b = plot_ui.plot_bounds();
                (b.min()[0], b.max()[0])
            };
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a pixel width")]
            let columns = plot_ui.response().rect.width().max(1.0) as usize;
            // When panning, this frame's bounds are known only after the build: decimate a wider range,
            // so that the newly exposed edge is drawn right, and repaint if it still moved.
            let pad = if follow { 0.0 } else { (x_max - x_min) * 0.5 };
            let (from, to, columns) = if follow { (x_min, x_max, columns) } else { (x_min - pad, x_max + pad, columns * 2) };
            *drawn_x = (x_min, x_max);
            let mut y_range: Option<(f64, f64)> = None;
            for ((series, buffer), stat) in chart.series.iter().zip(buffers.iter_mut()).zip(stats.iter_mut()) {
                buffer.clear();
                if !series.def.visible {
                    *stat = None;
                    continue;
                }
                *stat = decimate(series.points(), from, to, columns, |p| buffer.push(PlotPoint::new(p[0], p[1])));
                if follow && let Some(s) = stat {
                    y_range = Some(y_range.map_or((s.min, s.max), |(lo, hi)| (lo.min(s.min), hi.max(s.max))));
                }
            }
            if follow {
                match y_range {
                    Some((lo, hi)) => {
                        let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.05 };
                        plot_ui.set_plot_bounds(PlotBounds::from_min_max([x_min, lo - pad], [x_max, hi + pad]));
                    }
                    None => plot_ui.set_plot_bounds_x(x_min..=x_max),
                }
            }
            let buffers: &[Vec<PlotPoint>] = buffers;
            for (series, buffer) in chart.series.iter().zip(buffers) {
                if series.def.visible {
                    let line = Line::new(series.def.label(), PlotPoints::Borrowed(buffer)).color(color(series.def.color)).id((
                        "series",
                        chart.id,
                        series.def.label(),
                    ));
                    plot_ui.line(line);
                }
            }
        });
        let interacted = response.response.dragged()
            || (response.response.hovered()
                && ui.input(|i| i.smooth_scroll_delta != egui::Vec2::ZERO || (i.zoom_delta() - 1.0).abs() > f32::EPSILON));
        if response.response.double_clicked() {
            self.follow = true;
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
