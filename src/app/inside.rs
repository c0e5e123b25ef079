//! The dock's broker tabs (Clients, Subscriptions, Retained): for the embedded
//! broker they show its inside, for any other connection they say why they cannot. Methods of
//! [`ExplorerApp`].
//!
//! Owns: asking for snapshots. A snapshot is asked for only while its tab is drawn, at most every
//! [`POLL_EVERY`], so a closed view costs the broker nothing; a full command channel skips one turn.

use std::time::{Duration, Instant};

use super::{Confirm, DockTab, ExplorerApp};
use crate::model::broker_view::ClientAction;
use crate::model::broker_view::RETAINED_IMPORT_MAX;
use crate::model::faults::FaultAction;
use crate::model::{ConnId, format};
use crate::protocol::{Command, InspectRequest};
use crate::ui::clients_panel::ConfirmAction;
use crate::ui::faults_panel::{self, FaultsOutput};
use crate::ui::inside_table;
use crate::ui::retained_panel::DeleteRetained;

/// How often a shown view asks for a new snapshot.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

impl ExplorerApp {
    /// Draw the broker tab in front of the dock.
    pub(super) fn inside_ui(&mut self, ui: &mut egui::Ui, tab: DockTab) {
        if self.current != ConnId::LOCAL {
            let name = self.store.conn(self.current).map_or_else(|| "This connection".to_owned(), |c| c.name.clone());
            let view = match tab {
                DockTab::Subscriptions => "Subscriptions",
                DockTab::Retained => "Retained",
                DockTab::Trace => "Trace",
                DockTab::Faults => "Faults",
                DockTab::Availability => "Availability",
                _ => "Clients",
            };
            inside_table::external_note(ui, view, &name);
            return;
        }
        let selected = self.selected_topic();
        let mut requests = vec![match tab {
            DockTab::Subscriptions => InspectRequest::Subscriptions,
            DockTab::Retained => InspectRequest::Retained { filter: self.retained.filter.trim().to_owned() },
            DockTab::Availability => InspectRequest::Availability,
            _ => InspectRequest::Clients,
        }];
        if tab == DockTab::Faults {
            requests.push(InspectRequest::Faults);
        }
        if tab == DockTab::Trace && !self.trace.paused {
            requests.push(InspectRequest::Trace { after: self.store.broker.inside.trace.last_seq });
        }
        if tab == DockTab::Subscriptions
            && let Some(topic) = &selected
        {
            requests.push(InspectRequest::Receivers { topic: topic.clone() });
        }
        self.poll_inside(ui.ctx(), tab, requests);
        let inside = &self.store.broker.inside;
        let mut switch = None;
        let confirm = match tab {
            DockTab::Clients => {
                let (confirm, trace) = self.clients.ui(ui, inside.clients.as_ref());
                switch = trace;
                confirm
            }
            DockTab::Trace => {
                let (trace, clear) = self.trace.ui(ui, &inside.trace, inside.clients.as_ref());
                switch = trace;
                if clear {
                    self.store.broker.inside.trace.clear();
                }
                None
            }
            DockTab::Availability => self.availability.ui(ui, inside.availability.as_ref()),
            DockTab::Faults => match self.faults.ui(ui, &inside.faults, inside.clients.as_ref()) {
                Some(FaultsOutput::Fault(action)) => {
                    self.send(Command::Fault(action));
                    None
                }
                Some(FaultsOutput::Restart { keep_sessions }) => {
                    let what = if keep_sessions { "every session is kept" } else { "every session is dropped" };
                    let text = format!(
                        "Restart the broker in place? Every connection ends with DISCONNECT 0x8B Server shutting down (wills not published) and {what}; the retained store stays."
                    );
                    self.confirm = Some(Confirm { text, yes: "Restart", command: Command::Fault(FaultAction::Restart { keep_sessions }) });
                    None
                }
                Some(FaultsOutput::TakeOver(client_id)) => Some(ConfirmAction {
                    text: format!("Take over the session of {client_id}? Its connection gets DISCONNECT 0x8E and its will is published."),
                    yes: "Take over",
                    action: ClientAction::TakeOver { client_id },
                }),
                None => None,
            },
            DockTab::Retained => {
                if let Some(DeleteRetained { text, topics }) = self.retained.ui(ui, inside.retained.as_ref()) {
                    let command = Command::DeleteRetained { conn_id: ConnId::LOCAL, topics };
                    self.confirm = Some(Confirm { text, yes: "Delete", command });
                }
                None
            }
            _ => {
                let tree = self.store.conn(ConnId::LOCAL).map(|c| &c.tree);
                self.subscriptions.ui(ui, inside.subscriptions.as_ref(), selected.as_deref(), inside.receivers.as_ref(), tree);
                None
            }
        };
        if let Some(ConfirmAction { text, yes, action }) = confirm {
            self.confirm = Some(Confirm { text, yes, command: Command::ClientAction(action) });
        }
        if let Some(action) = switch {
            // Switching tracing loses nothing: no confirmation. A full channel is said, not hidden.
            self.send(Command::ClientAction(action));
        }
    }

    /// The red strip above the status bar while any fault is active (whatever tab, or none, is
    /// shown), kept fresh every [`POLL_EVERY`] while it is up: a one-shot fault used up goes away.
    pub(super) fn faults_strip_ui(&mut self, ui: &mut egui::Ui) {
        if self.store.broker.inside.faults.is_empty() {
            return;
        }
        let active = self.store.broker.inside.faults.clone();
        let red = ui.visuals().error_fg_color;
        let frame = egui::Frame::side_top_panel(ui.style()).stroke(egui::Stroke::new(1.5, red));
        let mut action = None;
        egui::Panel::bottom("faults-strip").frame(frame).show(ui, |ui| action = faults_panel::strip_ui(ui, &active));
        if let Some(action) = action {
            self.send(Command::Fault(action));
        }
        if self.faults_polled.is_none_or(|at| at.elapsed() >= POLL_EVERY)
            && self.commands.try_send(Command::Inspect(InspectRequest::Faults)).is_ok()
        {
            self.faults_polled = Some(Instant::now());
        }
        ui.ctx().request_repaint_after(POLL_EVERY);
    }

    /// "Retained only" on Local is driven by the broker's store: once turned on, the store's values
    /// are asked for and those the tree lacks (stored before the window opened) are folded in
    /// ([`crate::model::Store::import_retained`]); live messages keep it current afterwards.
    pub(super) fn import_retained_store(&mut self) {
        if let Some((inserted, total, cut)) = self.store.broker.inside.retained_import.take() {
            let left_out = if cut > 0 {
                format!(" ({} left out: more than {} values)", format::count(cut as u64), format::count(RETAINED_IMPORT_MAX as u64))
            } else {
                String::new()
            };
            let text = format!(
                "Retained store: {} values, {} not yet in the tree added{left_out}",
                format::count(total as u64),
                format::count(inserted as u64)
            );
            self.toast = Some((text, Instant::now()));
        }
        let wanted = self.tree.retained_only && self.current == ConnId::LOCAL && self.store.broker.running;
        if !wanted {
            self.retained_imported = false;
        } else if !self.retained_imported && self.commands.try_send(Command::Inspect(InspectRequest::RetainedValues)).is_ok() {
            self.retained_imported = true;
        }
    }

    /// The topic selected in the tree of the embedded broker, if it is a topic (not only a level).
    fn selected_topic(&self) -> Option<String> {
        let conn = self.store.conn(ConnId::LOCAL)?;
        let id = self.tree.selected?;
        conn.tree.node(id).topic().map(ToString::to_string)
    }

    /// Ask for `requests` if the last requests for this tab (or this selection) are [`POLL_EVERY`]
    /// old, or there were none; and come back for the next ones.
    fn poll_inside(&mut self, ctx: &egui::Context, tab: DockTab, requests: Vec<InspectRequest>) {
        // The trace's position moves at every answer: it is not part of what makes a request new.
        let key_requests = requests
            .iter()
            .map(|r| if let InspectRequest::Trace { .. } = r { InspectRequest::Trace { after: 0 } } else { r.clone() })
            .collect();
        let key = (tab, key_requests);
        let due = self.inside_polled.as_ref().is_none_or(|(k, at)| *k != key || at.elapsed() >= POLL_EVERY);
        if due {
            // A full channel skips this turn; the next frame asks again.
            if requests.into_iter().all(|r| self.commands.try_send(Command::Inspect(r)).is_ok()) {
                self.inside_polled = Some((key, Instant::now()));
            }
        }
        ctx.request_repaint_after(POLL_EVERY);
    }
}
