//! How the window takes in what the runtime sends: events drained for a time budget per frame,
//! the budget and the pace of frames chosen from the load (a busy embedded broker, a backlog from
//! elsewhere, a steady stream), what a pause holds back, and the stats line for scripts.

use std::time::{Duration, Instant, SystemTime};

use super::ExplorerApp;
use crate::model::Batch;
use crate::protocol::{BATCH, Command, Event, FileField};
pub use crate::ui::{DATA_FRAME_INTERVAL, FramePacing, data_frame_interval};

/// Longest time spent folding events per frame; the rest waits for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Longest time spent folding per frame while catching up with what waits, when it does not come
/// from a busy embedded broker (an external broker's burst, a resumed pause); the next frame follows
/// at once. So a million retained topics arrive in seconds, frames still come (about 8 a second) and
/// input still cuts a frame short.
const CATCH_UP_DRAIN_BUDGET: Duration = Duration::from_millis(100);
/// Messages per second into the embedded broker above which it counts as busy: a backlog is then
/// folded with [`BACKLOGGED_DRAIN_BUDGET`], leaving the cores to the broker.
const LOCAL_BUSY_MSGS_PER_SEC: f64 = 20_000.0;
/// While the window is backlogged (more arrives than it folds in, [`crate::protocol::BACKLOG`]),
/// frames asked for by data come at most this often ...
pub const BACKLOGGED_FRAME_INTERVAL: Duration = Duration::from_millis(120);
/// ... and each folds messages for this long (unless it answers input): a sixth of a core, close to
/// the fifth of [`DRAIN_BUDGET`] per [`DATA_FRAME_INTERVAL`] (so a backlog does not starve folding
/// further), in fewer frames; what does not fit is coalesced per topic. A frame also costs several
/// milliseconds of CPU to draw on a software renderer; under a flood, the embedded broker in the
/// same process needs those cores more. Measured with `scripts/bench-window.sh` (README, "Performance").
const BACKLOGGED_DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// The longest wait before the next frame that data arriving at `msgs_per_sec` asks for, while
/// the window is `backlogged` by a busy embedded broker or not.
#[must_use]
pub fn frame_interval(msgs_per_sec: f64, backlogged: bool) -> Duration {
    let data = data_frame_interval(msgs_per_sec);
    if backlogged { data.max(BACKLOGGED_FRAME_INTERVAL) } else { data }
}

impl ExplorerApp {
    /// Fold pending events into the store, for at most [`DRAIN_BUDGET`]. True if more are waiting.
    pub fn drain_events(&mut self) -> bool {
        self.drain_events_for(DRAIN_BUDGET)
    }

    /// Pause or resume the live view.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        self.paused_at = paused.then(SystemTime::now);
    }

    /// Messages that arrived while paused and are not in the view yet.
    #[must_use]
    pub fn waiting(&self) -> u64 {
        self.held.waiting()
    }

    /// Fold everything held back by a pause into the store at once (before an event that must
    /// come after it, such as a retained value's deletion).
    fn fold_held(&mut self) {
        while let Some((conn_id, batch)) = self.held.pop(usize::MAX) {
            self.store.fold(conn_id, batch);
        }
    }

    /// Fold pending events into the store, for at most `budget`. True if more are waiting.
    pub(super) fn drain_events_for(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        if !self.paused {
            while let Some((conn_id, batch)) = self.held.pop(BATCH) {
                self.store.fold(conn_id, batch);
                if start.elapsed() > budget {
                    return true;
                }
            }
        }
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Messages { conn_id, msgs } if self.paused => self.held.hold(conn_id, Batch::Messages(msgs)),
                Event::Coalesced { conn_id, runs } if self.paused => self.held.hold(conn_id, Batch::Runs(runs)),
                event @ Event::RetainedDeleted { .. } => {
                    self.fold_held();
                    event.apply_to(&mut self.store);
                    // A shown Retained tab asks again now, not at its next turn.
                    self.inside_polled = None;
                }
                Event::DecodersLoaded(file) => {
                    // The runtime compiles the files of the bindings it loaded (runtime::decoders).
                    for missing in self.decoders.set_bindings(file) {
                        self.decoders.schemas.requested(missing);
                    }
                }
                Event::ProtoCompiled { file, result } => self.proto_compiled(file, result),
                Event::TemplatesLoaded(file) => {
                    self.publish.templates = file.templates;
                    self.publish.history = file.history;
                }
                Event::PublishResult { id, outcome, .. } => {
                    if !self.sparkplug.command.result(id, &outcome) {
                        self.publish.result(id, outcome);
                    }
                }
                Event::SaveNeedsPath { bytes, path, title, reason } => {
                    self.save_to = Some(super::SaveTo { bytes, path: path.display().to_string(), title, reason });
                }
                Event::PayloadFile { name, bytes } => self.publish.file_payload = Some((name, bytes)),
                Event::Profiles { file, origin } => self.profiles_event(file, origin),
                Event::ProfileRejected { field, message } => self.connections.rejected(field, message),
                Event::FilePicked {
                    field: field @ (FileField::ExportFile | FileField::CaptureFile | FileField::RecordFile | FileField::ReplayFile),
                    path,
                } => {
                    self.capture.file_picked(field, path);
                }
                Event::FilePicked { field: FileField::ProtoFile, path } => {
                    let action = self.decoders_window.file_picked(path);
                    self.decoders_act(action);
                }
                Event::FilePicked { field, path } => self.connections.file_picked(field, path),
                Event::CertificatesGenerated(outcome) => self.certs.finished(outcome),
                Event::BrokerConfigured(outcome) => self.broker_security.finished(outcome),
                Event::Error(text) | Event::Notice(text) => self.toast = Some((text, Instant::now())),
                event => event.apply_to(&mut self.store),
            }
            if start.elapsed() > budget {
                return true;
            }
        }
        false
    }

    /// One frame: drain events, then draw every panel.
    /// How long this frame may fold events: a little when nothing waits or the user is acting; while
    /// backlogged, a sixth of a core if the embedded broker is busy (it needs the cores more), else
    /// most of the frame, to catch up.
    pub(super) fn drain_budget(&self, input: bool) -> Duration {
        if input {
            DRAIN_BUDGET
        } else if self.local_busy() {
            if self.events.backlogged() { BACKLOGGED_DRAIN_BUDGET } else { DRAIN_BUDGET }
        } else if self.catching_up() {
            CATCH_UP_DRAIN_BUDGET
        } else {
            DRAIN_BUDGET
        }
    }

    /// More than a batch waits to be folded in (and the view is not paused): fold it in long
    /// frames, one after the other.
    pub(super) fn catching_up(&self) -> bool {
        let held = if self.paused { 0 } else { self.held.waiting() };
        self.events.in_flight() as u64 + held > crate::protocol::BATCH as u64
    }

    /// The embedded broker routes enough messages that the window should leave it the cores.
    pub(super) fn local_busy(&self) -> bool {
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let rate = self.events.local_rate() as f64;
        rate > LOCAL_BUSY_MSGS_PER_SEC
    }

    /// Every [`Self::stats_every`], one JSON line of the window's figures for the runtime to append
    /// to the stats file (for scripts that measure the window from outside).
    pub(super) fn send_stats(&mut self, ctx: &egui::Context) {
        let Some(every) = self.stats_every else { return };
        ctx.request_repaint_after(every);
        if self.stats_sent_at.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.stats_sent_at = Some(Instant::now());
        let conns: Vec<serde_json::Value> = self
            .store
            .conns
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name, "connected": c.status.is_connected(), "topics": c.tree.topic_count(),
                    "messages": c.tree.message_count(), "thinned": c.tree.thinned(), "history_bytes": c.tree.used_bytes(),
                })
            })
            .collect();
        let line = serde_json::json!({
            "ms": self.launched_at.elapsed().as_millis(), "first_frame_ms": self.first_frame_ms,
            "in_flight": self.events.in_flight(), "waiting": self.held.waiting(), "conns": conns,
        });
        self.commands.try_send(Command::AppendStats(line.to_string())).ok();
    }
}
