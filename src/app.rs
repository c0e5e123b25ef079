//! The explorer window: drains runtime events into the [`Store`] and lays out the panels.
//!
//! Owns: [`ExplorerApp`] (store, panel states, the channel ends, what a pause holds back, pending
//! confirmation) and its eframe wrapper. The UI thread never waits: events are drained with
//! `try_recv` for at most a few milliseconds per frame, and commands are sent with `try_send`.

use std::time::{Duration, Instant, SystemTime};

use egui::{Key, Modifiers, RichText};
use tokio::sync::mpsc;

use crate::model::charts::{ChartDef, PALETTE};
use crate::model::payload::JsonPath;
use crate::model::profile::{Profile, ProfileFile};
use crate::model::{ConnId, Held, SeriesDef, Store, format};
use crate::protocol::{Command, EventReceiver, ProfilesOrigin, RgbaImage};
use crate::ui::availability_panel::AvailabilityPanel;
use crate::ui::broker_security_panel::BrokerSecurityPanel;
use crate::ui::capture_panel::CapturePanel;
use crate::ui::certs_panel::{CertsAction, CertsPanel};
use crate::ui::clients_panel::ClientsPanel;
use crate::ui::connection_panel::ConnectionPanel;
use crate::ui::faults_panel::FaultsPanel;
use crate::ui::message_panel::{InspectorAction, MessagePanel};
use crate::ui::plot_panel::{ChartAction, PlotPanel};
use crate::ui::publish_panel::PublishPanel;
use crate::ui::retained_panel::RetainedPanel;
use crate::ui::settings_panel::{self, Settings};
use crate::ui::sparkplug_panel::{SparkplugAction, SparkplugPanel};
use crate::ui::status_bar;
use crate::ui::subscriptions_panel::SubscriptionsPanel;
use crate::ui::talkers_panel::{RateSparkline, TalkersPanel};
use crate::ui::timer_panel::TimerPanel;
use crate::ui::topic_tree_panel::{TopicTreePanel, TreeAction};
use crate::ui::trace_panel::TracePanel;

mod capture;
mod chrome;
mod decoders;
mod ingest;
mod inside;
mod panels;

pub use capture::Recording;
pub use ingest::{BACKLOGGED_FRAME_INTERVAL, DATA_FRAME_INTERVAL, FramePacing, data_frame_interval, frame_interval};

/// The tabs of the bottom dock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DockTab {
    /// Charts of numeric values.
    #[default]
    Charts,
    /// The busiest topics and subtrees.
    Talkers,
    /// The embedded broker's sessions, from inside.
    Clients,
    /// The embedded broker's subscriptions, from inside.
    Subscriptions,
    /// The embedded broker's retained store, from inside.
    Retained,
    /// The embedded broker's packet trace.
    Trace,
    /// Faults injected into the embedded broker.
    Faults,
    /// Every client's will next to the retained status it would set.
    Availability,
    /// Sparkplug B edge nodes and devices of the current connection.
    Sparkplug,
}

impl DockTab {
    /// Whether the tab shows the embedded broker from inside.
    #[must_use]
    pub const fn is_broker(self) -> bool {
        matches!(self, Self::Clients | Self::Subscriptions | Self::Retained | Self::Trace | Self::Faults | Self::Availability)
    }
}

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
    /// The button that says yes ("Delete", "Disconnect", …).
    yes: &'static str,
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
    /// The Top talkers tab of the bottom dock.
    pub talkers: TalkersPanel,
    /// The Clients tab of the bottom dock.
    pub clients: ClientsPanel,
    /// The Subscriptions tab of the bottom dock.
    pub subscriptions: SubscriptionsPanel,
    /// The Retained tab of the bottom dock.
    pub retained: RetainedPanel,
    /// The Trace tab of the bottom dock.
    pub trace: TracePanel,
    /// The Faults tab of the bottom dock.
    pub faults: FaultsPanel,
    /// The Availability tab of the bottom dock.
    pub availability: AvailabilityPanel,
    /// The Sparkplug tab of the bottom dock, and its command editor.
    pub sparkplug: SparkplugPanel,
    /// When the active faults were last asked for (while any is active, wherever the view is).
    faults_polled: Option<Instant>,
    /// The broker's retained store was asked for since "retained only" was turned on for Local.
    retained_imported: bool,
    /// Which broker tab last asked for which snapshots, and when.
    inside_polled: Option<((DockTab, Vec<crate::protocol::InspectRequest>), Instant)>,
    /// The selected node's rates, under the tree.
    sparkline: RateSparkline,
    /// The bottom dock is shown.
    pub dock_open: bool,
    /// The publish panel is unfolded (it folds to a strip by hand or in a narrow window).
    pub publish_open: bool,
    /// The dock's tab in front.
    pub dock_tab: DockTab,
    /// A topic to reveal and select as soon as it appears (`mqscope --select`).
    pub pending_select: Option<String>,
    /// The connection manager.
    pub connections: ConnectionPanel,
    /// The export, open-capture and record windows.
    pub capture: CapturePanel,
    /// Timed publishing and the simulator.
    pub timers: TimerPanel,
    /// Which decoder applies to which topics (saved as `decoders.toml`), with the .proto files compiled.
    pub decoders: crate::model::decode::Decoders,
    /// The Decoders window.
    pub decoders_window: crate::ui::decoders_panel::DecodersPanel,
    /// Recordings running, per connection.
    pub recordings: std::collections::HashMap<ConnId, capture::Recording>,
    /// Persisted settings.
    pub settings: Settings,
    /// The Settings window's certificate generation.
    pub certs: CertsPanel,
    /// The Settings window's broker TLS and access section.
    pub broker_security: BrokerSecurityPanel,
    /// Settings window visible.
    settings_open: bool,
    /// While true, message batches wait in `held` instead of changing the view.
    pub paused: bool,
    /// When the view was paused: rates are shown as of then.
    paused_at: Option<SystemTime>,
    /// What arrived while paused, and (after resuming) is still to be folded in.
    held: Held,
    confirm: Option<Confirm>,
    /// A save waiting for a typed path (no file dialog here).
    save_to: Option<SaveTo>,
    /// How often arriving data may ask for a frame, shared with the runtime's waker: set every frame
    /// from the rate of arriving messages.
    pub pacing: FramePacing,
    /// Append the window's figures to the stats file this often (`mqscope --stats-file`).
    pub stats_every: Option<Duration>,
    /// When the process started (for the time to the first frame).
    pub launched_at: Instant,
    /// Milliseconds from launch to the first frame, once drawn.
    first_frame_ms: Option<u128>,
    stats_sent_at: Option<Instant>,
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
            talkers: TalkersPanel::default(),
            clients: ClientsPanel::default(),
            subscriptions: SubscriptionsPanel::default(),
            retained: RetainedPanel::default(),
            trace: TracePanel::default(),
            faults: FaultsPanel::default(),
            availability: AvailabilityPanel::default(),
            sparkplug: SparkplugPanel::default(),
            faults_polled: None,
            retained_imported: false,
            inside_polled: None,
            sparkline: RateSparkline::default(),
            dock_open: false,
            publish_open: true,
            dock_tab: DockTab::default(),
            pending_select: None,
            connections: ConnectionPanel::default(),
            capture: CapturePanel::default(),
            recordings: std::collections::HashMap::new(),
            timers: TimerPanel::default(),
            decoders: crate::model::decode::Decoders::default(),
            decoders_window: crate::ui::decoders_panel::DecodersPanel::default(),
            settings: Settings::default(),
            certs: CertsPanel::default(),
            broker_security: BrokerSecurityPanel::default(),
            settings_open: false,
            paused: false,
            paused_at: None,
            held: Held::default(),
            confirm: None,
            save_to: None,
            pacing: FramePacing::default(),
            stats_every: None,
            launched_at: Instant::now(),
            first_frame_ms: None,
            stats_sent_at: None,
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
        if settings.broker != self.settings.broker {
            // At start (saved settings) and on Apply: the embedded broker takes them.
            self.send(Command::ConfigureBroker(Box::new(settings.broker.clone())));
        }
        self.settings = settings;
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

    /// A saved connection to the embedded broker's TLS listener with generated certificates in
    /// `dir`: the CA to trust and the client certificate, so that mutual TLS works too.
    fn add_tls_profile(&mut self, dir: &std::path::Path) {
        use crate::model::profile::{TlsOptions, Transport};
        let file = |name: &str| dir.join(name).display().to_string();
        let name = "Local TLS (generated certificates)".to_owned();
        let profile = Profile {
            name: name.clone(),
            host: "localhost".into(),
            port: self.settings.broker.tls_port.unwrap_or(8883),
            transport: Transport::Mqtts,
            client_id: format!("mqscope-tls-{}", crate::ui::clock_seed() % 100_000),
            tls: TlsOptions {
                ca_file: file("ca.pem"),
                client_cert_file: file("client.pem"),
                client_key_file: file("client-key.pem"),
                ..TlsOptions::default()
            },
            ..Profile::default()
        };
        self.connections.profiles.retain(|p| p.name != name);
        self.connections.profiles.push(profile);
        let file = ProfileFile { profiles: self.connections.profiles.clone() };
        self.send(Command::SaveProfiles { file, check: None });
        self.connections.open = true;
        self.toast = Some((format!("Added the connection \"{name}\" (Connections…)"), Instant::now()));
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
        self.plot_decoded(topic, path, None);
    }

    /// [`Self::plot`] reading payloads through `decoder` (a field of the decoded value).
    pub fn plot_decoded(&mut self, topic: String, path: Option<JsonPath>, decoder: Option<crate::model::decode::Decoder>) {
        self.plot_through(topic, path, decoder, None);
    }

    /// [`Self::plot_decoded`], through the Protobuf message type `proto` when it is one.
    pub fn plot_through(
        &mut self,
        topic: String,
        path: Option<JsonPath>,
        decoder: Option<crate::model::decode::Decoder>,
        proto: Option<crate::model::decode::ProtoRef>,
    ) {
        let target = self.plots.current;
        let color = self.store.charts.charts().get(target).map_or(PALETTE[0], crate::model::Chart::next_color);
        let def = SeriesDef::new(self.current, topic, path, color).with_decoder(decoder).with_proto(proto);
        let label = def.label();
        let (chart, _) = self.store.plot(Some(target), def);
        self.plots.show_chart(&self.store.charts, chart);
        self.dock_open = true;
        self.dock_tab = DockTab::Charts;
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
            TreeAction::BindDecoder { filter, decoder } => self.bind_decoder(filter, decoder),
            TreeAction::BindProtobuf { filter } => {
                let decoder = crate::model::decode::Decoder::Protobuf;
                self.decoders_window.open_for(filter, decoder, &self.decoders.bindings);
            }
            TreeAction::PublishTo { topic, payload } => self.publish.prefill(topic, payload),
            TreeAction::Export { under } => self.export_below(Some(under)),
            TreeAction::SparkplugCommand { group, node, device } => self.sparkplug_act(SparkplugAction::Command { group, node, device }),
            TreeAction::DeleteRetained { topics, under } => {
                let text = if topics.len() == 1 {
                    format!("Delete the retained value of {under}?")
                } else {
                    format!("Delete {} retained values under {under}/?", format::count(topics.len() as u64))
                };
                self.confirm = Some(Confirm { text, yes: "Delete", command: Command::DeleteRetained { conn_id: self.current, topics } });
            }
        }
    }

    /// What the publish panel asked for this frame: a file dialog, saving templates.
    fn publish_requests(&mut self) {
        if std::mem::take(&mut self.publish.timer_requested) {
            self.timers.open_with(self.publish.form.clone());
        }
        if std::mem::take(&mut self.publish.load_requested) {
            self.send(Command::LoadPayloadFile);
        }
        if std::mem::take(&mut self.publish.templates_dirty) {
            let file =
                crate::model::publish::TemplateFile { templates: self.publish.templates.clone(), history: self.publish.history.clone() };
            self.send(Command::SaveTemplates(file));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let input = ui.input(|i| !i.events.is_empty());
        let more = self.drain_events_for(self.drain_budget(input));
        let now = SystemTime::now();
        let arriving: f64 = self.store.conns.iter().map(|c| c.tree.node(crate::model::NodeId::ROOT).rate_per_sec(now)).sum();
        self.tree.frame_interval = frame_interval(arriving, self.events.backlogged() && self.local_busy());
        self.pacing.set(self.tree.frame_interval);
        self.tree.rates_at = self.paused_at;
        if more {
            if self.catching_up() && !self.local_busy() {
                ui.ctx().request_repaint();
            } else {
                ui.ctx().request_repaint_after(self.tree.frame_interval);
            }
        }
        self.reveal_pending();
        if !ui.ctx().text_edit_focused() && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space)) {
            self.set_paused(!self.paused);
        }
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        self.faults_strip_ui(ui);
        self.import_retained_store();
        if self.dock_open {
            self.dock_ui(ui, now);
        }
        // The tree's "no sub" badge, only while the Subscriptions tab keeps its snapshot fresh.
        let fresh = self.dock_open && self.dock_tab == DockTab::Subscriptions && self.current == ConnId::LOCAL;
        self.tree.unheard = if fresh { self.subscriptions.unheard() } else { None };
        let Some((action, inspector_action)) = self.panels_ui(ui, now) else { return };
        match inspector_action {
            Some(InspectorAction::SavePayload { bytes, suggested_name }) => self.send(Command::SavePayload { bytes, suggested_name }),
            Some(InspectorAction::Plot { topic, path, decoder, proto }) => self.plot_through(topic, path, decoder, proto),
            None => {}
        }
        if let Some(action) = action {
            self.act(action);
        }
        self.publish_requests();
        self.sparkplug.command.ui(ui.ctx(), &self.commands, now);
        self.confirm_ui(ui.ctx());
        self.save_to_ui(ui.ctx());
        self.connections_ui(ui.ctx());
        self.tool_windows_ui(ui.ctx());
        let mut settings = self.settings.clone();
        settings.sort = self.tree.rows.sort();
        let (mut generate, mut apply) = (None, None);
        let (used, evicted) = (self.store.used_bytes(), self.store.evicted());
        let (certs, security, saved) = (&mut self.certs, &mut self.broker_security, &self.settings.broker);
        let changed = settings_panel::ui(ui.ctx(), &mut self.settings_open, &mut settings, used, evicted, |ui| {
            apply = security.ui(ui, saved);
            ui.separator();
            generate = certs.ui(ui);
        });
        if let Some(broker) = apply {
            if broker == self.settings.broker {
                // Unchanged: applied again (the files may have changed on disk).
                self.send(Command::ConfigureBroker(Box::new(broker)));
            } else {
                settings.broker = broker; // applied below, and saved
            }
        }
        if changed || settings != self.settings {
            self.apply_settings(ui.ctx(), settings);
        }
        match generate {
            Some(CertsAction::Generate(command)) => {
                let sent = self.commands.try_send(command).is_ok();
                if !sent {
                    self.certs.not_sent();
                    self.toast = Some(("Busy: the runtime is behind; try again.".to_owned(), Instant::now()));
                }
            }
            Some(CertsAction::Use(dir)) => self.broker_security.use_certificates(&self.settings.broker, &dir),
            Some(CertsAction::Profile(dir)) => self.add_tls_profile(&dir),
            None => {}
        }
        // Rates shown in the tree decay with time: keep the view fresh while messages flow.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
        if self.first_frame_ms.is_none() {
            let ms = self.launched_at.elapsed().as_millis();
            tracing::info!(ms, "first frame");
            self.first_frame_ms = Some(ms);
        }
        self.send_stats(ui.ctx());
    }

    /// The status bar, and the result of the last action for a few seconds.
    fn status_ui(&mut self, ui: &mut egui::Ui) {
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
    }

    /// The top bar: connection tabs, then filter, sort, the dock and settings toggles, and pause.
    /// Wrapped, not clipped, in a narrow window; Pause comes last, as its label changes width, so
    /// that nothing moves under the pointer.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        self.tabs_ui(ui);
        ui.horizontal_wrapped(|ui| {
            self.tree.toolbar_ui(ui);
            for (tab, label, hover) in [
                (DockTab::Charts, "Charts", "Show or hide the charts"),
                (DockTab::Talkers, "Top talkers", "Show or hide the busiest topics and subtrees, live"),
                (DockTab::Clients, "Broker", "Show or hide the embedded broker from inside: its clients, subscriptions and retained store"),
            ] {
                let shown = self.dock_open && (self.dock_tab == tab || (tab.is_broker() && self.dock_tab.is_broker()));
                if ui.selectable_label(shown, label).on_hover_text(hover).clicked() {
                    self.dock_open = !shown;
                    if !(tab.is_broker() && self.dock_tab.is_broker()) {
                        self.dock_tab = tab;
                    }
                }
            }
            if ui.selectable_label(self.settings_open, "Settings").on_hover_text("History limits, theme, display").clicked() {
                self.settings_open = !self.settings_open;
            }
            let label = if self.paused { format!("Resume ({} waiting)", format::count(self.waiting())) } else { "Pause".to_owned() };
            if ui
                .selectable_label(self.paused, label)
                .on_hover_text(
                    "Pause the live view (Space). Messages wait, nothing is lost: after 200k, each topic keeps its latest \
                     message and count, and older ones are counted as thinned history. Rates are shown as of the pause.",
                )
                .clicked()
            {
                self.set_paused(!self.paused);
            }
        });
    }

    /// The bottom dock: charts, top talkers, the broker from inside.
    fn dock_ui(&mut self, ui: &mut egui::Ui, now: SystemTime) {
        let mut chart_action = None;
        let mut picked = None;
        let mut sparkplug = None;
        let most = (ui.available_height() * 0.5).max(DOCK_MIN_HEIGHT);
        egui::Panel::bottom("dock").resizable(true).default_size(340.0_f32.min(most)).size_range(DOCK_MIN_HEIGHT..=most).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.dock_tab, DockTab::Charts, "Charts");
                ui.selectable_value(&mut self.dock_tab, DockTab::Talkers, "Top talkers");
                ui.selectable_value(&mut self.dock_tab, DockTab::Sparkplug, "Sparkplug");
                ui.separator();
                ui.selectable_value(&mut self.dock_tab, DockTab::Clients, "Clients");
                ui.selectable_value(&mut self.dock_tab, DockTab::Subscriptions, "Subscriptions");
                ui.selectable_value(&mut self.dock_tab, DockTab::Retained, "Retained");
                ui.selectable_value(&mut self.dock_tab, DockTab::Availability, "Availability");
                ui.selectable_value(&mut self.dock_tab, DockTab::Trace, "Trace");
                ui.selectable_value(&mut self.dock_tab, DockTab::Faults, "Faults");
                ui.separator();
                if ui
                    .small_button("Hide")
                    .on_hover_text("Hide the dock; the Charts, Top talkers and Broker buttons show it again")
                    .clicked()
                {
                    self.dock_open = false;
                }
            });
            ui.separator();
            match self.dock_tab {
                DockTab::Charts => chart_action = self.plots.ui(ui, &mut self.store.charts, now),
                DockTab::Talkers => {
                    if let Some(conn) = self.store.conn(self.current) {
                        picked = self.talkers.ui(ui, conn.id, &conn.tree, self.paused_at.unwrap_or(now));
                    }
                }
                DockTab::Sparkplug => {
                    if let Some(conn) = self.store.conn(self.current) {
                        sparkplug = self.sparkplug.ui(ui, conn, now);
                    }
                }
                tab @ (DockTab::Clients
                | DockTab::Subscriptions
                | DockTab::Retained
                | DockTab::Trace
                | DockTab::Faults
                | DockTab::Availability) => {
                    self.inside_ui(ui, tab);
                }
            }
        });
        if let Some(chart_action) = chart_action {
            self.chart_action(ui.ctx(), chart_action);
        }
        if let Some(id) = picked
            && let Some(conn) = self.store.conn(self.current)
        {
            self.tree.reveal(&conn.tree, id);
        }
        if let Some(action) = sparkplug {
            self.sparkplug_act(action);
        }
    }

    /// Carry out what the Sparkplug tab (or the tree's menu) asked for.
    fn sparkplug_act(&mut self, action: SparkplugAction) {
        let Some(conn) = self.store.conn(self.current) else { return };
        match action {
            SparkplugAction::Reveal(topics) => {
                if let Some(id) = topics.iter().find_map(|t| conn.tree.find(t)) {
                    self.tree.reveal(&conn.tree, id);
                }
            }
            SparkplugAction::Command { group, node, device } => self.sparkplug.command.open(conn, &group, &node, device.as_deref()),
        }
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
