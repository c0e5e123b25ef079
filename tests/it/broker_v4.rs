use rumqttc::{LastWill, Packet, QoS};

use crate::common::{client_v4, drive_v4, next_publish_v4, start_broker, until, wait_v4};

#[tokio::test]
async fn qos0_and_qos1_round_trip_through_wildcards() {
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "sub", true).await;
    sub.subscribe("home/+/temp", QoS::AtLeastOnce).await.expect("subscribe");
    sub.subscribe("factory/#", QoS::AtMostOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;

    let (publisher, pub_el) = client_v4(addr, "pub", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("home/kitchen/temp", QoS::AtLeastOnce, false, "21.5").await.expect("publish");
    publisher.publish("home/kitchen/humidity", QoS::AtLeastOnce, false, "40").await.expect("publish");
    publisher.publish("factory/line1/press", QoS::AtMostOnce, false, "ok").await.expect("publish");

    let first = next_publish_v4(&mut sub_el).await;
    assert_eq!(first.topic.as_str(), "home/kitchen/temp");
    assert_eq!(&first.payload[..], b"21.5");
    assert_eq!(first.qos, QoS::AtLeastOnce);
    assert!(!first.retain, "MQTT-3.3.1-9: retain is 0 on an established subscription");
    // `home/kitchen/humidity` matches neither filter; the next one is the factory message.
    let second = next_publish_v4(&mut sub_el).await;
    assert_eq!(second.topic.as_str(), "factory/line1/press");
    assert_eq!(second.qos, QoS::AtMostOnce);
}

#[tokio::test]
async fn delivered_qos_is_the_minimum_of_published_and_granted() {
    // MQTT-3.8.4-6 (3.1.1): min(published QoS, granted QoS).
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "sub-min", true).await;
    sub.subscribe("q/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let (publisher, pub_el) = client_v4(addr, "pub-min", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("q/two", QoS::ExactlyOnce, false, "2").await.expect("publish");
    publisher.publish("q/zero", QoS::AtMostOnce, false, "0").await.expect("publish");
    let a = next_publish_v4(&mut sub_el).await;
    let b = next_publish_v4(&mut sub_el).await;
    assert_eq!((a.qos, b.qos), (QoS::AtLeastOnce, QoS::AtMostOnce));
}

#[tokio::test]
async fn retained_message_reaches_a_late_subscriber_and_an_empty_payload_clears_it() {
    let (addr, broker) = start_broker().await;
    let (publisher, pub_el) = client_v4(addr, "pub-r", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("home/garage/door", QoS::AtLeastOnce, true, "open").await.expect("publish");
    publisher.publish("home/garage/door", QoS::AtLeastOnce, true, "closed").await.expect("publish");
    until("the newer retained value stored", || {
        broker.shared().state.lock().is_ok_and(|s| s.retained.get("home/garage/door").is_some_and(|r| r.payload() == b"closed"))
    })
    .await;

    // MQTT-3.3.1-6, MQTT-3.3.1-8: the retained value, replaced by the newer one, with RETAIN=1.
    let (late, mut late_el) = client_v4(addr, "late", true).await;
    late.subscribe("home/#", QoS::AtLeastOnce).await.expect("subscribe");
    let p = next_publish_v4(&mut late_el).await;
    assert_eq!((p.topic.as_str(), &p.payload[..], p.retain), ("home/garage/door", &b"closed"[..], true));

    // MQTT-3.3.1-10/11: a zero-byte retained PUBLISH removes it; new subscribers get nothing.
    publisher.publish("home/garage/door", QoS::AtLeastOnce, true, "").await.expect("publish");
    let cleared = next_publish_v4(&mut late_el).await;
    assert!(cleared.payload.is_empty(), "delivered after the store was cleared (router::route)");
    let (newcomer, mut newcomer_el) = client_v4(addr, "newcomer", true).await;
    newcomer.subscribe("home/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut newcomer_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    publisher.publish("home/marker", QoS::AtLeastOnce, false, "m").await.expect("publish");
    let next = next_publish_v4(&mut newcomer_el).await;
    assert_eq!(next.topic.as_str(), "home/marker", "no retained message may precede the marker");
}

#[tokio::test]
async fn qos2_round_trip_delivers_exactly_once() {
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "sub2", true).await;
    sub.subscribe("exact/#", QoS::ExactlyOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let (publisher, pub_el) = client_v4(addr, "pub2", true).await;
    let _driver = drive_v4(pub_el);
    for i in 0..20 {
        publisher.publish(format!("exact/{i}"), QoS::ExactlyOnce, false, i.to_string()).await.expect("publish");
    }
    // MQTT-4.6.0-6 order per topic and MQTT-4.3.3 exactly once: 0..20 in order, no duplicates.
    for i in 0..20 {
        let p = next_publish_v4(&mut sub_el).await;
        assert_eq!(p.qos, QoS::ExactlyOnce);
        assert_eq!(String::from_utf8_lossy(&p.payload), i.to_string());
    }
}

#[tokio::test]
async fn persistent_session_queues_qos1_while_offline() {
    // MQTT-3.1.2-4 / MQTT-3.1.2-5 (3.1.1): CleanSession=0 resumes subscriptions and stores QoS 1 messages.
    let (addr, broker) = start_broker().await;
    let (sub, mut sub_el) = client_v4(addr, "durable", false).await;
    sub.subscribe("jobs/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    sub.disconnect().await.expect("disconnect");
    while sub_el.poll().await.is_ok() {}
    drop(sub_el);

    let (publisher, pub_el) = client_v4(addr, "pub-offline", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("jobs/1", QoS::AtLeastOnce, false, "first").await.expect("publish");
    publisher.publish("jobs/2", QoS::AtLeastOnce, false, "second").await.expect("publish");
    until("both queued for the offline session", || {
        broker.shared().state.lock().is_ok_and(|s| s.sessions.get("durable").is_some_and(|c| c.lock().queue.len() == 2))
    })
    .await;

    let mut opts = rumqttc::MqttOptions::new("durable", addr.ip().to_string(), addr.port());
    opts.set_clean_session(false);
    let (_back, mut back_el) = rumqttc::AsyncClient::new(opts, 10);
    let ack = wait_v4(&mut back_el, "CONNACK", |p| matches!(p, Packet::ConnAck(_))).await;
    let Packet::ConnAck(ack) = ack else { unreachable!() };
    assert!(ack.session_present, "MQTT-3.2.2-2: Session Present is 1 when a session is resumed");
    let a = next_publish_v4(&mut back_el).await;
    let b = next_publish_v4(&mut back_el).await;
    assert_eq!((&a.payload[..], &b.payload[..]), (&b"first"[..], &b"second"[..]));
}

#[tokio::test]
async fn will_is_published_when_the_connection_drops_without_disconnect() {
    // MQTT-3.1.2-8: the will is published when the network connection closes without DISCONNECT.
    let (addr, _broker) = start_broker().await;
    let (watcher, mut watch_el) = client_v4(addr, "watcher", true).await;
    watcher.subscribe("status/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut watch_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;

    let mut opts = rumqttc::MqttOptions::new("device-7", addr.ip().to_string(), addr.port());
    opts.set_last_will(LastWill::new("status/device-7", "offline", QoS::AtLeastOnce, true));
    let (_dev, mut dev_el) = rumqttc::AsyncClient::new(opts, 10);
    wait_v4(&mut dev_el, "CONNACK", |p| matches!(p, Packet::ConnAck(_))).await;
    drop(dev_el); // The socket closes with no DISCONNECT.

    let will = next_publish_v4(&mut watch_el).await;
    assert_eq!((will.topic.as_str(), &will.payload[..]), ("status/device-7", &b"offline"[..]));
}

#[tokio::test]
async fn will_is_discarded_after_a_normal_disconnect() {
    // MQTT-3.1.2-10 (3.1.1): a DISCONNECT removes the will without publishing it.
    let (addr, _broker) = start_broker().await;
    let (watcher, mut watch_el) = client_v4(addr, "watcher2", true).await;
    watcher.subscribe("status/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v4(&mut watch_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let mut opts = rumqttc::MqttOptions::new("polite", addr.ip().to_string(), addr.port());
    opts.set_last_will(LastWill::new("status/polite", "offline", QoS::AtLeastOnce, false));
    let (dev, mut dev_el) = rumqttc::AsyncClient::new(opts, 10);
    wait_v4(&mut dev_el, "CONNACK", |p| matches!(p, Packet::ConnAck(_))).await;
    dev.disconnect().await.expect("disconnect");
    while dev_el.poll().await.is_ok() {}
    let (publisher, pub_el) = client_v4(addr, "marker", true).await;
    let _driver = drive_v4(pub_el);
    publisher.publish("status/marker", QoS::AtLeastOnce, false, "m").await.expect("publish");
    let next = next_publish_v4(&mut watch_el).await;
    assert_eq!(next.topic.as_str(), "status/marker");
}
