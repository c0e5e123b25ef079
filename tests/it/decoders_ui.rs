//! The Decoders window and publishing through a binding, through egui_kittest with the real runtime
//! and embedded broker: bind a filter to a Protobuf message type of a .proto (with an import and
//! nested messages) and see a real client's message decoded in the inspector; a .proto that does not
//! compile shows its error in the window; JSON published through a CBOR binding arrives as CBOR and
//! decodes to the same value; JSON that does not fit is explained and not published.

use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use mqscope::app::ExplorerApp;
use mqscope::model::decode::{Decoder, ProtoSchema, decode};
use serde_json::json;

use crate::common::step_until;

/// A .proto with an import and a nested message, in a fresh directory.
fn proto_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqscope-decoders-ui-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("common")).expect("mkdir");
    std::fs::write(
        dir.join("common/units.proto"),
        "syntax = \"proto3\";\npackage common;\nenum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; }\n",
    )
    .expect("write import");
    std::fs::write(
        dir.join("machine.proto"),
        "syntax = \"proto3\";\npackage factory.v1;\nimport \"common/units.proto\";\n\
         message Reading {\n  message Sample { double value = 1; common.Unit unit = 2; }\n  string machine = 1;\n  repeated Sample samples = 2;\n}\n",
    )
    .expect("write proto");
    dir
}

fn type_into(h: &mut Harness<'static, ExplorerApp>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
}

/// Open the Decoders window from the Tools menu.
fn open_decoders(h: &mut Harness<'static, ExplorerApp>) {
    h.get_by_label("Tools").click();
    h.run();
    h.get_by_label("Decoders…").click();
    h.run();
}

/// Type the .proto's path next to Browse… and compile it; wait for the runtime's answer.
fn compile(h: &mut Harness<'static, ExplorerApp>, file: &Path) {
    type_into(h, Role::TextInput, "Schema file (.proto)", &file.display().to_string());
    h.get_by_role_and_label(Role::Button, "Compile").click();
    let file = file.to_path_buf();
    step_until(h, "the .proto compiled", move |app| app.decoders.schemas.file(&file).is_some());
}

#[test]
fn a_filter_bound_to_a_protobuf_type_in_the_window_decodes_a_real_clients_message() {
    let dir = proto_dir("bind");
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    let (rt, mut h) = crate::ui::explorer_sized(&config_dir, [1280.0, 800.0]);
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    let addr = h.state().store.broker.local_addr.expect("addr");
    let file = dir.join("machine.proto");
    let sent = json!({"machine": "press-1", "samples": [{"value": 61.5, "unit": "CELSIUS"}, {"value": 2.25, "unit": "UNIT_UNSPECIFIED"}]});
    let bytes = ProtoSchema::compile(&file, "factory.v1.Reading").expect("compiles").encode(&sent).expect("encodes");
    rt.block_on(async {
        let (c, mut el) = crate::common::client_v4(addr, "press-1", true).await;
        c.publish("factory/press1/pb", rumqttc::QoS::AtLeastOnce, false, bytes).await.expect("publish");
        crate::common::wait_v4(&mut el, "PUBACK", |p| matches!(p, rumqttc::Packet::PubAck(_))).await;
    });
    step_until(&mut h, "the message in the tree", |app| app.store.conns[0].tree.find("factory/press1/pb").is_some());

    // The tree's menu opens the window with the filter filled in.
    h.get_by_label("factory").click_secondary();
    h.run();
    h.get_by_label("Decode below here as …").click();
    h.run();
    h.get_by_label("Protobuf…").click();
    h.run();
    assert!(h.state().decoders_window.open);
    assert_eq!(h.get_by_role_and_label(Role::TextInput, "Binding filter").value().as_deref(), Some("factory/#"));
    assert!(h.get_by_role_and_label(Role::Button, "Add binding").accesskit_node().is_disabled(), "no schema yet");
    compile(&mut h, &file);
    h.get_by_label("compiled: 2 message types");
    h.get_by_role_and_label(Role::ComboBox, "Message type").click();
    h.run();
    h.get_by_label("factory.v1.Reading").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Add binding").click();
    h.run();
    let applied = h.state().decoders.bindings.applied("factory/press1/pb").expect("bound");
    assert_eq!(
        (applied.decoder, applied.proto.map(|p| (p.file, p.message))),
        (Decoder::Protobuf, Some((file.clone(), "factory.v1.Reading".into())))
    );
    h.get_by_label("factory.v1.Reading (machine.proto)");
    h.get_by_label("ok");
    // Saved with the path and message type, for the next start.
    let toml = config_dir.join("decoders.toml");
    step_until(&mut h, "decoders.toml written", |_| std::fs::read_to_string(&toml).is_ok_and(|t| t.contains("factory.v1.Reading")));
    let text = std::fs::read_to_string(&toml).expect("decoders.toml");
    assert!(text.contains("decoder = \"protobuf\"") && text.contains("machine.proto"), "{text}");

    h.state_mut().decoders_window.open = false;
    h.state_mut().pending_select = Some("factory/press1/pb".into());
    h.run();
    h.get_by_label("decoded as Protobuf (binding factory/#)");
    h.get_by_label("\"press-1\"");
    h.get_by_label("61.5");
    h.get_by_label("\"CELSIUS\"");
    // Plot by field path, through the same schema.
    h.get_by_label("Plot samples[0].value").click();
    h.run();
    let series = &h.state().store.charts.charts()[0].series[0];
    assert_eq!(series.def.proto.as_ref().map(|p| p.message.as_str()), Some("factory.v1.Reading"));
    assert_eq!(series.points().iter().map(|p| p[1]).collect::<Vec<_>>(), [61.5]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_proto_that_does_not_compile_shows_its_error_with_file_and_line_in_the_window() {
    let dir = proto_dir("broken");
    std::fs::write(dir.join("broken.proto"), "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n").expect("write");
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    open_decoders(&mut h);
    type_into(&mut h, Role::TextInput, "Binding filter", "lab/pb/#");
    compile(&mut h, &dir.join("broken.proto"));
    h.get_by_label_contains("broken.proto:3:");
    assert!(h.get_by_role_and_label(Role::Button, "Add binding").accesskit_node().is_disabled(), "a broken schema is not bound");
    assert!(h.get_by_role_and_label(Role::ComboBox, "Message type").accesskit_node().is_disabled());
    // A filter that is not an MQTT filter is explained next to its field.
    h.get_by_role_and_label(Role::TextInput, "Binding filter").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Binding filter").type_text("x#");
    h.run();
    h.get_by_label_contains("Not an MQTT filter: + must fill a whole level");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn json_published_through_a_cbor_binding_arrives_as_cbor_and_decodes_to_the_same_value() {
    let (_rt, mut h) = crate::ui::explorer();
    step_until(&mut h, "the embedded broker", |app| app.store.broker.running);
    open_decoders(&mut h);
    type_into(&mut h, Role::TextInput, "Binding filter", "lab/#");
    h.get_by_role_and_label(Role::ComboBox, "Decoder").click();
    h.run();
    h.get_by_label("CBOR").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Add binding").click();
    h.run();
    assert_eq!(h.state().decoders.bindings.applied("lab/cbor").map(|a| a.decoder), Some(Decoder::Cbor));
    h.state_mut().decoders_window.open = false;
    h.run();

    type_into(&mut h, Role::TextInput, "Topic", "lab/cbor");
    let typed = r#"{"temp": 21.5, "raw": {"$bytes": "AAH/"}, "when": {"$tag": 1, "value": 1700000000}, "keys": {"$map": [[1, "one"]]}}"#;
    // Something that does not fit first: explained, and Publish is disabled.
    type_into(&mut h, Role::MultilineTextInput, "JSON payload, published as CBOR", r#"{"raw": {"$bytes": "no!"}}"#);
    h.get_by_label_contains("at $.raw: $bytes is not base64");
    assert!(h.get_by_role_and_label(Role::Button, "Publish").accesskit_node().is_disabled());
    h.get_by_role_and_label(Role::MultilineTextInput, "JSON payload, published as CBOR").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::MultilineTextInput, "JSON payload, published as CBOR").type_text(typed);
    h.run();
    let expected: serde_json::Value = serde_json::from_str(typed).expect("json");
    let size = mqscope::model::decode::encode(Decoder::Cbor, &expected, None).expect("encodes").len();
    h.get_by_label(&format!("Encodes to {size} B of CBOR"));
    h.get_by_role_and_label(Role::Button, "Publish").click();
    h.run();
    step_until(&mut h, "the message back from the broker", |app| app.store.conns[0].tree.find("lab/cbor").is_some());
    let conn = &h.state().store.conns[0];
    let msg = conn.tree.node(conn.tree.find("lab/cbor").expect("node")).latest().expect("a message").clone();
    assert_eq!(msg.payload.len(), size);
    assert_eq!(msg.payload[0] & 0xe0, 0xa0, "a CBOR map, not JSON text");
    assert_eq!(decode(Decoder::Cbor, &msg.payload).expect("CBOR"), expected);
    h.state_mut().pending_select = Some("lab/cbor".into());
    h.run();
    h.get_by_label("decoded as CBOR (binding lab/#)");
    h.get_by_label("21.5");
}
