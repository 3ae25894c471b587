//! Backup/restore and failover/fencing over real gRPC against sim agents on loopback.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use std::io::Write;
use std::time::Instant;

use fleetdeck::ops::fence::{self, Failovers};
use fleetdeck::ops::link::Link;
use fleetdeck::ops::plan::{self, PlanError, PlanInput};
use fleetdeck::ops::{BackupInfo, Outcome, Proposal, Step};
use fleetdeck_agent::NodeMode;
use ops::{Cluster, audit, eventually, running};
use sha2::Digest;

async fn backups(c: &Cluster, node: usize) -> Vec<BackupInfo> {
    let mut link = Link::open(&c.conns(), &format!("n{}", node + 1), &c.nodes[node].addr)
        .await
        .unwrap();
    link.list_backups()
        .await
        .unwrap()
        .into_iter()
        .map(BackupInfo::from_wire)
        .collect()
}

/// A running container of n1 with volumes and a marker file in them.
async fn stateful(c: &Cluster) -> (String, String, std::path::PathBuf) {
    let (s, vol) = c.stateful(0).await;
    std::fs::write(vol.join("marker.txt"), "version 1").unwrap();
    (s.name, s.id, vol.join("marker.txt"))
}

async fn restore(c: &Cluster, b: &BackupInfo) -> Outcome {
    let plan = c
        .plan(&Proposal::Restore {
            node: "n1".into(),
            backup: b.clone(),
        })
        .await
        .unwrap();
    c.run(&plan).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_then_restore_over_a_running_container() {
    let c = Cluster::start(&[NodeMode::Active], 16).await;
    let (name, _, marker) = stateful(&c).await;
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some(name.clone()),
        })
        .await
        .unwrap();
    let (outcome, _) = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("backed up")),
        "{outcome:?}"
    );
    let list = backups(&c, 0).await;
    assert_eq!(list.len(), 1);
    let b = &list[0];
    assert_eq!(b.container, name);
    assert_eq!(b.sha256.len(), 64);
    // The registry's checksum is the archive's real SHA-256.
    let archive = c.nodes[0]
        .state_dir()
        .join("backups")
        .join(format!("{}.tar.gz", b.id));
    let bytes = std::fs::read(&archive).unwrap();
    assert_eq!(
        fleetdeck_agent::backup::hex(&sha2::Sha256::digest(&bytes)),
        b.sha256
    );
    assert_eq!(bytes.len() as u64, b.size_bytes);

    std::fs::write(&marker, "version 2 (damaged)").unwrap();
    let plan = c
        .plan(&Proposal::Restore {
            node: "n1".into(),
            backup: b.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        plan.confirm.as_deref(),
        Some(name.as_str()),
        "overwrite asks for the name"
    );
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "version 1");
    assert!(
        running(c.nodes[0].agent()).iter().any(|(n, _)| *n == name),
        "started again"
    );
    let log = audit(&c.nodes[0].state_dir());
    assert!(log.iter().any(|r| r["action"] == "container.backup"));
    assert!(
        log.iter()
            .any(|r| r["action"] == "backup.restore" && r["outcome"]["result"] == "done")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_keeps_the_newest() {
    let c = Cluster::start(&[NodeMode::Active], 16).await;
    let (name, id, _) = stateful(&c).await;
    let mut link = Link::open(&c.conns(), "n1", &c.nodes[0].addr)
        .await
        .unwrap();
    for i in 0..4 {
        let req = fleetdeck_proto::ActRequest {
            action_id: format!("keep-{i}"),
            dry_run: false,
            requested_by: "test".into(),
            intent_id: String::new(),
            action: Some(fleetdeck_proto::act_request::Action::Backup(
                fleetdeck_proto::BackupAction {
                    container: id.clone(),
                    keep_count: 2,
                    keep_secs: 0,
                },
            )),
        };
        link.act(req, |_| {}).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let list = backups(&c, 0).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|b| b.container == name));
    assert!(
        list[0].created_unix_ms >= list[1].created_unix_ms,
        "newest first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_archive_is_refused_and_nothing_is_written() {
    let c = Cluster::start(&[NodeMode::Active], 16).await;
    let (name, _, marker) = stateful(&c).await;
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some(name),
        })
        .await
        .unwrap();
    c.run(&plan).await;
    let b = backups(&c, 0).await.remove(0);
    std::fs::write(&marker, "after the backup").unwrap();
    let archive = c.nodes[0]
        .state_dir()
        .join("backups")
        .join(format!("{}.tar.gz", b.id));
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let outcome = restore(&c, &b).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("corrupt") && m.contains("nothing was written")),
        "{outcome:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "after the backup"
    );
}

/// Plants a hand-made archive (with a matching checksum) in n1's registry.
fn plant(
    c: &Cluster,
    id: &str,
    container: &str,
    entries: &[(&[u8], tar::EntryType)],
) -> BackupInfo {
    let spec = fleetdeck_agent::model::PortableSpec {
        name: container.into(),
        image: "busybox".into(),
        service: "evil".into(),
        volumes: vec!["data".into()],
        ..Default::default()
    };
    let json = serde_json::to_vec(&spec).unwrap();
    let mut tar = Vec::new();
    let mut push = |name: &[u8], kind: tar::EntryType, body: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        if kind.is_symlink() {
            h.set_link_name("/etc").unwrap();
        }
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(body);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    };
    push(b"spec.json", tar::EntryType::Regular, &json);
    for (name, kind) in entries {
        push(name, *kind, b"pwned");
    }
    tar.extend_from_slice(&[0; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let archive = gz.finish().unwrap();
    let dir = c.nodes[0].state_dir().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{id}.tar.gz")), &archive).unwrap();
    let sha = fleetdeck_agent::backup::hex(&sha2::Sha256::digest(&archive));
    let record = serde_json::json!({
        "id": id, "container": container, "container_id": "", "service": "evil",
        "node_id": "n1", "created_unix_ms": 1, "size_bytes": archive.len(), "sha256": sha,
    });
    std::fs::write(dir.join(format!("{id}.json")), record.to_string()).unwrap();
    BackupInfo {
        id: id.into(),
        container: container.into(),
        service: "evil".into(),
        node: "n1".into(),
        created_unix_ms: 1,
        size_bytes: archive.len() as u64,
        sha256: sha,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archives_that_escape_their_directory_are_refused() {
    let c = Cluster::start(&[NodeMode::Active], 4).await;
    let cases: [(&str, &[u8], tar::EntryType, &str); 4] = [
        (
            "dotdot",
            b"volumes/data/../../../../escaped",
            tar::EntryType::Regular,
            "`..`",
        ),
        ("leading", b"../escaped", tar::EntryType::Regular, "`..`"),
        (
            "absolute",
            b"/tmp/fleetdeck-escaped",
            tar::EntryType::Regular,
            "absolute",
        ),
        (
            "symlink",
            b"volumes/data/link",
            tar::EntryType::Symlink,
            "link",
        ),
    ];
    for (i, (id, entry, kind, why)) in cases.into_iter().enumerate() {
        let container = format!("evil-{i}");
        let b = plant(
            &c,
            id,
            &container,
            &[
                (b"volumes/data/ok.txt", tar::EntryType::Regular),
                (entry, kind),
            ],
        );
        let outcome = restore(&c, &b).await;
        assert!(
            matches!(&outcome, Outcome::Failed(m) if m.contains(why) && m.contains("nothing was written")),
            "{id}: {outcome:?}"
        );
        assert!(
            c.nodes[0]
                .agent()
                .snapshot()
                .containers
                .iter()
                .all(|x| x.spec.name != container)
        );
    }
    assert!(!c.dir.path().join("escaped").exists());
    assert!(!std::path::Path::new("/tmp/fleetdeck-escaped").exists());
    let leftovers = std::fs::read_dir(c.nodes[0].state_dir().join("backups"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .count();
    assert_eq!(leftovers, 0, "no staging directory left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_prefers_standby_and_fencing_leaves_no_duplicates() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Standby, NodeMode::Active], 6).await;
    c.specs().await; // the console's cache of n1's specs
    let before: Vec<String> = running(c.nodes[0].agent())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!before.is_empty());
    c.nodes[0].kill().await;
    // A live node cannot be failed over.
    let err = c
        .plan(&Proposal::Failover { node: "n2".into() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not FAILED"), "{err}");
    let plan = c
        .plan(&Proposal::Failover { node: "n1".into() })
        .await
        .unwrap();
    assert_eq!(plan.confirm.as_deref(), Some("n1"), "typed confirmation");
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    // Every container of n1 runs elsewhere, labelled with what it replaces; n2 (STANDBY)
    // took what fits first.
    let elsewhere: Vec<fleetdeck_agent::model::Container> = c.nodes[1..]
        .iter()
        .flat_map(|n| n.agent().snapshot().containers)
        .filter(|x| x.spec.labels.contains_key("fleetdeck.replaces"))
        .collect();
    for name in &before {
        let copy = elsewhere
            .iter()
            .find(|x| x.spec.labels["fleetdeck.replaces"] == format!("n1/{name}"))
            .expect("re-created");
        assert!(
            copy.spec.name.starts_with(name.as_str()),
            "{}",
            copy.spec.name
        );
        assert!(copy.status.state.is_up());
    }
    let on_standby = c.nodes[1]
        .agent()
        .snapshot()
        .containers
        .iter()
        .filter(|x| x.spec.labels.contains_key("fleetdeck.replaces"))
        .count();
    assert!(on_standby > 0, "standby preferred");
    for n in &c.nodes[1..] {
        assert!(
            audit(&n.state_dir())
                .iter()
                .any(|r| r["action"] == "note.failover")
        );
    }
    // Failing over again finds nothing left to do.
    let again = c
        .plan(&Proposal::Failover { node: "n1".into() })
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("nothing to fail over"),
        "{again}"
    );

    // n1 comes back with its old containers running: stale copies.
    c.nodes[0].restart().await;
    let fleet = c.fleet().await;
    let records = Failovers::load(&c.console_dir());
    assert_eq!(records.pending(), vec!["n1".to_string()]);
    let stale = records.stale(&fleet);
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].running.len(), before.len());
    // A read-only console only reports them, as a critical alert, and refuses actions.
    assert!(stale[0].alert().contains("stale copies still running"));
    let specs = c.specs().await;
    let input = PlanInput {
        fleet: &fleet,
        now: Instant::now(),
        specs: &specs,
        fencing: &records.pending(),
        read_only: false,
        claims: &[],
    };
    let blocked = plan::plan(&input, &Proposal::Cordon { node: "n1".into() }).unwrap_err();
    assert!(matches!(blocked, PlanError::Fencing(_)), "{blocked}");
    // Every other action refuses n1 too, or leaves it out, until it is fenced.
    let fenced = |p: &Proposal| match plan::plan(&input, p) {
        Err(PlanError::Fencing(n)) => n == "n1",
        other => panic!("{p:?}: {other:?}"),
    };
    assert!(fenced(&Proposal::Backup {
        node: "n1".into(),
        container: None,
    }));
    let held = BackupInfo {
        id: "b-1".into(),
        container: before[0].clone(),
        node: "n1".into(),
        sha256: "00".repeat(32),
        ..BackupInfo::default()
    };
    for on in ["n1", "n2"] {
        assert!(fenced(&Proposal::Restore {
            node: on.into(),
            backup: held.clone(),
        }));
    }
    let services = |node: &str| -> Vec<String> {
        fleet
            .nodes()
            .iter()
            .filter(|n| n.name() == node)
            .flat_map(|n| n.containers.values())
            .filter(|x| x.is_active() && !x.spec.service.is_empty())
            .map(|x| x.spec.service.to_string())
            .collect()
    };
    let service = services("n1")
        .into_iter()
        .find(|s| services("n2").contains(s) || services("n3").contains(s))
        .expect("a service running on n1 and elsewhere");
    let elsewhere = ["n2", "n3"]
        .iter()
        .flat_map(|n| services(n))
        .filter(|s| *s == service)
        .count();
    // Down to none (every replica but the stale ones on n1 removed), and up.
    for replicas in [0, elsewhere + 3] {
        let scale = Proposal::Scale {
            service: service.clone(),
            replicas,
        };
        let p = plan::plan(&input, &scale).unwrap();
        let on_n1 = |s: &Step| match s {
            Step::Replicate { on, template, .. } => on.name == "n1" || template.name == "n1",
            Step::Remove { on, .. } => on.name == "n1",
            _ => false,
        };
        assert!(
            !p.steps.is_empty() && !p.steps.iter().any(on_n1),
            "{scale:?} touches n1: {:#?}",
            p.steps
        );
    }
    let ro = PlanInput {
        read_only: true,
        claims: &[],
        ..input
    };
    assert!(matches!(
        plan::plan(&ro, &Proposal::Cordon { node: "n2".into() }),
        Err(PlanError::ReadOnly)
    ));
    // An operator console fences.
    let msg = fence::fence(&c.conns(), &c.console_dir(), &stale[0], "ops-test")
        .await
        .unwrap();
    assert!(msg.contains("stopped stale copies"), "{msg}");
    let n1 = c.nodes[0].agent();
    eventually("stale copies stopped", || {
        running(n1).iter().all(|(n, _)| !before.contains(n))
    })
    .await;
    let fleet = c.fleet().await;
    for name in &before {
        let replaces = format!("n1/{name}");
        let copies = fleet
            .nodes()
            .iter()
            .flat_map(|n| n.containers.values().map(move |x| (n, x)))
            .filter(|(n, x)| {
                let original = n.name() == "n1" && &x.spec.name == name;
                let copy = x.spec.labels.get("fleetdeck.replaces") == Some(&replaces);
                (original || copy) && x.is_active()
            })
            .count();
        assert_eq!(copies, 1, "{name} must run exactly once");
    }
    assert!(Failovers::load(&c.console_dir()).pending().is_empty());
    assert!(
        audit(&c.nodes[0].state_dir())
            .iter()
            .any(|r| r["action"] == "note.fence")
    );
}
