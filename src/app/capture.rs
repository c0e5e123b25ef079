//! Export and open-capture: the app's side of [`CapturePanel`]'s actions.

use super::ExplorerApp;
use crate::model::export::Progress;
use crate::model::{ConnStatus, NodeId};
use crate::protocol::Command;
use crate::ui::capture_panel::CaptureAction;

impl ExplorerApp {
    /// Open the export window for what history holds at and below `under` (`None`: the whole
    /// current connection). The messages are taken now (shared, not copied): the export is of this moment.
    pub fn export_below(&mut self, under: Option<String>) {
        let Some(conn) = self.store.conn(self.current) else { return };
        let root = match &under {
            Some(path) => match conn.tree.find_path(path) {
                Some(id) => id,
                None => return,
            },
            None => NodeId::ROOT,
        };
        let msgs = conn.tree.messages_below(root);
        self.capture.start_export(under, msgs);
    }

    /// Open the "Open capture" window.
    pub fn open_capture_window(&mut self) {
        self.capture.open.get_or_insert_with(Default::default);
    }

    /// Carry out what the export and open windows ask.
    pub(super) fn capture_act(&mut self, action: CaptureAction) {
        match action {
            CaptureAction::Browse(field) => self.send(Command::PickFile { field }),
            CaptureAction::Export { path, format } => {
                let Some(form) = &mut self.capture.export else { return };
                let progress = Progress::default();
                form.job = Some(progress.clone());
                let msgs = std::mem::take(&mut form.msgs);
                self.send(Command::Export { path, format, msgs, progress });
            }
            CaptureAction::Open { path } => {
                let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                let conn_id = self.store.open_conn(&format!("capture {name}"), &path.display().to_string());
                if let Some(conn) = self.store.conn_mut(conn_id) {
                    conn.tree.clear();
                    conn.status = ConnStatus::Connecting;
                }
                self.current = conn_id;
                let progress = Progress::default();
                if let Some(form) = &mut self.capture.open {
                    form.job = Some(progress.clone());
                }
                self.send(Command::OpenCapture { conn_id, path, progress });
            }
        }
    }
}
