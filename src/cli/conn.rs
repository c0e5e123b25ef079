//! One MQTT connection for the command-line tools, over the explorer's own client code (rumqttc,
//! 3.1.1 or 5.0, TCP, TLS or WebSocket): the event loop runs in its own task and reports what the
//! tools need on a channel.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::ConnArgs;
use crate::client::{tls, v4, v5};
use crate::model::profile::{MqttVersion, Profile};
use crate::model::{Message, QoS};

/// What the connection reports.
#[derive(Debug)]
pub enum Incoming {
    /// CONNACK accepted.
    Connected,
    /// A SUBACK: the refusal of each filter that was refused, with its reason (in filter order).
    Subscribed(Vec<Option<String>>),
    /// A message.
    Message(Message),
    /// A QoS 0 PUBLISH was written, or a QoS 1/2 PUBLISH was acknowledged (PUBACK/PUBCOMP); the
    /// refusal when the broker refused it (5.0 reason code ≥ 0x80).
    Settled(Option<String>),
    /// The connection failed or ended; no more events follow.
    Closed(String),
}

impl Incoming {
    /// How many publishes this event settles (0 or 1); a refusal or the end of the connection is an error.
    ///
    /// # Errors
    /// The broker refused a publish, or the connection ended.
    pub fn settles(self) -> Result<u64, String> {
        match self {
            Self::Settled(None) => Ok(1),
            Self::Settled(Some(refusal)) => Err(format!("the broker {refusal}")),
            Self::Closed(why) => Err(format!("Connection error: {why}")),
            _ => Ok(0),
        }
    }
}

/// Sending side: subscribe, publish, disconnect.
#[derive(Clone)]
pub enum Handle {
    /// MQTT 3.1.1.
    V4(rumqttc::AsyncClient),
    /// MQTT 5.0.
    V5(rumqttc::v5::AsyncClient),
}

/// The profile the explorer would use for these arguments (TLS files, credentials, version).
#[must_use]
pub fn profile(args: &ConnArgs, client_id: String, clean: bool) -> Profile {
    use crate::model::profile::Transport;
    let tls = args.cafile.is_some() || args.cert.is_some() || args.insecure;
    Profile {
        host: args.host.clone(),
        port: args.port.unwrap_or(if tls { 8883 } else { 1883 }),
        transport: if tls { Transport::Mqtts } else { Transport::Mqtt },
        version: args.version(),
        client_id,
        username: args.username.clone().unwrap_or_default(),
        password: args.password.clone().unwrap_or_default(),
        keep_alive_secs: args.keepalive,
        clean_start: clean,
        session_expiry_secs: 0,
        connect_timeout_secs: 10,
        tls: crate::model::profile::TlsOptions {
            ca_file: args.cafile.clone().unwrap_or_default(),
            client_cert_file: args.cert.clone().unwrap_or_default(),
            client_key_file: args.key.clone().unwrap_or_default(),
            server_name: String::new(),
            insecure_skip_verify: args.insecure,
        },
        ..Profile::default()
    }
}

/// Dial: the returned channel reports [`Incoming::Connected`] (or [`Incoming::Closed`]) first.
///
/// # Errors
/// TLS files that cannot be used.
pub fn start(p: &Profile, capacity: usize) -> Result<(Handle, mpsc::Receiver<Incoming>), String> {
    let (host, transport) = tls::endpoint(p)?;
    let (tx, rx) = mpsc::channel(capacity.max(16));
    let handle = match p.version {
        MqttVersion::V311 => {
            let mut opts = rumqttc::MqttOptions::new(p.client_id.clone(), host, p.port);
            opts.set_keep_alive(Duration::from_secs(u64::from(p.keep_alive_secs.max(1))));
            opts.set_clean_session(p.clean_start);
            opts.set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
            if let Some(t) = transport {
                opts.set_transport(t);
            }
            if !p.username.is_empty() || !p.password.is_empty() {
                opts.set_credentials(p.username.clone(), p.password.clone());
            }
            let (client, mut el) = rumqttc::AsyncClient::new(opts, capacity.max(16));
            el.network_options.set_connection_timeout(u64::from(p.connect_timeout_secs));
            spawn_pump(el, tx);
            Handle::V4(client)
        }
        MqttVersion::V5 => {
            let mut opts = v5::options(p, host);
            if let Some(t) = transport {
                opts.set_transport(t);
            }
            let (client, el) = rumqttc::v5::AsyncClient::new(opts, capacity.max(16));
            spawn_pump(el, tx);
            Handle::V5(client)
        }
    };
    Ok((handle, rx))
}

/// Either version's event loop, as the tools see it.
trait Pump: Send + 'static {
    /// The next event worth reporting (`None`: one that is not); [`Incoming::Closed`] ends it.
    fn next(&mut self) -> impl std::future::Future<Output = Option<Incoming>> + Send;
}

impl Pump for rumqttc::EventLoop {
    async fn next(&mut self) -> Option<Incoming> {
        match self.poll().await {
            Ok(ev) => v4_event(ev),
            Err(e) => Some(Incoming::Closed(v4::describe(&e))),
        }
    }
}

impl Pump for rumqttc::v5::EventLoop {
    async fn next(&mut self) -> Option<Incoming> {
        match self.poll().await {
            Ok(ev) => v5_event(ev),
            Err(e) => Some(Incoming::Closed(v5::describe(&e))),
        }
    }
}

/// Drive the event loop in a task of its own, reporting on `tx` until it closes or fails.
fn spawn_pump(mut el: impl Pump, tx: mpsc::Sender<Incoming>) {
    tokio::spawn(async move {
        loop {
            let Some(ev) = el.next().await else { continue };
            let closed = matches!(ev, Incoming::Closed(_));
            if tx.send(ev).await.is_err() || closed {
                break;
            }
        }
    });
}

fn v4_event(ev: rumqttc::Event) -> Option<Incoming> {
    use rumqttc::{Event, Outgoing, Packet};
    match ev {
        Event::Incoming(Packet::ConnAck(_)) => Some(Incoming::Connected),
        Event::Incoming(Packet::SubAck(ack)) => Some(Incoming::Subscribed(
            ack.return_codes
                .iter()
                .map(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure).then(|| "refused (SUBACK 0x80)".to_owned()))
                .collect(),
        )),
        Event::Incoming(Packet::Publish(pb)) => {
            let topic: Arc<str> = pb.topic.as_str().into();
            let mut msg = Message::new(topic, pb.payload, v4::from_qos(pb.qos), pb.retain, std::time::SystemTime::now());
            msg.dup = pb.dup;
            Some(Incoming::Message(msg))
        }
        Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_)) | Event::Outgoing(Outgoing::Publish(0)) => Some(Incoming::Settled(None)),
        Event::Incoming(Packet::Disconnect) => Some(Incoming::Closed("the broker sent DISCONNECT".into())),
        _ => None,
    }
}

fn v5_event(ev: rumqttc::v5::Event) -> Option<Incoming> {
    use rumqttc::Outgoing;
    use rumqttc::v5::Event;
    use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, PubCompReason, SubscribeReasonCode};
    match ev {
        Event::Incoming(Packet::ConnAck(_)) => Some(Incoming::Connected),
        Event::Incoming(Packet::SubAck(ack)) => Some(Incoming::Subscribed(
            ack.return_codes
                .iter()
                .map(|c| match c {
                    SubscribeReasonCode::Success(_) => None,
                    other => Some(format!("refused: {other:?}")),
                })
                .collect(),
        )),
        Event::Incoming(Packet::Publish(pb)) => {
            let topic: Arc<str> = String::from_utf8_lossy(&pb.topic).into();
            Some(Incoming::Message(v5::to_message(pb, topic)))
        }
        Event::Incoming(Packet::PubAck(ack)) => Some(Incoming::Settled(match ack.reason {
            PubAckReason::Success | PubAckReason::NoMatchingSubscribers => None,
            other => Some(format!("refused: {other:?}")),
        })),
        Event::Incoming(Packet::PubRec(rec)) if (rec.reason as u8) >= 0x80 => {
            Some(Incoming::Settled(Some(format!("refused: {:?}", rec.reason))))
        }
        Event::Incoming(Packet::PubComp(comp)) => Some(Incoming::Settled(match comp.reason {
            PubCompReason::Success => None,
            PubCompReason::PacketIdentifierNotFound => Some("refused: packet identifier not found (PUBCOMP 0x92)".to_owned()),
        })),
        Event::Outgoing(Outgoing::Publish(0)) => Some(Incoming::Settled(None)),
        Event::Incoming(Packet::Disconnect(d)) => Some(Incoming::Closed(format!("the broker sent DISCONNECT ({:?})", d.reason_code))),
        _ => None,
    }
}

impl Handle {
    /// SUBSCRIBE to each filter at `qos`, in one packet.
    ///
    /// # Errors
    /// The connection's task has ended.
    pub async fn subscribe(&self, filters: &[String], qos: QoS) -> Result<(), String> {
        match self {
            Self::V4(c) => {
                let f = filters.iter().map(|f| rumqttc::SubscribeFilter::new(f.clone(), v4::qos(qos)));
                c.subscribe_many(f).await.map_err(|e| e.to_string())
            }
            Self::V5(c) => {
                let f = filters.iter().map(|f| rumqttc::v5::mqttbytes::v5::Filter::new(f.clone(), v5::qos(qos)));
                c.subscribe_many(f).await.map_err(|e| e.to_string())
            }
        }
    }

    /// PUBLISH `msg` (its topic, payload, QoS, retain and, in 5.0, its properties); waits while the
    /// connection's request queue is full.
    ///
    /// # Errors
    /// The connection's task has ended.
    pub async fn publish(&self, msg: &Message) -> Result<(), String> {
        let payload: Bytes = msg.payload.clone();
        match self {
            Self::V4(c) => c.publish_bytes(msg.topic.to_string(), v4::qos(msg.qos), msg.retain, payload).await.map_err(|e| e.to_string()),
            Self::V5(c) => {
                let m = msg.meta.as_deref();
                let props = rumqttc::v5::mqttbytes::v5::PublishProperties {
                    payload_format_indicator: m.and_then(|m| m.payload_format),
                    message_expiry_interval: m.and_then(|m| m.message_expiry_secs),
                    topic_alias: None,
                    response_topic: m.and_then(|m| m.response_topic.clone()),
                    correlation_data: m.and_then(|m| m.correlation_data.clone()),
                    user_properties: m.map(|m| m.user_properties.clone()).unwrap_or_default(),
                    subscription_identifiers: Vec::new(),
                    content_type: m.and_then(|m| m.content_type.clone()),
                };
                c.publish_with_properties(msg.topic.to_string(), v5::qos(msg.qos), msg.retain, payload, props)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Send DISCONNECT (normal disconnection).
    pub async fn disconnect(&self) {
        match self {
            Self::V4(c) => c.disconnect().await.ok(),
            Self::V5(c) => c.disconnect().await.ok(),
        };
    }
}
