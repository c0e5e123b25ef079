//! The result of one bench run: plain numbers, printed as a table or as JSON.
//!
//! Counts always add up: `expected = delivered + lost` per subscriber, summed; `duplicated` and
//! `foreign` are deliveries on top of that.

use std::fmt;

use serde::Serialize;

use super::procstat::Usage;
use super::tally::Histogram;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest sample.
    pub max_us: f64,
    /// Number of samples.
    pub samples: u64,
}

impl Latency {
    /// Percentiles of `h`, `None` without samples.
    #[must_use]
    pub fn of(h: &Histogram) -> Option<Self> {
        #[expect(clippy::cast_precision_loss, reason = "ns to µs for display")]
        let us = |ns: u64| ns as f64 / 1000.0;
        (!h.is_empty()).then(|| Self { p50_us: us(h.quantile(0.5)), p99_us: us(h.quantile(0.99)), max_us: us(h.max()), samples: h.len() })
    }
}

/// CPU and memory of a process over the measured part of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcessCost {
    /// CPU time used (user + system), ms, 10 ms resolution.
    pub cpu_ms: u64,
    /// CPU time over the busy part of the run (1.0 = one core busy throughout).
    pub cpu_cores: f64,
    /// CPU time per delivered message, µs (`None` when nothing was delivered).
    pub cpu_us_per_msg: Option<f64>,
    /// RSS at the end, MiB.
    pub rss_mib: f64,
    /// Peak RSS of the process's lifetime so far, MiB.
    pub peak_rss_mib: f64,
}

impl ProcessCost {
    /// Cost between two readings over `secs` of wall time, for `delivered` messages.
    #[must_use]
    pub fn between(before: Usage, after: Usage, secs: f64, delivered: u64) -> Self {
        let cpu_ms = after.cpu_ms.saturating_sub(before.cpu_ms);
        #[expect(clippy::cast_precision_loss, reason = "display figures")]
        let (cpu, n, rss, peak) = (cpu_ms as f64, delivered as f64, after.rss_kib as f64, after.peak_rss_kib as f64);
        Self {
            cpu_ms,
            cpu_cores: if secs > 0.0 { cpu / 1000.0 / secs } else { 0.0 },
            cpu_us_per_msg: (delivered > 0).then(|| cpu * 1000.0 / n),
            rss_mib: rss / 1024.0,
            peak_rss_mib: peak / 1024.0,
        }
    }
}

/// Extra figures of the `retained` mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetainedFigures {
    /// Retained topics published.
    pub stored: u64,
    /// Publishing rate of the store phase, msgs/s.
    pub store_rate: f64,
    /// Broker RSS once every retained message was stored, MiB.
    pub broker_rss_after_store_mib: Option<f64>,
    /// Broker CPU per stored message, µs.
    pub broker_store_cpu_us_per_msg: Option<f64>,
    /// From SUBSCRIBE to the last retained message, s.
    pub replay_secs: f64,
    /// `--delete`: topics cleared, the time from the first empty PUBLISH to the broker's answer to
    /// a PINGREQ sent after the last, and the broker's RSS then, MiB.
    pub delete: Option<DeleteFigures>,
}

/// What `retained --delete` measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeleteFigures {
    /// Retained topics cleared.
    pub cleared: u64,
    /// Seconds it took.
    pub secs: f64,
    /// Broker RSS afterwards, MiB.
    pub broker_rss_mib: Option<f64>,
}

/// Extra figures of the `subscriptions` mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SubscriptionFigures {
    /// Distinct subscriptions made.
    pub subscriptions: u64,
    /// Refused in SUBACK.
    pub refused: u64,
    /// Clients holding them.
    pub clients: u64,
    /// SUBSCRIBEs per second.
    pub subscribe_rate: f64,
    /// Broker RSS growth per connection, bytes.
    pub broker_bytes_per_conn: Option<f64>,
    /// Broker RSS growth per subscription beyond the connections, bytes.
    pub broker_bytes_per_sub: Option<f64>,
    /// Broker RSS with every subscription held, MiB.
    pub broker_rss_mib: Option<f64>,
}

/// Extra figures of the `connections` mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConnectionFigures {
    /// Connections asked for.
    pub wanted: u64,
    /// Connections that got a CONNACK.
    pub connected: u64,
    /// Connections refused, timed out or failed.
    pub failed: u64,
    /// Connections closed by the broker or missing a PINGRESP while held.
    pub dropped: u64,
    /// CONNACKs per second while opening.
    pub connect_rate: f64,
    /// Broker RSS growth per connection, KiB.
    pub broker_kib_per_conn: Option<f64>,
    /// Broker CPU while holding the idle connections, ms per second.
    pub broker_idle_cpu_ms_per_s: Option<f64>,
    /// Pings answered while held.
    pub pings: u64,
}

/// Extra figures of the `churn` mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnFigures {
    /// New connections per second asked for.
    pub wanted_rate: f64,
    /// Storm connections started.
    pub attempted: u64,
    /// Storm connections CONNACKed with success (then closed with DISCONNECT).
    pub connected: u64,
    /// Storm connections refused, by CONNACK code: `(code, count)`.
    pub refused: Vec<(u8, u64)>,
    /// Storm connections that failed otherwise (timeout, reset, protocol error).
    pub failed: u64,
    /// Ticks skipped because too many storm connections were still in progress.
    pub behind: u64,
    /// Successful connections per second of storm.
    pub achieved_rate: f64,
    /// Broker CPU per successful storm connection, µs.
    pub broker_cpu_us_per_conn: Option<f64>,
    /// Broker RSS after the storm minus before it, KiB.
    pub broker_rss_growth_kib: Option<f64>,
    /// Idle connections held through the storm.
    pub held: u64,
    /// Held connections closed by the broker or missing a PINGRESP.
    pub held_dropped: u64,
    /// Ping round trips of the held connections during the storm.
    pub held_ping: Option<Latency>,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// fan-in, fan-out, pairs, connections or retained.
    pub mode: String,
    /// host:port.
    pub target: String,
    /// 3 (3.1.1) or 5.
    pub mqtt: u8,
    /// QoS of publishes and subscriptions.
    pub qos: u8,
    /// Payload bytes.
    pub size: usize,
    /// Distinct topics.
    pub topics: usize,
    /// `--pattern`, the shape of the topic names, if given.
    pub pattern: Option<String>,
    /// Publishing connections.
    pub pubs: usize,
    /// Subscribing connections.
    pub subs: usize,
    /// From the first publish to the last delivery (or the end of the hold), s.
    pub elapsed_secs: f64,
    /// Messages published.
    pub published: u64,
    /// QoS 1/2 publishes acknowledged (PUBACK / PUBCOMP).
    pub acked: u64,
    /// Acknowledgements with a failure reason code (5.0).
    pub rejected: u64,
    /// Deliveries the subscribers should have had.
    pub expected: u64,
    /// Distinct deliveries.
    pub delivered: u64,
    /// `expected - delivered`.
    pub lost: u64,
    /// Deliveries of a (publisher, seq) already seen by that subscriber.
    pub duplicated: u64,
    /// Deliveries on topics not from this run.
    pub foreign: u64,
    /// Published per second of sending.
    pub publish_rate: f64,
    /// Distinct deliveries per second of `elapsed_secs`.
    pub delivered_rate: f64,
    /// Publish-to-delivery latency.
    pub latency: Option<Latency>,
    /// The broker's cost (with `--broker-pid`).
    pub broker: Option<ProcessCost>,
    /// The bench's own cost.
    pub bench: Option<ProcessCost>,
    /// `retained` mode only.
    pub retained: Option<RetainedFigures>,
    /// `connections` mode only.
    pub connections: Option<ConnectionFigures>,
    /// `subscriptions` mode only.
    pub subscriptions: Option<SubscriptionFigures>,
    /// `churn` mode only.
    pub churn: Option<ChurnFigures>,
    /// What went wrong on some connections (the figures cover the rest).
    pub errors: Vec<String>,
}

fn cost_lines(f: &mut fmt::Formatter<'_>, who: &str, cost: &ProcessCost) -> fmt::Result {
    write!(f, "  {who:<13} cpu {:.2} s ({:.2} cores)", f64::from(u32::try_from(cost.cpu_ms).unwrap_or(u32::MAX)) / 1000.0, cost.cpu_cores)?;
    if let Some(us) = cost.cpu_us_per_msg {
        write!(f, ", {us:.3} µs/msg")?;
    }
    writeln!(f, ", rss {:.1} MiB (peak {:.1})", cost.rss_mib, cost.peak_rss_mib)
}

fn churn_lines(f: &mut fmt::Formatter<'_>, c: &ChurnFigures) -> fmt::Result {
    writeln!(
        f,
        "  storm         {} / {} connected at {:.0} conn/s (asked {:.0}), {} failed, {} ticks behind",
        c.connected, c.attempted, c.achieved_rate, c.wanted_rate, c.failed, c.behind
    )?;
    for (code, n) in &c.refused {
        writeln!(f, "  refused       {n} with CONNACK code {code:#04x}")?;
    }
    if let Some(us) = c.broker_cpu_us_per_conn {
        writeln!(f, "  broker cpu    {us:.0} µs per connection")?;
    }
    if let Some(kib) = c.broker_rss_growth_kib {
        writeln!(f, "  broker rss    {:+.1} MiB after the storm", kib / 1024.0)?;
    }
    if c.held > 0 {
        write!(f, "  held          {} idle connections, {} dropped", c.held, c.held_dropped)?;
        match &c.held_ping {
            Some(p) => writeln!(f, ", ping p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs", p.p50_us, p.p99_us, p.max_us)?,
            None => writeln!(f)?,
        }
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.connections.is_some() || self.churn.is_some() {
            writeln!(f, "mqscope bench {} → {}  (MQTT {})", self.mode, self.target, self.mqtt)?;
        } else {
            writeln!(
                f,
                "mqscope bench {} → {}  (MQTT {}, QoS {}, {} B, {} topics{}, {} pub → {} sub)",
                self.mode,
                self.target,
                self.mqtt,
                self.qos,
                self.size,
                self.topics,
                self.pattern.as_ref().map(|p| format!(" {p}")).unwrap_or_default(),
                self.pubs,
                self.subs
            )?;
        }
        if let Some(c) = &self.connections {
            writeln!(
                f,
                "  connections   {} / {} ({} failed, {} dropped), {:.0} conn/s",
                c.connected, c.wanted, c.failed, c.dropped, c.connect_rate
            )?;
            if let Some(kib) = c.broker_kib_per_conn {
                writeln!(f, "  broker mem    {kib:.1} KiB per connection")?;
            }
            if let Some(ms) = c.broker_idle_cpu_ms_per_s {
                writeln!(f, "  broker idle   {ms:.2} ms CPU per s, {} pings answered", c.pings)?;
            }
        } else if let Some(c) = &self.churn {
            churn_lines(f, c)?;
        } else {
            if let Some(s) = &self.subscriptions {
                writeln!(
                    f,
                    "  subscriptions {} held by {} clients ({} refused), {:.0} SUBSCRIBE/s",
                    s.subscriptions, s.clients, s.refused, s.subscribe_rate
                )?;
                if let (Some(conn), Some(sub)) = (s.broker_bytes_per_conn, s.broker_bytes_per_sub) {
                    writeln!(f, "  broker mem    {sub:.0} B per subscription, {conn:.0} B per connection")?;
                }
                if let Some(mib) = s.broker_rss_mib {
                    writeln!(f, "  broker rss    {mib:.1} MiB with every subscription held")?;
                }
            }
            writeln!(
                f,
                "  published     {:>12}  {:>12.0} msgs/s   acked {}, rejected {}",
                self.published, self.publish_rate, self.acked, self.rejected
            )?;
            writeln!(f, "  delivered     {:>12}  {:>12.0} msgs/s   in {:.3} s", self.delivered, self.delivered_rate, self.elapsed_secs)?;
            writeln!(
                f,
                "  expected      {:>12}  lost {}, duplicated {}, foreign {}",
                self.expected, self.lost, self.duplicated, self.foreign
            )?;
        }
        if let Some(r) = &self.retained {
            write!(f, "  retained      {} stored at {:.0} msgs/s, replayed in {:.3} s", r.stored, r.store_rate, r.replay_secs)?;
            match r.broker_rss_after_store_mib {
                Some(mib) => writeln!(f, ", broker rss after store {mib:.1} MiB")?,
                None => writeln!(f)?,
            }
            if let Some(d) = &r.delete {
                write!(f, "  deleted       {} cleared in {:.3} s", d.cleared, d.secs)?;
                match d.broker_rss_mib {
                    Some(mib) => writeln!(f, ", broker rss then {mib:.1} MiB")?,
                    None => writeln!(f)?,
                }
            }
        }
        if let Some(l) = &self.latency {
            let label = if self.connections.is_some() {
                "ping rtt"
            } else if self.churn.is_some() {
                "handshake"
            } else {
                "latency"
            };
            writeln!(f, "  {label:<13} p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} samples)", l.p50_us, l.p99_us, l.max_us, l.samples)?;
        }
        if let Some(cost) = &self.broker {
            cost_lines(f, "broker", cost)?;
        }
        if let Some(cost) = &self.bench {
            cost_lines(f, "bench", cost)?;
        }
        for err in &self.errors {
            writeln!(f, "  error         {err}")?;
        }
        Ok(())
    }
}
