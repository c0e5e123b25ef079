//! The "Timed publishing" window: start the publish form's message on a timer (every N ms, N times
//! or until stopped, with `{{counter}}`, `{{random(a,b)}}`, … in topic and payload, and a preview of
//! the next message), or simulated sensors in one click; the running timers, each with Stop.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use egui::RichText;

use crate::model::publish::{PayloadFormat, PublishForm};
use crate::model::template::Template;
use crate::model::timer::{Simulator, Source, TimerSpec, Wave};
use crate::model::{ConnId, format};
use crate::protocol::timers::TimerStats;

/// A timer the window started.
#[derive(Debug)]
pub struct Running {
    /// Connection name, for the list.
    pub conn: String,
    /// What it publishes, in words.
    pub what: String,
    /// Shared with the runtime.
    pub stats: Arc<TimerStats>,
}

/// What the window edits: a template (from the publish form) or the simulator.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub enum Mode {
    /// The publish form's topic and payload.
    #[default]
    Template,
    /// Simulated sensors.
    Simulator,
}

/// The window's state.
#[derive(Debug)]
pub struct TimerPanel {
    /// Shown.
    pub open: bool,
    /// Template or simulator.
    pub mode: Mode,
    /// The publish form it was opened from.
    pub form: PublishForm,
    /// Milliseconds between ticks, as typed.
    pub every_ms: String,
    /// Ticks in all, as typed (empty: until stopped).
    pub times: String,
    /// Simulator: topic prefix.
    pub prefix: String,
    /// Simulator: devices, as typed.
    pub devices: String,
    /// Simulator: series shape.
    pub wave: Wave,
    /// Simulator: JSON payloads.
    pub json: bool,
    /// Why the timer cannot start.
    pub error: Option<String>,
    /// Timers started, newest last.
    pub running: Vec<Running>,
}

impl Default for TimerPanel {
    fn default() -> Self {
        Self {
            open: false,
            mode: Mode::Template,
            form: PublishForm::default(),
            every_ms: "1000".into(),
            times: String::new(),
            prefix: "sim".into(),
            devices: "5".into(),
            wave: Wave::Sine,
            json: false,
            error: None,
            running: Vec::new(),
        }
    }
}

fn field(ui: &mut egui::Ui, label: &str, text: &mut String, width: f32) -> egui::Response {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id)
}

impl TimerPanel {
    /// Open on the publish form's message.
    pub fn open_with(&mut self, form: PublishForm) {
        self.form = form;
        self.mode = Mode::Template;
        self.open = true;
    }

    /// Open on the simulator.
    pub fn open_simulator(&mut self) {
        self.mode = Mode::Simulator;
        self.open = true;
    }

    /// The timer the window describes for connection `conn_id`, or what is wrong with it.
    ///
    /// # Errors
    /// A bad period, count, device count, template or topic, in words.
    pub fn spec(&self, conn_id: ConnId) -> Result<TimerSpec, String> {
        let every: u64 = self.every_ms.trim().parse().map_err(|_| "Every: a whole number of milliseconds".to_owned())?;
        if every == 0 {
            return Err("Every: at least 1 ms".into());
        }
        let times = match self.times.trim() {
            "" => None,
            t => Some(t.parse::<u64>().ok().filter(|n| *n > 0).ok_or("Times: a whole number above 0, or empty for until stopped")?),
        };
        let source = match self.mode {
            Mode::Template => {
                let f = &self.form;
                if f.topic.trim().is_empty() {
                    return Err("The publish form has no topic.".into());
                }
                let topic = Template::parse(&f.topic).map_err(|e| format!("Topic: {e}"))?;
                if topic.is_constant() {
                    crate::topic::validate_topic_name(&f.topic).map_err(|e| format!("Topic: {e}"))?;
                }
                match f.format {
                    PayloadFormat::Text | PayloadFormat::Json => {
                        Source::Template { topic, payload: Template::parse(&f.payload).map_err(|e| format!("Payload: {e}"))? }
                    }
                    // Bytes typed as hex or base64 have no substitutions.
                    PayloadFormat::Hex | PayloadFormat::Base64 => Source::Fixed { topic: f.topic.clone(), payload: f.payload_bytes()? },
                }
            }
            Mode::Simulator => {
                let devices: u32 = self.devices.trim().parse().ok().filter(|n| (1..=100_000).contains(n)).ok_or("Devices: 1 to 100,000")?;
                let prefix = self.prefix.trim().trim_end_matches('/');
                crate::topic::validate_topic_name(&format!("{prefix}/device-1/value")).map_err(|e| format!("Prefix: {e}"))?;
                Source::Simulator(Simulator { prefix: prefix.to_owned(), devices, wave: self.wave, json: self.json })
            }
        };
        let (qos, retain) =
            if self.mode == Mode::Template { (self.form.qos, self.form.retain) } else { (crate::model::QoS::AtMostOnce, false) };
        Ok(TimerSpec { conn_id, source, qos, retain, every: Duration::from_millis(every), times })
    }

    /// Draw the window; returns a timer to start.
    pub fn ui(&mut self, ctx: &egui::Context, conn_id: ConnId, conn_name: &str) -> Option<Box<TimerSpec>> {
        let mut start = None;
        let mut open = self.open;
        egui::Window::new("Timed publishing")
            .pivot(egui::Align2::CENTER_CENTER)
            .default_pos(ctx.content_rect().center())
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.mode, Mode::Template, "Publish form's message");
                    ui.selectable_value(&mut self.mode, Mode::Simulator, "Simulated sensors");
                });
                ui.separator();
                match self.mode {
                    Mode::Template => {
                        ui.label(RichText::new(format!("Topic: {}", self.form.topic)).monospace());
                        ui.weak("Substitutions: {{counter}} {{random(a,b)}} {{now}} {{now_ms}} {{uuid}} {{choice(a,b,c)}}");
                    }
                    Mode::Simulator => {
                        ui.horizontal(|ui| {
                            field(ui, "Prefix", &mut self.prefix, 120.0);
                            field(ui, "Devices", &mut self.devices, 60.0);
                        });
                        ui.horizontal(|ui| {
                            ui.label("Series");
                            for wave in Wave::ALL {
                                ui.selectable_value(&mut self.wave, wave, wave.label());
                            }
                        });
                        ui.checkbox(&mut self.json, "JSON payloads ({\"value\":…,\"ts\":…})");
                    }
                }
                ui.horizontal(|ui| {
                    field(ui, "Every (ms)", &mut self.every_ms, 70.0);
                    field(ui, "Times", &mut self.times, 70.0).on_hover_text("Empty: until stopped");
                });
                match self.spec(conn_id) {
                    Ok(spec) => {
                        self.error = None;
                        if let Some((topic, payload)) = spec.preview(SystemTime::now()) {
                            ui.label(RichText::new(format!("Next: {topic} {}", String::from_utf8_lossy(&payload))).monospace().weak());
                        }
                        if ui.button(format!("Start on {conn_name}")).clicked() {
                            start = Some(Box::new(spec));
                        }
                    }
                    Err(e) => {
                        ui.label(RichText::new(&e).color(ui.visuals().error_fg_color));
                        self.error = Some(e);
                    }
                }
                self.running_ui(ui);
            });
        self.open = open;
        start
    }

    fn running_ui(&mut self, ui: &mut egui::Ui) {
        if self.running.is_empty() {
            return;
        }
        ui.separator();
        ui.label(RichText::new("Timers").strong());
        let mut any_running = false;
        for t in &self.running {
            ui.horizontal(|ui| {
                let ended = t.stats.finished.load(Relaxed);
                let sent = format::count(t.stats.sent.load(Relaxed));
                ui.label(format!("{} · {} · sent {sent}{}", t.conn, t.what, if ended { " · ended" } else { "" }));
                if !ended {
                    any_running = true;
                    if ui.small_button("Stop").clicked() {
                        t.stats.stop();
                    }
                }
            });
        }
        if any_running {
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        } else if ui.small_button("Clear ended").clicked() {
            self.running.clear();
        }
    }

    /// How many timers run now (for the toolbar).
    #[must_use]
    pub fn running_count(&self) -> usize {
        self.running.iter().filter(|t| !t.stats.finished.load(Relaxed)).count()
    }
}
