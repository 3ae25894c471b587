//! Migrate and scale over real gRPC against sim agents on loopback: make-before-break,
//! the target dying mid-way, cancel mid-way, scale up/down and refusing without room.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use std::time::Duration;

use fleetdeck::ops::plan::PlanError;
use fleetdeck::ops::{OpEvent, Outcome, Proposal};
use fleetdeck_agent::NodeMode;
use ops::{Cluster, audit, eventually, running};

/// A running container of n1 that has volumes; writes real data into them.
async fn stateful(c: &Cluster) -> (String, String, String) {
    let (s, vol) = c.stateful(0).await;
    std::fs::write(vol.join("marker.txt"), format!("data of {}", s.name)).unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(vol.join("big.bin"), &big).unwrap();
    let volume = s.volumes[0].clone();
    (s.name, s.id, volume)
}

fn find_file(root: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find_file(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_copies_data_then_retires_the_source() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 16).await;
    let (name, src_id, vol) = stateful(&c).await;
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    assert!(
        plan.title
            .contains(&format!("Migrate {name} from n1 to n2")),
        "{}",
        plan.title
    );
    assert!(
        plan.lines.iter().any(|l| l.contains("MiB of volume data")),
        "{:?}",
        plan.lines
    );
    let (outcome, events) = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("moved")),
        "{outcome:?}"
    );
    let stages: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            OpEvent::Progress { stage, .. } => Some(stage.clone()),
            _ => None,
        })
        .collect();
    for s in ["create", "copy", "start", "commit", "retire"] {
        assert!(
            stages.iter().any(|x| x == s),
            "stage {s} missing: {stages:?}"
        );
    }
    // Landed on n2, running, committed; gone from n1 with its data.
    let n2 = c.nodes[1].agent().snapshot();
    let copy = n2
        .containers
        .iter()
        .find(|x| x.spec.name == name)
        .expect("copy on n2");
    assert!(copy.status.state.is_up());
    assert!(!copy.spec.labels.contains_key("fleetdeck.pending"));
    assert!(running(c.nodes[0].agent()).iter().all(|(n, _)| *n != name));
    assert!(
        !c.nodes[0].volumes(&src_id).exists(),
        "source data removed with it"
    );
    let marker = c.nodes[1]
        .volumes(&copy.spec.id)
        .join(&vol)
        .join("marker.txt");
    assert_eq!(
        std::fs::read_to_string(marker).unwrap(),
        format!("data of {name}")
    );
    let big = std::fs::read(c.nodes[1].volumes(&copy.spec.id).join(&vol).join("big.bin")).unwrap();
    assert_eq!(big.len(), 3 * 1024 * 1024);
    assert!(
        big.iter()
            .enumerate()
            .all(|(i, b)| *b == (i as u32 % 251) as u8)
    );
    // Audited on both sides.
    let a2: Vec<String> = audit(&c.nodes[1].state_dir())
        .iter()
        .map(|r| r["action"].as_str().unwrap_or("").to_string())
        .collect();
    for a in ["container.create", "container.start", "container.commit"] {
        assert!(a2.iter().any(|x| x == a), "{a} not audited on n2: {a2:?}");
    }
    let a1 = audit(&c.nodes[0].state_dir());
    assert!(
        a1.iter()
            .any(|r| r["action"] == "container.remove" && r["outcome"]["result"] == "done")
    );
    // And in the console's history file.
    let history = std::fs::read_to_string(c.console_dir().join("actions.jsonl")).unwrap();
    assert!(history.contains("\"action\":\"migrate\"") && history.contains("\"outcome\":\"done\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn target_dying_mid_migration_leaves_the_source_running_and_no_copy() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 16).await;
    let (name, src_id, _) = stateful(&c).await;
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let (task, mut rx, _cancel) = c.spawn(&plan);
    // Kill the target once the copy exists and is being started.
    while let Some(ev) = rx.recv().await {
        if matches!(&ev, OpEvent::Progress { stage, .. } if stage == "start" || stage == "ready") {
            c.nodes[1].kill().await;
            break;
        }
    }
    while rx.recv().await.is_some() {}
    let outcome = task.await.unwrap();
    let Outcome::Failed(m) = &outcome else {
        panic!("expected a failure: {outcome:?}")
    };
    assert!(m.contains(&format!("{name} still runs on n1")), "{m}");
    // The source is untouched.
    assert!(
        running(c.nodes[0].agent())
            .iter()
            .any(|(n, id)| *n == name && *id == src_id)
    );
    assert!(c.nodes[0].volumes(&src_id).join("").exists());
    // The target comes back without the half-made copy, and without its data.
    c.nodes[1].restart().await;
    let n2 = c.nodes[1].agent().snapshot();
    assert!(
        n2.containers.iter().all(|x| x.spec.name != name),
        "half-made copy survived"
    );
    assert!(
        find_file(&c.nodes[1].state_dir(), "marker.txt").is_empty(),
        "copied data survived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_mid_migration_removes_the_copy() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 16).await;
    let (name, src_id, _) = stateful(&c).await;
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let (task, mut rx, cancel) = c.spawn(&plan);
    while let Some(ev) = rx.recv().await {
        if matches!(&ev, OpEvent::Progress { stage, .. } if stage == "start" || stage == "ready") {
            cancel.cancel();
            break;
        }
    }
    while rx.recv().await.is_some() {}
    let outcome = task.await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Cancelled(m) if m.contains("was removed") && m.contains("still runs on n1")),
        "{outcome:?}"
    );
    let n2 = c.nodes[1].agent();
    eventually("copy removed from n2", || {
        n2.snapshot().containers.iter().all(|x| x.spec.name != name)
    })
    .await;
    assert!(find_file(&c.nodes[1].state_dir(), "marker.txt").is_empty());
    assert!(
        running(c.nodes[0].agent())
            .iter()
            .any(|(_, id)| *id == src_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cordoned_target_refuses_and_nothing_changes() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Maintenance], 8).await;
    let name = running(c.nodes[0].agent())[0].0.clone();
    let err = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("MAINTENANCE"), "{err}");
    let err = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name,
            to: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, PlanError::NoCapacity(_)),
        "only a cordoned node is left: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_up_places_replicas_and_down_removes_from_the_most_loaded() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 10).await;
    let fleet = c.fleet().await;
    let service = fleet.nodes()[0]
        .containers
        .values()
        .find(|x| x.is_active())
        .unwrap()
        .spec
        .service
        .to_string();
    let count = |c: &Cluster| {
        c.nodes
            .iter()
            .flat_map(|n| n.agent().snapshot().containers)
            .filter(|x| x.spec.service == service && x.status.state.is_up())
            .count()
    };
    let have = count(&c);
    let plan = c
        .plan(&Proposal::Scale {
            service: service.clone(),
            replicas: have + 2,
        })
        .await
        .unwrap();
    assert_eq!(plan.steps.len(), 2);
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("two more replicas", || count(&c) == have + 2).await;
    let plan = c
        .plan(&Proposal::Scale {
            service: service.clone(),
            replicas: have,
        })
        .await
        .unwrap();
    assert!(
        plan.lines.iter().all(|l| l.starts_with("stop and remove")),
        "{:?}",
        plan.lines
    );
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("back to the start", || count(&c) == have).await;
    let err = c
        .plan(&Proposal::Scale {
            service: service.clone(),
            replicas: 5000,
        })
        .await
        .unwrap_err();
    let PlanError::NoCapacity(m) = err else {
        panic!("not a capacity error")
    };
    assert!(m.contains("missing") && m.contains("room for"), "{m}");
    let _ = Duration::ZERO;
}
