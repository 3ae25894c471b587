//! What the monitor tells its receivers, on a fake clock.

use std::time::{Duration, Instant};

use super::*;
use crate::alerts::default_rules;
use crate::fixtures;
use crate::model::{AgentUpdate, CheckStatus, ContainerState, HealthState, NodeSnapshot};

const RESEND: Duration = Duration::from_secs(30);

struct Clock(Instant);

impl Clock {
    fn at(&self, secs: u64) -> Stamp {
        Stamp {
            at: self.0 + Duration::from_secs(secs),
            unix_ms: fixtures::FIXTURE_TIME_UNIX_MS + secs * 1000,
        }
    }
}

/// Only the rules these tests drive: nothing else fires on the fixtures' figures.
fn book() -> AlertBook {
    let rules = default_rules()
        .into_iter()
        .map(|mut r| {
            r.enabled = matches!(r.name.as_str(), "node-unreachable" | "health-check-failing");
            r
        })
        .collect();
    AlertBook::new(rules)
}

fn calm(n: usize) -> NodeSnapshot {
    let mut s = fixtures::snapshot(n, 3);
    s.health.iter_mut().for_each(|h| h.status = CheckStatus::Ok);
    for (spec, _) in &mut s.containers {
        spec.state = ContainerState::Running;
        spec.health = HealthState::Healthy;
    }
    s
}

fn snapshot(fleet: &mut Fleet, book: &mut AlertBook, slot: usize, s: NodeSnapshot, now: Stamp) {
    let snapshot = Box::new(s);
    let update = AgentUpdate::Snapshot {
        slot,
        epoch: 7,
        seq: 1,
        snapshot,
    };
    fleet.apply(update, now.at);
    book.observe_node(fleet, slot, now);
}

fn start(clock: &Clock) -> (Fleet, AlertBook, Tracker) {
    let mut fleet = Fleet::new(
        ["127.0.0.1:7000", "127.0.0.1:7001"],
        Duration::from_secs(10),
        clock.at(0).at,
    );
    let mut book = book();
    for slot in 0..2 {
        snapshot(&mut fleet, &mut book, slot, calm(slot), clock.at(0));
    }
    (fleet, book, Tracker::new(RESEND, clock.at(0).at))
}

#[test]
fn a_lost_node_fires_with_its_labels_and_command_then_resolves() {
    let clock = Clock(Instant::now());
    let (mut fleet, mut book, mut tracker) = start(&clock);
    assert!(tracker.changes(&book, &fleet, clock.at(0)).is_empty());
    let down = AgentUpdate::Down {
        slot: 1,
        reason: "killed".into(),
    };
    fleet.apply(down, clock.at(1).at);
    book.observe_node(&fleet, 1, clock.at(1));
    book.tick(&fleet, clock.at(3));
    assert!(
        tracker.changes(&book, &fleet, clock.at(3)).is_empty(),
        "pending is not told"
    );
    book.tick(&fleet, clock.at(6));
    let out = tracker.changes(&book, &fleet, clock.at(6));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].change, Change::Fired);
    let n = &out[0].notice;
    assert_eq!(n.status, NoticeStatus::Firing);
    assert_eq!(n.label("alertname"), "node-unreachable");
    assert_eq!(n.label("severity"), "critical");
    assert_eq!(n.label("node"), "node-01");
    assert_eq!(n.labels.len(), 3, "{:?}", n.labels);
    assert_eq!(n.annotation("summary"), Some("node unreachable on node-01"));
    assert_eq!(n.annotation("command"), Some("fleetdeck failover node-01"));
    assert!(
        n.annotation("recommendation")
            .unwrap()
            .starts_with("failover node-01")
    );
    assert_eq!(n.starts_unix_ms, clock.at(6).unix_ms);
    assert_eq!(n.ends_unix_ms, clock.at(6 + 4 * 30).unix_ms);
    assert_eq!(tracker.firing(), 1);
    assert!(
        tracker.changes(&book, &fleet, clock.at(7)).is_empty(),
        "told once"
    );

    assert!(tracker.resend_due(&book, clock.at(29)).is_empty());
    let again = tracker.resend_due(&book, clock.at(30));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].change, Change::Resent);
    assert_eq!(again[0].notice.starts_unix_ms, n.starts_unix_ms);
    assert_eq!(again[0].notice.ends_unix_ms, clock.at(30 + 120).unix_ms);
    assert_eq!(tracker.next_resend(), clock.at(60).at);

    snapshot(&mut fleet, &mut book, 1, calm(1), clock.at(40));
    let out = tracker.changes(&book, &fleet, clock.at(40));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].change, Change::Resolved);
    let r = &out[0].notice;
    assert_eq!(r.status, NoticeStatus::Resolved);
    assert_eq!(r.labels, n.labels, "the same alert for Alertmanager");
    assert_eq!(r.ends_unix_ms, clock.at(40).unix_ms);
    assert_eq!(r.annotation("summary"), Some("node unreachable on node-01"));
    assert_eq!(tracker.firing(), 0);
    // The resolution is repeated at the next resends, then forgotten.
    for secs in [60, 90] {
        let again = tracker.resend_due(&book, clock.at(secs));
        assert_eq!(again.len(), 1, "at {secs}");
        assert_eq!(again[0].notice, *r);
    }
    assert!(tracker.resend_due(&book, clock.at(120)).is_empty());
}

#[test]
fn container_alerts_carry_container_and_service() {
    let clock = Clock(Instant::now());
    let (mut fleet, mut book, mut tracker) = start(&clock);
    let mut sick = calm(0);
    sick.containers[1].0.health = HealthState::Unhealthy;
    sick.containers[1].0.service = "api".into();
    let name = sick.containers[1].0.name.clone();
    snapshot(&mut fleet, &mut book, 0, sick.clone(), clock.at(1));
    snapshot(&mut fleet, &mut book, 0, sick, clock.at(20));
    let out = tracker.changes(&book, &fleet, clock.at(20));
    assert_eq!(out.len(), 1, "{out:?}");
    let n = &out[0].notice;
    assert_eq!(n.label("alertname"), "health-check-failing");
    assert_eq!(n.label("container"), name);
    assert_eq!(n.label("service"), "api");
    assert_eq!(n.label("node"), "node-00");
    assert_eq!(
        n.annotation("command"),
        None,
        "the rule recommends no action"
    );
    // The node is lost: the alert stays firing, marked stale, not resolved.
    let down = AgentUpdate::Down {
        slot: 0,
        reason: "killed".into(),
    };
    fleet.apply(down, clock.at(21).at);
    book.observe_node(&fleet, 0, clock.at(21));
    assert!(tracker.changes(&book, &fleet, clock.at(21)).is_empty());
    let again = tracker.resend_due(&book, clock.at(30));
    assert!(again[0].notice.annotation("stale").is_some(), "{again:?}");
}
