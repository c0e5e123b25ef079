//! `mqscope sub` (prints messages like mosquitto_sub) and `mqscope record` (writes them to a
//! capture file): one subscriber, two outputs.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::conn::{self, Incoming};
use super::{ConnArgs, Exit, connected, parse_qos};
use crate::model::capture::CaptureLine;
use crate::model::decode::protobuf::ProtoSchema;
use crate::model::decode::{self, Decoder, sparkplug};
use crate::model::{Message, QoS};

/// mosquitto_sub's exit code when `-W` ends it (MOSQ_ERR_TIMEOUT).
pub const TIMED_OUT: i32 = 27;

/// `mqscope sub`.
#[derive(clap::Args, Debug, Clone)]
#[command(disable_help_flag = true)]
#[allow(clippy::struct_excessive_bools, reason = "mosquitto_sub's flags, one bool each")]
pub struct SubArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Topic filter to subscribe to (repeat for several).
    #[arg(short = 't', long = "topic", required = true)]
    pub topics: Vec<String>,
    /// Don't print messages whose topic matches this filter (repeat for several).
    #[arg(short = 'T', long = "filter-out")]
    pub filter_out: Vec<String>,
    /// QoS to subscribe with.
    #[arg(short = 'q', long, default_value = "0", value_parser = parse_qos)]
    pub qos: QoS,
    /// Print the topic before each payload.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Exit after this many messages.
    #[arg(short = 'C', long)]
    pub count: Option<u64>,
    /// Exit after this many seconds (exit code 27 if no -C count was reached).
    #[arg(short = 'W', long)]
    pub timeout: Option<u64>,
    /// Don't print a newline after each payload.
    #[arg(short = 'N', long)]
    pub no_eol: bool,
    /// Don't print retained messages (stale values).
    #[arg(short = 'R', long)]
    pub no_retained: bool,
    /// Print only retained messages, and exit at the first one that is not.
    #[arg(long)]
    pub retained_only: bool,
    /// One JSON object per message (the capture format: topic, payload, QoS, retain, time, MQTT 5 properties).
    #[arg(long)]
    pub json: bool,
    /// Decode each payload (sparkplug, cbor, msgpack, or protobuf:FILE.proto:package.Message) and
    /// print it as one JSON object per line (with -v, the topic first); a payload that does not
    /// decode is reported on stderr.
    #[arg(long, value_name = "DECODER", conflicts_with = "json", value_parser = parse_decode)]
    pub decode: Option<DecodeSpec>,
}

/// What `--decode` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeSpec {
    /// A built-in format.
    Format(Decoder),
    /// A message type of a .proto file (compiled at start).
    Protobuf {
        /// The .proto file; imports are resolved relative to its directory.
        file: std::path::PathBuf,
        /// `package.Message`.
        message: String,
    },
}

fn parse_decode(s: &str) -> Result<DecodeSpec, String> {
    match s.strip_prefix("protobuf:") {
        Some(rest) => match rest.rsplit_once(':') {
            Some((file, message)) if !file.is_empty() && !message.is_empty() => {
                Ok(DecodeSpec::Protobuf { file: file.into(), message: message.to_owned() })
            }
            _ => Err("expected protobuf:FILE.proto:package.Message".to_owned()),
        },
        None => s.parse().map(DecodeSpec::Format),
    }
}

/// A decoder ready to use: a format, or a compiled .proto message type.
enum Decoding {
    Format(Decoder),
    Protobuf(ProtoSchema),
}

impl Decoding {
    fn label(&self) -> String {
        match self {
            Self::Format(d) => d.label().to_owned(),
            Self::Protobuf(schema) => schema.message_name().to_owned(),
        }
    }
}

/// `mqscope record`.
#[derive(clap::Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct RecordArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Topic filter to record (repeat for several; default `#`).
    #[arg(short = 't', long = "topic", default_value = "#")]
    pub topics: Vec<String>,
    /// QoS to subscribe with (1 by default, so that the broker redelivers what a lost packet would lose).
    #[arg(short = 'q', long, default_value = "1", value_parser = parse_qos)]
    pub qos: QoS,
    /// The capture file to write (NDJSON, one message per line; `-` for stdout).
    #[arg(short = 'o', long = "output")]
    pub output: String,
    /// Stop after this many messages.
    #[arg(short = 'C', long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(short = 'W', long)]
    pub timeout: Option<u64>,
    /// Stop when the file reaches this many MiB.
    #[arg(long, value_name = "MIB")]
    pub max_size: Option<u64>,
    /// Don't print the progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Where messages go.
trait Sink {
    /// Write one message; `Ok(false)` ends the run (a bound reached).
    fn write(&mut self, msg: &Message) -> std::io::Result<bool>;
    /// Once a second while running.
    fn tick(&mut self) {}
    /// At the end.
    fn finish(&mut self) -> std::io::Result<()>;
}

struct Printer<W: Write> {
    out: W,
    verbose: bool,
    json: bool,
    no_eol: bool,
    filter_out: Vec<String>,
    decode: Option<Decoding>,
    /// Sparkplug metric names by alias, per edge node, from the BIRTHs seen so far.
    aliases: sparkplug::EdgeAliases,
}

impl<W: Write> Printer<W> {
    /// One line: the decoded payload as JSON (after the topic with -v); errors go to stderr.
    fn write_decoded(&mut self, msg: &Message) -> std::io::Result<()> {
        let decoded = match &self.decode {
            Some(Decoding::Format(decoder)) => {
                if *decoder == Decoder::Sparkplug {
                    self.aliases.observe(&msg.topic, &msg.payload);
                }
                decode::decode_with(*decoder, &msg.payload, self.aliases.for_topic(&msg.topic))
            }
            Some(Decoding::Protobuf(schema)) => schema.decode(&msg.payload),
            None => return Ok(()),
        };
        match decoded {
            Ok(mut value) => {
                if matches!(self.decode, Some(Decoding::Format(Decoder::Sparkplug)))
                    && let Some(expected) = self.aliases.check_seq(&msg.topic, value.get("seq").and_then(serde_json::Value::as_u64))
                    && let Some(object) = value.as_object_mut()
                {
                    // A lost or reordered message of this edge node, flagged where scripts look.
                    object.insert("seq_gap".to_owned(), serde_json::json!({ "expected": expected }));
                }
                if self.verbose {
                    self.out.write_all(msg.topic.as_bytes())?;
                    self.out.write_all(b" ")?;
                }
                self.out.write_all(value.to_string().as_bytes())?;
                self.out.write_all(b"\n")
            }
            Err(err) => {
                let label = self.decode.as_ref().map(Decoding::label).unwrap_or_default();
                eprintln!("{}: cannot decode as {label}: {err}", msg.topic);
                Ok(())
            }
        }
    }
}

impl<W: Write> Sink for Printer<W> {
    fn write(&mut self, msg: &Message) -> std::io::Result<bool> {
        if self.filter_out.iter().any(|f| crate::topic::matches(f, &msg.topic)) {
            return Ok(true);
        }
        if self.decode.is_some() {
            self.write_decoded(msg)?;
        } else if self.json {
            self.out.write_all(CaptureLine::from_message(msg).to_json().as_bytes())?;
            self.out.write_all(b"\n")?;
        } else {
            if self.verbose {
                self.out.write_all(msg.topic.as_bytes())?;
                self.out.write_all(b" ")?;
            }
            self.out.write_all(&msg.payload)?;
            if !self.no_eol {
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()?;
        Ok(true)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

struct Recorder {
    out: std::io::BufWriter<Box<dyn Write + Send>>,
    written: u64,
    messages: u64,
    max_bytes: Option<u64>,
    quiet: bool,
}

impl Sink for Recorder {
    fn write(&mut self, msg: &Message) -> std::io::Result<bool> {
        let mut line = CaptureLine::from_message(msg).to_json();
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.written += line.len() as u64;
        self.messages += 1;
        Ok(self.max_bytes.is_none_or(|max| self.written < max))
    }

    fn tick(&mut self) {
        self.out.flush().ok();
        if !self.quiet {
            eprint!("\r● recording: {} messages, {}   ", self.messages, crate::model::format::bytes(self.written));
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        if !self.quiet {
            eprintln!("\r● recorded {} messages, {}        ", self.messages, crate::model::format::bytes(self.written));
        }
        Ok(())
    }
}

/// What ends a run besides the connection.
struct Bounds {
    count: Option<u64>,
    timeout: Option<Duration>,
    no_retained: bool,
    retained_only: bool,
}

/// Run `mqscope sub`.
pub async fn run_sub(args: SubArgs) -> Exit {
    let decode = match args.decode.clone() {
        None => None,
        Some(DecodeSpec::Format(d)) => Some(Decoding::Format(d)),
        Some(DecodeSpec::Protobuf { file, message }) => match ProtoSchema::compile(&file, &message) {
            Ok(schema) => Some(Decoding::Protobuf(schema)),
            Err(e) => return Exit::fail(format!("--decode: {e}")),
        },
    };
    let printer = Printer {
        out: std::io::stdout().lock(),
        verbose: args.verbose,
        json: args.json,
        no_eol: args.no_eol,
        filter_out: args.filter_out.clone(),
        decode,
        aliases: sparkplug::EdgeAliases::default(),
    };
    let bounds = Bounds {
        count: args.count,
        timeout: args.timeout.map(Duration::from_secs),
        no_retained: args.no_retained,
        retained_only: args.retained_only,
    };
    subscribe_into(&args.conn, "sub", &args.topics, args.qos, bounds, printer).await
}

/// Run `mqscope record`.
pub async fn run_record(args: RecordArgs) -> Exit {
    let out: Box<dyn Write + Send> = if args.output == "-" {
        Box::new(std::io::stdout())
    } else {
        match std::fs::File::create(&args.output) {
            Ok(f) => Box::new(f),
            Err(e) => return Exit::fail(format!("cannot create {}: {e}", args.output)),
        }
    };
    let recorder = Recorder {
        out: std::io::BufWriter::with_capacity(256 * 1024, out),
        written: 0,
        messages: 0,
        max_bytes: args.max_size.map(|m| m.saturating_mul(1024 * 1024)),
        quiet: args.quiet || args.output == "-",
    };
    let bounds = Bounds { count: args.count, timeout: args.timeout.map(Duration::from_secs), no_retained: false, retained_only: false };
    let exit = subscribe_into(&args.conn, "record", &args.topics, args.qos, bounds, recorder).await;
    // A recording that ran for its full duration did what was asked.
    if exit.code == TIMED_OUT { Exit::ok() } else { exit }
}

async fn subscribe_into(conn_args: &ConnArgs, command: &str, topics: &[String], qos: QoS, bounds: Bounds, mut sink: impl Sink) -> Exit {
    for t in topics {
        if let Err(e) = crate::topic::validate_subscription(t) {
            return Exit::fail(format!("invalid topic filter {t:?}: {e}"));
        }
    }
    let profile = conn::profile(conn_args, conn_args.client_id(command), true);
    let (handle, mut rx) = match conn::start(&profile, 4096) {
        Ok(c) => c,
        Err(e) => return Exit::fail(e),
    };
    let deadline = bounds.timeout.map(|t| Instant::now() + t);
    let until = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until);
    let exit = tokio::select! {
        exit = receive(&handle, &mut rx, topics, qos, &bounds, &mut sink) => exit,
        () = &mut until => Exit { code: TIMED_OUT, error: Some("Timed out".into()) },
    };
    if let Err(e) = sink.finish() {
        return Exit::fail(format!("writing: {e}"));
    }
    handle.disconnect().await;
    exit
}

async fn receive(
    handle: &conn::Handle,
    rx: &mut mpsc::Receiver<Incoming>,
    topics: &[String],
    qos: QoS,
    bounds: &Bounds,
    sink: &mut impl Sink,
) -> Exit {
    if let Err(e) = connected(rx).await {
        return Exit::fail(e);
    }
    if let Err(e) = handle.subscribe(topics, qos).await {
        return Exit::fail(e);
    }
    let mut seen = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tick.tick() => { sink.tick(); continue; }
        };
        match ev {
            Some(Incoming::Subscribed(refusals)) => {
                for (t, why) in topics.iter().zip(refusals) {
                    if let Some(why) = why {
                        eprintln!("Subscription to {t} {why}");
                    }
                }
            }
            Some(Incoming::Message(msg)) => {
                if bounds.retained_only && !msg.retain {
                    return Exit::ok();
                }
                if bounds.no_retained && msg.retain {
                    continue;
                }
                match sink.write(&msg) {
                    Ok(true) => {}
                    Ok(false) => return Exit::ok(),
                    // A closed pipe (`| head`) ends the run quietly, as it does for mosquitto_sub.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Exit::ok(),
                    Err(e) => return Exit::fail(format!("writing: {e}")),
                }
                seen += 1;
                if bounds.count.is_some_and(|c| seen >= c) {
                    return Exit::ok();
                }
            }
            Some(Incoming::Closed(why)) => return Exit::fail(format!("Connection error: {why}")),
            Some(_) => {}
            None => return Exit::fail("Connection error: the connection ended"),
        }
    }
}
