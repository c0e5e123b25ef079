//! "Encode as" in the publish panel: the JSON typed is published as CBOR, MessagePack or Protobuf
//! bytes, through the topic's decoder binding or a format picked by hand.
//!
//! Owns: the choice ([`EncodeAs`]) and the last encoding's outcome ([`Encoded`], computed once per
//! edit, not per frame). The encoding itself is the model's ([`Decoders::encode`]).

use egui::RichText;

use crate::model::decode::{Decoder, Decoders, ProtoRef};

/// How the typed payload becomes bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum EncodeAs {
    /// As the topic's binding says (CBOR, MessagePack or Protobuf); as typed where none applies.
    #[default]
    Binding,
    /// As typed, whatever the binding.
    Typed,
    /// In this format (Protobuf with the schema of a binding).
    Format(Decoder, Option<ProtoRef>),
}

/// The format in force: the decoder and, for Protobuf, its schema.
pub type Encoding = (Decoder, Option<ProtoRef>);

/// The outcome of encoding the typed JSON (the bytes' length, or why it does not encode), kept
/// with what was encoded (text, encoding, schemas' generation) until one of them changes.
#[derive(Clone, Debug, Default)]
pub struct Encoded(Option<(EncodedFrom, Result<usize, String>)>);

/// What was encoded: the text, the encoding, the schemas' generation.
type EncodedFrom = (String, Encoding, u64);

impl EncodeAs {
    /// The encoding in force for `topic` (`None`: the payload as typed). Sparkplug B bindings do
    /// not encode from JSON here.
    #[must_use]
    pub fn resolve(&self, decoders: &Decoders, topic: &str) -> Option<Encoding> {
        match self {
            Self::Typed => None,
            Self::Format(d, p) => Some((*d, p.clone())),
            Self::Binding => {
                let applied = decoders.bindings.applied(topic).filter(|a| !a.auto && a.decoder != Decoder::Sparkplug)?;
                Some((applied.decoder, applied.proto))
            }
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Binding => "the topic's binding".to_owned(),
            Self::Typed => "nothing (as typed)".to_owned(),
            Self::Format(d, None) => d.label().to_owned(),
            Self::Format(d, Some(p)) => format!("{} {}", d.label(), p.message),
        }
    }
}

/// The payload `text` (JSON) as `encoding`'s bytes.
///
/// # Errors
/// Not JSON, or a value that does not fit the format or schema (the model's words, with the place).
pub fn encode(decoders: &Decoders, encoding: &Encoding, text: &str) -> Result<Vec<u8>, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("Not JSON: {e}"))?;
    decoders.encode(encoding.0, encoding.1.as_ref(), &json).map_err(|e| e.to_string())
}

impl Encoded {
    /// Encode `text` again if it, `encoding` or the schemas changed; the outcome.
    pub fn update(&mut self, decoders: &Decoders, encoding: &Encoding, text: &str) -> Result<usize, String> {
        let generation = decoders.schemas.generation();
        match &self.0 {
            Some(((t, e, g), result)) if t == text && e == encoding && *g == generation => result.clone(),
            _ => {
                let result = encode(decoders, encoding, text).map(|b| b.len());
                self.0 = Some(((text.to_owned(), encoding.clone(), generation), result.clone()));
                result
            }
        }
    }
}

/// The "Encode as" picker: the topic's binding, as typed, CBOR, MessagePack, or Protobuf with each
/// schema the bindings name.
pub fn picker_ui(ui: &mut egui::Ui, choice: &mut EncodeAs, decoders: &Decoders) {
    let mut protos: Vec<&ProtoRef> = decoders.bindings.bindings.iter().filter_map(|b| b.proto.as_ref()).collect();
    protos.sort();
    protos.dedup();
    let label = ui.label("Encode as");
    egui::ComboBox::from_id_salt("publish-encode-as")
        .selected_text(choice.label())
        .show_ui(ui, |ui| {
            let mut options =
                vec![EncodeAs::Binding, EncodeAs::Typed, EncodeAs::Format(Decoder::Cbor, None), EncodeAs::Format(Decoder::MsgPack, None)];
            options.extend(protos.into_iter().map(|p| EncodeAs::Format(Decoder::Protobuf, Some(p.clone()))));
            for option in options {
                let text = option.label();
                ui.selectable_value(choice, option, text);
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text("Type JSON and publish it encoded: as the binding of the topic says, or in a format picked here");
}

/// Under the editor: the encoded size, or why the JSON does not encode (one line, always there).
pub fn outcome_ui(ui: &mut egui::Ui, encoding: &Encoding, outcome: &Result<usize, String>) {
    match outcome {
        Ok(n) => {
            let what = match &encoding.1 {
                Some(p) => format!("{} {}", encoding.0.label(), p.message),
                None => encoding.0.label().to_owned(),
            };
            let text = format!("Encodes to {} of {what}", crate::model::format::bytes(*n as u64));
            ui.label(RichText::new(text).weak());
        }
        Err(err) => super::error_line(ui, err, super::ALERT_COLOR),
    }
}
