//! The explorer's panels. Each panel owns only its view state and reads the [`crate::model::Store`];
//! work goes to the runtime as [`crate::protocol::Command`]s with `try_send`, never a blocking call.
//!
//! # Layout
//! - [`topic_tree_panel`]: the live tree (left).
//! - [`message_panel`]: the selected topic's value, metadata and history (centre).
//! - [`publish_panel`]: publish by hand (right).
//! - [`status_bar`]: broker address, clients, rates, memory (bottom).
//! - [`plot_panel`]: the Charts tab of the bottom dock; [`chart_plot`] draws one chart.
//! - [`talkers_panel`]: the Top talkers tab of the bottom dock, and the selected node's rate sparkline.

pub mod chart_plot;
pub mod connection_form;
pub mod connection_panel;
pub mod message_panel;
pub mod payload_view;
pub mod plot_panel;
pub mod publish_form;
pub mod publish_panel;
pub mod settings_panel;
pub mod status_bar;
pub mod talkers_panel;
pub mod topic_tree_panel;
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
/// repaints at once).
pub const DATA_FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(40);

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
