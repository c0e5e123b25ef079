//! Debian's mosquitto_pub / mosquitto_sub against our broker: a second, independent implementation.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::process::Command;

use mqscope::broker::Broker;

use crate::common::{guard, start_broker, until_subscriptions};

/// Run mosquitto_sub until it has `count` messages (-C), with its own timeout (-W) as a hang guard.
pub fn sub(addr: SocketAddr, args: &[&str], count: u32) -> tokio::process::Child {
    Command::new("mosquitto_sub")
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "-C", &count.to_string(), "-W", "20"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub is installed (apt-get install mosquitto-clients)")
}

pub async fn publish(addr: SocketAddr, args: &[&str]) {
    let status = guard(
        "mosquitto_pub",
        Command::new("mosquitto_pub").args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()]).args(args).status(),
    )
    .await
    .expect("mosquitto_pub is installed (apt-get install mosquitto-clients)");
    assert!(status.success(), "mosquitto_pub {args:?} failed: {status}");
}

pub async fn output(child: tokio::process::Child) -> String {
    let out = guard("mosquitto_sub", child.wait_with_output()).await.expect("mosquitto_sub output");
    assert!(out.status.success(), "mosquitto_sub failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Wait until a freshly spawned mosquitto_sub has subscribed (it prints nothing until then): until the
/// broker holds `subscriptions` subscriptions in all.
pub async fn settle(broker: &Broker, subscriptions: usize) {
    until_subscriptions(broker, subscriptions).await;
}

#[tokio::test]
async fn mosquitto_clients_round_trip_qos0_and_qos1_v311() {
    let (addr, broker) = start_broker().await;
    let child = sub(addr, &["-t", "home/+/temp", "-q", "1", "-v"], 2);
    settle(&broker, 1).await;
    publish(addr, &["-t", "home/kitchen/temp", "-m", "21.5", "-q", "0"]).await;
    publish(addr, &["-t", "home/garage/door", "-m", "open", "-q", "1"]).await;
    publish(addr, &["-t", "home/office/temp", "-m", "19.0", "-q", "1"]).await;
    assert_eq!(output(child).await, "home/kitchen/temp 21.5\nhome/office/temp 19.0\n");
}

#[tokio::test]
async fn mosquitto_clients_round_trip_v5_with_user_properties() {
    let (addr, broker) = start_broker().await;
    // -F: %t topic, %p payload, %P user properties.
    let child = sub(addr, &["-V", "5", "-t", "plant/#", "-q", "1", "-F", "%t %p %P"], 1);
    settle(&broker, 1).await;
    publish(addr, &["-V", "5", "-t", "plant/line1/speed", "-m", "1200", "-q", "1", "-D", "publish", "user-property", "unit", "rpm"]).await;
    assert_eq!(output(child).await, "plant/line1/speed 1200 unit:rpm\n");
}

#[tokio::test]
async fn mosquitto_sub_gets_retained_messages_as_a_late_subscriber() {
    let (addr, _broker) = start_broker().await;
    publish(addr, &["-t", "home/kitchen/temp", "-m", "21.5", "-r", "-q", "1"]).await;
    publish(addr, &["-V", "5", "-t", "home/garage/door", "-m", "closed", "-r", "-q", "1"]).await;
    // -R would hide retained messages; %r prints the retain flag (MQTT-3.3.1-8: it is 1).
    for version in ["311", "5"] {
        let child = sub(addr, &["-V", version, "-t", "home/#", "-F", "%t %p %r"], 2);
        let mut lines: Vec<String> = output(child).await.lines().map(str::to_owned).collect();
        lines.sort();
        assert_eq!(lines, ["home/garage/door closed 1", "home/kitchen/temp 21.5 1"], "protocol {version}");
    }
}
