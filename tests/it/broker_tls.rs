//! TLS listeners with certificates from `--tls-generate` (rcgen): mosquitto_pub / mosquitto_sub over
//! mqtts with `--cafile --cert --key`, mutual TLS accepted and refused, a wrong CA refused, and
//! mqscope's own client over wss://.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use mqscope::broker::certgen::{self, CertSet};
use mqscope::broker::tls::{self, TlsFiles};
use mqscope::broker::{self, Broker, BrokerConfig, Listeners, SecureListeners, TlsListener};
use mqscope::client::ClientSessions;
use mqscope::model::profile::{MqttVersion, Profile, SubscriptionDef, TlsOptions, Transport};
use mqscope::model::{ConnId, ConnStatus, MessageMeta, QoS};
use mqscope::protocol::{Event, EventSink, PublishRequest};
use tokio::net::TcpListener;
use tokio::process::Command;

use crate::broker_mosquitto::{output, settle};
use crate::common::{guard, until};

/// A fresh directory under the system temp dir for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqscope-it-{tag}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

/// A certificate set generated in a fresh directory.
pub fn certs(tag: &str) -> CertSet {
    certgen::generate(&temp_dir(tag)).expect("certificates generated")
}

/// A broker (no $SYS) with a TCP listener and an mqtts and a wss listener using `set`'s server
/// certificate; client certificates are checked against `set`'s CA, and required with `require`.
pub async fn start_tls_broker(set: &CertSet, require: bool) -> (SocketAddr, SocketAddr, SocketAddr, Broker) {
    let files = TlsFiles { certfile: set.server(), keyfile: set.server_key(), cafile: Some(set.ca()), require_certificate: require };
    let config = tls::server_config(&files).expect("TLS configuration");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mqtts = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let wss = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addrs = (tcp.local_addr().expect("addr"), mqtts.local_addr().expect("addr"), wss.local_addr().expect("addr"));
    let broker = Broker::new(BrokerConfig { sys_interval: None, ..BrokerConfig::default() }, None);
    let secure = SecureListeners {
        tls: Some(TlsListener { listener: mqtts, config: Arc::clone(&config) }),
        wss: Some(TlsListener { listener: wss, config }),
    };
    tokio::spawn(broker::run_all(Listeners { tcp, ws: None }, secure, broker.clone(), std::future::pending::<()>()));
    (addrs.0, addrs.1, addrs.2, broker)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// mosquitto_sub over TLS with the CA, and the client certificate when `with_cert`.
fn tls_args(set: &CertSet, with_cert: bool) -> Vec<String> {
    let mut args = vec!["--cafile".to_owned(), path(&set.ca())];
    if with_cert {
        args.extend(["--cert".to_owned(), path(&set.client()), "--key".to_owned(), path(&set.client_key())]);
    }
    args
}

/// Run mosquitto_pub to `addr`'s port on `localhost` (the name the server certificate is for) with
/// `args`; returns (success, stderr).
pub async fn try_publish(addr: SocketAddr, args: &[String]) -> (bool, String) {
    let out = guard(
        "mosquitto_pub",
        Command::new("mosquitto_pub")
            .args(["-h", "localhost", "-p", &addr.port().to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("mosquitto_pub is installed");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn sub_tls(addr: SocketAddr, args: &[String], count: u32) -> tokio::process::Child {
    Command::new("mosquitto_sub")
        .args(["-h", "localhost", "-p", &addr.port().to_string(), "-C", &count.to_string(), "-W", "20"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub is installed")
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

#[tokio::test]
async fn mosquitto_clients_talk_mqtts_with_generated_certificates_in_both_versions() {
    let set = certs("mqtts");
    let (_, mqtts, _, broker) = start_tls_broker(&set, false).await;
    for version in ["mqttv311", "mqttv5"] {
        let child = sub_tls(mqtts, &with(tls_args(&set, true), &["-V", version, "-t", "secure/#", "-v", "-q", "1"]), 1);
        settle(&broker, 1).await;
        let (ok, err) =
            try_publish(mqtts, &with(tls_args(&set, false), &["-V", version, "-t", "secure/hello", "-m", version, "-q", "1"])).await;
        assert!(ok, "mosquitto_pub over TLS: {err}");
        assert_eq!(output(child).await, format!("secure/hello {version}\n"));
        until("the subscriber gone", || mqscope::broker::stats::snapshot(broker.shared()).clients_connected == 0).await;
        // The session ended with the connection (clean session): its subscription too.
        until("its subscription gone", || crate::common::subscription_count(&broker) == 0).await;
    }
}

#[tokio::test]
async fn mutual_tls_accepts_the_client_certificate_and_refuses_none() {
    let set = certs("mtls");
    let (_, mqtts, _, broker) = start_tls_broker(&set, true).await;
    let (ok, err) = try_publish(mqtts, &with(tls_args(&set, true), &["-t", "m/tls", "-m", "x"])).await;
    assert!(ok, "with the client certificate: {err}");
    let failed_before = broker.shared().stats.security.tls_handshake_failed.load(Relaxed);
    let (ok, err) = try_publish(mqtts, &with(tls_args(&set, false), &["-t", "m/tls", "-m", "x"])).await;
    assert!(!ok, "without a client certificate the handshake must fail");
    assert!(!err.is_empty(), "mosquitto_pub says why");
    until("the refused handshake counted", || broker.shared().stats.security.tls_handshake_failed.load(Relaxed) > failed_before).await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_and_a_wrong_ca_are_refused() {
    let set = certs("ca-right");
    let other = certs("ca-other");
    let (_, mqtts, _, _broker) = start_tls_broker(&set, true).await;
    // The client does not trust the server's CA.
    let args = vec![
        "--cafile".to_owned(),
        path(&other.ca()),
        "--cert".to_owned(),
        path(&set.client()),
        "--key".to_owned(),
        path(&set.client_key()),
    ];
    let (ok, err) = try_publish(mqtts, &with(args, &["-t", "t", "-m", "x"])).await;
    assert!(!ok && !err.is_empty(), "wrong CA on the client: refused with a message");
    // The broker does not trust the client's CA.
    let args = vec![
        "--cafile".to_owned(),
        path(&set.ca()),
        "--cert".to_owned(),
        path(&other.client()),
        "--key".to_owned(),
        path(&other.client_key()),
    ];
    let (ok, _) = try_publish(mqtts, &with(args, &["-t", "t", "-m", "x"])).await;
    assert!(!ok, "client certificate from another CA: refused");
}

/// mqscope's own client over wss:// to `port` with `set`'s CA and client certificate: it subscribes,
/// publishes QoS 1 to itself and gets the message back (subscription and publish share one ordered connection).
pub async fn wss_echo(set: &CertSet, port: u16) {
    let profile = Profile {
        name: "wss".into(),
        host: "localhost".into(),
        port,
        transport: Transport::Wss,
        ws_path: "/mqtt".into(),
        version: MqttVersion::V5,
        client_id: format!("mqscope-wss-{port}"),
        subscriptions: vec![SubscriptionDef { filter: "over/wss".into(), qos: QoS::AtLeastOnce, ..SubscriptionDef::default() }],
        tls: TlsOptions {
            ca_file: path(&set.ca()),
            client_cert_file: path(&set.client()),
            client_key_file: path(&set.client_key()),
            ..TlsOptions::default()
        },
        reconnect_max_secs: 1,
        ..Profile::default()
    };
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let mut sessions = ClientSessions::new(sink);
    sessions.connect(ConnId(1), profile);
    guard("Connected over wss://", async {
        loop {
            match events.recv().await {
                Some(Event::ConnStatus { status: ConnStatus::Connected, .. }) => return,
                Some(Event::ConnStatus { status: ConnStatus::Reconnecting { error, .. }, .. }) => panic!("wss connect failed: {error:?}"),
                Some(_) => {}
                None => panic!("client sessions gone"),
            }
        }
    })
    .await;
    let req = PublishRequest {
        id: 0,
        conn_id: ConnId(1),
        topic: "over/wss".into(),
        payload: bytes::Bytes::from_static(b"secret"),
        qos: QoS::AtLeastOnce,
        retain: false,
        meta: MessageMeta::default(),
    };
    sessions.publish(req).await;
    let msg = guard("the message back over wss://", async {
        loop {
            if let Some((_, msgs)) = events.recv().await.and_then(Event::into_messages)
                && let Some(m) = msgs.into_iter().find(|m| &*m.topic == "over/wss")
            {
                return m;
            }
        }
    })
    .await;
    assert_eq!(&msg.payload[..], b"secret");
}

#[tokio::test]
async fn mqscope_client_talks_wss_with_the_generated_certificates() {
    let set = certs("wss");
    let (_, _, wss, _broker) = start_tls_broker(&set, true).await;
    wss_echo(&set, wss.port()).await;
}
