//! `cargo bench --bench explorer`: the explorer's model and frame cost, without a window.
//!
//! 1. Ingest: messages/s into the topic tree with 100k topics (one core).
//! 2. Frame: the time of one UI frame (drain events + lay out every panel, no rendering) with 100k
//!    topics in the tree while 100k msgs/s arrive, at 60 frames/s; p50/p99/max.
//!
//! 3. Chart: one chart of 1M points over 24 h in the dock, following live (new points every frame):
//!    decimation alone, and the whole frame (run_ui) and its tessellation; p50/p99.
//!
//! 4. Memory: bytes per topic of the tree, for 1M topics of three shapes (flat `m/{i}`,
//!    `sensors/{i}/temp`, `site/{i%100}/line/{i%1000}/dev/{i}/temp`), each with its latest 64-byte
//!    value: RSS growth per topic, and beyond the payload; each shape in a process of its own.
//!
//! Prints figures; asserts nothing about time (these machines are shared and noisy). Uses the
//! allocator the `mqscope` binary ships with (mimalloc).
//! Pick one with a filter: `cargo bench --bench explorer -- chart`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mqscope::app::ExplorerApp;
use mqscope::model::{HistoryLimits, Message, QoS, TopicTree};
use mqscope::protocol::{COMMAND_CAPACITY, EventSink};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPICS: usize = 100_000;

fn topics() -> Vec<Arc<str>> {
    (0..TOPICS).map(|i| Arc::from(format!("factory/line{}/machine{}/sensor{}", i % 100, (i / 100) % 100, i / 10_000))).collect()
}

fn messages(topics: &[Arc<str>], count: usize, at: SystemTime) -> Vec<Message> {
    (0..count)
        .map(|i| {
            Message::new(
                Arc::clone(&topics[i % topics.len()]),
                bytes::Bytes::from_static(b"{\"t\":21.5,\"ok\":true}"),
                QoS::AtMostOnce,
                false,
                at,
            )
        })
        .collect()
}

fn ingest() {
    let topics = topics();
    let mut best = 0.0f64;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let mut tree = TopicTree::new(HistoryLimits { per_topic: 100, budget_bytes: 256 * 1024 * 1024, ..HistoryLimits::default() });
        // First pass creates the topics; measured separately.
        let create = messages(&topics, TOPICS, SystemTime::now());
        let start = Instant::now();
        for m in create {
            tree.insert(m);
        }
        let create_secs = start.elapsed().as_secs_f64();
        let batch = messages(&topics, 2_000_000, SystemTime::now());
        let start = Instant::now();
        for m in batch {
            tree.insert(m);
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = 2_000_000.0 / secs;
        best = best.max(rate);
        runs.push((rate, f64::from(u32::try_from(TOPICS).unwrap_or(u32::MAX)) / create_secs));
    }
    println!("ingest: {TOPICS} topics, 2M messages per run, 3 runs");
    for (rate, create) in &runs {
        println!("  {:>6.2} M msgs/s into existing topics   ({:>6.2} M new topics/s)", rate / 1e6, create / 1e6);
    }
    println!("  best {:.2} M msgs/s (target ≥ 2 M msgs/s on one core)", best / 1e6);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "an index into a short list")]
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn frames() {
    let topics = topics();
    let (cmd_tx, _cmd_rx) = tokio::sync::mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut feed = mqscope::protocol::Feed::new(sink, mqscope::model::ConnId::LOCAL);
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.store.insert_messages(mqscope::model::ConnId::LOCAL, messages(&topics, TOPICS, SystemTime::now()));
    let ctx = egui::Context::default();
    let run = |app: &mut ExplorerApp| {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1400.0, 900.0))),
            ..Default::default()
        };
        let mut out = ctx.run_ui(input, |ui| app.ui(ui));
        out.textures_delta.clear();
    };
    // Expand the first line and select a topic, as a user would.
    app.pending_select = Some(topics[0].to_string());
    run(&mut app);
    run(&mut app);
    let per_frame = 100_000 / 60;
    let mut times = Vec::new();
    for frame in 0..600 {
        // 100k msgs/s at 60 frames/s, in batches as the broker's tap sends them.
        let msgs: Vec<Message> = (0..per_frame)
            .map(|i| {
                let t = &topics[(frame * per_frame + i * 7919) % TOPICS];
                Message::new(Arc::clone(t), bytes::Bytes::from_static(b"22.5"), QoS::AtMostOnce, false, SystemTime::now())
            })
            .collect();
        for chunk in msgs.chunks(512) {
            feed.send(chunk.to_vec());
        }
        let start = Instant::now();
        run(&mut app);
        times.push(start.elapsed());
    }
    times.sort();
    println!("frame: {TOPICS} topics in the tree, 100k msgs/s arriving, 600 frames, no rendering");
    println!(
        "  p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   (target p99 ≤ 16 ms); history thinned: {}",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        app.store.thinned()
    );
}

fn chart() {
    const POINTS: u32 = 1_000_000;
    let (cmd_tx, _cmd_rx) = tokio::sync::mpsc::channel(COMMAND_CAPACITY);
    let (_sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    let now = SystemTime::now();
    app.store.insert_messages(mqscope::model::ConnId::LOCAL, [Message::new("plant/power", "1.0", QoS::AtMostOnce, false, now)]);
    app.store.charts.set_cap(POINTS as usize);
    app.plot("plant/power".into(), None);
    let now_secs = mqscope::model::series::unix_secs_f64(now);
    let day = 86_400.0;
    {
        let chart = &mut app.store.charts.charts_mut()[0];
        chart.window_secs = 86_400;
        let series = &mut chart.series[0];
        series.clear();
        for i in 0..POINTS {
            let t = f64::from(i) / f64::from(POINTS);
            let noise = (f64::from(i) * 12.9898).sin() * 43_758.545_3;
            series.push(now_secs - day * (1.0 - t), 50.0 + 20.0 * (t * 40.0).sin() + (noise - noise.floor()) * 5.0);
        }
    }
    // Decimation alone: 1M points into 1000 columns.
    let mut out = Vec::with_capacity(4096);
    let mut decimate_times = Vec::new();
    for _ in 0..50 {
        out.clear();
        let start = Instant::now();
        let stats = mqscope::model::decimate::decimate(
            app.store.charts.charts()[0].series[0].points(),
            now_secs - day,
            now_secs + 1.0,
            1000,
            |p| out.push(p),
        );
        decimate_times.push(start.elapsed());
        assert!(stats.is_some_and(|s| s.count >= POINTS as usize - 1));
    }
    decimate_times.sort();
    let ctx = egui::Context::default();
    let mut frame_times = Vec::new();
    let mut tess_times = Vec::new();
    for frame in 0..300 {
        // New points keep arriving (oldest ones leave the bounded series).
        let x = mqscope::model::series::unix_secs_f64(SystemTime::now());
        for k in 0..50 {
            app.store.charts.charts_mut()[0].series[0].push(x, 50.0 + f64::from((frame * 50 + k) % 17));
        }
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1400.0, 900.0))),
            ..Default::default()
        };
        let start = Instant::now();
        let mut output = ctx.run_ui(input, |ui| app.ui(ui));
        frame_times.push(start.elapsed());
        output.textures_delta.clear();
        let start = Instant::now();
        let meshes = ctx.tessellate(output.shapes, output.pixels_per_point);
        tess_times.push(start.elapsed());
        drop(meshes);
    }
    frame_times.sort();
    tess_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("chart: 1 series of {POINTS} points over 24 h, following live, 1400x900 window, 300 frames");
    println!(
        "  decimate 1M → 1000 columns: p50 {:.2} ms   p99 {:.2} ms ({} points drawn)",
        ms(percentile(&decimate_times, 0.5)),
        ms(percentile(&decimate_times, 0.99)),
        out.len()
    );
    println!(
        "  frame (run_ui, whole window): p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   (target ≤ 16 ms)",
        ms(percentile(&frame_times, 0.5)),
        ms(percentile(&frame_times, 0.99)),
        frame_times.last().map_or(0.0, |d| ms(*d))
    );
    println!(
        "  tessellation of that frame: p50 {:.2} ms   p99 {:.2} ms",
        ms(percentile(&tess_times, 0.5)),
        ms(percentile(&tess_times, 0.99))
    );
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
    if let Some(shape) = filter.strip_prefix("memory-shape=") {
        memory_shape(shape.parse().unwrap_or(0));
        return;
    }
    if filter.is_empty() || "ingest".contains(&filter) {
        ingest();
    }
    if filter.is_empty() || "frame".contains(&filter) {
        frames();
    }
    if filter.is_empty() || "chart".contains(&filter) {
        chart();
    }
    if filter.is_empty() || "memory".contains(&filter) {
        memory();
    }
}

/// Resident set size of this process, bytes (Linux).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// A topic shape: its name and the topic of message `i`.
type Shape = (&'static str, fn(usize) -> String);

/// The topic shapes of the memory figure.
const SHAPES: [Shape; 3] = [
    ("m/{i}", |i| format!("m/{i}")),
    ("sensors/{i}/temp", |i| format!("sensors/{i}/temp")),
    ("site/{i%100}/line/{i%1000}/dev/{i}/temp", |i| format!("site/{}/line/{}/dev/{i}/temp", i % 100, i % 1000)),
];

/// Each shape in a process of its own (freed memory is not always returned to the system).
fn memory() {
    println!("memory: 1M topics, each with its latest 64-byte value (RSS growth of the tree)");
    for shape in 0..SHAPES.len() {
        let Ok(exe) = std::env::current_exe() else { return };
        let out = std::process::Command::new(exe).arg(format!("memory-shape={shape}")).output();
        if let Ok(out) = out {
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
    }
}

fn memory_shape(shape: usize) {
    const N: usize = 1_000_000;
    let Some((name, topic)) = SHAPES.get(shape) else { return };
    let payload = bytes::Bytes::from(vec![b'7'; 64]);
    let before = rss_bytes();
    let mut tree = TopicTree::new(HistoryLimits::default());
    let at = SystemTime::now();
    for i in 0..N {
        // A payload of its own, as a message read off a socket would have.
        let p = bytes::Bytes::copy_from_slice(&payload);
        tree.insert(Message::new(topic(i), p, QoS::AtMostOnce, true, at));
    }
    let grown = rss_bytes().saturating_sub(before);
    #[expect(clippy::cast_precision_loss, reason = "figures for display")]
    let per_topic = grown as f64 / N as f64;
    println!(
        "  {name:<45} nodes {:>9}  RSS +{:>4} MiB  => {per_topic:.0} bytes per topic, {:.0} beyond its 64-byte payload",
        tree.node_count(),
        grown >> 20,
        per_topic - 64.0,
    );
    drop(tree);
}
