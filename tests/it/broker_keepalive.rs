//! Keep-alive (5.0 §3.1.2.10, 3.1.1 §3.1.2.10) under tokio's paused clock: the broker's timers run on
//! virtual time, the sockets are real loopback sockets, so the asserted times are exact and no test sleeps.

use std::time::Duration;

use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{
    Disconnect, Packet,
    ProtocolVersion::{V5, V311},
    reason,
};
use tokio::time::Instant;

use crate::common::{start_broker, start_broker_with};
use crate::raw::{Raw, connect_packet};

/// Seconds (virtual) until the broker closed `raw`.
async fn closed_after(raw: &mut Raw, code: u8) -> Duration {
    let start = Instant::now();
    raw.expect_disconnect(code).await;
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn silent_v311_client_is_closed_after_one_and_a_half_keep_alives() {
    // 3.1.1 MQTT-3.1.2-24: no packet within 1.5 × Keep Alive → the server closes the connection.
    let (addr, _b) = start_broker().await;
    let (mut raw, _) = Raw::connect(addr, connect_packet(V311, "silent4", true, 10)).await;
    let waited = closed_after(&mut raw, 0).await;
    assert!((Duration::from_secs(15)..Duration::from_secs(16)).contains(&waited), "closed after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn silent_v5_client_gets_disconnect_0x8d_after_one_and_a_half_keep_alives() {
    // 5.0 MQTT-3.1.2-22, reason 0x8D Keep Alive timeout (§3.14.2.1).
    let (addr, _b) = start_broker().await;
    let (mut raw, _) = Raw::connect(addr, connect_packet(V5, "silent5", true, 4)).await;
    let waited = closed_after(&mut raw, reason::KEEP_ALIVE_TIMEOUT).await;
    assert!((Duration::from_secs(6)..Duration::from_secs(7)).contains(&waited), "closed after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn pings_within_the_keep_alive_keep_the_connection_open() {
    // MQTT-3.1.2-22 / MQTT-3.12.4-1: any packet (here PINGREQ → PINGRESP) restarts the 1.5 × Keep Alive clock.
    let (addr, _b) = start_broker().await;
    for version in [V311, V5] {
        let (mut raw, _) = Raw::connect(addr, connect_packet(version, "pinger", true, 10)).await;
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_secs(14)).await;
            raw.ping().await;
        }
        let code = if version == V5 { reason::KEEP_ALIVE_TIMEOUT } else { 0 };
        let waited = closed_after(&mut raw, code).await;
        assert!((Duration::from_secs(15)..Duration::from_secs(16)).contains(&waited), "{version:?} closed after {waited:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn server_keep_alive_is_enforced_when_the_client_asked_for_none() {
    // MQTT-3.2.2-21: a 5.0 client asking Keep Alive 0 is given our maximum, and held to it.
    let config = BrokerConfig { sys_interval: None, max_keep_alive_secs: 8, ..BrokerConfig::default() };
    let (addr, _b) = start_broker_with(config).await;
    let (mut raw, ack) = Raw::connect(addr, connect_packet(V5, "lazy", true, 0)).await;
    assert_eq!(ack.properties.server_keep_alive, Some(8));
    let waited = closed_after(&mut raw, reason::KEEP_ALIVE_TIMEOUT).await;
    assert!((Duration::from_secs(12)..Duration::from_secs(13)).contains(&waited), "closed after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn keep_alive_zero_disables_the_check_in_v311() {
    // 3.1.1 §3.1.2.10: Keep Alive 0 turns the mechanism off.
    let (addr, _b) = start_broker().await;
    let (mut raw, _) = Raw::connect(addr, connect_packet(V311, "forever", true, 0)).await;
    tokio::time::sleep(Duration::from_hours(1)).await;
    raw.ping().await;
    raw.send(&Packet::Disconnect(Disconnect::default())).await;
    assert!(raw.until_closed().await.is_empty());
}
