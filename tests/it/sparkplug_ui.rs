//! The Sparkplug tab through egui_kittest, with the real runtime and embedded broker behind it and
//! rumqttc clients as edge nodes over sockets: a node online, its sequence gap flagged, a stale
//! NDEATH (an earlier session's will) ignored, offline after its own will; and a DCMD typed in the
//! command editor, received by a subscriber, decoding to the metric sent, and shown decoded in
//! the tree.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use mqscope::app::{DockTab, ExplorerApp};
use mqscope::model::decode::sparkplug::hierarchy::Presence;
use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
use mqscope::model::decode::{self, Decoder};
use prost::Message as _;
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS};

use crate::common::{client_v4, drive_v4, next_publish_v4, step_until, wait_v4};
use crate::inside_ui::explorer;

fn metric(name: &str, alias: u64, datatype: u32, value: MetricValue) -> Metric {
    Metric { name: Some(name.to_owned()), alias: Some(alias), datatype: Some(datatype), value: Some(value), ..Metric::default() }
}

fn payload(seq: Option<u64>, metrics: Vec<Metric>) -> Vec<u8> {
    Payload { timestamp: Some(1_764_700_000_000), seq, metrics, ..Payload::default() }.encode_to_vec()
}

fn bd_seq(n: u64) -> Metric {
    metric("bdSeq", 0, 8, MetricValue::LongValue(n))
}

/// An edge node's NBIRTH with this `bdSeq`.
fn nbirth(n: u64) -> Vec<u8> {
    payload(Some(0), vec![bd_seq(n), metric("Temperature", 1, 10, MetricValue::DoubleValue(21.5))])
}

/// DATA by alias only.
fn ndata(seq: u64) -> Vec<u8> {
    payload(
        Some(seq),
        vec![Metric { alias: Some(1), datatype: Some(10), value: Some(MetricValue::DoubleValue(22.0)), ..Metric::default() }],
    )
}

/// An edge node's MQTT session, with its NDEATH (this `bdSeq`) as the will, as Sparkplug has it.
async fn edge_node(addr: std::net::SocketAddr, client_id: &str, n: u64) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let mut opts = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(std::time::Duration::from_secs(30));
    opts.set_last_will(LastWill::new("spBv1.0/plant/NDEATH/edge1", payload(None, vec![bd_seq(n)]), QoS::AtLeastOnce, false));
    let (client, mut el) = AsyncClient::new(opts, 100);
    wait_v4(&mut el, "CONNACK", |p| matches!(p, rumqttc::Packet::ConnAck(_))).await;
    (client, drive_v4(el))
}

fn presence(app: &ExplorerApp) -> Option<Presence> {
    app.store.conns[0].sparkplug.node("plant", "edge1").map(|n| n.presence)
}

/// Open the Sparkplug tab from the Tools menu.
fn open_tab(h: &mut Harness<'static, ExplorerApp>) {
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Sparkplug B edge nodes").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Sparkplug);
}

#[test]
fn a_node_goes_online_has_its_gap_flagged_ignores_a_stale_death_and_goes_offline_with_its_will() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    open_tab(&mut h);
    h.get_by_label_contains("Edge nodes appear here");

    let (first, first_loop) = rt.block_on(edge_node(addr, "edge1-a", 0));
    rt.block_on(async {
        first.publish("spBv1.0/plant/NBIRTH/edge1", QoS::AtMostOnce, false, nbirth(0)).await.expect("publish");
        first.publish("spBv1.0/plant/DBIRTH/edge1/pump", QoS::AtMostOnce, false, payload(Some(1), Vec::new())).await.expect("publish");
        for seq in [2, 3, 6] {
            first.publish("spBv1.0/plant/NDATA/edge1", QoS::AtMostOnce, false, ndata(seq)).await.expect("publish");
        }
    });
    step_until(&mut h, "the node online with its gap", |app| {
        app.store.conns[0].sparkplug.node("plant", "edge1").is_some_and(|n| n.presence == Presence::Online && n.seq == Some(6))
    });
    assert_eq!(h.get_all_by_label("● online").count(), 2, "the node and its device");
    h.get_by_label("1 gap");
    h.get_by_label_contains("Sparkplug B on Local: 1 edge node (1 online) · 1 device (1 online)");

    // Clicking the node selects its topic in the tree.
    h.get_by_label("Select edge1").click();
    h.run();
    let tree = &h.state().store.conns[0].tree;
    assert_eq!(h.state().tree.selected, tree.find("spBv1.0/plant/NDATA/edge1"));

    // The node reconnects (bdSeq 1) before the broker notices the first session is gone: the
    // first session's will then comes late, with bdSeq 0.
    let (second, second_loop) = rt.block_on(edge_node(addr, "edge1-b", 1));
    rt.block_on(second.publish("spBv1.0/plant/NBIRTH/edge1", QoS::AtMostOnce, false, nbirth(1))).expect("publish");
    step_until(&mut h, "the rebirth", |app| app.store.conns[0].sparkplug.node("plant", "edge1").is_some_and(|n| n.bd_seq == Some(1)));
    first_loop.abort();
    drop(first);
    step_until(&mut h, "the stale NDEATH", |app| {
        app.store.conns[0].sparkplug.node("plant", "edge1").is_some_and(|n| n.stale_death.is_some())
    });
    assert_eq!(presence(h.state()), Some(Presence::Online), "an NDEATH of an earlier session takes nothing offline");
    h.get_by_label("stale NDEATH");
    h.get_by_label("● online");

    // The current session ends without DISCONNECT: its will is the NDEATH that counts.
    second_loop.abort();
    drop(second);
    step_until(&mut h, "the node offline", |app| presence(app) == Some(Presence::Offline));
    assert_eq!(h.get_all_by_label("○ offline").count(), 2, "the node and, with it, its device");
    assert!(h.query_by_label("● online").is_none());
    assert!(h.query_by_label("stale NDEATH").is_none(), "the NDEATH that counted is not stale");
}

#[test]
fn a_dcmd_typed_in_the_command_editor_reaches_a_subscriber_and_shows_decoded_in_the_tree() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let (node, _node_loop) = rt.block_on(edge_node(addr, "edge1", 0));
    let (listener, mut listener_loop) = rt.block_on(async {
        let (client, mut el) = client_v4(addr, "device-side", true).await;
        client.subscribe("spBv1.0/plant/DCMD/#", QoS::AtMostOnce).await.expect("subscribe");
        wait_v4(&mut el, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
        node.publish("spBv1.0/plant/NBIRTH/edge1", QoS::AtMostOnce, false, nbirth(0)).await.expect("publish");
        let dbirth = payload(
            Some(1),
            vec![metric("Setpoint", 10, 10, MetricValue::DoubleValue(20.0)), metric("Run", 11, 11, MetricValue::BooleanValue(false))],
        );
        node.publish("spBv1.0/plant/DBIRTH/edge1/dev1", QoS::AtMostOnce, false, dbirth).await.expect("publish");
        (client, el)
    });
    open_tab(&mut h);
    step_until(&mut h, "the device", |app| app.store.conns[0].sparkplug.node("plant", "edge1").is_some_and(|n| n.devices_online() == 1));
    h.get_by_label("Send a command to edge1/dev1").click();
    h.run();
    h.get_by_label("spBv1.0/plant/DCMD/edge1/dev1");
    // Prefilled from the DBIRTH: its first metric, its datatype and value.
    let value = |h: &Harness<'static, ExplorerApp>| h.state().sparkplug.command.form.as_ref().map(|f| f.rows[0].clone());
    assert_eq!(value(&h).map(|r| (r.name, r.datatype, r.value)), Some(("Setpoint".into(), 10, "20".into())));

    // A value that does not fit its datatype is explained beside it, and Send is disabled.
    h.get_by_role_and_label(Role::TextInput, "Metric 1 value").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Metric 1 value").type_text("warm");
    h.run();
    h.get_by_label("Double takes a number (e.g. 1.5, -2e3)");
    assert!(h.get_by_label("Send").accesskit_node().is_disabled());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Metric 1 value").type_text("42.5");
    h.run();
    assert!(h.query_by_label("Double takes a number (e.g. 1.5, -2e3)").is_none());

    // A second metric from the BIRTH's list.
    h.get_by_label("Add metric").click();
    h.run();
    h.get_by_label("Run (Boolean)").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Metric 2 value").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Metric 2 value").type_text("true");
    h.run();
    assert!(!h.get_by_label("Send").accesskit_node().is_disabled());
    h.get_by_label("Send").click();
    h.run();

    let publish = rt.block_on(next_publish_v4(&mut listener_loop));
    assert_eq!(publish.topic, "spBv1.0/plant/DCMD/edge1/dev1");
    assert_eq!((publish.qos, publish.retain), (QoS::AtMostOnce, false), "Sparkplug commands: QoS 0, not retained");
    let decoded = decode::decode(Decoder::Sparkplug, &publish.payload).expect("decodes as Sparkplug B");
    assert_eq!(decoded["metrics"]["Setpoint"]["value"], 42.5);
    assert_eq!(decoded["metrics"]["Setpoint"]["datatype"], "Double");
    assert_eq!(decoded["metrics"]["Run"]["value"], true);
    drop(listener);

    step_until(&mut h, "the command's outcome", |app| {
        matches!(app.sparkplug.command.status, Some(mqscope::ui::sparkplug_command::SendStatus::Done(_)))
    });
    h.get_by_label("Published 2 metrics to spBv1.0/plant/DCMD/edge1/dev1 on Local.");
    // The tree shows the command decoded.
    h.state_mut().pending_select = Some("spBv1.0/plant/DCMD/edge1/dev1".into());
    step_until(&mut h, "the DCMD in the tree", |app| app.pending_select.is_none());
    h.get_by_label("decoded as Sparkplug B (detected under spBv1.0/#)");
    h.get_by_label("42.5");
}

#[test]
fn one_metric_of_three_devices_is_plotted_on_one_chart_each_named_from_its_own_dbirth_and_the_tree_menu_sends_a_dcmd() {
    use crate::decode_ui::{fixture, msg};
    // Aliases are unique per edge node: each device's Temperature has its own.
    let mut msgs = vec![msg("spBv1.0/plant/NBIRTH/press", nbirth(0), 60)];
    let mut seq = 0;
    for dev in 1..=3u64 {
        seq += 1;
        let birth = payload(Some(seq), vec![metric("Temperature", 10 * dev, 10, MetricValue::DoubleValue(20.0))]);
        msgs.push(msg(&format!("spBv1.0/plant/DBIRTH/press/dev{dev}"), birth, 50));
    }
    for step in 0..4u32 {
        for dev in 1..=3u32 {
            seq += 1;
            let value = MetricValue::DoubleValue(20.0 + f64::from(dev) * 10.0 + f64::from(step));
            let alias = Some(10 * u64::from(dev));
            let data = payload(Some(seq), vec![Metric { alias, datatype: Some(10), value: Some(value), ..Metric::default() }]);
            msgs.push(msg(&format!("spBv1.0/plant/DDATA/press/dev{dev}"), data, 40 - u64::from(step) * 5));
        }
    }
    let mut f = fixture(msgs);
    let h = &mut f.harness;
    for dev in 1..=3 {
        h.state_mut().pending_select = Some(format!("spBv1.0/plant/DDATA/press/dev{dev}"));
        h.run();
        h.get_by_label("Plot metrics.Temperature.value").click();
        h.run();
    }
    let charts = h.state().store.charts.charts();
    assert_eq!(charts.len(), 1, "every device on the chart shown");
    let points: Vec<Vec<f64>> = charts[0].series.iter().map(|s| s.points().iter().map(|p| p[1]).collect()).collect();
    assert_eq!(points, [[30.0, 31.0, 32.0, 33.0], [40.0, 41.0, 42.0, 43.0], [50.0, 51.0, 52.0, 53.0]]);
    for dev in 1..=3 {
        h.get_by_role_and_label(Role::CheckBox, &format!("spBv1.0/plant/DDATA/press/dev{dev}[metrics.Temperature.value]"));
    }
    // And the Sparkplug tab counts the three devices of the node (no DEATH: all online).
    assert_eq!(h.state().store.conns[0].sparkplug.node("plant", "press").map(|n| (n.devices_online(), n.gaps)), Some((3, 0)));

    // The tree's menu on a device's topic opens the command editor for that device.
    h.get_by_label("dev2").click_secondary();
    h.run();
    h.get_by_label("Send Sparkplug command…").click();
    h.run();
    h.get_by_label("spBv1.0/plant/DCMD/press/dev2");
    let form = h.state().sparkplug.command.form.as_ref().map(|f| (f.rows[0].name.clone(), f.rows[0].datatype));
    assert_eq!(form, Some(("Temperature".to_owned(), 10)), "prefilled from dev2's DBIRTH");
}
