//! The alert book on a fake clock: acknowledgements, silences, row order, the timeline and when the next alert is due.

use super::*;

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
