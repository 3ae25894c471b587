//! Rule evaluation on a fake clock: `now` is passed in, nothing sleeps.

use std::time::{Duration, Instant};

use super::*;
use crate::fixtures;
use crate::model::{AgentUpdate, ContainerState, Fleet, HealthState, NodeSnapshot};

struct Clock {
    base: Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            base: Instant::now(),
        }
    }
    fn at(&self, secs: u64) -> Stamp {
        Stamp {
            at: self.base + Duration::from_secs(secs),
            unix_ms: fixtures::FIXTURE_TIME_UNIX_MS + secs * 1000,
        }
    }
}

/// A snapshot with quiet figures: nothing in it trips a default rule.
fn calm(n: usize, containers: usize) -> NodeSnapshot {
    let mut s = fixtures::snapshot(n, containers);
    s.host.cpu_percent = 20.0;
    s.host.memory_used_bytes = s.host.memory_total_bytes / 4;
    s.host.disk_used_bytes = s.host.disk_total_bytes / 4;
    s.health
        .iter_mut()
        .for_each(|h| h.status = crate::model::CheckStatus::Ok);
    for (spec, stats) in &mut s.containers {
        spec.state = ContainerState::Running;
        spec.health = HealthState::Healthy;
        spec.restart_count = 0;
        stats.cpu_percent = 5.0;
    }
    s
}

fn fleet_of(nodes: usize, clock: &Clock) -> Fleet {
    let endpoints: Vec<String> = (0..nodes)
        .map(|n| format!("127.0.0.1:{}", 7000 + n))
        .collect();
    let mut fleet = Fleet::new(endpoints, Duration::from_secs(10), clock.at(0).at);
    for n in 0..nodes {
        push(&mut fleet, n, calm(n, 4), clock.at(0));
    }
    fleet
}

fn push(fleet: &mut Fleet, slot: usize, snapshot: NodeSnapshot, now: Stamp) {
    fleet.apply(
        AgentUpdate::Snapshot {
            slot,
            epoch: 1000 + slot as u64,
            seq: 1,
            snapshot: Box::new(snapshot),
        },
        now.at,
    );
}

fn update(book: &mut AlertBook, fleet: &mut Fleet, slot: usize, s: NodeSnapshot, now: Stamp) {
    push(fleet, slot, s, now);
    book.observe_node(fleet, slot, now);
    book.tick(fleet, now);
    book.refresh(now.at);
}

fn rule_index(book: &AlertBook, name: &str) -> usize {
    book.rules()
        .iter()
        .position(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

fn state_of(book: &AlertBook, slot: usize, rule: &str) -> Option<AlertState> {
    let key = AlertKey {
        slot,
        container: None,
        rule: rule_index(book, rule),
    };
    book.get(&key).map(|a| a.state)
}

fn kinds(book: &AlertBook) -> Vec<(EntryKind, String)> {
    book.timeline()
        .entries()
        .map(|e| (e.kind, e.text.clone()))
        .collect()
}

/// Timeline entries about one rule.
fn kinds_for(book: &AlertBook, rule: &str) -> Vec<(EntryKind, String)> {
    let tag = format!("[{rule}]");
    kinds(book)
        .into_iter()
        .filter(|(_, t)| t.contains(&tag))
        .collect()
}

#[test]
fn cpu_goes_pending_then_firing_after_its_for_duration_then_resolves() {
    let clock = Clock::new();
    let mut fleet = fleet_of(2, &clock);
    let mut book = AlertBook::default();
    book.observe_all(&fleet, clock.at(0));
    assert!(book.active().next().is_none(), "a calm fleet has no alerts");

    let mut hot = calm(0, 4);
    hot.host.cpu_percent = 82.0;
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(10));
    assert_eq!(state_of(&book, 0, "cpu-warning"), Some(AlertState::Pending));
    // 59 s later the condition has not held for the full minute yet.
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(69));
    assert_eq!(state_of(&book, 0, "cpu-warning"), Some(AlertState::Pending));
    assert!(book.timeline().is_empty(), "pending is not an incident yet");
    // No new data, but time passes: the tick promotes it.
    book.tick(&fleet, clock.at(70));
    book.refresh(clock.at(70).at);
    assert_eq!(state_of(&book, 0, "cpu-warning"), Some(AlertState::Firing));
    assert_eq!(book.counts().warning, 1);
    let a = &book.rows()[0];
    assert_eq!(
        (a.node.as_str(), a.value_text().as_str()),
        ("node-00", "82.0%")
    );
    assert_eq!(
        a.since,
        clock.at(10),
        "since = when the condition started to hold"
    );
    assert_eq!(a.fired, Some(clock.at(70)));

    update(&mut book, &mut fleet, 0, calm(0, 4), clock.at(90));
    assert_eq!(state_of(&book, 0, "cpu-warning"), None);
    let row = book
        .rows()
        .iter()
        .find(|a| a.rule == "cpu-warning")
        .unwrap();
    assert_eq!(row.state, AlertState::Resolved);
    let k = kinds_for(&book, "cpu-warning");
    assert_eq!(k.len(), 2, "{k:?}");
    assert_eq!(k[0].0, EntryKind::Firing);
    assert!(k[0].1.contains("CPU high on node-00 (82.0%)"), "{k:?}");
    assert_eq!(k[1].0, EntryKind::Resolved);

    // Resolved alerts leave the list after a while.
    book.tick(&fleet, clock.at(90 + RESOLVED_SHOWN_FOR.as_secs()));
    book.refresh(clock.at(90 + RESOLVED_SHOWN_FOR.as_secs()).at);
    assert!(book.rows().iter().all(|a| a.rule != "cpu-warning"));
}

#[test]
fn a_condition_that_clears_before_its_for_duration_never_fires() {
    let clock = Clock::new();
    let mut fleet = fleet_of(1, &clock);
    let mut book = AlertBook::default();
    let mut hot = calm(0, 4);
    hot.host.cpu_percent = 97.0;
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(1));
    assert_eq!(
        state_of(&book, 0, "cpu-critical"),
        Some(AlertState::Pending)
    );
    update(&mut book, &mut fleet, 0, calm(0, 4), clock.at(20));
    // Back above: the `for` window starts again.
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(25));
    update(&mut book, &mut fleet, 0, hot, clock.at(50));
    assert_eq!(
        state_of(&book, 0, "cpu-critical"),
        Some(AlertState::Pending)
    );
    book.tick(&fleet, clock.at(55));
    assert_eq!(state_of(&book, 0, "cpu-critical"), Some(AlertState::Firing));
    assert_eq!(book.timeline().len(), 1);
}

#[test]
fn an_unreachable_node_fires_on_ticks_and_proposes_its_failover() {
    let clock = Clock::new();
    let mut fleet = fleet_of(3, &clock);
    let mut book = AlertBook::default();
    book.observe_all(&fleet, clock.at(0));
    fleet.apply(
        AgentUpdate::Down {
            slot: 1,
            reason: "connection refused".into(),
        },
        clock.at(3).at,
    );
    book.observe_node(&fleet, 1, clock.at(3));
    assert_eq!(
        state_of(&book, 1, "node-unreachable"),
        Some(AlertState::Pending)
    );
    book.tick(&fleet, clock.at(7));
    assert_eq!(
        state_of(&book, 1, "node-unreachable"),
        Some(AlertState::Pending)
    );
    book.tick(&fleet, clock.at(8));
    assert_eq!(
        state_of(&book, 1, "node-unreachable"),
        Some(AlertState::Firing)
    );
    book.refresh(clock.at(8).at);
    let alert = &book.rows()[0];
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.key.subject(), Subject::Node(1));
    assert_eq!(
        alert.proposal,
        Some(Proposal::Failover {
            node: "node-01".into()
        })
    );
    // The agent comes back: resolved.
    update(&mut book, &mut fleet, 1, calm(1, 4), clock.at(30));
    assert_eq!(state_of(&book, 1, "node-unreachable"), None);
    assert_eq!(
        kinds(&book).iter().map(|k| k.0).collect::<Vec<_>>(),
        [EntryKind::Firing, EntryKind::Resolved]
    );
}

#[test]
fn a_node_never_reached_is_unreachable_too() {
    let clock = Clock::new();
    let mut fleet = Fleet::new(["127.0.0.1:1"], Duration::from_secs(10), clock.at(0).at);
    let mut book = AlertBook::default();
    book.observe_all(&fleet, clock.at(0));
    book.tick(&fleet, clock.at(5));
    assert_eq!(
        state_of(&book, 0, "node-unreachable"),
        Some(AlertState::Firing)
    );
    push(&mut fleet, 0, calm(0, 2), clock.at(6));
    book.observe_node(&fleet, 0, clock.at(6));
    assert_eq!(state_of(&book, 0, "node-unreachable"), None);
}

#[test]
fn a_restart_loop_fires_at_three_restarts_in_the_window_and_resolves_after_it() {
    let clock = Clock::new();
    let mut fleet = fleet_of(1, &clock);
    let mut book = AlertBook::new(
        rules_from_config(&[RuleConfig {
            name: "restart-loop".into(),
            window: Some(HumanDuration(Duration::from_secs(60))),
            ..RuleConfig::default()
        }])
        .unwrap(),
    );
    book.observe_all(&fleet, clock.at(0));
    let rule = rule_index(&book, "restart-loop");
    let key_of = |fleet: &Fleet| *fleet.node(0).unwrap().containers.keys().min().unwrap();
    let ckey = key_of(&fleet);
    let mut s = calm(0, 4);
    let index = s
        .containers
        .iter()
        .position(|(spec, _)| spec.key == ckey)
        .unwrap();
    for (t, restarts) in [(5, 1), (10, 2)] {
        s.containers[index].0.restart_count = restarts;
        update(&mut book, &mut fleet, 0, s.clone(), clock.at(t));
    }
    let key = AlertKey {
        slot: 0,
        container: Some(ckey),
        rule,
    };
    assert!(book.get(&key).is_none(), "two restarts are not a loop");
    s.containers[index].0.restart_count = 3;
    s.containers[index].0.state = ContainerState::Restarting;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(15));
    let alert = book.get(&key).expect("three restarts within a minute");
    assert_eq!(alert.state, AlertState::Firing, "`for` 0s fires at once");
    assert_eq!(alert.value_text(), "3 restarts");
    assert_eq!(
        alert.location(),
        format!("node-00/{}", s.containers[index].0.name)
    );
    // The container recovers; the alert holds until the restarts leave the window.
    s.containers[index].0.state = ContainerState::Running;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(60));
    assert!(book.get(&key).is_some());
    update(&mut book, &mut fleet, 0, s, clock.at(71));
    assert!(
        book.get(&key).is_none(),
        "resolved once the window slid past"
    );
}

#[test]
fn a_removed_container_resolves_its_alerts() {
    let clock = Clock::new();
    let mut fleet = fleet_of(1, &clock);
    let mut book = AlertBook::default();
    let mut s = calm(0, 4);
    s.containers[0].0.health = HealthState::Unhealthy;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(0));
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(20));
    assert_eq!(book.counts().warning, 1);
    s.containers.remove(0);
    update(&mut book, &mut fleet, 0, s, clock.at(21));
    assert_eq!(book.counts().warning, 0);
    assert_eq!(book.rows()[0].state, AlertState::Resolved);
}

#[path = "book_tests.rs"]
mod book_tests;
#[path = "recommend_tests.rs"]
mod recommend;
#[path = "remote_tests.rs"]
mod remote;
#[path = "rules_tests.rs"]
mod rules_config;
#[path = "stale_tests.rs"]
mod stale;
