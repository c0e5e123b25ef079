//! The explorer window: drains runtime events into the [`Store`] and lays out the panels.
//!
//! Owns: [`ExplorerApp`] (store, panel states, the channel ends, pause buffer, pending confirmation)
//! and its eframe wrapper. The UI thread never waits: events are drained with `try_recv` for at most
//! a few milliseconds per frame, and commands are sent with `try_send`.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use egui::{Key, Modifiers, RichText};
use tokio::sync::mpsc;

use crate::model::charts::{ChartDef, PALETTE};
use crate::model::payload::JsonPath;
use crate::model::profile::{Profile, ProfileFile};
use crate::model::{ConnId, SeriesDef, Store, format};
use crate::protocol::{Command, Event, EventReceiver, ProfilesOrigin, RgbaImage};
use crate::ui::connection_panel::ConnectionPanel;
use crate::ui::message_panel::{InspectorAction, MessagePanel};
use crate::ui::plot_panel::{ChartAction, PlotPanel};
use crate::ui::publish_panel::PublishPanel;
use crate::ui::settings_panel::{self, Settings};
use crate::ui::status_bar;
use crate::ui::topic_tree_panel::{TopicTreePanel, TreeAction};

mod chrome;
mod panels;

/// Longest time spent folding events per frame; the rest waits for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Frames asked for by arriving data alone come at most this often (25 a second; input still
/// repaints at once).
pub const DATA_FRAME_INTERVAL: Duration = Duration::from_millis(40);
/// While the window is backlogged (more arrives than it folds in, [`crate::protocol::BACKLOG`]),
/// frames asked for by data come at most this often ...
pub const BACKLOGGED_FRAME_INTERVAL: Duration = Duration::from_millis(120);
/// ... and each folds messages for this long (unless it answers input): a sixth of a core, close to
/// the fifth of [`DRAIN_BUDGET`] per [`DATA_FRAME_INTERVAL`] (so a backlog does not starve folding
/// further), in fewer frames; what does not fit is dropped and counted. A frame also costs several
/// milliseconds of CPU to draw on a software renderer; under a flood, the embedded broker in the
/// same process needs those cores more. Measured with `scripts/bench-window.sh` (README, "Performance").
const BACKLOGGED_DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// The longest wait before the next frame that arriving data asks for.
#[must_use]
pub const fn frame_interval(backlogged: bool) -> Duration {
    if backlogged { BACKLOGGED_FRAME_INTERVAL } else { DATA_FRAME_INTERVAL }
}
/// Most message batches held while the live view is paused; beyond, batches are dropped and counted.
const PAUSE_BUFFER_BATCHES: usize = 4096;

/// Narrowest the topic tree gets.
const TREE_MIN_WIDTH: f32 = 220.0;
/// Narrowest the inspector gets (the side panels give way first).
const INSPECTOR_MIN_WIDTH: f32 = 300.0;
/// Narrowest the publish panel gets; below that it folds to a strip.
const PUBLISH_MIN_WIDTH: f32 = 230.0;
/// Lowest the charts dock gets.
const DOCK_MIN_HEIGHT: f32 = 120.0;

/// Bytes to save where no file dialog can open: the user types the path.
#[derive(Debug)]
struct SaveTo {
    bytes: bytes::Bytes,
    /// As typed (starts as the runtime's suggestion).
    path: String,
    title: String,
    reason: String,
}

/// A destructive action waiting for the user's yes.
#[derive(Debug)]
struct Confirm {
    text: String,
    command: Command,
}

/// The explorer's state: data, view state and the runtime's channel ends.
#[expect(clippy::struct_excessive_bools, reason = "independent view toggles: pause, dock, publish panel, settings window")]
pub struct ExplorerApp {
    /// Everything received.
    pub store: Store,
    /// Connection whose tree is shown.
    pub current: ConnId,
    /// Tree view state.
    pub tree: TopicTreePanel,
    /// Inspector view state.
    pub message: MessagePanel,
    /// Publish form.
    pub publish: PublishPanel,
    /// The Charts tab of the bottom dock.
    pub plots: PlotPanel,
    /// The bottom dock is shown.
    pub dock_open: bool,
    /// The publish panel is unfolded (it folds to a strip by hand or in a narrow window).
    pub publish_open: bool,
    /// A topic to reveal and select as soon as it appears (`mqscope --select`).
    pub pending_select: Option<String>,
    /// The connection manager.
    pub connections: ConnectionPanel,
    /// Persisted settings.
    pub settings: Settings,
    /// Settings window visible.
    settings_open: bool,
    /// While true, message batches wait in `paused` instead of changing the view.
    pub paused: bool,
    paused_events: VecDeque<Event>,
    confirm: Option<Confirm>,
    /// A save waiting for a typed path (no file dialog here).
    save_to: Option<SaveTo>,
    /// Result of the last action, shown in the status bar.
    toast: Option<(String, Instant)>,
    commands: mpsc::Sender<Command>,
    events: EventReceiver,
}

impl ExplorerApp {
    /// A new explorer talking to a runtime through these channel ends.
    #[must_use]
    pub fn new(commands: mpsc::Sender<Command>, events: EventReceiver) -> Self {
        Self {
            store: Store::default(),
            current: ConnId::LOCAL,
            tree: TopicTreePanel::default(),
            message: MessagePanel::default(),
            publish: PublishPanel::default(),
            plots: PlotPanel::default(),
            dock_open: false,
            publish_open: true,
            pending_select: None,
            connections: ConnectionPanel::default(),
            settings: Settings::default(),
            settings_open: false,
            paused: false,
            paused_events: VecDeque::new(),
            confirm: None,
            save_to: None,
            toast: None,
            commands,
            events,
        }
    }

    /// Adopt saved settings (at start).
    pub fn apply_settings(&mut self, ctx: &egui::Context, settings: Settings) {
        self.store.set_limits(settings.history);
        self.store.charts.set_cap(settings.chart_points);
        self.tree.flash = settings.flash;
        self.tree.rows.set_sort(settings.sort);
        self.message.set_default_view(settings.payload_view);
        ctx.set_theme(settings.theme.preference());
        self.settings = settings;
    }

    /// Fold pending events into the store, for at most [`DRAIN_BUDGET`]. True if more are waiting.
    pub fn drain_events(&mut self) -> bool {
        self.drain_events_for(DRAIN_BUDGET)
    }

    /// Fold pending events into the store, for at most `budget`. True if more are waiting.
    fn drain_events_for(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        if !self.paused {
            while let Some(event) = self.paused_events.pop_front() {
                event.apply_to(&mut self.store);
                if start.elapsed() > budget {
                    return true;
                }
            }
        }
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Messages { conn_id, msgs } if self.paused => {
                    if self.paused_events.len() < PAUSE_BUFFER_BATCHES {
                        self.paused_events.push_back(Event::Messages { conn_id, msgs });
                    } else {
                        Event::Dropped { conn_id, count: msgs.len() as u64 }.apply_to(&mut self.store);
                    }
                }
                Event::TemplatesLoaded(file) => {
                    self.publish.templates = file.templates;
                    self.publish.history = file.history;
                }
                Event::PublishResult { id, outcome, .. } => self.publish.result(id, outcome),
                Event::SaveNeedsPath { bytes, path, title, reason } => {
                    self.save_to = Some(SaveTo { bytes, path: path.display().to_string(), title, reason });
                }
                Event::PayloadFile { name, bytes } => self.publish.file_payload = Some((name, bytes)),
                Event::Profiles { file, origin } => self.profiles_event(file, origin),
                Event::ProfileRejected { field, message } => self.connections.rejected(field, message),
                Event::FilePicked { field, path } => self.connections.file_picked(field, path),
                Event::Error(text) | Event::Notice(text) => self.toast = Some((text, Instant::now())),
                event => event.apply_to(&mut self.store),
            }
            if start.elapsed() > budget {
                return true;
            }
        }
        false
    }

    /// Send a command without waiting; a full channel is reported, not waited on.
    fn send(&mut self, command: Command) {
        let text = match self.commands.try_send(command) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => "Busy: the runtime is behind; try again.",
            Err(mpsc::error::TrySendError::Closed(_)) => "The runtime has stopped.",
        };
        self.toast = Some((text.to_owned(), Instant::now()));
    }

    /// Profiles were loaded, saved or imported.
    fn profiles_event(&mut self, file: ProfileFile, origin: ProfilesOrigin) {
        match origin {
            ProfilesOrigin::Loaded => {
                let launch: Vec<Profile> = file.profiles.iter().filter(|p| p.connect_on_launch).cloned().collect();
                self.connections.profiles_updated(file, false);
                for p in launch {
                    self.connect(p);
                }
            }
            ProfilesOrigin::Saved => {
                if let Some(p) = self.connections.profiles_updated(file, false) {
                    self.connect(p);
                }
                self.toast = Some(("Connections saved.".to_owned(), Instant::now()));
            }
            ProfilesOrigin::Imported => {
                let n = file.profiles.len();
                self.connections.profiles_updated(file, true);
                let file = ProfileFile { profiles: self.connections.profiles.clone() };
                self.send(Command::SaveProfiles { file, check: None });
                self.toast = Some((format!("Imported {n} connections."), Instant::now()));
            }
        }
    }

    /// Open (or reopen) a connection from a profile and show its tree.
    pub fn connect(&mut self, profile: Profile) {
        let conn_id = self.store.open_conn(&profile.name, &profile.url());
        self.current = conn_id;
        self.send(Command::Connect { conn_id, profile: Box::new(profile) });
    }

    /// Reveal and select [`Self::pending_select`] once it is in the current tree.
    fn reveal_pending(&mut self) {
        let Some(topic) = &self.pending_select else { return };
        let Some(conn) = self.store.conn(self.current) else { return };
        if let Some(id) = conn.tree.find(topic) {
            self.tree.reveal(&conn.tree, id);
            self.pending_select = None;
        }
    }

    /// Ask the runtime to stop (on window close).
    pub fn shutdown(&self) {
        self.commands.try_send(Command::Shutdown).ok();
    }

    /// Restore saved chart definitions (at start); their series fill as messages arrive.
    pub fn restore_charts(&mut self, defs: &[ChartDef]) {
        self.store.charts.restore(defs);
        self.dock_open = !defs.is_empty();
    }

    /// Plot `topic` (at `path`) on the chart shown in the dock (a new chart if there is none).
    pub fn plot(&mut self, topic: String, path: Option<JsonPath>) {
        let target = self.plots.current;
        let color = self.store.charts.charts().get(target).map_or(PALETTE[0], crate::model::Chart::next_color);
        let def = SeriesDef::new(self.current, topic, path, color);
        let label = def.label();
        let (chart, _) = self.store.plot(Some(target), def);
        self.plots.show_chart(&self.store.charts, chart);
        self.dock_open = true;
        self.toast = Some((format!("Plotting {label}"), Instant::now()));
    }

    /// Carry out what the charts asked for: exports go to the runtime, which asks for a file name.
    fn chart_action(&mut self, ctx: &egui::Context, action: ChartAction) {
        match action {
            ChartAction::SaveCsv { text, suggested_name } => {
                self.send(Command::SaveFile { bytes: text.into(), suggested_name, title: "Export chart data as CSV".to_owned() });
            }
            ChartAction::SavePng { rect, suggested_name } => {
                let commands = self.commands.clone();
                let pixels_per_point = ctx.pixels_per_point();
                // The pixels arrive after the next frame is painted; cropping is cheap, encoding is done by the runtime.
                ctx.request_screenshot(move |image| {
                    #[expect(clippy::cast_precision_loss, reason = "pixel counts of a window")]
                    let whole = egui::Rect::from_min_size(
                        egui::Pos2::ZERO,
                        egui::vec2(image.size[0] as f32, image.size[1] as f32) / pixels_per_point,
                    );
                    // The window may have shrunk since: never read outside the image.
                    let inside = rect.intersect(whole.shrink(1.0 / pixels_per_point));
                    if !inside.is_positive() {
                        return;
                    }
                    let region = image.region(&inside, Some(pixels_per_point));
                    let [width, height] = region.size.map(|n| u32::try_from(n).unwrap_or(0));
                    let rgba = region.pixels.iter().flat_map(egui::Color32::to_srgba_unmultiplied).collect();
                    commands.try_send(Command::SavePng { image: RgbaImage { width, height, rgba }, suggested_name }).ok();
                });
            }
        }
    }

    /// Carry out (or ask to confirm) what a panel asked for.
    fn act(&mut self, action: TreeAction) {
        match action {
            TreeAction::Plot { topic, path } => self.plot(topic, path),
            TreeAction::PublishTo { topic, payload } => self.publish.prefill(topic, payload),
            TreeAction::DeleteRetained { topics, under } => {
                let text = if topics.len() == 1 {
                    format!("Delete the retained value of {under}?")
                } else {
                    format!("Delete {} retained values under {under}/?", format::count(topics.len() as u64))
                };
                self.confirm = Some(Confirm { text, command: Command::DeleteRetained { conn_id: self.current, topics } });
            }
        }
    }

    /// What the publish panel asked for this frame: a file dialog, saving templates.
    fn publish_requests(&mut self) {
        if std::mem::take(&mut self.publish.load_requested) {
            self.send(Command::LoadPayloadFile);
        }
        if std::mem::take(&mut self.publish.templates_dirty) {
            let file =
                crate::model::publish::TemplateFile { templates: self.publish.templates.clone(), history: self.publish.history.clone() };
            self.send(Command::SaveTemplates(file));
        }
    }

    /// One frame: drain events, then draw every panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let input = ui.input(|i| !i.events.is_empty());
        let more = self.drain_events_for(if self.events.backlogged() && !input { BACKLOGGED_DRAIN_BUDGET } else { DRAIN_BUDGET });
        self.tree.frame_interval = frame_interval(self.events.backlogged());
        if more {
            ui.ctx().request_repaint_after(self.tree.frame_interval);
        }
        let now = SystemTime::now();
        self.reveal_pending();
        if !ui.ctx().text_edit_focused() && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space)) {
            self.paused = !self.paused;
        }
        egui::Panel::top("toolbar").show(ui, |ui| {
            self.tabs_ui(ui);
            // Wrapped, not clipped, in a narrow window; Charts and Settings come before Pause, whose
            // label changes width, so that nothing moves under the pointer.
            ui.horizontal_wrapped(|ui| {
                self.tree.toolbar_ui(ui);
                if ui.selectable_label(self.dock_open, "Charts").on_hover_text("Show or hide the charts dock").clicked() {
                    self.dock_open = !self.dock_open;
                }
                if ui.selectable_label(self.settings_open, "Settings").on_hover_text("History limits, theme, display").clicked() {
                    self.settings_open = !self.settings_open;
                }
                let label = if self.paused { format!("Resume ({} batches waiting)", self.paused_events.len()) } else { "Pause".to_owned() };
                if ui
                    .selectable_label(self.paused, label)
                    .on_hover_text("Pause the live view (Space); messages wait, nothing is lost")
                    .clicked()
                {
                    self.paused = !self.paused;
                }
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                status_bar::ui(ui, &self.store, self.current);
                if let Some((text, at)) = &self.toast {
                    if at.elapsed() < Duration::from_secs(6) {
                        ui.separator();
                        ui.label(RichText::new(text).italics());
                    } else {
                        self.toast = None;
                    }
                }
            });
        });
        if self.dock_open {
            let mut chart_action = None;
            let Self { plots, store, dock_open, .. } = self;
            let most = (ui.available_height() * 0.5).max(DOCK_MIN_HEIGHT);
            egui::Panel::bottom("dock").resizable(true).default_size(340.0_f32.min(most)).size_range(DOCK_MIN_HEIGHT..=most).show(
                ui,
                |ui| {
                    ui.horizontal(|ui| {
                        ui.strong("Charts");
                        if ui.small_button("Hide charts").on_hover_text("The Charts button shows them again").clicked() {
                            *dock_open = false;
                        }
                    });
                    ui.separator();
                    chart_action = plots.ui(ui, &mut store.charts, now);
                },
            );
            if let Some(chart_action) = chart_action {
                self.chart_action(ui.ctx(), chart_action);
            }
        }
        let Some((action, inspector_action)) = self.panels_ui(ui, now) else { return };
        match inspector_action {
            Some(InspectorAction::SavePayload { bytes, suggested_name }) => self.send(Command::SavePayload { bytes, suggested_name }),
            Some(InspectorAction::Plot { topic, path }) => self.plot(topic, path),
            None => {}
        }
        if let Some(action) = action {
            self.act(action);
        }
        self.publish_requests();
        self.confirm_ui(ui.ctx());
        self.save_to_ui(ui.ctx());
        self.connections_ui(ui.ctx());
        let mut settings = self.settings.clone();
        settings.sort = self.tree.rows.sort();
        if settings_panel::ui(ui.ctx(), &mut self.settings_open, &mut settings, self.store.used_bytes(), self.store.evicted())
            || settings != self.settings
        {
            self.apply_settings(ui.ctx(), settings);
        }
        // Rates shown in the tree decay with time: keep the view fresh while messages flow.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}

/// Key of the chart definitions in eframe's storage.
pub const CHARTS_STORAGE_KEY: &str = "mqscope-charts";

/// eframe's view of the explorer.
pub struct GuiApp(pub ExplorerApp);

impl eframe::App for GuiApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.0.shutdown();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, settings_panel::STORAGE_KEY, &self.0.settings);
        eframe::set_value(storage, CHARTS_STORAGE_KEY, &self.0.store.charts.defs());
    }
}
