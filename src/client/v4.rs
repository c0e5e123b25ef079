//! The MQTT 3.1.1 side of a client session (rumqttc's v4 API).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event as MqttEvent, LastWill, MqttOptions, Packet, SubscribeFilter,
    SubscribeReasonCode,
};
use tokio::sync::mpsc;

use super::link::{Link, Outbox, handed_over, report};
use crate::model::profile::Profile;
use crate::model::{ConnStatus, Message, QoS};
use crate::protocol::PublishRequest;

pub(crate) fn qos(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

pub(crate) fn from_qos(q: rumqttc::QoS) -> QoS {
    match q {
        rumqttc::QoS::AtMostOnce => QoS::AtMostOnce,
        rumqttc::QoS::AtLeastOnce => QoS::AtLeastOnce,
        rumqttc::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Human text for a 3.1.1 CONNACK refusal.
fn refusal(code: ConnectReturnCode) -> String {
    let (n, text) = match code {
        ConnectReturnCode::Success => (0, "accepted"),
        ConnectReturnCode::RefusedProtocolVersion => (1, "unacceptable protocol version"),
        ConnectReturnCode::BadClientId => (2, "client identifier rejected"),
        ConnectReturnCode::ServiceUnavailable => (3, "server unavailable"),
        ConnectReturnCode::BadUserNamePassword => (4, "bad user name or password"),
        ConnectReturnCode::NotAuthorized => (5, "not authorized"),
    };
    format!("broker refused the connection: {text} (CONNACK return code {n})")
}

/// Why the connection failed, in words.
pub(crate) fn describe(err: &ConnectionError) -> String {
    match err {
        ConnectionError::ConnectionRefused(code) => refusal(*code),
        ConnectionError::Tls(e) => format!("TLS: {e}"),
        ConnectionError::Io(e) => format!("I/O: {e}"),
        ConnectionError::NetworkTimeout => "timed out connecting".to_owned(),
        other => other.to_string(),
    }
}

/// Drive a 3.1.1 connection.
pub(super) async fn run(mut link: Link, p: &Profile, mut publishes: mpsc::Receiver<PublishRequest>) {
    let (host, transport) = match super::tls::endpoint(p) {
        Ok(e) => e,
        Err(err) => return link.status(ConnStatus::Disconnected { error: Some(err) }).await,
    };
    let mut opts = MqttOptions::new(p.client_id.clone(), host, p.port);
    opts.set_keep_alive(Duration::from_secs(u64::from(p.keep_alive_secs.max(1))));
    opts.set_clean_session(p.clean_start);
    opts.set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
    if let Some(t) = transport {
        opts.set_transport(t);
    }
    if !p.username.is_empty() {
        opts.set_credentials(p.username.clone(), p.password.clone());
    }
    if !p.will.topic.is_empty() {
        opts.set_last_will(LastWill::new(p.will.topic.clone(), p.will.payload.clone(), qos(p.will.qos), p.will.retain));
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 256);
    eventloop.network_options.set_connection_timeout(u64::from(p.connect_timeout_secs.max(1)));
    link.status(ConnStatus::Connecting).await;
    let filters: Vec<SubscribeFilter> = p.subscriptions.iter().map(|s| SubscribeFilter::new(s.filter.clone(), qos(s.qos))).collect();
    let mut outbox = Outbox::default();
    // Up between CONNACK and the next error; a publish handed over while down is queued by rumqttc.
    let mut connected = false;
    loop {
        tokio::select! {
            polled = eventloop.poll() => match polled {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    link.backoff.reset();
                    connected = true;
                    link.status(ConnStatus::Connected).await;
                    if let Err(err) = client.try_subscribe_many(filters.clone()) {
                        for sub in &p.subscriptions {
                            link.subscribe_failed(&sub.filter, format!("not sent: {err}")).await;
                        }
                    }
                }
                Ok(MqttEvent::Incoming(Packet::SubAck(ack))) => {
                    for (code, sub) in ack.return_codes.iter().zip(&p.subscriptions) {
                        if matches!(code, SubscribeReasonCode::Failure) {
                            link.subscribe_failed(&sub.filter, "refused by the broker (SUBACK 0x80)".to_owned()).await;
                        }
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(pb))) => {
                    let mut msg = Message::new(Arc::<str>::from(pb.topic.as_str()), pb.payload, from_qos(pb.qos), pb.retain, SystemTime::now());
                    msg.dup = pb.dup;
                    link.push(msg).await;
                }
                Ok(MqttEvent::Outgoing(rumqttc::Outgoing::Publish(pkid))) => report(&link.sink, link.conn_id, outbox.written(pkid)).await,
                Ok(MqttEvent::Incoming(Packet::PubAck(ack))) => report(&link.sink, link.conn_id, outbox.acknowledged(ack.pkid, None)).await,
                Ok(MqttEvent::Incoming(Packet::PubComp(comp))) => report(&link.sink, link.conn_id, outbox.acknowledged(comp.pkid, None)).await,
                Ok(_) => {}
                Err(err) => {
                    connected = false;
                    if !link.failed(describe(&err), p.auto_reconnect).await {
                        return;
                    }
                }
            },
            req = publishes.recv() => {
                let Some(req) = req else {
                    // Removed by the user: say goodbye properly (no will), briefly.
                    client.try_disconnect().ok();
                    let goodbye = async {
                        loop {
                            match eventloop.poll().await {
                                Ok(MqttEvent::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                                Ok(_) => {}
                            }
                        }
                    };
                    tokio::time::timeout(Duration::from_secs(1), goodbye).await.ok();
                    return;
                };
                let request = (req.id, req.qos);
                let result = client.try_publish(req.topic, qos(req.qos), req.retain, req.payload);
                handed_over(&link, &mut outbox, request, connected, result).await;
            }
            () = link.flush_timer(), if link.flush_due() => link.flush(),
        }
    }
}
