//! The "Export messages" and "Open capture" windows: a format, a path (typed, or chosen with
//! Browse…, whose dialog runs off the UI thread), then a progress bar with Cancel while the runtime
//! writes or reads. The windows only read the shared [`Progress`]; they never wait for the work.

use std::sync::atomic::Ordering::Relaxed;

use egui::RichText;

use crate::model::export::{ExportFormat, Progress};
use crate::model::format;
use crate::protocol::FileField;

/// What the windows ask the app to do.
#[derive(Debug)]
pub enum CaptureAction {
    /// Export the form's messages to `path`.
    Export {
        /// Where.
        path: std::path::PathBuf,
        /// NDJSON or CSV.
        format: ExportFormat,
    },
    /// Open a capture file as a tab of its own.
    Open {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Record the current connection to `path`.
    Record {
        /// The capture file.
        path: std::path::PathBuf,
        /// Only these topics (`None`: all).
        filter: Option<String>,
        /// Stop at this size.
        max_bytes: Option<u64>,
        /// Stop after this long.
        max_duration: Option<std::time::Duration>,
    },
    /// Replay a capture into the current connection.
    Replay {
        /// The capture file.
        path: std::path::PathBuf,
        /// Recorded gaps divided by this; `None`: as fast as possible.
        speed: Option<f64>,
        /// In a loop, until stopped.
        repeat: bool,
        /// Replace this topic prefix with that one.
        remap: Option<(String, String)>,
    },
    /// Open a file dialog for this field.
    Browse(FileField),
}

/// The replay form.
#[derive(Debug)]
pub struct ReplayForm {
    /// Path, as typed.
    pub path: String,
    /// Speed, as typed (1 keeps the recorded gaps).
    pub speed: String,
    /// As fast as the connection takes them.
    pub max: bool,
    /// In a loop.
    pub repeat: bool,
    /// Topic prefix to replace (empty: none) …
    pub from: String,
    /// … and its replacement.
    pub to: String,
    /// What is wrong with the form.
    pub error: Option<String>,
    /// The running replay.
    pub job: Option<Progress>,
}

impl Default for ReplayForm {
    fn default() -> Self {
        Self {
            path: crate::storage::in_home("recording.ndjson").display().to_string(),
            speed: "1".into(),
            max: false,
            repeat: false,
            from: String::new(),
            to: String::new(),
            error: None,
            job: None,
        }
    }
}

impl ReplayForm {
    /// The action the form describes, or what is wrong with it.
    ///
    /// # Errors
    /// A missing path or a speed that is not a positive number.
    pub fn action(&self) -> Result<CaptureAction, String> {
        let path = self.path.trim();
        if path.is_empty() {
            return Err("A file name is needed.".into());
        }
        let speed = if self.max {
            None
        } else {
            Some(
                self.speed
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .ok_or("Speed: a number above 0 (1 keeps the recorded pace)")?,
            )
        };
        let remap = (!self.from.is_empty()).then(|| (self.from.clone(), self.to.clone()));
        Ok(CaptureAction::Replay { path: std::path::PathBuf::from(path), speed, repeat: self.repeat, remap })
    }
}

/// The record form.
#[derive(Debug)]
pub struct RecordForm {
    /// MQTT filter, `#` for everything.
    pub filter: String,
    /// Path, as typed.
    pub path: String,
    /// Stop at this many MiB (empty: no bound).
    pub max_mib: String,
    /// Stop after this many seconds (empty: no bound).
    pub max_secs: String,
    /// What is wrong with the form.
    pub error: Option<String>,
}

impl Default for RecordForm {
    fn default() -> Self {
        Self {
            filter: "#".into(),
            path: crate::storage::in_home("recording.ndjson").display().to_string(),
            max_mib: "1024".into(),
            max_secs: String::new(),
            error: None,
        }
    }
}

impl RecordForm {
    /// The action the form describes, or what is wrong with it.
    ///
    /// # Errors
    /// A bad filter, path or bound, in words for the line under the form.
    pub fn action(&self) -> Result<CaptureAction, String> {
        let filter = self.filter.trim();
        crate::topic::validate_topic_filter(filter).map_err(|e| format!("Filter: {e}"))?;
        let path = self.path.trim();
        if path.is_empty() {
            return Err("A file name is needed.".into());
        }
        let number = |text: &str, what: &str| -> Result<Option<u64>, String> {
            let t = text.trim();
            if t.is_empty() {
                Ok(None)
            } else {
                t.parse::<u64>().map(Some).map_err(|_| format!("{what}: a whole number, or empty for no limit"))
            }
        };
        let max_bytes = number(&self.max_mib, "Max size")?.map(|m| m.saturating_mul(1024 * 1024));
        let max_duration = number(&self.max_secs, "Max duration")?.map(std::time::Duration::from_secs);
        Ok(CaptureAction::Record {
            path: std::path::PathBuf::from(path),
            filter: (filter != "#").then(|| filter.to_owned()),
            max_bytes,
            max_duration,
        })
    }
}

/// The export form.
#[derive(Debug, Default)]
pub struct ExportForm {
    /// Subtree root, `None` for the whole connection.
    pub under: Option<String>,
    /// What history held there when the window opened (payloads shared, not copied).
    pub msgs: Vec<crate::model::Message>,
    /// Format.
    pub format: ExportFormat,
    /// Path, as typed.
    pub path: String,
    /// Why the path cannot be used.
    pub error: Option<String>,
    /// The running export.
    pub job: Option<Progress>,
}

/// The open form.
#[derive(Debug, Default)]
pub struct OpenForm {
    /// Path, as typed.
    pub path: String,
    /// Why the path cannot be used.
    pub error: Option<String>,
    /// The running load.
    pub job: Option<Progress>,
}

/// Both windows.
#[derive(Debug, Default)]
pub struct CapturePanel {
    /// The export window, when open.
    pub export: Option<ExportForm>,
    /// The open window, when open.
    pub open: Option<OpenForm>,
    /// The record window, when open.
    pub record: Option<RecordForm>,
    /// The replay window, when open.
    pub replay: Option<ReplayForm>,
}

/// A path field with Browse…; the error under it, when there is one.
fn path_row(ui: &mut egui::Ui, label: &str, path: &mut String, error: Option<&str>, field: FileField) -> Option<CaptureAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit = egui::TextEdit::singleline(path).desired_width(320.0).font(egui::TextStyle::Monospace);
        ui.add(edit).labelled_by(label.id);
        if ui.button("Browse…").on_hover_text("Choose the file in a dialog").clicked() {
            action = Some(CaptureAction::Browse(field));
        }
    });
    if let Some(error) = error {
        ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
    }
    action
}

/// A window closed while its job runs stops the job.
fn cancel(job: Option<&Progress>) {
    if let Some(job) = job {
        job.cancel.store(true, Relaxed);
    }
}

/// A running job: the bar, the count, Cancel. True while it runs.
fn job_ui(ui: &mut egui::Ui, job: &Progress, verb: &str) -> bool {
    if job.finished.load(Relaxed) {
        return false;
    }
    let done = job.done.load(Relaxed);
    ui.add(egui::ProgressBar::new(job.fraction()).show_percentage());
    ui.horizontal(|ui| {
        ui.label(format!("{verb} {} messages…", format::count(done)));
        if ui.button("Cancel").clicked() {
            job.cancel.store(true, Relaxed);
        }
    });
    ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
    true
}

impl CapturePanel {
    /// Open the export window for `msgs`, kept under `under` (`None`: everywhere).
    pub fn start_export(&mut self, under: Option<String>, msgs: Vec<crate::model::Message>) {
        let stem = under.as_deref().map_or_else(|| "messages".to_owned(), |u| u.replace(['/', '+', '#', ' '], "_"));
        let path = crate::storage::in_home(&format!("{stem}.ndjson")).display().to_string();
        self.export = Some(ExportForm { under, msgs, path, ..ExportForm::default() });
    }

    /// A path picked in a dialog.
    pub fn file_picked(&mut self, field: FileField, path: String) {
        match field {
            FileField::ExportFile => {
                if let Some(form) = &mut self.export {
                    form.path = path;
                }
            }
            FileField::CaptureFile => {
                if let Some(form) = &mut self.open {
                    form.path = path;
                }
            }
            FileField::RecordFile => {
                if let Some(form) = &mut self.record {
                    form.path = path;
                }
            }
            FileField::ReplayFile => {
                if let Some(form) = &mut self.replay {
                    form.path = path;
                }
            }
            _ => {}
        }
    }

    /// Draw the open windows.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<CaptureAction> {
        let export = self.export_ui(ctx);
        let record = self.record_ui(ctx);
        let open = self.open_ui(ctx);
        let replay = self.replay_ui(ctx);
        export.or(record).or(open).or(replay)
    }

    /// The replay window: the form, then progress with Pause and Stop while it runs.
    fn replay_ui(&mut self, ctx: &egui::Context) -> Option<CaptureAction> {
        let mut action = None;
        let Some(form) = &mut self.replay else { return None };
        let (mut open, mut done) = (true, false);
        super::centred_window("Replay", ctx).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
            ui.weak("Publish a capture's messages into this connection, keeping their recorded gaps (or faster).");
            if let Some(job) = &form.job {
                if job.finished.load(Relaxed) {
                    done = true;
                    return;
                }
                ui.add(egui::ProgressBar::new(job.fraction()).show_percentage());
                ui.horizontal(|ui| {
                    ui.label(format!("Replayed {} of {}", format::count(job.done.load(Relaxed)), format::count(job.total.load(Relaxed))));
                    let paused = job.paused.load(Relaxed);
                    if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
                        job.paused.store(!paused, Relaxed);
                    }
                    if ui.button("Stop").clicked() {
                        job.cancel.store(true, Relaxed);
                    }
                });
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
                return;
            }
            action = path_row(ui, "File", &mut form.path, None, FileField::ReplayFile).or(action.take());
            ui.horizontal(|ui| {
                let l = ui.label("Speed ×");
                ui.add_enabled(!form.max, egui::TextEdit::singleline(&mut form.speed).desired_width(50.0)).labelled_by(l.id);
                ui.checkbox(&mut form.max, "as fast as possible");
                ui.checkbox(&mut form.repeat, "loop");
            });
            ui.horizontal(|ui| {
                let l = ui.label("Replace prefix");
                ui.add(egui::TextEdit::singleline(&mut form.from).desired_width(110.0)).labelled_by(l.id);
                let l = ui.label("with");
                ui.add(egui::TextEdit::singleline(&mut form.to).desired_width(110.0)).labelled_by(l.id);
            });
            if let Some(error) = &form.error {
                ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            }
            if ui.button("Start replay").clicked() {
                match form.action() {
                    Ok(start) => {
                        form.error = None;
                        action = Some(start);
                    }
                    Err(e) => form.error = Some(e),
                }
            }
        });
        if !open || done {
            cancel(form.job.as_ref());
            self.replay = None;
        }
        action
    }

    /// The export window.
    fn export_ui(&mut self, ctx: &egui::Context) -> Option<CaptureAction> {
        let mut action = None;
        if let Some(form) = &mut self.export {
            let (mut open, mut done) = (true, false);
            let title = match &form.under {
                Some(under) => format!("Export {} messages under {under}", format::count(form.msgs.len() as u64)),
                None => format!("Export {} messages", format::count(form.msgs.len() as u64)),
            };
            super::centred_window("Export messages", ctx).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
                ui.label(RichText::new(title).strong());
                ui.weak("What history holds, in time order: the latest value of each topic and its kept history.");
                ui.horizontal(|ui| {
                    ui.label("Format");
                    for (f, name, hover) in [
                        (
                            ExportFormat::Ndjson,
                            "NDJSON",
                            "One JSON object per line: readable by jq, replayable with mqscope replay, opens as a capture",
                        ),
                        (ExportFormat::Csv, "CSV", "time,topic,qos,retain,encoding,payload (binary payloads in base64)"),
                    ] {
                        if ui.radio_value(&mut form.format, f, name).on_hover_text(hover).changed() {
                            let other = if f == ExportFormat::Csv { ExportFormat::Ndjson } else { ExportFormat::Csv };
                            if let Some(stem) = form.path.strip_suffix(&format!(".{}", other.extension())) {
                                form.path = format!("{stem}.{}", f.extension());
                            }
                        }
                    }
                });
                let running = form.job.as_ref().is_some_and(|job| job_ui(ui, job, "Exported"));
                if form.job.as_ref().is_some_and(|job| job.finished.load(Relaxed)) {
                    // Done: the notice in the status bar says how it went.
                    done = true;
                } else if !running {
                    action = path_row(ui, "File", &mut form.path, form.error.as_deref(), FileField::ExportFile).or(action.take());
                    if ui.button("Export").clicked() {
                        if form.path.trim().is_empty() {
                            form.error = Some("A file name is needed.".into());
                        } else {
                            form.error = None;
                            let path = std::path::PathBuf::from(form.path.trim());
                            action = Some(CaptureAction::Export { path, format: form.format });
                        }
                    }
                }
            });
            if !open || done {
                cancel(form.job.as_ref());
                self.export = None;
            }
        }
        action
    }

    /// The record window.
    fn record_ui(&mut self, ctx: &egui::Context) -> Option<CaptureAction> {
        let mut action = None;
        if let Some(form) = &mut self.record {
            let (mut open, mut done) = (true, false);
            super::centred_window("Record", ctx).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
                ui.weak("Every message of this connection that matches the filter, as it arrives (not what the window kept), to a capture file.");
                egui::Grid::new("record-form").num_columns(2).show(ui, |ui| {
                    for (label, text) in [("Filter", &mut form.filter), ("Max size (MiB)", &mut form.max_mib), ("Max duration (s)", &mut form.max_secs)] {
                        let l = ui.label(label);
                        ui.add(egui::TextEdit::singleline(text).desired_width(200.0)).labelled_by(l.id);
                        ui.end_row();
                    }
                });
                action = path_row(ui, "File", &mut form.path, None, FileField::RecordFile).or(action.take());
                if let Some(error) = &form.error {
                    ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
                }
                if ui.button("Start recording").clicked() {
                    match form.action() {
                        Ok(start) => {
                            action = Some(start);
                            done = true;
                        }
                        Err(e) => form.error = Some(e),
                    }
                }
            });
            if !open || done {
                self.record = None;
            }
        }
        action
    }

    /// The open-capture window.
    fn open_ui(&mut self, ctx: &egui::Context) -> Option<CaptureAction> {
        let mut action = None;
        if let Some(form) = &mut self.open {
            let (mut open, mut done) = (true, false);
            super::centred_window("Open capture", ctx).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
                ui.weak("A capture (NDJSON, as mqscope record or Export write) opens as a tab of its own, with no broker.");
                let running = form.job.as_ref().is_some_and(|job| job_ui(ui, job, "Read"));
                if form.job.as_ref().is_some_and(|job| job.finished.load(Relaxed)) {
                    done = true;
                } else if !running {
                    action = path_row(ui, "File", &mut form.path, form.error.as_deref(), FileField::CaptureFile).or(action.take());
                    if ui.button("Open").clicked() {
                        // Whether the file exists is the runtime's to find out (no I/O here).
                        if form.path.trim().is_empty() {
                            form.error = Some("A file name is needed.".into());
                        } else {
                            form.error = None;
                            action = Some(CaptureAction::Open { path: std::path::PathBuf::from(form.path.trim()) });
                        }
                    }
                }
            });
            if !open || done {
                cancel(form.job.as_ref());
                self.open = None;
            }
        }
        action
    }
}
