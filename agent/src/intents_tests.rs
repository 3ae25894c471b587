use super::*;

fn rec(id: &str, action: &str, nodes: &[&str], locked_nodes: &[&str]) -> pb::IntentRecord {
    let v = |x: &[&str]| x.iter().map(|s| (*s).to_owned()).collect();
    pb::IntentRecord {
        id: id.into(),
        action: action.into(),
        nodes: v(nodes),
        locked_nodes: v(locked_nodes),
        ..Default::default()
    }
}

#[test]
fn an_overlapping_claim_of_another_console_is_refused_naming_the_holder() {
    let store = IntentStore::open(None);
    let t0 = (12 * 3600 + 3 * 60 + 10) * 1000;
    store
        .begin(
            rec("aaaa1111bb", "failover", &["n1"], &["n3"]),
            ("alice@ops-1", 7),
            0,
            t0,
        )
        .expect("first claim");
    let err = store
        .begin(
            rec("cccc", "failover", &["n2"], &["n3"]),
            ("bob@ops-2", 9),
            0,
            t0 + 1,
        )
        .expect_err("overlap");
    assert_eq!(
        err.to_string(),
        "node n3: failover in progress by alice@ops-1 since 12:03:10 (action aaaa1111…)"
    );
    // A disjoint action goes ahead; so does the holder's own next one.
    store
        .begin(
            rec("dddd", "migrate", &["n2"], &[]),
            ("bob@ops-2", 9),
            0,
            t0 + 2,
        )
        .expect("disjoint");
    store
        .begin(
            rec("eeee", "drain", &["n3"], &["n3"]),
            ("alice@ops-1", 7),
            0,
            t0 + 3,
        )
        .expect("same console");
}

#[test]
fn an_expired_lease_interrupts_the_intent_and_frees_its_locks() {
    let store = IntentStore::open(None);
    store
        .begin(
            rec("a1", "drain", &["n1"], &["n1"]),
            ("alice@h", 1),
            15_000,
            0,
        )
        .expect("claim");
    store
        .renew("a1", ("alice@h", 1), 2, 15_000, 10_000)
        .expect("renewed in time");
    assert!(
        store.expire(24_999).is_empty(),
        "the renewal moved the lease on"
    );
    let expired = store.expire(25_000);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].step, 2);
    assert_eq!(state_name(store.list()[0].state), "interrupted");
    let late = store.renew("a1", ("alice@h", 1), 3, 15_000, 25_001);
    assert!(matches!(late, Err(IntentError::Gone(_))), "{late:?}");
    store
        .begin(
            rec("b2", "drain", &["n1"], &["n1"]),
            ("bob@h", 2),
            0,
            25_002,
        )
        .expect("the node is free again");
}

#[test]
fn intents_survive_a_restart_and_only_the_owner_renews() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = IntentStore::open(Some(dir.path().to_owned()));
        store
            .begin(
                rec("a1", "migrate", &["n1", "n2"], &[]),
                ("alice@h", 1),
                0,
                1_000,
            )
            .expect("claim");
        let other = store.renew("a1", ("bob@h", 2), 1, 0, 2_000);
        assert!(matches!(other, Err(IntentError::Claimed(_))), "{other:?}");
    }
    let again = IntentStore::open(Some(dir.path().to_owned()));
    let list = again.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].owner, "alice@h");
    assert_eq!(state_name(list[0].state), "running");
    // A restart long after the lease ran out finds it expired.
    assert_eq!(again.expire(1_000_000).len(), 1);
}

#[test]
fn work_for_an_intent_whose_lease_is_gone_here_is_refused() {
    let store = IntentStore::open(None);
    store
        .begin(rec("c3", "scale", &["n1"], &[]), ("alice@h", 1), 15_000, 0)
        .expect("claim");
    assert_eq!(store.refusal("c3", 14_999), None, "the lease holds");
    assert_eq!(store.refusal("never-here", 20_000), None, "unknown here");
    // Expired but not reaped yet: refused all the same, or the reaper would miss the copy.
    let late = store
        .refusal("c3", 15_000)
        .expect("refused once the lease ran out");
    assert!(late.contains("its lease expired"), "{late}");
    store.expire(15_000);
    let interrupted = store
        .refusal("c3", 15_001)
        .expect("refused once interrupted");
    assert!(interrupted.contains("(interrupted)"), "{interrupted}");
}
