//! Decoded payloads in the window through egui_kittest: bind a decoder from the tree's context
//! menu, see the decoded tree with the binding named, plot a decoded field, switch to the raw
//! views; Sparkplug B detected under `spBv1.0/` with names from the BIRTH; errors with the offset.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::model::decode::sparkplug::proto::{Metric, MetricValue, Payload};
use mqscope::model::decode::{BindingFile, Decoder};
use mqscope::model::{ConnId, Message, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, EventSink};
use prost::Message as _;
use tokio::sync::mpsc;

pub(crate) struct Fixture {
    pub(crate) harness: Harness<'static, ExplorerApp>,
    commands: mpsc::Receiver<Command>,
    _sink: EventSink,
}

pub(crate) fn msg(topic: &str, payload: Vec<u8>, ago_secs: u64) -> Message {
    Message::new(topic, Bytes::from(payload), QoS::AtMostOnce, false, SystemTime::now() - Duration::from_secs(ago_secs))
}

pub(crate) fn fixture(msgs: Vec<Message>) -> Fixture {
    let (cmd_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.store.insert_messages(ConnId::LOCAL, msgs);
    app.tree.flash = false;
    let mut harness = Harness::builder().with_size([1400.0, 900.0]).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    harness.run();
    Fixture { harness, commands, _sink: sink }
}

fn packed(temperature: f64) -> Vec<u8> {
    let value = rmpv::Value::Map(vec![
        (rmpv::Value::from("temperature"), rmpv::Value::F64(temperature)),
        (rmpv::Value::from("ok"), rmpv::Value::Boolean(true)),
    ]);
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &value).expect("encode");
    out
}

fn metric(name: Option<&str>, alias: u64, value: f64) -> Metric {
    Metric {
        name: name.map(str::to_owned),
        alias: Some(alias),
        datatype: Some(10),
        value: Some(MetricValue::DoubleValue(value)),
        ..Metric::default()
    }
}

fn spark(seq: u64, metrics: Vec<Metric>) -> Vec<u8> {
    Payload { timestamp: Some(1_700_000_000_000), seq: Some(seq), metrics, ..Payload::default() }.encode_to_vec()
}

#[test]
fn bind_a_decoder_from_the_tree_see_the_decoded_value_plot_a_field_and_switch_to_raw() {
    let mut f = fixture(vec![msg("factory/line1/pack", packed(61.5), 20), msg("factory/line1/pack", packed(62.0), 10)]);
    let h = &mut f.harness;
    h.get_by_label("factory").click_secondary();
    h.run();
    h.get_by_label("Decode below here as …").click();
    h.run();
    h.get_by_label("MessagePack").click();
    h.run();
    assert_eq!(
        h.state().decoders.bindings.applied("factory/line1/pack").map(|a| (a.decoder, a.filter)),
        Some((Decoder::MsgPack, "factory/#".to_owned()))
    );
    let saved = std::iter::from_fn(|| f.commands.try_recv().ok()).find_map(|c| match c {
        Command::SaveDecoders(file) => Some(file),
        _ => None,
    });
    let mut expected = BindingFile::default();
    expected.bind("factory/#", Decoder::MsgPack);
    assert_eq!(saved, Some(expected), "the binding is saved to the config dir");

    let h = &mut f.harness;
    h.state_mut().pending_select = Some("factory/line1/pack".into());
    h.run();
    h.get_by_label("decoded as MessagePack (binding factory/#)");
    h.get_by_label("62.0");
    h.get_by_label("Plot temperature").click();
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "factory/line1/pack[temperature]");
    let series = &h.state().store.charts.charts()[0].series[0];
    assert_eq!(series.def.decoder, Some(Decoder::MsgPack));
    assert_eq!(series.points().iter().map(|p| p[1]).collect::<Vec<_>>(), [61.5, 62.0], "the history decodes too");

    h.get_by_label("Show raw").click();
    h.run();
    assert!(h.query_by_label("decoded as MessagePack (binding factory/#)").is_none());
    h.get_by_label("Decode as MessagePack").click();
    h.run();
    h.get_by_label("decoded as MessagePack (binding factory/#)");

    // Unbind from the same menu: the raw views are back, the bindings saved again.
    h.get_by_label("factory").click_secondary();
    h.run();
    h.get_by_label("Decode below here as …").click();
    h.run();
    h.get_by_label("No binding").click();
    h.run();
    assert!(h.query_by_label("decoded as MessagePack (binding factory/#)").is_none());
    assert_eq!(h.state().decoders.bindings, BindingFile::default());
    let saved = std::iter::from_fn(|| f.commands.try_recv().ok()).find_map(|c| match c {
        Command::SaveDecoders(file) => Some(file),
        _ => None,
    });
    assert_eq!(saved, Some(BindingFile::default()));
}

#[test]
fn sparkplug_is_detected_named_from_the_birth_and_plotted_by_metric_name() {
    let birth = spark(0, vec![metric(Some("Temperature"), 1, 20.0), metric(Some("Pressure"), 2, 1.0)]);
    let mut f = fixture(vec![
        msg("spBv1.0/plant/NBIRTH/edge1", birth, 30),
        msg("spBv1.0/plant/NDATA/edge1", spark(1, vec![metric(None, 1, 21.5)]), 20),
        msg("spBv1.0/plant/NDATA/edge1", spark(2, vec![metric(None, 1, 22.5)]), 10),
        msg("spBv1.0/plant/NDATA/edge2", vec![0x12, 0x40, 0x01], 10),
    ]);
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("spBv1.0/plant/NDATA/edge1".into());
    h.run();
    h.get_by_label("decoded as Sparkplug B (detected under spBv1.0/#)");
    h.get_by_label("22.5");
    h.get_by_label("Plot metrics.Temperature.value").click();
    h.run();
    let series = &h.state().store.charts.charts()[0].series[0];
    assert_eq!(series.def.decoder, Some(Decoder::Sparkplug));
    assert_eq!(series.points().iter().map(|p| p[1]).collect::<Vec<_>>(), [21.5, 22.5]);

    // Two history entries compare by their decoded values.
    for label in ["Compare message 1", "Compare message 2"] {
        h.get_by_label(label).click();
        h.run();
    }
    h.get_by_label("~ metrics.Temperature.value: 21.5 → 22.5");
    h.get_by_label("~ seq: 1 → 2");

    h.state_mut().pending_select = Some("spBv1.0/plant/NDATA/edge2".into());
    h.run();
    let error = h.get_by_label_contains("Cannot decode as Sparkplug B");
    let text = format!("{error:?}");
    assert!(text.contains("at byte 0"), "{text}");
}

#[test]
fn a_declared_cbor_content_type_is_decoded_without_a_binding() {
    let mut value = Vec::new();
    ciborium::ser::into_writer(
        &ciborium::Value::Map(vec![(ciborium::Value::Text("level".into()), ciborium::Value::Float(0.75))]),
        &mut value,
    )
    .expect("encode");
    let mut m = msg("tank/1", value, 10);
    m.meta = Some(Arc::new(mqscope::model::MessageMeta { content_type: Some("application/cbor".into()), ..Default::default() }));
    let mut f = fixture(vec![m, msg("tank/2", vec![0xa1, 0x61], 10)]);
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("tank/1".into());
    h.run();
    h.get_by_label("decoded as CBOR (declared content type application/cbor)");
    h.get_by_label("0.75");
    // The same bytes without a declaration are never guessed: raw views.
    h.state_mut().pending_select = Some("tank/2".into());
    h.run();
    assert!(h.query_by_label_contains("decoded as").is_none());
}
