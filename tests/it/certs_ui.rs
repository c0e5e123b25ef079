//! The Settings window's broker sections through egui_kittest, with the real runtime behind them:
//! "Generate certificates" (the files made off the UI thread, and how to use them shown), and
//! "Broker TLS and access" applied to the running embedded broker without a restart.

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{ProtocolVersion, QoS};
use mqscope::model::broker_security::BrokerSecuritySettings;
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::sync::mpsc;

use crate::broker_tls::temp_dir;
use crate::common::{guard, step_until};
use crate::raw::{Raw, qos};

/// At the smallest size the window supports: the Settings window scrolls to its broker sections.
fn explorer(config_dir: &std::path::Path) -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    crate::ui::explorer_sized(config_dir, [800.0, 600.0])
}

/// Scroll the Settings window to a button, then click it.
fn click_in_settings(h: &mut Harness<'static, ExplorerApp>, label: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run();
    h.get_by_label(label).click();
}

#[test]
fn generate_certificates_in_settings_makes_the_files_and_shows_how_to_use_them() {
    let config_dir = temp_dir("certs-ui");
    std::fs::create_dir_all(&config_dir).expect("dir");
    let (_rt, mut h) = explorer(&config_dir);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    h.get_by_label("Settings").click();
    h.run();
    click_in_settings(&mut h, "Generate certificates");
    step_until(&mut h, "the certificates", |app| app.certs.outcome.is_some());
    let tls = config_dir.join("tls");
    let usage = match &h.state().certs.outcome {
        Some(Ok((_, usage))) => usage.clone(),
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
    click_in_settings(&mut h, "Generate certificates");
    step_until(&mut h, "the second answer", |app| {
        app.certs.outcome.as_ref().is_some_and(|o| o.as_ref().is_ok_and(|(_, u)| u.contains("(reused)")))
    });
    assert_eq!(std::fs::read(tls.join("ca.pem")).expect("ca.pem"), ca);

    // A ready connection for the explorer itself, saved with the others.
    click_in_settings(&mut h, "Add a connection that uses them");
    h.step();
    let profile = h.state().connections.profiles.iter().find(|p| p.name.contains("generated")).cloned().expect("the profile");
    assert_eq!(profile.transport, mqscope::model::profile::Transport::Mqtts);
    assert_eq!((profile.host.as_str(), profile.port), ("localhost", 8883));
    assert_eq!(profile.tls.ca_file, tls.join("ca.pem").display().to_string());
    assert_eq!(profile.tls.client_cert_file, tls.join("client.pem").display().to_string());
    assert_eq!(profile.tls.client_key_file, tls.join("client-key.pem").display().to_string());
    step_until(&mut h, "the profiles to be saved", |_| config_dir.join("profiles.toml").is_file());
}

/// Through the window: an ACL file typed into the broker section and applied; the embedded broker
/// refuses a SUBSCRIBE outside it at once, on a connection made before the Apply (no restart).
#[test]
fn the_broker_section_applies_an_acl_without_a_restart() {
    let config_dir = temp_dir("security-ui");
    std::fs::create_dir_all(&config_dir).expect("dir");
    let acl = config_dir.join("acl");
    std::fs::write(&acl, "topic read public/#\n").expect("acl");
    let (rt, mut h) = explorer(&config_dir);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let addr = h.state().store.broker.local_addr.expect("address");
    let mut before = rt.block_on(Raw::connected(addr, ProtocolVersion::V5, "before-apply"));
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "ACL file").scroll_to_me();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "ACL file").focus();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "ACL file").type_text(&acl.display().to_string());
    h.run();
    click_in_settings(&mut h, "Apply broker settings");
    step_until(&mut h, "the settings applied", |app| app.broker_security.outcome.is_some());
    match &h.state().broker_security.outcome {
        Some(Ok(text)) => assert!(text.contains("ACL in force"), "{text}"),
        other => panic!("expected the settings in force, got {other:?}"),
    }
    h.get_by_label_contains("ACL in force");
    assert_eq!(h.state().settings.broker.acl_file, acl.display().to_string(), "saved with the settings");
    let codes = rt.block_on(async {
        let codes = before.subscribe(1, "private/#", qos(QoS::AtMostOnce)).await;
        (codes, before.subscribe(2, "public/#", qos(QoS::AtMostOnce)).await)
    });
    assert_eq!(codes, (vec![0x87], vec![0x00]));
}

/// `Command::ConfigureBroker` with TLS listeners: mosquitto_pub reaches the window's embedded broker
/// over mqtts and mqscope's client over wss with a generated set; a bad key file is refused.
#[tokio::test]
async fn configure_broker_adds_a_tls_listener_to_the_running_broker() {
    let set = crate::broker_tls::certs("configure-tls");
    let (commands, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(temp_dir("configure-tls-cfg")),
        stats_file: None,
    };
    tokio::spawn(runtime::run(config, cmd_rx, sink));
    let mut configure = async |settings: BrokerSecuritySettings| {
        commands.send(Command::ConfigureBroker(Box::new(settings))).await.expect("runtime");
        guard("BrokerConfigured", async {
            loop {
                if let Some(Event::BrokerConfigured(outcome)) = events.recv().await {
                    return outcome;
                }
            }
        })
        .await
    };
    let tls = BrokerSecuritySettings {
        tls_port: Some(0),
        wss_port: Some(0),
        certfile: set.server().display().to_string(),
        keyfile: set.server_key().display().to_string(),
        cafile: set.ca().display().to_string(),
        require_certificate: true,
        ..BrokerSecuritySettings::default()
    };
    let text = configure(BrokerSecuritySettings { keyfile: set.ca().display().to_string(), ..tls.clone() })
        .await
        .expect_err("a certificate is no key");
    assert!(text.contains("ca.pem"), "names the file: {text}");
    let text = configure(tls).await.expect("applied");
    let port: u16 = text
        .split("TLS on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("port in the summary");
    let args: Vec<String> = [
        "--cafile",
        &set.ca().display().to_string(),
        "--cert",
        &set.client().display().to_string(),
        "--key",
        &set.client_key().display().to_string(),
        "-t",
        "t",
        "-m",
        "x",
    ]
    .map(str::to_owned)
    .to_vec();
    let (ok, err) = crate::broker_tls::try_publish(std::net::SocketAddr::from(([127, 0, 0, 1], port)), &args).await;
    assert!(ok, "{err}");
    let wss: u16 = text
        .split("WSS on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("WSS port in the summary");
    crate::broker_tls::wss_echo(&set, wss).await;
}
