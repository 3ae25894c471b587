//! The alert pane, the full alert view and the incident keys on TestBackend: text
//! snapshots, colours of severity cells, and acknowledge / silence / jump / export by key.

use crate::support::screen;

use screen::{find, lines};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::alerts::{AlertState, EntryKind, Subject, default_rules};
use fleetdeck::app::{Action, App, Effect, Focus, View};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::{AgentUpdate, NodeDelta};
use fleetdeck::ui::{self, DrawInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const NODES: usize = 6;
const CONTAINERS: usize = 6;

struct Console {
    app: App,
    t0: Instant,
}

impl Console {
    /// Fixture fleet; node-01 goes hot, node-02 goes down; time moves `secs` on.
    fn with_incident(secs: u64) -> Self {
        let t0 = Instant::now();
        let mut app = App::new(fixtures::fleet(NODES, CONTAINERS, t0), t0);
        app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
        app.title = "demo".into();
        app.set_alert_rules(default_rules());
        let mut c = Self { app, t0 };
        c.app.update(Action::Agent(AgentUpdate::Down {
            slot: 2,
            reason: "connection refused".into(),
        }));
        c.at(1);
        c.hot(1, 99.0);
        for s in 2..=secs {
            c.at(s);
            if s % 10 == 0 {
                c.hot(1, 99.0);
            }
            c.app.update(Action::Tick);
        }
        c
    }

    fn at(&mut self, secs: u64) {
        self.app.set_clock(
            self.t0 + Duration::from_secs(secs),
            FIXTURE_TIME_UNIX_MS + secs * 1000,
        );
    }

    fn hot(&mut self, slot: usize, cpu: f32) {
        let node = &self.app.fleet.nodes()[slot];
        let mut host = node.host.clone();
        host.cpu_percent = cpu;
        let (epoch, seq) = (node.epoch, node.seq + 1);
        self.app.update(Action::Agent(AgentUpdate::Delta {
            slot,
            epoch,
            seq,
            delta: Box::new(NodeDelta {
                host: Some(host),
                ..NodeDelta::default()
            }),
        }));
    }

    fn press(&mut self, code: KeyCode) {
        self.app
            .update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    fn render(&mut self, width: u16, height: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        for _ in 0..2 {
            self.app.refresh();
            let mut info = DrawInfo::default();
            terminal
                .draw(|f| info = ui::draw(f, &self.app))
                .expect("draw");
            self.app.update(Action::Drawn(info));
        }
        terminal.backend().buffer().clone()
    }
}

#[test]
fn the_alert_pane_lists_by_severity_then_age_with_counts_in_its_title() {
    let mut c = Console::with_incident(40);
    let buf = c.render(160, 40);
    insta::assert_snapshot!("alert_pane_160x40", lines(&buf).join("\n"));
    let theme = c.app.theme.clone();
    let crit = find(&buf, "CRIT", "node unreachable");
    assert_eq!(
        buf[crit].fg,
        theme.crit.fg.unwrap(),
        "critical severity cell"
    );
    let warn = find(&buf, "WARN", "health check failing");
    assert_eq!(
        buf[warn].fg,
        theme.warn.fg.unwrap(),
        "warning severity cell"
    );
    let title = find(&buf, "2 critical", "Alerts");
    assert_eq!(
        buf[title].fg,
        theme.crit.fg.unwrap(),
        "critical count in the title"
    );
}

#[test]
fn the_full_alert_view_shows_details_recommendations_and_the_timeline() {
    let mut c = Console::with_incident(40);
    c.keys("a");
    assert_eq!(c.app.panes.view(), View::Alerts);
    let buf = c.render(160, 48);
    insta::assert_snapshot!("alert_view_160x48", lines(&buf).join("\n"));
    find(&buf, "Recommendations (1)", "");
    let at = find(&buf, "→ failover node-02", "(node unreachable");
    assert_eq!(
        buf[at].fg,
        c.app.theme.info.fg.unwrap(),
        "the proposed action stands out"
    );
}

#[test]
fn acknowledge_silence_and_jump_by_keyboard() {
    let mut c = Console::with_incident(40);
    c.keys("a");
    c.app.refresh();
    // Critical first, oldest first: node-02's unreachable alert is on top.
    let top = c.app.selected_alert().unwrap().clone();
    assert_eq!(top.summary, "node unreachable");
    assert_eq!(top.state, AlertState::Firing);
    c.keys("A");
    c.keys("on it");
    c.press(KeyCode::Enter);
    let acked = c.app.alerts.get(&top.key).unwrap().ack.clone().unwrap();
    assert_eq!(acked.note, "on it");
    let buf = c.render(160, 48);
    find(&buf, "ACK: on it", "node unreachable");

    // Silence the next one for the default 15 minutes: S, Enter.
    c.press(KeyCode::Char('j'));
    let second = c.app.selected_alert().unwrap().key;
    c.keys("S");
    c.press(KeyCode::Right);
    c.press(KeyCode::Enter);
    let s = c.app.alerts.silence(&second).unwrap().clone();
    assert_eq!(
        s.until_unix_ms,
        FIXTURE_TIME_UNIX_MS + 40_000 + 3_600_000,
        "1h chosen"
    );
    // A typed duration that does not parse keeps the prompt open and says why.
    c.keys("S");
    c.keys("soon");
    c.press(KeyCode::Enter);
    let error = c.app.panes.prompt().as_ref().and_then(|p| p.error.clone());
    assert!(error.unwrap().contains("not a duration"));
    c.press(KeyCode::Esc);
    assert!(c.app.panes.prompt().is_none());

    // The silence ends on time.
    c.at(40 + 3600);
    c.app.update(Action::Tick);
    assert!(c.app.alerts.silence(&second).is_none());

    // Enter on the unreachable alert jumps to node-02 in the main view.
    c.press(KeyCode::Char('g'));
    c.app.refresh();
    assert_eq!(
        c.app.selected_alert().unwrap().key.subject(),
        Subject::Node(2)
    );
    c.press(KeyCode::Enter);
    c.app.refresh();
    assert_eq!(c.app.panes.view(), View::Main);
    assert_eq!(c.app.panes.tables.focus, Focus::Nodes);
    assert_eq!(c.app.panes.tables.nodes.selected, Some(2));

    let kinds: Vec<EntryKind> = c.app.alerts.timeline().entries().map(|e| e.kind).collect();
    for k in [
        EntryKind::Firing,
        EntryKind::Acknowledged,
        EntryKind::Silenced,
        EntryKind::SilenceExpired,
    ] {
        assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
    }
}

#[test]
fn from_a_firing_unreachable_alert_two_keys_open_its_failover() {
    let mut c = Console::with_incident(40);
    c.keys("a"); // 1: the alert view, the critical unreachable alert on top
    c.keys("x"); // 2: its recommended action, planned in the action dialog
    let title = match &c.app.panes.dialog() {
        Some(fleetdeck::app::Dialog::Confirm { plan, .. }) => plan.title.clone(),
        Some(fleetdeck::app::Dialog::Refused { title, message }) => format!("{title}: {message}"),
        other => panic!("no action dialog: {other:?}"),
    };
    assert!(title.contains("node-02"), "{title}");
    let buf = c.render(120, 40);
    find(&buf, "node-02", "");
    c.press(KeyCode::Esc);
    assert!(c.app.panes.dialog().is_none());
    assert!(
        c.app
            .alerts
            .timeline()
            .entries()
            .any(|e| e.kind == EntryKind::Proposed && e.text.contains("failover node-02"))
    );
}

#[test]
fn from_the_main_view_one_key_opens_the_top_alert_s_failover() {
    let mut c = Console::with_incident(40);
    assert_eq!(c.app.panes.view(), View::Main);
    c.keys("x"); // the alert under the alert cursor: the critical unreachable one on top
    let title = match &c.app.panes.dialog() {
        Some(fleetdeck::app::Dialog::Confirm { plan, .. }) => plan.title.clone(),
        Some(fleetdeck::app::Dialog::Refused { title, message }) => format!("{title}: {message}"),
        other => panic!("no action dialog: {other:?}"),
    };
    assert!(title.contains("node-02"), "{title}");
}

#[test]
fn a_lost_node_s_alerts_read_stale_and_dim_never_live() {
    let mut c = Console::with_incident(70);
    c.app.refresh();
    let firing = |c: &Console| {
        c.app
            .alerts
            .rows()
            .iter()
            .filter(|a| a.node == "node-01" && a.state == AlertState::Firing)
            .count()
    };
    assert_eq!(firing(&c), 2, "CPU warning and critical fire on node-01");
    c.app.update(Action::Agent(AgentUpdate::Down {
        slot: 1,
        reason: "connection reset".into(),
    }));
    c.app.refresh();
    let buf = c.render(160, 40);
    let screen = lines(&buf).join("\n");
    assert!(screen.contains("2 stale"), "counted apart:\n{screen}");
    assert_eq!(firing(&c), 0);
    let state = find(&buf, "stale", "CPU critical");
    assert_eq!(buf[state].fg, c.app.theme.dim.fg.unwrap_or_default());
    let severity = find(&buf, "CRIT", "CPU critical");
    assert_eq!(
        buf[severity].fg,
        c.app.theme.dim.fg.unwrap_or_default(),
        "no live severity colour on stale data"
    );
}

#[test]
fn when_the_selected_alert_resolves_the_cursor_goes_back_to_the_most_urgent() {
    let mut c = Console::with_incident(70);
    c.press(KeyCode::Tab);
    c.press(KeyCode::Tab);
    c.app.refresh();
    let row = c
        .app
        .alerts
        .rows()
        .iter()
        .position(|a| a.rule == "cpu-warning")
        .expect("cpu-warning listed");
    assert!(row > 0, "a warning sorts below the critical alerts");
    for _ in 0..row {
        c.keys("j");
    }
    assert_eq!(
        c.app.selected_alert().map(|a| a.rule.as_str()),
        Some("cpu-warning")
    );
    c.at(71);
    c.hot(1, 20.0);
    c.app.refresh();
    assert_eq!(c.app.panes.alerts.cursor.row, 0);
    let top = c.app.selected_alert().expect("an alert on top");
    assert_eq!(top.state, AlertState::Firing);
}

#[test]
fn export_and_the_palette() {
    let mut c = Console::with_incident(40);
    c.keys("E");
    let effects = c.app.take_effects();
    let [
        Effect::ExportTimeline {
            file_name,
            markdown,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(file_name, "incident-20261124-120040.md");
    assert!(
        markdown.contains("| firing | critical | node unreachable on node-02 (down)"),
        "{markdown}"
    );
    c.app
        .update(Action::Exported(Ok("/tmp/x/incident.md".into())));
    assert_eq!(
        c.app.status_message(),
        Some("timeline exported to /tmp/x/incident.md")
    );

    c.keys(":");
    c.keys("vw alr");
    let buf = c.render(120, 40);
    insta::assert_snapshot!("palette_120x40", lines(&buf).join("\n"));
    c.press(KeyCode::Enter);
    assert_eq!(c.app.panes.view(), View::Alerts);
    c.keys(":");
    c.keys("help");
    c.press(KeyCode::Enter);
    assert!(c.app.panes.help_offset().is_some());
}

/// Fixture fleet with the default rules at t = 0, nothing hot, nothing down.
fn quiet_console() -> Console {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(NODES, CONTAINERS, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    app.set_alert_rules(default_rules());
    Console { app, t0 }
}

impl Console {
    /// Time moves on to `to` seconds, one tick a second, the `warm` nodes kept at their CPU.
    fn run_until(&mut self, from: u64, to: u64, warm: &[usize]) {
        for s in from..=to {
            self.at(s);
            if s % 10 == 0 {
                for &slot in warm {
                    let cpu = self.app.fleet.nodes()[slot].host.cpu_percent;
                    self.hot(slot, cpu);
                }
            }
            self.app.update(Action::Tick);
            // A frame a second, as the run loop draws: the alert rows are re-sorted.
            self.app.refresh();
        }
    }

    fn under_cursor(&self) -> (String, String) {
        let a = self
            .app
            .selected_alert()
            .expect("an alert under the cursor");
        (a.rule.clone(), a.state.as_str().to_string())
    }
}

#[test]
fn a_more_severe_alert_that_starts_firing_takes_the_cursor_so_x_acts_on_it() {
    // A pending INFO alert and two firing warnings are listed; the cursor is on a warning.
    let mut c = quiet_console();
    c.hot(1, 88.0);
    c.hot(3, 82.0);
    c.run_until(1, 70, &[1, 3]);
    let pending_info =
        c.app.alerts.rows().iter().any(|a| {
            a.severity == fleetdeck::alerts::Severity::Info && a.state == AlertState::Pending
        });
    assert!(pending_info, "{:#?}", c.app.alerts.rows());
    let warnings = c
        .app
        .alerts
        .rows()
        .iter()
        .filter(|a| a.rule == "cpu-warning" && a.state == AlertState::Firing)
        .count();
    assert_eq!(warnings, 2);
    let under = c.app.selected_alert().unwrap();
    assert_eq!(
        (under.severity, under.state),
        (fleetdeck::alerts::Severity::Warning, AlertState::Firing)
    );

    // node-02 is lost; 5 s later its critical alert fires and sorts first.
    c.app.update(Action::Agent(AgentUpdate::Down {
        slot: 2,
        reason: "connection refused".into(),
    }));
    c.run_until(71, 90, &[1, 3]);
    assert_eq!(
        c.under_cursor(),
        ("node-unreachable".into(), "firing".into())
    );

    // From the main view: `x`, then `Tab` `Enter` in the dialog: three keys.
    c.keys("x");
    let title = match &c.app.panes.dialog() {
        Some(fleetdeck::app::Dialog::Confirm { plan, .. }) => plan.title.clone(),
        other => panic!("no failover dialog: {other:?}"),
    };
    assert!(title.contains("node-02"), "{title}");
}

#[test]
fn the_cursor_stays_where_the_engineer_put_it_for_thirty_seconds() {
    let mut c = quiet_console();
    c.hot(1, 82.0);
    c.hot(3, 82.0);
    c.run_until(1, 70, &[1, 3]);
    // The engineer focuses the alert pane and moves to the second warning at t = 70.
    c.press(KeyCode::Tab);
    c.press(KeyCode::Tab);
    assert_eq!(c.app.panes.tables.focus, Focus::Alerts);
    c.keys("j");
    let chosen = c.app.selected_alert().map(|a| a.key);
    c.app.update(Action::Agent(AgentUpdate::Down {
        slot: 2,
        reason: "connection refused".into(),
    }));
    // The critical alert fires at about t = 76, within 30 s of the move: the cursor stays.
    c.run_until(71, 90, &[1, 3]);
    assert!(
        c.app
            .alerts
            .rows()
            .iter()
            .any(|a| a.rule == "node-unreachable" && a.state == AlertState::Firing)
    );
    assert_eq!(c.app.selected_alert().map(|a| a.key), chosen);

    // Another node is lost at t = 110, long after the last move: its alert takes the cursor
    // (it is critical, the cursor is on a warning).
    c.run_until(91, 110, &[1, 3]);
    c.app.update(Action::Agent(AgentUpdate::Down {
        slot: 4,
        reason: "connection refused".into(),
    }));
    c.run_until(111, 130, &[1, 3]);
    let a = c.app.selected_alert().unwrap();
    assert_eq!(
        (a.rule.as_str(), a.node.as_str()),
        ("node-unreachable", "node-04")
    );
}
