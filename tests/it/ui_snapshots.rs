//! Headless UI: whole frames on ratatui's TestBackend as text snapshots, plus the colours of
//! key cells (snapshots keep only the text).

use crate::support::screen;

use screen::{find, lines, press, render, text, type_text};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, ContainerSort, Focus, Scope};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::{AgentUpdate, ContainerStats, HostSample, NodeDelta, NodeState};
use ratatui::buffer::Buffer;
use ratatui::style::Style;

const NODES: usize = 24;
const CONTAINERS: usize = 12;
/// Samples of history given to node-00, so its charts have something to draw.
const HISTORY_SAMPLES: usize = 48;

/// A console over the fixture fleet, at the fixture's wall time, with history on node-00.
fn console() -> (App, Instant) {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(NODES, CONTAINERS, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    grow_history(&mut app, 0);
    (app, t0)
}

/// Feeds a node deterministic samples (a sawtooth of load) as agent deltas.
fn grow_history(app: &mut App, slot: usize) {
    let node = &app.fleet.nodes()[slot];
    let (epoch, mut seq) = (node.epoch, node.seq);
    let base = node.host.clone();
    let keys: Vec<(u32, ContainerStats)> = node
        .containers
        .values()
        .map(|c| (c.spec.key, c.stats))
        .collect();
    for i in 0..HISTORY_SAMPLES {
        seq += 1;
        let wave = ((i * 7) % 40) as f32;
        let host = HostSample {
            cpu_percent: 20.0 + wave * 1.5,
            memory_used_bytes: base.memory_total_bytes / 100 * (40 + (i as u64 % 12)),
            ..base.clone()
        };
        let stats = keys
            .iter()
            .map(|(key, s)| {
                let mut s = *s;
                s.cpu_percent = ((i * 5 + *key as usize * 3) % 60) as f32;
                (*key, s)
            })
            .collect();
        let delta = NodeDelta {
            host: Some(host),
            stats,
            ..NodeDelta::default()
        };
        app.update(Action::Agent(AgentUpdate::Delta {
            slot,
            epoch,
            seq,
            delta: Box::new(delta),
        }));
    }
}

/// Asserts the cell at `at` is drawn in `style` (its colours and modifiers).
fn assert_style(buf: &Buffer, at: (u16, u16), style: Style, what: &str) {
    let cell = &buf[at];
    if let Some(fg) = style.fg {
        assert_eq!(cell.fg, fg, "{what}: foreground at {at:?}");
    }
    if let Some(bg) = style.bg {
        assert_eq!(cell.bg, bg, "{what}: background at {at:?}");
    }
    assert!(
        cell.modifier.contains(style.add_modifier),
        "{what}: modifiers at {at:?} are {:?}, want {:?}",
        cell.modifier,
        style.add_modifier
    );
}

#[test]
fn wide_terminal_shows_tables_and_the_node_detail() {
    let (mut app, _) = console();
    let buf = render(&mut app, 200, 60);
    insta::assert_snapshot!("wide_200x60", text(&buf));
    let selected = find(&buf, "node-00", "10/12");
    assert_style(
        &buf,
        selected,
        app.theme.selection(true),
        "selected node row",
    );
    let standby = find(&buf, "STANDBY", "node-06");
    assert_style(
        &buf,
        standby,
        app.theme.status(NodeState::Standby),
        "standby state",
    );
    let live = find(&buf, "live", "node-01");
    assert_style(&buf, live, app.theme.link(true), "live link");
    let hot = find(&buf, "87.5", "node-18");
    assert_style(
        &buf,
        hot,
        app.theme.usage(87.5),
        "CPU above the warning line",
    );
    assert_eq!(
        app.panes.tables.nodes.cursor.viewport, NODES,
        "every node fits"
    );
    assert_eq!(
        app.panes.tables.containers.cursor.viewport, 24,
        "rows under the container header"
    );
}

#[test]
fn a_filter_that_matches_nothing_says_so() {
    let (mut app, _) = console();
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "zzz");
    press(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 120, 30);
    assert!(
        text(&buf).contains("Nodes (0 of 24) /zzz"),
        "{}",
        text(&buf)
    );
    assert!(text(&buf).contains("no nodes match /zzz"), "{}", text(&buf));
    assert!(text(&buf).contains("select a node to see its containers"));
}

#[test]
fn standard_80x24_terminal_stays_usable() {
    let (mut app, _) = console();
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("standard_80x24", text(&buf));
    assert!(
        !text(&buf).contains("IMAGE"),
        "image is the first column to go"
    );
}

#[test]
fn the_demo_header_keeps_every_node_state_at_80x24() {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(8, 6, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    // What `fleetdeck demo` calls itself, with a seed as long as its default (a time).
    app.title = fleetdeck::demo::title(8, 1_796_660_497_670);
    app.update(Action::Agent(AgentUpdate::Down {
        slot: 3,
        reason: "connection refused".into(),
    }));
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("demo_header_80x24", text(&buf));
    let header = &lines(&buf)[0];
    for counted in ["8 nodes", "6 active", "1 standby", "1 unknown"] {
        assert!(header.contains(counted), "{counted} in {header:?}");
    }
    // The title gives way, cut where it has to be, not the counts.
    assert!(
        header.starts_with(" fleetdeck demo · 8 simulated agent"),
        "{header:?}"
    );
    assert!(header.contains('…'), "{header:?}");
    assert_style(
        &buf,
        find(&buf, "1 unknown", "8 nodes"),
        app.theme.status(NodeState::Unknown),
        "unknown count",
    );
    // With room, the whole title and the long labels.
    let buf = render(&mut app, 200, 40);
    let header = &lines(&buf)[0];
    assert!(
        header.contains("seed 1796660497670 │ 8 nodes: 6 active · 1 standby · 0 maintenance"),
        "{header:?}"
    );
}

#[test]
fn container_table_at_fleet_scope_sorted_by_cpu() {
    let (mut app, _) = console();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('0'));
    while app.panes.tables.containers.sort != ContainerSort::Cpu {
        press(&mut app, KeyCode::Char('o'));
    }
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    assert_eq!(app.panes.tables.containers.scope, Scope::Fleet);
    let buf = render(&mut app, 120, 40);
    insta::assert_snapshot!("fleet_containers_by_cpu_120x40", text(&buf));
    let header = find(&buf, "CPU %▼", "NODE");
    assert_style(&buf, header, app.theme.table_header, "sorted column header");
    let (_, y) = find(&buf, "Containers — all nodes", "");
    assert_style(&buf, (2, y), app.theme.border(true), "focused pane border");
}

#[test]
fn a_lost_node_reads_unknown_with_its_age_then_failed() {
    let (mut app, t0) = console();
    app.set_clock(t0 + Duration::from_secs(2), FIXTURE_TIME_UNIX_MS + 2_000);
    app.update(Action::Agent(AgentUpdate::Down {
        slot: 2,
        reason: "connection refused".into(),
    }));
    app.set_clock(t0 + Duration::from_secs(7), FIXTURE_TIME_UNIX_MS + 7_000);
    app.update(Action::Tick);
    let buf = render(&mut app, 200, 60);
    insta::assert_snapshot!("node_unknown_200x60", text(&buf));
    let state = find(&buf, "UNKNOWN", "node-02");
    assert_style(
        &buf,
        state,
        app.theme.status(NodeState::Unknown),
        "unknown state",
    );
    let age = find(&buf, "7s ago", "node-02");
    assert_style(&buf, age, app.theme.stale, "age of a lost node");
    let (_, y) = find(&buf, "node-02", "UNKNOWN");
    let cpu = find(&buf, "CPU %", "NAME").0;
    assert_style(
        &buf,
        (cpu + 1, y),
        app.theme.stale,
        "stale figures are dimmed",
    );

    app.set_clock(t0 + Duration::from_secs(75), FIXTURE_TIME_UNIX_MS + 75_000);
    app.update(Action::Tick);
    let buf = render(&mut app, 200, 60);
    let state = find(&buf, "FAILED", "node-02");
    assert_style(
        &buf,
        state,
        app.theme.status(NodeState::Failed),
        "failed state",
    );
    let counted = find(&buf, "1 failed", "nodes");
    assert_style(
        &buf,
        counted,
        app.theme.status(NodeState::Failed),
        "failed count",
    );

    // The lost node's detail says why and that its figures are stale.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    let buf = render(&mut app, 200, 60);
    insta::assert_snapshot!("node_failed_detail_200x60", text(&buf));
    let selected = find(&buf, "node-02", "12/12");
    assert_style(&buf, selected, app.theme.selection(true), "selected row");
    let stale = find(&buf, "running", "worker-2");
    assert_style(
        &buf,
        stale,
        app.theme.stale,
        "a lost node's containers are stale",
    );
}

#[test]
fn filter_prompt_shows_what_is_typed() {
    let (mut app, _) = console();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "web");
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("filter_prompt_100x30", text(&buf));
    let prompt = find(&buf, "/web▏", "");
    assert_style(&buf, prompt, app.theme.filter(), "filter prompt");
}

#[test]
fn help_lists_every_command_with_its_keys() {
    let (mut app, _) = console();
    press(&mut app, KeyCode::Char('?'));
    // 30 commands and the dialog, prompt and log keys no longer fit 24 rows; the palette
    // (`:`) lists the commands at any size.
    let buf = render(&mut app, 80, 43);
    insta::assert_snapshot!("help_80x43", text(&buf));
    for command in fleetdeck::keys::Command::ALL {
        assert!(
            text(&buf).contains(command.describe()),
            "{command:?} missing from help"
        );
    }
}

#[test]
fn help_scrolls_on_an_80x24_terminal() {
    let (mut app, _) = console();
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    press(&mut app, KeyCode::Char('?'));
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("help_80x24", text(&buf));
    let total = fleetdeck::keys::Command::ALL
        .iter()
        .filter(|c| !c.is_action())
        .count();
    // The rows left under the action and mode key lists.
    let rows = fleetdeck::ui::help_geometry(&app.keymap, 80, 24).rows;
    let top = text(&buf);
    assert!(
        top.contains(&format!("1-{rows} of {total}")) && top.contains("j/k scroll"),
        "{top}"
    );
    assert!(top.contains("move up") && !top.contains("this help"));

    press(&mut app, KeyCode::Char('G'));
    let bottom = text(&render(&mut app, 80, 24));
    assert!(
        bottom.contains(&format!("{}-{total} of {total}", total - rows + 1)),
        "{bottom}"
    );
    assert!(bottom.contains("this help") && bottom.contains("quit"));
    assert!(!bottom.contains("move up"), "scrolled past the first rows");
    // One step up from the bottom moves at once (the offset never overshoots).
    press(&mut app, KeyCode::Char('k'));
    assert!(text(&render(&mut app, 80, 24)).contains(&format!(
        "{}-{} of {total}",
        total - rows,
        total - 1
    )));
    assert!(
        app.panes.help_offset().is_some(),
        "movement keys scroll, they do not close"
    );
    press(&mut app, KeyCode::Char('o'));
    assert!(app.panes.help_offset().is_none(), "any other key closes");
}

#[test]
fn help_takes_two_columns_on_a_wide_short_terminal() {
    let (mut app, _) = console();
    app.update(Action::Resize {
        width: 160,
        height: 24,
    });
    press(&mut app, KeyCode::Char('?'));
    let buf = render(&mut app, 160, 24);
    insta::assert_snapshot!("help_160x24", text(&buf));
    let screen = text(&buf);
    for command in fleetdeck::keys::Command::ALL {
        assert!(
            screen.contains(command.describe()),
            "{command:?} missing:\n{screen}"
        );
    }
    assert!(!screen.contains("j/k scroll") && screen.contains("any key closes"));
    press(&mut app, KeyCode::Char('j'));
    assert!(
        app.panes.help_offset().is_none(),
        "nothing to scroll: j closes it like any key"
    );
}

#[test]
fn the_status_line_offers_the_alert_keys_when_the_alert_pane_has_focus() {
    let (mut app, _) = console();
    let table_hints = lines(&render(&mut app, 100, 30)).pop().unwrap_or_default();
    assert!(table_hints.contains("/ filter"), "{table_hints:?}");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.panes.tables.focus, Focus::Alerts);
    let buf = render(&mut app, 100, 30);
    let last = lines(&buf).pop().unwrap_or_default();
    for hint in [
        "A ack",
        "S silence",
        "Enter jump",
        "x action",
        "E export",
        "a view",
    ] {
        assert!(last.contains(hint), "{hint} missing from {last:?}");
    }
    let ack = find(&buf, "A ack", "S silence");
    assert_style(&buf, ack, app.theme.key_hint, "hint keys look like keys");
}

#[test]
fn remapped_keys_show_in_the_hints() {
    let (mut app, _) = console();
    let overrides = std::collections::BTreeMap::from([
        ("<F1>".to_string(), "help".to_string()),
        ("?".to_string(), "none".to_string()),
    ]);
    app.keymap = fleetdeck::keys::KeyMap::with_overrides(&overrides).expect("keymap");
    let buf = render(&mut app, 100, 30);
    let last = lines(&buf).pop().unwrap_or_default();
    assert!(last.starts_with(" F1 help"), "{last:?}");
}

#[test]
fn too_small_a_terminal_gets_a_polite_message() {
    let (mut app, _) = console();
    let buf = render(&mut app, 50, 12);
    insta::assert_snapshot!("too_small_50x12", text(&buf));
    let words = text(&buf).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("terminal too small: 50x12, fleetdeck needs at least 60x15"));
    assert_eq!(app.panes.tables.nodes.cursor.viewport, 0);
}

#[test]
fn an_insecure_agent_is_flagged_in_the_node_detail() {
    let (mut app, _) = console();
    let buf = render(&mut app, 200, 60);
    assert!(
        !text(&buf).contains("INSECURE"),
        "secure agents say nothing"
    );
    let mut snapshot = fixtures::snapshot(0, CONTAINERS);
    snapshot.info.insecure = true;
    app.update(Action::Agent(AgentUpdate::Snapshot {
        slot: 0,
        epoch: 99,
        seq: 1,
        snapshot: Box::new(snapshot),
    }));
    let buf = render(&mut app, 200, 60);
    let at = find(&buf, "INSECURE", "security");
    assert_style(
        &buf,
        at,
        app.theme.severity(fleetdeck::alerts::Severity::Critical),
        "insecure warning",
    );
    assert!(text(&buf).contains("INSECURE: no TLS"), "{}", text(&buf));
}
