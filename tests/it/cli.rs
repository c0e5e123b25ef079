//! `mqscope sub`, `pub`, `record` and `replay`, run as the real binary against the embedded broker
//! and against mosquitto (with mosquitto_pub / mosquitto_sub on the other side).

use std::process::Stdio;

use bytes::Bytes;
use mqscope::model::capture::CaptureLine;
use rumqttc::v5::mqttbytes::QoS as V5QoS;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use tokio::process::Command;

use crate::client_mosquitto::Mosquitto;
use crate::common::{guard, has_subscription, start_broker, until};

fn mqscope() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqscope"));
    c.kill_on_drop(true).stdin(Stdio::null());
    c
}

async fn output(mut cmd: Command) -> std::process::Output {
    guard("the command to finish", cmd.output()).await.expect("runs")
}

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mqscope-cli-{}-{name}", std::process::id()))
}

/// Five messages with what a capture must keep: binary and empty payloads, every QoS, MQTT 5
/// properties (user properties repeated, correlation data that is not UTF-8).
async fn publish_five(client: &rumqttc::v5::AsyncClient) {
    let props = PublishProperties {
        content_type: Some("application/octet-stream".into()),
        correlation_data: Some(Bytes::from_static(&[0xFF, 0x00, 0x01])),
        user_properties: vec![("k".into(), "v1".into()), ("k".into(), "v2, \"q\"\n".into())],
        response_topic: Some("rec/reply".into()),
        message_expiry_interval: Some(3600),
        ..PublishProperties::default()
    };
    client.publish("rec/a", V5QoS::AtMostOnce, false, "21.5").await.unwrap();
    client.publish_with_properties("rec/bin", V5QoS::AtLeastOnce, false, vec![0u8, 0xFF, 0xD8, b'\n'], props).await.unwrap();
    client.publish("rec/empty", V5QoS::ExactlyOnce, false, Vec::<u8>::new()).await.unwrap();
    client.publish("rec/a", V5QoS::AtLeastOnce, false, "{\"t\": 22}").await.unwrap();
    client.publish("rec/b/c", V5QoS::ExactlyOnce, false, "last").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_gives_the_same_messages_in_order() {
    let (addr, broker) = start_broker().await;
    let file = temp_file("capture.ndjson");
    let mut record = mqscope();
    record.args(["record", "-h", "127.0.0.1", "-p", &addr.port().to_string(), "-V", "5", "-q", "2", "-i", "recorder"]);
    record.args(["-t", "rec/#", "-C", "5", "--quiet", "-o"]).arg(&file);
    let recording = record.output();
    let publisher = async {
        until("the recorder to subscribe", || has_subscription(&broker, "recorder", "rec/#")).await;
        let (client, el) = crate::common::client_v5(addr, "publisher").await;
        let driver = tokio::spawn(async move {
            let mut el = el;
            while el.poll().await.is_ok() {}
        });
        publish_five(&client).await;
        // Keep the publisher's connection up until the recorder has everything.
        (client, driver.abort_handle())
    };
    let (recorded, (_client, driver)) = guard("record", async { tokio::join!(recording, publisher) }).await;
    let recorded = recorded.expect("record runs");
    assert!(recorded.status.success(), "record: {}", String::from_utf8_lossy(&recorded.stderr));
    driver.abort();

    let text = std::fs::read_to_string(&file).expect("capture written");
    let lines: Vec<CaptureLine> = text.lines().enumerate().map(|(i, l)| CaptureLine::parse(l, i + 1).expect("a capture line")).collect();
    let topics: Vec<&str> = lines.iter().map(|l| l.topic.as_str()).collect();
    assert_eq!(topics, ["rec/a", "rec/bin", "rec/empty", "rec/a", "rec/b/c"], "order kept");
    assert_eq!(lines[1].payload_base64.as_deref(), Some("AP/YCg=="), "binary payload in base64");
    assert_eq!(lines[1].user_properties.len(), 2);
    assert_eq!(lines[3].payload.as_deref(), Some("{\"t\": 22}"));

    // Replay into a second broker, as fast as possible; a subscriber there sees the same messages.
    let (addr2, broker2) = start_broker().await;
    let (sub, mut el) = crate::common::client_v5(addr2, "watcher").await;
    sub.subscribe("copy/#", V5QoS::ExactlyOnce).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(async move {
        while let Ok(ev) = el.poll().await {
            if let rumqttc::v5::Event::Incoming(rumqttc::v5::mqttbytes::v5::Packet::Publish(p)) = ev {
                tx.send(p).ok();
            }
        }
    });
    let mut replay = mqscope();
    replay.args(["replay", "-h", "127.0.0.1", "-p", &addr2.port().to_string(), "-V", "5", "--max", "--quiet"]);
    replay.args(["--from-prefix", "rec/", "--to-prefix", "copy/"]).arg(&file);
    let received = async {
        until("the watcher to subscribe", || has_subscription(&broker2, "watcher", "copy/#")).await;
        let replayed = output(replay).await;
        assert!(replayed.status.success(), "replay: {}", String::from_utf8_lossy(&replayed.stderr));
        let mut got = Vec::new();
        while got.len() < 5 {
            got.push(rx.recv().await.expect("the watcher runs"));
        }
        got
    };
    let got = guard("the replayed messages", received).await;
    let got_topics: Vec<String> = got.iter().map(|p| String::from_utf8_lossy(&p.topic).into_owned()).collect();
    assert_eq!(got_topics, ["copy/a", "copy/bin", "copy/empty", "copy/a", "copy/b/c"]);
    assert_eq!(&got[1].payload[..], &[0u8, 0xFF, 0xD8, b'\n']);
    assert!(got[2].payload.is_empty());
    let qos: Vec<V5QoS> = got.iter().map(|p| p.qos).collect();
    assert_eq!(qos, [V5QoS::AtMostOnce, V5QoS::AtLeastOnce, V5QoS::ExactlyOnce, V5QoS::AtLeastOnce, V5QoS::ExactlyOnce]);
    let props = got[1].properties.as_ref().expect("properties replayed");
    assert_eq!(props.content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(props.correlation_data.as_deref(), Some(&[0xFF, 0x00, 0x01][..]));
    assert_eq!(props.user_properties, [("k".to_owned(), "v1".to_owned()), ("k".to_owned(), "v2, \"q\"\n".to_owned())]);
    assert_eq!(props.response_topic.as_deref(), Some("rec/reply"));
    watcher.abort();
    std::fs::remove_file(&file).ok();
}

#[tokio::test]
async fn sub_prints_like_mosquitto_sub() {
    let mosq = Mosquitto::start("allow_anonymous true").await;
    let port = mosq.port.to_string();
    for (t, m) in [("a/1", "one"), ("a/2", "two words"), ("b/x", "skip")] {
        let st = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-t", t, "-m", m, "-r"])
            .status()
            .await
            .expect("mosquitto_pub");
        assert!(st.success());
    }
    let theirs = output({
        let mut c = Command::new("mosquitto_sub");
        c.args(["-h", "127.0.0.1", "-p", &port, "-t", "a/#", "-v", "-C", "2"]);
        c
    })
    .await;
    let ours = output({
        let mut c = mqscope();
        c.args(["sub", "-h", "127.0.0.1", "-p", &port, "-t", "a/#", "-v", "-C", "2"]);
        c
    })
    .await;
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let sorted = |out: &[u8]| {
        let mut l: Vec<String> = String::from_utf8_lossy(out).lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&ours.stdout), ["a/1 one", "a/2 two words"]);
    assert_eq!(sorted(&ours.stdout), sorted(&theirs.stdout));

    // --json: one capture line per message.
    let json = output({
        let mut c = mqscope();
        c.args(["sub", "-h", "127.0.0.1", "-p", &port, "-t", "b/x", "--json", "-C", "1"]);
        c
    })
    .await;
    let line = CaptureLine::parse(String::from_utf8_lossy(&json.stdout).trim(), 1).expect("one JSON object");
    assert_eq!((line.topic.as_str(), line.payload.as_deref(), line.retain), ("b/x", Some("skip"), true));
}

#[tokio::test]
async fn pub_substitutes_and_repeats_into_mosquitto() {
    let mosq = Mosquitto::start("allow_anonymous true").await;
    let port = mosq.port.to_string();
    let published = output({
        let mut c = mqscope();
        c.args(["pub", "-h", "127.0.0.1", "-p", &port, "-q", "1", "-r", "--repeat", "3", "--interval", "1"]);
        c.args(["-t", "c/{{counter}}", "-m", "n={{counter}} r={{random(5,5)}}"]);
        c
    })
    .await;
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    let seen = output({
        let mut c = Command::new("mosquitto_sub");
        c.args(["-h", "127.0.0.1", "-p", &port, "-t", "c/#", "-v", "-C", "3", "-W", "10"]);
        c
    })
    .await;
    let mut lines: Vec<String> = String::from_utf8_lossy(&seen.stdout).lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["c/1 n=1 r=5", "c/2 n=2 r=5", "c/3 n=3 r=5"]);

    // A bad substitution is explained, nothing is sent.
    let bad = output({
        let mut c = mqscope();
        c.args(["pub", "-h", "127.0.0.1", "-p", &port, "-t", "c/x", "-m", "{{rand}}"]);
        c
    })
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown substitution"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[tokio::test]
async fn timeouts_and_refusals_end_with_mosquittos_exit_codes() {
    let mosq = Mosquitto::start("allow_anonymous false").await;
    let port = mosq.port.to_string();
    // Refused (not authorised): a clear error, exit code 1.
    let refused = output({
        let mut c = mqscope();
        c.args(["pub", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-m", "1"]);
        c
    })
    .await;
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("Connection error") && err.contains("refused"), "{err}");

    // -W with nothing arriving: "Timed out" and exit code 27, as mosquitto_sub.
    let (addr, _broker) = start_broker().await;
    let timed_out = output({
        let mut c = mqscope();
        c.args(["sub", "-h", "127.0.0.1", "-p", &addr.port().to_string(), "-t", "nothing/here", "-W", "1"]);
        c
    })
    .await;
    assert_eq!(timed_out.status.code(), Some(27));
    assert!(String::from_utf8_lossy(&timed_out.stderr).contains("Timed out"));
}

/// A Sparkplug B payload with one Double metric, named or by alias only.
fn sparkplug_payload(seq: u64, name: Option<&str>, value: f64) -> Vec<u8> {
    use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
    use prost::Message as _;
    let metric = Metric {
        name: name.map(str::to_owned),
        alias: Some(7),
        datatype: Some(10),
        value: Some(MetricValue::DoubleValue(value)),
        ..Metric::default()
    };
    Payload { timestamp: Some(1_700_000_000_000), seq: Some(seq), metrics: vec![metric], ..Payload::default() }.encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_decode_prints_one_json_object_per_message_with_sparkplug_aliases_resolved() {
    let (addr, broker) = start_broker().await;
    let port = addr.port().to_string();
    let mut c = mqscope();
    c.args(["sub", "-h", "127.0.0.1", "-p", &port, "-t", "spBv1.0/#", "--decode", "sparkplug", "-v", "-C", "4"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("spawn mqscope sub");
    crate::common::until_subscriptions(&broker, 1).await;
    let (client, el) = crate::common::client_v4(addr, "edge-node", true).await;
    let _driver = crate::common::drive_v4(el);
    client
        .publish("spBv1.0/plant/NBIRTH/edge1", rumqttc::QoS::AtLeastOnce, false, sparkplug_payload(0, Some("Temperature"), 20.0))
        .await
        .unwrap();
    client.publish("spBv1.0/plant/NDATA/edge1", rumqttc::QoS::AtLeastOnce, false, vec![0x12, 0x40]).await.unwrap();
    client.publish("spBv1.0/plant/NDATA/edge1", rumqttc::QoS::AtLeastOnce, false, sparkplug_payload(1, None, 21.5)).await.unwrap();
    client.publish("spBv1.0/plant/NDATA/edge1", rumqttc::QoS::AtLeastOnce, false, sparkplug_payload(3, None, 22.5)).await.unwrap();
    let out = guard("mqscope sub to print 4 messages", child.wait_with_output()).await.expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<(&str, serde_json::Value)> = stdout
        .lines()
        .map(|l| {
            let (topic, json) = l.split_once(' ').expect("topic first with -v");
            (topic, serde_json::from_str(json).expect("one JSON object"))
        })
        .collect();
    assert_eq!(lines.len(), 3, "the undecodable payload is not printed: {stdout}");
    assert_eq!(lines[0].0, "spBv1.0/plant/NBIRTH/edge1");
    assert_eq!(lines[1].1["metrics"]["Temperature"]["value"], 21.5, "the alias is named from the BIRTH: {stdout}");
    assert_eq!(lines[1].1["seq"], 1);
    assert!(lines[1].1.get("seq_gap").is_none(), "{stdout}");
    assert_eq!(lines[2].1["seq_gap"], serde_json::json!({"expected": 2}), "seq 2 never came: {stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("spBv1.0/plant/NDATA/edge1: cannot decode as Sparkplug B") && stderr.contains("(at byte 0)"), "{stderr}");

    // CBOR of a retained message, without -v: the JSON alone; a non-string key kept as a pair.
    let mut value = Vec::new();
    ciborium::ser::into_writer(
        &ciborium::Value::Map(vec![(ciborium::Value::Integer(1.into()), ciborium::Value::Bytes(vec![1]))]),
        &mut value,
    )
    .unwrap();
    client.publish("c/x", rumqttc::QoS::AtLeastOnce, true, value).await.unwrap();
    // Stored before the subscription or routed live after it: either way it arrives.
    let out = output({
        let mut c = mqscope();
        c.args(["sub", "-h", "127.0.0.1", "-p", &port, "-t", "c/x", "--decode", "cbor", "-C", "1"]);
        c
    })
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"$map\":[[1,{\"$bytes\":\"AQ==\"}]]}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_decode_protobuf_compiles_the_proto_and_prints_json() {
    let dir = temp_file("proto");
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    std::fs::write(dir.join("inc/meta.proto"), "syntax = \"proto3\";\npackage meta;\nmessage Tag { string key = 1; }\n").unwrap();
    std::fs::write(
        dir.join("t.proto"),
        "syntax = \"proto3\";\npackage plant;\nimport \"inc/meta.proto\";\nmessage T { string name = 1; double v = 2; meta.Tag tag = 3; }\n",
    )
    .unwrap();
    let (addr, broker) = start_broker().await;
    let port = addr.port().to_string();
    let spec = format!("protobuf:{}:plant.T", dir.join("t.proto").display());
    let mut c = mqscope();
    c.args(["sub", "-h", "127.0.0.1", "-p", &port, "-t", "pb/#", "--decode", &spec, "-C", "1"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("spawn mqscope sub");
    crate::common::until_subscriptions(&broker, 1).await;
    let (client, el) = crate::common::client_v4(addr, "pb-device", true).await;
    let _driver = crate::common::drive_v4(el);
    // name = "ab", v = 1.5, tag = { key = "k" }
    let mut payload = vec![0x0a, 2, b'a', b'b', 0x11];
    payload.extend_from_slice(&1.5f64.to_le_bytes());
    payload.extend_from_slice(&[0x1a, 3, 0x0a, 1, b'k']);
    client.publish("pb/1", rumqttc::QoS::AtLeastOnce, false, payload).await.unwrap();
    let out = guard("mqscope sub to print 1 message", child.wait_with_output()).await.expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(value, serde_json::json!({"name": "ab", "v": 1.5, "tag": {"key": "k"}}));

    // A type that is not in the file: exit 1 with the known types named.
    let out = output({
        let mut c = mqscope();
        c.args([
            "sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "pb/#",
            "--decode",
            &format!("protobuf:{}:plant.Nope", dir.join("t.proto").display()),
        ]);
        c
    })
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("plant.T"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(dir).ok();
}
