//! The three side-by-side panels (topic tree, inspector, publish) and how they share the width:
//! minimum widths, the publish panel folding to a strip. Methods of [`ExplorerApp`].

use std::time::SystemTime;

use super::{ExplorerApp, INSPECTOR_MIN_WIDTH, PUBLISH_MIN_WIDTH, TREE_MIN_WIDTH};
use crate::model::ConnId;
use crate::ui::message_panel::InspectorAction;
use crate::ui::topic_tree_panel::TreeAction;

impl ExplorerApp {
    /// Lay out the tree (left), the publish panel or its strip (right) and the inspector (centre);
    /// returns what the tree and the inspector asked for (`None` if the current connection is gone).
    pub(super) fn panels_ui(&mut self, ui: &mut egui::Ui, now: SystemTime) -> Option<(Option<TreeAction>, Option<InspectorAction>)> {
        let mut action = None;
        let hint = match self.store.broker.local_addr {
            Some(addr) if self.current == ConnId::LOCAL => {
                format!("Waiting for messages on {addr}. Try:\nmosquitto_pub -h {} -p {} -t hello -m world", addr.ip(), addr.port())
            }
            _ => "Waiting for messages…".to_owned(),
        };
        let conn = self.store.conn(self.current)?;
        let Self { tree, message, publish, commands, publish_open, sparkline, paused_at, decoders, .. } = self;
        // Side panels never squeeze the inspector below its minimum; the publish panel folds to a
        // strip (by hand, or when the window is too narrow for all three).
        let width = ui.available_width();
        let room = width >= TREE_MIN_WIDTH + INSPECTOR_MIN_WIDTH + PUBLISH_MIN_WIDTH + 24.0;
        let publish_shown = *publish_open && room;
        let publish_most = (width - TREE_MIN_WIDTH - INSPECTOR_MIN_WIDTH).max(PUBLISH_MIN_WIDTH);
        let publish_width = if publish_shown {
            egui::Panel::right("publish")
                .resizable(true)
                .default_size(300.0_f32.min(publish_most))
                .size_range(PUBLISH_MIN_WIDTH..=publish_most)
                .show(ui, |ui| {
                    let fold = ui.small_button("»").on_hover_text("Fold the publish panel to a strip");
                    fold.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Fold the publish panel"));
                    if fold.clicked() {
                        *publish_open = false;
                    }
                    publish.ui(ui, conn, commands, decoders);
                })
                .response
                .rect
                .width()
        } else {
            egui::Panel::right("publish-strip")
                .resizable(false)
                .exact_size(28.0)
                .show(ui, |ui| {
                    let hover = if room { "Show the publish panel" } else { "Widen the window to show the publish panel" };
                    let unfold = ui.add_enabled(room, egui::Button::new("«").small()).on_hover_text(hover).on_disabled_hover_text(hover);
                    unfold.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, room, "Show the publish panel"));
                    if unfold.clicked() {
                        *publish_open = true;
                    }
                })
                .response
                .rect
                .width()
        };
        let tree_most = (width - publish_width - INSPECTOR_MIN_WIDTH).max(TREE_MIN_WIDTH);
        egui::Panel::left("topics")
            .resizable(true)
            .default_size((width * 0.36).clamp(TREE_MIN_WIDTH, tree_most))
            .size_range(TREE_MIN_WIDTH..=tree_most)
            .show(ui, |ui| {
                egui::Panel::bottom("selected_rates").show(ui, |ui| {
                    sparkline.ui(ui, conn.id, &conn.tree, tree.selected, paused_at.unwrap_or(now));
                });
                action = tree.ui(ui, conn.id, &conn.tree, now, &hint);
            });
        let mut inspector_action = None;
        egui::CentralPanel::default().show(ui, |ui| {
            // Wide content scrolls or is cut here; it never paints over the publish panel.
            ui.set_clip_rect(ui.max_rect().intersect(ui.clip_rect()));
            inspector_action = message.ui(ui, &conn.tree, tree.selected, now, decoders);
        });
        Some((action, inspector_action))
    }
}
