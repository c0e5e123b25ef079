//! `mqscope pub`: mosquitto_pub's flags, plus template substitutions (`{{counter}}`,
//! `{{random(a,b)}}`, …) in topic and message, and `--repeat` / `--interval` for timed publishing.

use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::conn::{self, Incoming};
use super::{ConnArgs, Exit, connected, parse_qos};
use crate::model::template::{Render, Template};
use crate::model::{Message, MessageMeta, QoS};

/// `mqscope pub`.
#[derive(clap::Args, Debug, Clone)]
#[command(disable_help_flag = true)]
#[allow(clippy::struct_excessive_bools, reason = "mosquitto_pub's flags, one bool each")]
pub struct PubArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Topic to publish to (substitutions allowed: `sensors/{{counter}}`).
    #[arg(short = 't', long = "topic", required = true)]
    pub topic: String,
    /// Message payload (substitutions allowed: `{"t":{{random(20.0,25.0)}}}`).
    #[arg(short = 'm', long = "message", group = "source")]
    pub message: Option<String>,
    /// Send the contents of a file as the message.
    #[arg(short = 'f', long = "file", group = "source")]
    pub file: Option<String>,
    /// Send each line of stdin as a message.
    #[arg(short = 'l', long = "stdin-line", group = "source")]
    pub stdin_line: bool,
    /// Send all of stdin as one message.
    #[arg(short = 's', long = "stdin-file", group = "source")]
    pub stdin_file: bool,
    /// Send an empty (null) message.
    #[arg(short = 'n', long = "null-message", group = "source")]
    pub null_message: bool,
    /// QoS.
    #[arg(short = 'q', long, default_value = "0", value_parser = parse_qos)]
    pub qos: QoS,
    /// Retain the message.
    #[arg(short = 'r', long)]
    pub retain: bool,
    /// Publish this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: u64,
    /// Seconds between repeats (mosquitto_pub's name; fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    pub repeat_delay: Option<f64>,
    /// Milliseconds between repeats.
    #[arg(long, value_name = "MS", conflicts_with = "repeat_delay")]
    pub interval: Option<u64>,
    /// MQTT 5 property, as mosquitto_pub takes it: `-D publish content-type text/plain`,
    /// `payload-format-indicator 1`, `message-expiry-interval 60`, `response-topic T`,
    /// `correlation-data D`, `user-property KEY VALUE`.
    #[arg(short = 'D', long = "property", num_args = 3..=4, value_names = ["COMMAND", "NAME", "VALUE"], action = clap::ArgAction::Append)]
    pub properties: Vec<String>,
    /// Print each message's topic and payload as it is sent.
    #[arg(short = 'd', long)]
    pub debug: bool,
}

/// The MQTT 5 publish properties of `-D` options (given as a flat list, 3 or 4 values each).
///
/// # Errors
/// An unknown property, a non-number where one is needed, or properties on 3.1.1.
fn properties(values: &[String]) -> Result<Option<MessageMeta>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut meta = MessageMeta::default();
    let mut it = values.iter().map(String::as_str).peekable();
    while let Some(command) = it.next() {
        if !command.eq_ignore_ascii_case("publish") {
            return Err(format!("-D {command}: only publish properties are supported"));
        }
        let name = it.next().ok_or("-D publish: a property name is needed")?;
        let mut value = || it.next().map(str::to_owned).ok_or(format!("-D publish {name}: a value is needed"));
        match name {
            "content-type" => meta.content_type = Some(value()?),
            "response-topic" => meta.response_topic = Some(value()?),
            "correlation-data" => meta.correlation_data = Some(Bytes::from(value()?.into_bytes())),
            "payload-format-indicator" => meta.payload_format = Some(value()?.parse().map_err(|_| "payload-format-indicator is 0 or 1")?),
            "message-expiry-interval" => {
                meta.message_expiry_secs = Some(value()?.parse().map_err(|_| "message-expiry-interval is seconds")?);
            }
            "user-property" => {
                let k = value()?;
                let v = value()?;
                meta.user_properties.push((k, v));
            }
            other => return Err(format!("-D publish {other}: unknown property")),
        }
    }
    Ok(Some(meta))
}

/// The messages' payload sources.
enum Payloads {
    /// One template, rendered for each repeat.
    Template(Template),
    /// Fixed bytes (a file, stdin, the null message).
    Bytes(Bytes),
    /// Each line of stdin.
    Lines,
}

/// Run `mqscope pub`.
pub async fn run(args: PubArgs) -> Exit {
    match publish(&args).await {
        Ok(()) => Exit::ok(),
        Err(e) => Exit::fail(e),
    }
}

async fn publish(args: &PubArgs) -> Result<(), String> {
    let topic = Template::parse(&args.topic).map_err(|e| format!("topic: {e}"))?;
    if topic.is_constant() {
        crate::topic::validate_topic_name(&args.topic).map_err(|e| format!("invalid topic {:?}: {e}", args.topic))?;
    }
    let payloads = if let Some(m) = &args.message {
        Payloads::Template(Template::parse(m).map_err(|e| format!("message: {e}"))?)
    } else if let Some(f) = &args.file {
        Payloads::Bytes(Bytes::from(std::fs::read(f).map_err(|e| format!("cannot read {f}: {e}"))?))
    } else if args.stdin_file {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("reading stdin: {e}"))?;
        Payloads::Bytes(Bytes::from(buf))
    } else if args.stdin_line {
        Payloads::Lines
    } else if args.null_message {
        Payloads::Bytes(Bytes::new())
    } else {
        return Err("a message is needed: -m, -f, -l, -s or -n".into());
    };
    let meta = properties(&args.properties)?;
    if meta.is_some() && args.conn.version() != crate::model::profile::MqttVersion::V5 {
        return Err("-D properties need MQTT 5 (-V mqttv5)".into());
    }
    let meta = meta.map(Arc::new);
    let delay = args.interval.map(Duration::from_millis).or_else(|| args.repeat_delay.map(Duration::from_secs_f64)).unwrap_or_default();

    let profile = conn::profile(&args.conn, args.conn.client_id("pub"), true);
    let (handle, mut rx) = conn::start(&profile, 1024)?;
    connected(&mut rx).await?;
    let mut state = Render::new(seed());
    let mut sent = 0u64;
    let mut settled = 0u64;
    let mut lines = matches!(payloads, Payloads::Lines).then(|| std::io::stdin().lines());
    let mut next = tokio::time::Instant::now();
    loop {
        let payload = match &payloads {
            Payloads::Template(t) => Bytes::from(t.render(&mut state, SystemTime::now()).into_bytes()),
            Payloads::Bytes(b) => b.clone(),
            Payloads::Lines => match lines.as_mut().and_then(Iterator::next) {
                Some(Ok(line)) => Bytes::from(line.into_bytes()),
                Some(Err(e)) => return Err(format!("reading stdin: {e}")),
                None => break,
            },
        };
        let topic_now = topic.render(&mut state, SystemTime::now());
        state.next_message();
        if !topic.is_constant() {
            crate::topic::validate_topic_name(&topic_now).map_err(|e| format!("invalid topic {topic_now:?}: {e}"))?;
        }
        let mut msg = Message::new(topic_now, payload, args.qos, args.retain, SystemTime::now());
        msg.meta.clone_from(&meta);
        if args.debug {
            eprintln!("PUBLISH {} (q{}, r{}, {} bytes)", msg.topic, args.qos as u8, u8::from(args.retain), msg.payload.len());
        }
        handle.publish(&msg).await?;
        sent += 1;
        // Collect what has settled so far without waiting (keeps the channel drained).
        while let Ok(ev) = rx.try_recv() {
            settled += ev.settles()?;
        }
        if !matches!(payloads, Payloads::Lines) && sent >= args.repeat {
            break;
        }
        if !delay.is_zero() {
            next += delay;
            tokio::time::sleep_until(next).await;
        }
    }
    while settled < sent {
        match rx.recv().await {
            Some(ev) => settled += ev.settles()?,
            None => return Err("Connection error: the connection ended before every message was acknowledged".into()),
        }
    }
    handle.disconnect().await;
    // Let DISCONNECT reach the socket before the runtime goes.
    while let Some(ev) = rx.recv().await {
        if matches!(ev, Incoming::Closed(_)) {
            break;
        }
    }
    Ok(())
}

fn seed() -> u64 {
    let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    u64::from(t.subsec_nanos()) ^ t.as_secs().rotate_left(32) ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dash_d_properties_follow_mosquitto_pub() {
        let meta = properties(&strings(&[
            "publish",
            "content-type",
            "application/json",
            "publish",
            "user-property",
            "site",
            "north",
            "PUBLISH",
            "message-expiry-interval",
            "60",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(meta.content_type.as_deref(), Some("application/json"));
        assert_eq!(meta.user_properties, [("site".to_owned(), "north".to_owned())]);
        assert_eq!(meta.message_expiry_secs, Some(60));
        assert!(properties(&strings(&["publish", "colour", "red"])).unwrap_err().contains("unknown property"));
        assert!(properties(&strings(&["connect", "content-type", "x"])).is_err());
        assert!(properties(&[]).unwrap().is_none());
    }
}
