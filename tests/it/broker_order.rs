//! Order across connections: a SUBSCRIBE that reached the broker before another client's PUBLISH
//! sees that PUBLISH, even though the two clients are served by different tasks on different
//! worker threads (the runtime the `mqscope` binary uses).

use bytes::BytesMut;
use mqscope::broker::codec::{self, Packet, ProtocolVersion::V311, QoS};

use crate::common::start_broker;
use crate::raw::{Raw, publish, qos, subscribe};

#[tokio::test]
async fn a_publish_sent_before_a_subscribe_on_the_same_connection_is_not_delivered_to_it() {
    // MQTT-4.6.0-5 / 3.1.1 §4.6: one connection's packets are handled in order, so its own PUBLISH
    // sent before its SUBSCRIBE (in the same write) matches no subscription; catching up on recent
    // messages for the new subscription must not bring it back.
    let (addr, _b) = start_broker().await;
    let mut c = Raw::connected(addr, V311, "self").await;
    let mut both = BytesMut::new();
    codec::encode(&Packet::Publish(publish("mine", QoS::AtMostOnce, 0, b"before")), V311, &mut both);
    codec::encode(&subscribe(1, "mine", qos(QoS::AtMostOnce)), V311, &mut both);
    c.send_bytes(&both).await;
    assert!(matches!(c.expect("SUBACK").await, Packet::SubAck(_)));
    c.expect_nothing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_written_before_another_clients_publish_sees_it_every_time() {
    // MQTT-4.6.0-5 orders messages per topic per publisher; across clients the spec promises nothing,
    // but scripts and test harnesses rely on it: B's SUBSCRIBE is on the wire before A publishes (A does
    // not wait for B's SUBACK), so B must get the message, as it does with mosquitto. (It may come after
    // A's later message on another topic: a late SUBSCRIBE catches up, see `broker::order`.)
    let (addr, _b) = start_broker().await;
    let mut b = Raw::connected(addr, V311, "order-b").await;
    b.subscribe(1, "order/sentinel", qos(QoS::AtMostOnce)).await;
    let mut a = Raw::connected(addr, V311, "order-a").await;
    // Without TCP_NODELAY, Nagle's algorithm may hold B's SUBSCRIBE in B's socket while B's previous
    // packet is unacknowledged, and A's PUBLISH would reach the broker first: "written first" must mean
    // "on the wire first" here.
    a.stream.set_nodelay(true).expect("nodelay");
    b.stream.set_nodelay(true).expect("nodelay");
    let mut misses = Vec::new();
    for i in 0..1000u16 {
        let topic = format!("order/{i}");
        b.send(&subscribe(i + 2, &topic, qos(QoS::AtMostOnce))).await;
        // A's message, then a sentinel from A on a topic B subscribed to long ago: routed in that order.
        let mut both = BytesMut::new();
        codec::encode(&Packet::Publish(publish(&topic, QoS::AtMostOnce, 0, b"m")), V311, &mut both);
        codec::encode(&Packet::Publish(publish("order/sentinel", QoS::AtMostOnce, 0, b"s")), V311, &mut both);
        a.send_bytes(&both).await;
        // Until the SUBACK and the sentinel are in, then a round trip: whatever B is owed came before the PINGRESP.
        let (mut got, mut acked, mut sentinel, mut pinged) = (false, false, false, false);
        loop {
            if acked && sentinel && !pinged {
                b.send(&Packet::PingReq).await;
                pinged = true;
            }
            match b.expect("SUBACK, PUBLISH, PINGRESP").await {
                Packet::Publish(p) if p.topic == topic => got = true,
                Packet::Publish(p) if p.topic == "order/sentinel" => sentinel = true,
                Packet::SubAck(_) => acked = true,
                Packet::PingResp => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        if !got {
            misses.push(i);
        }
    }
    assert!(misses.is_empty(), "{} of 1000 messages missed: {misses:?}", misses.len());
}
