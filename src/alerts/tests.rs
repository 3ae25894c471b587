//! Rule evaluation on a fake clock: `now` is passed in, nothing sleeps.

use std::time::{Duration, Instant};

use super::*;
use crate::fixtures;
use crate::model::{AgentUpdate, ContainerState, Fleet, Health, NodeSnapshot};

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
        spec.health = Health::Healthy;
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
    s.containers[0].0.health = Health::Unhealthy;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(0));
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(20));
    assert_eq!(book.counts().warning, 1);
    s.containers.remove(0);
    update(&mut book, &mut fleet, 0, s, clock.at(21));
    assert_eq!(book.counts().warning, 0);
    assert_eq!(book.rows()[0].state, AlertState::Resolved);
}

#[test]
fn acknowledgements_show_and_expire_on_resolve_or_after_their_ttl() {
    let clock = Clock::new();
    let mut fleet = fleet_of(1, &clock);
    let mut book = AlertBook::default();
    let mut hot = calm(0, 4);
    hot.host.memory_used_bytes = hot.host.memory_total_bytes / 100 * 97;
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(0));
    update(&mut book, &mut fleet, 0, hot.clone(), clock.at(30));
    let key = AlertKey {
        slot: 0,
        container: None,
        rule: rule_index(&book, "memory-critical"),
    };
    assert_eq!(book.get(&key).unwrap().state, AlertState::Firing);
    assert!(book.acknowledge(&key, "  looking at the leak ", clock.at(40)));
    book.refresh(clock.at(40).at);
    let ack = book.get(&key).unwrap().ack.clone().unwrap();
    assert_eq!(ack.note, "looking at the leak");
    assert_eq!(book.counts().acked, 1);
    let ttl = ACK_TTL.as_secs();
    book.tick(&fleet, clock.at(40 + ttl - 1));
    assert!(book.get(&key).unwrap().ack.is_some());
    book.tick(&fleet, clock.at(40 + ttl));
    assert!(
        book.get(&key).unwrap().ack.is_none(),
        "an ack lasts {ttl} s"
    );
    // Ack again, then resolve: the ack goes with the alert.
    assert!(book.acknowledge(&key, "", clock.at(50 + ttl)));
    update(&mut book, &mut fleet, 0, calm(0, 4), clock.at(60 + ttl));
    assert!(book.get(&key).is_none());
    assert!(book.resolved().all(|a| a.ack.is_none()));
    let k: Vec<EntryKind> = kinds_for(&book, "memory-critical")
        .iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(
        k,
        [
            EntryKind::Firing,
            EntryKind::Acknowledged,
            EntryKind::AckExpired,
            EntryKind::Acknowledged,
            EntryKind::Resolved
        ]
    );
    assert!(
        kinds_for(&book, "memory-critical")[1]
            .1
            .ends_with(": looking at the leak")
    );
}

#[test]
fn silences_mute_the_counts_and_end_on_time() {
    let clock = Clock::new();
    let mut fleet = fleet_of(1, &clock);
    let mut book = AlertBook::default();
    let mut s = calm(0, 4);
    s.host.disk_used_bytes = s.host.disk_total_bytes / 100 * 93;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(0));
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(60));
    let key = book.rows()[0].key;
    assert_eq!(book.counts().warning, 1);
    book.silence_for(&key, Duration::from_secs(15 * 60), clock.at(61));
    book.refresh(clock.at(61).at);
    assert_eq!((book.counts().warning, book.counts().silenced), (0, 1));
    assert_eq!(
        book.silence(&key).unwrap().until_unix_ms,
        clock.at(61 + 900).unix_ms
    );
    book.tick(&fleet, clock.at(61 + 899));
    assert!(book.silence(&key).is_some());
    book.tick(&fleet, clock.at(61 + 900));
    book.refresh(clock.at(61 + 900).at);
    assert!(book.silence(&key).is_none());
    assert_eq!(book.counts().warning, 1, "still firing: it counts again");
    let k: Vec<EntryKind> = kinds(&book).iter().map(|k| k.0).collect();
    assert_eq!(
        k,
        [
            EntryKind::Firing,
            EntryKind::Silenced,
            EntryKind::SilenceExpired
        ]
    );
    assert!(kinds(&book)[1].1.ends_with("for 15m"), "{:?}", kinds(&book));
}

#[test]
fn rows_are_sorted_by_state_then_severity_then_age() {
    let clock = Clock::new();
    let mut fleet = fleet_of(3, &clock);
    let mut book = AlertBook::default();
    let mut warm = calm(0, 4);
    warm.host.cpu_percent = 85.0;
    update(&mut book, &mut fleet, 0, warm.clone(), clock.at(0));
    let mut warm1 = calm(1, 4);
    warm1.host.cpu_percent = 84.0;
    update(&mut book, &mut fleet, 1, warm1.clone(), clock.at(5));
    let mut hot = calm(2, 4);
    hot.host.cpu_percent = 99.0;
    update(&mut book, &mut fleet, 2, hot.clone(), clock.at(40));
    update(&mut book, &mut fleet, 2, hot, clock.at(70));
    let order: Vec<(String, &str, AlertState)> = book
        .rows()
        .iter()
        .filter(|a| a.rule.starts_with("cpu"))
        .map(|a| (a.node.clone(), a.rule.as_str(), a.state))
        .collect();
    assert_eq!(
        order,
        [
            ("node-02".into(), "cpu-critical", AlertState::Firing),
            ("node-00".into(), "cpu-warning", AlertState::Firing),
            ("node-01".into(), "cpu-warning", AlertState::Firing),
            ("node-02".into(), "cpu-warning", AlertState::Pending),
        ]
    );
}

#[test]
fn load_imbalance_recommends_a_concrete_migration() {
    let clock = Clock::new();
    let mut fleet = fleet_of(2, &clock);
    let mut book = AlertBook::default();
    let mut hot = calm(0, 4);
    hot.host.cpu_percent = 99.0;
    hot.host.memory_used_bytes = hot.host.memory_total_bytes / 100 * 90;
    hot.containers[2].1.cpu_percent = 70.0;
    let busiest = hot.containers[2].0.name.clone();
    update(&mut book, &mut fleet, 0, hot, clock.at(0));
    update(&mut book, &mut fleet, 1, calm(1, 4), clock.at(0));
    book.tick(&fleet, clock.at(61));
    book.refresh(clock.at(61).at);
    let rule = rule_index(&book, "load-imbalance");
    let alert = book
        .get(&AlertKey {
            slot: FLEET_SLOT,
            container: None,
            rule,
        })
        .expect("max - min load is over 30 points");
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.key.subject(), Subject::Fleet);
    assert_eq!(
        alert.proposal,
        Some(Proposal::Migrate {
            container: busiest,
            from: "node-00".into(),
            to: "node-01".into(),
        })
    );
}

#[test]
fn scale_hints_name_a_service_and_a_replica_count() {
    let clock = Clock::new();
    let now = clock.at(0);
    let fleet = fixtures::fleet(3, 12, now.at);
    let up = propose(Recommend::ScaleUp, &fleet, Some(0)).unwrap();
    let down = propose(Recommend::ScaleDown, &fleet, None).unwrap();
    match (&up, &down) {
        (
            Proposal::Scale { from, replicas, .. },
            Proposal::Scale {
                from: f2,
                replicas: r2,
                ..
            },
        ) => {
            assert_eq!(*replicas, from + 1);
            assert_eq!(*r2 + 1, *f2);
        }
        other => panic!("{other:?}"),
    }
    assert!(up.to_string().starts_with("scale "), "{up}");
}

#[test]
fn the_default_rules_parse_and_follow_the_design() {
    let rules = default_rules();
    assert!(rules.iter().all(|r| !r.when.terms.is_empty()), "{rules:#?}");
    let find = |n: &str| rules.iter().find(|r| r.name == n).unwrap();
    assert_eq!(find("cpu-warning").when.to_string(), "cpu > 80");
    assert_eq!(find("cpu-critical").when.to_string(), "cpu > 95");
    assert_eq!(find("memory-warning").when.to_string(), "memory > 85");
    assert_eq!(find("memory-critical").when.to_string(), "memory > 95");
    assert_eq!(find("disk-full").when.to_string(), "disk > 90");
    assert_eq!(find("node-unreachable").severity, Severity::Critical);
    assert_eq!(find("load-imbalance").when.to_string(), "load_spread > 30");
    assert_eq!(find("scale-up").when.to_string(), "cpu > 85 or memory > 90");
    assert_eq!(
        find("scale-down").when.to_string(),
        "fleet_cpu < 30 and fleet_memory < 40"
    );
}

#[test]
fn config_entries_patch_defaults_and_add_rules() {
    let entries: AlertsConfig = toml::from_str(
        r#"
[[rules]]
name = "cpu-warning"
threshold = 70
for = "2m"

[[rules]]
name = "api-hot"
when = "container_cpu >= 150"
for = "30s"
severity = "critical"

[[rules]]
name = "disk-full"
enabled = false
"#,
    )
    .unwrap();
    let rules = rules_from_config(&entries.rules).unwrap();
    let cpu = rules.iter().find(|r| r.name == "cpu-warning").unwrap();
    assert_eq!(cpu.when.to_string(), "cpu > 70");
    assert_eq!(cpu.for_, Duration::from_secs(120));
    let api = rules.last().unwrap();
    assert_eq!(api.name, "api-hot");
    assert_eq!(api.when.scope(), Scope::Container);
    assert_eq!(api.severity, Severity::Critical);
    assert!(
        !rules
            .iter()
            .find(|r| r.name == "disk-full")
            .unwrap()
            .enabled
    );
}

#[test]
fn bad_rules_say_what_is_wrong() {
    let err = |toml: &str| {
        toml::from_str::<AlertsConfig>(toml)
            .unwrap_err()
            .to_string()
    };
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpux > 3\"").contains("unknown metric `cpux`"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu = 3\"").contains("not a comparison"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu > lots\"").contains("not a number"));
    assert!(err("[[rules]]\nname=\"x\"\nwhen = \"cpu > 1 and restarts > 1\"").contains("mixes"));
    assert!(
        err("[[rules]]\nname=\"x\"\nwhen = \"cpu > 1 and cpu < 3 or disk > 1\"")
            .contains("mixes `and` and `or`")
    );
    assert!(err("[[rules]]\nname=\"x\"\nfor = \"5\"").contains("not a duration"));
    assert!(err("[[rules]]\nname=\"x\"\nseverity = \"page\"").contains("unknown variant"));
    assert!(err("[[rules]]\nname=\"x\"\nthreshhold = 1").contains("unknown field"));
    let missing = rules_from_config(&[RuleConfig {
        name: "mine".into(),
        ..RuleConfig::default()
    }])
    .unwrap_err();
    assert!(missing.to_string().contains("needs a `when`"), "{missing}");
    let wrong = rules_from_config(&[RuleConfig {
        name: "cpu-warning".into(),
        recommend: Some(Recommend::Rebalance),
        ..RuleConfig::default()
    }])
    .unwrap_err();
    assert!(
        wrong
            .to_string()
            .contains("does not fit a rule about a node"),
        "{wrong}"
    );
}

#[test]
fn durations_parse_and_print() {
    for (text, secs) in [
        ("0s", 0),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("2d", 172_800),
    ] {
        assert_eq!(
            parse_duration(text).unwrap(),
            Duration::from_secs(secs),
            "{text}"
        );
    }
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    for bad in ["", "5", "m", "5x", "1h-2m", "-3s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(45)), "45s");
    assert_eq!(format_duration(Duration::ZERO), "0s");
}

#[test]
fn the_timeline_exports_as_markdown_in_order() {
    let clock = Clock::new();
    let mut t = Timeline::default();
    t.push(
        clock.at(0),
        EntryKind::Firing,
        Some(Severity::Critical),
        "node unreachable on node-03",
    );
    t.push(
        clock.at(5),
        EntryKind::Acknowledged,
        Some(Severity::Critical),
        "a | b",
    );
    let md = t.to_markdown("demo", clock.at(10).unix_ms);
    assert!(md.starts_with("# fleetdeck incident timeline"), "{md}");
    assert!(
        md.contains("| 2026-11-24 12:00:00 | firing | critical | node unreachable on node-03 |"),
        "{md}"
    );
    assert!(
        md.contains("| 2026-11-24 12:00:05 | acknowledged | critical | a \\| b |"),
        "{md}"
    );
    assert_eq!(
        export_file_name(clock.at(5).unix_ms),
        "incident-20261124-120005.md"
    );
}

#[test]
fn the_book_names_when_the_next_pending_alert_is_due_and_flags_news_once() {
    let clock = Clock::new();
    let mut fleet = fleet_of(2, &clock);
    let mut book = AlertBook::default();
    book.observe_all(&fleet, clock.at(0));
    assert_eq!(book.next_due(), None, "nothing pending");
    let _ = book.take_urgent();
    let mut hot = calm(0, 4);
    hot.host.cpu_percent = 97.0;
    update(&mut book, &mut fleet, 0, hot, clock.at(10));
    // cpu-critical waits 30 s, cpu-warning 60 s: the sooner one is due first.
    assert_eq!(book.next_due(), Some(clock.at(40).at));
    assert!(!book.take_urgent(), "pending is not news yet");
    book.tick(&fleet, clock.at(40));
    assert_eq!(state_of(&book, 0, "cpu-critical"), Some(AlertState::Firing));
    assert!(book.take_urgent(), "a firing alert is news");
    assert!(!book.take_urgent(), "told once");
    assert_eq!(book.next_due(), Some(clock.at(70).at));
}

#[path = "stale_tests.rs"]
mod stale;
