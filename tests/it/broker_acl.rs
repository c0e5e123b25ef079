//! The ACL (mosquitto acl_file syntax): SUBSCRIBE refused per filter at SUBSCRIBE time (0x80 in
//! 3.1.1, 0x87 in 5.0), PUBLISH refused (dropped in 3.1.1, 0x87 in 5.0), `pattern` with %c, a
//! `deny` below a granted wildcard, and a SIGHUP reload of the headless broker that keeps its
//! connections.

use std::sync::atomic::Ordering::Relaxed;

use mqscope::broker::Broker;
use mqscope::broker::codec::{Packet, ProtocolVersion, PubResp, QoS};
use mqscope::broker::security::{Acl, Security};

use crate::common::start_broker;
use crate::raw::{Raw, connect_packet, publish, qos};

const ACL: &str = "\
# anonymous clients
topic read public/#
pattern readwrite devices/%c/#
user alice
topic readwrite alice/#
topic deny alice/secret
topic read public/#
";

async fn acl_broker(text: &str) -> (std::net::SocketAddr, Broker) {
    let (addr, broker) = start_broker().await;
    broker.set_security(Security { acl: Some(Acl::parse(text).expect("acl")), ..Security::default() });
    (addr, broker)
}

async fn as_alice(addr: std::net::SocketAddr, version: ProtocolVersion, id: &str) -> Raw {
    let mut connect = connect_packet(version, id, true, 60);
    connect.username = Some("alice".into());
    let (raw, ack) = Raw::connect(addr, connect).await;
    assert_eq!(ack.code, 0);
    raw
}

/// SUBSCRIBE with several filters; returns the SUBACK codes.
async fn subscribe_many(raw: &mut Raw, pkid: u16, filters: &[&str]) -> Vec<u8> {
    let packet = Packet::Subscribe(mqscope::broker::codec::Subscribe {
        pkid,
        filters: filters.iter().map(|f| ((*f).to_owned(), qos(QoS::AtLeastOnce))).collect(),
        properties: mqscope::broker::codec::Properties::default(),
    });
    raw.send(&packet).await;
    match raw.expect("SUBACK").await {
        Packet::SubAck(s) => s.codes,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

#[tokio::test]
async fn subscribe_is_refused_per_filter_in_both_versions() {
    let (addr, broker) = acl_broker(ACL).await;
    // 3.1.1 §3.9.3: 0x80 Failure for the refused filter, the others granted (MQTT-3.9.3-1: one code per filter, in order).
    let mut v3 = as_alice(addr, ProtocolVersion::V311, "a3").await;
    assert_eq!(subscribe_many(&mut v3, 1, &["alice/#", "bob/#", "public/news"]).await, [0x01, 0x80, 0x01]);
    // 5.0 §3.9.3: 0x87 Not authorized.
    let mut v5 = as_alice(addr, ProtocolVersion::V5, "a5").await;
    assert_eq!(subscribe_many(&mut v5, 1, &["#", "alice/+/x", "alice/secret"]).await, [0x87, 0x01, 0x87]);
    // Anonymous: only its own section.
    let mut anon = Raw::connected(addr, ProtocolVersion::V5, "anon").await;
    assert_eq!(subscribe_many(&mut anon, 1, &["public/#", "alice/#"]).await, [0x01, 0x87]);
    assert_eq!(broker.shared().stats.security.subscribe_denied.load(Relaxed), 4);
    assert!(!crate::common::has_subscription(&broker, "a3", "bob/#"));
}

#[tokio::test]
async fn publish_outside_the_acl_is_refused_with_0x87_in_v5_and_dropped_in_v311() {
    let (addr, broker) = acl_broker(ACL).await;
    let mut watcher = as_alice(addr, ProtocolVersion::V5, "watch").await;
    assert_eq!(subscribe_many(&mut watcher, 1, &["public/#"]).await, [0x01]);
    let mut v5 = as_alice(addr, ProtocolVersion::V5, "p5").await;
    // 5.0 §3.4.2.1 / §3.5.2.1: PUBACK and PUBREC carry 0x87 Not authorized.
    v5.send(&Packet::Publish(publish("public/news", QoS::AtLeastOnce, 1, b"no"))).await;
    assert!(matches!(v5.expect("PUBACK").await, Packet::PubAck(PubResp { pkid: 1, code: 0x87, .. })));
    v5.send(&Packet::Publish(publish("public/news", QoS::ExactlyOnce, 2, b"no"))).await;
    assert!(matches!(v5.expect("PUBREC").await, Packet::PubRec(PubResp { pkid: 2, code: 0x87, .. })));
    // 3.1.1 has no refusal code: acknowledged, not routed.
    let mut v3 = as_alice(addr, ProtocolVersion::V311, "p3").await;
    v3.send(&Packet::Publish(publish("public/news", QoS::AtLeastOnce, 3, b"no"))).await;
    assert!(matches!(v3.expect("PUBACK").await, Packet::PubAck(PubResp { pkid: 3, .. })));
    v3.send(&Packet::Publish(publish("public/news", QoS::AtMostOnce, 0, b"no"))).await;
    v3.ping().await;
    watcher.expect_nothing().await;
    assert_eq!(broker.shared().stats.security.publish_denied.load(Relaxed), 4);
    // What alice may write goes through.
    v5.send(&Packet::Publish(publish("alice/ok", QoS::AtLeastOnce, 4, b"yes"))).await;
    assert!(matches!(v5.expect("PUBACK").await, Packet::PubAck(PubResp { pkid: 4, code: 0x00, .. })));
}

#[tokio::test]
async fn pattern_percent_c_gives_each_client_its_own_subtree() {
    let (addr, _broker) = acl_broker(ACL).await;
    let mut dev1 = Raw::connected(addr, ProtocolVersion::V5, "dev1").await;
    let mut dev2 = Raw::connected(addr, ProtocolVersion::V5, "dev2").await;
    assert_eq!(subscribe_many(&mut dev1, 1, &["devices/dev1/#", "devices/dev2/#", "devices/+/cmd"]).await, [0x01, 0x87, 0x87]);
    assert_eq!(subscribe_many(&mut dev2, 1, &["devices/dev2/#"]).await, [0x01]);
    dev2.send(&Packet::Publish(publish("devices/dev1/cmd", QoS::AtLeastOnce, 1, b"intrude"))).await;
    assert!(matches!(dev2.expect("PUBACK").await, Packet::PubAck(PubResp { code: 0x87, .. })));
    dev1.send(&Packet::Publish(publish("devices/dev1/state", QoS::AtLeastOnce, 2, b"mine"))).await;
    assert!(matches!(dev1.expect("PUBACK").await, Packet::PubAck(PubResp { code: 0x00, .. })));
    let got = dev1.expect_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("devices/dev1/state", &b"mine"[..]));
    dev2.expect_nothing().await;
}

#[tokio::test]
async fn a_deny_below_a_granted_wildcard_is_honoured_for_live_and_retained_messages() {
    // The publisher may write everything; alice may read alice/# but not alice/secret.
    let acl = format!("{ACL}user admin\ntopic readwrite #\n");
    let (addr, broker) = acl_broker(&acl).await;
    let mut admin_connect = connect_packet(ProtocolVersion::V5, "admin", true, 60);
    admin_connect.username = Some("admin".into());
    let (mut admin, _) = Raw::connect(addr, admin_connect).await;
    let mut retained = publish("alice/secret", QoS::AtMostOnce, 0, b"old secret");
    retained.retain = true;
    admin.send(&Packet::Publish(retained)).await;
    admin.ping().await;
    let mut alice = as_alice(addr, ProtocolVersion::V5, "alice").await;
    assert_eq!(subscribe_many(&mut alice, 1, &["alice/#"]).await, [0x01], "the wildcard is granted");
    admin.send(&Packet::Publish(publish("alice/secret", QoS::AtMostOnce, 0, b"secret"))).await;
    admin.send(&Packet::Publish(publish("alice/inbox", QoS::AtMostOnce, 0, b"hello"))).await;
    admin.ping().await;
    // Neither the retained nor the live secret: the first delivery is the allowed one.
    let got = alice.expect_publish().await;
    assert_eq!(got.topic, "alice/inbox");
    alice.expect_nothing().await;
    assert!(broker.shared().stats.security.delivery_denied.load(Relaxed) >= 1);
}

/// SIGHUP makes the headless broker re-read its ACL; the connection that was refused stays up and
/// is granted after the reload.
#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_acl_without_dropping_connections() {
    let dir = crate::broker_tls::temp_dir("acl-hup");
    std::fs::create_dir_all(&dir).expect("dir");
    let acl_file = dir.join("acl");
    std::fs::write(&acl_file, "topic read public/#\n").expect("acl");
    let (mut child, addr, _log) = crate::broker_config::spawn_broker(&["--acl-file", &acl_file.display().to_string()]).await;
    let mut raw = Raw::connected(addr, ProtocolVersion::V5, "stays").await;
    assert_eq!(subscribe_many(&mut raw, 1, &["private/x"]).await, [0x87]);
    std::fs::write(&acl_file, "topic read public/#\ntopic read private/#\n").expect("acl");
    let broker_pid = child.id().expect("running");
    let status = tokio::process::Command::new("kill").args(["-HUP", &broker_pid.to_string()]).status().await.expect("kill");
    assert!(status.success());
    // Wait for the reload to be in force: the same SUBSCRIBE on the same connection, until granted.
    let mut pkid = 2;
    crate::common::guard("the reloaded ACL", async {
        while subscribe_many(&mut raw, pkid, &["private/x"]).await != [0x01] {
            pkid += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    raw.ping().await;
    child.kill().await.ok();
}

#[tokio::test]
async fn mosquitto_sub_is_told_its_subscription_was_denied_in_both_versions() {
    let (addr, broker) = acl_broker(ACL).await;
    for version in ["mqttv311", "mqttv5"] {
        let child = crate::broker_mosquitto::sub(addr, &["-V", version, "-u", "alice", "-t", "bob/#"], 1);
        let out = crate::common::guard("mosquitto_sub", child.wait_with_output()).await.expect("output");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("All subscription requests were denied."), "{version}: {err}");
    }
    // One filter refused, one granted: mosquitto_sub stays and gets what it may read.
    let child = crate::broker_mosquitto::sub(addr, &["-V", "mqttv5", "-u", "alice", "-t", "bob/#", "-t", "alice/#", "-v"], 1);
    crate::broker_mosquitto::settle(&broker, 1).await;
    let mut admin = as_alice(addr, ProtocolVersion::V311, "writer").await;
    admin.send(&Packet::Publish(publish("alice/hello", QoS::AtMostOnce, 0, b"hi"))).await;
    admin.ping().await;
    assert_eq!(crate::broker_mosquitto::output(child).await, "alice/hello hi\n");
}
