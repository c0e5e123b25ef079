//! The newer broker-inside views through egui_kittest, with the real runtime and embedded broker
//! and raw clients: tracing switched on for one client from the Clients tab, its packets listed in
//! the Trace tab and one decoded; the Availability tab publishing a will after asking; publishing as
//! a client id (provenance, No Local); the Subscriptions tab's never-matched filters, topics without
//! subscriber and the tree's "no sub" badge; "retained only" importing the broker's store.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::DockTab;
use mqscope::broker::codec::{ProtocolVersion, QoS};

use crate::common::step_until;
use crate::inside_ui::explorer;
use crate::raw::{self, Raw};

#[test]
fn tracing_a_client_from_the_clients_tab_lists_its_packets_and_decodes_one() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let mut traced = rt.block_on(Raw::connected(addr, ProtocolVersion::V5, "traced"));
    let mut other = rt.block_on(Raw::connected(addr, ProtocolVersion::V5, "other"));
    h.get_by_label("Broker").click();
    h.run();
    step_until(&mut h, "the client listed", |app| {
        app.store.broker.inside.clients.as_ref().is_some_and(|s| s.rows.iter().any(|r| &*r.client_id == "traced"))
    });
    h.get_by_label("traced").click();
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "Trace packets").click();
    step_until(&mut h, "the broker tracing it", |app| {
        app.store.broker.inside.clients.as_ref().is_some_and(|s| s.rows.iter().any(|r| &*r.client_id == "traced" && r.traced))
    });
    rt.block_on(async {
        traced.send(&mqscope::broker::codec::Packet::Publish(raw::publish("lab/temp", QoS::AtLeastOnce, 9, b"21.5"))).await;
        assert!(matches!(traced.expect("PUBACK").await, mqscope::broker::codec::Packet::PubAck(a) if a.pkid == 9));
        other.ping().await;
    });
    h.get_by_role_and_label(Role::Button, "Trace").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Trace);
    step_until(&mut h, "the PUBACK in the trace", |app| app.store.broker.inside.trace.rows.iter().any(|p| p.kind == "PUBACK"));
    let rows = &h.state().store.broker.inside.trace.rows;
    assert!(rows.iter().all(|p| &*p.client_id == "traced"), "only the traced client: {rows:?}");
    let publish = rows.iter().find(|p| p.kind == "PUBLISH").expect("PUBLISH row");
    let clock = mqscope::model::format::clock(publish.at);
    h.get_by_label("PUBLISH");
    h.get_by_label("PUBACK");
    // Select the PUBLISH row: its fields show decoded below the table.
    h.get_all_by_label(&clock).next().expect("the row's time").click();
    h.run();
    h.get_by_label_contains("topic: lab/temp");
    h.get_by_label_contains("payload: \"21.5\"");
}

#[test]
fn publishing_a_will_from_the_availability_tab_asks_first_and_shows_it_in_the_tree() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let mut packet = raw::connect_packet(ProtocolVersion::V5, "bulb", true, 60);
    packet.properties.session_expiry_interval = Some(60);
    packet.will = Some(mqscope::broker::codec::LastWill {
        topic: "status/bulb".into(),
        payload: bytes::Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: mqscope::broker::codec::Properties::default(),
    });
    let (_bulb, ack) = rt.block_on(Raw::connect(addr, packet));
    assert_eq!(ack.code, 0);
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_label("Availability").click();
    h.run();
    assert_eq!(h.state().dock_tab, DockTab::Availability);
    step_until(&mut h, "bulb on the board", |app| app.store.broker.inside.availability.as_ref().is_some_and(|s| s.total == 1));
    h.get_by_label("status/bulb");
    h.get_by_role_and_label(Role::Button, "Publish will now…").click();
    h.run();
    h.get_by_label("Publish the will of bulb (\"offline\" on status/bulb) now? The client stays connected and its will stays armed.");
    h.get_by_role_and_label(Role::Button, "Publish will").click();
    step_until(&mut h, "the will in the tree", |app| app.store.conns[0].tree.find("status/bulb").is_some());
    step_until(&mut h, "the board saying so", |app| {
        app.store
            .broker
            .inside
            .availability
            .as_ref()
            .is_some_and(|s| s.rows.iter().any(|r| r.retained_payload.as_deref() == Some("offline")))
    });
    h.get_by_label("shows the will (offline)");
}

/// Click a text field, then type into it.
fn type_into(h: &mut egui_kittest::Harness<'static, mqscope::app::ExplorerApp>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
}

#[test]
fn publishing_as_a_client_id_shows_it_as_publisher_and_no_local_keeps_the_message_from_it() {
    // MQTT-3.8.3-3: with No Local, a message is not forwarded to a connection with the client id
    // of its publisher.
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let (mut me, mut other) = rt.block_on(async {
        let mut me = Raw::connected(addr, ProtocolVersion::V5, "me").await;
        let options = mqscope::broker::codec::SubscriptionOptions { qos: QoS::AtMostOnce, no_local: true, ..Default::default() };
        assert_eq!(me.subscribe(1, "nl/#", options).await, [0]);
        let mut other = Raw::connected(addr, ProtocolVersion::V5, "other").await;
        assert_eq!(other.subscribe(1, "nl/#", raw::qos(QoS::AtMostOnce)).await, [0]);
        (me, other)
    });
    type_into(&mut h, Role::TextInput, "As client id", "me");
    type_into(&mut h, Role::TextInput, "Topic", "nl/t");
    type_into(&mut h, Role::MultilineTextInput, "Text payload", "hi");
    h.get_by_role_and_label(Role::Button, "Publish").click();
    step_until(&mut h, "the message in the tree", |app| app.store.conns[0].tree.find("nl/t").is_some());
    rt.block_on(async {
        assert_eq!(&other.expect_publish().await.payload[..], b"hi", "another client gets it");
        me.expect_nothing().await;
    });
    let tree = &h.state().store.conns[0].tree;
    let latest = tree.node(tree.find("nl/t").expect("topic")).latest().expect("message");
    assert_eq!(latest.meta.as_ref().and_then(|m| m.publisher.as_deref()), Some("me"), "provenance: published as me");
}

#[test]
fn the_subscriptions_tab_lists_filters_that_never_matched_and_topics_nobody_receives() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    let _clients = rt.block_on(async {
        let mut sub = Raw::connected(addr, ProtocolVersion::V5, "sub").await;
        assert_eq!(sub.subscribe(1, "typo/+/temp", raw::qos(QoS::AtMostOnce)).await, [0]);
        assert_eq!(sub.subscribe(2, "seen/#", raw::qos(QoS::AtMostOnce)).await, [0]);
        let mut publisher = Raw::connected(addr, ProtocolVersion::V5, "pub").await;
        for topic in ["seen/a", "lonely/b"] {
            publisher.send(&mqscope::broker::codec::Packet::Publish(raw::publish(topic, QoS::AtMostOnce, 0, b"1"))).await;
        }
        publisher.ping().await;
        (sub, publisher)
    });
    step_until(&mut h, "both topics in the tree", |app| app.store.conns[0].tree.topic_count() == 2);
    h.get_by_label("Broker").click();
    h.run();
    h.get_by_label("Subscriptions").click();
    step_until(&mut h, "the subscriptions snapshot", |app| app.store.broker.inside.subscriptions.as_ref().is_some_and(|s| s.total == 2));
    h.get_by_label("1 subscriptions never matched · 1 topics with no subscriber (of 2 seen since the window opened)").click();
    h.run();
    h.get_by_label("never matched: typo/+/temp (sub)");
    h.get_by_label("no subscriber: lonely/b");
    // The tree's badge, on that topic only, while this tab is shown.
    for topic in ["lonely/b", "seen/a"] {
        h.state_mut().pending_select = Some(topic.to_owned());
        h.run();
    }
    assert_eq!(h.get_all_by_label("no sub").count(), 1, "lonely/b only");
    h.state_mut().dock_tab = DockTab::Charts;
    h.run();
    assert!(h.query_by_label("no sub").is_none(), "no badge without a fresh snapshot");
}

#[test]
fn retained_only_on_local_brings_in_values_the_tree_never_saw_from_the_broker_store() {
    let (rt, mut h) = explorer();
    let addr = h.state().store.broker.local_addr.expect("addr");
    rt.block_on(async {
        let mut setter = Raw::connected(addr, ProtocolVersion::V5, "setter").await;
        let mut p = raw::publish("old/value", QoS::AtLeastOnce, 1, b"42");
        p.retain = true;
        setter.send(&mqscope::broker::codec::Packet::Publish(p)).await;
        setter.expect("PUBACK").await;
    });
    step_until(&mut h, "the value in the tree", |app| app.store.conns[0].tree.find("old/value").is_some());
    // As if the window had opened after it was stored (or its history was cleared since).
    h.state_mut().store.conns[0].tree.clear();
    h.run();
    assert!(h.state().store.conns[0].tree.find("old/value").is_none());
    h.get_by_role_and_label(Role::CheckBox, "retained only").click();
    step_until(&mut h, "the stored value back in the tree", |app| app.store.conns[0].tree.find("old/value").is_some());
    let tree = &h.state().store.conns[0].tree;
    let latest = tree.node(tree.find("old/value").expect("topic")).latest().expect("value");
    assert_eq!((&latest.payload[..], latest.retain), (&b"42"[..], true));
    assert_eq!(latest.meta.as_ref().and_then(|m| m.publisher.as_deref()), Some("setter"));
    h.get_by_label_contains("Retained store: 1 values, 1 not yet in the tree added");
}
