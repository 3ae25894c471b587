//! The action framework on TestBackend: target picker, plan confirmation (typed for whole
//! nodes), progress, cancel, history, refusals; requests leave only through the outbox.

use crate::support::screen;

use screen::{press, render, style_of, text, type_text};
use std::time::Instant;

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, Dialog, OpRequest};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::ops::{OpEvent, Outcome, Proposal};

fn console() -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(6, 8, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    app
}

fn selected_container(app: &App) -> (String, String) {
    let (n, c) = app.selected_container().expect("a container");
    (n.name().to_string(), c.spec.name.clone())
}

#[test]
fn migrate_by_keyboard_picks_a_target_shows_the_plan_then_runs() {
    let mut app = console();
    press(&mut app, KeyCode::Tab);
    let (node, name) = selected_container(&app);
    press(&mut app, KeyCode::Char('m'));
    let Some(Dialog::PickTarget {
        choices, selected, ..
    }) = &app.panes.dialog()
    else {
        panic!("no target picker: {:?}", app.panes.dialog())
    };
    assert!(
        choices.iter().all(|c| c.name != node),
        "the source is not offered"
    );
    assert!(choices[*selected].fits, "best fit preselected");
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("migrate_picker_100x30", text(&buf));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let Some(Dialog::Confirm { plan, .. }) = &app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert!(
        plan.title
            .starts_with(&format!("Migrate {name} from {node} to "))
    );
    assert!(
        app.take_requests().is_empty(),
        "nothing runs before confirmation"
    );
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("migrate_confirm_100x30", text(&buf));
    press(&mut app, KeyCode::Enter);
    let requests = app.take_requests();
    let [OpRequest::Run { op, plan, .. }] = requests.as_slice() else {
        panic!("expected one run request: {requests:?}")
    };
    assert!(plan.title.contains(&name));
    let op = *op;
    for (stage, pct, msg) in [
        ("create", 12.0, "creating on the target"),
        ("copy", 42.0, "copied 1.0MiB of 2.0MiB"),
    ] {
        app.update(Action::Op(OpEvent::Progress {
            op,
            stage: stage.into(),
            percent: pct,
            message: msg.into(),
        }));
    }
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("migrate_progress_100x30", text(&buf));
    assert!(text(&buf).contains("42%"));
    app.update(Action::Op(OpEvent::Finished {
        op,
        outcome: Outcome::Done(format!("{name} moved")),
    }));
    let buf = render(&mut app, 100, 30);
    assert!(text(&buf).contains(&format!("done: {name} moved")));
    assert_eq!(style_of(&buf, "done: ").fg, app.theme.ok.fg);
    press(&mut app, KeyCode::Char('x'));
    assert!(
        app.panes.dialog().is_none(),
        "any key closes a finished action"
    );
}

#[test]
fn whole_node_actions_need_the_typed_name() {
    let mut app = console();
    let node = app.selected_node().expect("node").1.name().to_string();
    press(&mut app, KeyCode::Char('d'));
    let Some(Dialog::Confirm { plan, .. }) = &app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert_eq!(plan.confirm.as_deref(), Some(node.as_str()));
    press(&mut app, KeyCode::Enter);
    assert!(
        app.take_requests().is_empty(),
        "Enter alone does not drain a node"
    );
    type_text(&mut app, &node[..node.len() - 1]);
    let buf = render(&mut app, 110, 34);
    insta::assert_snapshot!("drain_confirm_typing_110x34", text(&buf));
    assert_eq!(style_of(&buf, "type ").fg, app.theme.warn.fg);
    press(&mut app, KeyCode::Enter);
    assert!(
        app.take_requests().is_empty(),
        "a wrong name does not drain either"
    );
    type_text(&mut app, &node[node.len() - 1..]);
    press(&mut app, KeyCode::Enter);
    let requests = app.take_requests();
    assert!(
        matches!(requests.as_slice(), [OpRequest::Run { .. }]),
        "{requests:?}"
    );
    // Esc while it runs asks for a safe cancel.
    press(&mut app, KeyCode::Esc);
    let requests = app.take_requests();
    assert!(
        matches!(requests.as_slice(), [OpRequest::Cancel { .. }]),
        "{requests:?}"
    );
}

#[test]
fn tab_writes_the_name_out_for_the_engineer_to_confirm() {
    let mut app = console();
    let node = app.selected_node().expect("node").1.name().to_string();
    press(&mut app, KeyCode::Char('d'));
    type_text(&mut app, "x");
    press(&mut app, KeyCode::Tab);
    let Some(Dialog::Confirm { typed, .. }) = &app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert_eq!(typed, &node, "Tab replaces what was typed with the name");
    let buf = render(&mut app, 110, 34);
    assert!(text(&buf).contains(&format!("type {node} to confirm: {node}")));
    press(&mut app, KeyCode::Enter);
    let requests = app.take_requests();
    assert!(
        matches!(requests.as_slice(), [OpRequest::Run { .. }]),
        "{requests:?}"
    );
}

#[test]
fn esc_closes_a_plan_without_running_it() {
    let mut app = console();
    press(&mut app, KeyCode::Char('c'));
    assert!(matches!(app.panes.dialog(), Some(Dialog::Confirm { .. })));
    press(&mut app, KeyCode::Esc);
    assert!(app.panes.dialog().is_none());
    assert!(app.take_requests().is_empty());
}

#[test]
fn history_lists_every_action_and_its_outcome() {
    let mut app = console();
    press(&mut app, KeyCode::Tab);
    for (i, key) in ['X', 'r', 't'].into_iter().enumerate() {
        press(&mut app, KeyCode::Char(key));
        press(&mut app, KeyCode::Enter);
        let op = match app.take_requests().as_slice() {
            [OpRequest::Run { op, .. }] => *op,
            other => panic!("{other:?}"),
        };
        let outcome = match i {
            0 => Outcome::Done("stopped api-1".into()),
            1 => Outcome::Failed("node-00: no such container".into()),
            _ => Outcome::Cancelled("cancelled after 0 of 1 steps".into()),
        };
        // Each action takes a little longer than the one before: durations come from the
        // console's clock, start to finish.
        let took = std::time::Duration::from_millis(400 + 1_300 * i as u64);
        app.set_clock(app.now + took, app.now_unix_ms + took.as_millis() as u64);
        app.update(Action::Op(OpEvent::Finished { op, outcome }));
        press(&mut app, KeyCode::Esc);
    }
    press(&mut app, KeyCode::Char('H'));
    let buf = render(&mut app, 120, 36);
    insta::assert_snapshot!("history_120x36", text(&buf));
    assert_eq!(style_of(&buf, "FAILED: node-00").fg, app.theme.crit.fg);
    assert_eq!(style_of(&buf, "cancelled after").fg, app.theme.warn.fg);
    // The incident timeline records each outcome too, in order.
    let actions: Vec<&str> = app
        .alerts
        .timeline()
        .entries()
        .filter(|e| e.kind == fleetdeck::alerts::EntryKind::Action)
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions[0].ends_with(": stopped api-1"), "{actions:?}");
    assert!(
        actions[1].contains("failed: node-00: no such container"),
        "{actions:?}"
    );
    assert!(
        actions[2].contains("cancelled: cancelled after 0 of 1 steps"),
        "{actions:?}"
    );
}

#[test]
fn refusals_say_why() {
    let mut app = console();
    let node = app.selected_node().expect("node").1.name().to_string();
    app.update(Action::Propose(Proposal::Failover { node: node.clone() }));
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("failover_refused_100x30", text(&buf));
    assert!(text(&buf).contains("not FAILED"));
    press(&mut app, KeyCode::Enter);
    assert!(app.panes.dialog().is_none());
    app.read_only = true;
    // The key is refused at the command gate; a proposal from elsewhere, at the planner.
    press(&mut app, KeyCode::Char('c'));
    assert!(app.panes.dialog().is_none());
    assert!(
        app.status_message()
            .unwrap_or_default()
            .contains("read-only")
    );
    app.update(Action::Propose(Proposal::Cordon { node }));
    let Some(Dialog::Refused { message, .. }) = &app.panes.dialog() else {
        panic!("{:?}", app.panes.dialog())
    };
    assert!(message.contains("read-only"), "{message}");
}

#[test]
fn scale_dialog_takes_digits_and_plus_minus() {
    let mut app = console();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('s'));
    let Some(Dialog::Scale { current, .. }) = app.panes.dialog().cloned() else {
        panic!("{:?}", app.panes.dialog())
    };
    press(&mut app, KeyCode::Char('+'));
    press(&mut app, KeyCode::Char('+'));
    press(&mut app, KeyCode::Char('-'));
    let Some(Dialog::Scale { replicas, .. }) = &app.panes.dialog() else {
        panic!()
    };
    assert_eq!(*replicas, current + 1);
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("scale_dialog_100x30", text(&buf));
    press(&mut app, KeyCode::Enter);
    let Some(Dialog::Confirm { plan, .. }) = &app.panes.dialog() else {
        panic!("{:?}", app.panes.dialog())
    };
    assert_eq!(plan.steps.len(), 1);
}

#[test]
fn restore_picker_chooses_the_node_and_plans_the_transfer() {
    let mut app = console();
    let node = app.selected_node().expect("node").1.name().to_string();
    press(&mut app, KeyCode::Char('R'));
    let requests = app.take_requests();
    assert!(
        matches!(requests.as_slice(), [OpRequest::ListBackups { node: n, .. }] if *n == node),
        "{requests:?}"
    );
    let backup = fleetdeck::ops::BackupInfo {
        id: "web-1-1700000000000".into(),
        container: "web-1".into(),
        service: "web".into(),
        node: node.clone(),
        created_unix_ms: FIXTURE_TIME_UNIX_MS,
        size_bytes: 3 << 20,
        sha256: "ab".repeat(32),
    };
    app.update(Action::Op(OpEvent::Backups {
        node: node.clone(),
        list: Ok(vec![backup]),
    }));
    let buf = render(&mut app, 100, 30);
    assert!(
        text(&buf).contains(&format!("restore on: ‹ {node} ›")),
        "the holder is the default target:\n{}",
        text(&buf)
    );
    press(&mut app, KeyCode::Right);
    let Some(Dialog::PickBackup { targets, to, .. }) = &app.panes.dialog() else {
        panic!("no backup picker: {:?}", app.panes.dialog())
    };
    let other = targets[*to].clone();
    assert_ne!(other, node, "→ chooses another node");
    let buf = render(&mut app, 100, 30);
    assert!(
        text(&buf).contains(&format!("the archive is copied from {node} first")),
        "{}",
        text(&buf)
    );
    press(&mut app, KeyCode::Enter);
    let Some(Dialog::Confirm { plan, .. }) = &app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert!(
        plan.title.contains(&format!("on {other} (held by {node})")),
        "{}",
        plan.title
    );
    assert!(
        plan.lines[0].contains(&format!("from {node} to {other}")) && plan.lines[0].contains("3.0"),
        "{:?}",
        plan.lines
    );
    assert!(
        app.take_requests().is_empty(),
        "nothing runs before confirmation"
    );
}

/// A console over 4 nodes where web-1 on node-02 is the only web replica, publishing host
/// port 8080 (as the spec cache says), each node on the engine `engines` names.
fn web_on_engines(engines: [&str; 4]) -> App {
    use fleetdeck::ops::PortableSpec;
    use fleetdeck::ops::specs::{CachedSpec, NodeSpecs, SpecCache};
    let t0 = Instant::now();
    let fleet = fixtures::fleet_with(4, 6, t0, |n, s| {
        s.info.engine_id = engines[n].into();
        if n != 2 {
            s.containers.retain(|(c, _)| &*c.service != "web");
        }
    });
    let mut app = App::new(fleet, t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    let spec = PortableSpec {
        name: "web-1".into(),
        service: "web".into(),
        ports: vec![(80, 8080, "tcp".into())],
        ..PortableSpec::default()
    };
    app.ops.specs = SpecCache {
        nodes: [(
            "node-02".to_string(),
            NodeSpecs {
                endpoint: "127.0.0.1:7002".into(),
                saved_unix_ms: 0,
                specs: vec![CachedSpec {
                    spec,
                    running: true,
                }],
                engine_id: engines[2].into(),
            }
            .into(),
        )]
        .into(),
    };
    // The container table over the whole fleet, filtered down to web-1.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('0'));
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "web");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        selected_container(&app),
        ("node-02".to_string(), "web-1".to_string())
    );
    app
}

/// The picker's pre-selected node's name.
fn preselected(app: &mut App) -> String {
    press(app, KeyCode::Char('m'));
    let Some(Dialog::PickTarget {
        choices, selected, ..
    }) = app.panes.dialog()
    else {
        panic!("no target picker: {:?}", app.panes.dialog())
    };
    choices[*selected].name.clone()
}

#[test]
fn the_migrate_picker_does_not_preselect_a_node_where_the_host_port_is_held() {
    let mut app = web_on_engines(["e0", "e1", "e2", "e3"]);
    let best = preselected(&mut app);
    // The same fleet with the best fit on node-02's engine, where web-1 holds port 8080
    // until it stops: the planner would refuse that target.
    let mut engines = ["e0", "e1", "e2", "e3"];
    engines[best[5..].parse::<usize>().unwrap()] = "e2";
    let mut app = web_on_engines(engines);
    let picked = preselected(&mut app);
    assert_ne!(picked, best);
    press(&mut app, KeyCode::Enter);
    let Some(Dialog::Confirm { plan, .. }) = app.panes.dialog() else {
        panic!(
            "the pre-selected target is refused: {:?}",
            app.panes.dialog()
        )
    };
    assert_eq!(
        plan.title,
        format!("Migrate web-1 from node-02 to {picked}")
    );
}
