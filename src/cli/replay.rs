//! `mqscope replay`: publish a capture file's messages into a broker, at the recorded pace (gaps
//! kept relative), N times faster, or as fast as the broker takes them; once or in a loop.

use std::time::{Duration, Instant, SystemTime};

use super::conn::{self, Incoming};
use super::{ConnArgs, Exit, connected, parse_qos};
use crate::model::export::{Progress, read_capture};
use crate::model::{Message, QoS};

/// `mqscope replay`.
#[derive(clap::Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The capture file (NDJSON, as `mqscope record` writes it).
    pub file: String,
    /// Speed: 1 keeps the recorded gaps, 10 is ten times faster.
    #[arg(long, default_value_t = 1.0, conflicts_with = "max")]
    pub speed: f64,
    /// As fast as the broker takes the messages.
    #[arg(long)]
    pub max: bool,
    /// Start again at the end, until interrupted.
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Publish with this QoS instead of each message's recorded QoS.
    #[arg(short = 'q', long, value_parser = parse_qos)]
    pub qos: Option<QoS>,
    /// Replace this topic prefix …
    #[arg(long, requires = "to_prefix", value_name = "PREFIX")]
    pub from_prefix: Option<String>,
    /// … with this one (`--from-prefix site1/ --to-prefix test/site1/`).
    #[arg(long, requires = "from_prefix", value_name = "PREFIX")]
    pub to_prefix: Option<String>,
    /// Don't print progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// The messages of a capture file, in order.
///
/// # Errors
/// The file cannot be read, or a line is not a capture record (named by its number).
pub fn load(path: &str) -> Result<Vec<Message>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut out = Vec::new();
    read_capture(std::io::BufReader::new(file), 65_536, &Progress::default(), |batch| out.extend(batch))
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(out)
}

/// `topic` with `from` replaced by `to` when it starts with it.
#[must_use]
pub fn remap(topic: &str, from: Option<&str>, to: Option<&str>) -> String {
    match (from, to) {
        (Some(from), Some(to)) if topic.starts_with(from) => format!("{to}{}", &topic[from.len()..]),
        _ => topic.to_owned(),
    }
}

/// When message `i` is due, from the start of the run, at `speed` (recorded gaps divided by it).
fn due(first: SystemTime, at: SystemTime, speed: f64) -> Duration {
    at.duration_since(first).unwrap_or_default().div_f64(speed.max(1e-6))
}

/// Run `mqscope replay`.
pub async fn run(args: ReplayArgs) -> Exit {
    match replay(&args).await {
        Ok(()) => Exit::ok(),
        Err(e) => Exit::fail(e),
    }
}

async fn replay(args: &ReplayArgs) -> Result<(), String> {
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        return Err(format!("--speed must be above 0, not {}", args.speed));
    }
    let messages = load(&args.file)?;
    if messages.is_empty() {
        return Err(format!("{}: no messages", args.file));
    }
    let profile = conn::profile(&args.conn, args.conn.client_id("replay"), true);
    let (handle, mut rx) = conn::start(&profile, 4096)?;
    connected(&mut rx).await?;
    let (mut sent, mut settled) = (0u64, 0u64);
    let started = Instant::now();
    let mut last_report = started;
    loop {
        let pass_start = tokio::time::Instant::now();
        let first = messages[0].received_at;
        for (i, recorded) in messages.iter().enumerate() {
            if !args.max {
                tokio::time::sleep_until(pass_start + due(first, recorded.received_at, args.speed)).await;
            }
            let mut msg = recorded.clone();
            msg.topic = remap(&recorded.topic, args.from_prefix.as_deref(), args.to_prefix.as_deref()).into();
            if let Some(q) = args.qos {
                msg.qos = q;
            }
            handle.publish(&msg).await?;
            sent += 1;
            while let Ok(ev) = rx.try_recv() {
                settled += ev.settles()?;
            }
            if !args.quiet && last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                eprint!("\r▶ replaying: {}/{} of this pass, {} sent   ", i + 1, messages.len(), sent);
            }
        }
        if !args.repeat {
            break;
        }
    }
    while settled < sent {
        match rx.recv().await {
            Some(ev) => settled += ev.settles()?,
            None => return Err("Connection error: the connection ended before every message was sent".into()),
        }
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let rate = sent as f64 / secs.max(1e-9);
        eprintln!("\r▶ replayed {sent} messages in {secs:.2} s ({rate:.0} msgs/s)          ");
    }
    handle.disconnect().await;
    while let Some(ev) = rx.recv().await {
        if matches!(ev, Incoming::Closed(_)) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_replaces_only_a_leading_prefix() {
        assert_eq!(remap("site1/a", Some("site1/"), Some("test/site1/")), "test/site1/a");
        assert_eq!(remap("x/site1/a", Some("site1/"), Some("t/")), "x/site1/a");
        assert_eq!(remap("a", None, None), "a");
    }

    #[test]
    fn gaps_are_kept_relative_to_the_first_message() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(due(t0, t0 + Duration::from_millis(500), 1.0), Duration::from_millis(500));
        assert_eq!(due(t0, t0 + Duration::from_millis(500), 10.0), Duration::from_millis(50));
        assert_eq!(due(t0, t0, 2.0), Duration::ZERO);
    }
}
