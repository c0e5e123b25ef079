//! The `mqscope` binary: the explorer window (default), `mqscope broker` headless, `mqscope demo`,
//! or `mqscope bench`, the load generator.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use tokio::sync::mpsc;

/// mimalloc: frees from another thread (messages built on the runtime, dropped on the UI thread)
/// return memory to the pool it came from, where glibc's per-thread arenas fragment and keep it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use mqscope::app::{ExplorerApp, GuiApp};
use mqscope::broker::launch::{self, LaunchError};
use mqscope::broker::options::{self, BrokerOptions};
use mqscope::protocol::{COMMAND_CAPACITY, EventSink, Waker};
use mqscope::runtime::{self, RuntimeConfig};

/// A native MQTT explorer with its own embedded MQTT 3.1.1 / 5.0 broker.
///
/// With no subcommand, opens the explorer window with the embedded broker listening on
/// 127.0.0.1:1883 (a free port if that one is taken) and the explorer attached to it.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    /// Port of the embedded broker (a free port is used if it is taken).
    #[arg(short, long, default_value_t = 1883)]
    port: u16,
    /// Address the embedded broker binds (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Also serve MQTT over WebSocket (ws://, subprotocol mqtt) on this port of the same address (off by default).
    #[arg(long, value_name = "PORT")]
    ws_port: Option<u16>,
    /// Renderer for the window: glow (OpenGL) or wgpu (Vulkan/GL).
    #[arg(long, default_value = "glow", value_parser = ["glow", "wgpu"])]
    renderer: String,
    /// Reveal and select this topic in the tree as soon as a message arrives on it.
    #[arg(long, value_name = "TOPIC")]
    select: Option<String>,
    /// Append the window's figures (topics, messages, thinned history per connection; time to the
    /// first frame) as one JSON line every 250 ms to this file: for scripts that measure the window.
    #[arg(long, value_name = "FILE")]
    stats_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the broker alone, headless, until Ctrl-C or SIGTERM (SIGHUP re-reads the password and ACL files). Logs go to stderr (RUST_LOG=debug for more).
    Broker {
        /// Read the options from this TOML file (keys are the flags' names with `_`, e.g.
        /// `max_connections = 100`); flags given on the command line override it.
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config_file: Option<std::path::PathBuf>,
        /// Print the effective configuration (file and flags) as TOML and exit.
        #[arg(long)]
        print_config: bool,
        #[command(flatten)]
        options: BrokerOptions,
    },
    /// Add or update a user in a password file (mosquitto_passwd's format, $7$ PBKDF2-SHA512).
    ///
    /// Asks for the password twice (without echo on a terminal), or takes it from the command
    /// line with -b, like `mosquitto_passwd -b FILE USER PASSWORD`. The file is created if needed.
    Passwd {
        /// Take the password from the command line.
        #[arg(short = 'b')]
        batch: bool,
        /// The password file.
        file: std::path::PathBuf,
        /// The user name.
        user: String,
        /// The password (with -b).
        password: Option<String>,
    },
    /// Publish a realistic home-automation and factory-floor topic set to a broker, then keep updating it.
    Demo {
        /// Broker host.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Broker port.
        #[arg(short, long, default_value_t = 1883)]
        port: u16,
        /// Seconds to keep updating values after the first full publish (0: publish once and exit).
        #[arg(long, default_value_t = 0)]
        seconds: u64,
    },
    /// Subscribe and print messages, like mosquitto_sub (its flags: -h -p -t -q -v -C -W …; --json for one JSON object per message).
    Sub(mqscope::cli::sub::SubArgs),
    /// Publish, like mosquitto_pub (its flags: -h -p -t -m -f -l -n -q -r -D …), with substitutions
    /// ({{counter}}, {{random(a,b)}}, {{now}}, {{now_ms}}, {{uuid}}, {{choice(a,b)}}) and --repeat/--interval.
    Pub(mqscope::cli::publish::PubArgs),
    /// Record messages to a capture file (NDJSON, one message per line: readable by jq, replayable).
    Record(mqscope::cli::sub::RecordArgs),
    /// Publish a capture file's messages into a broker, at the recorded pace, faster, or as fast as possible.
    Replay(mqscope::cli::replay::ReplayArgs),
    /// Load-test any MQTT broker: fan-in, fan-out, pairs, idle connections or retained replay.
    ///
    /// Reports delivered msgs/s, lost and duplicated messages, latency p50/p99/max and, with
    /// --broker-pid, the broker's CPU time per delivered message and its RSS. Progress goes to
    /// stderr once a second, the report to stdout.
    Bench {
        #[command(flatten)]
        opts: mqscope::bench::BenchOptions,
        /// Tokio worker threads for the bench (1: a current-thread runtime).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// When `main` started, for the window's time to its first frame.
static LAUNCHED_AT: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn main() -> anyhow::Result<()> {
    LAUNCHED_AT.set(std::time::Instant::now()).ok();
    rustls::crypto::ring::default_provider().install_default().ok();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    init_logging();
    match cli.command {
        Some(Cmd::Broker { config_file, print_config, options: flags }) => {
            let sub = matches.subcommand_matches("broker").unwrap_or(&matches);
            let options = options::resolve(&flags, sub, config_file.as_deref()).unwrap_or_else(|err| config_exit(&err));
            if print_config {
                print!("{}", options.to_toml().context("printing the configuration")?);
                return Ok(());
            }
            run_broker(options)
        }
        Some(Cmd::Passwd { batch, file, user, password }) => mqscope::passwd_cmd::run(&file, &user, batch, password),
        Some(Cmd::Demo { host, port, seconds }) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
            rt.block_on(mqscope::demo::run(&host, port, seconds))
        }
        Some(Cmd::Bench { opts, threads }) => run_bench(&opts, threads),
        Some(Cmd::Sub(args)) => run_cli(mqscope::cli::sub::run_sub(args)),
        Some(Cmd::Pub(args)) => run_cli(mqscope::cli::publish::run(args)),
        Some(Cmd::Record(args)) => run_cli(mqscope::cli::sub::run_record(args)),
        Some(Cmd::Replay(args)) => run_cli(mqscope::cli::replay::run(args)),
        None => {
            let config = RuntimeConfig {
                bind: SocketAddr::new(cli.bind, cli.port),
                ws_bind: cli.ws_port.map(|p| SocketAddr::new(cli.bind, p)),
                stats_file: cli.stats_file,
                ..RuntimeConfig::default()
            };
            run_gui(config, &cli.renderer, cli.select)
        }
    }
}

/// `mqscope sub`, `pub`, `record`, `replay`: one current-thread runtime; exits with the command's code.
fn run_cli(command: impl std::future::Future<Output = mqscope::cli::Exit>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    let exit = rt.block_on(command);
    if let Some(error) = &exit.error {
        eprintln!("{error}");
    }
    drop(rt);
    std::process::exit(exit.code);
}

/// `mqscope bench`: one run, the report on stdout.
fn run_bench(opts: &mqscope::bench::BenchOptions, threads: usize) -> anyhow::Result<()> {
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    }
    .context("starting tokio")?;
    let report = rt.block_on(mqscope::bench::run(opts)).context("bench failed")?;
    if opts.json {
        println!("{}", serde_json::to_string(&report).context("serializing the report")?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// A configuration error: said on stderr, exit code 2, nothing started.
fn config_exit(err: &dyn std::fmt::Display) -> ! {
    eprintln!("mqscope broker: {err}");
    std::process::exit(2)
}

/// `mqscope broker`: no window, no GL; stops on Ctrl-C or SIGTERM. The configuration is checked
/// and every listener bound before any is served.
fn run_broker(options: BrokerOptions) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(async move {
        let prepared = match launch::prepare(options).await {
            Ok(prepared) => prepared,
            Err(LaunchError::Config(err)) => config_exit(&err),
            Err(err) => return Err(err).context("the broker did not start"),
        };
        for (what, addr) in prepared.local_addrs() {
            tracing::info!("mqscope broker listening on {addr} ({what})");
        }
        if prepared.options.allow_anonymous.is_none() && !prepared.options.anonymous_allowed() {
            tracing::warn!("a listener binds beyond loopback: anonymous clients are refused (--allow-anonymous true accepts them)");
        }
        if let Some(certs) = &prepared.certs {
            let port = prepared.local_addrs().iter().find(|(w, _)| *w == "mqtts").map_or(options::DEFAULT_TLS_PORT, |(_, a)| a.port());
            print!("{}", certs.usage(port));
        }
        prepared.serve(shutdown_signal()).await.context("broker failed")?;
        tracing::info!("mqscope broker stopped");
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch SIGTERM");
                ctrl_c.await.ok();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

/// The window, with the runtime on its own thread.
fn run_gui(config: RuntimeConfig, renderer: &str, select: Option<String>) -> anyhow::Result<()> {
    let launched_at = LAUNCHED_AT.get().copied().unwrap_or_else(std::time::Instant::now);
    let stats_every = config.stats_file.is_some().then(|| std::time::Duration::from_millis(250));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting tokio")?;
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")).ok();
    let mut viewport = egui::ViewportBuilder::default().with_title("mqscope").with_inner_size([1280.0, 800.0]).with_app_id("mqscope");
    if let Some(icon) = icon {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: if renderer == "wgpu" { eframe::Renderer::Wgpu } else { eframe::Renderer::Glow },
        ..Default::default()
    };
    let handle = rt.handle().clone();
    let result = eframe::run_native(
        "mqscope",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let pacing = mqscope::app::FramePacing::default();
            let waker_pacing = pacing.clone();
            let waker: Waker = Arc::new(move |_backlogged| ctx.request_repaint_after(waker_pacing.get()));
            let (sink, ev_rx) = EventSink::channel(waker);
            let settings: mqscope::ui::settings_panel::Settings =
                cc.storage.and_then(|s| eframe::get_value(s, mqscope::ui::settings_panel::STORAGE_KEY)).unwrap_or_default();
            let mut config = config;
            // Read at start: the switch in Settings applies at the next start.
            let dir = config.config_dir.clone().or_else(|| mqscope::storage::config_dir().ok());
            config.broker.persistence = settings.broker_persistence(dir.as_deref());
            handle.spawn(runtime::run(config, cmd_rx, sink));
            let mut app = ExplorerApp::new(cmd_tx, ev_rx);
            app.pacing = pacing;
            app.pending_select = select;
            app.launched_at = launched_at;
            app.stats_every = stats_every;
            app.apply_settings(&cc.egui_ctx, settings);
            let charts: Vec<mqscope::model::ChartDef> =
                cc.storage.and_then(|s| eframe::get_value(s, mqscope::app::CHARTS_STORAGE_KEY)).unwrap_or_default();
            app.restore_charts(&charts);
            Ok(Box::new(GuiApp(app)))
        }),
    );
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result.map_err(|e| anyhow::anyhow!("{e}")).context("the window could not be opened (is DISPLAY or WAYLAND_DISPLAY set?)")
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use mqscope::broker::BrokerConfig;

    use super::{Cli, Cmd};

    fn broker_config(args: &[&str]) -> BrokerConfig {
        let cli = Cli::try_parse_from(["mqscope", "broker"].iter().chain(args)).expect("valid arguments");
        let Some(Cmd::Broker { options, .. }) = cli.command else { panic!("not the broker subcommand") };
        options.broker_config()
    }

    #[test]
    fn limit_flags_default_to_the_broker_defaults_and_set_its_config() {
        let defaults = BrokerConfig::default();
        let config = broker_config(&[]);
        assert_eq!(
            (config.max_connections, config.max_packet_size, config.max_topic_levels, config.write_timeout),
            (defaults.max_connections, defaults.max_packet_size, defaults.max_topic_levels, defaults.write_timeout)
        );
        let config = broker_config(&[
            "--max-connections",
            "5",
            "--max-packet-size",
            "1024",
            "--max-subscriptions-per-client",
            "3",
            "--max-topic-length",
            "64",
            "--max-topic-levels",
            "4",
            "--connect-timeout",
            "2",
            "--write-timeout",
            "7",
        ]);
        assert_eq!((config.max_connections, config.max_packet_size, config.max_subscriptions_per_client), (5, 1024, 3));
        assert_eq!((config.max_topic_length, config.max_topic_levels), (64, 4));
        assert_eq!((config.connect_timeout.as_secs(), config.write_timeout.as_secs()), (2, 7));
    }

    #[test]
    fn persistence_is_off_by_default_and_on_with_a_data_dir() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(["mqscope", "broker"].iter().chain(args)).expect("valid arguments");
            let Some(Cmd::Broker { options, .. }) = cli.command else { panic!("not the broker subcommand") };
            options.broker_config().persistence
        };
        assert_eq!(parse(&[]), None);
        let on = parse(&["--data-dir", "/tmp/x", "--persist-interval-ms", "2"]).expect("on");
        assert_eq!((on.dir.to_str(), on.interval.as_millis()), (Some("/tmp/x"), 2));
        assert_eq!(parse(&["--data-dir", "d"]).map(|c| c.interval.as_millis()), Some(5));
    }
}
