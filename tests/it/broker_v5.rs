use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties, SubscribeProperties};

use crate::common::{client_v5, next_publish_v5, start_broker, wait_v5};

#[tokio::test]
async fn properties_pass_through_unchanged() {
    // MQTT-3.3.2-17 (user properties), MQTT-3.3.2-20 (content type), MQTT-3.3.2-15/-16 (response topic,
    // correlation data), MQTT-3.3.2-4 (payload format indicator): forwarded unaltered.
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v5(addr, "sub5").await;
    sub.subscribe("v5/#", QoS::AtLeastOnce).await.expect("subscribe");
    wait_v5(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    let (publisher, mut pub_el) = client_v5(addr, "pub5").await;
    tokio::spawn(async move { while pub_el.poll().await.is_ok() {} });
    let props = PublishProperties {
        payload_format_indicator: Some(1),
        content_type: Some("application/json".into()),
        response_topic: Some("v5/reply".into()),
        correlation_data: Some(vec![1, 2, 3].into()),
        user_properties: vec![("unit".into(), "°C".into()), ("unit".into(), "again".into())],
        ..PublishProperties::default()
    };
    publisher.publish_with_properties("v5/temp", QoS::AtLeastOnce, false, r#"{"t":21.5}"#, props).await.expect("publish");
    let p = next_publish_v5(&mut sub_el).await;
    assert_eq!(&p.topic[..], b"v5/temp");
    let got = p.properties.expect("properties");
    assert_eq!(got.payload_format_indicator, Some(1));
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(got.response_topic.as_deref(), Some("v5/reply"));
    assert_eq!(got.correlation_data.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(got.user_properties, vec![("unit".to_owned(), "°C".to_owned()), ("unit".to_owned(), "again".to_owned())]);
}

#[tokio::test]
async fn subscription_identifier_is_sent_with_matching_messages() {
    // MQTT-3.3.4-3: the Subscription Identifier of the matching subscription is included.
    let (addr, _broker) = start_broker().await;
    let (sub, mut sub_el) = client_v5(addr, "subid").await;
    let props = SubscribeProperties { id: Some(42), user_properties: Vec::new() };
    sub.subscribe_with_properties("ids/#", QoS::AtMostOnce, props).await.expect("subscribe");
    wait_v5(&mut sub_el, "SUBACK", |p| matches!(p, Packet::SubAck(_))).await;
    sub.publish("ids/x", QoS::AtMostOnce, false, "1").await.expect("publish");
    let p = next_publish_v5(&mut sub_el).await;
    assert_eq!(p.properties.expect("properties").subscription_identifiers, vec![42]);
}

#[tokio::test]
async fn retained_message_reaches_a_late_v5_subscriber_with_retain_set() {
    // MQTT-3.3.1-9 (5.0): retained messages sent on subscribe carry RETAIN=1.
    let (addr, _broker) = start_broker().await;
    let (publisher, mut pub_el) = client_v5(addr, "pub-r5").await;
    publisher.publish("home/kitchen/temp", QoS::AtLeastOnce, true, "21.5").await.expect("publish");
    wait_v5(&mut pub_el, "PUBACK", |p| matches!(p, Packet::PubAck(_))).await;
    let (late, mut late_el) = client_v5(addr, "late5").await;
    late.subscribe("home/+/temp", QoS::AtLeastOnce).await.expect("subscribe");
    let p = next_publish_v5(&mut late_el).await;
    assert_eq!((&p.topic[..], &p.payload[..], p.retain), (&b"home/kitchen/temp"[..], &b"21.5"[..], true));
}

#[tokio::test]
async fn empty_client_id_gets_an_assigned_identifier() {
    // MQTT-3.1.3-7 / MQTT-3.2.2-16: a zero-length Client Identifier is replaced and returned in CONNACK.
    let (addr, _broker) = start_broker().await;
    let opts = rumqttc::v5::MqttOptions::new("", addr.ip().to_string(), addr.port());
    let (_c, mut el) = rumqttc::v5::AsyncClient::new(opts, 10);
    let ack = wait_v5(&mut el, "CONNACK", |p| matches!(p, Packet::ConnAck(_))).await;
    let Packet::ConnAck(ack) = ack else { unreachable!() };
    let assigned = ack.properties.and_then(|p| p.assigned_client_identifier).expect("assigned id");
    assert!(!assigned.is_empty());
}

#[tokio::test]
async fn rumqttc_v5_reads_the_reason_of_our_disconnect_on_a_takeover() {
    // 5.0 §3.1.4 (MQTT-3.1.4-3): the existing connection of a reused client id gets DISCONNECT 0x8E.
    // rumqttc 0.25 decodes a DISCONNECT only with its property length: we always send it.
    let (addr, _broker) = crate::common::start_broker().await;
    let (_first, mut first_el) = crate::common::client_v5(addr, "taken-over").await;
    let (_second, _second_el) = crate::common::client_v5(addr, "taken-over").await;
    // rumqttc reports the server's DISCONNECT as the end of its event loop, with the reason read.
    let reason = crate::common::guard("the DISCONNECT", async {
        loop {
            match first_el.poll().await {
                Ok(_) => {}
                Err(rumqttc::v5::ConnectionError::MqttState(rumqttc::v5::StateError::ServerDisconnect { reason_code, .. })) => {
                    return reason_code;
                }
                Err(other) => panic!("the reason code was not read: {other}"),
            }
        }
    })
    .await;
    assert_eq!(reason, rumqttc::v5::mqttbytes::v5::DisconnectReasonCode::SessionTakenOver);
}
