//! What the publish form holds, as plain data: payload format and its conversion to bytes, MQTT 5
//! properties, and saved templates (serde; the runtime stores them in the config dir).

use super::{MessageMeta, QoS, payload};

/// How the payload text is turned into bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PayloadFormat {
    /// UTF-8 text as typed.
    #[default]
    Text,
    /// JSON, validated before sending.
    Json,
    /// Hex digits (`48 65 6c`, `0x48`, separators allowed).
    Hex,
    /// Base64.
    Base64,
}

impl PayloadFormat {
    /// Every format, for the picker.
    pub const ALL: [Self; 4] = [Self::Text, Self::Json, Self::Hex, Self::Base64];

    /// Picker label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Json => "JSON",
            Self::Hex => "Hex",
            Self::Base64 => "Base64",
        }
    }

    /// Placeholder for the editor: it must not look like a value (an empty box publishes 0 bytes).
    #[must_use]
    pub fn hint(self) -> &'static str {
        match self {
            Self::Text => "(empty: publishes 0 bytes) — type text, e.g. 21.5",
            Self::Json => "(empty: publishes 0 bytes) — type JSON, e.g. {\"t\": 21.5}",
            Self::Hex => "(empty: publishes 0 bytes) — type hex, e.g. 48 65 6c",
            Self::Base64 => "(empty: publishes 0 bytes) — type Base64, e.g. SGVsbG8=",
        }
    }
}

/// Everything typed in the publish form.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PublishForm {
    /// Topic name.
    pub topic: String,
    /// Payload as typed.
    pub payload: String,
    /// How to read it.
    pub format: PayloadFormat,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 Content Type.
    pub content_type: String,
    /// MQTT 5 Payload Format Indicator = 1 (UTF-8).
    pub utf8: bool,
    /// MQTT 5 Message Expiry Interval, seconds; empty for none.
    pub expiry_secs: String,
    /// MQTT 5 Response Topic.
    pub response_topic: String,
    /// MQTT 5 Correlation Data, as text.
    pub correlation: String,
    /// MQTT 5 User Properties.
    pub user_properties: Vec<(String, String)>,
}

/// serde_json's message without its trailing " at line L column C" (the caller says where).
fn json_error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.rfind(" at line ").map_or_else(|| text.clone(), |i| text[..i].to_owned())
}

/// A named, saved form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Template {
    /// Name shown in the list.
    pub name: String,
    /// The form.
    pub form: PublishForm,
}

/// The templates file's layout.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateFile {
    /// Saved templates.
    #[serde(default, rename = "template")]
    pub templates: Vec<Template>,
    /// What was published, newest first (kept across restarts).
    #[serde(default)]
    pub history: Vec<PublishForm>,
}

impl PublishForm {
    /// The payload bytes, or why they cannot be made.
    ///
    /// # Errors
    /// Invalid JSON, hex or base64, with the position.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, String> {
        match self.format {
            PayloadFormat::Text => Ok(self.payload.clone().into_bytes()),
            PayloadFormat::Json => serde_json::from_str::<serde_json::Value>(&self.payload)
                .map(|_| self.payload.clone().into_bytes())
                .map_err(|e| format!("Invalid JSON at line {}, column {}: {}", e.line(), e.column(), json_error_text(&e))),
            PayloadFormat::Hex => payload::from_hex(&self.payload).map_err(|e| e.to_string()),
            PayloadFormat::Base64 => payload::from_base64(&self.payload).map_err(|e| e.to_string()),
        }
    }

    /// The MQTT 5 properties.
    ///
    /// # Errors
    /// An expiry that is not a number of seconds.
    pub fn meta(&self) -> Result<MessageMeta, String> {
        let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        let expiry = self.expiry_secs.trim();
        let message_expiry_secs = if expiry.is_empty() {
            None
        } else {
            Some(expiry.parse::<u32>().map_err(|_| format!("Message expiry must be whole seconds, not '{expiry}'."))?)
        };
        Ok(MessageMeta {
            publisher: None,
            published_qos: None,
            payload_format: self.utf8.then_some(1),
            message_expiry_secs,
            content_type: non_empty(&self.content_type),
            response_topic: non_empty(&self.response_topic),
            correlation_data: non_empty(&self.correlation).map(|c| c.into_bytes().into()),
            user_properties: self.user_properties.iter().filter(|(k, _)| !k.is_empty()).cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_formats() {
        let mut f = PublishForm { payload: "48 65 6c".into(), format: PayloadFormat::Hex, ..PublishForm::default() };
        assert_eq!(f.payload_bytes(), Ok(b"Hel".to_vec()));
        f.format = PayloadFormat::Base64;
        f.payload = "SGVsbG8=".into();
        assert_eq!(f.payload_bytes(), Ok(b"Hello".to_vec()));
        f.format = PayloadFormat::Json;
        f.payload = "{\"a\": ".into();
        assert!(f.payload_bytes().unwrap_err().starts_with("Invalid JSON at line 1, column 6"), "{:?}", f.payload_bytes());
        assert!(PayloadFormat::ALL.iter().all(|f| f.hint().starts_with("(empty")), "a placeholder never looks like a value");
    }

    #[test]
    fn meta_from_fields() {
        let f = PublishForm {
            content_type: "application/json".into(),
            expiry_secs: " 30 ".into(),
            user_properties: vec![("unit".into(), "C".into()), (String::new(), "skipped".into())],
            utf8: true,
            ..PublishForm::default()
        };
        let m = f.meta().expect("meta");
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        assert_eq!(m.message_expiry_secs, Some(30));
        assert_eq!(m.payload_format, Some(1));
        assert_eq!(m.user_properties, vec![("unit".to_owned(), "C".to_owned())]);
        let bad = PublishForm { expiry_secs: "soon".into(), ..PublishForm::default() };
        assert!(bad.meta().is_err());
    }
}
