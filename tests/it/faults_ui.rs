//! The Faults tab through egui_kittest, with the real runtime and embedded broker: a refusal added
//! with the mouse is what mosquitto_pub reports, the red strip lists every active fault, and
//! "Clear all faults" ends them in one click.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::DockTab;

use crate::common::step_until;
use crate::inside_ui::explorer;

/// mosquitto_pub -V mqttv5 as client `id`: (success, what it printed).
fn mosquitto_pub(addr: std::net::SocketAddr, id: &str) -> (bool, String) {
    let out = std::process::Command::new("mosquitto_pub")
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "-V", "mqttv5", "-i", id, "-t", "t", "-m", "x"])
        .output()
        .expect("mosquitto_pub is installed (apt-get install mosquitto-clients)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn a_refusal_added_in_the_faults_tab_is_reported_by_mosquitto_pub_and_clear_all_ends_every_fault() {
    let (_rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_label("Faults").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Faults);
    h.get_by_label("No fault is active: the broker behaves normally.");
    h.get_by_role_and_label(Role::TextInput, "Client id").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Client id").type_text("device");
    h.run();
    assert_eq!(h.state().faults.client_id, "device");
    h.get_by_role_and_label(Role::Button, "Add fault").click();
    step_until(&mut h, "the fault active", |app| !app.store.broker.inside.faults.is_empty());
    // Listed in the tab and in the strip above the status bar (and said once in the status bar's notice).
    assert!(h.get_all_by_label("Refusing the next CONNECT of device with 0x87 Not authorized").count() >= 2);
    h.get_by_label("1 fault injected:");
    let (ok, said) = mosquitto_pub(addr, "device");
    assert!(!ok && said.to_lowercase().contains("not authori"), "mosquitto_pub reports the refusal: {said}");
    step_until(&mut h, "the used-up refusal gone from the strip", |app| app.store.broker.inside.faults.is_empty());
    assert!(h.query_by_label("1 fault injected:").is_none());
    // Two faults, one click.
    h.get_by_role_and_label(Role::CheckBox, "every client").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Add fault").click();
    h.run();
    h.get_by_role_and_label(Role::ComboBox, "Fault").click();
    h.run();
    h.get_by_label("Withhold acknowledgements").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Add fault").click();
    step_until(&mut h, "two faults", |app| app.store.broker.inside.faults.len() == 2);
    h.get_by_label("2 faults injected:");
    let (ok, said) = mosquitto_pub(addr, "anyone");
    assert!(!ok, "every CONNECT refused: {said}");
    h.get_by_role_and_label(Role::Button, "Clear all faults").click();
    step_until(&mut h, "no fault", |app| app.store.broker.inside.faults.is_empty());
    assert!(h.query_by_label("2 faults injected:").is_none(), "the strip is gone");
    let (ok, said) = mosquitto_pub(addr, "anyone");
    assert!(ok, "the broker accepts again: {said}");
}

#[test]
fn restarting_from_the_faults_tab_asks_first_and_ends_every_connection_with_0x8b() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let mut client = rt.block_on(crate::raw::Raw::connected(addr, mqscope::broker::codec::ProtocolVersion::V5, "device"));
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_label("Faults").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Restart, drop sessions…").click();
    h.run();
    h.get_by_label_contains("Restart the broker in place? Every connection ends with DISCONNECT 0x8B");
    h.get_by_role_and_label(Role::Button, "Restart").click();
    h.run();
    rt.block_on(client.expect_disconnect(mqscope::broker::codec::reason::SERVER_SHUTTING_DOWN));
    for _ in 0..500 {
        h.step();
        if h.query_by_label_contains("Restarted in place: 1 connections ended (DISCONNECT 0x8B), 1 sessions dropped").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.get_by_label_contains("Restarted in place: 1 connections ended (DISCONNECT 0x8B), 1 sessions dropped");
    let (_again, ack) = rt.block_on(crate::raw::Raw::connect(
        addr,
        crate::raw::connect_packet(mqscope::broker::codec::ProtocolVersion::V5, "device", false, 60),
    ));
    assert_eq!((ack.code, ack.session_present), (0, false), "the listener stayed; the session was dropped");
}
