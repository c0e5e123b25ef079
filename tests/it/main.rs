//! Integration tests, linked into one binary (faster to build than one per file).
//!
//! Every test talks over real sockets on 127.0.0.1.

/// Shared helpers: start a broker on a free port, poll clients with a hang guard.
mod common;

/// `mqscope bench`, every mode against the embedded broker.
mod bench;

/// Decoded payloads in the window: bindings, the decoded tree, Plot on a decoded field, Sparkplug B.
mod decode_ui;

/// The Decoders window (Protobuf bindings from .proto files) and publishing JSON through a binding.
mod decoders_ui;

/// A byte-level MQTT peer built on our codec, for exact and malformed input.
mod raw;

/// The ACL: SUBSCRIBE and PUBLISH refused per filter and topic, %c patterns, deny below a wildcard, SIGHUP reload.
mod broker_acl;
/// Password files (mosquitto_passwd's and `mqscope passwd`'s), refusal codes, certificate identities.
mod broker_auth;
/// The availability board: wills next to the retained status they set; publish a will now.
mod broker_availability;
/// How connections end: graceful close after an error, peers that do not read, bounded shutdown.
mod broker_close;
/// `mqscope broker -c FILE`, `--print-config`, configuration errors with exit code 2, `--tls-generate`.
mod broker_config;
/// CONNECT/CONNACK: protocol level, client ids, Clean Start, Session Present, limits, takeover, AUTH.
mod broker_connect;
/// Fault injection with real clients: refused CONNECT (mosquitto_pub), withheld PUBACK, delays, takeover.
mod broker_faults;
/// Seeded random packet sequences against one session: well-formed replies or a close, never a panic.
mod broker_fuzz;
/// The broker from inside: clients, subscriptions and retained views; disconnect, drop, expire.
mod broker_inside;
/// Keep-alive at 1.5 × under tokio's paused clock.
mod broker_keepalive;
/// Malformed and boundary input, Maximum Packet Size, back-pressure.
mod broker_limits;
/// The embedded broker against Debian's mosquitto_pub / mosquitto_sub (3.1.1 and -V 5).
mod broker_mosquitto;
/// Order across connections: a SUBSCRIBE on the wire before another client's PUBLISH sees it.
mod broker_order;
/// Persistence (`--data-dir`): retained messages and sessions across restarts and `kill -9`, damaged journals.
mod broker_persist;
/// QoS 0/1/2 flows, Receive Maximum both ways, acknowledgement codes, ordering.
mod broker_qos;
/// Raw bytes: malformed packets end only their own connection.
mod broker_raw;
/// Retained messages: replace, clear, Retain Handling, expiry.
mod broker_retained;
/// Persistent sessions: resumption, redelivery, offline queue bounds, expiry.
mod broker_session;
/// Shared subscriptions: one member per message, redelivery when a member leaves.
mod broker_shared;
/// Subscribe/unsubscribe: filter validation, `$` topics, overlapping subscriptions, options.
mod broker_subscribe;
/// `$SYS/broker/...` topics.
mod broker_sys;
/// TLS listeners with generated certificates: mqtts and wss, mutual TLS, a wrong CA.
mod broker_tls;
/// The packet trace with real clients: a QoS 2 handshake, a refused SUBSCRIBE, passwords redacted.
mod broker_trace;
/// The embedded broker against rumqttc's MQTT 3.1.1 client.
mod broker_v4;
/// The embedded broker against rumqttc's MQTT 5 client.
mod broker_v5;
/// MQTT 5 PUBLISH properties: pass-through, expiry, topic aliases, payload format.
mod broker_v5_props;
/// Wills: QoS/retain/properties, when they fire, Will Delay Interval.
mod broker_will;
/// MQTT over WebSocket: mqscope's ws:// client against our WebSocket listener, MQTT-6.0.0-1..4.
mod broker_ws;
/// Charts through egui_kittest: plot from the tree, the inspector and JSON fields; legend, stats, CSV.
mod capture_ui;
/// The Settings window's broker sections (certificates, TLS and access) with the real runtime.
mod certs_ui;
mod charts;
mod cli;
/// Profiles and client sessions against a real mosquitto: TCP, auth, TLS, mTLS, MQTT 5, ACL, reconnect.
mod client_mosquitto;
/// The panels through egui_kittest with a fed store: filter, sort, keys, diff, publish, templates, bad input.
mod explorer;
/// The Faults tab through egui_kittest: add a refusal (mosquitto_pub reports it), the red strip, Clear all.
mod faults_ui;
/// The dock's broker tabs through egui_kittest with the real runtime: Clients list and actions.
mod inside_ui;
/// Mouse and keyboard in the tree, toolbar and inspector: Esc, tabs, scroll, right-click, regex errors.
mod interactions;
/// The window at 800×600 and up: minimum widths, no overlap, badges and hex columns in view.
mod layout;
/// The publish panel and sessions tell the truth: queued, sent, delivered, refused; confirm before a delete.
mod publish_panel;
/// The Retained tab: the store's rows from real clients, deleting with confirmation, a 100k subtree.
mod retained_view;

/// `runtime::run` end to end: commands in, events out.
mod runtime;
/// The Sparkplug tab: edge nodes online and offline, gaps, a stale NDEATH; NCMD/DCMD sent and seen decoded.
mod sparkplug_ui;
/// No topic and no latest value lost with a slow UI: external mosquitto and embedded broker bursts.
mod timers_ui;
/// Trace, Availability, publish as a client, never-matched subscriptions, "retained only" from the store, through egui_kittest.
mod trace_ui;
mod tree_truth;
/// The window through egui_kittest's accessibility tree, with the real runtime and broker behind it.
mod ui;
