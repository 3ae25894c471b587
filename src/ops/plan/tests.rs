//! Every action against a node waiting to be fenced after a failover, and the migrate
//! picker's pre-selection against host ports held on a shared engine: pure planner on
//! fixture fleets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::fixtures;
use crate::model::AgentUpdate;
use crate::ops::specs::{CachedSpec, NodeSpecs};

fn input<'a>(
    fleet: &'a Fleet,
    specs: &'a SpecCache,
    fencing: &'a [String],
    now: Instant,
) -> PlanInput<'a> {
    PlanInput {
        fleet,
        now,
        specs,
        fencing,
        read_only: false,
        claims: &[],
    }
}

/// Nodes the plan places something on (copies, replicas, restores) or removes from.
fn touched(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Migrate { to, .. } => Some(to.name.clone()),
            Step::Create { on, .. } | Step::Replicate { on, .. } | Step::Remove { on, .. } => {
                Some(on.name.clone())
            }
            _ => None,
        })
        .collect()
}

fn web_replicas(fleet: &Fleet, node: &str) -> usize {
    fleet
        .nodes()
        .iter()
        .filter(|n| n.name() == node)
        .flat_map(|n| n.containers.values())
        .filter(|c| &*c.spec.service == "web" && c.is_active())
        .count()
}

#[test]
fn scale_up_never_places_a_replica_on_a_node_waiting_to_be_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(4, 12, now);
    let specs = SpecCache::default();
    let have: usize = (0..4)
        .map(|n| web_replicas(&fleet, &format!("node-{n:02}")))
        .sum();
    let up = Proposal::Scale {
        service: "web".into(),
        replicas: have + 2,
    };
    let free = plan(&input(&fleet, &specs, &[], now), &up).unwrap();
    let fenced = touched(&free)[0].clone();
    let fencing = [fenced.clone()];
    let p = plan(&input(&fleet, &specs, &fencing, now), &up).unwrap();
    assert!(!touched(&p).contains(&fenced), "{:#?}", p.steps);
    assert!(
        p.steps
            .iter()
            .all(|s| !matches!(s, Step::Replicate { template, .. } if template.name == fenced)),
        "a stale copy is no template: {:#?}",
        p.steps
    );
    // Its stale replicas are about to be stopped: they are not counted.
    let counted = have - web_replicas(&fleet, &fenced);
    assert_eq!(
        p.title,
        format!("Scale web from {counted} to {} replicas", have + 2)
    );
}

#[test]
fn scale_down_never_removes_from_a_node_waiting_to_be_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(4, 12, now);
    let specs = SpecCache::default();
    let down = Proposal::Scale {
        service: "web".into(),
        replicas: 1,
    };
    let free = plan(&input(&fleet, &specs, &[], now), &down).unwrap();
    let fenced = touched(&free)[0].clone();
    let fencing = [fenced.clone()];
    let p = plan(&input(&fleet, &specs, &fencing, now), &down).unwrap();
    assert!(!p.steps.is_empty());
    assert!(!touched(&p).contains(&fenced), "{:#?}", p.steps);
}

#[test]
fn scale_is_refused_when_every_replica_waits_to_be_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(3, 12, now);
    let specs = SpecCache::default();
    let fencing: Vec<String> = (0..3).map(|n| format!("node-{n:02}")).collect();
    let err = plan(
        &input(&fleet, &specs, &fencing, now),
        &Proposal::Scale {
            service: "web".into(),
            replicas: 9,
        },
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::Fencing(_)), "{err}");
}

/// A fleet whose node-00 stopped answering long enough ago to be FAILED at the returned
/// instant.
fn with_failed_node(nodes: usize, containers: usize) -> (Fleet, Instant) {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(nodes, containers, t0);
    fleet.apply(
        AgentUpdate::Down {
            slot: 0,
            reason: "gone".into(),
        },
        t0,
    );
    (fleet, t0 + Duration::from_secs(11))
}

#[test]
fn failover_never_recreates_on_a_node_waiting_to_be_fenced() {
    let (fleet, now) = with_failed_node(4, 6);
    let specs = SpecCache::default();
    let over = Proposal::Failover {
        node: "node-00".into(),
    };
    let free = plan(&input(&fleet, &specs, &[], now), &over).unwrap();
    let fenced = touched(&free)[0].clone();
    let fencing = [fenced.clone()];
    let p = plan(&input(&fleet, &specs, &fencing, now), &over).unwrap();
    assert!(!touched(&p).is_empty());
    assert!(!touched(&p).contains(&fenced), "{:#?}", p.steps);
}

#[test]
fn failover_of_a_node_back_from_a_failover_is_refused_until_it_is_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(3, 6, now);
    let specs = SpecCache::default();
    let fencing = ["node-00".to_string()];
    let over = Proposal::Failover {
        node: "node-00".into(),
    };
    let err = plan(&input(&fleet, &specs, &fencing, now), &over).unwrap_err();
    assert_eq!(err, PlanError::Fencing("node-00".into()));
    // Still down with its failover unfenced: what is left of it may still be re-created.
    let (fleet, now) = with_failed_node(3, 6);
    assert!(plan(&input(&fleet, &specs, &fencing, now), &over).is_ok());
}

#[test]
fn backup_refuses_a_node_waiting_to_be_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(3, 6, now);
    let specs = SpecCache::default();
    let fencing = ["node-01".to_string()];
    for container in [None, Some("api-1".to_string())] {
        let p = Proposal::Backup {
            node: "node-01".into(),
            container,
        };
        let err = plan(&input(&fleet, &specs, &fencing, now), &p).unwrap_err();
        assert_eq!(err, PlanError::Fencing("node-01".into()), "{p:?}");
        assert!(plan(&input(&fleet, &specs, &[], now), &p).is_ok());
    }
}

#[test]
fn restore_refuses_a_node_waiting_to_be_fenced_as_target_or_holder() {
    let now = Instant::now();
    let fleet = fixtures::fleet(3, 6, now);
    let specs = SpecCache::default();
    let fencing = ["node-01".to_string()];
    let backup = BackupInfo {
        id: "b-1".into(),
        container: "api-1".into(),
        service: "api".into(),
        node: "node-01".into(),
        sha256: "ab".repeat(32),
        ..BackupInfo::default()
    };
    for on in ["node-01", "node-02"] {
        let p = Proposal::Restore {
            node: on.into(),
            backup: backup.clone(),
        };
        let err = plan(&input(&fleet, &specs, &fencing, now), &p).unwrap_err();
        assert_eq!(err, PlanError::Fencing("node-01".into()), "{p:?}");
        assert!(plan(&input(&fleet, &specs, &[], now), &p).is_ok());
    }
}

#[test]
fn drain_and_migrate_never_pick_a_node_waiting_to_be_fenced() {
    let now = Instant::now();
    let fleet = fixtures::fleet(4, 6, now);
    let specs = SpecCache::default();
    let drain = Proposal::Drain {
        node: "node-00".into(),
    };
    let free = plan(&input(&fleet, &specs, &[], now), &drain).unwrap();
    let fenced = touched(&free)[0].clone();
    let fencing = [fenced.clone()];
    let p = plan(&input(&fleet, &specs, &fencing, now), &drain).unwrap();
    assert!(!touched(&p).contains(&fenced), "{:#?}", p.steps);

    let Some(Step::Migrate { name, .. }) = free.steps.get(1) else {
        panic!("{:#?}", free.steps)
    };
    let migrate = Proposal::Migrate {
        node: "node-00".into(),
        container: name.clone(),
        to: None,
    };
    let p = plan(&input(&fleet, &specs, &fencing, now), &migrate).unwrap();
    assert!(!touched(&p).contains(&fenced), "{:#?}", p.steps);
    let to_fenced = Proposal::Migrate {
        node: "node-00".into(),
        container: name.clone(),
        to: Some(fenced.clone()),
    };
    let err = plan(&input(&fleet, &specs, &fencing, now), &to_fenced).unwrap_err();
    assert_eq!(err, PlanError::Fencing(fenced));
}

/// A 4-node fleet where web-1 on node-02 is web's only replica and publishes host port
/// 8080 (as its cached spec says), and each node sits on the engine `engines` names for it.
fn web_on_engines(engines: [&str; 4], now: Instant) -> (Fleet, SpecCache) {
    let fleet = fixtures::fleet_with(4, 6, now, |n, s| {
        s.info.engine_id = engines[n].into();
        if n != 2 {
            s.containers.retain(|(c, _)| &*c.service != "web");
        }
    });
    let web = fleet.nodes()[2]
        .containers
        .values()
        .find(|c| c.spec.name == "web-1")
        .expect("web-1 on node-02");
    assert!(web.is_active());
    let spec = PortableSpec {
        id: web.spec.id.clone(),
        name: "web-1".into(),
        service: "web".into(),
        ports: vec![(80, 8080, "tcp".into())],
        ..PortableSpec::default()
    };
    let specs = SpecCache {
        nodes: BTreeMap::from([(
            "node-02".to_string(),
            NodeSpecs {
                endpoint: fleet.nodes()[2].endpoint.clone(),
                saved_unix_ms: 0,
                specs: vec![CachedSpec {
                    spec,
                    running: true,
                }],
                engine_id: engines[2].into(),
            }
            .into(),
        )]),
    };
    (fleet, specs)
}

#[test]
fn the_picker_preselects_what_the_planner_picks_skipping_a_host_port_clash() {
    let now = Instant::now();
    let (fleet, specs) = web_on_engines(["e0", "e1", "e2", "e3"], now);
    let best = migrate::default_target(&input(&fleet, &specs, &[], now), "node-02", "web-1")
        .expect("a target");
    // The same fleet, but the best fit shares node-02's engine, where web-1 holds 8080.
    let mut engines = ["e0", "e1", "e2", "e3"];
    let slot = fleet.nodes().iter().position(|n| n.name() == best).unwrap();
    engines[slot] = "e2";
    let (fleet, specs) = web_on_engines(engines, now);
    let i = input(&fleet, &specs, &[], now);
    let rooms = placement::rooms(&fleet, now, &[]);
    let d = Demand::of(
        fleet.nodes()[2]
            .containers
            .values()
            .find(|c| c.spec.name == "web-1")
            .unwrap(),
    );
    let by_room_alone = placement::best_fit(&rooms, d, |r| r.name != "node-02", false)
        .map(|i| rooms[i].name.clone());
    assert_eq!(
        by_room_alone.as_deref(),
        Some(best.as_str()),
        "room alone picks the clash"
    );
    let picked = migrate::default_target(&i, "node-02", "web-1").expect("another target");
    assert_ne!(picked, best, "the clashing node is not pre-selected");
    let planned = plan(
        &i,
        &Proposal::Migrate {
            node: "node-02".into(),
            container: "web-1".into(),
            to: None,
        },
    )
    .unwrap();
    assert_eq!(
        touched(&planned),
        vec![picked],
        "the planner picks the same"
    );
    let err = plan(
        &i,
        &Proposal::Migrate {
            node: "node-02".into(),
            container: "web-1".into(),
            to: Some(best),
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("publishes host port 8080/tcp"),
        "{err}"
    );
}

#[test]
fn the_picker_never_preselects_a_node_waiting_to_be_fenced() {
    let now = Instant::now();
    let (fleet, specs) = web_on_engines(["e0", "e1", "e2", "e3"], now);
    let best = migrate::default_target(&input(&fleet, &specs, &[], now), "node-02", "web-1")
        .expect("a target");
    let fencing = [best.clone()];
    let picked = migrate::default_target(&input(&fleet, &specs, &fencing, now), "node-02", "web-1");
    assert!(picked.is_some_and(|p| p != best));
}

#[test]
fn scale_never_puts_two_replicas_publishing_a_host_port_on_one_engine() {
    let now = Instant::now();
    // web-1 on node-02 is web's only replica; node-00 shares its engine.
    let (fleet, specs) = web_on_engines(["e2", "e1", "e2", "e3"], now);
    let p = plan(
        &input(&fleet, &specs, &[], now),
        &Proposal::Scale {
            service: "web".into(),
            replicas: 3,
        },
    )
    .unwrap();
    let mut on = touched(&p);
    on.sort();
    assert_eq!(on, ["node-01", "node-03"], "{:#?}", p.lines);
}
