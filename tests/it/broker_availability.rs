//! The availability board with real clients: each will next to the retained value on its topic,
//! through a connection's life (armed, published, discarded), and "publish the will now".

use bytes::Bytes;
use mqscope::broker::availability::{board, publish_will_now};
use mqscope::broker::codec::{self, LastWill, Packet, Properties, ProtocolVersion, QoS};
use mqscope::broker::inspect;
use mqscope::model::availability::{AvailabilityRow, Verdict, WillState};
use mqscope::model::broker_view::ClientAction;

use crate::common::{start_broker, until};
use crate::raw::{self, Raw, connect_packet};

/// A persistent 5.0 client with a retained will "offline" on `status/{id}`.
async fn device(addr: std::net::SocketAddr, id: &str) -> Raw {
    let mut connect = connect_packet(ProtocolVersion::V5, id, true, 60);
    connect.properties.session_expiry_interval = Some(600);
    connect.will = Some(LastWill {
        topic: format!("status/{id}"),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: Properties::default(),
    });
    let (raw, ack) = Raw::connect(addr, connect).await;
    assert_eq!(ack.code, 0);
    raw
}

fn row(broker: &mqscope::broker::Broker, id: &str) -> Option<AvailabilityRow> {
    board(broker.shared()).rows.into_iter().find(|r| &*r.client_id == id)
}

#[tokio::test]
async fn the_board_follows_a_will_through_a_connection_and_against_the_store() {
    let (addr, broker) = start_broker().await;
    let mut plug = device(addr, "plug").await;
    let mut online = raw::publish("status/plug", QoS::AtLeastOnce, 1, b"online");
    online.retain = true;
    plug.send(&Packet::Publish(online)).await;
    plug.expect("PUBACK").await;
    let r = row(&broker, "plug").expect("listed while online");
    assert_eq!((r.online, r.will_state, r.verdict), (true, WillState::Armed, Verdict::ShowsOther));
    assert_eq!((r.topic.as_str(), r.will_payload.as_str(), r.retained_payload.as_deref()), ("status/plug", "offline", Some("online")));
    assert_eq!(r.retained_by.as_deref(), Some("plug"));
    // MQTT-3.1.2-8: closed without DISCONNECT, the will is published (retained: it replaces "online").
    inspect::act(broker.shared(), &ClientAction::Drop { client_id: "plug".into() }).expect("drop");
    until("the will published", || row(&broker, "plug").is_some_and(|r| r.verdict == Verdict::ShowsWill)).await;
    let r = row(&broker, "plug").expect("listed while offline");
    assert_eq!((r.online, r.will_state), (false, WillState::Published));
    // MQTT-3.14.4-3: a normal DISCONNECT discards the will; nothing was retained on its topic.
    let mut calm = device(addr, "calm").await;
    calm.send(&Packet::Disconnect(codec::Disconnect::default())).await;
    until("calm offline", || row(&broker, "calm").is_some_and(|r| !r.online)).await;
    let r = row(&broker, "calm").expect("listed");
    assert_eq!((r.will_state, r.verdict), (WillState::Discarded, Verdict::NothingRetained));
    let _no_will = Raw::connected(addr, ProtocolVersion::V5, "no-will").await;
    assert_eq!(board(broker.shared()).total, 2, "a client without a will is not on the board");
}

#[tokio::test]
async fn publishing_the_will_now_sets_the_status_and_leaves_the_client_connected() {
    let (addr, broker) = start_broker().await;
    let mut watcher = Raw::connected(addr, ProtocolVersion::V5, "watcher").await;
    assert_eq!(watcher.subscribe(1, "status/#", raw::qos(QoS::AtMostOnce)).await, [0]);
    let mut lamp = device(addr, "lamp").await;
    let said = publish_will_now(broker.shared(), "lamp").expect("armed will");
    assert!(said.contains("status/lamp"), "{said}");
    let p = watcher.expect_publish().await;
    assert_eq!((p.topic.as_str(), &p.payload[..]), ("status/lamp", &b"offline"[..]));
    let r = row(&broker, "lamp").expect("listed");
    assert_eq!((r.online, r.will_state, r.verdict), (true, WillState::Armed, Verdict::ShowsWill), "still connected, will still armed");
    lamp.ping().await;
    assert!(publish_will_now(broker.shared(), "nobody").is_err());
}
