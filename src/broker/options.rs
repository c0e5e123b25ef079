//! Every `mqscope broker` option, once: as clap flags and as keys of the TOML configuration file
//! (`mqscope broker -c FILE`), with mosquitto's option names where it has one.
//!
//! Owns: [`BrokerOptions`] (the options), [`resolve`] (file, then the flags actually given on the
//! command line), [`ConfigError`] (what is wrong, with the key and the file's line). The flag
//! `--max-connections` is the key `max_connections`: clap's argument id and serde's field name are
//! the same Rust field, so a group added with `#[command(flatten)] #[serde(flatten)]` needs
//! nothing else here.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};

use super::BrokerConfig;

/// Every option of `mqscope broker`. Missing keys in a file take the flag's default.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerOptions {
    /// Port of the MQTT (TCP) listener.
    #[arg(short, long, default_value_t = 1883)]
    pub port: u16,
    /// Address to bind (loopback unless told otherwise; 0.0.0.0 for every interface).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Also serve MQTT over WebSocket (ws://, subprotocol mqtt, any path) on this port.
    #[arg(long, value_name = "PORT")]
    pub ws_port: Option<u16>,
    /// Address of the WebSocket listener (default: --bind).
    #[arg(long, value_name = "ADDR")]
    pub ws_bind: Option<IpAddr>,
    /// Serve MQTT over TLS (mqtts) on this port (8883 by convention); needs --certfile and --keyfile, or --tls-generate.
    #[arg(long, value_name = "PORT")]
    pub tls_port: Option<u16>,
    /// Address of the TLS listener (default: --bind).
    #[arg(long, value_name = "ADDR")]
    pub tls_bind: Option<IpAddr>,
    /// Serve MQTT over WebSocket over TLS (wss://) on this port, with the TLS listener's certificate.
    #[arg(long, value_name = "PORT")]
    pub wss_port: Option<u16>,
    /// Address of the WSS listener (default: --bind).
    #[arg(long, value_name = "ADDR")]
    pub wss_bind: Option<IpAddr>,
    /// The server's certificate chain, PEM (mosquitto certfile).
    #[arg(long, value_name = "FILE")]
    pub certfile: Option<PathBuf>,
    /// The server certificate's private key, PEM (mosquitto keyfile).
    #[arg(long, value_name = "FILE")]
    pub keyfile: Option<PathBuf>,
    /// CA certificates, PEM, that client certificates must chain to (mosquitto cafile).
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Refuse TLS clients without a certificate signed by --cafile (mutual TLS; mosquitto require_certificate).
    #[arg(long)]
    #[serde(default)]
    pub require_certificate: bool,
    /// Create (or reuse) a CA, a server and a client certificate in DIR and serve TLS with them (--tls-port, default 8883).
    #[arg(long, value_name = "DIR")]
    pub tls_generate: Option<PathBuf>,
    /// With a client certificate, its Common Name is the user name (mosquitto use_identity_as_username).
    #[arg(long)]
    #[serde(default)]
    pub use_identity_as_username: bool,
    /// Accept clients without a user name (default: true when every listener binds loopback, false otherwise).
    #[arg(long, value_name = "true|false")]
    pub allow_anonymous: Option<bool>,
    /// User names and password hashes in mosquitto_passwd's format (write one with `mqscope passwd`).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Topic permissions in mosquitto's acl_file format; without one, every client may read and write everything.
    #[arg(long, value_name = "FILE")]
    pub acl_file: Option<PathBuf>,
    /// Interval of the $SYS/broker/... topics in seconds (0 disables them).
    #[arg(long, default_value_t = 10)]
    pub sys_interval: u64,
    /// Messages queued per session (offline, or beyond its in-flight window) before new ones are dropped and counted.
    #[arg(long, default_value_t = 100_000)]
    pub max_queued_messages: usize,
    /// Bytes queued per session before new messages are dropped and counted (MiB).
    #[arg(long, default_value_t = 128)]
    pub max_queued_mib: usize,
    /// Most connections at once (mosquitto max_connections); past it CONNECT gets 0x97 (5.0) / 0x03 (3.1.1).
    #[arg(long, default_value_t = BrokerConfig::default().max_connections)]
    pub max_connections: usize,
    /// New connections accepted per second, 0 for no limit; past it CONNECT gets 0x9F (5.0) / 0x03 (3.1.1).
    #[arg(long, default_value_t = BrokerConfig::default().max_connection_rate)]
    pub max_connection_rate: u32,
    /// Largest packet accepted, bytes (mosquitto max_packet_size); advertised in the 5.0 CONNACK.
    #[arg(long, default_value_t = BrokerConfig::default().max_packet_size)]
    pub max_packet_size: u32,
    /// Most subscriptions per client; past it SUBACK refuses the filter (0x97 / 0x80).
    #[arg(long, default_value_t = BrokerConfig::default().max_subscriptions_per_client)]
    pub max_subscriptions_per_client: usize,
    /// Longest topic name or filter, bytes.
    #[arg(long, default_value_t = BrokerConfig::default().max_topic_length)]
    pub max_topic_length: usize,
    /// Most levels in a topic name or filter.
    #[arg(long, default_value_t = BrokerConfig::default().max_topic_levels)]
    pub max_topic_levels: usize,
    /// Seconds a new connection may take to send CONNECT.
    #[arg(long, default_value_t = BrokerConfig::default().connect_timeout.as_secs())]
    pub connect_timeout: u64,
    /// Seconds a client may take none of our output (it does not read) before it is disconnected.
    #[arg(long, default_value_t = BrokerConfig::default().write_timeout.as_secs())]
    pub write_timeout: u64,
    /// Persistence: `--data-dir`, `--persist-interval-ms`.
    #[command(flatten)]
    #[serde(flatten)]
    pub persist: crate::broker::store::PersistOptions,
}

/// The TLS listener's port when only `--tls-generate` was given.
pub const DEFAULT_TLS_PORT: u16 = 8883;

impl BrokerOptions {
    /// The broker's limits from these options.
    #[must_use]
    pub fn broker_config(&self) -> BrokerConfig {
        BrokerConfig {
            sys_interval: (self.sys_interval > 0).then(|| Duration::from_secs(self.sys_interval)),
            max_queued_messages: self.max_queued_messages,
            max_queued_bytes: self.max_queued_mib.saturating_mul(1024 * 1024),
            max_connections: self.max_connections,
            max_connection_rate: self.max_connection_rate,
            max_packet_size: self.max_packet_size,
            max_subscriptions_per_client: self.max_subscriptions_per_client,
            max_topic_length: self.max_topic_length,
            max_topic_levels: self.max_topic_levels,
            connect_timeout: Duration::from_secs(self.connect_timeout.max(1)),
            write_timeout: Duration::from_secs(self.write_timeout.max(1)),
            persistence: self.persist.config(),
            ..BrokerConfig::default()
        }
    }

    /// The MQTT (TCP) listener's address.
    #[must_use]
    pub const fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// The WebSocket listener's address, if one is asked for.
    #[must_use]
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws_port.map(|p| SocketAddr::new(self.ws_bind.unwrap_or(self.bind), p))
    }

    /// The TLS listener's address, if one is asked for (`--tls-generate` alone implies port 8883).
    #[must_use]
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        let port = self.tls_port.or_else(|| self.tls_generate.as_ref().map(|_| DEFAULT_TLS_PORT))?;
        Some(SocketAddr::new(self.tls_bind.unwrap_or(self.bind), port))
    }

    /// The WSS listener's address, if one is asked for.
    #[must_use]
    pub fn wss_addr(&self) -> Option<SocketAddr> {
        self.wss_port.map(|p| SocketAddr::new(self.wss_bind.unwrap_or(self.bind), p))
    }

    /// Every address a listener binds.
    #[must_use]
    pub fn listener_addrs(&self) -> Vec<SocketAddr> {
        [Some(self.tcp_addr()), self.ws_addr(), self.tls_addr(), self.wss_addr()].into_iter().flatten().collect()
    }

    /// Whether clients without a user name are accepted: as set, else only when every listener binds loopback.
    #[must_use]
    pub fn anonymous_allowed(&self) -> bool {
        self.allow_anonymous.unwrap_or_else(|| self.listener_addrs().iter().all(|a| a.ip().is_loopback()))
    }

    /// The effective options as TOML (what `--print-config` prints; `-c` reads it back). Options
    /// not set follow as comments, so that every key can be seen.
    ///
    /// # Errors
    /// Never for these types; kept fallible because serialization is.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut text = toml::to_string(self)?;
        let set: Vec<String> = text.lines().filter_map(|l| l.split_once(" = ").map(|(k, _)| k.to_owned())).collect();
        for key in keys().into_iter().filter(|k| !set.contains(k)) {
            writeln!(text, "# {key} = (not set)").ok();
        }
        if self.allow_anonymous.is_none() {
            let allowed = self.anonymous_allowed();
            writeln!(text, "# allow_anonymous, not set, is {allowed} here (true when every listener binds loopback)").ok();
        }
        Ok(text)
    }
}

/// What is wrong with a configuration: the file and line of the key when it came from a file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}{}", location(file.as_deref(), *line, key.as_deref()), message)]
pub struct ConfigError {
    /// The configuration file, when the error is in one.
    pub file: Option<PathBuf>,
    /// Its 1-based line, when known.
    pub line: Option<usize>,
    /// The key (also the flag's name, with `-` for `_`).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

fn location(file: Option<&Path>, line: Option<usize>, key: Option<&str>) -> String {
    let file = file.map(|f| match line {
        Some(line) => format!("{}:{line}: ", f.display()),
        None => format!("{}: ", f.display()),
    });
    let key = key.map(|k| format!("`{k}`: "));
    format!("{}{}", file.unwrap_or_default(), key.unwrap_or_default())
}

/// A configuration file's text, for error locations.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// The 1-based line where `key` is set (a flat file: `key = value` at the start of a line).
    fn line_of(&self, key: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|line| {
                let line = line.trim_start();
                let rest = line.strip_prefix(key).or_else(|| line.strip_prefix(&format!("\"{key}\"")));
                rest.is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|i| i + 1)
    }

    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError { file: Some(self.path.to_path_buf()), line: self.line_of(key), key: Some(key.to_owned()), message: message.into() }
    }
}

/// The effective options: the flags' defaults, overridden by the file at `file` (if any), overridden
/// by the flags actually given on the command line (`matches` are the `broker` subcommand's).
/// Then checked: files named must exist, TLS options must come together.
///
/// # Errors
/// A file that cannot be read, is not TOML, has an unknown key or a value of the wrong type, or
/// names a file that does not exist.
pub fn resolve(from_flags: &BrokerOptions, matches: &clap::ArgMatches, file: Option<&Path>) -> Result<BrokerOptions, ConfigError> {
    let Some(path) = file else {
        check(from_flags, None)?;
        return Ok(from_flags.clone());
    };
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        file: Some(path.to_path_buf()),
        line: None,
        key: None,
        message: format!("cannot read: {err}"),
    })?;
    let source = Source { path, text: &text };
    let resolved = merge(from_flags, matches, &source)?;
    check(&resolved, Some(&source))?;
    Ok(resolved)
}

/// Every key: the ids of the flags (the fields' names, flattened groups included).
fn keys() -> Vec<String> {
    let command = <BrokerOptions as clap::Args>::augment_args(clap::Command::new("broker"));
    command.get_arguments().map(|arg| arg.get_id().as_str().to_owned()).collect()
}

/// The flags' values as a TOML table (`None` options are absent).
fn table_of(options: &BrokerOptions) -> Result<toml::Table, ConfigError> {
    let text = options.to_toml().map_err(|err| ConfigError { file: None, line: None, key: None, message: err.to_string() })?;
    text.parse::<toml::Table>().map_err(|err| ConfigError { file: None, line: None, key: None, message: err.to_string() })
}

fn merge(from_flags: &BrokerOptions, matches: &clap::ArgMatches, source: &Source<'_>) -> Result<BrokerOptions, ConfigError> {
    let file: toml::Table = source.text.parse().map_err(|err: toml::de::Error| {
        let line = err.span().map(|span| source.text[..span.start.min(source.text.len())].lines().count().max(1));
        ConfigError { file: Some(source.path.to_path_buf()), line, key: None, message: err.message().trim().to_owned() }
    })?;
    let known = keys();
    let flags = table_of(from_flags)?;
    let mut merged = flags.clone();
    for (key, value) in &file {
        if !known.contains(key) {
            return Err(source.error(key, "unknown key (a typo? `mqscope broker --help` lists every option; keys use `_` for `-`)"));
        }
        // The key alone over the defaults: a type error is this key's.
        let mut single = flags.clone();
        single.insert(key.clone(), value.clone());
        if let Err(err) = toml::Value::Table(single).try_into::<BrokerOptions>() {
            return Err(source.error(key, err.message().trim().to_owned()));
        }
        merged.insert(key.clone(), value.clone());
    }
    for key in &known {
        if matches.value_source(key) == Some(ValueSource::CommandLine) {
            match flags.get(key) {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
    }
    toml::Value::Table(merged).try_into::<BrokerOptions>().map_err(|err| ConfigError {
        file: Some(source.path.to_path_buf()),
        line: None,
        key: None,
        message: err.message().trim().to_owned(),
    })
}

/// Checks that need the whole configuration: named files exist, TLS options come together.
fn check(options: &BrokerOptions, source: Option<&Source<'_>>) -> Result<(), ConfigError> {
    let error = |key: &str, message: String| match source {
        Some(source) if source.line_of(key).is_some() => source.error(key, message),
        _ => ConfigError { file: None, line: None, key: Some(key.to_owned()), message },
    };
    let files = [
        ("certfile", &options.certfile),
        ("keyfile", &options.keyfile),
        ("cafile", &options.cafile),
        ("password_file", &options.password_file),
        ("acl_file", &options.acl_file),
    ];
    for (key, path) in files {
        if let Some(path) = path
            && let Err(err) = std::fs::metadata(path)
        {
            return Err(error(key, format!("{}: {err}", path.display())));
        }
    }
    let tls_wanted = options.tls_port.is_some() || options.wss_port.is_some();
    if tls_wanted && options.tls_generate.is_none() {
        for (key, path) in [("certfile", &options.certfile), ("keyfile", &options.keyfile)] {
            if path.is_none() {
                return Err(error(key, "a TLS listener (tls_port / wss_port) needs certfile and keyfile, or tls_generate".to_owned()));
            }
        }
    }
    if options.require_certificate && options.cafile.is_none() && options.tls_generate.is_none() {
        return Err(error("require_certificate", "needs cafile: the CA that client certificates must chain to".to_owned()));
    }
    if options.use_identity_as_username && !options.require_certificate {
        return Err(error("use_identity_as_username", "needs require_certificate (mosquitto's rule too)".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        options: BrokerOptions,
    }

    fn write(text: &str) -> tempfile_path::TempPath {
        tempfile_path::TempPath::with(text)
    }

    /// A file in the system temp dir, removed on drop (no tempfile crate for one helper).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn with(text: &str) -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let path =
                    std::env::temp_dir().join(format!("mqscope-options-{}-{}.toml", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
                std::fs::write(&path, text).expect("write");
                Self(path)
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                std::fs::remove_file(&self.0).ok();
            }
        }
    }

    fn resolve_with(args: &[&str], file: &str) -> Result<BrokerOptions, ConfigError> {
        let matches = Cli::command().try_get_matches_from(std::iter::once("mqscope").chain(args.iter().copied())).expect("valid flags");
        let cli = Cli::from_arg_matches(&matches).expect("parsed");
        let path = write(file);
        resolve(&cli.options, &matches, Some(&path.0))
    }

    #[test]
    fn the_file_sets_keys_and_flags_given_override_it() {
        let options = resolve_with(&["--max-connections", "7"], "port = 1999\nmax_connections = 5\nmax_topic_levels = 9\n").expect("valid");
        assert_eq!((options.port, options.max_connections, options.max_topic_levels), (1999, 7, 9));
        // A flag left at its default does not override the file.
        let options = resolve_with(&[], "port = 1999\n").expect("valid");
        assert_eq!(options.port, 1999);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = resolve_with(&[], "port = 1999\n\nmax_conections = 5\n").expect_err("typo");
        assert_eq!((err.key.as_deref(), err.line), (Some("max_conections"), Some(3)));
        assert!(err.to_string().contains(":3: `max_conections`: unknown key"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_named_with_its_line() {
        let err = resolve_with(&[], "# comment\nport = \"high\"\n").expect_err("string for a port");
        assert_eq!((err.key.as_deref(), err.line), (Some("port"), Some(2)));
        let err = resolve_with(&[], "port = 99999\n").expect_err("out of range");
        assert_eq!(err.key.as_deref(), Some("port"));
    }

    #[test]
    fn a_missing_certificate_is_named_with_its_line() {
        let err = resolve_with(&[], "tls_port = 8883\ncertfile = \"/nonexistent/server.pem\"\nkeyfile = \"/nonexistent/k.pem\"\n")
            .expect_err("no such file");
        assert_eq!((err.key.as_deref(), err.line), (Some("certfile"), Some(2)));
        assert!(err.to_string().contains("/nonexistent/server.pem"), "{err}");
    }

    #[test]
    fn printed_config_reads_back_to_the_same_options() {
        let options = resolve_with(&["--ws-port", "9001", "--allow-anonymous", "false"], "").expect("valid");
        let printed = options.to_toml().expect("toml");
        let again = resolve_with(&[], &printed).expect("reads back");
        assert_eq!(again, options);
        assert_eq!(again.allow_anonymous, Some(false));
    }

    /// How a group is added (`#[command(flatten)] #[serde(flatten)] pub group: Group,`): its keys
    /// are known, its type errors named, and an unknown key still refused.
    #[test]
    fn a_flattened_group_keeps_every_check() {
        #[derive(clap::Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
        struct Group {
            #[arg(long, default_value_t = 1000)]
            interval_ms: u64,
        }
        #[derive(clap::Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            #[arg(long, default_value_t = 1)]
            port: u16,
            #[command(flatten)]
            #[serde(flatten)]
            group: Group,
        }
        let command = <Outer as clap::Args>::augment_args(clap::Command::new("t"));
        let ids: Vec<&str> = command.get_arguments().map(|a| a.get_id().as_str()).collect();
        assert_eq!(ids, ["port", "interval_ms"]);
        let ok: Outer = toml::from_str("port = 2\ninterval_ms = 5\n").expect("both levels' keys");
        assert_eq!((ok.port, ok.group.interval_ms), (2, 5));
        assert!(toml::from_str::<Outer>("port = 2\ninterval_ms = 5\nbogus = 1\n").is_err(), "unknown key refused");
        assert_eq!(toml::to_string(&ok).expect("toml"), "port = 2\ninterval_ms = 5\n");
    }

    #[test]
    fn persistence_keys_are_read_from_the_file_and_a_misspelt_one_is_refused() {
        let o = resolve_with(&[], "data_dir = \"/var/lib/mqscope\"\npersist_interval_ms = 2\n").expect("valid");
        let p = o.broker_config().persistence.expect("persistence on");
        assert_eq!((p.dir.to_str(), p.interval.as_millis()), (Some("/var/lib/mqscope"), 2));
        let flag = resolve_with(&["--persist-interval-ms", "9"], "data_dir = \"d\"\npersist_interval_ms = 2\n").expect("valid");
        assert_eq!(flag.persist.persist_interval_ms, 9, "a flag overrides the file");
        let err = resolve_with(&[], "data_dri = \"x\"\n").expect_err("a misspelt key");
        assert!(err.to_string().contains("data_dri"), "{err}");
    }

    #[test]
    fn anonymous_defaults_to_allowed_on_loopback_only() {
        let loopback = resolve_with(&[], "").expect("valid");
        assert!(loopback.anonymous_allowed());
        let open = resolve_with(&["--bind", "0.0.0.0"], "").expect("valid");
        assert!(!open.anonymous_allowed());
        let told = resolve_with(&["--bind", "0.0.0.0", "--allow-anonymous", "true"], "").expect("valid");
        assert!(told.anonymous_allowed());
    }
}
