//! `cargo run --example screenshots`: one PNG per area of the window into `screenshots/`, drawn by
//! egui's own renderer (wgpu, on the CPU here) through egui_kittest, from the demo topic set.
//! `scripts/screenshots.sh` runs it after taking the real window's shot under Xvfb.
//!
//! Shots: the tree with the inspector (light theme), a JSON diff of two history entries, charts
//! with two series, the top talkers, the connections dialog, the settings, the broker's packet
//! trace and fault injection (fed with packets as the broker decodes them), a Sparkplug B device
//! decoded with one metric charted across three devices, and the Sparkplug tab (edge nodes and
//! devices, online, offline, a gap, a stale NDEATH) with a DCMD being typed. Names given as arguments
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

/// Sparkplug B traffic of a plant: edge node `press-1` with three devices (a BIRTH naming
/// `Process/Temperature`, `Process/Pressure` and `Motor/Run` with aliases, then a minute of
/// alias-only DDATA every 5 s, one message lost on the way: a sequence gap), `press-2` gone with its
/// NDEATH, the boiler's late will from an earlier session (a stale NDEATH), and the SCADA host's STATE.
fn sparkplug_traffic(now: SystemTime) -> Vec<mqscope::model::Message> {
    use std::time::Duration;

    use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
    use mqscope::model::{Message, QoS};
    use prost::Message as _;
    let at = |secs: u64| now - Duration::from_secs(secs);
    let ms = |secs: u64| u64::try_from(at(secs).duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(0);
    let metric = |name: Option<&str>, alias: u64, datatype: u32, value: MetricValue| Metric {
        name: name.map(str::to_owned),
        alias: Some(alias),
        datatype: Some(datatype),
        value: Some(value),
        ..Metric::default()
    };
    let payload = |secs: u64, seq: Option<u64>, metrics: Vec<Metric>| {
        Payload { timestamp: Some(ms(secs)), seq, metrics, ..Payload::default() }.encode_to_vec()
    };
    let bd_seq = |n: u64| metric(Some("bdSeq"), 0, 8, MetricValue::LongValue(n));
    let msg = |topic: &str, bytes: Vec<u8>, secs: u64| Message::new(topic, bytes, QoS::AtMostOnce, false, at(secs));
    let mut msgs = vec![Message::new(
        "spBv1.0/STATE/scada-primary",
        format!(r#"{{"online":true,"timestamp":{}}}"#, ms(90)),
        QoS::AtLeastOnce,
        true,
        at(90),
    )];
    for (edge, bd) in [("press-1", 4), ("press-2", 7)] {
        let rebirth = metric(Some("Node Control/Rebirth"), 1, 11, MetricValue::BooleanValue(false));
        msgs.push(msg(&format!("spBv1.0/plant/NBIRTH/{edge}"), payload(80, Some(0), vec![bd_seq(bd), rebirth]), 80));
    }
    let mut seq = 0;
    for dev in 1..=3u64 {
        seq += 1;
        let birth = vec![
            metric(Some("Process/Temperature"), 10 * dev, 10, MetricValue::DoubleValue(60.0)),
            metric(Some("Process/Pressure"), 10 * dev + 1, 10, MetricValue::DoubleValue(2.0)),
            metric(Some("Motor/Run"), 10 * dev + 2, 11, MetricValue::BooleanValue(true)),
        ];
        msgs.push(msg(&format!("spBv1.0/plant/DBIRTH/press-1/dev{dev}"), payload(78, Some(seq), birth), 78));
    }
    msgs.push(msg("spBv1.0/plant/DBIRTH/press-2/dev1", payload(78, Some(1), Vec::new()), 78));
    for i in 1..=12u32 {
        let secs = 65 - u64::from(i) * 5;
        for dev in 1..=3u64 {
            seq += 1;
            if i == 7 && dev == 2 {
                continue; // Lost between the edge node and the broker.
            }
            #[expect(clippy::cast_precision_loss, reason = "a device number")]
            let n = dev as f64;
            let x = f64::from(i);
            let t = 58.0 + 3.0 * n + (x / 2.0 + n).sin() * 2.5;
            let metrics = vec![
                metric(None, 10 * dev, 10, MetricValue::DoubleValue(t)),
                metric(None, 10 * dev + 1, 10, MetricValue::DoubleValue(2.0 + x / 40.0)),
            ];
            msgs.push(msg(&format!("spBv1.0/plant/DDATA/press-1/dev{dev}"), payload(secs, Some(seq % 256), metrics), secs));
        }
    }
    msgs.push(msg("spBv1.0/plant/NDEATH/press-2", payload(30, None, vec![bd_seq(7)]), 30));
    msgs.push(msg("spBv1.0/utilities/NBIRTH/boiler", payload(50, Some(0), vec![bd_seq(2)]), 50));
    msgs.push(msg("spBv1.0/utilities/NDATA/boiler", payload(20, Some(1), Vec::new()), 20));
    msgs.push(msg("spBv1.0/utilities/NDEATH/boiler", payload(45, None, vec![bd_seq(1)]), 45));
    msgs.sort_by_key(|m| m.received_at);
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
    shots_named(&["sparkplug".to_owned(), "sparkplug-nodes".to_owned(), "capture".to_owned(), "timers".to_owned()]);
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
        // One metric charted across three devices of an edge node (names from each DBIRTH).
        use mqscope::model::decode::Decoder;
        use mqscope::model::payload::JsonPath;
        let (mut a, _sink, _cmds) = app();
        a.store.insert_messages(ConnId::LOCAL, sparkplug_traffic(SystemTime::now()));
        let field = JsonPath::parse(r#"metrics["Process/Temperature"].value"#).ok();
        for dev in 1..=3 {
            a.plot_decoded(format!("spBv1.0/plant/DDATA/press-1/dev{dev}"), field.clone(), Some(Decoder::Sparkplug));
        }
        save(&mut harness(a, Some("spBv1.0/plant/DDATA/press-1/dev1")), "sparkplug");
    }
    if names.iter().any(|n| n == "sparkplug-nodes") {
        // The Sparkplug tab: online, offline, a sequence gap, a stale NDEATH, the host's STATE;
        // and the command editor of a device, prefilled from its DBIRTH.
        let (mut a, _sink, _cmds) = app();
        a.store.insert_messages(ConnId::LOCAL, sparkplug_traffic(SystemTime::now()));
        a.dock_open = true;
        a.dock_tab = DockTab::Sparkplug;
        let mut h = harness(a, Some("spBv1.0/plant/DDATA/press-1/dev2"));
        if let Some(button) = h.query_by_label("Send a command to press-1/dev2") {
            button.click();
            h.run();
        }
        save(&mut h, "sparkplug-nodes");
    }
}
