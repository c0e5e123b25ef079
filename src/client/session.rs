//! One connection to an external broker through rumqttc (MQTT 3.1.1 or 5.0; TCP, TLS or
//! WebSocket), with capped back-off reconnects: checks the TLS files, then hands over to the
//! protocol loop of the profile's version ([`super::v4`], [`super::v5`]), which share a
//! [`Link`].

use std::sync::Arc;

use tokio::sync::mpsc;

use super::link::Link;
use super::{v4, v5};
use crate::model::profile::{MqttVersion, Profile};
use crate::model::{ConnId, ConnStatus};
use crate::protocol::recording::RecordSlot;
use crate::protocol::{Event, EventSink, PublishRequest};

/// Drive one connection until the publish channel closes (the connection was removed).
pub async fn run(
    conn_id: ConnId,
    profile: Profile,
    publishes: mpsc::Receiver<PublishRequest>,
    sink: EventSink,
    recording: Arc<RecordSlot>,
) {
    if profile.transport.is_tls()
        && let Err(err) = super::tls::check_files(&profile.tls)
    {
        let status = ConnStatus::Disconnected { error: Some(format!("TLS setup: {err}")) };
        sink.control(Event::ConnStatus { conn_id, status }).await;
        return;
    }
    let conn = Link::new(conn_id, &profile, sink.clone(), recording);
    match profile.version {
        MqttVersion::V311 => v4::run(conn, &profile, publishes).await,
        MqttVersion::V5 => v5::run(conn, &profile, publishes).await,
    }
}
