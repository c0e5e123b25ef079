//! The Settings window's "Generate certificates" through egui_kittest, with the real runtime behind
//! it: the files are made off the UI thread, and the window shows how to use them.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::broker::BrokerConfig;
use mqscope::protocol::{COMMAND_CAPACITY, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::sync::mpsc;

use crate::broker_tls::temp_dir;
use crate::common::step_until;

fn explorer(config_dir: &std::path::Path) -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(config_dir.to_path_buf()),
        stats_file: None,
    };
    rt.spawn(runtime::run(config, cmd_rx, sink));
    let app = ExplorerApp::new(cmd_tx, ev_rx);
    let harness = Harness::builder().with_size([1280.0, 900.0]).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    (rt, harness)
}

#[test]
fn generate_certificates_in_settings_makes_the_files_and_shows_how_to_use_them() {
    let config_dir = temp_dir("certs-ui");
    std::fs::create_dir_all(&config_dir).expect("dir");
    let (_rt, mut h) = explorer(&config_dir);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label("Generate certificates").click();
    step_until(&mut h, "the certificates", |app| app.certs.outcome.is_some());
    let tls = config_dir.join("tls");
    let usage = match &h.state().certs.outcome {
        Some(Ok(usage)) => usage.clone(),
        other => panic!("expected the usage text, got {other:?}"),
    };
    assert!(usage.contains(&format!("--cafile {}", tls.join("ca.pem").display())), "{usage}");
    assert!(usage.contains("(created)"), "{usage}");
    for name in mqscope::broker::certgen::FILES {
        assert!(tls.join(name).is_file(), "{name} written");
    }
    // Shown in the window, as text the user can select and copy.
    h.get_by_value(&usage);
    // Again: the set is reused, not overwritten.
    let ca = std::fs::read(tls.join("ca.pem")).expect("ca.pem");
    h.get_by_label("Generate certificates").click();
    step_until(&mut h, "the second answer", |app| {
        app.certs.outcome.as_ref().is_some_and(|o| o.as_ref().is_ok_and(|u| u.contains("(reused)")))
    });
    assert_eq!(std::fs::read(tls.join("ca.pem")).expect("ca.pem"), ca);
}
