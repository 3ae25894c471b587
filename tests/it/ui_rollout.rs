//! Rollouts from the console on TestBackend: `U` asks for the image, the nodes' image lists
//! are asked before anything is planned, the plan lists the replica order and the checks,
//! progress shows the replica being replaced; a missing image is refused in one line; the
//! current image plans a rolling restart. Requests leave only through the outbox.

use std::time::{Duration, Instant};

use crate::support::screen::{press, render, text, type_text};

use crossterm::event::{KeyCode, KeyModifiers};
use fleetdeck::app::{Action, App, Dialog, Focus, OpRequest};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::ops::OpEvent;
use fleetdeck_core::image::{EngineImage, HealthTiming};

fn console() -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(3, 8, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    app
}

/// Selects the first `api` container in the container table.
fn select_api(app: &mut App) {
    press(app, KeyCode::Tab);
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    for _ in 0..40 {
        if app
            .selected_container()
            .is_some_and(|(_, c)| &*c.spec.service == "api")
        {
            return;
        }
        press(app, KeyCode::Down);
    }
    panic!("no api container in the fixture");
}

fn images(tags: &[&str]) -> Vec<EngineImage> {
    tags.iter()
        .map(|t| EngineImage {
            tags: vec![(*t).to_string()],
            health: Some(HealthTiming {
                start_period: Duration::from_secs(5),
                interval: Duration::from_secs(2),
                timeout: Duration::from_secs(1),
                retries: 3,
            }),
        })
        .collect()
}

/// Answers every ListImages request with `tags` (and `missing_on` without the last one).
fn answer(app: &mut App, tags: &[&str], missing_on: Option<&str>) -> Vec<String> {
    let requests = app.take_requests();
    let nodes: Vec<String> = requests
        .iter()
        .map(|r| match r {
            OpRequest::ListImages { node, .. } => node.clone(),
            other => panic!("only image lists are asked first: {other:?}"),
        })
        .collect();
    assert!(!nodes.is_empty(), "the nodes' images are asked");
    for node in &nodes {
        let held = if missing_on == Some(node.as_str()) {
            &tags[..tags.len() - 1]
        } else {
            tags
        };
        app.update(Action::Op(OpEvent::Images {
            node: node.clone(),
            list: Ok(images(held)),
        }));
    }
    nodes
}

#[test]
fn image_rollout_asks_the_image_then_the_nodes_then_shows_the_plan() {
    let mut app = console();
    select_api(&mut app);
    press(&mut app, KeyCode::Char('U'));
    let prompt = app.panes.prompt().expect("the image prompt");
    assert_eq!(
        prompt.text, "fleetdeck/api:2.4.1",
        "the current image to edit"
    );
    app.update(Action::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    type_text(&mut app, "fleetdeck/api:2.5");
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_image_prompt_100x30", text(&buf));
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.panes.dialog(), Some(Dialog::Waiting { .. })),
        "{:?}",
        app.panes.dialog()
    );
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_waiting_100x30", text(&buf));
    answer(
        &mut app,
        &["fleetdeck/api:2.4.1", "fleetdeck/api:2.5"],
        None,
    );
    let Some(Dialog::Confirm { plan, .. }) = app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert!(plan.title.starts_with("Roll api out to fleetdeck/api:2.5"));
    assert!(
        plan.lines[0].starts_with("1. api-1 on node-00"),
        "{:?}",
        plan.lines
    );
    assert!(
        plan.lines.iter().any(|l| l.contains("wait up to 24 s")),
        "5 s start period + 3 × (2 s + 1 s) + 10 s: {:?}",
        plan.lines
    );
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_image_confirm_100x30", text(&buf));
    press(&mut app, KeyCode::Enter);
    let requests = app.take_requests();
    let [OpRequest::Run { op, .. }] = requests.as_slice() else {
        panic!("one run request: {requests:?}")
    };
    app.update(Action::Op(OpEvent::Progress {
        op: *op,
        stage: "ready".into(),
        percent: 40.0,
        message: "replica 2/4: waiting for api-4 on node-01: running / starting".into(),
    }));
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_progress_100x30", text(&buf));
}

#[test]
fn an_image_missing_on_one_node_is_refused_in_one_line() {
    let mut app = console();
    select_api(&mut app);
    press(&mut app, KeyCode::Char('U'));
    app.update(Action::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    type_text(&mut app, "fleetdeck/api:2.5");
    press(&mut app, KeyCode::Enter);
    answer(
        &mut app,
        &["fleetdeck/api:2.4.1", "fleetdeck/api:2.5"],
        Some("node-01"),
    );
    let Some(Dialog::Refused { message, .. }) = app.panes.dialog() else {
        panic!("refused: {:?}", app.panes.dialog())
    };
    assert_eq!(
        message,
        "fleetdeck/api:2.5 is not on node-01's engine; pull it there first"
    );
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_missing_image_100x30", text(&buf));
}

#[test]
fn rolling_restart_plans_once_the_nodes_answered_and_esc_drops_it_before() {
    let mut app = console();
    select_api(&mut app);
    press(&mut app, KeyCode::Char('U'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert!(app.panes.dialog().is_none());
    answer(&mut app, &["fleetdeck/api:2.4.1"], None);
    assert!(
        app.panes.dialog().is_none(),
        "a closed wait drops the rollout"
    );
    press(&mut app, KeyCode::Char('U'));
    press(&mut app, KeyCode::Enter);
    answer(&mut app, &["fleetdeck/api:2.4.1"], None);
    let Some(Dialog::Confirm { plan, .. }) = app.panes.dialog() else {
        panic!("no confirmation: {:?}", app.panes.dialog())
    };
    assert!(
        plan.title.starts_with("Rolling restart of api"),
        "{}",
        plan.title
    );
    let buf = render(&mut app, 100, 30);
    insta::assert_snapshot!("rollout_restart_confirm_100x30", text(&buf));
}
