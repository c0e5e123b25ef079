//! The `mqscope` binary: the explorer window (default), or `mqscope broker` headless.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::sync::mpsc;

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
    /// Renderer for the window: glow (OpenGL) or wgpu (Vulkan/GL).
    #[arg(long, default_value = "glow", value_parser = ["glow", "wgpu"])]
    renderer: String,
    /// Reveal and select this topic in the tree as soon as a message arrives on it.
    #[arg(long, value_name = "TOPIC")]
    select: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
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
        /// Interval of the $SYS/broker/... topics in seconds (0 disables them).
        #[arg(long, default_value_t = 10)]
        sys_interval: u64,
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
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> anyhow::Result<()> {
    rustls::crypto::ring::default_provider().install_default().ok();
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(Cmd::Broker { port, bind, sys_interval }) => run_broker(SocketAddr::new(bind, port), sys_interval),
        Some(Cmd::Demo { host, port, seconds }) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
            rt.block_on(mqscope::demo::run(&host, port, seconds))
        }
        None => run_gui(SocketAddr::new(cli.bind, cli.port), &cli.renderer, cli.select),
    }
}

/// `mqscope broker`: no window, no GL; stops on Ctrl-C or SIGTERM.
fn run_broker(addr: SocketAddr, sys_interval: u64) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(async move {
        let config = BrokerConfig {
            sys_interval: (sys_interval > 0).then(|| std::time::Duration::from_secs(sys_interval)),
            ..BrokerConfig::default()
        };
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(addr = %listener.local_addr().unwrap_or(addr), "mqscope broker listening");
        let broker = Broker::new(config, None);
        broker::run(listener, broker, shutdown_signal()).await.context("broker failed")?;
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
fn run_gui(bind: SocketAddr, renderer: &str, select: Option<String>) -> anyhow::Result<()> {
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
            let waker: Waker = Arc::new(move || ctx.request_repaint_after(std::time::Duration::from_millis(15)));
            let (sink, ev_rx) = EventSink::channel(waker);
            handle.spawn(runtime::run(RuntimeConfig { bind, ..RuntimeConfig::default() }, cmd_rx, sink));
            let mut app = ExplorerApp::new(cmd_tx, ev_rx);
            app.pending_select = select;
            let settings = cc.storage.and_then(|s| eframe::get_value(s, mqscope::ui::settings_panel::STORAGE_KEY)).unwrap_or_default();
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
