//! Faults the explorer injects into the embedded broker to test devices, as plain data: refuse a
//! CONNECT, delay deliveries, withhold acknowledgements.
//!
//! Owns: [`Fault`], [`FaultAction`] and the reason codes offered for a refused CONNECT. The broker
//! keeps the active list (`broker::faults`); the store keeps its latest copy, shown in a strip that
//! cannot be missed while any is active. No egui, no tokio.

/// One active fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer CONNECT with a refusing CONNACK: the next one of `client_id`, or, for `None`, every
    /// CONNECT of any client until cleared.
    RefuseConnect {
        /// Whose (`None`: every client).
        client_id: Option<String>,
        /// CONNACK reason code (a 3.1.1 client gets the matching return code).
        code: u8,
    },
    /// Hold every PUBLISH to `client_id` this long before it is written.
    DelayDeliveries {
        /// Whose.
        client_id: String,
        /// Delay, milliseconds.
        delay_ms: u64,
    },
    /// Do not answer the next `left` QoS 1/2 PUBLISH packets of `client_id` (no PUBACK/PUBREC),
    /// as if the acknowledgements were lost: the client must send them again (DUP=1) when it reconnects.
    WithholdAcks {
        /// Whose.
        client_id: String,
        /// Acknowledgements still to withhold.
        left: u32,
    },
}

impl Fault {
    /// The client it applies to (`None`: every client).
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::RefuseConnect { client_id, .. } => client_id.as_deref(),
            Self::DelayDeliveries { client_id, .. } | Self::WithholdAcks { client_id, .. } => Some(client_id),
        }
    }

    /// Whether it applies to `client_id`.
    #[must_use]
    pub fn covers(&self, client_id: &str) -> bool {
        self.client_id().is_none_or(|id| id == client_id)
    }

    /// Two faults of one kind on one client replace each other.
    #[must_use]
    pub fn same_slot(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other) && self.client_id() == other.client_id()
    }

    /// What it does, in a sentence ("Refusing the next CONNECT of sensor-1 with 0x87 Not authorized").
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::RefuseConnect { client_id: Some(id), code } => format!("Refusing the next CONNECT of {id} with {}", connack_name(*code)),
            Self::RefuseConnect { client_id: None, code } => format!("Refusing every CONNECT with {}", connack_name(*code)),
            Self::DelayDeliveries { client_id, delay_ms } => format!("Delaying deliveries to {client_id} by {delay_ms} ms"),
            Self::WithholdAcks { client_id, left } => {
                let s = if *left == 1 { "" } else { "s" };
                format!("Withholding the next {left} acknowledgement{s} to {client_id}")
            }
        }
    }
}

/// What the explorer does to the list of faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Start a fault (replacing one of the same kind on the same client).
    Add(Fault),
    /// End the fault of this kind on this client.
    Clear(Fault),
    /// End every fault.
    ClearAll,
    /// Restart the broker in place: every connection ends as at shutdown (5.0: DISCONNECT 0x8B,
    /// wills not published); sessions are kept (as a broker with persistence would) or dropped (as
    /// one without). The listener and the retained store stay: clients may reconnect at once.
    Restart {
        /// Keep every session (subscriptions, queued messages, messages in flight).
        keep_sessions: bool,
    },
}

/// CONNACK reason codes offered for a refused CONNECT (5.0 §3.2.2.2).
pub const CONNACK_REASONS: [(u8, &str); 9] = [
    (0x80, "0x80 Unspecified error"),
    (0x85, "0x85 Client Identifier not valid"),
    (0x86, "0x86 Bad User Name or Password"),
    (0x87, "0x87 Not authorized"),
    (0x88, "0x88 Server unavailable"),
    (0x89, "0x89 Server busy"),
    (0x8A, "0x8A Banned"),
    (0x97, "0x97 Quota exceeded"),
    (0x9F, "0x9F Connection rate exceeded"),
];

/// "0x87 Not authorized" for a code offered, else the code.
#[must_use]
pub fn connack_name(code: u8) -> String {
    CONNACK_REASONS.iter().find(|(c, _)| *c == code).map_or_else(|| format!("0x{code:02X}"), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_describe_themselves_and_share_slots_by_kind_and_client() {
        let refuse = Fault::RefuseConnect { client_id: Some("s1".into()), code: 0x87 };
        assert_eq!(refuse.describe(), "Refusing the next CONNECT of s1 with 0x87 Not authorized");
        assert!(refuse.covers("s1") && !refuse.covers("s2"));
        let all = Fault::RefuseConnect { client_id: None, code: 0x89 };
        assert!(all.covers("anyone"));
        assert!(!refuse.same_slot(&all), "another client");
        assert!(refuse.same_slot(&Fault::RefuseConnect { client_id: Some("s1".into()), code: 0x80 }));
        let withhold = Fault::WithholdAcks { client_id: "s1".into(), left: 1 };
        assert_eq!(withhold.describe(), "Withholding the next 1 acknowledgement to s1");
        assert!(!withhold.same_slot(&refuse), "another kind");
    }
}
