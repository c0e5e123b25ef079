//! The explorer window: drains runtime events into the [`Store`] and lays out the panels.
//!
//! Owns: [`ExplorerApp`] (store, panel states, the channel ends) and its eframe wrapper. The UI thread
//! never waits: events are drained with `try_recv` for at most a few milliseconds per frame, and
//! commands are sent with `try_send`.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::model::{ConnId, Store};
use crate::protocol::{Command, Event};
use crate::ui::{message_panel::MessagePanel, publish_panel::PublishPanel, status_bar, topic_tree_panel::TopicTreePanel};

/// Longest time spent folding events per frame; the rest waits for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);

/// The explorer's state: data, view state and the runtime's channel ends.
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
    /// A topic to reveal and select as soon as it appears (`mqscope --select`).
    pub pending_select: Option<String>,
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
}

impl ExplorerApp {
    /// A new explorer talking to a runtime through these channel ends.
    #[must_use]
    pub fn new(commands: mpsc::Sender<Command>, events: mpsc::Receiver<Event>) -> Self {
        Self {
            store: Store::default(),
            current: ConnId::LOCAL,
            tree: TopicTreePanel::default(),
            message: MessagePanel::default(),
            publish: PublishPanel::default(),
            pending_select: None,
            commands,
            events,
        }
    }

    /// Fold pending events into the store, for at most [`DRAIN_BUDGET`]. True if more are waiting.
    pub fn drain_events(&mut self) -> bool {
        let start = Instant::now();
        while let Ok(event) = self.events.try_recv() {
            event.apply_to(&mut self.store);
            if start.elapsed() > DRAIN_BUDGET {
                return true;
            }
        }
        false
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

    /// One frame: drain events, then draw every panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if self.drain_events() {
            ui.ctx().request_repaint();
        }
        let now = SystemTime::now();
        self.reveal_pending();
        let Self { store, current, tree, message, publish, commands, .. } = self;
        egui::Panel::bottom("status").show(ui, |ui| status_bar::ui(ui, store));
        let Some(conn) = store.conn(*current) else { return };
        let hint = match store.broker.local_addr {
            Some(addr) if *current == ConnId::LOCAL => {
                format!("Waiting for messages on {addr}. Try:\nmosquitto_pub -h {} -p {} -t hello -m world", addr.ip(), addr.port())
            }
            _ => "Waiting for messages…".to_owned(),
        };
        egui::Panel::left("topics").resizable(true).default_size(460.0).show(ui, |ui| {
            tree.ui(ui, conn.id, &conn.tree, now, &hint);
        });
        egui::Panel::right("publish").resizable(true).default_size(280.0).show(ui, |ui| {
            publish.ui(ui, conn.id, commands);
        });
        egui::CentralPanel::default().show(ui, |ui| {
            message.ui(ui, &conn.tree, tree.selected, now);
        });
        // A rate shown in the tree decays with time: keep the view fresh while messages flow.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}

/// eframe's view of the explorer.
pub struct GuiApp(pub ExplorerApp);

impl eframe::App for GuiApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.0.shutdown();
    }
}
