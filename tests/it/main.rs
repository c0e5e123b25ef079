//! Integration tests, linked into one binary (faster to build than one per file).
//!
//! Every test talks over real sockets on 127.0.0.1.

/// Shared helpers: start a broker on a free port, poll clients with a hang guard.
mod common;

/// The embedded broker against Debian's mosquitto_pub / mosquitto_sub (3.1.1 and -V 5).
mod broker_mosquitto;
/// Raw bytes: malformed packets end only their own connection.
mod broker_raw;
/// The embedded broker against rumqttc's MQTT 3.1.1 client.
mod broker_v4;
/// The embedded broker against rumqttc's MQTT 5 client.
mod broker_v5;
/// Charts through egui_kittest: plot from the tree, the inspector and JSON fields; legend, stats, CSV.
mod charts;
/// The panels through egui_kittest with a fed store: filter, sort, keys, diff, publish, templates, bad input.
mod explorer;
/// `runtime::run` end to end: commands in, events out.
mod runtime;
/// The window through egui_kittest's accessibility tree, with the real runtime and broker behind it.
mod ui;
