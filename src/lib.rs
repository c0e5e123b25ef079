//! mqscope: a native MQTT explorer with its own embedded MQTT 3.1.1 / 5.0 broker.
//!
//! The egui front-end talks over bounded channels to a tokio runtime that hosts the embedded broker
//! and the client sessions to external brokers. The broker runs in the same process, so the explorer
//! sees every message routed through it from inside, without a `#` subscription.
//!
//! # Layout
//! - [`app`]: the window: drains events into the store, lays out the panels.
//! - [`protocol`]: `Command` (UI → runtime), `Event` (runtime → UI), `EventSink`.
//! - [`runtime`]: the background task that owns the broker and client sessions.
//! - [`broker`]: the embedded broker (codec, sessions, router, retained store).
//! - [`bench`]: `mqscope bench`, a load generator for any MQTT broker.
//! - [`client`]: sessions to external brokers (rumqttc).
//! - [`model`]: what the UI shows, plain data (no egui, no tokio).
//! - [`ui`]: the panels.
//! - [`passwd_cmd`]: `mqscope passwd`, which writes a user into a mosquitto_passwd file.
//! - [`demo`]: a publisher of realistic home and factory topics, for trying mqscope and for screenshots.

pub mod app;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod demo;
pub mod model;
pub mod passwd_cmd;
pub mod protocol;
pub mod runtime;
pub mod storage;
pub mod topic;
pub mod ui;
