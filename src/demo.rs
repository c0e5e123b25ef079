//! `mqscope demo`: publishes a realistic home-automation and factory-floor topic set (a few hundred
//! topics, retained values, JSON and plain numbers), then keeps updating the sensors. For trying
//! mqscope against any broker, and for the README's screenshots.

use std::time::Duration;

use anyhow::Context as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A small deterministic pseudo-random source (no dependency, same tree every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        #[expect(clippy::cast_precision_loss, reason = "53 random bits are plenty")]
        let v = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        v
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

const ROOMS: [&str; 8] = ["livingroom", "kitchen", "bedroom", "bathroom", "garage", "garden", "office", "hallway"];
const MACHINES: [&str; 6] = ["press", "lathe", "mill", "robot", "conveyor", "oven"];

/// `rounds` rounds of the demo topic set as the explorer would receive them, one second apart and
/// ending at `end` (for screenshots and tests without a broker).
#[must_use]
pub fn sample(rounds: u32, end: std::time::SystemTime) -> Vec<crate::model::Message> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    for round in 0..rounds {
        let at = end - Duration::from_secs(u64::from(rounds - 1 - round));
        for (topic, payload, retain, qos) in messages(&mut rng, round) {
            let qos = crate::model::QoS::from_u8(qos as u8);
            out.push(crate::model::Message::new(topic, payload, qos, retain, at));
        }
    }
    out
}

/// One round of the whole topic set: (topic, payload, retain, qos).
fn messages(rng: &mut Lcg, round: u32) -> Vec<(String, String, bool, QoS)> {
    let mut out = Vec::new();
    for room in ROOMS {
        out.push((format!("home/{room}/temperature"), format!("{:.1}", rng.range(18.0, 24.0)), true, QoS::AtLeastOnce));
        out.push((format!("home/{room}/humidity"), format!("{:.0}", rng.range(35.0, 60.0)), true, QoS::AtLeastOnce));
        out.push((format!("home/{room}/light"), if rng.next() > 0.5 { "on" } else { "off" }.to_owned(), true, QoS::AtLeastOnce));
        out.push((format!("home/{room}/motion"), (rng.next() > 0.8).to_string(), false, QoS::AtMostOnce));
        out.push((format!("home/{room}/window"), if rng.next() > 0.9 { "open" } else { "closed" }.to_owned(), true, QoS::AtLeastOnce));
    }
    for i in 0..24 {
        let device = format!("0x00158d000{:07x}", 0x4a_1b20 + i * 7);
        let json = format!(
            r#"{{"battery":{:.0},"linkquality":{:.0},"temperature":{:.2},"humidity":{:.1},"voltage":{:.0},"update":{{"state":"idle"}}}}"#,
            rng.range(40.0, 100.0),
            rng.range(20.0, 255.0),
            rng.range(18.0, 25.0),
            rng.range(30.0, 65.0),
            rng.range(2800.0, 3100.0)
        );
        out.push((format!("zigbee2mqtt/{device}"), json, false, QoS::AtMostOnce));
        out.push((format!("zigbee2mqtt/{device}/availability"), r#"{"state":"online"}"#.to_owned(), true, QoS::AtLeastOnce));
    }
    out.push(("zigbee2mqtt/bridge/state".to_owned(), r#"{"state":"online"}"#.to_owned(), true, QoS::AtLeastOnce));
    for line in 1..=4u32 {
        for machine in MACHINES {
            for unit in 1..=2u32 {
                let base = format!("factory/line{line}/{machine}{unit}");
                let running = rng.next() > 0.15;
                out.push((format!("{base}/status"), if running { "running" } else { "idle" }.to_owned(), true, QoS::AtLeastOnce));
                out.push((format!("{base}/temperature"), format!("{:.1} °C", rng.range(40.0, 85.0)), false, QoS::AtMostOnce));
                out.push((format!("{base}/vibration"), format!("{:.3}", rng.range(0.01, 0.9)), false, QoS::AtMostOnce));
                out.push((format!("{base}/speed_rpm"), format!("{:.0}", rng.range(800.0, 3200.0)), false, QoS::AtMostOnce));
                out.push((
                    format!("{base}/count"),
                    (u64::from(round) * 17 + u64::from(line * 131 + unit * 7)).to_string(),
                    false,
                    QoS::AtMostOnce,
                ));
                let telemetry = format!(
                    r#"{{"ts":{},"oee":{:.3},"power_kw":{:.2},"alarms":[],"shift":"B","operator":"op-{}"}}"#,
                    1_764_000_000 + u64::from(round),
                    rng.range(0.6, 0.95),
                    rng.range(2.0, 40.0),
                    line * 10 + unit
                );
                out.push((format!("{base}/telemetry"), telemetry, false, QoS::AtMostOnce));
            }
        }
        out.push((format!("factory/line{line}/plc/firmware"), "v4.2.17".to_owned(), true, QoS::ExactlyOnce));
    }
    out
}

/// Connect to `host:port`, publish the whole set, and keep updating it for `seconds`.
///
/// # Errors
/// When the broker cannot be reached.
pub async fn run(host: &str, port: u16, seconds: u64) -> anyhow::Result<()> {
    let mut opts = MqttOptions::new(format!("mqscope-demo-{}", std::process::id()), host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(opts, 1024);
    let mut rng = Lcg(0x5eed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let publisher = tokio::spawn(async move {
        let mut round = 0u32;
        loop {
            let batch = messages(&mut rng, round);
            let count = batch.len();
            for (topic, payload, retain, qos) in batch {
                client.publish(topic, qos, retain, payload).await.context("publish")?;
            }
            if round == 0 {
                tracing::info!(topics = count, "demo topic set published");
            }
            round += 1;
            if tokio::time::Instant::now() >= deadline {
                client.disconnect().await.ok();
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    loop {
        match eventloop.poll().await {
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect) | Event::Incoming(Packet::Disconnect)) => break,
            Ok(_) => {}
            Err(err) if publisher.is_finished() => {
                tracing::debug!(error = %err, "demo connection closed");
                break;
            }
            Err(err) => return Err(err).with_context(|| format!("cannot reach the broker at {host}:{port}")),
        }
    }
    publisher.await.context("demo publisher")?
}
