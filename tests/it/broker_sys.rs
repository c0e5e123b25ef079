//! `$SYS/broker/...` (mosquitto's names): published every `sys_interval`, retained, not matched by `#`.

use std::time::Duration;

use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{Packet, ProtocolVersion::V311, QoS};

use crate::common::start_broker_with;
use crate::raw::{Raw, publish, qos};

const NAMES: [&str; 28] = [
    "version",
    "uptime",
    "clients/connected",
    "clients/total",
    "clients/disconnected",
    "clients/maximum",
    "messages/received",
    "messages/sent",
    "publish/messages/received",
    "publish/messages/sent",
    "publish/messages/dropped",
    "bytes/received",
    "bytes/sent",
    "subscriptions/count",
    "shared_subscriptions/count",
    "retained messages/count",
    "limits/connections",
    "limits/connection_rate",
    "limits/packet_size",
    "limits/subscriptions",
    "limits/topic",
    "limits/connect_timeout",
    "limits/write_timeout",
    "security/tls_handshake_failed",
    "security/auth_failed",
    "security/acl/subscribe_denied",
    "security/acl/publish_denied",
    "security/acl/delivery_denied",
];

fn fast_sys() -> BrokerConfig {
    BrokerConfig { sys_interval: Some(Duration::from_millis(100)), ..BrokerConfig::default() }
}

#[tokio::test]
async fn sys_topics_carry_the_broker_counters() {
    let (addr, _b) = start_broker_with(fast_sys()).await;
    let mut p = Raw::connected(addr, V311, "sys-pub").await;
    p.send(&Packet::Publish(publish("counted", QoS::AtMostOnce, 0, b"x"))).await;
    p.ping().await;
    let mut s = Raw::connected(addr, V311, "sys-sub").await;
    s.subscribe(1, "$SYS/broker/#", qos(QoS::AtMostOnce)).await;
    let mut seen = std::collections::BTreeMap::new();
    // Retained values from before our SUBSCRIBE come first; wait for a period that counts it.
    while seen.len() < NAMES.len() || seen.get("subscriptions/count").is_none_or(|c| c != "1") {
        let m = s.expect_publish().await;
        let name = m.topic.strip_prefix("$SYS/broker/").expect("$SYS/broker/ prefix").to_owned();
        assert!(NAMES.contains(&name.as_str()), "unexpected {name}");
        seen.insert(name, String::from_utf8(m.payload.to_vec()).expect("utf-8"));
    }
    assert!(seen["version"].starts_with("mqscope version "));
    assert!(seen["uptime"].ends_with(" seconds"));
    assert!(seen["clients/connected"].parse::<u64>().expect("number") >= 1);
    assert!(seen["publish/messages/received"].parse::<u64>().expect("number") >= 1);
    assert_eq!(seen["subscriptions/count"], "1");
}

#[tokio::test]
async fn sys_topics_are_retained_and_hidden_from_hash() {
    // MQTT-4.7.2-1: `#` does not match `$SYS/...`; like mosquitto, the values are retained.
    let (addr, _b) = start_broker_with(fast_sys()).await;
    let mut all = Raw::connected(addr, V311, "sys-all").await;
    all.subscribe(1, "#", qos(QoS::AtMostOnce)).await;
    // Wait for a $SYS period after that SUBSCRIBE: a value delivered to an existing subscription has
    // RETAIN=0 (MQTT-3.3.1-9), the replay of the stored value RETAIN=1.
    let mut sys = Raw::connected(addr, V311, "sys-period").await;
    sys.subscribe(1, "$SYS/broker/uptime", qos(QoS::AtMostOnce)).await;
    while sys.expect_publish().await.retain {}
    all.expect_nothing().await;
    let mut late = Raw::connected(addr, V311, "sys-late").await;
    late.subscribe(1, "$SYS/broker/uptime", qos(QoS::AtMostOnce)).await;
    assert!(late.expect_publish().await.retain, "retained value sent on subscribe");
}

#[tokio::test]
async fn mosquitto_sub_reads_sys_uptime() {
    let (addr, _b) = start_broker_with(fast_sys()).await;
    let child = crate::broker_mosquitto::sub(addr, &["-t", "$SYS/broker/uptime", "-v"], 1);
    let out = crate::broker_mosquitto::output(child).await;
    assert!(out.starts_with("$SYS/broker/uptime ") && out.trim_end().ends_with(" seconds"), "{out}");
}
