//! `mqscope sub`, `pub`, `record` and `replay`: mosquitto_sub / mosquitto_pub's flags against any
//! broker, with the explorer's client code underneath, for scripts and tests.
//!
//! # Layout
//! - `conn`: one connection (3.1.1 or 5.0, TCP or TLS) and what it reports.
//! - `sub`: `mqscope sub` and `mqscope record` (the same subscriber; record writes a capture file).
//! - `publish`: `mqscope pub`, with template substitutions and repeats.
//! - `replay`: `mqscope replay`, a capture file into a broker.

pub mod conn;
pub mod publish;
pub mod replay;
pub mod sub;

use crate::model::QoS;
use crate::model::profile::MqttVersion;

/// Connection flags shared by every command, named as in mosquitto_pub/sub.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnArgs {
    /// Broker host.
    #[arg(short = 'h', long, default_value = "localhost")]
    pub host: String,
    /// Broker port (default 1883, or 8883 with TLS options).
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Client id (default: mqscope-<command>-<pid>).
    #[arg(short = 'i', long = "id")]
    pub id: Option<String>,
    /// User name.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw")]
    pub password: Option<String>,
    /// Protocol version: mqttv311 (or 311, the default) or mqttv5 (or 5).
    #[arg(short = 'V', long = "protocol-version", default_value = "mqttv311", value_parser = ["mqttv311", "311", "mqttv31", "31", "mqttv5", "5"])]
    pub protocol: String,
    /// Keep-alive, seconds.
    #[arg(short = 'k', long, default_value_t = 60)]
    pub keepalive: u16,
    /// CA certificate file (PEM): connect with TLS and trust it.
    #[arg(long)]
    pub cafile: Option<String>,
    /// Client certificate (PEM), for brokers that require one.
    #[arg(long)]
    pub cert: Option<String>,
    /// Client private key (PEM).
    #[arg(long)]
    pub key: Option<String>,
    /// Connect with TLS without checking the broker's certificate (testing only).
    #[arg(long)]
    pub insecure: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

impl ConnArgs {
    /// The protocol version asked for.
    #[must_use]
    pub fn version(&self) -> MqttVersion {
        if matches!(self.protocol.as_str(), "mqttv5" | "5") { MqttVersion::V5 } else { MqttVersion::V311 }
    }

    /// The client id to use.
    #[must_use]
    pub fn client_id(&self, command: &str) -> String {
        self.id.clone().unwrap_or_else(|| format!("mqscope-{command}-{}", std::process::id()))
    }
}

/// `-q 0|1|2`.
///
/// # Errors
/// Not 0, 1 or 2.
pub fn parse_qos(s: &str) -> Result<QoS, String> {
    match s {
        "0" => Ok(QoS::AtMostOnce),
        "1" => Ok(QoS::AtLeastOnce),
        "2" => Ok(QoS::ExactlyOnce),
        _ => Err(format!("QoS must be 0, 1 or 2, not {s:?}")),
    }
}

/// What a command ends with: an exit code and, for failures, why (printed to stderr).
#[derive(Debug)]
pub struct Exit {
    /// Process exit code.
    pub code: i32,
    /// Why, when it failed.
    pub error: Option<String>,
}

impl Exit {
    /// Success.
    #[must_use]
    pub fn ok() -> Self {
        Self { code: 0, error: None }
    }

    /// Failure with exit code 1.
    #[must_use]
    pub fn fail(error: impl Into<String>) -> Self {
        Self { code: 1, error: Some(error.into()) }
    }
}

/// Wait for CONNACK; a refusal or a failure is the error.
///
/// # Errors
/// The connection failed before CONNACK, or CONNACK refused it.
pub async fn connected(rx: &mut tokio::sync::mpsc::Receiver<conn::Incoming>) -> Result<(), String> {
    loop {
        match rx.recv().await {
            Some(conn::Incoming::Connected) => return Ok(()),
            Some(conn::Incoming::Closed(why)) => return Err(format!("Connection error: {why}")),
            Some(_) => {}
            None => return Err("Connection error: the connection ended".into()),
        }
    }
}
