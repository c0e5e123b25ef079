//! The MQTT 5.0 side of a client session (rumqttc's v5 API): CONNECT properties, will properties,
//! subscription options, and MQTT 5 properties on received and published messages.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::v5::mqttbytes::QoS as RQoS;
use rumqttc::v5::mqttbytes::v5::{
    ConnectReturnCode, Filter, LastWill, LastWillProperties, Packet, PubAckReason, PubCompReason, PubRecReason, PublishProperties,
    RetainForwardRule, SubscribeReasonCode,
};
use rumqttc::v5::{AsyncClient, ConnectionError, Event as MqttEvent, MqttOptions};
use tokio::sync::mpsc;

use super::link::{Link, Outbox, handed_over, report};
use crate::model::profile::{Profile, RetainHandling};
use crate::model::{ConnStatus, Message, MessageMeta, QoS};
use crate::protocol::PublishRequest;

pub(crate) fn qos(q: QoS) -> RQoS {
    match q {
        QoS::AtMostOnce => RQoS::AtMostOnce,
        QoS::AtLeastOnce => RQoS::AtLeastOnce,
        QoS::ExactlyOnce => RQoS::ExactlyOnce,
    }
}

fn from_qos(q: RQoS) -> QoS {
    match q {
        RQoS::AtMostOnce => QoS::AtMostOnce,
        RQoS::AtLeastOnce => QoS::AtLeastOnce,
        RQoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// The MQTT 5 reason code of a CONNACK refusal.
fn connack_code(code: ConnectReturnCode) -> u8 {
    use ConnectReturnCode as C;
    match code {
        C::Success => 0x00,
        C::RefusedProtocolVersion | C::UnsupportedProtocolVersion => 0x84,
        C::BadClientId | C::ClientIdentifierNotValid => 0x85,
        C::ServiceUnavailable | C::ServerUnavailable => 0x88,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerBusy => 0x89,
        C::Banned => 0x8A,
        C::BadAuthenticationMethod => 0x8C,
        C::TopicNameInvalid => 0x90,
        C::PacketTooLarge => 0x95,
        C::QuotaExceeded => 0x97,
        C::PayloadFormatInvalid => 0x99,
        C::RetainNotSupported => 0x9A,
        C::QoSNotSupported => 0x9B,
        C::UseAnotherServer => 0x9C,
        C::ServerMoved => 0x9D,
        C::ConnectionRateExceeded => 0x9F,
    }
}

pub(crate) fn describe(err: &ConnectionError) -> String {
    match err {
        ConnectionError::ConnectionRefused(code) => {
            let n = connack_code(*code);
            format!("broker refused the connection: {} (CONNACK reason code 0x{n:02X})", crate::broker::codec::reason_text(n))
        }
        ConnectionError::Tls(e) => format!("TLS: {e}"),
        ConnectionError::Io(e) => format!("I/O: {e}"),
        other => other.to_string(),
    }
}

fn suback_failure(code: SubscribeReasonCode) -> Option<String> {
    let (n, text) = match code {
        SubscribeReasonCode::Success(_) => return None,
        SubscribeReasonCode::Failure | SubscribeReasonCode::Unspecified => (0x80, "unspecified error"),
        SubscribeReasonCode::ImplementationSpecific => (0x83, "implementation specific error"),
        SubscribeReasonCode::NotAuthorized => (0x87, "not authorized"),
        SubscribeReasonCode::TopicFilterInvalid => (0x8F, "topic filter invalid"),
        SubscribeReasonCode::PkidInUse => (0x91, "packet identifier in use"),
        SubscribeReasonCode::QuotaExceeded => (0x97, "quota exceeded"),
        SubscribeReasonCode::SharedSubscriptionsNotSupported => (0x9E, "shared subscriptions not supported"),
        SubscribeReasonCode::SubscriptionIdNotSupported => (0xA1, "subscription identifiers not supported"),
        SubscribeReasonCode::WildcardSubscriptionsNotSupported => (0xA2, "wildcard subscriptions not supported"),
    };
    Some(format!("{text} (SUBACK reason code 0x{n:02X})"))
}

pub(crate) fn options(p: &Profile, host: String) -> MqttOptions {
    let mut opts = MqttOptions::new(p.client_id.clone(), host, p.port);
    opts.set_keep_alive(Duration::from_secs(u64::from(p.keep_alive_secs.max(1))));
    opts.set_clean_start(p.clean_start);
    opts.set_connection_timeout(u64::from(p.connect_timeout_secs.max(1)));
    opts.set_session_expiry_interval((p.session_expiry_secs > 0).then_some(p.session_expiry_secs));
    let props = &p.properties;
    opts.set_receive_maximum((props.receive_maximum > 0).then_some(props.receive_maximum));
    opts.set_max_packet_size(Some(if props.maximum_packet_size > 0 { props.maximum_packet_size } else { 256 * 1024 * 1024 }));
    opts.set_topic_alias_max((props.topic_alias_maximum > 0).then_some(props.topic_alias_maximum));
    opts.set_request_problem_info(Some(u8::from(props.request_problem_information)));
    opts.set_user_properties(props.user_properties.clone());
    if !p.username.is_empty() {
        opts.set_credentials(p.username.clone(), p.password.clone());
    }
    if !p.will.topic.is_empty() {
        let w = &p.will;
        let wp = LastWillProperties {
            delay_interval: (w.delay_secs > 0).then_some(w.delay_secs),
            payload_format_indicator: None,
            message_expiry_interval: None,
            content_type: (!w.content_type.is_empty()).then(|| w.content_type.clone()),
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
        };
        opts.set_last_will(LastWill::new(w.topic.clone(), w.payload.clone().into_bytes(), qos(w.qos), w.retain, Some(wp)));
    }
    opts
}

fn filters(p: &Profile) -> Vec<Filter> {
    p.subscriptions
        .iter()
        .map(|s| {
            let mut f = Filter::new(s.filter.clone(), qos(s.qos));
            f.nolocal = s.no_local;
            f.preserve_retain = s.retain_as_published;
            f.retain_forward_rule = match s.retain_handling {
                RetainHandling::OnSubscribe => RetainForwardRule::OnEverySubscribe,
                RetainHandling::IfNew => RetainForwardRule::OnNewSubscribe,
                RetainHandling::Never => RetainForwardRule::Never,
            };
            f
        })
        .collect()
}

pub(crate) fn to_message(pb: rumqttc::v5::mqttbytes::v5::Publish, topic: Arc<str>) -> Message {
    let mut msg = Message::new(topic, pb.payload, from_qos(pb.qos), pb.retain, SystemTime::now());
    msg.dup = pb.dup;
    if let Some(pp) = pb.properties {
        let meta = MessageMeta {
            publisher: None,
            published_qos: None,
            payload_format: pp.payload_format_indicator,
            message_expiry_secs: pp.message_expiry_interval,
            content_type: pp.content_type,
            response_topic: pp.response_topic,
            correlation_data: pp.correlation_data,
            user_properties: pp.user_properties,
        };
        // Only a topic alias or subscription ids: nothing to show, nothing to keep.
        msg.meta = meta.has_properties().then(|| Arc::new(meta));
    }
    msg
}

/// What an acknowledgement settles: (packet id, the refusal if it is one). A successful PUBREC
/// settles nothing (PUBCOMP follows); "no matching subscribers" is a success.
fn acknowledgement(packet: &Packet) -> Option<(u16, Option<String>)> {
    match packet {
        Packet::PubAck(ack) => Some((
            ack.pkid,
            (ack.reason != PubAckReason::Success && ack.reason != PubAckReason::NoMatchingSubscribers)
                .then(|| format!("refused by the broker (PUBACK {:?})", ack.reason)),
        )),
        Packet::PubRec(rec) if rec.reason != PubRecReason::Success && rec.reason != PubRecReason::NoMatchingSubscribers => {
            Some((rec.pkid, Some(format!("refused by the broker (PUBREC {:?})", rec.reason))))
        }
        Packet::PubComp(comp) => {
            Some((comp.pkid, (comp.reason != PubCompReason::Success).then(|| format!("refused by the broker (PUBCOMP {:?})", comp.reason))))
        }
        _ => None,
    }
}

/// Drive a 5.0 connection.
pub(super) async fn run(mut link: Link, p: &Profile, mut publishes: mpsc::Receiver<PublishRequest>) {
    let (host, transport) = match super::tls::endpoint(p) {
        Ok(e) => e,
        Err(err) => return link.status(ConnStatus::Disconnected { error: Some(err) }).await,
    };
    let mut opts = options(p, host);
    if let Some(t) = transport {
        opts.set_transport(t);
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 256);
    link.status(ConnStatus::Connecting).await;
    let subs = filters(p);
    // Topic aliases the broker set for us (server → client).
    let mut aliases: std::collections::HashMap<u16, Arc<str>> = std::collections::HashMap::new();
    let mut outbox = Outbox::default();
    // Up between CONNACK and the next error; a publish handed over while down is queued by rumqttc.
    let mut connected = false;
    loop {
        tokio::select! {
            polled = eventloop.poll() => match polled {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    link.backoff.reset();
                    connected = true;
                    aliases.clear();
                    link.status(ConnStatus::Connected).await;
                    if let Err(err) = client.try_subscribe_many(subs.clone()) {
                        for sub in &p.subscriptions {
                            link.subscribe_failed(&sub.filter, format!("not sent: {err}")).await;
                        }
                    }
                }
                Ok(MqttEvent::Incoming(Packet::SubAck(ack))) => {
                    for (code, sub) in ack.return_codes.iter().zip(&p.subscriptions) {
                        if let Some(reason) = suback_failure(*code) {
                            link.subscribe_failed(&sub.filter, reason).await;
                        }
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(pb))) => {
                    let alias = pb.properties.as_ref().and_then(|pp| pp.topic_alias);
                    let topic: Arc<str> = if pb.topic.is_empty() {
                        match alias.and_then(|a| aliases.get(&a)) {
                            Some(t) => Arc::clone(t),
                            None => continue,
                        }
                    } else {
                        let t: Arc<str> = String::from_utf8_lossy(&pb.topic).into();
                        if let Some(a) = alias {
                            aliases.insert(a, Arc::clone(&t));
                        }
                        t
                    };
                    link.push(to_message(pb, topic)).await;
                }
                Ok(MqttEvent::Outgoing(rumqttc::Outgoing::Publish(pkid))) => report(&link.sink, link.conn_id, outbox.written(pkid)).await,
                Ok(MqttEvent::Incoming(packet @ (Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubComp(_)))) => {
                    if let Some((pkid, refusal)) = acknowledgement(&packet) {
                        report(&link.sink, link.conn_id, outbox.acknowledged(pkid, refusal)).await;
                    }
                }
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
                    let m = &req.meta;
                    let props = PublishProperties {
                        payload_format_indicator: m.payload_format,
                        message_expiry_interval: m.message_expiry_secs,
                        topic_alias: None,
                        response_topic: m.response_topic.clone(),
                        correlation_data: m.correlation_data.clone(),
                        user_properties: m.user_properties.clone(),
                        subscription_identifiers: Vec::new(),
                        content_type: m.content_type.clone(),
                    };
                let request = (req.id, req.qos);
                let result = client.try_publish_with_properties(req.topic, qos(req.qos), req.retain, req.payload, props);
                handed_over(&link, &mut outbox, request, connected, result).await;
            }
            () = link.flush_timer(), if link.flush_due() => link.flush(),
        }
    }
}
