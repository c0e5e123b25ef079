//! One connection to an external broker through rumqttc (MQTT 3.1.1), with capped back-off
//! reconnects. Received messages go to the UI in batches; state changes as control events.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS as RQoS};
use tokio::sync::mpsc;

use crate::model::{ConnId, ConnStatus, Message, QoS};
use crate::protocol::{Event, EventSink, PublishRequest};

/// Where and how to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Client identifier.
    pub client_id: String,
    /// Keep-alive, seconds.
    pub keep_alive_secs: u16,
    /// Filters to subscribe to after each CONNACK, with their QoS.
    pub subscriptions: Vec<(String, QoS)>,
}

impl ClientOptions {
    /// Defaults for `host:port`: subscribe to `#` and `$SYS/#`.
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            client_id: format!("mqscope-{:08x}", std::process::id()),
            keep_alive_secs: 30,
            subscriptions: vec![("#".to_owned(), QoS::AtMostOnce), ("$SYS/#".to_owned(), QoS::AtMostOnce)],
        }
    }
}

fn to_rumqttc(qos: QoS) -> RQoS {
    match qos {
        QoS::AtMostOnce => RQoS::AtMostOnce,
        QoS::AtLeastOnce => RQoS::AtLeastOnce,
        QoS::ExactlyOnce => RQoS::ExactlyOnce,
    }
}

fn from_rumqttc(qos: RQoS) -> QoS {
    match qos {
        RQoS::AtMostOnce => QoS::AtMostOnce,
        RQoS::AtLeastOnce => QoS::AtLeastOnce,
        RQoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Most messages per batch sent to the UI.
const BATCH: usize = 4096;

/// Drive one connection until the publish channel closes (the connection was removed).
pub async fn run(conn_id: ConnId, opts: ClientOptions, mut publishes: mpsc::Receiver<PublishRequest>, sink: EventSink) {
    let mut mqtt = MqttOptions::new(opts.client_id.clone(), opts.host.clone(), opts.port);
    mqtt.set_keep_alive(Duration::from_secs(u64::from(opts.keep_alive_secs.max(5))));
    mqtt.set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
    let (client, mut eventloop) = AsyncClient::new(mqtt, 256);
    sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Connecting }).await;
    let mut backoff = Duration::from_secs(1);
    let mut batch: Vec<Message> = Vec::new();
    let mut flush_at = tokio::time::Instant::now();
    loop {
        tokio::select! {
            polled = eventloop.poll() => match polled {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_secs(1);
                    sink.control(Event::ConnStatus { conn_id, status: ConnStatus::Connected }).await;
                    for (filter, qos) in &opts.subscriptions {
                        client.try_subscribe(filter.clone(), to_rumqttc(*qos)).ok();
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    let topic: Arc<str> = p.topic.as_str().into();
                    let mut msg = Message::new(topic, p.payload, from_rumqttc(p.qos), p.retain, SystemTime::now());
                    msg.dup = p.dup;
                    if batch.is_empty() {
                        flush_at = tokio::time::Instant::now() + Duration::from_millis(15);
                    }
                    batch.push(msg);
                    if batch.len() >= BATCH {
                        flush(&sink, conn_id, &mut batch).await;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    flush(&sink, conn_id, &mut batch).await;
                    let status = ConnStatus::Reconnecting { in_secs: backoff.as_secs(), error: err.to_string() };
                    sink.control(Event::ConnStatus { conn_id, status }).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            },
            req = publishes.recv() => match req {
                Some(req) => {
                    if let Err(err) = client.try_publish(req.topic, to_rumqttc(req.qos), req.retain, req.payload) {
                        sink.control(Event::Error(format!("publish failed: {err}"))).await;
                    }
                }
                None => return,
            },
            () = tokio::time::sleep_until(flush_at), if !batch.is_empty() => flush(&sink, conn_id, &mut batch).await,
        }
    }
}

async fn flush(sink: &EventSink, conn_id: ConnId, batch: &mut Vec<Message>) {
    let dropped = sink.messages(conn_id, std::mem::take(batch));
    if dropped > 0 {
        sink.control(Event::Dropped { conn_id, count: dropped }).await;
    }
}
