//! Connection profiles: everything needed to reach an external broker, as saved by the user.
//!
//! Owns: [`Profile`] (serde; stored as TOML by `storage`), its parts, and [`Profile::validate`],
//! which explains each bad field next to it. Checks that need the file system (certificate files)
//! are done by the runtime, not here.

use super::QoS;

/// How to reach the broker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Plain TCP (`mqtt://`).
    #[default]
    Mqtt,
    /// TLS over TCP (`mqtts://`).
    Mqtts,
    /// WebSocket (`ws://`).
    Ws,
    /// WebSocket over TLS (`wss://`).
    Wss,
}

impl Transport {
    /// Every transport, for the picker.
    pub const ALL: [Self; 4] = [Self::Mqtt, Self::Mqtts, Self::Ws, Self::Wss];

    /// URL scheme.
    #[must_use]
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Mqtt => "mqtt",
            Self::Mqtts => "mqtts",
            Self::Ws => "ws",
            Self::Wss => "wss",
        }
    }

    /// True for the TLS transports.
    #[must_use]
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Mqtts | Self::Wss)
    }

    /// True for the WebSocket transports.
    #[must_use]
    pub fn is_websocket(self) -> bool {
        matches!(self, Self::Ws | Self::Wss)
    }

    /// The usual port.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Mqtt => 1883,
            Self::Mqtts => 8883,
            Self::Ws => 80,
            Self::Wss => 443,
        }
    }
}

/// Protocol version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MqttVersion {
    /// MQTT 3.1.1.
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.0.
    #[default]
    #[serde(rename = "5")]
    V5,
}

/// TLS settings (PEM files).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TlsOptions {
    /// CA certificate(s) to trust; empty: the built-in web roots.
    pub ca_file: String,
    /// Client certificate for mutual TLS.
    pub client_cert_file: String,
    /// Client private key (PKCS#8, PKCS#1 or SEC1 PEM).
    pub client_key_file: String,
    /// Name to verify instead of the host (SNI).
    pub server_name: String,
    /// Accept any certificate: for testing only; shown as a warning.
    pub insecure_skip_verify: bool,
}

/// Last will.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WillOptions {
    /// Topic; empty means no will.
    pub topic: String,
    /// Payload text.
    pub payload: String,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 Will Delay Interval, seconds.
    pub delay_secs: u32,
    /// MQTT 5 Content Type.
    pub content_type: String,
}

/// MQTT 5 retain handling of a subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetainHandling {
    /// Send retained messages at subscribe (0).
    #[default]
    OnSubscribe,
    /// Only if the subscription is new (1).
    IfNew,
    /// Never (2).
    Never,
}

/// One subscription of a profile.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SubscriptionDef {
    /// Topic filter.
    pub filter: String,
    /// Requested QoS.
    pub qos: QoS,
    /// MQTT 5 No Local.
    pub no_local: bool,
    /// MQTT 5 Retain As Published.
    pub retain_as_published: bool,
    /// MQTT 5 Retain Handling.
    pub retain_handling: RetainHandling,
}

impl Default for SubscriptionDef {
    fn default() -> Self {
        Self {
            filter: "#".into(),
            qos: QoS::AtMostOnce,
            no_local: false,
            retain_as_published: true,
            retain_handling: RetainHandling::OnSubscribe,
        }
    }
}

/// MQTT 5 CONNECT properties.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConnectProperties {
    /// Receive Maximum (0: not sent).
    pub receive_maximum: u16,
    /// Maximum Packet Size in bytes (0: not sent).
    pub maximum_packet_size: u32,
    /// Topic Alias Maximum (0: none).
    pub topic_alias_maximum: u16,
    /// Request Problem Information.
    pub request_problem_information: bool,
    /// User Properties.
    pub user_properties: Vec<(String, String)>,
}

/// A saved connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[expect(clippy::struct_excessive_bools, reason = "independent options of a connection form")]
pub struct Profile {
    /// Display name, unique.
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// Path for WebSocket transports.
    pub ws_path: String,
    /// Protocol version.
    pub version: MqttVersion,
    /// Client identifier.
    pub client_id: String,
    /// User name (empty: none).
    pub username: String,
    /// Password; only saved when `save_password` is on.
    pub password: String,
    /// Keep the password in the profile file.
    pub save_password: bool,
    /// Keep-alive, seconds.
    pub keep_alive_secs: u16,
    /// Clean session (3.1.1) / clean start (5.0).
    pub clean_start: bool,
    /// MQTT 5 Session Expiry Interval, seconds.
    pub session_expiry_secs: u32,
    /// Give up a connection attempt after this many seconds.
    pub connect_timeout_secs: u16,
    /// Reconnect with back-off after a failure.
    pub auto_reconnect: bool,
    /// Longest back-off, seconds.
    pub reconnect_max_secs: u16,
    /// TLS files and options.
    pub tls: TlsOptions,
    /// Last will.
    pub will: WillOptions,
    /// MQTT 5 CONNECT properties.
    pub properties: ConnectProperties,
    /// Subscriptions made after each CONNACK.
    pub subscriptions: Vec<SubscriptionDef>,
    /// Connect when mqscope starts.
    pub connect_on_launch: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            name: "New connection".into(),
            host: "localhost".into(),
            port: 1883,
            transport: Transport::Mqtt,
            ws_path: "/mqtt".into(),
            version: MqttVersion::V5,
            client_id: generate_client_id(0),
            username: String::new(),
            password: String::new(),
            save_password: false,
            keep_alive_secs: 30,
            clean_start: true,
            session_expiry_secs: 0,
            connect_timeout_secs: 10,
            auto_reconnect: true,
            reconnect_max_secs: 30,
            tls: TlsOptions::default(),
            will: WillOptions::default(),
            properties: ConnectProperties::default(),
            subscriptions: vec![SubscriptionDef::default(), SubscriptionDef { filter: "$SYS/#".into(), ..SubscriptionDef::default() }],
            connect_on_launch: false,
        }
    }
}

/// A client id `mqscope-` + 8 hex digits derived from `seed` (the caller passes time or randomness).
#[must_use]
pub fn generate_client_id(seed: u64) -> String {
    // SplitMix64: spreads nearby seeds far apart.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("mqscope-{:08x}", (z ^ (z >> 31)) & 0xffff_ffff)
}

/// A problem with one field, shown next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Which field (the form's label).
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn filter_problem(filter: &str) -> Option<crate::topic::TopicError> {
    crate::topic::validate_subscription(filter).err()
}

impl Profile {
    /// Every problem that makes this profile unusable, by field. Empty when it can be saved.
    #[must_use]
    pub fn validate(&self, other_names: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut err = |field, message: String| errors.push(FieldError { field, message });
        if self.name.trim().is_empty() {
            err("Name", "Give the connection a name.".into());
        } else if other_names.contains(&self.name.trim()) {
            err("Name", format!("Another connection is already called '{}'.", self.name.trim()));
        }
        if self.host.trim().is_empty() {
            err("Host", "Enter the broker's host name or address.".into());
        } else if self.host.contains(char::is_whitespace) || self.host.contains("://") {
            err("Host", "Only the host name, without scheme or spaces (pick the transport below).".into());
        }
        if self.port == 0 {
            err("Port", "The port must be between 1 and 65535.".into());
        }
        if self.client_id.len() > 65_535 {
            err("Client ID", "A client id is at most 65,535 bytes.".into());
        }
        if self.client_id.is_empty() && !self.clean_start && self.version == MqttVersion::V311 {
            err("Client ID", "MQTT 3.1.1 needs a client id for a persistent session (clean session off).".into());
        }
        if self.keep_alive_secs == 0 && self.auto_reconnect {
            err("Keep alive", "With keep-alive 0 a dead connection is never noticed; use at least 5 s.".into());
        }
        if self.connect_timeout_secs == 0 {
            err("Connect timeout", "The connect timeout must be at least 1 s.".into());
        }
        if self.transport.is_websocket() && !self.ws_path.starts_with('/') {
            err("Path", "A WebSocket path starts with '/', e.g. /mqtt.".into());
        }
        if self.tls.client_cert_file.is_empty() != self.tls.client_key_file.is_empty() {
            err("Client key", "A client certificate needs its key, and a key needs its certificate.".into());
        }
        if !self.will.topic.is_empty()
            && let Err(problem) = crate::topic::validate_topic_name(&self.will.topic)
        {
            err("Will topic", format!("Not a topic name: {problem}."));
        }
        if self.subscriptions.is_empty() {
            err("Subscriptions", "Subscribe to at least one filter (e.g. #) to see topics.".into());
        }
        for sub in &self.subscriptions {
            if let Some(problem) = filter_problem(&sub.filter) {
                err("Subscriptions", format!("'{}': {problem}.", sub.filter));
            }
        }
        errors
    }

    /// `scheme://host:port[/path]`, for display.
    #[must_use]
    pub fn url(&self) -> String {
        let path = if self.transport.is_websocket() { self.ws_path.as_str() } else { "" };
        format!("{}://{}:{}{}", self.transport.scheme(), self.host, self.port, path)
    }

    /// This profile as it is written to disk: without the password unless the user asked to save it.
    #[must_use]
    pub fn for_disk(&self) -> Self {
        let mut p = self.clone();
        if !p.save_password {
            p.password.clear();
        }
        p
    }
}

/// The profiles file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileFile {
    /// Saved profiles, in display order.
    #[serde(default, rename = "profile")]
    pub profiles: Vec<Profile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Profile::default().validate(&[]), Vec::new());
    }

    #[test]
    fn each_bad_field_is_named() {
        let p = Profile {
            name: "plant".into(),
            host: "mqtt://broker".into(),
            port: 0,
            keep_alive_secs: 0,
            transport: Transport::Ws,
            ws_path: "mqtt".into(),
            tls: TlsOptions { client_cert_file: "client.pem".into(), ..TlsOptions::default() },
            subscriptions: vec![SubscriptionDef { filter: "a/#/b".into(), ..SubscriptionDef::default() }],
            ..Profile::default()
        };
        let fields: Vec<&str> = p.validate(&["plant"]).iter().map(|e| e.field).collect();
        assert_eq!(fields, ["Name", "Host", "Port", "Keep alive", "Path", "Client key", "Subscriptions"]);
    }

    #[test]
    fn filters_follow_mqtt_rules() {
        assert_eq!(filter_problem("home/+/temp"), None);
        assert_eq!(filter_problem("$share/g/factory/#"), None);
        assert!(filter_problem("home/te+").is_some());
        assert!(filter_problem("#/x").is_some());
        assert!(filter_problem("").is_some());
        assert!(filter_problem("$share//x").is_some(), "MQTT-4.8.2-1: the share name is not empty");
    }

    #[test]
    fn password_is_not_written_unless_asked() {
        let mut p = Profile { password: "secret".into(), ..Profile::default() };
        assert!(p.for_disk().password.is_empty());
        p.save_password = true;
        assert_eq!(p.for_disk().password, "secret");
    }

    #[test]
    fn file_round_trips_through_toml() {
        let file = ProfileFile {
            profiles: vec![Profile {
                name: "plant".into(),
                transport: Transport::Mqtts,
                version: MqttVersion::V311,
                will: WillOptions { topic: "status/mqscope".into(), payload: "offline".into(), ..WillOptions::default() },
                properties: ConnectProperties { user_properties: vec![("site".into(), "b2".into())], ..ConnectProperties::default() },
                ..Profile::default()
            }],
        };
        let text = toml::to_string_pretty(&file).expect("serialize");
        assert!(text.contains("transport = \"mqtts\""), "{text}");
        let back: ProfileFile = toml::from_str(&text).expect("parse");
        assert_eq!(back, file);
        let ids: Vec<String> = (0..3).map(generate_client_id).collect();
        assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    }
}
