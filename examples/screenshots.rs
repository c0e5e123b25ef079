//! `cargo run --example screenshots`: one PNG per area of the window into `screenshots/`, drawn by
//! egui's own renderer (wgpu, on the CPU here) through egui_kittest, from the demo topic set.
//! `scripts/screenshots.sh` runs it after taking the real window's shot under Xvfb.
//!
//! Shots: the tree with the inspector (light theme), a JSON diff of two history entries, charts
//! with two series, the top talkers, the connections dialog, the settings, the broker's packet
//! trace and fault injection (fed with packets as the broker decodes them), and a Sparkplug B
//! edge node decoded with one metric charted across two edge nodes. Names given as arguments
//! (`cargo run --example screenshots -- sparkplug`) take only those shots.

use std::time::SystemTime;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::{DockTab, ExplorerApp};
use mqscope::model::ConnId;
use mqscope::model::faults::Fault;
use mqscope::protocol::{COMMAND_CAPACITY, Event, EventSink};

const SIZE: [f32; 2] = [1280.0, 800.0];

fn app() -> (ExplorerApp, EventSink, tokio::sync::mpsc::Receiver<mqscope::protocol::Command>) {
    let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(std::sync::Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.tree.flash = false;
    app.store.insert_messages(ConnId::LOCAL, mqscope::demo::sample(30, SystemTime::now()));
    let local_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1883));
    Event::BrokerStarted { local_addr, note: None }.apply_to(&mut app.store);
    app.store.broker.stats.clients_connected = 3;
    app.store.broker.stats.msgs_in_per_sec = 381.0;
    (app, sink, cmd_rx)
}

/// The window after its first frames, with `topic` selected (and revealed) if given.
fn harness(app: ExplorerApp, topic: Option<&str>) -> Harness<'static, ExplorerApp> {
    let mut h = Harness::builder().with_size(SIZE).wgpu().build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    h.run();
    if let Some(topic) = topic {
        h.state_mut().pending_select = Some(topic.to_owned());
        h.run();
    }
    h
}

fn save(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    h.run();
    match h.render() {
        Ok(image) => {
            let path = format!("screenshots/{name}.png");
            match image.save(&path) {
                Ok(()) => println!("wrote {path}"),
                Err(err) => eprintln!("cannot write {path}: {err}"),
            }
        }
        Err(err) => eprintln!("cannot render {name}: {err}"),
    }
}

/// A Sparkplug B payload of the plant's metrics: named (a BIRTH) or by alias only (DATA).
fn sparkplug(seq: u64, birth: bool, temperature: f64, pressure: f64) -> Vec<u8> {
    use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
    use prost::Message as _;
    let metric = |name: &str, alias: u64, value: f64| Metric {
        name: birth.then(|| name.to_owned()),
        alias: Some(alias),
        datatype: Some(10),
        timestamp: Some(1_764_700_000_000 + seq * 5_000),
        value: Some(MetricValue::DoubleValue(value)),
        ..Metric::default()
    };
    let metrics = vec![metric("Process/Temperature", 1, temperature), metric("Process/Pressure", 2, pressure)];
    Payload { timestamp: Some(1_764_700_000_000 + seq * 5_000), seq: Some(seq), metrics, ..Payload::default() }.encode_to_vec()
}

/// Two edge nodes: an NBIRTH, then a minute of NDATA every 5 s.
fn sparkplug_traffic(now: SystemTime) -> Vec<mqscope::model::Message> {
    use std::time::Duration;
    let mut msgs = Vec::new();
    for (n, edge) in [(0.0, "press-1"), (1.0, "press-2")] {
        let base = 60.0 + 4.0 * n;
        let at = |secs: u64| now - Duration::from_secs(secs);
        let topic = |kind: &str| format!("spBv1.0/plant/{kind}/{edge}");
        msgs.push(mqscope::model::Message::new(
            topic("NBIRTH"),
            sparkplug(0, true, base, 2.0),
            mqscope::model::QoS::AtMostOnce,
            false,
            at(65),
        ));
        for i in 1..=12u32 {
            let x = f64::from(i);
            let t = base + (x / 2.0 + n).sin() * 3.0;
            let payload = sparkplug(u64::from(i), false, t, 2.0 + x / 40.0);
            msgs.push(mqscope::model::Message::new(
                topic("NDATA"),
                payload,
                mqscope::model::QoS::AtMostOnce,
                false,
                at(65 - u64::from(i) * 5),
            ));
        }
    }
    msgs
}

fn main() {
    std::fs::create_dir_all("screenshots").ok();
    let only: Vec<String> = std::env::args().skip(1).collect();
    if !only.is_empty() {
        shots_named(&only);
        return;
    }

    let (a, _sink, _cmds) = app();
    let mut h = harness(a, Some("zigbee2mqtt/0x00158d0004a1b27"));
    h.ctx.set_theme(egui::Theme::Light);
    save(&mut h, "light");

    let (a, _sink, _cmds) = app();
    let mut h = harness(a, Some("factory/line1/press1/telemetry"));
    for label in ["Compare message 1", "Compare message 2"] {
        if let Some(node) = h.query_by_label(label) {
            node.click();
            h.run();
        }
    }
    save(&mut h, "json-diff");

    let (mut a, _sink, _cmds) = app();
    a.plot("home/kitchen/temperature".to_owned(), None);
    a.plot("home/livingroom/temperature".to_owned(), None);
    save(&mut harness(a, Some("home/kitchen/temperature")), "charts");

    let (mut a, _sink, _cmds) = app();
    a.dock_open = true;
    a.dock_tab = DockTab::Talkers;
    save(&mut harness(a, Some("factory/line2/robot1/status")), "top-talkers");

    let (a, _sink, _cmds) = app();
    let mut h = harness(a, None);
    h.get_by_label("Connections…").click();
    h.run();
    save(&mut h, "connections");

    let (a, _sink, _cmds) = app();
    let mut h = harness(a, None);
    h.get_by_label("Settings").click();
    save(&mut h, "settings");

    let (mut a, _sink, _cmds) = app();
    a.dock_open = true;
    a.dock_tab = DockTab::Trace;
    a.store.broker.inside.trace.apply(sample_trace());
    let mut h = harness(a, None);
    let seq = h.state().store.broker.inside.trace.rows.iter().find(|p| p.kind == "PUBLISH").map(|p| p.seq);
    h.state_mut().trace.selected = seq;
    save(&mut h, "trace");

    let (mut a, _sink, _cmds) = app();
    a.dock_open = true;
    a.dock_tab = DockTab::Faults;
    a.store.broker.inside.faults = vec![
        Fault::RefuseConnect { client_id: Some("shelly-plug-7".into()), code: 0x87 },
        Fault::WithholdAcks { client_id: "esp32-garage".into(), left: 2 },
        Fault::DelayDeliveries { client_id: "zigbee2mqtt".into(), delay_ms: 1500 },
    ];
    a.faults.client_id = "esp32-garage".into();
    save(&mut harness(a, None), "faults");
    shots_named(&["sparkplug".to_owned(), "capture".to_owned(), "timers".to_owned()]);
}

/// A traced session as the broker decodes it: CONNECT (password redacted), a QoS 2 handshake, a
/// refused SUBSCRIBE.
fn sample_trace() -> mqscope::model::packet_trace::TraceUpdate {
    use bytes::Bytes;
    use mqscope::broker::codec::{
        ConnAck, Connect, Packet, Properties, ProtocolVersion, PubResp, Publish, QoS, SubAck, Subscribe, SubscriptionOptions,
    };
    use mqscope::model::packet_trace::{Direction, TraceTargets, TraceUpdate};
    let connect = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 30,
        client_id: "esp32-garage".into(),
        will: None,
        username: Some("garage".into()),
        password: Some(Bytes::from_static(b"not-shown")),
        properties: Properties { session_expiry_interval: Some(3600), ..Properties::default() },
    };
    let ack = |pkid| PubResp { pkid, code: 0, properties: Properties::default() };
    let publish = Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "garage/door/state".into(),
        pkid: 12,
        payload: Bytes::from_static(br#"{"open":false,"battery":87}"#),
        properties: Properties { content_type: Some("application/json".into()), ..Properties::default() },
    };
    let options = SubscriptionOptions { qos: QoS::AtLeastOnce, ..SubscriptionOptions::default() };
    let packets = [
        (Direction::In, Packet::Connect(Box::new(connect)), 58),
        (Direction::Out, Packet::ConnAck(ConnAck { session_present: false, code: 0, properties: Properties::default() }), 14),
        (Direction::In, Packet::Publish(publish), 61),
        (Direction::Out, Packet::PubRec(ack(12)), 4),
        (Direction::In, Packet::PubRel(ack(12)), 4),
        (Direction::Out, Packet::PubComp(ack(12)), 4),
        (
            Direction::In,
            Packet::Subscribe(Subscribe { pkid: 3, filters: vec![("$SYS/#".into(), options)], properties: Properties::default() }),
            14,
        ),
        (Direction::Out, Packet::SubAck(SubAck { pkid: 3, codes: vec![0x87], properties: Properties::default() }), 6),
        (Direction::In, Packet::PingReq, 2),
        (Direction::Out, Packet::PingResp, 2),
    ];
    let client: std::sync::Arc<str> = "esp32-garage".into();
    let start = SystemTime::now();
    let rows: Vec<_> = packets
        .iter()
        .enumerate()
        .map(|(i, (dir, packet, size))| {
            let at = start + std::time::Duration::from_millis(37 * i as u64);
            mqscope::broker::trace_row::row(i as u64 + 1, at, std::sync::Arc::clone(&client), *dir, packet, *size)
        })
        .collect();
    let targets = TraceTargets { all: false, clients: [client].into_iter().collect() };
    TraceUpdate { last_seq: rows.len() as u64, packets: rows, targets }
}

/// The shots that can be taken alone.
fn shots_named(names: &[String]) {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;
    if names.iter().any(|n| n == "capture") {
        // A recording of Local running (the red REC badge) and a replay in progress.
        let (mut a, _sink, _cmds) = app();
        let stats = Arc::new(mqscope::protocol::recording::RecordStats::default());
        stats.messages.store(48_213, Relaxed);
        stats.bytes.store(7_340_032, Relaxed);
        a.recordings.insert(ConnId::LOCAL, mqscope::app::Recording { path: "/home/me/plant-morning.ndjson".into(), stats });
        let progress = mqscope::model::export::Progress::default();
        progress.total.store(120_000, Relaxed);
        progress.done.store(51_840, Relaxed);
        a.capture.replay = Some(mqscope::ui::capture_panel::ReplayForm {
            path: "/home/me/line2-friday.ndjson".into(),
            job: Some(progress),
            ..Default::default()
        });
        save(&mut harness(a, Some("factory/line2/robot1/telemetry")), "capture");
    }
    if names.iter().any(|n| n == "timers") {
        // The sensor simulator set up, with two timers running.
        let (mut a, _sink, _cmds) = app();
        a.timers.open_simulator();
        a.timers.devices = "20".into();
        a.timers.every_ms = "500".into();
        for (conn, what, sent) in
            [("Local", "5 devices under sim/, sine + noise, every 1 s, until stopped", 1_240), ("Local", "every 250 ms, 100 times", 37)]
        {
            let stats = Arc::new(mqscope::protocol::timers::TimerStats::default());
            stats.sent.store(sent, Relaxed);
            a.timers.running.push(mqscope::ui::timer_panel::Running { conn: conn.into(), what: what.into(), stats });
        }
        save(&mut harness(a, None), "timers");
    }
    if names.iter().any(|n| n == "sparkplug") {
        use mqscope::model::decode::Decoder;
        use mqscope::model::payload::JsonPath;
        let (mut a, _sink, _cmds) = app();
        a.store.insert_messages(ConnId::LOCAL, sparkplug_traffic(SystemTime::now()));
        let field = JsonPath::parse(r#"metrics["Process/Temperature"].value"#).ok();
        for edge in ["press-1", "press-2"] {
            a.plot_decoded(format!("spBv1.0/plant/NDATA/{edge}"), field.clone(), Some(Decoder::Sparkplug));
        }
        save(&mut harness(a, Some("spBv1.0/plant/NDATA/press-1")), "sparkplug");
    }
}
