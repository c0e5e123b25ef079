//! Export and open-capture: the app's side of [`CapturePanel`]'s actions.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use egui::RichText;

use super::ExplorerApp;
use crate::model::export::Progress;
use crate::model::{ConnId, ConnStatus, NodeId, format};
use crate::protocol::Command;
use crate::protocol::recording::RecordStats;
use crate::ui::capture_panel::CaptureAction;

impl ExplorerApp {
    /// Open the export window for what history holds at and below `under` (`None`: the whole
    /// current connection). The messages are taken now (shared, not copied): the export is of this moment.
    pub fn export_below(&mut self, under: Option<String>) {
        let Some(conn) = self.store.conn(self.current) else { return };
        let root = match &under {
            Some(path) => match conn.tree.find_path(path) {
                Some(id) => id,
                None => return,
            },
            None => NodeId::ROOT,
        };
        let msgs = conn.tree.messages_below(root);
        self.capture.start_export(under, msgs);
    }

    /// Open the "Record" window for the current connection.
    pub fn record_window(&mut self) {
        self.capture.record.get_or_insert_with(Default::default);
    }

    /// Stop the recording of `conn_id`.
    pub fn stop_recording(&mut self, conn_id: ConnId) {
        self.send(Command::StopRecording { conn_id });
    }

    /// Start a timer the timed publishing window asked for, and list it there.
    pub(super) fn start_timer(&mut self, spec: Box<crate::model::timer::TimerSpec>, conn: String) {
        let stats = Arc::new(crate::protocol::timers::TimerStats::default());
        self.timers.running.push(crate::ui::timer_panel::Running { conn, what: spec.describe(), stats: Arc::clone(&stats) });
        self.send(Command::StartTimer { spec, stats });
    }

    /// Open the "Open capture" window.
    pub fn open_capture_window(&mut self) {
        self.capture.open.get_or_insert_with(Default::default);
    }

    /// Carry out what the export and open windows ask.
    pub(super) fn capture_act(&mut self, action: CaptureAction) {
        match action {
            CaptureAction::Browse(field) => self.send(Command::PickFile { field }),
            CaptureAction::Replay { path, speed, repeat, remap } => {
                let progress = Progress::default();
                if let Some(form) = &mut self.capture.replay {
                    form.job = Some(progress.clone());
                }
                let plan = crate::model::export::ReplayPlan { conn_id: self.current, path, speed, repeat, remap };
                self.send(Command::Replay { plan: Box::new(plan), progress });
            }
            CaptureAction::Record { path, filter, max_bytes, max_duration } => {
                let stats = Arc::new(RecordStats::default());
                let conn_id = self.current;
                self.recordings.insert(conn_id, Recording { path: path.clone(), stats: Arc::clone(&stats) });
                self.send(Command::StartRecording { conn_id, path, filter, max_bytes, max_duration, stats });
            }
            CaptureAction::Export { path, format } => {
                let Some(form) = &mut self.capture.export else { return };
                let progress = Progress::default();
                form.job = Some(progress.clone());
                let msgs = std::mem::take(&mut form.msgs);
                self.send(Command::Export { path, format, msgs, progress });
            }
            CaptureAction::Open { path } => {
                let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                let conn_id = self.store.open_conn(&format!("capture {name}"), &path.display().to_string());
                if let Some(conn) = self.store.conn_mut(conn_id) {
                    conn.tree.clear();
                    conn.status = ConnStatus::Connecting;
                }
                self.current = conn_id;
                let progress = Progress::default();
                if let Some(form) = &mut self.capture.open {
                    form.job = Some(progress.clone());
                }
                self.send(Command::OpenCapture { conn_id, path, progress });
            }
        }
    }
}

/// A recording running for a connection, as the window shows it.
#[derive(Debug)]
pub struct Recording {
    /// The file.
    pub path: std::path::PathBuf,
    /// Written so far; finished.
    pub stats: Arc<RecordStats>,
}

/// What the red dot asks for.
#[derive(Debug)]
pub enum Badge {
    /// Nothing: it runs.
    Running,
    /// The user clicked Stop.
    Stop,
    /// It ended (bound reached, stopped, failed): say this once and forget it.
    Ended(String),
}

/// The red dot of a recording, drawn in its connection's tab: what has been written so far, and Stop.
pub fn badge_ui(ui: &mut egui::Ui, rec: &Recording) -> Badge {
    let stats = &rec.stats;
    if stats.finished.load(Relaxed) {
        let error = stats.error.lock().ok().and_then(|e| e.clone());
        return Badge::Ended(match error {
            Some(e) => format!("Recording stopped: {e}"),
            None => format!(
                "Recorded {} messages ({}) to {}",
                format::count(stats.messages.load(Relaxed)),
                format::bytes(stats.bytes.load(Relaxed)),
                rec.path.display()
            ),
        });
    }
    let dropped = stats.dropped.load(Relaxed);
    let mut text = format!("REC {} · {}", format::count(stats.messages.load(Relaxed)), format::bytes(stats.bytes.load(Relaxed)));
    if dropped > 0 {
        write!(text, " · {} dropped", format::count(dropped)).ok();
    }
    let hover = format!("Recording to {}: messages written and file size", rec.path.display());
    let red = egui::Color32::from_rgb(0xE0, 0x30, 0x30);
    ui.label(RichText::new("●").monospace().color(red)).on_hover_text(&hover);
    ui.label(RichText::new(text).strong().color(red)).on_hover_text(hover);
    ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
    if ui.small_button("Stop recording").clicked() { Badge::Stop } else { Badge::Running }
}
