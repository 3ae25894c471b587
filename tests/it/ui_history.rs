//! The action history pane: actions run over real gRPC by one console are read back from
//! its state directory by the next one (newest first, a corrupt line skipped), and the
//! pane scrolls with the usual keys.
#![allow(clippy::unwrap_used)]

use crate::support::ops;
use crate::support::screen;

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, OpRequest};
use fleetdeck::client::AgentAddr;
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::ops::exec::HISTORY_FILE;
use fleetdeck::ops::{EntryState, OpEvent, Outcome};
use fleetdeck::tui::OpsLink;
use fleetdeck_agent::NodeMode;
use ops::Cluster;
use screen::{lines, press, render};

/// A console on the cluster with its state in the cluster's console directory, as the
/// binary starts one.
async fn console(c: &Cluster) -> (App, OpsLink, tokio::task::JoinHandle<()>) {
    let now = Instant::now();
    let mut app = App::new(c.fleet().await, now);
    app.set_clock(now, fleetdeck::tui::unix_ms());
    app.title = "history".into();
    let agents: Vec<AgentAddr> = c.endpoints().iter().map(|e| e.parse().unwrap()).collect();
    let (link, refresher) =
        fleetdeck::ops::runner::start(&mut app, Some(c.console_dir()), &agents, false, c.conns());
    (app, link, refresher)
}

/// Confirms the open dialog and runs what it asks until the action finishes.
async fn confirm_and_run(app: &mut App, link: &mut OpsLink) -> Outcome {
    press(app, KeyCode::Enter);
    let mut op = None;
    for r in app.take_requests() {
        if let OpRequest::Run { op: o, .. } = &r {
            op = Some(*o);
        }
        link.runner.submit(r);
    }
    let op = op.expect("a confirmed action runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, link.events.recv())
            .await
            .expect("the action finishes")
            .expect("the runner is alive");
        let done = matches!(&event, OpEvent::Finished { op: o, .. } if *o == op);
        app.set_clock(Instant::now(), fleetdeck::tui::unix_ms());
        app.update(Action::Op(event));
        if done {
            press(app, KeyCode::Esc);
            let e = app.ops.log.get(op).unwrap();
            let EntryState::Finished(outcome) = &e.state else {
                panic!("{e:?}")
            };
            return outcome.clone();
        }
    }
}

/// The history pane's rows on screen, times and durations redacted.
fn history_pane(app: &mut App) -> String {
    let buf = render(app, 120, 40);
    let rows = lines(&buf);
    let top = rows.iter().position(|l| l.contains("╭ Actions")).unwrap();
    let bottom = top
        + rows[top..]
            .iter()
            .position(|l| l.contains("close ╯"))
            .unwrap();
    rows[top..=bottom].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_console_shows_the_history_the_last_one_wrote() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 3).await;
    let (mut first, mut link, refresher) = console(&c).await;
    assert!(first.ops.log.is_empty(), "no earlier runs");
    press(&mut first, KeyCode::Tab);
    let (node, name) = {
        let (n, x) = first.selected_container().unwrap();
        (n.name().to_string(), x.spec.name.clone())
    };
    press(&mut first, KeyCode::Char('X'));
    let stop = confirm_and_run(&mut first, &mut link).await;
    assert!(matches!(stop, Outcome::Done(_)), "{stop:?}");
    // A line cut short (a console killed mid-write) must not cost the rest.
    let path = c.console_dir().join(HISTORY_FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"time_unix_ms\": 17, \"op\": \n");
    std::fs::write(&path, text).unwrap();
    press(&mut first, KeyCode::Char('t'));
    let start = confirm_and_run(&mut first, &mut link).await;
    assert!(matches!(start, Outcome::Done(_)), "{start:?}");
    refresher.abort();
    drop(first);

    let (mut second, _link, refresher) = console(&c).await;
    refresher.abort();
    assert_eq!(
        second.ops.log.len(),
        2,
        "both actions read back, the cut line skipped"
    );
    let newest = second.ops.log.entries().next_back().unwrap();
    assert_eq!(newest.action, "start");
    assert_eq!(newest.target, format!("{node}/{name}"));
    assert!(newest.duration.is_some(), "the duration was recorded");
    press(&mut second, KeyCode::Char('H'));
    let pane = history_pane(&mut second);
    insta::with_settings!({filters => vec![
        (r"\d\d-\d\d \d\d:\d\d:\d\d", "MM-DD hh:mm:ss"),
        (r" +\d+(\.\d)?(ms|s) ", " [took] "),
    ]}, {
        insta::assert_snapshot!("history_read_back", pane);
    });
    let start_row = pane.lines().position(|l| l.contains(" start ")).unwrap();
    let stop_row = pane.lines().position(|l| l.contains(" stop ")).unwrap();
    assert!(start_row < stop_row, "newest first:\n{pane}");
}

/// A console with `n` finished stop actions in its history (`#0` oldest).
fn console_with_history(n: usize) -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(3, 4, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    press(&mut app, KeyCode::Tab);
    for i in 0..n {
        press(&mut app, KeyCode::Char('X'));
        press(&mut app, KeyCode::Enter);
        let [OpRequest::Run { op, .. }] = app.take_requests()[..] else {
            panic!("one run request")
        };
        let later = Duration::from_secs(61);
        app.set_clock(app.now + later, app.now_unix_ms + 61_000);
        let outcome = Outcome::Done(format!("stopped #{i}"));
        app.update(Action::Op(OpEvent::Finished { op, outcome }));
        press(&mut app, KeyCode::Esc);
    }
    app
}

fn first_row(app: &mut App) -> String {
    let buf = render(app, 100, 30);
    let rows = lines(&buf);
    let top = rows.iter().position(|l| l.contains("╭ Actions")).unwrap();
    rows[top + 2].clone()
}

#[test]
fn the_history_scrolls_with_the_usual_keys() {
    let mut app = console_with_history(30);
    press(&mut app, KeyCode::Char('H'));
    assert!(first_row(&mut app).contains("stopped #29"), "newest first");
    let page = app.panes.history.page;
    assert!(page > 2 && page < 30, "{page}");
    press(&mut app, KeyCode::Char('j'));
    assert!(first_row(&mut app).contains("stopped #28"));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('k'));
    assert!(first_row(&mut app).contains("stopped #29"));
    press(&mut app, KeyCode::PageDown);
    assert!(first_row(&mut app).contains(&format!("stopped #{} ", 29 - page)));
    press(&mut app, KeyCode::PageUp);
    assert!(first_row(&mut app).contains("stopped #29"));
    press(&mut app, KeyCode::Char('G'));
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("history_scrolled_to_oldest_100x30", screen::text(&buf));
    let pane = screen::text(&buf);
    let pane = &pane[pane.find("╭ Actions").unwrap()..pane.find("╭ Alerts").unwrap()];
    assert!(pane.contains("stopped #0 "), "{pane}");
    assert!(!pane.contains("stopped #29"), "{pane}");
    press(&mut app, KeyCode::Home);
    assert!(first_row(&mut app).contains("stopped #29"));
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Char('g'));
    assert!(first_row(&mut app).contains("stopped #29"));
    // The tables keep their keys once the pane is closed.
    press(&mut app, KeyCode::Esc);
    assert!(!app.panes.is_open(fleetdeck::app::PaneKind::History));
    let before = app.panes.tables.containers.cursor.row;
    press(&mut app, KeyCode::Char('j'));
    assert_ne!(app.panes.tables.containers.cursor.row, before);
}

#[test]
fn the_first_page_key_before_any_frame_moves_a_whole_page() {
    let mut app = console_with_history(30);
    app.update(Action::Resize {
        width: 100,
        height: 30,
    });
    press(&mut app, KeyCode::Char('H'));
    assert_eq!(app.panes.history.page, 0, "no frame has shown the pane yet");
    press(&mut app, KeyCode::PageDown);
    let estimated = app.panes.history.offset;
    let row = first_row(&mut app);
    let page = app.panes.history.page;
    assert!(page > 2, "{page}");
    assert_eq!(
        estimated, page,
        "the estimate is the page the frame then drew"
    );
    assert!(row.contains(&format!("stopped #{} ", 29 - page)), "{row}");

    // Without a known size, a fixed page still moves more than one row.
    let mut app = console_with_history(30);
    press(&mut app, KeyCode::Char('H'));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(
        app.panes.history.offset,
        fleetdeck::ui::DEFAULT_HISTORY_PAGE
    );
}

#[test]
fn the_history_has_the_keys_only_where_it_is_drawn() {
    let mut app = console_with_history(30);
    press(&mut app, KeyCode::Char('H'));
    render(&mut app, 100, 30);
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.panes.history.offset, 1);
    // The wall draws no history pane: its keys stay the wall's.
    app.make_wall(Duration::from_secs(3600));
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.panes.history.offset, 1, "the hidden history scrolled");
    }
}
