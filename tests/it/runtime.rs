//! `runtime::run` end to end: the embedded broker starts, routed messages reach the UI channel
//! without any `#` subscription, and publishes from the UI reach external clients.

use std::net::SocketAddr;
use std::sync::Arc;

use mqscope::broker::BrokerConfig;
use mqscope::model::{ConnId, MessageMeta, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventSink, PublishRequest};
use mqscope::runtime::{self, RuntimeConfig};
use rumqttc::Packet;
use tokio::sync::mpsc;

use crate::common::{client_v4, drive_v4, guard, next_publish_v4, wait_v4};

struct Running {
    commands: mpsc::Sender<Command>,
    events: mqscope::protocol::EventReceiver,
    addr: SocketAddr,
    note: Option<String>,
}

async fn start(bind: SocketAddr) -> Running {
    let (commands, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let config_dir = std::env::temp_dir().join(format!("mqscope-runtime-{}-{}", std::process::id(), bind.port()));
    let config = RuntimeConfig {
        bind,
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(config_dir),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    let (addr, note) = guard("BrokerStarted", async {
        loop {
            if let Some(Event::BrokerStarted { local_addr, note }) = events.recv().await {
                return (local_addr, note);
            }
        }
    })
    .await;
    Running { commands, events, addr, note }
}

/// Next message batch's first message with this topic.
async fn next_message(events: &mut mqscope::protocol::EventReceiver, topic: &str) -> mqscope::model::Message {
    guard("a message event", async {
        loop {
            if let Some((conn_id, msgs)) = events.recv().await.and_then(Event::into_messages) {
                assert_eq!(conn_id, ConnId::LOCAL);
                if let Some(m) = msgs.into_iter().find(|m| &*m.topic == topic) {
                    return m;
                }
            }
        }
    })
    .await
}

#[tokio::test]
async fn routed_messages_reach_the_ui_with_their_provenance() {
    let mut rt = start("127.0.0.1:0".parse().expect("addr")).await;
    assert!(rt.note.is_none());
    let (publisher, pub_el) = client_v4(rt.addr, "sensor-7", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("home/kitchen/temp", rumqttc::QoS::ExactlyOnce, true, "21.5").await.expect("publish");
    let msg = next_message(&mut rt.events, "home/kitchen/temp").await;
    assert_eq!(&msg.payload[..], b"21.5");
    assert!(msg.retain);
    let meta = msg.meta.expect("provenance");
    assert_eq!(meta.publisher.as_deref(), Some("sensor-7"));
    assert_eq!(meta.published_qos, Some(QoS::ExactlyOnce));
    rt.commands.send(Command::Shutdown).await.expect("shutdown");
}

#[tokio::test]
async fn publish_command_reaches_an_external_subscriber() {
    let mut rt = start("127.0.0.1:0".parse().expect("addr")).await;
    let (sub, mut sub_el) = client_v4(rt.addr, "listener", true).await;
    sub.subscribe("ui/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let req = PublishRequest {
        id: 7,
        conn_id: ConnId::LOCAL,
        topic: "ui/hello".into(),
        payload: "world".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        meta: MessageMeta::default(),
    };
    rt.commands.send(Command::Publish(req)).await.expect("send");
    let p = next_publish_v4(&mut sub_el).await;
    assert_eq!((p.topic.as_str(), &p.payload[..], p.qos), ("ui/hello", &b"world"[..], rumqttc::QoS::AtLeastOnce));
    // The embedded broker took it: that is its delivery, reported for this request.
    let outcome = guard("the publish result", async {
        loop {
            if let Some(Event::PublishResult { id: 7, outcome, .. }) = rt.events.recv().await {
                return outcome;
            }
        }
    })
    .await;
    assert_eq!(outcome, mqscope::protocol::PublishOutcome::Delivered);
}

#[tokio::test]
async fn taken_port_falls_back_to_a_free_one_and_says_why() {
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = squatter.local_addr().expect("addr");
    let rt = start(taken).await;
    assert_ne!(rt.addr.port(), taken.port());
    let note = rt.note.expect("a note says why");
    assert!(note.contains(&taken.port().to_string()), "{note}");
    // The fallback port really serves MQTT.
    client_v4(rt.addr, "fallback-check", true).await;
}

#[tokio::test]
async fn save_to_a_typed_path_writes_the_file_and_says_so() {
    let mut rt = start("127.0.0.1:0".parse().expect("addr")).await;
    let path = std::env::temp_dir().join(format!("mqscope-save-to-{}.csv", std::process::id()));
    rt.commands.send(Command::SaveTo { path: path.clone(), bytes: "a,b\n".into() }).await.expect("send");
    let notice = guard("the notice", async {
        loop {
            if let Some(Event::Notice(text)) = rt.events.recv().await {
                return text;
            }
        }
    })
    .await;
    assert_eq!(notice, format!("Saved 4 bytes to {}", path.display()));
    assert_eq!(std::fs::read_to_string(&path).expect("written"), "a,b\n");
    std::fs::remove_file(&path).ok();
}

/// A runtime on a free port keeping its files in `config_dir`.
fn start_in(config_dir: &std::path::Path) -> (mpsc::Sender<Command>, mqscope::protocol::EventReceiver) {
    let (commands, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, events) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(config_dir.to_owned()),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    (commands, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoder_bindings_are_saved_and_read_back_at_the_next_start() {
    use mqscope::model::decode::{BindingFile, Decoder};
    let dir = std::env::temp_dir().join(format!("mqscope-runtime-decoders-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut file = BindingFile::default();
    file.bind("factory/+/pack/#", Decoder::MsgPack);
    file.bind("spBv1.0/#", Decoder::Sparkplug);

    let (commands, _events) = start_in(&dir);
    commands.send(Command::SaveDecoders(file.clone())).await.expect("runtime running");
    let path = dir.join("decoders.toml");
    crate::common::until("decoders.toml written", || std::fs::read_to_string(&path).is_ok_and(|t| t.contains("spBv1.0/#"))).await;
    commands.send(Command::Shutdown).await.ok();

    let (commands, mut events) = start_in(&dir);
    let loaded = guard("DecodersLoaded", async {
        loop {
            if let Some(Event::DecodersLoaded(loaded)) = events.recv().await {
                return loaded;
            }
        }
    })
    .await;
    assert_eq!(loaded, file);
    commands.send(Command::Shutdown).await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proto_files_of_saved_bindings_are_compiled_at_start_and_on_request() {
    use mqscope::model::decode::{BindingFile, Decoder, DecoderBinding, ProtoRef};
    let dir = std::env::temp_dir().join(format!("mqscope-runtime-protos-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("mkdir");
    let good = dir.join("good.proto");
    std::fs::write(&good, "syntax = \"proto3\";\npackage p;\nmessage M { message N { int32 x = 1; } N n = 1; }\n").expect("write");
    let bad = dir.join("bad.proto");
    std::fs::write(&bad, "syntax = \"proto3\";\nmessage {\n").expect("write");
    let mut file = BindingFile::default();
    for (filter, proto) in [("a/#", &good), ("b/#", &bad)] {
        let proto = Some(ProtoRef { file: proto.clone(), message: "p.M".into() });
        file.set(DecoderBinding { filter: filter.into(), decoder: Decoder::Protobuf, proto });
    }
    std::fs::write(dir.join("decoders.toml"), toml::to_string(&file).expect("toml")).expect("write");

    let (commands, mut events) = start_in(&dir);
    let mut compiled = std::collections::BTreeMap::new();
    guard("both files compiled at start", async {
        while compiled.len() < 2 {
            if let Some(Event::ProtoCompiled { file, result }) = events.recv().await {
                compiled.insert(file, result.map(|f| f.messages()));
            }
        }
    })
    .await;
    assert_eq!(compiled[&good], Ok(vec!["p.M".to_owned(), "p.M.N".to_owned()]));
    assert!(compiled[&bad].as_ref().is_err_and(|e| e.starts_with("bad.proto:2:")), "{:?}", compiled[&bad]);

    // Fixed on disk, compiled again on request.
    std::fs::write(&bad, "syntax = \"proto3\";\npackage p;\nmessage M {}\n").expect("write");
    commands.send(Command::CompileProto(bad.clone())).await.expect("runtime running");
    let result = guard("compiled on request", async {
        loop {
            if let Some(Event::ProtoCompiled { file, result }) = events.recv().await
                && file == bad
            {
                return result.map(|f| f.messages());
            }
        }
    })
    .await;
    assert_eq!(result, Ok(vec!["p.M".to_owned()]));
    commands.send(Command::Shutdown).await.ok();
    std::fs::remove_dir_all(&dir).ok();
}
