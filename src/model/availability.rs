//! The availability board, as plain data: every session with a will, online or offline, and the
//! retained "status" value its will would set, as the broker's store holds it now. What a
//! zigbee2mqtt or Home Assistant user needs when a device shows "unavailable" (or never does).
//!
//! Owns: [`AvailabilityRow`] and [`Verdict`]. The broker fills the rows (comparing payloads there,
//! so that only short previews cross to the UI). No egui, no tokio, no clock reads.

use std::sync::Arc;

use super::QoS;

/// Longest payload preview carried in a row, in characters.
pub const PREVIEW_CHARS: usize = 80;

/// What the retained value on the will topic says now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It holds the will's payload: subscribers see the client as gone.
    ShowsWill,
    /// It holds another value (typically the client's own "online").
    ShowsOther,
    /// Nothing is retained there: a subscriber that comes later learns nothing.
    NothingRetained,
}

impl Verdict {
    /// How the board says it.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::ShowsWill => "shows the will (offline)",
            Self::ShowsOther => "shows another value",
            Self::NothingRetained => "nothing retained",
        }
    }
}

/// What became of the will of the latest connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WillState {
    /// The client is connected: the will is armed.
    Armed,
    /// Offline, the will waits for its delay: this many seconds left.
    Pending(u64),
    /// Offline, the will was published when the connection ended.
    Published,
    /// Offline, the will was not published (a normal DISCONNECT, or a broker restart).
    Discarded,
}

/// One session with a will.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityRow {
    /// Client identifier.
    pub client_id: Arc<str>,
    /// A connection is attached.
    pub online: bool,
    /// The will's fate so far.
    pub will_state: WillState,
    /// Will topic: the "status" topic.
    pub topic: String,
    /// Will payload, as text (lossy), at most [`PREVIEW_CHARS`].
    pub will_payload: String,
    /// Will QoS.
    pub will_qos: QoS,
    /// Will retain flag (without it, the status is not kept for later subscribers).
    pub will_retain: bool,
    /// The retained value on the will topic now, as text (lossy), at most [`PREVIEW_CHARS`].
    pub retained_payload: Option<String>,
    /// Who set that retained value.
    pub retained_by: Option<Arc<str>>,
    /// The retained value compared with the will.
    pub verdict: Verdict,
}

/// A payload as a short text preview.
#[must_use]
pub fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_short_and_lossy() {
        assert_eq!(preview(b"offline"), "offline");
        assert_eq!(preview(&[0xff, b'a']), "\u{fffd}a");
        let long = "x".repeat(PREVIEW_CHARS + 5);
        assert_eq!(preview(long.as_bytes()).chars().count(), PREVIEW_CHARS + 1);
    }
}
