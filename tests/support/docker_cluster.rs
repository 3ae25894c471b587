//! Several docker agents sharing the real engine, each managing its own label-scoped set of
//! containers as a node, driven by the console's own planner and executor over real gRPC.
//! Needs `support/docker.rs` as the sibling module `docker`. Everything a test creates
//! carries its run's name prefix and is removed on drop (containers, volumes and networks by
//! the support Engine, volume folders with the agents' temporary state directories).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetdeck::client::AgentAddr;
use fleetdeck::model::Fleet;
use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::fence::Failovers;
use fleetdeck::ops::link::Link;
use fleetdeck::ops::plan::{self, Plan, PlanInput};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck::ops::{Outcome, Proposal};
use fleetdeck_agent::runtime::{DockerConfig, RuntimeKind};
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use sha2::Digest;
use tokio::sync::mpsc;

use super::docker::Engine;

/// Label key scoping each test agent; the value is `<run>-<node>`, so the support Engine's
/// clean-up by name prefix finds every container and volume the agents made.
pub const NODE_LABEL: &str = "fleetdeck.test-node";
/// Upper bound for anything that should happen by itself on a shared machine.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// What a stateful test container runs: writes 2 MB of random data once (a copy started on
/// migrated data keeps it), answers SIGTERM at once.
pub const STATEFUL_CMD: &str = "trap 'exit 0' TERM; [ -f /data/big ] || { head -c 2000000 /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; }; echo ready > /data/ready; sleep 600 & wait";

pub struct Node {
    pub name: String,
    pub config: AgentConfig,
    pub agent: Option<RunningAgent>,
    pub addr: String,
    pub state: PathBuf,
    pub scope: (String, String),
}

impl Node {
    pub fn agent(&self) -> &RunningAgent {
        self.agent.as_ref().unwrap()
    }

    /// Kills the agent like a crash (its containers keep running on the engine).
    pub async fn kill(&mut self) {
        if let Some(a) = self.agent.take() {
            a.kill().await;
        }
    }

    /// Starts the agent again on the same port and state dir.
    pub async fn restart(&mut self) {
        let addr = self.addr.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match fleetdeck_agent::bind(addr).await {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot rebind {addr}: {e}"),
            }
        };
        self.agent = Some(
            fleetdeck_agent::spawn(self.config.clone(), listener)
                .await
                .unwrap(),
        );
    }
}

pub struct Cluster {
    pub engine: Engine,
    pub nodes: Vec<Node>,
    pub dir: tempfile::TempDir,
    ops: std::sync::atomic::AtomicU32,
    conns: fleetdeck::client::Connections,
}

impl Cluster {
    /// `count` docker agents named n1, n2, ... on the engine.
    pub async fn start_n(engine: Engine, count: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for i in 0..count {
            let name = format!("n{}", i + 1);
            let scope = (NODE_LABEL.to_owned(), format!("{}-{name}", engine.run));
            let state = dir.path().join(&name);
            let config = AgentConfig {
                node_id: name.clone(),
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
            let agent = fleetdeck_agent::spawn(config.clone(), listener)
                .await
                .unwrap();
            let addr = agent.addr().to_string();
            nodes.push(Node {
                name,
                config,
                agent: Some(agent),
                addr,
                state,
                scope,
            });
        }
        Self {
            engine,
            nodes,
            dir,
            ops: std::sync::atomic::AtomicU32::new(0),
            conns: fleetdeck::client::Connections::new(
                fleetdeck::client::Credentials::none(),
                fleetdeck::client::CONNECT_TIMEOUT,
            ),
        }
    }

    /// Two agents, n1 and n2.
    pub async fn start(engine: Engine) -> Self {
        Self::start_n(engine, 2).await
    }

    /// The console's connections to this cluster (no TLS, no token): one per agent,
    /// shared by every call a test makes, as in the console.
    pub fn conns(&self) -> fleetdeck::client::Connections {
        self.conns.clone()
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    pub fn console_dir(&self) -> PathBuf {
        self.dir.path().join("console")
    }

    pub async fn link(&self, node: usize) -> Link {
        Link::open(
            &self.conns(),
            &self.nodes[node].name,
            &self.endpoints()[node],
        )
        .await
        .unwrap()
    }

    /// The fleet as a console sees it now; unreachable nodes are FAILED at once.
    pub async fn fleet(&self) -> Fleet {
        let addrs: Vec<AgentAddr> = self
            .endpoints()
            .iter()
            .map(|e| e.parse().unwrap())
            .collect();
        fleetdeck::get::fleet_once(&addrs, Duration::from_secs(5), &self.conns()).await
    }

    /// Refreshes the console's spec cache from every reachable agent.
    pub async fn specs(&self) -> SpecCache {
        let mut specs = SpecCache::load(&self.console_dir());
        specs.refresh(&self.conns(), &self.endpoints()).await;
        specs.save(&self.console_dir()).unwrap();
        specs
    }

    pub async fn plan(&self, p: &Proposal) -> Result<Plan, plan::PlanError> {
        let mut fleet = self.fleet().await;
        if let Proposal::Rollout { service, .. } = p {
            fleetdeck::ops::link::fetch_images(&self.conns, &mut fleet, service).await;
        }
        let specs = self.specs().await;
        let fencing = Failovers::load(&self.console_dir()).pending();
        let input = PlanInput {
            fleet: &fleet,
            now: Instant::now(),
            specs: &specs,
            fencing: &fencing,
            read_only: false,
            claims: &[],
        };
        plan::plan(&input, p)
    }

    /// Plans `p`, asking again while the only refusal is lack of room: placement reads the
    /// host's CPU as sampled, and on a shared machine a build elsewhere can fill it for a
    /// moment; these tests are about what happens once the plan is made.
    pub async fn plan_when_room(&self, p: &Proposal) -> Plan {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.plan(p).await {
                Ok(plan) => return plan,
                Err(plan::PlanError::NoCapacity(m)) if Instant::now() < deadline => {
                    eprintln!("waiting for room: {m}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("{p:?}: {e}"),
            }
        }
    }

    pub async fn run(&self, plan: &Plan) -> Outcome {
        let mut exec = Executor::new(Some(self.console_dir()), "ops-docker-test", self.conns());
        exec.ready_timeout = PATIENCE;
        let (_src, cancel) = fleetdeck_agent::cancel::channel();
        let (tx, mut rx) = mpsc::channel(256);
        let op = u64::from(self.ops.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let plan = plan.clone();
        let task = tokio::spawn(async move { exec.run(op, &plan, cancel, tx).await });
        while rx.recv().await.is_some() {}
        task.await.unwrap()
    }

    /// Plans and runs `p`, failing the test unless it is done.
    pub async fn must(&self, p: &Proposal) -> String {
        let plan = self.plan_when_room(p).await;
        match self.run(&plan).await {
            Outcome::Done(m) => m,
            other => panic!("{p:?}: {other:?}"),
        }
    }

    /// Creates and starts a container of `service` on node `node` through its agent.
    pub async fn create(&self, node: usize, name: &str, service: &str, ports: Vec<pb::Port>) {
        self.create_from(node, name, service, ports, &self.engine.image)
            .await;
    }

    /// [`Cluster::create`] from image `image`.
    pub async fn create_from(
        &self,
        node: usize,
        name: &str,
        service: &str,
        ports: Vec<pb::Port>,
        image: &str,
    ) {
        let mut link = self.link(node).await;
        let cmd = serde_json::to_string(&["sh", "-c", STATEFUL_CMD]).unwrap();
        let spec = pb::PortableSpec {
            name: name.into(),
            image: image.to_owned(),
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
            intent_id: String::new(),
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

    /// `docker run` of a container fleetdeck did not create, in node `node`'s scope; the
    /// fleet name is `name` (the engine's is `<run>-<name>`).
    pub fn docker_run(&self, node: usize, name: &str, options: &[&str], command: &str) -> String {
        let (k, v) = &self.nodes[node].scope;
        let scope = format!("{k}={v}");
        let fleet_name = format!("fleetdeck.name={name}");
        let mut args = vec!["--label", &scope, "--label", &fleet_name];
        args.extend_from_slice(options);
        self.engine.run(name, &args, command)
    }

    /// Names and runtime ids of the containers node `node` reports, with whether they run.
    pub fn containers(&self, node: usize) -> Vec<(String, String, bool)> {
        self.nodes[node]
            .agent()
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

    /// Whether node `node` reports `name` running.
    pub fn runs(&self, node: usize, name: &str) -> bool {
        self.containers(node)
            .iter()
            .any(|(n, _, up)| n == name && *up)
    }

    /// Engine ids of containers carrying node `node`'s scope label, asked of the engine
    /// itself rather than the agent.
    pub fn on_engine(&self, node: usize) -> Vec<String> {
        self.on_engine_filtered(node, &[])
    }

    /// Engine ids of node `node`'s running containers, asked of the engine.
    pub fn running_on_engine(&self, node: usize) -> Vec<String> {
        self.on_engine_filtered(node, &["--filter", "status=running"])
    }

    fn on_engine_filtered(&self, node: usize, extra: &[&str]) -> Vec<String> {
        let (k, v) = &self.nodes[node].scope;
        let label = format!("label={k}={v}");
        let mut args = vec!["ps", "-aq", "--no-trunc", "--filter", &label];
        args.extend_from_slice(extra);
        let out = self.engine.cli(&args);
        out.split_whitespace().map(str::to_owned).collect()
    }

    /// The one engine id of fleet name `name` on node `node`.
    pub fn engine_id(&self, node: usize, name: &str) -> String {
        let (k, v) = &self.nodes[node].scope;
        let out = self.engine.cli(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label={k}={v}"),
            "--filter",
            &format!("label=fleetdeck.name={name}"),
        ]);
        let ids: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(ids.len(), 1, "{name} on n{}: {ids:?}", node + 1);
        ids[0].to_owned()
    }

    /// `docker inspect -f FORMAT ID`.
    pub fn inspect(&self, id: &str, format: &str) -> String {
        self.engine.cli(&["inspect", "-f", format, id])
    }

    /// SHA-256 of `path` inside container `id`, as the container sees it.
    pub fn sha_inside(&self, id: &str, path: &str) -> String {
        let out = self.engine.cli(&["exec", id, "sha256sum", path]);
        out.split_whitespace().next().unwrap_or_default().to_owned()
    }

    pub fn volumes(&self, node: usize) -> PathBuf {
        self.nodes[node].state.join("volumes")
    }
}

/// Files named `name` below `root`.
pub fn find(root: &Path, name: &str) -> Vec<PathBuf> {
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

pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn sha(path: &Path) -> String {
    fleetdeck_agent::backup::hex(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The data file of the one stateful container of node `node`, once it is written.
pub async fn data_file(c: &Cluster, node: usize) -> PathBuf {
    let root = c.volumes(node);
    eventually("the container's data", || !find(&root, "ready").is_empty()).await;
    let found = find(&root, "big");
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}
