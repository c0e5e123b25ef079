//! The embedded broker's TLS listener and access settings as the window edits and saves them:
//! the same options as `mqscope broker --tls-port --wss-port --certfile --keyfile --cafile
//! --require-certificate --allow-anonymous --password-file --acl-file`.
//!
//! Owns: [`BrokerSecuritySettings`]. Plain data (paths as typed; empty means not set).

/// What the window's broker serves besides plain MQTT, and who may use it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BrokerSecuritySettings {
    /// Serve MQTT over TLS (mqtts) on this port of 127.0.0.1; `None`: no TLS listener.
    pub tls_port: Option<u16>,
    /// Serve MQTT over WebSocket over TLS (wss://) on this port of 127.0.0.1, with the same certificate.
    pub wss_port: Option<u16>,
    /// Server certificate chain (PEM).
    pub certfile: String,
    /// Server key (PEM).
    pub keyfile: String,
    /// CA that client certificates must chain to; empty: none asked for.
    pub cafile: String,
    /// Refuse TLS clients without a certificate from `cafile`.
    pub require_certificate: bool,
    /// Accept clients without a user name.
    pub allow_anonymous: bool,
    /// mosquitto_passwd file; empty: user names are not checked.
    pub password_file: String,
    /// mosquitto acl_file; empty: everyone may read and write everything.
    pub acl_file: String,
}

impl Default for BrokerSecuritySettings {
    fn default() -> Self {
        Self {
            tls_port: None,
            wss_port: None,
            certfile: String::new(),
            keyfile: String::new(),
            cafile: String::new(),
            require_certificate: false,
            allow_anonymous: true,
            password_file: String::new(),
            acl_file: String::new(),
        }
    }
}

impl BrokerSecuritySettings {
    /// Whether these are the defaults (nothing to apply at start).
    #[must_use]
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// A non-empty path.
    #[must_use]
    pub fn path(text: &str) -> Option<std::path::PathBuf> {
        let text = text.trim();
        (!text.is_empty()).then(|| std::path::PathBuf::from(text))
    }
}
