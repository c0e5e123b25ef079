//! `mqscope bench` in-process against our broker: every mode with tiny counts. Asserts that the
//! report's counts add up and that QoS 1/2 lose and duplicate nothing. Never a timing assertion.

use std::net::SocketAddr;

use clap::Parser;
use mqscope::bench::{self, BenchError, BenchOptions, Report};

use crate::common::{guard, start_broker, start_broker_with};

/// `mqscope bench`'s options; a later option overrides an earlier one (test defaults first).
#[derive(Parser)]
#[command(args_override_self = true)]
struct Cli {
    #[command(flatten)]
    opts: BenchOptions,
}

/// Options as the command line would give them, pointed at `addr`, quiet, generously bounded.
fn options(addr: SocketAddr, extra: &[&str]) -> BenchOptions {
    let port = addr.port().to_string();
    let mut argv = vec!["bench", "--quiet", "--host", "127.0.0.1", "--port", &port, "--seconds", "15", "--idle-ms", "3000"];
    argv.extend_from_slice(extra);
    Cli::try_parse_from(argv).expect("bench options").opts
}

async fn bench(addr: SocketAddr, args: &[&str]) -> Report {
    let opts = options(addr, args);
    guard("a bench run", bench::run(&opts)).await.expect("bench run")
}

/// Counts that must hold for any run.
fn assert_adds_up(r: &Report) {
    assert!(r.errors.is_empty(), "errors: {:?}", r.errors);
    assert_eq!(r.delivered + r.lost, r.expected, "{r:#?}");
    if r.qos > 0 {
        assert_eq!(r.acked, r.published, "{r:#?}");
        assert_eq!((r.lost, r.duplicated, r.rejected), (0, 0, 0), "{r:#?}");
    }
    assert_eq!(r.foreign, 0, "{r:#?}");
}

#[tokio::test]
async fn fan_in_at_every_qos_and_both_versions() {
    let (addr, _broker) = start_broker().await;
    for mqtt in ["3", "5"] {
        for qos in ["0", "1", "2"] {
            let r = bench(addr, &["fan-in", "--mqtt", mqtt, "--qos", qos, "--pubs", "4", "--count", "2002", "--topics", "50"]).await;
            assert_adds_up(&r);
            assert_eq!((r.pubs, r.subs, r.published, r.expected), (4, 1, 2002, 2002), "{r:#?}");
            let latency = r.latency.expect("latency samples");
            assert_eq!(latency.samples, r.delivered + r.duplicated);
        }
    }
}

#[tokio::test]
async fn fan_out_multiplies_deliveries_by_subscribers() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["fan-out", "--qos", "1", "--subs", "3", "--count", "1000", "--topics", "10"]).await;
    assert_adds_up(&r);
    assert_eq!((r.pubs, r.subs, r.published, r.expected, r.delivered), (1, 3, 1000, 3000, 3000), "{r:#?}");
}

#[tokio::test]
async fn pairs_keep_to_their_own_topics() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["pairs", "--mqtt", "5", "--qos", "2", "--pubs", "3", "--count", "900", "--topics", "30"]).await;
    assert_adds_up(&r);
    assert_eq!((r.pubs, r.subs, r.expected, r.delivered), (3, 3, 900, 900), "{r:#?}");
}

#[tokio::test]
async fn a_rate_limited_run_still_counts_everything() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["fan-in", "--qos", "1", "--pubs", "2", "--rate", "4000", "--count", "400"]).await;
    assert_adds_up(&r);
    assert_eq!(r.delivered, 400);
    assert!(r.latency.is_some());
}

#[tokio::test]
async fn broker_pid_adds_the_brokers_cost() {
    // The broker runs inside the test process, so its PID is ours.
    let (addr, _broker) = start_broker().await;
    let pid = std::process::id().to_string();
    let r = bench(addr, &["fan-in", "--count", "500", "--topics", "5", "--broker-pid", &pid]).await;
    assert_adds_up(&r);
    let broker = r.broker.expect("broker cost");
    assert!(broker.rss_mib > 0.0 && broker.peak_rss_mib >= broker.rss_mib);
    assert!(r.bench.is_some());
}

#[tokio::test]
async fn retained_topics_are_replayed_to_a_new_subscriber() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["retained", "--qos", "1", "--topics", "500"]).await;
    assert_adds_up(&r);
    let retained = r.retained.expect("retained figures");
    assert_eq!((retained.stored, r.delivered), (500, 500));
    // A second run sees the first run's 500 retained topics too, and keeps them apart.
    let again = bench(addr, &["retained", "--topics", "200"]).await;
    assert_eq!((again.delivered, again.lost, again.foreign), (200, 0, 500), "{again:#?}");
}

#[tokio::test]
async fn a_pattern_gives_the_retained_topics_their_shape() {
    let (addr, broker) = start_broker().await;
    let pattern = "site/{i%3}/line/{i%5}/dev/{i}/temp";
    let r = bench(addr, &["retained", "--qos", "1", "--topics", "300", "--pattern", pattern]).await;
    assert_adds_up(&r);
    assert_eq!((r.delivered, r.pattern.as_deref()), (300, Some(pattern)));
    // The store holds exactly the pattern's topics: device 299 is on site 299 % 3, line 299 % 5.
    let stored = mqscope::broker::inspect::retained(broker.shared(), "+/+/site/+/line/+/dev/+/temp");
    assert_eq!(stored.rows.len(), 300);
    assert!(stored.rows.iter().any(|row| row.topic.ends_with("/site/2/line/4/dev/299/temp")), "{:?}", &stored.rows[..3]);
    assert!(stored.rows.iter().all(|row| !row.topic.contains("/r/")));
}

#[tokio::test]
async fn delete_clears_a_subtree_of_retained_topics() {
    let (addr, broker) = start_broker().await;
    let pattern = "g{i/100}/dev/{i}/temp";
    let r = bench(addr, &["retained", "--qos", "1", "--topics", "300", "--pattern", pattern, "--delete", "100"]).await;
    assert_adds_up(&r);
    let delete = r.retained.and_then(|f| f.delete).expect("delete figures");
    assert_eq!(delete.cleared, 100, "{r:#?}");
    // Topics 0-99 are the whole subtree g0; g1 and g2 keep theirs.
    let count = |filter: &str| mqscope::broker::inspect::retained(broker.shared(), filter).rows.len();
    assert_eq!((count("+/+/g0/#"), count("+/+/g1/#"), count("+/+/g2/#")), (0, 100, 100));
}

#[tokio::test]
async fn distinct_subscriptions_each_get_the_messages_routed_to_them() {
    let (addr, broker) = start_broker().await;
    let r = bench(addr, &["subscriptions", "--subs", "7", "--topics", "300", "--count", "2000", "--pattern", "sensors/{i}"]).await;
    let s = r.subscriptions.expect("subscription figures");
    assert_eq!((s.subscriptions, s.clients, s.refused), (300, 7, 0), "{r:#?}");
    // Each message matches exactly one `sensors/{i}/#`, so each is delivered once.
    assert_eq!((r.published, r.delivered, r.lost), (2000, 2000, 0), "{r:#?}");
    crate::common::until("the clients' subscriptions to go with them", || crate::common::subscription_count(&broker) == 0).await;
}

#[tokio::test]
async fn idle_connections_are_held_and_pinged() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["connections", "--conns", "20", "--seconds", "1.5", "--keep-alive", "1"]).await;
    let c = r.connections.expect("connection figures");
    assert_eq!((c.wanted, c.connected, c.failed, c.dropped), (20, 20, 0, 0), "{r:#?}");
    assert!(c.pings >= 20, "{r:#?}");
}

#[tokio::test]
async fn nonsense_options_are_refused_before_connecting() {
    let unreachable: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let opts = options(unreachable, &["--size", "8"]);
    assert!(matches!(bench::run(&opts).await, Err(BenchError::Options(_))));
    let opts = options(unreachable, &["churn", "--rate", "1e10"]);
    assert!(matches!(bench::run(&opts).await, Err(BenchError::Options(_))), "a period under 1 µs");
    let opts = options(unreachable, &["--count", "10"]);
    assert!(matches!(bench::run(&opts).await, Err(BenchError::Connect { .. })));
}

#[tokio::test]
async fn persistent_subscribers_on_a_persisting_broker_lose_nothing_and_every_message_is_journaled() {
    use mqscope::broker::BrokerConfig;
    use mqscope::broker::store::PersistConfig;
    let dir = std::env::temp_dir().join(format!("mqscope-bench-persist-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let config = BrokerConfig { sys_interval: None, persistence: Some(PersistConfig::new(&dir)), ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let r = bench(addr, &["fan-in", "--mqtt", "5", "--qos", "1", "--pubs", "4", "--count", "2000", "--persistent"]).await;
    assert_adds_up(&r);
    assert_eq!(r.delivered, 2000);
    let store = broker.shared().store.as_ref().expect("persistence on");
    let records = store.counters().records.load(std::sync::atomic::Ordering::Relaxed);
    assert!(records >= 2000, "each message was queued to a kept session, so journaled before its PUBACK: {records}");
}

#[tokio::test]
async fn a_connect_storm_connects_every_client_and_keeps_the_held_ones_alive() {
    let (addr, _broker) = start_broker().await;
    let r = bench(addr, &["churn", "--mqtt", "5", "--rate", "200", "--seconds", "1", "--conns", "5"]).await;
    let c = r.churn.clone().expect("churn figures");
    assert!(r.errors.is_empty(), "{r:#?}");
    assert!(c.attempted > 0, "{r:#?}");
    assert_eq!((c.connected, c.failed, c.refused.len()), (c.attempted, 0, 0), "{r:#?}");
    assert_eq!((c.held, c.held_dropped), (5, 0), "{r:#?}");
    assert_eq!(r.latency.expect("handshake times").samples, c.connected);
    assert!(c.held_ping.is_some_and(|p| p.samples > 0), "{r:#?}");
}

#[tokio::test]
async fn a_storm_past_max_connection_rate_is_refused_with_0x9f_and_counted() {
    use mqscope::broker::BrokerConfig;
    use mqscope::broker::stats::Limit;
    let config = BrokerConfig { sys_interval: None, max_connection_rate: 20, ..BrokerConfig::default() };
    let (addr, broker) = start_broker_with(config).await;
    let r = bench(addr, &["churn", "--mqtt", "5", "--rate", "200", "--seconds", "1", "--conns", "0"]).await;
    let c = r.churn.clone().expect("churn figures");
    let refused: u64 = c.refused.iter().map(|(_, n)| n).sum();
    assert_eq!(c.connected + refused + c.failed, c.attempted, "{r:#?}");
    assert_eq!(c.failed, 0, "a refusal is a CONNACK, never a dropped socket: {r:#?}");
    assert!(c.refused.iter().all(|(code, _)| *code == 0x9F), "{r:#?}");
    assert_eq!(broker.shared().stats.limits.count(Limit::ConnectionRate), refused);
    // Admitted: the bucket (20) plus 20 per second of the run, whatever the machine's speed.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a small positive bound")]
    let bound = 20 + (r.elapsed_secs.ceil() as u64 + 1) * 20;
    assert!(c.connected <= bound, "{r:#?}");
    assert!(refused > 0 || c.attempted <= bound, "{r:#?}");
}
