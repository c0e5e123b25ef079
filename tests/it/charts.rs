//! Charts through egui_kittest with a fed store: plot from the tree's context menu, from the
//! inspector and from a JSON field; legend, statistics, skipped count; remove; CSV export; restore.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::model::{ConnId, Message, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, EventSink};
use tokio::sync::mpsc;

struct Fixture {
    harness: Harness<'static, ExplorerApp>,
    commands: mpsc::Receiver<Command>,
    /// Keeps the event channel open.
    _sink: EventSink,
}

/// A message received `ago_secs` seconds ago (inside the default 5 min window).
fn msg(topic: &str, payload: &str, ago_secs: u64) -> Message {
    Message::new(topic, payload.to_owned(), QoS::AtMostOnce, false, SystemTime::now() - Duration::from_secs(ago_secs))
}

fn fixture(msgs: Vec<Message>) -> Fixture {
    let (cmd_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
    let mut app = ExplorerApp::new(cmd_tx, ev_rx);
    app.store.insert_messages(ConnId::LOCAL, msgs);
    app.tree.flash = false;
    let mut harness = Harness::builder().with_size([1400.0, 900.0]).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
    harness.run();
    Fixture { harness, commands, _sink: sink }
}

fn kitchen() -> Vec<Message> {
    vec![
        msg("home/kitchen/temp", "21.5", 40),
        msg("home/kitchen/temp", "22 °C", 30),
        msg("home/kitchen/temp", "oops", 20),
        msg("home/kitchen/temp", "23.5", 10),
        msg("home/kitchen/door", "open", 10),
    ]
}

#[test]
fn plot_a_topic_from_the_context_menu_and_see_it_in_the_legend() {
    let mut f = fixture(kitchen());
    let h = &mut f.harness;
    h.get_by_label("home").click();
    h.run();
    h.get_by_label("kitchen").click();
    h.run();
    h.get_by_label("temp").click_secondary();
    h.run();
    // Right-click selected temp, so the inspector offers Plot too: take the menu's, beside the row.
    assert_eq!(h.query_all_by_label("Plot").count(), 2);
    let row = h.get_by_label("temp").rect();
    h.query_all_by_label("Plot")
        .min_by(|a, b| (a.rect().min.x - row.max.x).abs().total_cmp(&(b.rect().min.x - row.max.x).abs()))
        .expect("menu")
        .click();
    h.run();
    // Statistics of the points in view, on the legend's row: min, max, mean and last; the bad payload is counted.
    let row = h.get_by_role_and_label(Role::CheckBox, "home/kitchen/temp").rect();
    let on_row = |h: &Harness<'static, ExplorerApp>, label: &str| {
        h.query_all_by_label(label).filter(|n| (n.rect().center().y - row.center().y).abs() < row.height()).count()
    };
    assert_eq!(on_row(h, "21.5"), 1, "min");
    assert_eq!(on_row(h, "23.5"), 2, "max and last");
    assert_eq!(on_row(h, "22.3"), 1, "the mean as precise as its neighbours, not 22.3333");
    h.get_by_label("1 skipped");
    let chart = &h.state().store.charts.charts()[0];
    assert_eq!(chart.series[0].points().len(), 3, "filled from history");
    // A non-numeric topic offers no Plot.
    h.get_by_label("door").click_secondary();
    h.run();
    assert!(h.query_by_label("Plot").is_none());
}

#[test]
fn live_messages_follow_and_a_unit_shows_in_the_table() {
    let mut f = fixture(kitchen());
    let h = &mut f.harness;
    h.state_mut().plot("home/kitchen/temp".into(), None);
    h.run();
    h.state_mut().store.insert_messages(ConnId::LOCAL, [msg("home/kitchen/temp", "30.25", 1)]);
    h.run();
    assert_eq!(h.query_all_by_label("30.25").count(), 2, "new max and last");
    h.get_by_role_and_label(Role::TextInput, "Unit").click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Unit").type_text("°C");
    h.run();
    assert_eq!(h.query_all_by_label("30.25 °C").count(), 2);
    // Hide it: the statistics of a hidden series are not computed.
    h.get_by_role_and_label(Role::CheckBox, "home/kitchen/temp").click();
    h.run();
    assert!(!h.state().store.charts.charts()[0].series[0].def.visible);
    assert_eq!(h.query_all_by_label("30.25 °C").count(), 1, "only the last value");
}

#[test]
fn plot_json_fields_from_the_json_tree_with_dotted_keys_and_arrays() {
    let press = r#"{"state":"run","temperature":61.5,"a.b":[1, 2.5]}"#;
    let mut f = fixture(vec![msg("factory/line1/press", press, 20), msg("factory/line1/press", press, 10)]);
    let h = &mut f.harness;
    h.state_mut().pending_select = Some("factory/line1/press".into());
    h.run();
    h.get_by_label("Plot temperature").click();
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "factory/line1/press[temperature]");
    h.get_by_label(r#"Plot ["a.b"][1]"#).click();
    h.run();
    h.get_by_role_and_label(Role::CheckBox, r#"factory/line1/press[["a.b"][1]]"#);
    let chart = &h.state().store.charts.charts()[0];
    assert_eq!(chart.series.len(), 2, "both on the same chart");
    assert_eq!(chart.series[1].last().map(|p| p[1]), Some(2.5));
    assert!(h.query_by_label("Plot state").is_none(), "text fields cannot be plotted");
}

#[test]
fn export_csv_sends_the_chart_data_and_remove_drops_a_series() {
    let mut f = fixture(kitchen());
    {
        let h = &mut f.harness;
        h.state_mut().plot("home/kitchen/temp".into(), None);
        h.run();
        h.get_by_label("Export CSV…").click();
        h.run();
    }
    let Ok(Command::SaveFile { bytes, suggested_name, .. }) = f.commands.try_recv() else { panic!("a SaveFile command") };
    assert_eq!(suggested_name, "Chart_1.csv");
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "time,home/kitchen/temp");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].ends_with("Z,21.5") && lines[3].ends_with("Z,23.5"), "{text}");
    let h = &mut f.harness;
    h.get_by_label("Remove home/kitchen/temp").click();
    h.run();
    assert!(h.state().store.charts.charts()[0].series.is_empty());
    assert!(h.query_by_role_and_label(Role::CheckBox, "home/kitchen/temp").is_none());
}

#[test]
fn saved_chart_definitions_are_restored_and_refill() {
    let defs = {
        let mut f = fixture(kitchen());
        f.harness.state_mut().plot("home/kitchen/temp".into(), None);
        f.harness.state().store.charts.defs()
    };
    let mut f = fixture(Vec::new());
    let h = &mut f.harness;
    h.state_mut().restore_charts(&defs);
    h.run();
    h.get_by_role_and_label(Role::CheckBox, "home/kitchen/temp");
    h.state_mut().store.insert_messages(ConnId::LOCAL, [msg("home/kitchen/temp", "19.75", 1)]);
    h.run();
    assert_eq!(h.query_all_by_label("19.75").count(), 4, "min, max, mean and last");
}

#[test]
fn paused_statistics_cover_exactly_the_visible_range() {
    let mut f = fixture(kitchen());
    let h = &mut f.harness;
    h.state_mut().plot("home/kitchen/temp".into(), None);
    h.run();
    h.get_by_label("Pause chart").click();
    h.run();
    h.get_by_label("Follow");
    // A value arrives after the paused view's end: the table's Last shows it, the statistics do not.
    h.state_mut().store.insert_messages(
        ConnId::LOCAL,
        [Message::new("home/kitchen/temp", "99", QoS::AtMostOnce, false, SystemTime::now() + Duration::from_secs(5))],
    );
    h.run();
    h.run();
    assert_eq!(h.query_all_by_label("99").count(), 1, "only Last");
    assert_eq!(h.query_all_by_label("23.5").count(), 1, "Max is still of the view");
    h.get_by_label("22.3");
}

#[test]
fn the_wheel_zooms_time_and_reset_zoom_brings_old_data_back() {
    // Data from 20 minutes ago: the live 5 min window is empty, and says so.
    let old: Vec<Message> = [("21.5", 1210), ("23.5", 1200)].iter().map(|(v, ago)| msg("home/kitchen/temp", v, *ago)).collect();
    let mut f = fixture(old);
    let h = &mut f.harness;
    h.state_mut().plot("home/kitchen/temp".into(), None);
    h.run();
    h.get_by_label_contains("no data in this time range");
    h.get_by_label("Reset zoom").click();
    h.run();
    h.run();
    assert!(h.query_by_label_contains("no data in this time range").is_none());
    h.get_by_label("21.5");
    h.get_by_label("22.5");
    // The wheel over the plot zooms the time axis around the pointer: the view narrows, data stays.
    let id = h.state().store.charts.charts()[0].id;
    let before = h.state_mut().plots.view(id).drawn_x();
    let title = h.query_all_by_label("Chart 1").map(|n| n.rect()).max_by(|a, b| a.min.y.total_cmp(&b.min.y)).expect("title");
    let inside = title.left_bottom() + egui::vec2(150.0, 60.0);
    h.hover_at(inside);
    h.run();
    for _ in 0..10 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 60.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run();
    let after = h.state_mut().plots.view(id).drawn_x();
    assert!(after.1 - after.0 < (before.1 - before.0) * 0.9, "zoomed in on time: {before:?} → {after:?}");
    assert!(after.0 > before.0 - 1.0 && after.1 < before.1 + 1.0, "around the pointer, inside the old range");
    h.get_by_label("Follow");
}

#[test]
fn the_exported_picture_holds_the_title_and_the_legend() {
    use mqscope::model::{Charts, SeriesDef};
    use mqscope::ui::plot_panel::{ChartAction, PlotPanel};
    let mut charts = Charts::default();
    charts.add_series(None, SeriesDef::new(ConnId::LOCAL, "home/kitchen/temp", None, [0x3d, 0x8b, 0xfd]), None);
    charts.charts_mut()[0].title = "Kitchen".into();
    for (v, ago) in [("21.5", 20), ("22.5", 10)] {
        charts.offer(ConnId::LOCAL, &msg("home/kitchen/temp", v, ago));
    }
    let state = (PlotPanel::default(), charts, None::<ChartAction>);
    let mut h = Harness::builder().with_size([1000.0, 400.0]).build_ui_state(
        |ui, (panel, charts, action): &mut (PlotPanel, Charts, Option<ChartAction>)| {
            if let Some(a) = panel.ui(ui, charts, SystemTime::now()) {
                *action = Some(a);
            }
        },
        state,
    );
    h.run();
    h.get_by_label("Export PNG…").click();
    h.run();
    let Some(ChartAction::SavePng { rect, suggested_name }) = h.state().2.clone() else { panic!("a SavePng action") };
    assert_eq!(suggested_name, "Kitchen.png");
    let title = h.query_all_by_label("Kitchen").map(|n| n.rect()).max_by(|a, b| a.min.y.total_cmp(&b.min.y)).expect("title");
    let legend = h.get_by_role_and_label(Role::CheckBox, "home/kitchen/temp").rect();
    let mean = h.get_by_label("22.0").rect();
    for (what, r) in [("title", title), ("legend entry", legend), ("statistics", mean)] {
        assert!(rect.contains_rect(r), "the picture {rect:?} holds the {what} {r:?}");
    }
    let export = h.get_by_label("Export PNG…").rect();
    assert!(!rect.intersects(export), "but not the buttons");
}
