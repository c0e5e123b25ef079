//! The publish panel says only what is true (issue 17, items 1, 2, 4 and 10): what became of a
//! publish (queued, sent, delivered, refused), which connection it goes to, a confirmation before an
//! empty retained message, completion accepted by click and by Tab; and the client sessions report
//! each outcome from the broker's acknowledgements.

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mqscope::app::ExplorerApp;
use mqscope::client::ClientSessions;
use mqscope::model::profile::{MqttVersion, Profile};
use mqscope::model::{ConnId, ConnStatus, Message, MessageMeta, QoS};
use mqscope::protocol::{COMMAND_CAPACITY, Command, Event, EventReceiver, EventSink, PublishOutcome, PublishRequest};
use tokio::sync::mpsc;

use crate::common::guard;

struct Fixture {
    harness: Harness<'static, ExplorerApp>,
    commands: mpsc::Receiver<Command>,
    sink: EventSink,
    rt: tokio::runtime::Runtime,
}

impl Fixture {
    fn new(size: [f32; 2]) -> Self {
        let (cmd_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
        let (sink, ev_rx) = EventSink::channel(Arc::new(|_| {}));
        let mut app = ExplorerApp::new(cmd_tx, ev_rx);
        let now = std::time::SystemTime::now();
        app.store.insert_messages(
            ConnId::LOCAL,
            vec![
                Message::new("home/kitchen/temp", "21.5", QoS::AtLeastOnce, true, now),
                Message::new("home/garage/door", "open", QoS::AtMostOnce, false, now),
            ],
        );
        app.tree.flash = false;
        let mut harness = Harness::builder().with_size(size).build_ui_state(|ui, app: &mut ExplorerApp| app.ui(ui), app);
        harness.run();
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        Self { harness, commands, sink, rt }
    }

    /// The runtime's answer arrives, as it would through the event channel.
    fn answer(&mut self, event: Event) {
        self.rt.block_on(self.sink.control(event));
        self.harness.run();
    }

    fn type_into(&mut self, role: Role, label: &str, text: &str) {
        self.harness.get_by_role_and_label(role, label).click();
        self.harness.run();
        self.harness.get_by_role_and_label(role, label).type_text(text);
        self.harness.run();
    }

    /// The next Publish command sent (saving the history is another command, skipped).
    fn sent(&mut self) -> Option<PublishRequest> {
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Publish(req) = command {
                return Some(req);
            }
        }
        None
    }

    fn publish(&mut self) -> PublishRequest {
        self.harness.get_by_role_and_label(Role::Button, "Publish").click();
        self.harness.run();
        self.sent().expect("a Publish command")
    }
}

#[test]
fn a_publish_on_a_connection_that_is_down_is_queued_then_reported_delivered_on_its_puback() {
    let mut f = Fixture::new([1280.0, 800.0]);
    let dead = f.harness.state_mut().store.open_conn("dead", "127.0.0.1:9");
    f.harness.state_mut().store.conn_mut(dead).expect("conn").status =
        ConnStatus::Reconnecting { in_secs: 4, error: "connection refused".into() };
    f.harness.state_mut().current = dead;
    f.harness.run();
    // Every place names the connection in force.
    f.harness.get_by_label("to dead");
    f.harness.get_by_label_contains("dead 127.0.0.1:9 · reconnecting in 4 s");
    f.harness.get_by_label("dead is reconnecting in 4 s: messages wait until it connects.");

    f.type_into(Role::TextInput, "Topic", "dead/test");
    f.type_into(Role::MultilineTextInput, "Text payload", "4.25");
    f.harness.get_by_role_and_label(Role::Button, "1").click(); // QoS 1
    f.harness.run();
    let req = f.publish();
    assert_eq!((req.conn_id, req.topic.as_str(), req.qos), (dead, "dead/test", QoS::AtLeastOnce));
    assert_ne!(req.id, 0, "the outcome must find its way back");
    // Said at once: the session takes it only after its back-off, and will report the same.
    f.harness.get_by_label("Queued: dead is not connected; 4 B to dead/test goes out once it is.");
    assert!(f.harness.query_by_label_contains("Published").is_none(), "nothing claims it went out");
    f.harness.get_by_label("History (0)");

    f.answer(Event::PublishResult { id: req.id, conn_id: dead, outcome: PublishOutcome::Queued });
    f.harness.get_by_label("Queued: dead is not connected; 4 B to dead/test goes out once it is.");
    f.harness.get_by_label("History (0)");

    f.answer(Event::PublishResult { id: req.id, conn_id: dead, outcome: PublishOutcome::Delivered });
    f.harness.get_by_label("Delivered to the broker (PUBACK): 4 B to dead/test on dead.");
    f.harness.get_by_label("History (1)");
    assert_eq!(f.harness.state().publish.history[0].topic, "dead/test");
}

#[test]
fn a_refused_publish_says_why_and_is_not_filed() {
    let mut f = Fixture::new([1280.0, 800.0]);
    f.type_into(Role::TextInput, "Topic", "a/b");
    f.type_into(Role::MultilineTextInput, "Text payload", "x");
    let req = f.publish();
    f.answer(Event::PublishResult {
        id: req.id,
        conn_id: ConnId::LOCAL,
        outcome: PublishOutcome::Refused("connection is not open".into()),
    });
    f.harness.get_by_label("Not published to a/b on Local: connection is not open");
    f.harness.get_by_label("History (0)");
    // A stale answer to another request does not overwrite the line.
    let again = f.publish();
    f.answer(Event::PublishResult { id: again.id, conn_id: ConnId::LOCAL, outcome: PublishOutcome::Delivered });
    f.harness.get_by_label("Published 1 B to a/b on Local (taken by the embedded broker).");
    f.answer(Event::PublishResult { id: req.id, conn_id: ConnId::LOCAL, outcome: PublishOutcome::Delivered });
    f.harness.get_by_label("Published 1 B to a/b on Local (taken by the embedded broker).");
    f.harness.get_by_label("History (1)");
}

#[test]
fn an_empty_retained_publish_asks_first_because_it_deletes() {
    let mut f = Fixture::new([1280.0, 800.0]);
    f.type_into(Role::TextInput, "Topic", "home/kitchen/temp");
    f.harness.get_by_label("Retain").click();
    f.harness.run();
    f.harness.get_by_role_and_label(Role::Button, "Publish").click();
    f.harness.run();
    assert_eq!(f.sent(), None, "nothing sent before the answer");
    let question = "Publish an empty retained message to home/kitchen/temp on Local? The broker then deletes that topic's retained value.";
    f.harness.get_by_label(question);
    f.harness.get_by_label("Cancel").click();
    f.harness.run();
    assert_eq!(f.sent(), None, "cancelled");
    assert!(f.harness.query_by_label(question).is_none());
    f.harness.get_by_label("Not published: the retained value stays.");

    f.harness.get_by_role_and_label(Role::Button, "Publish").click();
    f.harness.run();
    f.harness.get_by_label("Delete retained value").click();
    f.harness.run();
    let req = f.sent().expect("published after yes");
    assert!(req.payload.is_empty() && req.retain);
}

#[test]
fn a_validation_error_goes_when_the_topic_is_fixed_and_replaces_an_old_result() {
    let mut f = Fixture::new([1280.0, 800.0]);
    f.type_into(Role::TextInput, "Topic", "a/b");
    f.type_into(Role::MultilineTextInput, "Text payload", "1");
    let req = f.publish();
    f.answer(Event::PublishResult { id: req.id, conn_id: ConnId::LOCAL, outcome: PublishOutcome::Delivered });
    f.harness.get_by_label_contains("Published 1 B to a/b");
    // A wildcard typed: the error shows as typed, without pressing Publish.
    f.type_into(Role::TextInput, "Topic", "/+");
    assert_eq!(f.harness.state().publish.form.topic, "a/b/+");
    f.harness.get_by_label("A topic name cannot contain the wildcards + or #.");
    let publish_y = f.harness.get_by_role_and_label(Role::Button, "Publish").rect().min.y;
    f.harness.get_by_role_and_label(Role::Button, "Publish").click();
    f.harness.run();
    assert_eq!(f.sent(), None);
    assert!(f.harness.query_by_label_contains("Published 1 B").is_none(), "the old result is gone");
    f.harness.get_by_label("Not published: see the form.");
    // Fixed: the error goes at once, and the button never moved.
    f.harness.get_by_role_and_label(Role::TextInput, "Topic").click();
    f.harness.run();
    f.harness.key_press(egui::Key::Backspace);
    f.harness.key_press(egui::Key::Backspace);
    f.harness.run();
    assert_eq!(f.harness.state().publish.form.topic, "a/b");
    assert!(f.harness.query_by_label("A topic name cannot contain the wildcards + or #.").is_none());
    assert!(f.harness.query_by_label("Not published: see the form.").is_none(), "no longer applies");
    assert!((f.harness.get_by_role_and_label(Role::Button, "Publish").rect().min.y - publish_y).abs() < 0.5);
}

#[test]
fn a_topic_completion_is_accepted_by_tab_and_by_click() {
    let mut f = Fixture::new([1280.0, 800.0]);
    f.type_into(Role::TextInput, "Topic", "ho");
    f.harness.run();
    f.harness.key_press(egui::Key::Tab);
    f.harness.run();
    assert_eq!(f.harness.state().publish.form.topic, "home/");
    f.harness.get_by_role_and_label(Role::TextInput, "Topic").type_text("ki");
    f.harness.run();
    f.harness.run();
    f.harness.get_by_label("kitchen/").click();
    f.harness.run();
    assert_eq!(f.harness.state().publish.form.topic, "home/kitchen/");
    f.harness.get_by_role_and_label(Role::TextInput, "Topic").type_text("t");
    f.harness.run();
    f.harness.run();
    f.harness.key_press(egui::Key::Enter);
    f.harness.run();
    assert_eq!(f.harness.state().publish.form.topic, "home/kitchen/temp");
}

#[test]
fn the_profile_list_shows_an_open_connection_instead_of_connecting_it_twice() {
    let mut f = Fixture::new([1280.0, 800.0]);
    let app = f.harness.state_mut();
    app.connections.profiles =
        vec![Profile { name: "plant".into(), ..Profile::default() }, Profile { name: "spare".into(), ..Profile::default() }];
    let plant = app.store.open_conn("plant", "localhost:1883");
    app.store.conn_mut(plant).expect("conn").status = ConnStatus::Connected;
    app.connections.open = true;
    f.harness.run();
    f.harness.get_by_label("Show plant").click();
    f.harness.run();
    assert_eq!(f.harness.state().current, plant);
    assert_eq!(f.harness.query_all_by_label("Connect").count(), 1, "only the closed one offers Connect");
    assert!(!std::iter::from_fn(|| f.commands.try_recv().ok()).any(|c| matches!(c, Command::Connect { .. })), "no second session");
}

// The client sessions, against the embedded broker: each request's outcome from its own acknowledgement.

async fn next_result(events: &mut EventReceiver) -> (u64, PublishOutcome) {
    guard("a PublishResult", async {
        loop {
            if let Some(Event::PublishResult { id, outcome, .. }) = events.recv().await {
                return (id, outcome);
            }
        }
    })
    .await
}

fn request(id: u64, qos: QoS) -> PublishRequest {
    PublishRequest {
        id,
        conn_id: ConnId(1),
        topic: format!("r/{id}"),
        payload: "x".into(),
        qos,
        retain: false,
        meta: MessageMeta::default(),
    }
}

#[tokio::test]
async fn client_sessions_report_sent_delivered_queued_and_refused() {
    let (addr, _broker) = crate::common::start_broker().await;
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
        let mut sessions = ClientSessions::new(sink);
        let profile = Profile { name: "t".into(), host: "127.0.0.1".into(), port: addr.port(), version, ..Profile::default() };
        sessions.connect(ConnId(1), profile);
        guard("connected", async {
            loop {
                if let Some(Event::ConnStatus { status: ConnStatus::Connected, .. }) = events.recv().await {
                    return;
                }
            }
        })
        .await;
        sessions.publish(request(1, QoS::AtLeastOnce)).await;
        assert_eq!(next_result(&mut events).await, (1, PublishOutcome::Delivered), "{version:?}: PUBACK");
        sessions.publish(request(2, QoS::ExactlyOnce)).await;
        assert_eq!(next_result(&mut events).await, (2, PublishOutcome::Delivered), "{version:?}: PUBCOMP");
        sessions.publish(request(3, QoS::AtMostOnce)).await;
        assert_eq!(next_result(&mut events).await, (3, PublishOutcome::Sent), "{version:?}: QoS 0 is only sent");
        sessions.publish(PublishRequest { conn_id: ConnId(9), ..request(4, QoS::AtLeastOnce) }).await;
        assert_eq!(next_result(&mut events).await, (4, PublishOutcome::Refused("connection is not open".into())));
        sessions.shutdown();
    }
    // Nothing listens: the request waits, and says so.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let (sink, mut events) = EventSink::channel(Arc::new(|_| {}));
    let mut sessions = ClientSessions::new(sink);
    sessions.connect(ConnId(1), Profile { name: "dead".into(), host: "127.0.0.1".into(), port, ..Profile::default() });
    guard("the first failure", async {
        loop {
            if let Some(Event::ConnStatus { status: ConnStatus::Reconnecting { .. }, .. }) = events.recv().await {
                return;
            }
        }
    })
    .await;
    sessions.publish(request(5, QoS::AtLeastOnce)).await;
    assert_eq!(next_result(&mut events).await, (5, PublishOutcome::Queued));
    sessions.shutdown();
}
