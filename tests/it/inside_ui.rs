//! The dock's broker tabs through egui_kittest, with the real runtime and embedded broker behind
//! them and real clients over sockets: the Clients list, and its actions carried out with the
//! mouse, confirmed, and seen where they show (the will in the tree, the DISCONNECT at the client).

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::{DockTab, ExplorerApp};
use mqscope::broker::BrokerConfig;
use mqscope::broker::codec::{self, ProtocolVersion};
use mqscope::protocol::{COMMAND_CAPACITY, EventSink};
use mqscope::runtime::{self, RuntimeConfig};
use tokio::sync::mpsc;

use crate::common::step_until;
use crate::raw::{Raw, connect_packet};

pub(crate) fn explorer() -> (tokio::runtime::Runtime, Harness<'static, ExplorerApp>) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mqscope-inside-ui-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = RuntimeConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        ws_bind: None,
        broker: BrokerConfig { sys_interval: None, ..BrokerConfig::default() },
        config_dir: Some(dir),
        stats_file: None,
    };
    rt.spawn(runtime::run(config, cmd_rx, sink));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.tree.flash = false;
    // The runtime answers asynchronously: an answer that lands while `run` steps asks for more
    // frames, so `run` gets more steps than the default 4 before it calls the UI unsettled.
    let mut h =
        Harness::builder().with_size([1400.0, 900.0]).with_max_steps(16).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    (rt, h)
}

fn listed(app: &ExplorerApp, id: &str) -> bool {
    app.store.broker.inside.clients.as_ref().is_some_and(|s| s.rows.iter().any(|r| &*r.client_id == id && r.online))
}

/// A 5.0 byte-level peer with a will on `wills/{id}`.
async fn with_will(addr: std::net::SocketAddr, id: &str) -> Raw {
    let mut connect = connect_packet(ProtocolVersion::V5, id, true, 60);
    connect.will = Some(codec::LastWill {
        topic: format!("wills/{id}"),
        payload: bytes::Bytes::from_static(b"offline"),
        qos: codec::QoS::AtLeastOnce,
        retain: true,
        properties: codec::Properties::default(),
    });
    let (raw, ack) = Raw::connect(addr, connect).await;
    assert_eq!(ack.code, 0);
    raw
}

/// Open the Broker dock and select `id` in the Clients list.
fn select_client(h: &mut Harness<'static, ExplorerApp>, id: &str) {
    h.get_by_label("Broker").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Clients);
    step_until(h, "the client in the list", |app| listed(app, id));
    h.get_by_label(id).click();
    h.run();
}

#[test]
fn dropping_a_client_from_the_clients_view_publishes_its_will_into_the_tree() {
    // MQTT-3.1.2-8: a connection closed without DISCONNECT has its will published.
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let mut doomed = rt.block_on(with_will(addr, "doomed"));
    select_client(&mut h, "doomed");
    h.get_by_role_and_label(Role::Button, "Drop connection…").click();
    h.run();
    h.get_by_label("Drop the connection of doomed without DISCONNECT? Its will is published.");
    h.get_by_role_and_label(Role::Button, "Drop").click();
    step_until(&mut h, "the will in the tree", |app| app.store.conns[0].tree.find("wills/doomed").is_some());
    let rest = rt.block_on(doomed.until_closed());
    assert!(rest.iter().all(|p| !matches!(p, codec::Packet::Disconnect(_))), "closed without DISCONNECT: {rest:?}");
    step_until(&mut h, "the list without it", |app| !listed(app, "doomed"));
    let tree = &h.state().store.conns[0].tree;
    let node = tree.node(tree.find("wills/doomed").expect("will topic"));
    let latest = node.latest().expect("a message");
    assert_eq!(latest.meta.as_ref().and_then(|m| m.publisher.as_deref()), Some("doomed"), "published as its client");
    assert!(latest.retain);
}

#[test]
fn disconnecting_with_a_chosen_reason_sends_it_and_0x00_discards_the_will() {
    // 5.0 §3.14.2.1: the client gets DISCONNECT with the reason code chosen; MQTT-3.14.4-3: after a
    // normal disconnection (0x00) the will is not published.
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let mut calm = rt.block_on(with_will(addr, "calm"));
    select_client(&mut h, "calm");
    h.get_by_role_and_label(Role::ComboBox, "Reason").click();
    h.run();
    h.get_by_label("0x00 Normal disconnection").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Disconnect…").click();
    h.run();
    h.get_by_label("Disconnect calm with 0x00 Normal disconnection? Its will is discarded.");
    h.get_by_role_and_label(Role::Button, "Disconnect").click();
    h.run();
    rt.block_on(calm.expect_disconnect(0x00));
    step_until(&mut h, "the list without it", |app| !listed(app, "calm"));
    // Anything routed after the disconnect comes after the will would have: publish a marker and
    // see it in the tree without the will.
    let (client, el) = rt.block_on(crate::common::client_v4(addr, "marker", true));
    let _driver = {
        let _entered = rt.enter();
        crate::common::drive_v4(el)
    };
    rt.block_on(client.publish("marker", rumqttc::QoS::AtLeastOnce, false, "1")).expect("publish");
    step_until(&mut h, "the marker in the tree", |app| app.store.conns[0].tree.find("marker").is_some());
    assert!(h.state().store.conns[0].tree.find("wills/calm").is_none(), "no will after 0x00");
}

#[test]
fn the_clients_tab_of_an_external_connection_says_why_it_is_empty() {
    let (_rt, mut h) = explorer();
    let id = h.state_mut().store.open_conn("plant", "plant.example:1883");
    h.state_mut().current = id;
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_label_contains("plant is another broker: MQTT gives its clients no way to list its sessions");
    assert!(h.state().store.broker.inside.clients.is_none(), "nothing asked of the embedded broker");
}

#[test]
fn expiring_an_offline_session_from_the_clients_view_ends_it() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    rt.block_on(async {
        let (c, mut el) = crate::common::client_v4(addr, "napper", false).await;
        c.subscribe("mail/#", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
        crate::common::wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    });
    h.get_by_label("Broker").click();
    h.run();
    let offline = |app: &ExplorerApp| {
        app.store.broker.inside.clients.as_ref().is_some_and(|s| s.rows.iter().any(|r| &*r.client_id == "napper" && !r.online))
    };
    step_until(&mut h, "the offline session in the list", offline);
    h.get_by_label("napper").click();
    h.run();
    assert!(h.query_by_label("Drop connection…").is_none(), "an offline session has no connection to drop");
    h.get_by_role_and_label(Role::Button, "Expire session…").click();
    h.run();
    h.get_by_label("Expire the session of napper? Its 1 subscriptions and 0 queued messages go.");
    h.get_by_role_and_label(Role::Button, "Expire").click();
    step_until(&mut h, "the list without it", |app| {
        app.store.broker.inside.clients.as_ref().is_some_and(|s| s.rows.iter().all(|r| &*r.client_id != "napper"))
    });
    h.get_by_label_contains("Session napper expired");
}

#[test]
fn ten_thousand_sessions_are_listed_virtualised_and_filtered() {
    use mqscope::model::broker_view::{ClientRow, InsideUpdate, Snapshot};
    let (cmd_tx, _commands) = mpsc::channel(COMMAND_CAPACITY);
    let (_sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    let rows: Vec<ClientRow> = (0..10_000)
        .map(|i| ClientRow {
            client_id: format!("client-{i:05}").into(),
            online: i % 3 != 0,
            address: None,
            protocol: 4,
            keep_alive_secs: 60,
            clean_start: true,
            session_expiry_secs: 0,
            expires_in_secs: None,
            will: None,
            inflight_out: 0,
            inflight_in: 0,
            queued_msgs: i,
            queued_bytes: 0,
            dropped: 0,
            msgs_in: 0,
            msgs_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            subscriptions: 0,
            connected_at: None,
            last_activity: None,
            traced: false,
        })
        .collect();
    let snap = Snapshot { rows, total: 10_000, taken_at: std::time::SystemTime::now() };
    app.store.broker.inside.apply(InsideUpdate::Clients(snap));
    app.dock_open = true;
    app.dock_tab = DockTab::Clients;
    let mut h = Harness::builder().with_size([1400.0, 900.0]).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    h.run();
    h.get_by_label("client-00000");
    assert!(h.query_by_label("client-09999").is_none(), "only the rows in view are drawn");
    assert!(h.query_all_by_label("offline").count() < 100, "a screenful, not 10k rows");
    h.get_by_label_contains("10.0k of 10.0k sessions");
    h.get_by_role_and_label(Role::TextInput, "Filter clients").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Filter clients").type_text("client-0999");
    h.run();
    h.get_by_label("client-09999");
    h.get_by_label_contains("10 of 10.0k sessions");
}

#[test]
fn the_subscriptions_tab_lists_them_and_says_who_receives_the_selected_topic() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let (_sub, _sub_driver, pubc, _pub_driver) = rt.block_on(async {
        let (s, mut el) = crate::common::client_v4(addr, "listener-7", true).await;
        s.subscribe("home/+/temp", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
        crate::common::wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
        let (p, pel) = crate::common::client_v4(addr, "thermo", true).await;
        (s, crate::common::drive_v4(el), p, crate::common::drive_v4(pel))
    });
    rt.block_on(pubc.publish("home/kitchen/temp", rumqttc::QoS::AtMostOnce, false, "21")).expect("publish");
    step_until(&mut h, "the topic in the tree", |app| app.store.conns[0].tree.find("home/kitchen/temp").is_some());
    let id = h.state().store.conns[0].tree.find("home/kitchen/temp").expect("node");
    h.state_mut().tree.selected = Some(id);
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Subscriptions").click();
    step_until(&mut h, "who receives it", |app| {
        app.store.broker.inside.receivers.as_ref().is_some_and(|(t, rows)| t == "home/kitchen/temp" && rows.len() == 1)
    });
    h.get_by_label("Who receives home/kitchen/temp:");
    h.get_by_label("via home/+/temp");
    assert!(h.query_all_by_label("listener-7").count() >= 2, "in the receivers and in the list");
    h.get_by_label_contains("1 of 1 subscriptions");
}
