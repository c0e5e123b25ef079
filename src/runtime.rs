//! The background runtime: owns the embedded broker (and, later, client sessions to external
//! brokers) and serves the UI's [`Command`]s, answering only through [`Event`]s.
//!
//! Runs on its own tokio runtime thread; the UI thread never waits on it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::broker::{self, Broker, BrokerConfig, tap};
use crate::client::ClientSessions;
use crate::model::{BrokerStats, ConnId, MessageMeta, QoS};
use crate::protocol::{Command, Event, EventSink, PublishOutcome, PublishRequest, RgbaImage};
use crate::storage;

mod capture;
mod certs;
mod decoders;
mod dialog;
mod inside;
mod profiles;
mod record;
mod replay;
mod security;
mod timers;

/// What the runtime starts with.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where the embedded broker should listen (a free port on the same address is used if taken).
    pub bind: SocketAddr,
    /// Where the embedded broker also serves MQTT over WebSocket; `None`: it does not (a free
    /// port on the same address is used if taken).
    pub ws_bind: Option<SocketAddr>,
    /// The embedded broker's limits.
    pub broker: BrokerConfig,
    /// Where profiles and templates are kept; `None`: the user's config directory.
    pub config_dir: Option<PathBuf>,
    /// Where the window's figures are appended as JSON lines (`mqscope --stats-file`), if anywhere.
    pub stats_file: Option<PathBuf>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 1883)),
            ws_bind: None,
            broker: BrokerConfig::default(),
            config_dir: None,
            stats_file: None,
        }
    }
}

/// The embedded broker's WebSocket listener, if asked for; a failure to bind is reported, not fatal.
async fn bind_ws(addr: Option<SocketAddr>, sink: &EventSink) -> Option<tokio::net::TcpListener> {
    let addr = addr?;
    match broker::bind_or_fallback(addr).await {
        Ok((listener, note)) => {
            if let Some(note) = note {
                tracing::warn!("WebSocket listener: {note}");
            }
            tracing::info!(url = %format!("ws://{}", listener.local_addr().unwrap_or(addr)), "embedded broker serves MQTT over WebSocket");
            Some(listener)
        }
        Err(err) => {
            sink.control(Event::Error(format!("no MQTT over WebSocket: {}", error_chain(&err)))).await;
            None
        }
    }
}

/// Run until [`Command::Shutdown`] or until the UI drops its command sender.
#[expect(clippy::too_many_lines, reason = "one short arm per command, each delegating to a helper")]
pub async fn run(config: RuntimeConfig, mut commands: mpsc::Receiver<Command>, sink: EventSink) {
    let dir: Option<Arc<PathBuf>> = config.config_dir.clone().or_else(|| storage::config_dir().ok()).map(Arc::new);
    let tap = tap::Tap::new();
    let broker = if config.broker.persistence.is_some() {
        // Reading the journal blocks: off the runtime's workers.
        let (broker_config, t) = (config.broker.clone(), Arc::clone(&tap));
        match tokio::task::spawn_blocking(move || Broker::open(broker_config, Some(t))).await {
            Ok(Ok(broker)) => broker,
            Ok(Err(err)) => {
                sink.control(Event::Error(format!("the embedded broker keeps nothing across restarts: {err}"))).await;
                Broker::new(BrokerConfig { persistence: None, ..config.broker }, Some(Arc::clone(&tap)))
            }
            Err(err) => {
                sink.control(Event::Error(format!("restoring the embedded broker failed: {err}"))).await;
                Broker::new(BrokerConfig { persistence: None, ..config.broker }, Some(Arc::clone(&tap)))
            }
        }
    } else {
        Broker::new(config.broker, Some(Arc::clone(&tap)))
    };
    let broker_task = match broker::bind_or_fallback(config.bind).await {
        Ok((listener, note)) => {
            let local_addr = listener.local_addr().unwrap_or(config.bind);
            if let Some(note) = &note {
                tracing::warn!("{note}");
            }
            tracing::info!(%local_addr, "embedded broker listening");
            let ws = bind_ws(config.ws_bind, &sink).await;
            sink.control(Event::BrokerStarted { local_addr, note }).await;
            tokio::spawn(tap::forward(Arc::clone(&tap), sink.clone()));
            tokio::spawn(stats_loop(broker.clone(), sink.clone()));
            let (b, s) = (broker.clone(), sink.clone());
            Some(tokio::spawn(async move {
                let listeners = broker::Listeners { tcp: listener, ws };
                let result = broker::run_listeners(listeners, b, std::future::pending::<()>()).await;
                s.control(Event::BrokerStopped { error: result.err().map(|e| format!("{e:#}")) }).await;
            }))
        }
        Err(err) => {
            sink.control(Event::BrokerStopped { error: Some(error_chain(&err)) }).await;
            None
        }
    };
    let mut clients = ClientSessions::new(sink.clone());
    let mut applied = security::Applied::default();
    tokio::spawn(load_templates(dir.clone(), sink.clone()));
    tokio::spawn(decoders::load(dir.clone(), sink.clone()));
    tokio::spawn(profiles::load(dir.clone(), sink.clone()));
    // Timers publish through the same path as the window's Publish button.
    let (timer_tx, mut timer_rx) = mpsc::channel::<PublishRequest>(1024);
    loop {
        let command = tokio::select! {
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
            Some(req) = timer_rx.recv() => Command::Publish(req),
        };
        match command {
            Command::Publish(req) if req.conn_id == ConnId::LOCAL => {
                // The embedded broker takes the message here and now: that is its delivery.
                let outcome = match broker.publish(&req) {
                    Ok(()) => PublishOutcome::Delivered,
                    Err(err) => PublishOutcome::Refused(err.to_string()),
                };
                // Id 0 (a timer's messages): no result is wanted.
                if req.id != 0 {
                    sink.control(Event::PublishResult { id: req.id, conn_id: req.conn_id, outcome }).await;
                }
            }
            Command::Publish(req) => clients.publish(req).await,
            Command::DeleteRetained { conn_id, topics } if conn_id == ConnId::LOCAL => {
                let deleted = broker.delete_retained(&topics);
                tracing::info!(deleted, asked = topics.len(), "retained values deleted from the store");
                sink.control(Event::RetainedDeleted { conn_id, topics }).await;
            }
            Command::DeleteRetained { conn_id, topics } => {
                for topic in &topics {
                    let req = PublishRequest {
                        id: 0,
                        conn_id,
                        topic: topic.to_string(),
                        payload: bytes::Bytes::new(),
                        qos: QoS::AtLeastOnce,
                        retain: true,
                        meta: MessageMeta::default(),
                    };
                    clients.publish(req).await;
                }
                sink.control(Event::RetainedDeleted { conn_id, topics }).await;
            }
            Command::Connect { conn_id, profile } => clients.connect(conn_id, *profile),
            Command::Disconnect { conn_id } => clients.disconnect(conn_id).await,
            Command::SaveProfiles { file, check } => {
                tokio::spawn(profiles::save(dir.clone(), file, check, sink.clone()));
            }
            Command::ConfigureBroker(settings) => {
                let outcome = applied.apply(&broker, *settings).await;
                sink.control(Event::BrokerConfigured(outcome)).await;
            }
            Command::GenerateCertificates { dir: target } => {
                tokio::spawn(certs::generate(target, dir.clone(), sink.clone()));
            }
            Command::PickFile { field } => {
                tokio::spawn(profiles::pick_file(field, sink.clone()));
            }
            Command::ExportProfiles(file) => {
                tokio::spawn(profiles::export(file, sink.clone()));
            }
            Command::ImportProfiles => {
                tokio::spawn(profiles::import(sink.clone()));
            }
            Command::Export { path, format, msgs, progress } => {
                tokio::spawn(capture::export(path, format, msgs, progress, sink.clone()));
            }
            Command::StartRecording { conn_id, path, filter, max_bytes, max_duration, stats } => {
                let slot = if conn_id == ConnId::LOCAL {
                    Some(RecordTarget::Tap(Arc::clone(&tap)))
                } else {
                    clients.recording(conn_id).map(RecordTarget::Link)
                };
                start_recording(slot, &path, filter, record::Bounds { max_bytes, max_duration }, stats, &sink).await;
            }
            Command::Replay { plan, progress } => {
                let (out, sink) = (timer_tx.clone(), sink.clone());
                tokio::spawn(async move {
                    let event = replay::run(*plan, progress, out).await;
                    sink.control(event).await;
                });
            }
            Command::StartTimer { spec, stats } => {
                tokio::spawn(timers::run(*spec, stats, timer_tx.clone()));
            }
            Command::StopRecording { conn_id } => {
                if conn_id == ConnId::LOCAL {
                    tap.recording.stop();
                } else if let Some(slot) = clients.recording(conn_id) {
                    slot.stop();
                }
            }
            Command::OpenCapture { conn_id, path, progress } => {
                tokio::spawn(capture::open(conn_id, path, progress, sink.clone()));
            }
            Command::LoadPayloadFile => {
                tokio::spawn(load_payload_file(sink.clone()));
            }
            Command::SavePayload { bytes, suggested_name } => {
                tokio::spawn(save_file(bytes, suggested_name, "Save payload".to_owned(), sink.clone()));
            }
            Command::SaveFile { bytes, suggested_name, title } => {
                tokio::spawn(save_file(bytes, suggested_name, title, sink.clone()));
            }
            Command::SaveTo { path, bytes } => {
                tokio::spawn(write_file(path, bytes, sink.clone()));
            }
            Command::SavePng { image, suggested_name } => {
                let sink = sink.clone();
                tokio::spawn(async move {
                    match tokio::task::spawn_blocking(move || encode_png(&image)).await {
                        Ok(Ok(png)) => save_file(png.into(), suggested_name, "Save chart as PNG".to_owned(), sink).await,
                        Ok(Err(err)) => sink.control(Event::Error(format!("cannot encode PNG: {err}"))).await,
                        Err(_) => {}
                    }
                });
            }
            Command::SaveTemplates(file) => {
                let (sink, dir) = (sink.clone(), dir.clone());
                tokio::spawn(async move {
                    let saved = tokio::task::spawn_blocking(move || {
                        storage::templates_path(dir.as_deref().map(PathBuf::as_path)).and_then(|p| storage::save_templates(&p, &file))
                    })
                    .await;
                    if let Ok(Err(err)) = saved {
                        sink.control(Event::Error(format!("cannot save templates: {err}"))).await;
                    }
                });
            }
            Command::SaveDecoders(file) => decoders::save(dir.clone(), sink.clone(), file),
            Command::CompileProto(file) => {
                tokio::spawn(decoders::compile(file, sink.clone()));
            }
            Command::AppendStats(line) => {
                if let Some(path) = &config.stats_file {
                    append_line(path, &line).await;
                }
            }
            Command::Inspect(request) => {
                tokio::spawn(inside::inspect(broker.clone(), request, sink.clone()));
            }
            Command::ClientAction(action) => inside::act(&broker, action, &sink).await,
            Command::Fault(action) => inside::fault(&broker, action, &sink).await,
            Command::Shutdown => break,
        }
    }
    clients.shutdown();
    broker.shutdown();
    if let Some(task) = broker_task {
        tokio::time::timeout(Duration::from_secs(2), task).await.ok();
    }
}

/// Append one line to a file; a failure is logged once per call, never fatal.
async fn append_line(path: &std::path::Path, line: &str) {
    use tokio::io::AsyncWriteExt as _;
    let written = async {
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        file.write_all(format!("{line}\n").as_bytes()).await
    };
    if let Err(err) = written.await {
        tracing::warn!(path = %path.display(), error = %err, "cannot write the stats file");
    }
}

/// Largest file accepted as a payload (MQTT's own limit is 256 MiB).
const MAX_PAYLOAD_FILE: u64 = 256 * 1024 * 1024 - 1024;

/// The open dialog (rfd's async dialog, never on the UI thread), then the read, bounded.
async fn load_payload_file(sink: EventSink) {
    if let Some(reason) = dialog::unavailable() {
        sink.control(Event::Error(format!("No file dialog can open here ({reason}); paste the payload instead."))).await;
        return;
    }
    let Some(handle) = rfd::AsyncFileDialog::new().set_title("Payload from file").pick_file().await else {
        sink.control(Event::Notice("No file picked.".to_owned())).await;
        return;
    };
    let path = handle.path().to_path_buf();
    let event = match tokio::fs::metadata(&path).await {
        Ok(meta) if meta.len() > MAX_PAYLOAD_FILE => {
            Event::Error(format!("{} is {} bytes: more than an MQTT payload can hold", path.display(), meta.len()))
        }
        Ok(_) => match tokio::fs::read(&path).await {
            Ok(bytes) => Event::PayloadFile { name: handle.file_name(), bytes: bytes.into() },
            Err(err) => Event::Error(format!("cannot read {}: {err}", path.display())),
        },
        Err(err) => Event::Error(format!("cannot read {}: {err}", path.display())),
    };
    sink.control(event).await;
}

/// The save dialog (rfd's async dialog, never on the UI thread), then the write. Where no dialog
/// can open, the UI is asked for a path instead ([`Event::SaveNeedsPath`]).
pub(crate) async fn save_file(bytes: bytes::Bytes, suggested_name: String, title: String, sink: EventSink) {
    if let Some(reason) = dialog::unavailable() {
        let path = dialog::suggested_path(&suggested_name);
        sink.control(Event::SaveNeedsPath { bytes, path, title, reason }).await;
        return;
    }
    let Some(handle) = rfd::AsyncFileDialog::new().set_title(&title).set_file_name(&suggested_name).save_file().await else {
        sink.control(Event::Notice("Save cancelled.".to_owned())).await;
        return;
    };
    write_file(handle.path().to_path_buf(), bytes, sink).await;
}

/// Where a recording is fed from.
enum RecordTarget {
    /// The embedded broker's tap.
    Tap(Arc<tap::Tap>),
    /// An external connection's link.
    Link(Arc<crate::protocol::recording::RecordSlot>),
}

/// Start a recording into `path`, or say why it cannot start (marking `stats` finished).
async fn start_recording(
    target: Option<RecordTarget>,
    path: &std::path::Path,
    filter: Option<String>,
    bounds: record::Bounds,
    stats: Arc<crate::protocol::recording::RecordStats>,
    sink: &EventSink,
) {
    use crate::protocol::recording::Recorder;
    let fail = |why: String| {
        if let Ok(mut error) = stats.error.lock() {
            *error = Some(why.clone());
        }
        stats.finished.store(true, std::sync::atomic::Ordering::Relaxed);
        Event::Error(why)
    };
    let Some(target) = target else {
        sink.control(fail("cannot record: the connection is not open".into())).await;
        return;
    };
    let (recorder, rx) = Recorder::new(filter, Arc::clone(&stats));
    let path = path.to_path_buf();
    let writer_stats = Arc::clone(&stats);
    let started = tokio::task::spawn_blocking(move || {
        record::start(&path, rx, writer_stats, bounds).map_err(|e| format!("cannot record to {}: {e}", path.display()))
    })
    .await;
    match started {
        Ok(Ok(())) => match target {
            RecordTarget::Tap(tap) => tap.recording.start(recorder),
            RecordTarget::Link(slot) => slot.start(recorder),
        },
        Ok(Err(why)) => sink.control(fail(why)).await,
        Err(e) => sink.control(fail(e.to_string())).await,
    }
}

/// Write `bytes` to `path` and say how it went.
async fn write_file(path: PathBuf, bytes: bytes::Bytes, sink: EventSink) {
    let event = match tokio::fs::write(&path, &bytes).await {
        Ok(()) => Event::Notice(format!("Saved {} bytes to {}", bytes.len(), path.display())),
        Err(err) => Event::Error(format!("cannot save {}: {err}", path.display())),
    };
    sink.control(event).await;
}

/// `image` as PNG bytes.
///
/// # Errors
/// When the pixel count does not match the size, or the encoder fails.
pub fn encode_png(image: &RgbaImage) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image.rgba)?;
    writer.finish()?;
    Ok(out)
}

/// Read the saved publish templates off the runtime's blocking pool and hand them to the UI.
async fn load_templates(dir: Option<Arc<PathBuf>>, sink: EventSink) {
    let loaded = tokio::task::spawn_blocking(move || {
        storage::templates_path(dir.as_deref().map(PathBuf::as_path)).and_then(|p| storage::load_templates(&p))
    })
    .await;
    match loaded {
        Ok(Ok(file)) => sink.control(Event::TemplatesLoaded(file)).await,
        Ok(Err(err)) => sink.control(Event::Error(format!("cannot read templates: {err}"))).await,
        Err(_) => {}
    }
}

/// `err` and its sources, one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Once a second: the broker's counters, with rates from the previous snapshot.
async fn stats_loop(broker: Broker, sink: EventSink) {
    // Four times a second, rates over the last second: the window learns within a quarter second
    // that a flood of the embedded broker began or ended (it then leaves the cores to the broker,
    // or catches up at full speed).
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut past: std::collections::VecDeque<(Instant, BrokerStats)> = std::collections::VecDeque::new();
    let mut sent_at: Option<Instant> = None;
    let mut last_now_rate = 0.0;
    loop {
        tick.tick().await;
        if sink.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut snap = broker::stats::snapshot(broker.shared());
        let current = snap;
        let rate = |from: &(Instant, BrokerStats), pick: fn(&BrokerStats) -> u64| {
            let secs = now.duration_since(from.0).as_secs_f64().max(1e-3);
            #[expect(clippy::cast_precision_loss, reason = "message counts per second fit f64")]
            let per_sec = pick(&current).saturating_sub(pick(&from.1)) as f64 / secs;
            per_sec
        };
        if let Some(second_ago) = past.front() {
            snap.msgs_in_per_sec = rate(second_ago, |s| s.msgs_received);
            snap.msgs_out_per_sec = rate(second_ago, |s| s.msgs_sent);
        }
        if let Some(last) = past.back() {
            snap.msgs_in_now_per_sec = rate(last, |s| s.msgs_received);
        }
        sink.set_local_rate(snap.msgs_in_now_per_sec);
        // Idle, once a second (each event costs the window a frame); busy, every tick.
        let busy = past.back().is_some_and(|(_, last)| last.msgs_received != snap.msgs_received);
        let due = sent_at.is_none_or(|at: Instant| now.duration_since(at) >= Duration::from_secs(1));
        past.push_back((now, snap));
        while past.len() > 4 {
            past.pop_front();
        }
        if busy || due || (snap.msgs_in_now_per_sec - last_now_rate).abs() > f64::EPSILON {
            last_now_rate = snap.msgs_in_now_per_sec;
            sent_at = Some(now);
            sink.control(Event::BrokerStats(snap)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips() {
        let image = RgbaImage { width: 2, height: 1, rgba: vec![255, 0, 0, 255, 0, 0, 255, 128] };
        let bytes = encode_png(&image).expect("encode");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (2, 1));
        assert_eq!(&buf[..info.buffer_size()], &image.rgba[..]);
        assert!(encode_png(&RgbaImage { width: 3, height: 3, rgba: vec![0; 4] }).is_err(), "wrong size");
    }
}
