//! The live log view and the runtime-down marker on TestBackend: snapshots, colours of
//! matches and stderr lines, and the keys (scroll pauses, F follows, search, close).

use crate::support::screen;

use screen::{find, lines, press, render, text, type_text};
use std::time::Instant;

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, Effect};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::logs::{LogEvent, LogRow};
use fleetdeck::model::{AgentUpdate, CheckStatus, HealthCheck, NodeDelta, NodeState};
use ratatui::buffer::Buffer;
use ratatui::style::Style;

fn console() -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(6, 8, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    app
}

fn assert_style(buf: &Buffer, at: (u16, u16), style: Style, what: &str) {
    let cell = &buf[at];
    if let Some(fg) = style.fg {
        assert_eq!(cell.fg, fg, "{what}: foreground at {at:?}");
    }
    assert!(
        cell.modifier.contains(style.add_modifier),
        "{what}: modifiers at {at:?} are {:?}, want {:?}",
        cell.modifier,
        style.add_modifier
    );
}

fn line(i: u64, stderr: bool, text: &str) -> LogRow {
    LogRow::Line {
        time_unix_ms: FIXTURE_TIME_UNIX_MS + i * 1_000,
        stderr,
        text: text.into(),
    }
}

/// Opens the log view on the selected container; returns the stream's session id.
fn open(app: &mut App) -> u64 {
    press(app, KeyCode::Char('l'));
    let effects = app.take_effects();
    match effects.as_slice() {
        [
            Effect::OpenLogs {
                session,
                endpoint,
                container,
                tail,
            },
        ] => {
            assert_eq!(endpoint, &app.fleet.nodes()[0].endpoint);
            assert!(!container.is_empty());
            assert_eq!(*tail, 10_000, "history asked for: the ring size");
            *session
        }
        other => panic!("l must ask the run loop to stream the log, got {other:?}"),
    }
}

fn feed(app: &mut App, session: u64) {
    let mut rows = vec![
        line(0, false, "GET /healthz 200 1ms"),
        line(1, false, "GET /api/orders 200 12ms"),
        line(2, true, "ERROR upstream timeout after 5000ms"),
        line(3, false, "retrying upstream (error budget 2/3)"),
        LogRow::Skipped(1234),
        line(5, false, "GET /api/orders 200 9ms"),
        line(6, true, "warning: slow query\ttook 812ms"),
        line(7, false, "GET /healthz 200 1ms"),
    ];
    rows.push(line(8, false, &format!("payload {}", "x".repeat(150))));
    app.update(Action::Logs {
        session,
        event: LogEvent::Rows(rows),
    });
}

#[test]
fn log_view_snapshot_with_search_highlight_and_stderr() {
    let mut app = console();
    let session = open(&mut app);
    let buf = render(&mut app, 100, 20);
    assert!(
        text(&buf).contains("waiting for the first lines"),
        "{}",
        text(&buf)
    );
    feed(&mut app, session);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "error");
    press(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 100, 20);
    insta::assert_snapshot!("log_view_100x20_search", text(&buf));

    // The newest match is current (strongest), the older one is a plain match.
    let current = find(&buf, "error", "budget");
    assert_style(&buf, current, app.theme.search_match(true), "current match");
    let other = find(&buf, "ERROR", "upstream timeout");
    assert_style(&buf, other, app.theme.search_match(false), "other match");
    let stderr = find(&buf, "upstream timeout", "ERROR");
    assert_style(&buf, stderr, app.theme.log_line(true), "stderr line");
    let stdout = find(&buf, "GET /api", "12ms");
    assert_style(&buf, stdout, app.theme.log_line(false), "stdout line");
    let skipped = find(&buf, "1234 lines skipped", "");
    assert_style(&buf, skipped, app.theme.warn, "skip marker");
    assert!(text(&buf).contains("paused"), "a search match pauses");

    // n goes to the older match and moves the current highlight there.
    press(&mut app, KeyCode::Char('N'));
    let buf = render(&mut app, 100, 20);
    let current = find(&buf, "ERROR", "upstream timeout");
    assert_style(&buf, current, app.theme.search_match(true), "N moved back");

    // Wrap shows the whole long line over several rows.
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Char('w'));
    let buf = render(&mut app, 100, 20);
    insta::assert_snapshot!("log_view_100x20_wrap", text(&buf));
    assert!(text(&buf).contains("following"), "End follows again");
}

#[test]
fn scrolling_pauses_follow_resumes_and_esc_closes_the_stream() {
    let mut app = console();
    let session = open(&mut app);
    let rows: Vec<LogRow> = (0..100)
        .map(|i| line(i, false, &format!("line {i}")))
        .collect();
    app.update(Action::Logs {
        session,
        event: LogEvent::Rows(rows),
    });
    let buf = render(&mut app, 100, 20);
    assert!(lines(&buf).iter().any(|l| l.contains(" line 99 ")));
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::PageUp);
    let view = app.panes.log_view().expect("open");
    assert!(!view.follow, "scrolling up pauses");
    let page = app.panes.logs.page;
    assert!(page > 5, "a page is the rows on screen: {page}");
    assert_eq!(view.bottom_index(), Some(99 - 1 - page));
    // New rows do not move a paused view.
    app.update(Action::Logs {
        session,
        event: LogEvent::Rows(vec![line(100, false, "line 100")]),
    });
    let view = app.panes.log_view().expect("open");
    assert_eq!(view.bottom_index(), Some(99 - 1 - page));
    press(&mut app, KeyCode::Char('g'));
    let buf = render(&mut app, 100, 20);
    assert!(
        lines(&buf).iter().any(|l| l.contains(" line 0 ")),
        "{}",
        text(&buf)
    );
    press(&mut app, KeyCode::Char('F'));
    let buf = render(&mut app, 100, 20);
    assert!(lines(&buf).iter().any(|l| l.contains(" line 100 ")));
    assert!(app.panes.log_view().expect("open").follow);

    // Rows of an older stream are ignored.
    app.update(Action::Logs {
        session: session + 7,
        event: LogEvent::Rows(vec![line(0, false, "stale")]),
    });
    assert!(!text(&render(&mut app, 100, 20)).contains("stale"));

    // The stream ending is shown, not hidden.
    app.update(Action::Logs {
        session,
        event: LogEvent::Ended("container removed".into()),
    });
    assert!(text(&render(&mut app, 100, 20)).contains("ended: container removed"));

    press(&mut app, KeyCode::Esc);
    assert!(app.panes.log_view().is_none());
    assert!(matches!(app.take_effects().as_slice(), [Effect::CloseLogs]));
    assert!(!app.should_quit, "Esc closes the view, not the console");
    let buf = render(&mut app, 100, 20);
    assert!(text(&buf).contains("Nodes (6)"), "{}", text(&buf));
}

#[test]
fn the_ring_size_comes_from_the_settings() {
    let mut app = console();
    app.panes.logs = fleetdeck::app::LogsPane::new(150);
    let session = {
        press(&mut app, KeyCode::Char('l'));
        match app.take_effects().as_slice() {
            [Effect::OpenLogs { session, tail, .. }] => {
                assert_eq!(*tail, 150);
                *session
            }
            other => panic!("{other:?}"),
        }
    };
    for batch in 0..10 {
        let rows = (0..100)
            .map(|i| line(0, false, &format!("{batch}-{i}")))
            .collect();
        app.update(Action::Logs {
            session,
            event: LogEvent::Rows(rows),
        });
    }
    let view = app.panes.log_view().expect("open");
    assert_eq!(view.rows().len(), 150);
    assert_eq!(view.evicted, 850);
    assert!(text(&render(&mut app, 100, 20)).contains("150/150 lines · 850 older dropped"));
}

#[test]
fn a_node_with_its_runtime_down_is_marked_in_the_table_and_header() {
    let mut app = console();
    let node = &app.fleet.nodes()[3];
    let (epoch, seq) = (node.epoch, node.seq);
    let delta = NodeDelta {
        health: vec![HealthCheck {
            name: "runtime".into(),
            status: CheckStatus::Failing,
            message: "cannot reach the engine at unix:///var/run/docker.sock".into(),
        }],
        ..NodeDelta::default()
    };
    app.update(Action::Agent(AgentUpdate::Delta {
        slot: 3,
        epoch,
        seq: seq + 1,
        delta: Box::new(delta),
    }));
    let buf = render(&mut app, 120, 30);
    insta::assert_snapshot!("runtime_down_120x30", text(&buf));
    let marked = find(&buf, "ACTIVE !RT", "node-03");
    assert_style(&buf, marked, app.theme.runtime_down(), "runtime-down state");
    let plain = find(&buf, "ACTIVE", "node-01");
    assert_style(
        &buf,
        plain,
        app.theme.status(NodeState::Active),
        "healthy node",
    );
    let header = find(&buf, "1 runtime down (!RT)", "nodes");
    assert_style(&buf, header, app.theme.runtime_down(), "header count");
    let narrow = render(&mut app, 80, 24);
    assert!(text(&narrow).contains("1 rt down"), "{}", text(&narrow));
}
