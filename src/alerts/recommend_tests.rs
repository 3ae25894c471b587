//! Recommendations on a fake clock: rebalancing migrations and scale hints.

use super::*;

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
fn every_proposal_has_the_command_line_that_carries_it_out() {
    let failover = Proposal::Failover { node: "n3".into() };
    assert_eq!(failover.command_line(), "fleetdeck failover n3");
    let migrate = Proposal::Migrate {
        container: "web-2".into(),
        from: "node-00".into(),
        to: "node-01".into(),
    };
    assert_eq!(
        migrate.command_line(),
        "fleetdeck migrate web-2 --node node-00 --to node-01"
    );
    let scale = Proposal::Scale {
        service: "api".into(),
        from: 3,
        replicas: 4,
    };
    assert_eq!(scale.command_line(), "fleetdeck scale api 4");
    let odd = Proposal::Failover {
        node: "it's here".into(),
    };
    assert_eq!(odd.command_line(), r"fleetdeck failover 'it'\''s here'");
}
