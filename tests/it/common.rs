use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use egui_kittest::Harness;
use mqscope::app::ExplorerApp;
use mqscope::broker::{self, Broker, BrokerConfig};
use tokio::net::TcpListener;

/// Generous guard against a hang; never an assertion about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A broker on 127.0.0.1 with a free port, no $SYS.
pub async fn start_broker() -> (SocketAddr, Broker) {
    start_broker_with(BrokerConfig { sys_interval: None, ..BrokerConfig::default() }).await
}

/// A broker with this configuration.
pub async fn start_broker_with(config: BrokerConfig) -> (SocketAddr, Broker) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let broker = Broker::new(config, None);
    tokio::spawn(broker::run(listener, broker.clone(), std::future::pending::<()>()));
    (addr, broker)
}

/// Await `fut`, failing the test (not hanging it) if it never completes.
pub async fn guard<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, fut).await.unwrap_or_else(|_elapsed| panic!("hung waiting for {what}"))
}

/// Wait until `ready` holds, checking every few milliseconds: an observable state of the broker
/// instead of a sleep that guesses how long it takes (and fails on a loaded machine).
pub async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    guard(what, async {
        while !ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Subscriptions the broker holds, over every session.
pub fn subscription_count(broker: &Broker) -> usize {
    broker.shared().state.lock().map_or(0, |s| s.counts().1)
}

/// Whether client `client_id` holds a subscription of `filter`.
pub fn has_subscription(broker: &Broker, client_id: &str, filter: &str) -> bool {
    let Ok(state) = broker.shared().state.lock() else { return false };
    state.sessions.get(client_id).is_some_and(|cell| cell.lock().subscriptions.contains_key(filter))
}

/// Wait until the broker holds at least `n` subscriptions (a client launched as a process has subscribed).
pub async fn until_subscriptions(broker: &Broker, n: usize) {
    until(&format!("{n} subscriptions"), || subscription_count(broker) >= n).await;
}

/// Next PUBLISH seen by a rumqttc v4 event loop.
pub async fn next_publish_v4(el: &mut rumqttc::EventLoop) -> rumqttc::Publish {
    guard("a PUBLISH (v4)", async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = el.poll().await.expect("v4 poll") {
                return p;
            }
        }
    })
    .await
}

/// Poll a v4 event loop until `pred` matches an incoming packet.
pub async fn wait_v4(el: &mut rumqttc::EventLoop, what: &str, pred: impl Fn(&rumqttc::Packet) -> bool) -> rumqttc::Packet {
    guard(what, async {
        loop {
            if let rumqttc::Event::Incoming(p) = el.poll().await.expect("v4 poll")
                && pred(&p)
            {
                return p;
            }
        }
    })
    .await
}

/// A v4 client connected to `addr`, its CONNACK received.
pub async fn client_v4(addr: SocketAddr, id: &str, clean: bool) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut opts = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_clean_session(clean);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = rumqttc::AsyncClient::new(opts, 100);
    wait_v4(&mut el, "CONNACK", |p| matches!(p, rumqttc::Packet::ConnAck(_))).await;
    (client, el)
}

/// Keep polling a v4 event loop in the background (a publisher that just needs its acks handled).
pub fn drive_v4(mut el: rumqttc::EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while el.poll().await.is_ok() {} })
}

/// A v5 client connected to `addr`, its CONNACK received.
pub async fn client_v5(addr: SocketAddr, id: &str) -> (rumqttc::v5::AsyncClient, rumqttc::v5::EventLoop) {
    let mut opts = rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = rumqttc::v5::AsyncClient::new(opts, 100);
    wait_v5(&mut el, "CONNACK", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::ConnAck(_))).await;
    (client, el)
}

/// Poll a v5 event loop until `pred` matches an incoming packet.
pub async fn wait_v5(
    el: &mut rumqttc::v5::EventLoop,
    what: &str,
    pred: impl Fn(&rumqttc::v5::mqttbytes::v5::Packet) -> bool,
) -> rumqttc::v5::mqttbytes::v5::Packet {
    guard(what, async {
        loop {
            if let rumqttc::v5::Event::Incoming(p) = el.poll().await.expect("v5 poll")
                && pred(&p)
            {
                return p;
            }
        }
    })
    .await
}

/// Next PUBLISH seen by a v5 event loop.
pub async fn next_publish_v5(el: &mut rumqttc::v5::EventLoop) -> rumqttc::v5::mqttbytes::v5::Publish {
    match wait_v5(el, "a PUBLISH (v5)", |p| matches!(p, rumqttc::v5::mqttbytes::v5::Packet::Publish(_))).await {
        rumqttc::v5::mqttbytes::v5::Packet::Publish(p) => p,
        _ => unreachable!(),
    }
}

/// Step frames until `done` holds; a bounded number of tries, never a speed assertion.
pub(crate) fn step_until(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl Fn(&ExplorerApp) -> bool) {
    for _ in 0..1000 {
        h.step();
        if done(h.state()) {
            h.run();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("gave up waiting for {what}");
}
