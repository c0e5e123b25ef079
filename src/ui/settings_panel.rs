//! Settings that persist across restarts (eframe storage) and the window that edits them.
//!
//! Owns: [`Settings`] and its dialog. History limits apply at once (evicting what no longer fits).

use egui::RichText;

use super::payload_view::PayloadView;
use super::tree_rows::SortOrder;
use crate::model::series::DEFAULT_POINTS_PER_SERIES;
use crate::model::{HistoryLimits, format};

/// Light, dark, or follow the system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// egui's preference for this choice.
    #[must_use]
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Light => egui::ThemePreference::Light,
            Self::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// What the user chose, saved with the window layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// History kept per topic and in total.
    pub history: HistoryLimits,
    /// Flash tree rows when they update.
    pub flash: bool,
    /// Colour theme.
    pub theme: Theme,
    /// Sibling order in the tree.
    pub sort: SortOrder,
    /// Default payload view.
    pub payload_view: PayloadView,
    /// Points kept per chart series.
    pub chart_points: usize,
    /// The embedded broker's TLS listener and access settings (applied at start and on Apply).
    pub broker: crate::model::broker_security::BrokerSecuritySettings,
    /// The embedded broker keeps retained messages and persistent sessions in the config folder
    /// ([`BROKER_DATA_DIR`]) across restarts; read at start, so a change applies at the next start.
    pub keep_broker_state: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            history: HistoryLimits::default(),
            flash: true,
            theme: Theme::System,
            sort: SortOrder::Name,
            payload_view: PayloadView::Auto,
            chart_points: DEFAULT_POINTS_PER_SERIES,
            broker: crate::model::broker_security::BrokerSecuritySettings::default(),
            keep_broker_state: false,
        }
    }
}

impl Settings {
    /// The embedded broker's persistence for these settings, in `config_dir` (`None`: off, or no config folder).
    #[must_use]
    pub fn broker_persistence(&self, config_dir: Option<&std::path::Path>) -> Option<crate::broker::store::PersistConfig> {
        let dir = config_dir.filter(|_| self.keep_broker_state)?;
        Some(crate::broker::store::PersistConfig::new(dir.join(BROKER_DATA_DIR)))
    }
}

/// Key of the settings in eframe's storage.
pub const STORAGE_KEY: &str = "mqscope-settings";

/// The embedded broker's data directory, inside the config folder, when [`Settings::keep_broker_state`] is on.
pub const BROKER_DATA_DIR: &str = "broker-data";

/// Largest history budget offered, MiB.
const MAX_BUDGET_MIB: usize = 64 * 1024;

/// The settings window; `open` is its visibility; `broker` draws the embedded broker's section
/// last. Returns true when something changed.
pub fn ui(
    ctx: &egui::Context,
    open: &mut bool,
    settings: &mut Settings,
    used_bytes: usize,
    evicted: u64,
    broker: impl FnOnce(&mut egui::Ui),
) -> bool {
    let before = settings.clone();
    egui::Window::new("Settings").open(open).resizable(false).collapsible(false).show(ctx, |ui| {
        // Scrolls when the window is taller than the screen (800×600 with the broker's sections).
        egui::ScrollArea::vertical().show(ui, |ui| contents(ui, settings, used_bytes, evicted, broker));
    });
    *settings != before
}

/// Everything the settings window holds.
fn contents(ui: &mut egui::Ui, settings: &mut Settings, used_bytes: usize, evicted: u64, broker: impl FnOnce(&mut egui::Ui)) {
    ui.label(RichText::new("History").strong());
    egui::Grid::new("settings-history").num_columns(2).show(ui, |ui| {
        let l = ui.label("Messages kept per topic");
        ui.add(egui::DragValue::new(&mut settings.history.per_topic).range(1..=100_000)).labelled_by(l.id);
        ui.end_row();
        let l = ui.label("Bytes kept per topic (MiB)");
        let mut per_mib = settings.history.per_topic_bytes / (1024 * 1024);
        if ui.add(egui::DragValue::new(&mut per_mib).range(1..=MAX_BUDGET_MIB)).labelled_by(l.id).changed() {
            settings.history.per_topic_bytes = per_mib * 1024 * 1024;
        }
        ui.end_row();
        let l = ui.label("Memory budget (MiB)");
        let mut mib = settings.history.budget_bytes / (1024 * 1024);
        if ui.add(egui::DragValue::new(&mut mib).range(1..=MAX_BUDGET_MIB)).labelled_by(l.id).changed() {
            settings.history.budget_bytes = mib * 1024 * 1024;
        }
        ui.end_row();
    });
    ui.weak(format!(
        "In use: {} · evicted so far: {}. The latest message of every topic is always kept whole.",
        format::bytes(used_bytes as u64),
        format::count(evicted)
    ));
    ui.separator();
    ui.label(RichText::new("Charts").strong());
    ui.horizontal(|ui| {
        let l = ui.label("Points kept per series");
        ui.add(egui::DragValue::new(&mut settings.chart_points).range(1000..=10_000_000)).labelled_by(l.id);
    });
    ui.separator();
    ui.label(RichText::new("Display").strong());
    ui.checkbox(&mut settings.flash, "Flash tree rows when they update");
    ui.horizontal(|ui| {
        ui.label("Theme");
        ui.selectable_value(&mut settings.theme, Theme::System, "System");
        ui.selectable_value(&mut settings.theme, Theme::Light, "Light");
        ui.selectable_value(&mut settings.theme, Theme::Dark, "Dark");
    });
    if ui.button("Reset to defaults").on_hover_text("History, charts and display; the broker's TLS and access settings are kept").clicked()
    {
        *settings = Settings { broker: settings.broker.clone(), keep_broker_state: settings.keep_broker_state, ..Settings::default() };
    }
    ui.separator();
    ui.label(RichText::new("Embedded broker").strong());
    ui.checkbox(&mut settings.keep_broker_state, "Keep retained messages and sessions across restarts");
    ui.weak(format!("Kept in the config folder's {BROKER_DATA_DIR} directory. Applies at the next start of mqscope."));
    ui.separator();
    broker(ui);
}
