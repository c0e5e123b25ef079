//! MQTT over WebSocket (MQTT 5.0 §6 / 3.1.1 §6): mqscope's own client (a `Transport::Ws` profile,
//! 3.1.1 and 5.0) against the broker's WebSocket listener, meeting TCP clients on the same broker;
//! and a raw tokio-tungstenite peer for the transport rules MQTT-6.0.0-1 to -4.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use mqscope::broker::codec::{self, LastWill, Packet, Properties, ProtocolVersion, QoS as WireQoS};
use mqscope::broker::{self, Broker, BrokerConfig, Listeners};
use mqscope::client::ClientSessions;
use mqscope::model::profile::{MqttVersion, Profile, SubscriptionDef, Transport};
use mqscope::model::{ConnId, ConnStatus, Message, MessageMeta, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventSink, PublishRequest};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::common::{client_v4, client_v5, drive_v4, guard, has_subscription, next_publish_v5, until, wait_v5};
use crate::raw::{self, Raw};

/// A broker (no $SYS) serving MQTT on one free port and MQTT over WebSocket on another.
async fn start_ws_broker() -> (SocketAddr, SocketAddr, Broker) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind tcp");
    let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind ws");
    let (tcp_addr, ws_addr) = (tcp.local_addr().expect("addr"), ws.local_addr().expect("addr"));
    let broker = Broker::new(BrokerConfig { sys_interval: None, ..BrokerConfig::default() }, None);
    tokio::spawn(broker::run_listeners(Listeners { tcp, ws: Some(ws) }, broker.clone(), std::future::pending::<()>()));
    (tcp_addr, ws_addr, broker)
}

/// mqscope's client session on one `ws://` profile, and the events it reports.
struct WsClient {
    sessions: ClientSessions,
    events: mqscope::protocol::EventReceiver,
}

const CONN: ConnId = ConnId(1);

impl WsClient {
    /// Connect; with `broker`, return once it holds the profile's subscription.
    async fn connect(ws_addr: SocketAddr, version: MqttVersion, filter: &str, broker: Option<&Broker>) -> Self {
        let profile = Profile {
            name: "ws".into(),
            host: ws_addr.ip().to_string(),
            port: ws_addr.port(),
            transport: Transport::Ws,
            ws_path: "/mqtt".into(),
            version,
            client_id: format!("mqscope-ws-{version:?}"),
            subscriptions: vec![SubscriptionDef { filter: filter.into(), qos: QoS::AtLeastOnce, ..SubscriptionDef::default() }],
            reconnect_max_secs: 1,
            ..Profile::default()
        };
        let (sink, events) = EventSink::channel(Arc::new(|_| {}));
        let mut sessions = ClientSessions::new(sink);
        sessions.connect(CONN, profile);
        let mut client = Self { sessions, events };
        guard("Connected over ws://", async {
            loop {
                match client.events.recv().await {
                    Some(Event::ConnStatus { status: ConnStatus::Connected, .. }) => return,
                    Some(Event::ConnStatus { status: ConnStatus::Reconnecting { error, .. }, .. }) => {
                        panic!("ws connect failed: {error:?}")
                    }
                    Some(_) => {}
                    None => panic!("client sessions gone"),
                }
            }
        })
        .await;
        if let Some(broker) = broker {
            let client_id = format!("mqscope-ws-{version:?}");
            until("the SUBSCRIBE over ws:// in place", || has_subscription(broker, &client_id, filter)).await;
        }
        client
    }

    async fn message(&mut self, topic: &str) -> Message {
        guard("a message over ws://", async {
            loop {
                if let Some((_, msgs)) = self.events.recv().await.and_then(Event::into_messages)
                    && let Some(m) = msgs.into_iter().find(|m| &*m.topic == topic)
                {
                    return m;
                }
            }
        })
        .await
    }

    async fn publish(&mut self, topic: &str, payload: &'static [u8]) {
        let req = PublishRequest {
            id: 0,
            conn_id: CONN,
            topic: topic.into(),
            payload: Bytes::from_static(payload),
            qos: QoS::AtLeastOnce,
            retain: false,
            meta: MessageMeta::default(),
        };
        self.sessions.publish(req).await;
    }
}

#[tokio::test]
async fn mqscope_client_over_websocket_meets_tcp_clients_in_both_versions() {
    let (tcp_addr, ws_addr, broker) = start_ws_broker().await;
    let (publisher, publisher_el) = client_v4(tcp_addr, "tcp-publisher", true).await;
    let _driver = drive_v4(publisher_el);
    let (subscriber, mut sub_el) = client_v5(tcp_addr, "tcp-subscriber").await;
    subscriber.subscribe("from-ws/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce).await.expect("subscribe");
    wait_v5(&mut sub_el, "SUBACK", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::SubAck(_))).await;
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let mut ws = WsClient::connect(ws_addr, version, "to-ws/#", Some(&broker)).await;
        // TCP → WebSocket.
        let topic = format!("to-ws/{version:?}");
        publisher.publish(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, "21.5").await.expect("publish");
        let m = ws.message(&topic).await;
        assert_eq!((&m.payload[..], m.qos), (&b"21.5"[..], QoS::AtLeastOnce), "{version:?}");
        // WebSocket → TCP.
        ws.publish(&format!("from-ws/{version:?}"), b"over ws").await;
        let p = next_publish_v5(&mut sub_el).await;
        assert_eq!((&p.topic[..], &p.payload[..]), (format!("from-ws/{version:?}").as_bytes(), &b"over ws"[..]));
        ws.sessions.disconnect(CONN).await;
    }
}

#[tokio::test]
async fn the_windows_embedded_broker_serves_websocket_when_asked() {
    let ws_addr = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr");
    let (commands, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: Some(ws_addr),
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(std::env::temp_dir().join(format!("mqscope-runtime-ws-{}", std::process::id()))),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    guard("BrokerStarted", async { while !matches!(events.recv().await, Some(Event::BrokerStarted { .. })) {} }).await;
    // Nothing is published to its subscription: no need to wait for it.
    let mut ws = WsClient::connect(ws_addr, MqttVersion::V5, "unused/#", None).await;
    ws.publish("window/ws", b"seen from inside").await;
    // The explorer sees the message through the broker's tap, with its publisher.
    let seen = guard("the message in the explorer", async {
        loop {
            if let Some((ConnId::LOCAL, msgs)) = events.recv().await.and_then(Event::into_messages)
                && let Some(m) = msgs.into_iter().find(|m| &*m.topic == "window/ws")
            {
                return m;
            }
        }
    })
    .await;
    assert_eq!(&seen.payload[..], b"seen from inside");
    assert_eq!(seen.meta.and_then(|m| m.publisher.clone()).as_deref(), Some("mqscope-ws-V5"));
    commands.send(Command::Shutdown).await.expect("shutdown");
}

/// A raw WebSocket peer: MQTT packets encoded with our codec, sent in whatever frames a test chooses.
struct RawWs {
    ws: WebSocketStream<TcpStream>,
    version: ProtocolVersion,
    buf: BytesMut,
}

/// Open a WebSocket to `addr`, offering `protocols` in `Sec-WebSocket-Protocol` (none if empty).
async fn open(
    addr: SocketAddr,
    protocols: &str,
) -> Result<(WebSocketStream<TcpStream>, tungstenite::handshake::client::Response), tungstenite::Error> {
    let mut request = format!("ws://{addr}/mqtt").into_client_request().expect("request");
    if !protocols.is_empty() {
        request.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(protocols).expect("header"));
    }
    let stream = TcpStream::connect(addr).await.expect("connect");
    guard("the WebSocket handshake", tokio_tungstenite::client_async(request, stream)).await
}

fn encode(version: ProtocolVersion, packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for p in packets {
        codec::encode(p, version, &mut out);
    }
    out.to_vec()
}

impl RawWs {
    async fn open(addr: SocketAddr, version: ProtocolVersion) -> Self {
        let (ws, _) = open(addr, "mqtt").await.expect("handshake");
        Self { ws, version, buf: BytesMut::new() }
    }

    /// Send each slice as one binary frame.
    async fn frames(&mut self, frames: &[&[u8]]) {
        for f in frames {
            self.ws.send(WsMessage::binary(f.to_vec())).await.expect("send frame");
        }
    }

    /// The next WebSocket message that is not MQTT data (binary data goes to the packet buffer).
    async fn next_control(&mut self) -> Option<WsMessage> {
        guard("a WebSocket message", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Binary(b))) => self.buf.extend_from_slice(&b),
                    Some(Ok(other)) => return Some(other),
                    None | Some(Err(_)) => return None,
                }
            }
        })
        .await
    }

    /// The next MQTT packet, however the broker framed it.
    async fn expect(&mut self, what: &str) -> Packet {
        guard(what, async {
            loop {
                if let Some(p) = codec::decode(&mut self.buf, Some(self.version), u32::MAX).expect("well-formed packet") {
                    return p;
                }
                match self.ws.next().await {
                    Some(Ok(WsMessage::Binary(b))) => self.buf.extend_from_slice(&b),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    other => panic!("connection ended while waiting for {what}: {other:?}"),
                }
            }
        })
        .await
    }
}

impl RawWs {
    /// Our own PUBLISH echoed back and a PINGRESP, in either order: the PINGRESP is written at
    /// once, the PUBLISH goes through the router and this session's queue.
    async fn expect_publish_and_pingresp(&mut self, payload: &[u8]) {
        let (a, b) = (self.expect("PUBLISH or PINGRESP").await, self.expect("PUBLISH or PINGRESP").await);
        let echoed = |p: &Packet| matches!(p, Packet::Publish(p) if p.payload[..] == *payload);
        let pong = |p: &Packet| matches!(p, Packet::PingResp);
        assert!((echoed(&a) && pong(&b)) || (pong(&a) && echoed(&b)), "{a:?} {b:?}");
    }
}

#[tokio::test]
async fn the_server_selects_subprotocol_mqtt_and_refuses_an_upgrade_without_it() {
    let (_, ws_addr, _broker) = start_ws_broker().await;
    // MQTT-6.0.0-4: the subprotocol selected and returned by the server is "mqtt".
    for offered in ["mqtt", "mqttv3.1, mqtt"] {
        let (_, response) = open(ws_addr, offered).await.expect("handshake");
        assert_eq!(response.headers().get(header::SEC_WEBSOCKET_PROTOCOL).map(HeaderValue::as_bytes), Some(&b"mqtt"[..]), "{offered}");
    }
    // MQTT-6.0.0-3: the client must offer "mqtt"; without it the server cannot meet -4, so it refuses.
    for offered in ["", "mqttv3.1"] {
        match open(ws_addr, offered).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{offered:?}"),
            other => panic!("expected 400 for {offered:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn packets_need_not_align_with_websocket_frames() {
    let (_, ws_addr, _broker) = start_ws_broker().await;
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut ws = RawWs::open(ws_addr, version).await;
        // MQTT-6.0.0-2: a CONNECT split across two frames, cut inside its fixed header.
        let connect = encode(version, &[Packet::Connect(Box::new(raw::connect_packet(version, "split", true, 60)))]);
        ws.frames(&[&connect[..1], &connect[1..]]).await;
        assert!(matches!(ws.expect("CONNACK").await, Packet::ConnAck(ack) if ack.code == 0), "{version:?}");
        // MQTT-6.0.0-2: SUBSCRIBE, PUBLISH and PINGREQ in one frame...
        let publish = Packet::Publish(raw::publish("ws/echo", WireQoS::AtMostOnce, 0, b"in one frame"));
        let together = encode(version, &[raw::subscribe(1, "ws/#", raw::qos(WireQoS::AtMostOnce)), publish, Packet::PingReq]);
        ws.frames(&[&together]).await;
        assert!(matches!(ws.expect("SUBACK").await, Packet::SubAck(s) if s.pkid == 1));
        ws.expect_publish_and_pingresp(b"in one frame").await;
        // ...and a PUBLISH spread over three frames, the last one also holding a PINGREQ.
        let spread =
            encode(version, &[Packet::Publish(raw::publish("ws/echo", WireQoS::AtMostOnce, 0, b"in three frames")), Packet::PingReq]);
        ws.frames(&[&spread[..4], &spread[4..9], &spread[9..]]).await;
        ws.expect_publish_and_pingresp(b"in three frames").await;
    }
}

#[tokio::test]
async fn a_text_frame_closes_the_connection_and_fires_the_will() {
    let (tcp_addr, ws_addr, _broker) = start_ws_broker().await;
    let mut watcher = Raw::connected(tcp_addr, ProtocolVersion::V5, "watcher").await;
    watcher.subscribe(1, "wills/#", raw::qos(WireQoS::AtMostOnce)).await;
    let mut ws = RawWs::open(ws_addr, ProtocolVersion::V5).await;
    let will = LastWill {
        topic: "wills/text".into(),
        payload: Bytes::from_static(b"gone"),
        qos: WireQoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    };
    let connect = raw::connect_packet(ProtocolVersion::V5, "texter", true, 60);
    ws.frames(&[&encode(ProtocolVersion::V5, &[Packet::Connect(Box::new(codec::Connect { will: Some(will), ..connect }))])]).await;
    assert!(matches!(ws.expect("CONNACK").await, Packet::ConnAck(ack) if ack.code == 0));
    // MQTT-6.0.0-1: any data frame other than binary closes the network connection.
    ws.ws.send(WsMessage::text("PINGREQ, please")).await.expect("send text");
    match ws.next_control().await {
        Some(WsMessage::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Unsupported),
        other => panic!("expected Close 1003, got {other:?}"),
    }
    assert!(ws.next_control().await.is_none(), "the connection ends after the Close");
    // Not a normal DISCONNECT, so the will goes out (MQTT-3.1.2-10).
    assert_eq!(&watcher.expect_publish().await.payload[..], b"gone");
}

#[tokio::test]
async fn a_websocket_ping_is_answered_with_a_pong_and_mqtt_goes_on() {
    let (_, ws_addr, _broker) = start_ws_broker().await;
    let mut ws = RawWs::open(ws_addr, ProtocolVersion::V311).await;
    ws.frames(&[&encode(
        ProtocolVersion::V311,
        &[Packet::Connect(Box::new(raw::connect_packet(ProtocolVersion::V311, "pinger", true, 60)))],
    )])
    .await;
    assert!(matches!(ws.expect("CONNACK").await, Packet::ConnAck(_)));
    ws.ws.send(WsMessage::Ping(Bytes::from_static(b"are you there"))).await.expect("ping");
    match ws.next_control().await {
        Some(WsMessage::Pong(payload)) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected Pong, got {other:?}"),
    }
    ws.frames(&[&encode(ProtocolVersion::V311, &[Packet::PingReq])]).await;
    assert!(matches!(ws.expect("PINGRESP").await, Packet::PingResp));
}
