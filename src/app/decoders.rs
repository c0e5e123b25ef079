//! Decoder bindings and .proto schemas: the app's side of the Decoders window and the tree's
//! "Decode below here as…". Methods of [`ExplorerApp`]; compiling and saving go to the runtime.

use std::path::PathBuf;
use std::time::Instant;

use super::ExplorerApp;
use crate::model::decode::protobuf::ProtoFile;
use crate::model::decode::{BindingFile, Decoder};
use crate::protocol::{Command, FileField};
use crate::ui::decoders_panel::DecodersAction;

impl ExplorerApp {
    /// Decode topics matching `filter` with `decoder` from now on (`None`: remove that binding),
    /// and save the bindings.
    pub fn bind_decoder(&mut self, filter: String, decoder: Option<Decoder>) {
        let mut file = self.decoders.bindings.clone();
        if let Some(decoder) = decoder {
            self.toast = Some((format!("Decoding {filter} as {}", decoder.label()), Instant::now()));
            file.bind(filter, decoder);
        } else {
            self.toast = Some((format!("No decoder bound to {filter}"), Instant::now()));
            file.unbind(&filter);
        }
        self.save_bindings(file);
    }

    /// Adopt `file` and save it.
    fn save_bindings(&mut self, file: BindingFile) {
        for missing in self.decoders.set_bindings(file) {
            self.decoders.schemas.requested(missing.clone());
            self.send(Command::CompileProto(missing));
        }
        self.store.charts.set_schemas(&self.decoders.schemas);
        self.send(Command::SaveDecoders(self.decoders.bindings.clone()));
    }

    /// A .proto file compiled (or not): decoding, encoding and charts through it follow.
    pub(super) fn proto_compiled(&mut self, file: PathBuf, result: Result<ProtoFile, String>) {
        self.decoders.schemas.insert(file, result);
        self.store.charts.set_schemas(&self.decoders.schemas);
    }

    /// The Decoders window and what it asks for.
    pub(super) fn decoders_ui(&mut self, ctx: &egui::Context) {
        if !self.decoders_window.open {
            return;
        }
        if let Some(action) = self.decoders_window.ui(ctx, &self.decoders) {
            self.decoders_act(action);
        }
    }

    /// Carry out what the Decoders window asked for.
    pub(super) fn decoders_act(&mut self, action: DecodersAction) {
        match action {
            DecodersAction::Save(file) => {
                let n = file.bindings.len();
                self.toast = Some((format!("Decoder bindings saved ({n})."), Instant::now()));
                self.save_bindings(file);
            }
            DecodersAction::Browse => self.send(Command::PickFile { field: FileField::ProtoFile }),
            DecodersAction::Compile(file) => {
                self.decoders.schemas.requested(file.clone());
                self.send(Command::CompileProto(file));
            }
        }
    }
}
