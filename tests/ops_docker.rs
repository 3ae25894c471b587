//! Migrate, scale and backup/restore against the real Docker engine on this machine: two
//! agents share the engine, each managing its own label-scoped set of containers as a node,
//! and the console's own planner and executor drive them over real gRPC. Skips (saying why)
//! without an engine unless FLEETDECK_REQUIRE_DOCKER=1. Everything a test creates carries
//! its run's name prefix and is removed on drop (containers by the support Engine, volume
//! data with the agents' temporary state directories).
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

#[path = "support/docker.rs"]
mod docker;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use docker::Engine;
use fleetdeck::client::AgentAddr;
use fleetdeck::model::{AgentUpdate, Fleet};
use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::link::Link;
use fleetdeck::ops::plan::{self, Plan, PlanInput};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck::ops::{BackupInfo, Outcome, Proposal};
use fleetdeck_agent::runtime::{DockerConfig, RuntimeKind};
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use sha2::Digest;
use tokio::sync::mpsc;

/// Label key scoping each test agent; the value is `<run>-<node>`, so the support Engine's
/// clean-up by name prefix finds every container the agents made.
const NODE_LABEL: &str = "fleetdeck.test-node";
/// Upper bound for anything that should happen by itself on a shared machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// What a stateful test container runs: writes 2 MB of random data once (a copy started on
/// migrated data keeps it), answers SIGTERM at once.
const STATEFUL_CMD: &str = "trap 'exit 0' TERM; [ -f /data/big ] || { head -c 2000000 /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; }; echo ready > /data/ready; sleep 600 & wait";

struct Node {
    name: String,
    agent: RunningAgent,
    state: PathBuf,
    scope: (String, String),
}

struct Cluster {
    engine: Engine,
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
    ops: std::sync::atomic::AtomicU32,
}

impl Cluster {
    async fn start(engine: Engine) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for name in ["n1", "n2"] {
            let scope = (NODE_LABEL.to_owned(), format!("{}-{name}", engine.run));
            let state = dir.path().join(name);
            let config = AgentConfig {
                node_id: name.into(),
                runtime: RuntimeKind::Docker,
                state_dir: Some(state.clone()),
                sample_interval: Duration::from_millis(500),
                docker: DockerConfig {
                    scope: Some(scope.clone()),
                    ..DockerConfig::default()
                },
                ..AgentConfig::default()
            };
            let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
            nodes.push(Node {
                name: name.into(),
                agent,
                state,
                scope,
            });
        }
        Self {
            engine,
            nodes,
            dir,
            ops: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn endpoints(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.agent.addr().to_string())
            .collect()
    }

    fn console_dir(&self) -> PathBuf {
        self.dir.path().join("console")
    }

    async fn link(&self, node: usize) -> Link {
        Link::open(&self.nodes[node].name, &self.endpoints()[node])
            .await
            .unwrap()
    }

    async fn fleet(&self) -> Fleet {
        let addrs: Vec<AgentAddr> = self
            .endpoints()
            .iter()
            .map(|e| e.parse().unwrap())
            .collect();
        let now = Instant::now();
        let mut fleet = Fleet::new(self.endpoints(), Duration::ZERO, now);
        let answers = fleetdeck::get::ask_all(&addrs, Duration::from_secs(5)).await;
        for (slot, a) in answers.into_iter().enumerate() {
            let (epoch, seq, snapshot) = a.unwrap();
            let update = AgentUpdate::Snapshot {
                slot,
                epoch,
                seq,
                snapshot: Box::new(snapshot),
            };
            fleet.apply(update, now);
        }
        fleet
    }

    async fn plan(&self, p: &Proposal) -> Result<Plan, plan::PlanError> {
        let fleet = self.fleet().await;
        let mut specs = SpecCache::load(&self.console_dir());
        specs.refresh(&self.endpoints()).await;
        specs.save(&self.console_dir()).unwrap();
        let input = PlanInput {
            fleet: &fleet,
            now: Instant::now(),
            specs: &specs,
            fencing: &[],
            read_only: false,
        };
        plan::plan(&input, p)
    }

    async fn run(&self, plan: &Plan) -> Outcome {
        let mut exec = Executor::new(Some(self.console_dir()), "ops-docker-test");
        exec.ready_timeout = PATIENCE;
        let (_src, cancel) = fleetdeck_agent::cancel::channel();
        let (tx, mut rx) = mpsc::channel(256);
        let op = u64::from(self.ops.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let plan = plan.clone();
        let task = tokio::spawn(async move { exec.run(op, &plan, cancel, tx).await });
        while rx.recv().await.is_some() {}
        task.await.unwrap()
    }

    /// Creates and starts a container of `service` on node `node` through its agent.
    async fn create(&self, node: usize, name: &str, service: &str, ports: Vec<pb::Port>) {
        let mut link = self.link(node).await;
        let cmd = serde_json::to_string(&["sh", "-c", STATEFUL_CMD]).unwrap();
        let spec = pb::PortableSpec {
            name: name.into(),
            image: self.engine.image.clone(),
            service: service.into(),
            labels: [
                ("fleetdeck.service".to_owned(), service.to_owned()),
                ("fleetdeck.docker.cmd".to_owned(), cmd),
            ]
            .into(),
            ports,
            volumes: vec!["data".into()],
            ..pb::PortableSpec::default()
        };
        let act = |action, id: &str| pb::ActRequest {
            action_id: format!("{}-{id}-{name}", self.engine.run),
            dry_run: false,
            requested_by: "test".into(),
            action: Some(action),
        };
        let done = link
            .act(
                act(
                    pb::act_request::Action::Create(pb::CreateAction {
                        spec: Some(spec),
                        labels: Default::default(),
                    }),
                    "create",
                ),
                |_| {},
            )
            .await
            .unwrap();
        link.act(
            act(
                pb::act_request::Action::Container(pb::ContainerAction {
                    verb: pb::container_action::Verb::Start as i32,
                    container: done.container_id.clone(),
                }),
                "start",
            ),
            |_| {},
        )
        .await
        .unwrap();
    }

    /// Names and runtime ids of the containers node `node` reports, with whether they run.
    fn containers(&self, node: usize) -> Vec<(String, String, bool)> {
        self.nodes[node]
            .agent
            .snapshot()
            .containers
            .iter()
            .map(|c| {
                (
                    c.spec.name.clone(),
                    c.spec.id.clone(),
                    c.status.state.is_up(),
                )
            })
            .collect()
    }

    /// Engine ids of containers carrying node `node`'s scope label, asked of the engine
    /// itself rather than the agent.
    fn on_engine(&self, node: usize) -> Vec<String> {
        let (k, v) = &self.nodes[node].scope;
        let out = self.engine.cli(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label={k}={v}"),
        ]);
        out.split_whitespace().map(str::to_owned).collect()
    }

    fn volumes(&self, node: usize) -> PathBuf {
        self.nodes[node].state.join("volumes")
    }
}

/// Files named `name` below `root`.
fn find(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sha(path: &Path) -> String {
    fleetdeck_agent::backup::hex(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The data file of the one stateful container of node `node`, once it is written.
async fn data_file(c: &Cluster, node: usize) -> PathBuf {
    let root = c.volumes(node);
    eventually("the container's data", || !find(&root, "ready").is_empty()).await;
    let found = find(&root, "big");
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

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
    let snapshot = c.nodes[1].agent.snapshot();
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

    // A copy that cannot start (its host port is taken by the source on the shared engine):
    // the source keeps running and no half-made copy is left, on the engine or on disk.
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
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: "web".into(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Failed(_)), "{outcome:?}");
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
