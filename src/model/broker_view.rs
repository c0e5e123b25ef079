//! The embedded broker seen from inside, as plain data: its clients and sessions, its
//! subscriptions and its retained store, in snapshots the UI asks for while a view is shown.
//!
//! Owns: the row types ([`ClientRow`], [`SubscriptionRow`], [`RetainedRow`]), the [`Snapshot`] of
//! each, the [`BrokerView`] the store keeps (the latest snapshot of each view), and the pure
//! filter/sort helpers the panels use. No egui, no tokio, no clock reads: every time comes in the
//! snapshot, stamped by the runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use super::QoS;
use super::availability::AvailabilityRow;
use super::faults::Fault;
use super::packet_trace::{PacketTrace, TraceUpdate};

/// Most rows one snapshot carries; the total says how many there were (the bound is shown).
pub const MAX_ROWS: usize = 20_000;

/// A will as the broker holds it (payload left out: it may be large and is not needed to list it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WillInfo {
    /// Will topic.
    pub topic: String,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// MQTT 5 Will Delay Interval, seconds (0: none).
    pub delay_secs: u32,
    /// Payload size, bytes.
    pub payload_len: usize,
}

/// One session of the embedded broker, connected or offline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRow {
    /// Client identifier.
    pub client_id: Arc<str>,
    /// A connection is attached.
    pub online: bool,
    /// Address of the attached connection.
    pub address: Option<SocketAddr>,
    /// MQTT protocol level of the latest connection: 4 (3.1.1) or 5.
    pub protocol: u8,
    /// Keep-alive granted, seconds (0: none).
    pub keep_alive_secs: u16,
    /// Clean Start (5.0) / Clean Session (3.1.1) of the latest CONNECT.
    pub clean_start: bool,
    /// Session Expiry Interval, seconds (`u32::MAX`: never).
    pub session_expiry_secs: u32,
    /// For an offline session: seconds until it expires (`None`: never, or online).
    pub expires_in_secs: Option<u64>,
    /// Will of the attached connection.
    pub will: Option<WillInfo>,
    /// Outgoing QoS 1/2 messages awaiting acknowledgement.
    pub inflight_out: usize,
    /// Incoming QoS 2 messages awaiting PUBREL.
    pub inflight_in: usize,
    /// Messages waiting to be sent (queued and owed retained).
    pub queued_msgs: usize,
    /// Bytes waiting in the queue.
    pub queued_bytes: usize,
    /// Messages dropped for this session (queue full, expired, too large, QoS 0 while offline).
    pub dropped: u64,
    /// PUBLISH packets received from the client.
    pub msgs_in: u64,
    /// PUBLISH packets sent to the client.
    pub msgs_out: u64,
    /// Bytes read from the client's connections.
    pub bytes_in: u64,
    /// Bytes written to the client's connections.
    pub bytes_out: u64,
    /// Subscriptions held.
    pub subscriptions: usize,
    /// When the current (or last) connection was accepted.
    pub connected_at: Option<SystemTime>,
    /// When a packet last came from the client.
    pub last_activity: Option<SystemTime>,
    /// Its packets are being traced ([`super::packet_trace`]).
    pub traced: bool,
}

/// One subscription of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// The subscribing session.
    pub client_id: Arc<str>,
    /// The filter without its `$share/{group}/` prefix.
    pub filter: String,
    /// Shared subscription group, if any.
    pub share_group: Option<String>,
    /// Maximum QoS granted.
    pub qos: QoS,
    /// No Local.
    pub no_local: bool,
    /// Retain As Published.
    pub retain_as_published: bool,
    /// Retain Handling: 0 send at subscribe, 1 only if new, 2 never.
    pub retain_handling: u8,
    /// MQTT 5 Subscription Identifier.
    pub subscription_id: Option<u32>,
    /// Whether the session is connected.
    pub online: bool,
}

/// One retained message in the broker's store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetainedRow {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload size, bytes.
    pub size: usize,
    /// When the broker stored it (to the second).
    pub stored_at: SystemTime,
    /// Client id that set it.
    pub publisher: Arc<str>,
    /// QoS it was published with.
    pub qos: QoS,
    /// Seconds of Message Expiry Interval left (`None`: no expiry).
    pub expires_in_secs: Option<u64>,
}

/// Who receives a message on one topic: one row per session (or per shared group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// The session; for a shared group, the member that would get the next message.
    pub client_id: Arc<str>,
    /// Shared group, if the copy goes through one (one delivery for the whole group).
    pub share_group: Option<String>,
    /// Members of the shared group (1 otherwise).
    pub members: usize,
    /// Highest QoS granted over the matching subscriptions (the copy goes at min(published, this)).
    pub max_qos: QoS,
    /// Filters that matched.
    pub filters: Vec<String>,
}

/// A list taken from the broker at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<T> {
    /// At most [`MAX_ROWS`] rows.
    pub rows: Vec<T>,
    /// How many there were in all (more than `rows.len()` when the bound cut the list).
    pub total: usize,
    /// When it was taken.
    pub taken_at: SystemTime,
}

impl<T> Snapshot<T> {
    /// Rows left out by the bound.
    #[must_use]
    pub fn cut(&self) -> usize {
        self.total.saturating_sub(self.rows.len())
    }
}

/// What the store knows of the embedded broker's inside: the latest snapshot of each view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerView {
    /// Sessions, online and offline.
    pub clients: Option<Snapshot<ClientRow>>,
    /// Every subscription.
    pub subscriptions: Option<Snapshot<SubscriptionRow>>,
    /// The retained store (rows matching the filter asked for).
    pub retained: Option<Snapshot<RetainedRow>>,
    /// Who receives a message on this topic.
    pub receivers: Option<(String, Vec<Receiver>)>,
    /// The packet trace, as far as fetched.
    pub trace: PacketTrace,
    /// Faults injected and still active, as the broker last said.
    pub faults: Vec<Fault>,
    /// Every session with a will and the retained value its will would set.
    pub availability: Option<Snapshot<AvailabilityRow>>,
    /// The last import of the retained store into the tree: (inserted, in the store, cut by the bound).
    pub retained_import: Option<(usize, usize, usize)>,
}

/// What the explorer does to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAction {
    /// End its connection with this reason code (a 5.0 client gets DISCONNECT with it; a 3.1.1 client
    /// just sees the close). The will is discarded for 0x00 and published otherwise.
    Disconnect {
        /// Whose.
        client_id: String,
        /// DISCONNECT reason code.
        code: u8,
    },
    /// Close its connection without DISCONNECT, as a network failure would: the will is published.
    Drop {
        /// Whose.
        client_id: String,
    },
    /// End an offline session now, as if its Session Expiry Interval had run out (a will waiting
    /// for its delay goes out first, 5.0 §3.1.3.2.2).
    Expire {
        /// Whose.
        client_id: String,
    },
    /// Publish its will now, as the broker would when the connection ends (the client stays
    /// connected and its will stays armed; a will waiting for its delay goes out now instead).
    PublishWill {
        /// Whose.
        client_id: String,
    },
    /// Take its session over as a second connection with its client id would: the connection gets
    /// DISCONNECT 0x8E Session taken over (MQTT-3.1.4-3) and its will is published.
    TakeOver {
        /// Whose.
        client_id: String,
    },
    /// Trace its packets, or stop (no confirmation: nothing is lost either way).
    Trace {
        /// Whose; `None`: every client, present and future (off: nobody's any more).
        client_id: Option<String>,
        /// On or off.
        on: bool,
    },
}

/// A view's new snapshot, from the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsideUpdate {
    /// Sessions.
    Clients(Snapshot<ClientRow>),
    /// Subscriptions.
    Subscriptions(Snapshot<SubscriptionRow>),
    /// Retained store.
    Retained(Snapshot<RetainedRow>),
    /// Who receives a message on this topic.
    Receivers(String, Vec<Receiver>),
    /// New packets of the trace.
    Trace(TraceUpdate),
    /// The faults active now.
    Faults(Vec<Fault>),
    /// The availability board.
    Availability(Snapshot<AvailabilityRow>),
    /// Every retained value in the store (at most [`RETAINED_IMPORT_MAX`]), for the tree's
    /// "retained only" mode; folded into the tree by [`crate::model::Store::import_retained`].
    RetainedValues(Snapshot<super::Message>),
}

/// Most retained values imported into the tree at once (the count left out is shown).
pub const RETAINED_IMPORT_MAX: usize = 200_000;

impl BrokerView {
    /// Keep a new snapshot.
    pub fn apply(&mut self, update: InsideUpdate) {
        match update {
            InsideUpdate::Clients(s) => self.clients = Some(s),
            InsideUpdate::Subscriptions(s) => self.subscriptions = Some(s),
            InsideUpdate::Retained(s) => self.retained = Some(s),
            InsideUpdate::Receivers(topic, rows) => self.receivers = Some((topic, rows)),
            InsideUpdate::Trace(update) => self.trace.apply(update),
            InsideUpdate::Faults(list) => self.faults = list,
            InsideUpdate::Availability(s) => self.availability = Some(s),
            // Folded into the tree by the store (`Store::import_retained`), not kept here.
            InsideUpdate::RetainedValues(_) => {}
        }
    }
}

/// Columns the clients view sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientSort {
    /// Client identifier.
    #[default]
    Id,
    /// Online first, then by address.
    Address,
    /// Messages waiting.
    Queued,
    /// Messages dropped.
    Dropped,
    /// PUBLISH received from the client.
    MsgsIn,
    /// PUBLISH sent to the client.
    MsgsOut,
    /// Last packet from the client.
    LastActivity,
}

/// Indices of the rows whose client id or address contains `filter` (case-insensitive), sorted by
/// `sort` (ties by client id), descending when `desc`.
#[must_use]
pub fn client_order(rows: &[ClientRow], filter: &str, sort: ClientSort, desc: bool) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let mut idx: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            needle.is_empty()
                || rows[i].client_id.to_lowercase().contains(&needle)
                || rows[i].address.is_some_and(|a| a.to_string().contains(&needle))
        })
        .collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (&rows[a], &rows[b]);
        let primary = match sort {
            ClientSort::Id => std::cmp::Ordering::Equal,
            ClientSort::Address => (!x.online, x.address).cmp(&(!y.online, y.address)),
            ClientSort::Queued => x.queued_msgs.cmp(&y.queued_msgs),
            ClientSort::Dropped => x.dropped.cmp(&y.dropped),
            ClientSort::MsgsIn => x.msgs_in.cmp(&y.msgs_in),
            ClientSort::MsgsOut => x.msgs_out.cmp(&y.msgs_out),
            ClientSort::LastActivity => x.last_activity.cmp(&y.last_activity),
        };
        let ord = primary.then_with(|| x.client_id.cmp(&y.client_id));
        if desc { ord.reverse() } else { ord }
    });
    idx
}

/// Indices of the subscriptions whose client id or filter contains `filter` (case-insensitive),
/// by client id then filter.
#[must_use]
pub fn subscription_order(rows: &[SubscriptionRow], filter: &str) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let mut idx: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            needle.is_empty() || rows[i].client_id.to_lowercase().contains(&needle) || rows[i].filter.to_lowercase().contains(&needle)
        })
        .collect();
    idx.sort_by(|&a, &b| (&rows[a].client_id, &rows[a].filter).cmp(&(&rows[b].client_id, &rows[b].filter)));
    idx
}

/// Names of MQTT 5 reason codes a server may send in DISCONNECT (5.0 §3.14.2.1), offered by the
/// clients view, with whether the will is published after it (only 0x00 ends a session as a
/// normal disconnection would, MQTT-3.14.4-3).
pub const DISCONNECT_REASONS: [(u8, &str); 8] = [
    (0x00, "0x00 Normal disconnection"),
    (0x04, "0x04 Disconnect with Will Message"),
    (0x80, "0x80 Unspecified error"),
    (0x87, "0x87 Not authorized"),
    (0x89, "0x89 Server busy"),
    (0x8B, "0x8B Server shutting down"),
    (0x98, "0x98 Administrative action"),
    (0x9C, "0x9C Use another server"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, online: bool, queued: usize, dropped: u64) -> ClientRow {
        ClientRow {
            client_id: id.into(),
            online,
            address: online.then(|| SocketAddr::from(([127, 0, 0, 1], 4000))),
            protocol: 5,
            keep_alive_secs: 30,
            clean_start: true,
            session_expiry_secs: 0,
            expires_in_secs: None,
            will: None,
            inflight_out: 0,
            inflight_in: 0,
            queued_msgs: queued,
            queued_bytes: 0,
            dropped,
            msgs_in: 0,
            msgs_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            subscriptions: 0,
            connected_at: None,
            last_activity: None,
            traced: false,
        }
    }

    #[test]
    fn clients_filter_by_id_or_address_and_sort_with_ties_by_id() {
        let rows = vec![row("sensor-b", true, 5, 0), row("Sensor-A", false, 5, 3), row("pump", true, 9, 1)];
        let ids = |idx: Vec<usize>| idx.into_iter().map(|i| rows[i].client_id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(client_order(&rows, "", ClientSort::Id, false)), ["Sensor-A", "pump", "sensor-b"]);
        assert_eq!(ids(client_order(&rows, "SENSOR", ClientSort::Id, false)), ["Sensor-A", "sensor-b"], "case-insensitive");
        assert_eq!(ids(client_order(&rows, "127.0.0.1", ClientSort::Id, false)), ["pump", "sensor-b"], "by address");
        assert_eq!(ids(client_order(&rows, "", ClientSort::Queued, true)), ["pump", "sensor-b", "Sensor-A"]);
        assert_eq!(ids(client_order(&rows, "", ClientSort::Dropped, true)), ["Sensor-A", "pump", "sensor-b"]);
        assert_eq!(ids(client_order(&rows, "", ClientSort::Address, false)), ["pump", "sensor-b", "Sensor-A"], "online first");
    }

    #[test]
    fn a_snapshot_says_how_many_rows_the_bound_cut() {
        let snap = Snapshot { rows: vec![1, 2], total: 5, taken_at: SystemTime::UNIX_EPOCH };
        assert_eq!(snap.cut(), 3);
    }
}
