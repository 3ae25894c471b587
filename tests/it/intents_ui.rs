//! Interrupted actions in the TUI's history view, over real sim agents: a console that
//! stopped renewing its lease leaves an interrupted intent, which another console shows in
//! `H` and rolls back with X or resumes with Enter (its recorded plan from the step it
//! reached, confirmed, run under the same id).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, Dialog, OpRequest};
use fleetdeck::client::AgentAddr;
use fleetdeck::ops::{Outcome, Proposal};
use fleetdeck::tui::OpsLink;
use fleetdeck_agent::NodeMode;

use crate::support::ops::{self, Cluster};
use crate::support::screen::{lines, press, render};

/// A console on the cluster, as the binary starts one.
async fn console(c: &Cluster) -> (App, OpsLink, tokio::task::JoinHandle<()>) {
    let now = Instant::now();
    let mut app = App::new(c.fleet().await, now);
    app.set_clock(now, fleetdeck::tui::unix_ms());
    let agents: Vec<AgentAddr> = c.endpoints().iter().map(|e| e.parse().unwrap()).collect();
    let (link, refresher) =
        fleetdeck::ops::runner::start(&mut app, Some(c.console_dir()), &agents, false, c.conns());
    (app, link, refresher)
}

/// Feeds the runner's events into the app until `done` holds (30 s at most).
async fn pump(app: &mut App, link: &mut OpsLink, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, link.events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap();
        app.set_clock(Instant::now(), fleetdeck::tui::unix_ms());
        app.update(Action::Op(event));
    }
}

/// Claims a migrate of `name` from n1 to n2 as intent `id` with a 1 s lease, then lets the
/// lease lapse, as a console that died would.
async fn abandoned(c: &Cluster, name: &str, id: &str) {
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.into(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let mut exec = c.executor();
    exec.lease = Duration::from_secs(1);
    drop(exec.claim(&plan, id).await.unwrap());
}

fn state_of(app: &App, id: &str) -> String {
    app.ops
        .intents
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.state.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_history_view_rolls_back_or_resumes_an_interrupted_action() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let name = ops::running(c.nodes[0].agent())[0].0.clone();
    let (mut app, mut link, refresher) = console(&c).await;
    press(&mut app, KeyCode::Char('H'));

    // X rolls the interrupted action back on every agent holding it.
    abandoned(&c, &name, "0aa0aa0aa0aa0aa0").await;
    pump(&mut app, &mut link, "the action to be interrupted", |a| {
        state_of(a, "0aa0aa0aa0aa0aa0") == "interrupted"
    })
    .await;
    let screen = lines(&render(&mut app, 140, 40)).join("\n");
    assert!(
        screen.contains("INTERRUPTED migrate: ") && screen.contains("Enter resume · X roll back"),
        "{screen}"
    );
    press(&mut app, KeyCode::Char('X'));
    for r in app.take_requests() {
        assert!(matches!(r, OpRequest::Abort { .. }), "{r:?}");
        link.runner.submit(r);
    }
    pump(&mut app, &mut link, "the roll back", |a| {
        state_of(a, "0aa0aa0aa0aa0aa0") == "rolled_back"
    })
    .await;

    // Enter plans it again and, confirmed, runs it under the same id to the end.
    abandoned(&c, &name, "0bb0bb0bb0bb0bb0").await;
    pump(
        &mut app,
        &mut link,
        "the second action to be interrupted",
        |a| state_of(a, "0bb0bb0bb0bb0bb0") == "interrupted",
    )
    .await;
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.panes.dialog(), Some(Dialog::Confirm { .. })),
        "the resumed plan waits for confirmation"
    );
    press(&mut app, KeyCode::Enter);
    let mut op = None;
    for r in app.take_requests() {
        if let OpRequest::Run { op: o, intent, .. } = &r {
            assert_eq!(intent.as_deref(), Some("0bb0bb0bb0bb0bb0"));
            op = Some(*o);
        }
        link.runner.submit(r);
    }
    let op = op.expect("the resumed action runs");
    pump(&mut app, &mut link, "the resumed action to finish", |a| {
        a.ops
            .log
            .get(op)
            .is_some_and(|e| matches!(e.state, fleetdeck::ops::EntryState::Finished(_)))
    })
    .await;
    let fleetdeck::ops::EntryState::Finished(outcome) = &app.ops.log.get(op).unwrap().state else {
        unreachable!()
    };
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(
        !ops::running(c.nodes[0].agent())
            .iter()
            .any(|(n, _)| *n == name),
        "{name} moved off n1"
    );
    pump(&mut app, &mut link, "the agents to record it done", |a| {
        state_of(a, "0bb0bb0bb0bb0bb0") == "done"
    })
    .await;
    refresher.abort();
}
