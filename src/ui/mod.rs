//! The explorer's panels. Each panel owns only its view state and reads the [`crate::model::Store`];
//! work goes to the runtime as [`crate::protocol::Command`]s with `try_send`, never a blocking call.
//!
//! # Layout
//! - [`topic_tree_panel`]: the live tree (left).
//! - [`message_panel`]: the selected topic's value, metadata and history (centre).
//! - [`publish_panel`]: publish by hand (right); [`publish_encode`]: its "Encode as" (JSON published
//!   as CBOR, MessagePack or Protobuf through a binding).
//! - [`decoders_panel`]: the Decoders window (bindings of filters to payload decoders, .proto schemas).
//! - [`status_bar`]: broker address, clients, rates, memory (bottom).
//! - [`plot_panel`]: the Charts tab of the bottom dock; [`chart_plot`] draws one chart.
//! - [`talkers_panel`]: the Top talkers tab of the bottom dock, and the selected node's rate sparkline.
//! - [`clients_panel`]: the Clients tab (the embedded broker's sessions, from inside); [`inside_table`]:
//!   what the broker tabs share; [`subscriptions_panel`]: the Subscriptions tab and "who receives this".
//! - [`sparkplug_panel`]: the Sparkplug tab (edge nodes and devices); [`sparkplug_command`]: its NCMD/DCMD editor.
//! - [`certs_panel`]: the Settings window's "Generate certificates" for the broker's TLS listeners;
//!   [`broker_security_panel`]: its TLS listener, anonymous access, password and ACL files.

pub mod availability_panel;
pub mod broker_security_panel;
pub mod capture_panel;
pub mod certs_panel;
pub mod chart_plot;
pub mod clients_panel;
pub mod connection_form;
pub mod connection_panel;
pub mod decoders_panel;
pub mod faults_panel;
pub mod inside_table;
pub mod message_panel;
pub mod payload_view;
pub mod plot_panel;
pub mod publish_encode;
pub mod publish_form;
pub mod publish_panel;
pub mod retained_panel;
pub mod settings_panel;
pub mod sparkplug_command;
pub mod sparkplug_panel;
pub mod status_bar;
pub mod subscriptions_panel;
pub mod talkers_panel;
pub mod timer_panel;
pub mod topic_tree_panel;
pub mod trace_panel;
pub mod tree_rows;

use egui::{Color32, RichText};

use crate::model::QoS;

/// Colour of a QoS badge: Q0 grey, Q1 blue, Q2 purple.
#[must_use]
pub fn qos_color(qos: QoS) -> Color32 {
    match qos {
        QoS::AtMostOnce => Color32::from_rgb(0x8a, 0x8a, 0x8a),
        QoS::AtLeastOnce => Color32::from_rgb(0x3d, 0x8b, 0xfd),
        QoS::ExactlyOnce => Color32::from_rgb(0xa3, 0x71, 0xf7),
    }
}

/// A seed for generated client ids, from the clock (the model never reads the clock itself).
#[must_use]
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
}

/// Frames asked for by arriving data alone come at most this often (25 a second; input still
/// repaints at once) while little arrives ...
pub const DATA_FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(40);
/// ... and at most this often (about 7 a second) under a steady stream: the tree then changes in
/// every frame anyway, nobody reads values changing 25 times a second, and on a software renderer
/// drawing costs far more than the messages (`scripts/bench-tree.sh`, README "Performance").
pub const STREAM_FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(150);
/// Messages per second up to which data frames come every [`DATA_FRAME_INTERVAL`] ...
const CALM_MSGS_PER_SEC: f64 = 1_000.0;
/// ... and from which every [`STREAM_FRAME_INTERVAL`]; in between, in proportion.
const STREAM_MSGS_PER_SEC: f64 = 10_000.0;

/// The longest wait before the next frame that data arriving at `msgs_per_sec` asks for.
#[must_use]
pub fn data_frame_interval(msgs_per_sec: f64) -> std::time::Duration {
    let t = ((msgs_per_sec - CALM_MSGS_PER_SEC) / (STREAM_MSGS_PER_SEC - CALM_MSGS_PER_SEC)).clamp(0.0, 1.0);
    let t = if t.is_nan() { 0.0 } else { t };
    DATA_FRAME_INTERVAL + STREAM_FRAME_INTERVAL.saturating_sub(DATA_FRAME_INTERVAL).mul_f64(t)
}

/// How often arriving data may ask for a frame: set by the window every frame, read by the
/// runtime's waker (a plain atomic, so the runtime does not depend on egui).
#[derive(Clone, Debug)]
pub struct FramePacing(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Default for FramePacing {
    fn default() -> Self {
        Self(std::sync::Arc::new(std::sync::atomic::AtomicU64::new(micros(DATA_FRAME_INTERVAL))))
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl FramePacing {
    /// The interval in force.
    #[must_use]
    pub fn get(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Change it.
    pub fn set(&self, interval: std::time::Duration) {
        self.0.store(micros(interval), std::sync::atomic::Ordering::Relaxed);
    }
}

/// A modal that asks `text` with a `yes` button and Cancel: `Some(true)` on yes, `Some(false)` on
/// Cancel, Esc or a click outside, `None` while it waits for an answer.
pub fn confirm_modal(ctx: &egui::Context, id: &str, text: &str, yes: &str) -> Option<bool> {
    let mut answer = None;
    let modal = egui::Modal::new(egui::Id::unique(id)).show(ctx, |ui| {
        ui.set_max_width(420.0);
        ui.label(text);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(yes).clicked() {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    if modal.should_close() {
        answer = answer.or(Some(false));
    }
    answer
}

/// Amber, for the retained badge.
pub const RETAINED_COLOR: Color32 = Color32::from_rgb(0xe0, 0xa0, 0x20);
/// Red, for DUP and errors.
pub const ALERT_COLOR: Color32 = Color32::from_rgb(0xe0, 0x50, 0x50);

/// A small coloured badge with hover text.
pub fn badge(ui: &mut egui::Ui, text: &str, color: Color32, hover: &str) -> egui::Response {
    ui.label(RichText::new(text).small().strong().color(color)).on_hover_text(hover)
}

/// The QoS badge.
pub fn qos_badge(ui: &mut egui::Ui, qos: QoS) -> egui::Response {
    badge(ui, qos.badge(), qos_color(qos), qos.describe())
}

/// The retained badge.
pub fn retained_badge(ui: &mut egui::Ui) -> egui::Response {
    badge(ui, "R", RETAINED_COLOR, "Retained: the broker keeps this value for new subscribers")
}

/// A tool window of a fixed-size form, opened in the middle of the screen.
pub fn centred_window<'a>(title: &'a str, ctx: &egui::Context) -> egui::Window<'a> {
    egui::Window::new(title).pivot(egui::Align2::CENTER_CENTER).default_pos(ctx.content_rect().center())
}

/// A small button whose accessible name (and hover text) says more than its caption.
pub fn named_button(ui: &mut egui::Ui, caption: &str, name: &str) -> egui::Response {
    let response = ui.small_button(caption).on_hover_text(name);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, name));
    response
}

/// A single line, always allocated (so the layout does not jump when it fills); cut with … when
/// too long, the full text on hover. Errors under form fields use it.
pub fn error_line(ui: &mut egui::Ui, text: &str, color: egui::Color32) {
    let label = egui::Label::new(RichText::new(if text.is_empty() { " " } else { text }).color(color)).truncate();
    let response = ui.add(label);
    if !text.is_empty() {
        response.on_hover_text(text);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn data_frames_slow_down_under_a_steady_stream() {
        assert_eq!(data_frame_interval(0.0), DATA_FRAME_INTERVAL);
        assert_eq!(data_frame_interval(f64::NAN), DATA_FRAME_INTERVAL);
        assert_eq!(data_frame_interval(50_000.0), STREAM_FRAME_INTERVAL);
        let mid = data_frame_interval(5_500.0);
        assert!(mid > DATA_FRAME_INTERVAL && mid < STREAM_FRAME_INTERVAL, "{mid:?}");
        let pacing = FramePacing::default();
        pacing.set(Duration::from_millis(120));
        assert_eq!(pacing.clone().get(), Duration::from_millis(120));
    }
}
