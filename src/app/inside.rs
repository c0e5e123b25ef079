//! The dock's broker tabs (Clients; Subscriptions and Retained as they come): for the embedded
//! broker they show its inside, for any other connection they say why they cannot. Methods of
//! [`ExplorerApp`].
//!
//! Owns: asking for snapshots. A snapshot is asked for only while its tab is drawn, at most every
//! [`POLL_EVERY`], so a closed view costs the broker nothing; a full command channel skips one turn.

use std::time::{Duration, Instant};

use super::{Confirm, DockTab, ExplorerApp};
use crate::model::ConnId;
use crate::protocol::{Command, InspectRequest};
use crate::ui::clients_panel::ConfirmAction;
use crate::ui::inside_table;

/// How often a shown view asks for a new snapshot.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

impl ExplorerApp {
    /// Draw the broker tab in front of the dock.
    pub(super) fn inside_ui(&mut self, ui: &mut egui::Ui, tab: DockTab) {
        if self.current != ConnId::LOCAL {
            let name = self.store.conn(self.current).map_or_else(|| "This connection".to_owned(), |c| c.name.clone());
            let view = match tab {
                DockTab::Subscriptions => "Subscriptions",
                _ => "Clients",
            };
            inside_table::external_note(ui, view, &name);
            return;
        }
        let request = match tab {
            DockTab::Subscriptions => InspectRequest::Subscriptions,
            _ => InspectRequest::Clients,
        };
        self.poll_inside(ui.ctx(), tab, request);
        let confirm = match tab {
            DockTab::Clients => self.clients.ui(ui, self.store.broker.inside.clients.as_ref()),
            _ => None,
        };
        if let Some(ConfirmAction { text, yes, action }) = confirm {
            self.confirm = Some(Confirm { text, yes, command: Command::ClientAction(action) });
        }
    }

    /// Ask for `request` if the last request for this tab is [`POLL_EVERY`] old (or there was none),
    /// and come back for the next one.
    fn poll_inside(&mut self, ctx: &egui::Context, tab: DockTab, request: InspectRequest) {
        let due = self.inside_polled.is_none_or(|(t, at)| t != tab || at.elapsed() >= POLL_EVERY);
        if due && self.commands.try_send(Command::Inspect(request)).is_ok() {
            self.inside_polled = Some((tab, Instant::now()));
        }
        ctx.request_repaint_after(POLL_EVERY);
    }
}
