//! Migrate, scale and backup/restore against the real Docker engine on this machine: two
//! agents share the engine, each managing its own label-scoped set of containers as a node,
//! and the console's own planner and executor drive them over real gRPC. Skips (saying why)
//! without an engine unless FLEETDECK_REQUIRE_DOCKER=1. Everything a test creates carries
//! its run's name prefix and is removed on drop (containers by the support Engine, volume
//! data with the agents' temporary state directories).
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

use crate::support::docker;
use crate::support::docker_cluster;

use docker::Engine;
use docker_cluster::{Cluster, data_file, eventually, find, sha};
use fleetdeck::ops::{BackupInfo, Outcome, Proposal};
use fleetdeck_proto as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_moves_data_byte_for_byte_and_failure_leaves_the_source() {
    let Some(engine) = Engine::get("migrate_moves_data_byte_for_byte") else {
        return;
    };
    let c = Cluster::start(engine).await;
    c.create(0, "db", "db", Vec::new()).await;
    eventually("db running on n1", || {
        c.containers(0).iter().any(|(n, _, up)| n == "db" && *up)
    })
    .await;
    let before = data_file(&c, 0).await;
    let digest = sha(&before);
    let src_id = c.on_engine(0)[0].clone();

    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: "db".into(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    // The copy runs on n2 under the fleet's name, committed; the source is gone from the
    // engine, with its data.
    let on_n2 = c.containers(1);
    assert!(on_n2.iter().any(|(n, _, up)| n == "db" && *up), "{on_n2:?}");
    assert!(c.on_engine(0).is_empty(), "source removed");
    assert!(find(&c.volumes(0), "big").is_empty(), "source data removed");
    let copy = c.on_engine(1);
    assert_eq!(copy.len(), 1);
    assert_ne!(copy[0], src_id);
    let snapshot = c.nodes[1].agent().snapshot();
    let db = snapshot
        .containers
        .iter()
        .find(|x| x.spec.name == "db")
        .unwrap();
    assert!(
        !db.spec.labels.contains_key("fleetdeck.pending"),
        "committed: {:?}",
        db.spec.labels
    );
    // Byte for byte, on the host and as the running copy sees it.
    let after = data_file(&c, 1).await;
    assert_eq!(sha(&after), digest);
    let inside = c.engine.cli(&["exec", &copy[0], "sha256sum", "/data/big"]);
    assert!(inside.starts_with(&digest), "{inside} vs {digest}");

    // A copy that cannot run (its host port is taken by the source on the shared engine) is
    // refused by the planner: the source keeps running and no copy is made, on the engine
    // or on disk.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    c.create(
        0,
        "web",
        "web",
        vec![pb::Port {
            container_port: 8080,
            host_port: u32::from(port),
            protocol: "tcp".into(),
            ..pb::Port::default()
        }],
    )
    .await;
    eventually("web running on n1", || {
        c.containers(0).iter().any(|(n, _, up)| n == "web" && *up)
    })
    .await;
    let web_id = c.on_engine(0)[0].clone();
    // Both agents report the engine's ID, so the planner sees they share it.
    let fleet = c.fleet().await;
    let ids: Vec<String> = fleet
        .nodes()
        .iter()
        .map(|n| n.info.as_ref().unwrap().engine_id.clone())
        .collect();
    assert!(!ids[0].is_empty() && ids[0] == ids[1], "{ids:?}");
    let refused = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: "web".into(),
            to: Some("n2".into()),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("host port {port}/tcp"))
            && refused.contains("share one Docker engine"),
        "{refused}"
    );
    assert_eq!(refused.lines().count(), 1, "{refused}");
    // Best-fit finds no other engine either, and says why rather than "no room".
    let refused = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: "web".into(),
            to: None,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("share one Docker engine"), "{refused}");
    assert_eq!(c.on_engine(0), vec![web_id.clone()], "source untouched");
    let state = c
        .engine
        .cli(&["inspect", "-f", "{{.State.Running}}", &web_id]);
    assert_eq!(state, "true", "source still runs");
    assert_eq!(c.on_engine(1), copy, "no half-made copy on n2");
    assert_eq!(
        find(&c.volumes(1), "ready").len(),
        1,
        "only db's data on n2, none of the refused copy's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_up_and_down_across_two_agents() {
    let Some(engine) = Engine::get("scale_up_and_down_across_two_agents") else {
        return;
    };
    let c = Cluster::start(engine).await;
    c.create(0, "api", "api", Vec::new()).await;
    eventually("api running on n1", || {
        c.containers(0).iter().any(|(n, _, up)| n == "api" && *up)
    })
    .await;
    // Best-fit may pack every replica onto one node, depending on the host's load at that
    // moment; with n1 cordoned the new replicas must cross to n2, so the test is about
    // placement on the second engine-backed node, not about the sampled CPU.
    let cordon = c
        .plan(&Proposal::Cordon { node: "n1".into() })
        .await
        .unwrap();
    let outcome = c.run(&cordon).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    let plan = c
        .plan(&Proposal::Scale {
            service: "api".into(),
            replicas: 3,
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    let running = |c: &Cluster| -> usize {
        (0..2)
            .map(|n| c.containers(n).iter().filter(|(_, _, up)| *up).count())
            .sum()
    };
    eventually("three replicas", || running(&c) == 3).await;
    assert_eq!(c.on_engine(0).len() + c.on_engine(1).len(), 3);
    assert_eq!(c.on_engine(1).len(), 2, "the new replicas are on n2");

    let plan = c
        .plan(&Proposal::Scale {
            service: "api".into(),
            replicas: 1,
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("one replica", || running(&c) == 1).await;
    assert_eq!(
        c.on_engine(0).len() + c.on_engine(1).len(),
        1,
        "scaled-down replicas removed from the engine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_then_restore_with_checksum() {
    let Some(engine) = Engine::get("backup_then_restore_with_checksum") else {
        return;
    };
    let c = Cluster::start(engine).await;
    c.create(0, "store", "store", Vec::new()).await;
    let file = data_file(&c, 0).await;
    let digest = sha(&file);
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some("store".into()),
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("backed up")),
        "{outcome:?}"
    );
    let list: Vec<BackupInfo> = c
        .link(0)
        .await
        .list_backups()
        .await
        .unwrap()
        .into_iter()
        .map(BackupInfo::from_wire)
        .collect();
    assert_eq!(list.len(), 1);
    let b = list[0].clone();
    let archive = c.nodes[0]
        .state
        .join("backups")
        .join(format!("{}.tar.gz", b.id));
    assert_eq!(
        sha(&archive),
        b.sha256,
        "registry holds the archive's SHA-256"
    );
    assert!(b.size_bytes > 0);

    // Damage the data in the running container, then restore over it.
    let id = c.on_engine(0)[0].clone();
    c.engine
        .cli(&["exec", &id, "sh", "-c", "echo damaged > /data/big"]);
    assert_ne!(sha(&file), digest);
    let plan = c
        .plan(&Proposal::Restore {
            node: "n1".into(),
            backup: b.clone(),
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("store running again", || {
        c.containers(0).iter().any(|(n, _, up)| n == "store" && *up)
    })
    .await;
    let inside = c.engine.cli(&["exec", &id, "sha256sum", "/data/big"]);
    assert!(
        inside.starts_with(&digest),
        "restored: {inside} vs {digest}"
    );

    // A damaged archive is refused before anything is written.
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    c.engine
        .cli(&["exec", &id, "sh", "-c", "echo after > /data/marker"]);
    let plan = c
        .plan(&Proposal::Restore {
            node: "n1".into(),
            backup: b,
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("corrupt")),
        "{outcome:?}"
    );
    let marker = c.engine.cli(&["exec", &id, "cat", "/data/marker"]);
    assert_eq!(marker, "after", "nothing written");
}
