//! The `mqscope` binary: the explorer window (default), `mqscope broker` headless, `mqscope demo`,
//! or `mqscope bench`, the load generator.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::sync::mpsc;

/// mimalloc: frees from another thread (messages built on the runtime, dropped on the UI thread)
/// return memory to the pool it came from, where glibc's per-thread arenas fragment and keep it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use mqscope::app::{ExplorerApp, GuiApp};
use mqscope::broker::{self, Broker, BrokerConfig};
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

/// The broker's limits (names follow mosquitto's options where it has one). At each limit the
/// client gets the reason code, `$SYS/broker/limits/...` counts it, and a line is logged at most once a second.
#[derive(clap::Args, Debug)]
struct LimitArgs {
    /// Most connections at once (mosquitto max_connections); past it CONNECT gets 0x97 (5.0) / 0x03 (3.1.1).
    #[arg(long, default_value_t = BrokerConfig::default().max_connections)]
    max_connections: usize,
    /// Largest packet accepted, bytes (mosquitto max_packet_size); advertised in the 5.0 CONNACK.
    #[arg(long, default_value_t = BrokerConfig::default().max_packet_size)]
    max_packet_size: u32,
    /// Most subscriptions per client; past it SUBACK refuses the filter (0x97 / 0x80).
    #[arg(long, default_value_t = BrokerConfig::default().max_subscriptions_per_client)]
    max_subscriptions_per_client: usize,
    /// Longest topic name or filter, bytes.
    #[arg(long, default_value_t = BrokerConfig::default().max_topic_length)]
    max_topic_length: usize,
    /// Most levels in a topic name or filter.
    #[arg(long, default_value_t = BrokerConfig::default().max_topic_levels)]
    max_topic_levels: usize,
    /// Seconds a new connection may take to send CONNECT.
    #[arg(long, default_value_t = BrokerConfig::default().connect_timeout.as_secs())]
    connect_timeout: u64,
    /// Seconds a client may take none of our output (it does not read) before it is disconnected.
    #[arg(long, default_value_t = BrokerConfig::default().write_timeout.as_secs())]
    write_timeout: u64,
}

impl LimitArgs {
    fn apply(self, mut config: BrokerConfig) -> BrokerConfig {
        use std::time::Duration;
        config.max_connections = self.max_connections;
        config.max_packet_size = self.max_packet_size;
        config.max_subscriptions_per_client = self.max_subscriptions_per_client;
        config.max_topic_length = self.max_topic_length;
        config.max_topic_levels = self.max_topic_levels;
        config.connect_timeout = Duration::from_secs(self.connect_timeout.max(1));
        config.write_timeout = Duration::from_secs(self.write_timeout.max(1));
        config
    }
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the broker alone, headless, until Ctrl-C or SIGTERM. Logs go to stderr (RUST_LOG=debug for more).
    Broker {
        /// Port to listen on.
        #[arg(short, long, default_value_t = 1883)]
        port: u16,
        /// Address to bind (loopback unless told otherwise; 0.0.0.0 for every interface).
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Also serve MQTT over WebSocket (ws://, subprotocol mqtt, any path) on this port of the same address.
        #[arg(long, value_name = "PORT")]
        ws_port: Option<u16>,
        /// Interval of the $SYS/broker/... topics in seconds (0 disables them).
        #[arg(long, default_value_t = 10)]
        sys_interval: u64,
        /// Messages queued per session (offline, or beyond its in-flight window) before new ones are dropped and counted.
        #[arg(long, default_value_t = 100_000)]
        max_queued_messages: usize,
        /// Bytes queued per session before new messages are dropped and counted (MiB).
        #[arg(long, default_value_t = 128)]
        max_queued_mib: usize,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        persist: broker::store::PersistOptions,
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
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(Cmd::Broker { port, bind, ws_port, sys_interval, max_queued_messages, max_queued_mib, limits, persist }) => {
            let config = limits.apply(BrokerConfig {
                sys_interval: (sys_interval > 0).then(|| std::time::Duration::from_secs(sys_interval)),
                max_queued_messages,
                max_queued_bytes: max_queued_mib.saturating_mul(1024 * 1024),
                persistence: persist.config(),
                ..BrokerConfig::default()
            });
            run_broker(SocketAddr::new(bind, port), ws_port.map(|p| SocketAddr::new(bind, p)), config)
        }
        Some(Cmd::Demo { host, port, seconds }) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
            rt.block_on(mqscope::demo::run(&host, port, seconds))
        }
        Some(Cmd::Bench { opts, threads }) => run_bench(&opts, threads),
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

/// `mqscope broker`: no window, no GL; stops on Ctrl-C or SIGTERM.
fn run_broker(addr: SocketAddr, ws_addr: Option<SocketAddr>, config: BrokerConfig) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(async move {
        // State restored before the port is open: a client never meets a broker that is still loading.
        let broker = match config.persistence.clone() {
            // Reading the journal blocks: off the runtime's workers.
            Some(persist) => tokio::task::spawn_blocking(move || Broker::open(config, None))
                .await
                .context("restoring the broker's state")?
                .with_context(|| format!("cannot use the data directory {}", persist.dir.display()))?,
            None => Broker::new(config, None),
        };
        let tcp = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(addr = %tcp.local_addr().unwrap_or(addr), "mqscope broker listening");
        let ws = match ws_addr {
            Some(ws_addr) => {
                let ws = tokio::net::TcpListener::bind(ws_addr).await.with_context(|| format!("cannot listen on {ws_addr}"))?;
                tracing::info!(url = %format!("ws://{}", ws.local_addr().unwrap_or(ws_addr)), "mqscope broker listening for MQTT over WebSocket");
                Some(ws)
            }
            None => None,
        };
        broker::run_listeners(broker::Listeners { tcp, ws }, broker, shutdown_signal()).await.context("broker failed")?;
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

    use super::{BrokerConfig, Cli, Cmd};

    fn broker_config(args: &[&str]) -> BrokerConfig {
        let cli = Cli::try_parse_from(["mqscope", "broker"].iter().chain(args)).expect("valid arguments");
        let Some(Cmd::Broker { limits, .. }) = cli.command else { panic!("not the broker subcommand") };
        limits.apply(BrokerConfig::default())
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
            let Some(Cmd::Broker { persist, .. }) = cli.command else { panic!("not the broker subcommand") };
            persist.config()
        };
        assert_eq!(parse(&[]), None);
        let on = parse(&["--data-dir", "/tmp/x", "--persist-interval-ms", "2"]).expect("on");
        assert_eq!((on.dir.to_str(), on.interval.as_millis()), (Some("/tmp/x"), 2));
        assert_eq!(parse(&["--data-dir", "d"]).map(|c| c.interval.as_millis()), Some(5));
    }
}
