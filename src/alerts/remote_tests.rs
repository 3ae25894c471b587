//! Silences kept in step with Alertmanager, on a fake clock: the ones made there mute the
//! alerts they cover and end on time; the console's own end when expired there.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// node-00's disk alert, firing.
fn disk_alert(clock: &Clock) -> (AlertBook, Fleet, AlertKey) {
    let mut fleet = fleet_of(1, clock);
    let mut book = AlertBook::default();
    let mut s = calm(0, 4);
    s.host.disk_used_bytes = s.host.disk_total_bytes / 100 * 93;
    update(&mut book, &mut fleet, 0, s.clone(), clock.at(0));
    update(&mut book, &mut fleet, 0, s, clock.at(60));
    let key = book.rows()[0].key;
    assert_eq!(book.counts().warning, 1);
    (book, fleet, key)
}

fn remote(id: &str, ends_unix_ms: u64) -> RemoteSilence {
    RemoteSilence {
        alertmanager: "http://am1:9093/".into(),
        id: id.into(),
        created_by: "ann@ops".into(),
        comment: "disk swap tonight".into(),
        ends_unix_ms,
    }
}

#[test]
fn a_silence_made_in_alertmanager_mutes_its_alert_and_ends_on_time() {
    let clock = Clock::new();
    let (mut book, fleet, key) = disk_alert(&clock);
    let ends = clock.at(600).unix_ms;
    book.set_remote_silences(BTreeMap::from([(key, remote("s1", ends))]), clock.at(61));
    book.refresh(clock.at(61).at);
    assert!(book.is_silenced(&key));
    assert!(book.silence(&key).is_none(), "not the console's own");
    assert_eq!((book.counts().warning, book.counts().silenced), (0, 1));
    // The same list again writes nothing new.
    book.set_remote_silences(BTreeMap::from([(key, remote("s1", ends))]), clock.at(75));
    book.tick(&fleet, clock.at(599));
    assert!(book.is_silenced(&key));
    // Its end passes between two lists: it ends here on time all the same.
    book.tick(&fleet, clock.at(600));
    book.refresh(clock.at(600).at);
    assert!(!book.is_silenced(&key));
    assert_eq!((book.counts().warning, book.counts().silenced), (1, 0));
    let k = kinds(&book);
    let tail: Vec<EntryKind> = k.iter().skip(1).map(|e| e.0).collect();
    assert_eq!(tail, [EntryKind::Silenced, EntryKind::SilenceExpired]);
    assert!(
        k[1].1.contains("in Alertmanager by ann@ops until")
            && k[1].1.ends_with(": disk swap tonight"),
        "{k:?}"
    );
    assert!(k[2].1.contains("Alertmanager silence s1 ended"), "{k:?}");
}

#[test]
fn a_silence_expired_in_alertmanager_unmutes_at_the_next_list() {
    let clock = Clock::new();
    let (mut book, _fleet, key) = disk_alert(&clock);
    book.silence_for(&key, Duration::from_secs(3600), clock.at(61));
    let made = clock.at(62);
    let link = |am: &str, id: &str| RemoteLink {
        alertmanager: am.into(),
        id: id.into(),
        at: made.at,
    };
    book.link_remote(
        &key,
        vec![
            link("http://am1:9093/", "a1"),
            link("http://am2:9093/", "b1"),
        ],
        made,
    );
    assert_eq!(book.silence(&key).unwrap().links.len(), 2);
    // Its own silence, listed back, is not news on the timeline.
    let own = RemoteSilence {
        id: "a1".into(),
        ..remote("a1", clock.at(3661).unix_ms)
    };
    let before = book.timeline().len();
    book.set_remote_silences(BTreeMap::from([(key, own)]), clock.at(63));
    assert_eq!(book.timeline().len(), before);
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // A list asked before the silence was made cannot judge it.
    let old = BTreeMap::from([("http://am1:9093/".to_string(), ids(&[]))]);
    book.end_unlisted(&old, clock.at(61).at, clock.at(64));
    assert!(book.silence(&key).is_some());
    // One Alertmanager still lists it: it holds.
    let split = BTreeMap::from([
        ("http://am1:9093/".to_string(), ids(&[])),
        ("http://am2:9093/".to_string(), ids(&["b1"])),
    ]);
    book.end_unlisted(&split, clock.at(70).at, clock.at(71));
    assert!(book.silence(&key).is_some());
    // am2 is down (not in the list), am1 no longer lists it: expired there, so here too.
    let gone = BTreeMap::from([("http://am1:9093/".to_string(), ids(&["other"]))]);
    book.end_unlisted(&gone, clock.at(80).at, clock.at(81));
    book.set_remote_silences(BTreeMap::new(), clock.at(81));
    book.refresh(clock.at(81).at);
    assert!(book.silence(&key).is_none());
    assert_eq!((book.counts().warning, book.counts().silenced), (1, 0));
    let k = kinds(&book);
    let tail: Vec<EntryKind> = k.iter().skip(1).map(|e| e.0).collect();
    assert_eq!(
        tail,
        [
            EntryKind::Silenced,
            EntryKind::Silenced,
            EntryKind::SilenceExpired
        ],
        "{k:?}"
    );
    assert!(
        k[2].1.contains("silence a1 at http://am1:9093/, b1 at"),
        "{k:?}"
    );
    assert!(k[3].1.ends_with("(expired in Alertmanager)"), "{k:?}");
}

#[test]
fn alerts_coming_and_going_move_the_generation_and_drop_their_match() {
    let clock = Clock::new();
    let (mut book, mut fleet, key) = disk_alert(&clock);
    let first = book.generation();
    book.set_remote_silences(
        BTreeMap::from([(key, remote("s1", clock.at(900).unix_ms))]),
        clock.at(61),
    );
    update(&mut book, &mut fleet, 0, calm(0, 4), clock.at(70));
    assert_ne!(book.generation(), first, "the alert resolved");
    assert!(book.remote_silence(&key).is_none());
    assert_eq!(book.counts().silenced, 0);
}
