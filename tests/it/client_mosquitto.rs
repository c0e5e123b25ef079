//! The client side (profiles → rumqttc sessions) against a real mosquitto that each test starts on
//! 127.0.0.1: plain TCP in 3.1.1 and 5.0, user/password, TLS with a wrong CA, mutual TLS, MQTT 5
//! user properties both ways, a refused subscription, and reconnecting after a restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mqscope::client::ClientSessions;
use mqscope::model::profile::{MqttVersion, Profile, SubscriptionDef, TlsOptions, Transport};
use mqscope::model::{ConnId, ConnStatus, Message, MessageMeta, QoS};
use mqscope::protocol::{Event, EventSink, PublishRequest};
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use crate::common::guard;

/// A mosquitto on a free loopback port with this configuration; stopped when dropped.
pub(crate) struct Mosquitto {
    child: Child,
    pub(crate) port: u16,
    dir: PathBuf,
    config: String,
}

impl Mosquitto {
    pub(crate) async fn start(extra: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mqscope-mosq-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let config = format!("listener {port} 127.0.0.1\npersistence false\n{extra}\n");
        let mut m = Self { child: spawn(&dir, &config), port, dir, config };
        m.wait_ready().await;
        m
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    async fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        guard("mosquitto to listen", async {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    }

    async fn restart(&mut self) {
        self.child.kill().await.ok();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.child = spawn(&self.dir, &self.config);
        self.wait_ready().await;
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.child.start_kill().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn spawn(dir: &Path, config: &str) -> Child {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, config).expect("config");
    Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto is installed (apt-get install mosquitto)")
}

fn profile(port: u16, version: MqttVersion) -> Profile {
    Profile {
        name: "test".into(),
        host: "127.0.0.1".into(),
        port,
        version,
        client_id: format!("mqscope-test-{}", rand_suffix()),
        subscriptions: vec![SubscriptionDef { filter: "#".into(), qos: QoS::AtLeastOnce, ..SubscriptionDef::default() }],
        reconnect_max_secs: 1,
        ..Profile::default()
    }
}

struct Client {
    sessions: ClientSessions,
    events: mqscope::protocol::EventReceiver,
}

fn client(p: Profile) -> Client {
    let (sink, events) = EventSink::channel(Arc::new(|_| {}));
    let mut sessions = ClientSessions::new(sink);
    sessions.connect(ConnId(1), p);
    Client { sessions, events }
}

impl Client {
    /// Wait for a status matching `pred`; returns it.
    async fn status(&mut self, what: &str, pred: impl Fn(&ConnStatus) -> bool) -> ConnStatus {
        guard(what, async {
            loop {
                if let Some(Event::ConnStatus { status, .. }) = self.events.recv().await
                    && pred(&status)
                {
                    return status;
                }
            }
        })
        .await
    }

    async fn connected(&mut self) {
        self.status("Connected", ConnStatus::is_connected).await;
        // Let the SUBSCRIBE reach the broker before anything is published.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    async fn message(&mut self, topic: &str) -> Message {
        guard("a message", async {
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
}

async fn mosquitto_pub(port: u16, args: &[&str]) {
    let status =
        Command::new("mosquitto_pub").args(["-h", "127.0.0.1", "-p", &port.to_string()]).args(args).status().await.expect("mosquitto_pub");
    assert!(status.success(), "mosquitto_pub {args:?}");
}

#[tokio::test]
async fn plain_tcp_in_both_versions_receives_what_mosquitto_pub_sends() {
    let mosq = Mosquitto::start("allow_anonymous true").await;
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let mut c = client(profile(mosq.port, version));
        c.connected().await;
        mosquitto_pub(mosq.port, &["-t", "home/kitchen/temp", "-m", "21.5", "-q", "1"]).await;
        let m = c.message("home/kitchen/temp").await;
        assert_eq!(&m.payload[..], b"21.5", "{version:?}");
        assert_eq!(m.qos, QoS::AtLeastOnce);
    }
}

#[tokio::test]
async fn user_and_password_are_checked_and_a_refusal_is_explained() {
    let mosq = Mosquitto::start("allow_anonymous false").await;
    let pw = mosq.path("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&pw)
        .args(["alice", "s3cret"])
        .status()
        .expect("mosquitto_passwd");
    assert!(ok.success());
    let mut mosq = mosq;
    {
        use std::fmt::Write as _;
        writeln!(mosq.config, "password_file {}", pw.display()).expect("write to a String");
    }
    mosq.restart().await;
    let good = Profile { username: "alice".into(), password: "s3cret".into(), ..profile(mosq.port, MqttVersion::V5) };
    client(good).connected().await;
    let bad = Profile { username: "alice".into(), password: "wrong".into(), auto_reconnect: false, ..profile(mosq.port, MqttVersion::V5) };
    let status = client(bad).status("a refusal", |s| matches!(s, ConnStatus::Disconnected { .. })).await;
    let ConnStatus::Disconnected { error: Some(error) } = status else { panic!("{status:?}") };
    assert!(error.contains("CONNACK reason code 0x86") || error.contains("0x87"), "{error}");
}

/// A CA, a server certificate for 127.0.0.1/localhost, and a client certificate, as PEM files.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_ca: PathBuf,
}

fn pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("ca");
        (cert.pem(), Issuer::new(params, key))
    };
    let (ca_pem, issuer) = ca("mqscope test CA");
    let (other_pem, _) = ca("some other CA");
    let leaf = |sans: Vec<String>| {
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(sans).expect("params");
        (params.signed_by(&key, &issuer).expect("leaf").pem(), key.serialize_pem())
    };
    let (server_pem, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_pem, client_key) = leaf(vec!["mqscope-client".into()]);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write pem");
        p
    };
    Pki {
        ca: write("ca.pem", &ca_pem),
        server_cert: write("server.pem", &server_pem),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_pem),
        client_key: write("client.key", &client_key),
        other_ca: write("other-ca.pem", &other_pem),
    }
}

#[tokio::test]
async fn tls_verifies_the_broker_and_a_wrong_ca_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("mqscope-pki-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pki = pki(&dir);
    let conf = format!("allow_anonymous true\ncertfile {}\nkeyfile {}\n", pki.server_cert.display(), pki.server_key.display());
    let mosq = Mosquitto::start(&conf).await;
    let tls = |ca: &Path| TlsOptions { ca_file: ca.display().to_string(), ..TlsOptions::default() };
    let good = Profile { transport: Transport::Mqtts, tls: tls(&pki.ca), ..profile(mosq.port, MqttVersion::V5) };
    let mut c = client(good);
    c.connected().await;
    mosquitto_pub_tls(mosq.port, &pki.ca, &[]).await;
    assert_eq!(&c.message("secure/hello").await.payload[..], b"over tls");

    let wrong =
        Profile { transport: Transport::Mqtts, tls: tls(&pki.other_ca), auto_reconnect: false, ..profile(mosq.port, MqttVersion::V311) };
    let status = client(wrong).status("a TLS failure", |s| matches!(s, ConnStatus::Disconnected { .. })).await;
    let ConnStatus::Disconnected { error: Some(error) } = status else { panic!("{status:?}") };
    assert!(error.starts_with("TLS") && error.to_lowercase().contains("certificate"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

async fn mosquitto_pub_tls(port: u16, ca: &Path, extra: &[&str]) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "localhost", "-p", &port.to_string(), "--cafile"])
        .arg(ca)
        .args(extra)
        .args(["-t", "secure/hello", "-m", "over tls", "-q", "1"])
        .status()
        .await
        .expect("mosquitto_pub");
    assert!(status.success());
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let dir = std::env::temp_dir().join(format!("mqscope-mtls-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pki = pki(&dir);
    let conf = format!(
        "allow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        pki.ca.display(),
        pki.server_cert.display(),
        pki.server_key.display()
    );
    let mosq = Mosquitto::start(&conf).await;
    let mut tls = TlsOptions {
        ca_file: pki.ca.display().to_string(),
        client_cert_file: pki.client_cert.display().to_string(),
        client_key_file: pki.client_key.display().to_string(),
        // Dial the address, verify the name the certificate carries.
        server_name: "localhost".into(),
        ..TlsOptions::default()
    };
    let mut c = client(Profile { transport: Transport::Mqtts, tls: tls.clone(), ..profile(mosq.port, MqttVersion::V5) });
    c.connected().await;
    let cert = pki.client_cert.display().to_string();
    let key = pki.client_key.display().to_string();
    mosquitto_pub_tls(mosq.port, &pki.ca, &["--cert", &cert, "--key", &key]).await;
    assert_eq!(&c.message("secure/hello").await.payload[..], b"over tls");
    tls.client_cert_file.clear();
    tls.client_key_file.clear();
    let without = Profile { transport: Transport::Mqtts, tls, auto_reconnect: false, ..profile(mosq.port, MqttVersion::V5) };
    let status = client(without).status("a refusal", |s| matches!(s, ConnStatus::Disconnected { .. })).await;
    assert!(matches!(status, ConnStatus::Disconnected { error: Some(_) }), "{status:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn mqtt5_user_properties_round_trip() {
    let mosq = Mosquitto::start("allow_anonymous true").await;
    let mut c = client(profile(mosq.port, MqttVersion::V5));
    c.connected().await;
    // mosquitto_pub → our client.
    mosquitto_pub(mosq.port, &["-V", "5", "-t", "plant/speed", "-m", "1200", "-D", "publish", "user-property", "unit", "rpm"]).await;
    let m = c.message("plant/speed").await;
    assert_eq!(m.meta.expect("properties").user_properties, vec![("unit".to_owned(), "rpm".to_owned())]);
    // Our client → mosquitto_sub.
    // -d: it says when its SUBSCRIBE is acknowledged; we publish after that, not after a guessed sleep
    // (stdbuf: line by line, not in a block at exit).
    let mut sub = Command::new("stdbuf")
        .args([
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &mosq.port.to_string(),
            "-V",
            "5",
            "-t",
            "plant/cmd",
            "-C",
            "1",
            "-W",
            "20",
            "-F",
            "%p %P",
            "-d",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub");
    let mut lines = tokio::io::BufReader::new(sub.stdout.take().expect("stdout")).lines();
    guard("mosquitto_sub's SUBACK", async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line.contains("received SUBACK") {
                return;
            }
        }
        panic!("mosquitto_sub ended before its SUBACK");
    })
    .await;
    let meta = MessageMeta { user_properties: vec![("by".into(), "mqscope".into())], ..MessageMeta::default() };
    let req = PublishRequest {
        id: 0,
        conn_id: ConnId(1),
        topic: "plant/cmd".into(),
        payload: "stop".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        meta,
    };
    c.sessions.publish(req).await;
    let mut printed = Vec::new();
    guard("mosquitto_sub's output", async {
        while let Some(line) = lines.next_line().await.expect("read") {
            // The debug lines name the client or the subscription; the rest is the message as formatted.
            if !line.starts_with("Client ") && !line.starts_with("Subscribed ") {
                printed.push(line);
            }
        }
    })
    .await;
    assert!(guard("mosquitto_sub", sub.wait()).await.expect("exit").success());
    assert_eq!(printed, ["stop by:mqscope"]);
}

/// mosquitto 2.0.11's `acl_file` grants every SUBSCRIBE (and filters deliveries by ACL instead), so a
/// refused subscription comes from our own broker here: a shared subscription with an empty share name
/// (MQTT-4.8.2-1), which rumqttc sends but a broker must refuse, with
/// reason code 0x8F in 5.0 and 0x80 in 3.1.1 — reported per filter, the others kept.
#[tokio::test]
async fn a_refused_subscription_is_reported_per_filter() {
    let (addr, _broker) = crate::common::start_broker().await;
    for (version, code) in [(MqttVersion::V5, "0x8F"), (MqttVersion::V311, "0x80")] {
        let p = Profile {
            subscriptions: vec![
                SubscriptionDef { filter: "allowed/#".into(), ..SubscriptionDef::default() },
                SubscriptionDef { filter: "$share//x".into(), ..SubscriptionDef::default() },
            ],
            ..profile(addr.port(), version)
        };
        let mut c = client(p);
        let (filter, reason) = guard("SubscribeFailed", async {
            loop {
                if let Some(Event::SubscribeFailed { filter, reason, .. }) = c.events.recv().await {
                    return (filter, reason);
                }
            }
        })
        .await;
        assert_eq!(filter, "$share//x");
        assert!(reason.contains(code), "{version:?}: {reason}");
    }
}

#[tokio::test]
async fn reconnects_after_the_broker_restarts() {
    let mut mosq = Mosquitto::start("allow_anonymous true").await;
    let mut c = client(profile(mosq.port, MqttVersion::V311));
    c.connected().await;
    mosq.restart().await;
    c.status("Reconnecting", |s| matches!(s, ConnStatus::Reconnecting { .. })).await;
    c.connected().await;
    mosquitto_pub(mosq.port, &["-t", "after/restart", "-m", "back", "-q", "1"]).await;
    assert_eq!(&c.message("after/restart").await.payload[..], b"back");
}
