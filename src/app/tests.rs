use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::fixtures;

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn app(nodes: usize, containers: usize) -> App {
    let now = Instant::now();
    let mut app = App::new(fixtures::fleet(nodes, containers, now), now);
    app.update(Action::Drawn(crate::ui::DrawInfo {
        node_rows: 5,
        container_rows: 8,
        ..Default::default()
    }));
    app
}

#[test]
fn moving_in_the_node_table_rescopes_the_container_table() {
    let mut app = app(4, 6);
    assert_eq!(app.selected_node().map(|(_, n)| n.name()), Some("node-00"));
    assert_eq!(app.panes.tables.containers.rows.len(), 6);
    assert!(app.panes.tables.containers.rows.iter().all(|r| r.slot == 0));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_node().map(|(_, n)| n.name()), Some("node-01"));
    assert!(app.panes.tables.containers.rows.iter().all(|r| r.slot == 1));
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected_node().map(|(_, n)| n.name()), Some("node-03"));
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.selected_node().map(|(_, n)| n.name()), Some("node-00"));
}

#[test]
fn enter_focuses_containers_and_zero_widens_to_the_fleet() {
    let mut app = app(3, 5);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.panes.tables.containers.cursor.row, 1);
    key(&mut app, KeyCode::Char('0'));
    assert_eq!(app.panes.tables.containers.rows.len(), 15);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.panes.tables.focus, Focus::Nodes);
}

#[test]
fn filter_typing_narrows_and_escape_clears() {
    let mut app = app(2, 12);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('/'));
    assert!(app.panes.filtering());
    for c in "redis".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.panes.tables.containers.filter, "redis");
    assert_eq!(app.panes.tables.containers.rows.len(), 2);
    key(&mut app, KeyCode::Enter);
    assert!(!app.panes.filtering());
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Esc);
    assert!(app.panes.tables.containers.filter.is_empty());
    assert_eq!(app.panes.tables.containers.rows.len(), 12);
}

#[test]
fn page_down_moves_a_screenful_and_keeps_the_cursor_visible() {
    let mut app = app(30, 1);
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.panes.tables.nodes.cursor.row, 4);
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.panes.tables.nodes.cursor.row, 8);
    assert!(
        app.panes.tables.nodes.cursor.offset <= 8 && 8 < app.panes.tables.nodes.cursor.offset + 5
    );
}

#[test]
fn agent_data_asks_for_a_deferred_redraw_and_keys_for_an_immediate_one() {
    let mut app = app(2, 2);
    app.take_redraw();
    app.update(Action::Agent(crate::model::AgentUpdate::Down {
        slot: 1,
        reason: "gone".into(),
    }));
    assert_eq!(app.take_redraw(), Redraw::Data);
    app.update(Action::Tick);
    assert_eq!(
        app.take_redraw(),
        Redraw::Data,
        "ages of a down node keep ticking"
    );
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.take_redraw(), Redraw::Now);
    app.update(Action::Tick);
    app.take_redraw();
}

#[test]
fn a_firing_alert_asks_for_a_prompt_but_bounded_redraw() {
    let mut app = app(2, 2);
    let t0 = app.now;
    app.update(Action::Agent(crate::model::AgentUpdate::Down {
        slot: 1,
        reason: "gone".into(),
    }));
    app.take_redraw();
    let due = app.alerts.next_due().expect("node-unreachable is pending");
    assert_eq!(due, t0 + std::time::Duration::from_secs(5));
    app.set_clock(due, 5_000);
    app.update(Action::Tick);
    assert_eq!(
        app.take_redraw(),
        Redraw::Alert,
        "the alert fired: draw it soon, not at the next data frame"
    );
    assert!(Redraw::Data < Redraw::Alert && Redraw::Alert < Redraw::Now);
}

#[test]
fn nothing_changes_nothing_redraws() {
    let mut app = app(2, 2);
    app.take_redraw();
    app.update(Action::Tick);
    assert_eq!(app.take_redraw(), Redraw::None);
}

#[test]
fn help_opens_and_any_key_closes_it_and_q_quits() {
    let mut app = app(1, 1);
    app.update(Action::Resize {
        width: 120,
        height: 50,
    });
    key(&mut app, KeyCode::Char('?'));
    assert!(app.panes.help_offset().is_some());
    key(&mut app, KeyCode::Char('j'));
    assert!(
        app.panes.help_offset().is_none(),
        "help fits 50 rows: j closes it like any key"
    );
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Char('j'));
    assert!(
        app.panes.help_offset().is_some(),
        "on 24 rows j scrolls help"
    );
    assert_eq!(app.panes.help_offset().unwrap_or(0), 1);
    key(&mut app, KeyCode::Char('o'));
    assert!(app.panes.help_offset().is_none());
    key(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
}

#[test]
fn before_the_user_moves_the_cursor_stays_on_the_first_row() {
    use crate::model::{AgentUpdate, Fleet};
    let now = Instant::now();
    // Endpoints sort in the opposite order to the node ids the agents report.
    let fleet = Fleet::new(["b:2", "a:1"], std::time::Duration::from_secs(10), now);
    let mut app = App::new(fleet, now);
    assert_eq!(app.selected_node().map(|(slot, _)| slot), Some(1));
    for (slot, n) in [(0, 0), (1, 1)] {
        let snapshot = Box::new(fixtures::snapshot(n, 2));
        app.update(Action::Agent(AgentUpdate::Snapshot {
            slot,
            epoch: 9,
            seq: 1,
            snapshot,
        }));
    }
    app.refresh();
    assert_eq!(app.selected_node().map(|(_, n)| n.name()), Some("node-00"));
    assert_eq!(app.panes.tables.nodes.cursor.row, 0);
}

/// A lock another console holds in etcd, as the console's lock reader delivers it.
fn held_by_bob(lock: crate::coord::Lock) -> crate::coord::Held {
    crate::coord::Held {
        lock,
        holder: crate::coord::Holder {
            action: "migrate".into(),
            title: "Migrate x from node-00 to node-01".into(),
            owner: "bob@ops-2".into(),
            pid: 4242,
            since_unix_ms: 0,
            id: "7f3a1c2e99aa".into(),
        },
    }
}

#[test]
fn another_consoles_locks_refuse_an_overlapping_plan_and_show_on_the_status_line() {
    use crate::coord::Lock;
    use crate::ops::{OpEvent, Proposal};
    let mut app = app(3, 4);
    let names: Vec<String> = app.fleet.nodes()[0]
        .containers
        .values()
        .map(|c| c.spec.name.clone())
        .collect();
    let (busy, free) = (names[0].clone(), names[1].clone());
    app.update(Action::Op(OpEvent::Locks(Ok(vec![
        held_by_bob(Lock::Use("node-00".into())),
        held_by_bob(Lock::Container("node-00".into(), busy.clone())),
    ]))));
    let migrate = |c: &str| Proposal::Migrate {
        node: "node-00".into(),
        container: c.into(),
        to: Some("node-01".into()),
    };
    app.propose(migrate(&busy));
    match app.panes.dialog() {
        Some(Dialog::Refused { message, .. }) => {
            assert!(
                message.starts_with(&format!(
                    "container {busy} on node-00: migrate in progress by bob@ops-2 since "
                )),
                "{message}"
            );
            assert!(message.ends_with("(action 7f3a1c2e…)"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    app.panes.pop();
    // Another container of the same node is not held.
    app.propose(migrate(&free));
    assert!(
        matches!(app.panes.dialog(), Some(Dialog::Confirm { .. })),
        "{:?}",
        app.panes.dialog()
    );
    app.panes.pop();
    // A drain of the node would change what bob's migrate uses.
    app.propose(Proposal::Drain {
        node: "node-00".into(),
    });
    assert!(matches!(app.panes.dialog(), Some(Dialog::Refused { .. })));
    app.panes.pop();
    assert_eq!(
        app.ops.elsewhere_line().as_deref(),
        Some("elsewhere: Migrate x from node-00 to node-01 by bob@ops-2")
    );
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 30)).expect("terminal");
    crate::tui::draw(&mut terminal, &mut app).expect("draw");
    let text: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("elsewhere: Migrate x from node-00 to node-01 by bob@ops-2"));
    // An unreachable etcd is said there too; the locks last read stay in force.
    app.update(Action::Op(OpEvent::Locks(Err(
        "cannot reach etcd at http://127.0.0.1:1".into(),
    ))));
    assert_eq!(
        app.ops.elsewhere_line().as_deref(),
        Some("coordination: cannot reach etcd at http://127.0.0.1:1")
    );
}
