//! An unreachable node's other alerts: suspended on stale data, never fired from it.

use super::*;

fn down(fleet: &mut Fleet, book: &mut AlertBook, slot: usize, now: Stamp) {
    fleet.apply(
        AgentUpdate::Down {
            slot,
            reason: "connection reset".into(),
        },
        now.at,
    );
    book.observe_node(fleet, slot, now);
    book.tick(fleet, now);
    book.refresh(now.at);
}

/// Node 1 runs hot long enough for both CPU alerts to fire, and one of its containers
/// has just started failing its health check (pending).
fn hot_node(clock: &Clock) -> (Fleet, AlertBook, NodeSnapshot) {
    let mut fleet = fleet_of(3, clock);
    let mut book = AlertBook::default();
    book.observe_all(&fleet, clock.at(0));
    let mut hot = calm(1, 4);
    hot.host.cpu_percent = 97.0;
    update(&mut book, &mut fleet, 1, hot.clone(), clock.at(1));
    update(&mut book, &mut fleet, 1, hot.clone(), clock.at(62));
    hot.containers[0].0.health = HealthState::Unhealthy;
    update(&mut book, &mut fleet, 1, hot.clone(), clock.at(63));
    assert_eq!(state_of(&book, 1, "cpu-warning"), Some(AlertState::Firing));
    assert_eq!(state_of(&book, 1, "cpu-critical"), Some(AlertState::Firing));
    assert_eq!(book.counts().critical, 1);
    let pending: Vec<&str> = book
        .rows()
        .iter()
        .filter(|a| a.state == AlertState::Pending)
        .map(|a| a.rule.as_str())
        .collect();
    assert_eq!(
        pending,
        ["health-check-failing", "scale-up"],
        "waiting for their `for`"
    );
    (fleet, book, hot)
}

#[test]
fn a_lost_node_suspends_its_alerts_instead_of_firing_on_stale_figures() {
    let clock = Clock::new();
    let (mut fleet, mut book, _) = hot_node(&clock);
    down(&mut fleet, &mut book, 1, clock.at(64));

    assert_eq!(state_of(&book, 1, "cpu-warning"), Some(AlertState::Stale));
    assert_eq!(state_of(&book, 1, "cpu-critical"), Some(AlertState::Stale));
    let c = book.counts();
    assert_eq!((c.critical, c.warning, c.stale), (0, 0, 2), "{c:?}");
    let pending: Vec<&str> = book
        .rows()
        .iter()
        .filter(|a| a.state == AlertState::Pending && a.node == "node-01")
        .map(|a| a.rule.as_str())
        .collect();
    assert_eq!(
        pending,
        ["node-unreachable"],
        "a pending alert on stale data is dropped: its `for` cannot be proven"
    );
    let suspended: Vec<_> = kinds(&book)
        .into_iter()
        .filter(|k| k.0 == EntryKind::Suspended)
        .collect();
    assert_eq!(suspended.len(), 2, "{suspended:?}");
    assert!(
        suspended[0]
            .1
            .contains("node unreachable: last value stale")
    );

    // Long past every `for`: only the reachability alert fires; nothing fires from stale data.
    for t in 65..=120 {
        book.tick(&fleet, clock.at(t));
    }
    book.refresh(clock.at(120).at);
    let firing: Vec<&str> = book
        .rows()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.rule.as_str())
        .collect();
    assert_eq!(firing, ["node-unreachable"]);
    assert_eq!(book.counts().critical, 1);

    // Back, and calm: the suspended alerts resolve on fresh data.
    update(&mut book, &mut fleet, 1, calm(1, 4), clock.at(121));
    assert_eq!(state_of(&book, 1, "cpu-warning"), None);
    assert_eq!(state_of(&book, 1, "node-unreachable"), None);
    let resolved = kinds(&book)
        .into_iter()
        .filter(|k| k.0 == EntryKind::Resolved && k.1.contains(" on node-01 "))
        .count();
    assert_eq!(resolved, 3, "two CPU alerts and the reachability one");
}

#[test]
fn a_node_that_comes_back_still_hot_resumes_its_alerts() {
    let clock = Clock::new();
    let (mut fleet, mut book, hot) = hot_node(&clock);
    let fired = book
        .rows()
        .iter()
        .find(|a| a.rule == "cpu-critical")
        .and_then(|a| a.fired);
    down(&mut fleet, &mut book, 1, clock.at(64));
    update(&mut book, &mut fleet, 1, hot, clock.at(70));
    assert_eq!(state_of(&book, 1, "cpu-critical"), Some(AlertState::Firing));
    let alert = book
        .rows()
        .iter()
        .find(|a| a.rule == "cpu-critical")
        .unwrap();
    assert_eq!(alert.fired, fired, "the same incident, not a new one");
    assert_eq!(book.counts().stale, 0);
    assert!(
        kinds_for(&book, "cpu-critical")
            .iter()
            .any(|k| k.0 == EntryKind::Resumed && k.1.contains("data live again"))
    );
}
