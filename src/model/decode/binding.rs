//! Which decoder applies to a topic: user bindings of an MQTT filter to a [`Decoder`], saved as
//! `decoders.toml` in the config dir, plus the one auto-detection that cannot misfire (Sparkplug B
//! under `spBv1.0/`, STATE excepted). Nothing is ever guessed from a payload's bytes.
//! A Protobuf binding also names its .proto file and message type ([`ProtoRef`]); files written
//! before that existed read as they were (the field defaults to none).

use super::{Decoder, ProtoRef, sparkplug};

/// The filter auto-detection shows as its "binding".
pub const SPARKPLUG_AUTO_FILTER: &str = "spBv1.0/#";

/// One user binding: topics matching `filter` are decoded with `decoder`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecoderBinding {
    /// An MQTT topic filter (`+` and `#` allowed).
    pub filter: String,
    /// How payloads there are decoded.
    pub decoder: Decoder,
    /// For [`Decoder::Protobuf`]: the .proto file and message type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<ProtoRef>,
}

/// The bindings file (`decoders.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BindingFile {
    /// Every binding, in the order the user added them.
    #[serde(default, rename = "binding")]
    pub bindings: Vec<DecoderBinding>,
}

/// The decoder in force for a topic and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The decoder.
    pub decoder: Decoder,
    /// The filter of the binding that chose it.
    pub filter: String,
    /// True when chosen by auto-detection rather than a user binding.
    pub auto: bool,
    /// The schema of a Protobuf binding.
    pub proto: Option<ProtoRef>,
}

/// How specific a filter is: more literal levels first, then no `#`, then more levels.
fn specificity(filter: &str) -> (usize, bool, usize) {
    let levels = filter.split('/');
    let literal = levels.clone().filter(|l| *l != "+" && *l != "#").count();
    (literal, !filter.ends_with('#'), levels.count())
}

impl BindingFile {
    /// [`Self::applied`], also detecting CBOR and MessagePack by the MQTT 5 content type the
    /// publisher declared (`application/cbor`, `application/msgpack`, `application/x-msgpack`,
    /// `application/vnd.msgpack`; parameters after `;` ignored). A user binding still wins.
    #[must_use]
    pub fn applied_to(&self, topic: &str, content_type: Option<&str>) -> Option<Applied> {
        let applied = self.applied(topic);
        if applied.as_ref().is_some_and(|a| !a.auto) {
            return applied;
        }
        let declared = content_type.map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let by_type = match declared.as_deref() {
            Some("application/cbor") => Some(Decoder::Cbor),
            Some("application/msgpack" | "application/x-msgpack" | "application/vnd.msgpack") => Some(Decoder::MsgPack),
            _ => None,
        };
        match (by_type, content_type) {
            (Some(decoder), Some(ct)) => Some(Applied { decoder, filter: format!("content type {ct}"), auto: true, proto: None }),
            _ => applied,
        }
    }

    /// The most specific binding matching `topic`, else Sparkplug B auto-detection.
    #[must_use]
    pub fn applied(&self, topic: &str) -> Option<Applied> {
        let best = self.bindings.iter().filter(|b| crate::topic::matches(&b.filter, topic)).max_by_key(|b| specificity(&b.filter));
        match best {
            Some(b) => Some(Applied { decoder: b.decoder, filter: b.filter.clone(), auto: false, proto: b.proto.clone() }),
            None if sparkplug::is_sparkplug_topic(topic) => {
                Some(Applied { decoder: Decoder::Sparkplug, filter: SPARKPLUG_AUTO_FILTER.to_owned(), auto: true, proto: None })
            }
            None => None,
        }
    }

    /// Bind `filter` to `decoder`, replacing an earlier binding of the same filter.
    pub fn bind(&mut self, filter: impl Into<String>, decoder: Decoder) {
        self.set(DecoderBinding { filter: filter.into(), decoder, proto: None });
    }

    /// Add `binding`, replacing an earlier binding of the same filter (keeping its place).
    pub fn set(&mut self, binding: DecoderBinding) {
        match self.bindings.iter_mut().find(|b| b.filter == binding.filter) {
            Some(old) => *old = binding,
            None => self.bindings.push(binding),
        }
    }

    /// The distinct .proto files the bindings name, sorted.
    #[must_use]
    pub fn proto_files(&self) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = self.bindings.iter().filter_map(|b| b.proto.as_ref().map(|p| p.file.clone())).collect();
        files.sort();
        files.dedup();
        files
    }

    /// Remove the binding of `filter`, if any.
    pub fn unbind(&mut self, filter: &str) {
        self.bindings.retain(|b| b.filter != filter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_binding_wins_and_sparkplug_is_detected_only_under_its_namespace() {
        let mut file = BindingFile::default();
        file.bind("factory/#", Decoder::Cbor);
        file.bind("factory/+/pack", Decoder::MsgPack);
        file.bind("factory/line1/pack", Decoder::Sparkplug);
        let applied = |file: &BindingFile, t: &str| file.applied(t).map(|a| (a.decoder, a.filter, a.auto));
        assert_eq!(applied(&file, "factory/line2/pack"), Some((Decoder::MsgPack, "factory/+/pack".into(), false)));
        assert_eq!(applied(&file, "factory/line1/pack"), Some((Decoder::Sparkplug, "factory/line1/pack".into(), false)));
        assert_eq!(applied(&file, "factory/line2/other"), Some((Decoder::Cbor, "factory/#".into(), false)));
        assert_eq!(applied(&file, "spBv1.0/g/NDATA/e"), Some((Decoder::Sparkplug, SPARKPLUG_AUTO_FILTER.into(), true)));
        assert_eq!(applied(&file, "spBv1.0/STATE/host"), None, "STATE is JSON or text, never protobuf");
        assert_eq!(applied(&file, "home/spBv1.0/x"), None);
        file.bind("spBv1.0/#", Decoder::Cbor);
        assert_eq!(applied(&file, "spBv1.0/g/NDATA/e"), Some((Decoder::Cbor, "spBv1.0/#".into(), false)), "a user binding beats detection");
        file.bind("factory/#", Decoder::MsgPack);
        assert_eq!(file.bindings.iter().filter(|b| b.filter == "factory/#").count(), 1, "rebinding replaces");
        file.unbind("factory/#");
        assert_eq!(applied(&file, "factory/line2/other"), None);
    }

    #[test]
    fn a_declared_content_type_is_detected_but_a_binding_wins() {
        let mut file = BindingFile::default();
        let applied = |file: &BindingFile, t: &str, ct: Option<&str>| file.applied_to(t, ct).map(|a| (a.decoder, a.filter));
        assert_eq!(applied(&file, "a/b", Some("application/cbor")), Some((Decoder::Cbor, "content type application/cbor".into())));
        assert_eq!(
            applied(&file, "a/b", Some("Application/MsgPack; v=1")),
            Some((Decoder::MsgPack, "content type Application/MsgPack; v=1".into()))
        );
        assert_eq!(applied(&file, "a/b", Some("text/plain")), None, "never guessed");
        assert_eq!(applied(&file, "a/b", None), None);
        file.bind("a/#", Decoder::Sparkplug);
        assert_eq!(applied(&file, "a/b", Some("application/cbor")), Some((Decoder::Sparkplug, "a/#".into())));
    }

    #[test]
    fn a_protobuf_binding_keeps_its_schema_and_an_old_file_still_reads() {
        let mut file = BindingFile::default();
        let proto = ProtoRef { file: "/etc/m/machine.proto".into(), message: "factory.v1.Reading".into() };
        file.set(DecoderBinding { filter: "factory/+/pb".into(), decoder: Decoder::Protobuf, proto: Some(proto.clone()) });
        file.bind("a/#", Decoder::Cbor);
        let text = toml::to_string(&file).expect("serialize");
        assert_eq!(toml::from_str::<BindingFile>(&text).expect("parse"), file, "{text}");
        assert_eq!(file.applied("factory/p1/pb").and_then(|a| a.proto), Some(proto));
        assert_eq!(file.proto_files(), vec![std::path::PathBuf::from("/etc/m/machine.proto")]);
        let old = "[[binding]]\nfilter = \"spBv1.0/#\"\ndecoder = \"sparkplug\"\n";
        let read: BindingFile = toml::from_str(old).expect("the format before Protobuf bindings");
        assert_eq!(read.bindings, vec![DecoderBinding { filter: "spBv1.0/#".into(), decoder: Decoder::Sparkplug, proto: None }]);
    }

    #[test]
    fn the_file_round_trips_through_toml() {
        let mut file = BindingFile::default();
        file.bind("spBv1.0/#", Decoder::Sparkplug);
        file.bind("a/+/b", Decoder::MsgPack);
        let text = toml::to_string(&file).expect("serialize");
        assert!(text.contains("decoder = \"msgpack\""), "{text}");
        assert_eq!(toml::from_str::<BindingFile>(&text).expect("parse"), file);
    }
}
