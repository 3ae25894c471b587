//! A read-only console cannot fence a node back after a failover: over real gRPC on sim
//! agents it raises the critical `stale-copies` alert (alert pane, wall, timeline, export)
//! and resolves it once an operator console has stopped the stale copies.
#![allow(clippy::unwrap_used)]

use crate::support::ops;
use crate::support::screen;

use std::time::{Duration, Instant};

use fleetdeck::alerts::{Alert, AlertState, EntryKind, Severity};
use fleetdeck::app::{Action, App};
use fleetdeck::client::{AgentAddr, WatchOptions, Watchers};
use fleetdeck::model::{AgentUpdate, Fleet};
use fleetdeck::ops::fence::{self, Failovers};
use fleetdeck::ops::{Outcome, Proposal};
use fleetdeck_agent::NodeMode;
use ops::{Cluster, running};
use screen::{lines, render};
use tokio::sync::mpsc;

/// Feeds the console live updates until `done` holds (20 s at most).
async fn pump(app: &mut App, rx: &mut mpsc::Receiver<AgentUpdate>, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let update = tokio::time::timeout(left, rx.recv())
            .await
            .expect("the condition holds in time")
            .expect("watchers are alive");
        app.set_clock(Instant::now(), fleetdeck::tui::unix_ms());
        app.update(Action::Agent(update));
    }
}

fn stale_alert(app: &App) -> Option<&Alert> {
    app.alerts.active().find(|a| a.rule == "stale-copies")
}

/// The alert pane's rows, ages redacted.
fn alert_pane(app: &mut App) -> String {
    let buf = render(app, 120, 40);
    let rows = lines(&buf);
    let top = rows.iter().position(|l| l.contains("╭ Alerts")).unwrap();
    let bottom = top + rows[top..].iter().position(|l| l.starts_with('╰')).unwrap();
    rows[top..=bottom].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_only_console_raises_a_critical_alert_for_stale_copies() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Standby, NodeMode::Active], 4).await;
    c.specs().await;
    let before: Vec<String> = running(c.nodes[0].agent())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!before.is_empty());
    c.nodes[0].kill().await;
    let plan = c
        .plan(&Proposal::Failover { node: "n1".into() })
        .await
        .unwrap();
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    c.nodes[0].restart().await;

    // A read-only console sharing the state directory, on live Watch streams.
    let addrs: Vec<AgentAddr> = c.endpoints().iter().map(|e| e.parse().unwrap()).collect();
    let now = Instant::now();
    let mut app = App::new(Fleet::new(c.endpoints(), Duration::from_secs(10), now), now);
    app.set_clock(now, fleetdeck::tui::unix_ms());
    app.title = "read-only".into();
    let (_link, refresher) =
        fleetdeck::ops::runner::start(&mut app, Some(c.console_dir()), &addrs, true, c.conns());
    refresher.abort();
    app.read_only = true;
    let (tx, mut rx) = mpsc::channel(1024);
    let _watchers = Watchers::spawn(&addrs, &WatchOptions::default(), &tx);
    pump(&mut app, &mut rx, |a| stale_alert(a).is_some()).await;

    let alert = stale_alert(&app).unwrap().clone();
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(
        alert.state,
        AlertState::Firing,
        "no `for`: it fires at once"
    );
    assert_eq!(alert.node, "n1");
    assert_eq!(alert.value as usize, before.len());
    assert_eq!(alert.value_text(), format!("{} copies", before.len()));
    app.refresh();
    assert_eq!(app.alerts.counts().critical, 1);
    let buf = render(&mut app, 120, 40);
    let critical = app.theme.severity(Severity::Critical).fg;
    assert_eq!(screen::style_of(&buf, "CRIT firing").fg, critical);
    insta::with_settings!({filters => vec![(r"\b\d+(ms|s)\b", "[age]")]}, {
        insta::assert_snapshot!("stale_copies_alert_pane", alert_pane(&mut app));
    });
    // The incident timeline names the copies; the Markdown export carries both.
    let observed: Vec<&str> = app
        .alerts
        .timeline()
        .entries()
        .filter(|e| e.kind == EntryKind::Observed)
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(observed.len(), 1, "{observed:?}");
    for name in &before {
        assert!(observed[0].contains(name.as_str()), "{observed:?}");
    }
    let markdown = app
        .alerts
        .timeline()
        .to_markdown("read-only", app.now_unix_ms);
    assert!(
        markdown.contains("stale copies running on n1"),
        "{markdown}"
    );
    assert!(
        markdown.contains("an operator console stops them"),
        "{markdown}"
    );
    // The wall lists it with the firing alerts.
    app.make_wall(Duration::from_secs(3600));
    let wall = screen::text(&render(&mut app, 120, 40));
    assert!(wall.contains("stale copies running"), "{wall}");
    app.leave_wall();

    // An operator console fences: the copies stop, the deltas reach the read-only console
    // and the alert resolves.
    let stale = Failovers::load(&c.console_dir()).stale(&c.fleet().await);
    fence::fence(&c.conns(), &c.console_dir(), &stale[0], "ops-test")
        .await
        .unwrap();
    pump(&mut app, &mut rx, |a| stale_alert(a).is_none()).await;
    let resolved = app
        .alerts
        .resolved()
        .find(|a| a.rule == "stale-copies")
        .expect("listed as resolved");
    assert_eq!(resolved.state, AlertState::Resolved);
    assert!(
        app.alerts
            .timeline()
            .entries()
            .any(|e| e.kind == EntryKind::Resolved && e.text.contains("stale copies running on n1"))
    );
    app.refresh();
    assert_eq!(app.alerts.counts().critical, 0);
}
