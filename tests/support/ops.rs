//! Shared helpers for the operations tests: sim agents on loopback with real state dirs,
//! a fleet built from their snapshots, and a runner that collects progress.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetdeck::client::AgentAddr;
use fleetdeck::model::Fleet;
use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::plan::{self, Plan, PlanInput};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck::ops::{OpEvent, Outcome, PortableSpec, Proposal};
use fleetdeck_agent::{AgentConfig, NodeMode, RunningAgent};
use tokio::sync::mpsc;

pub struct Node {
    pub config: AgentConfig,
    pub agent: Option<RunningAgent>,
    pub addr: String,
}

impl Node {
    pub fn agent(&self) -> &RunningAgent {
        self.agent.as_ref().unwrap()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.config.state_dir.clone().unwrap()
    }

    pub fn volumes(&self, id: &str) -> PathBuf {
        self.state_dir().join("volumes").join(id)
    }

    /// Kills the agent like a crash.
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
    pub nodes: Vec<Node>,
    pub dir: tempfile::TempDir,
    conns: fleetdeck::client::Connections,
}

impl Cluster {
    /// `modes.len()` sim nodes named n1, n2, ...
    pub async fn start(modes: &[NodeMode], containers: usize) -> Self {
        Self::start_with(modes, containers, |_, _| {}).await
    }

    /// [`Cluster::start`] with each node's configuration changed by `tweak` (its index).
    pub async fn start_with(
        modes: &[NodeMode],
        containers: usize,
        tweak: impl Fn(usize, &mut AgentConfig),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for (i, mode) in modes.iter().enumerate() {
            let id = format!("n{}", i + 1);
            let mut config = AgentConfig {
                containers,
                sample_interval: Duration::from_millis(50),
                sim_faults: false,
                mode: *mode,
                state_dir: Some(dir.path().join(&id)),
                ..AgentConfig::sim(&id, 11 + i as u64 * 101)
            };
            tweak(i, &mut config);
            let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let agent = fleetdeck_agent::spawn(config.clone(), listener)
                .await
                .unwrap();
            let addr = agent.addr().to_string();
            nodes.push(Node {
                config,
                agent: Some(agent),
                addr,
            });
        }
        Self {
            nodes,
            dir,
            conns: fleetdeck::client::Connections::new(
                fleetdeck::client::Credentials::none(),
                fleetdeck::client::CONNECT_TIMEOUT,
            ),
        }
    }

    pub fn console_dir(&self) -> PathBuf {
        self.dir.path().join("console")
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    /// The fleet as a console sees it now; unreachable nodes are FAILED at once.
    pub async fn fleet(&self) -> Fleet {
        let addrs: Vec<AgentAddr> = self
            .endpoints()
            .iter()
            .map(|e| e.parse().unwrap())
            .collect();
        fleetdeck::get::fleet_once(&addrs, Duration::from_secs(2), &self.conns()).await
    }

    /// The console's connections to this cluster (no TLS, no token): one per agent,
    /// shared by every call a test makes, as in the console.
    pub fn conns(&self) -> fleetdeck::client::Connections {
        self.conns.clone()
    }

    pub async fn specs(&self) -> SpecCache {
        let mut cache = SpecCache::load(&self.console_dir());
        cache.refresh(&self.conns(), &self.endpoints()).await;
        cache.save(&self.console_dir()).unwrap();
        cache
    }

    /// A running container of node `node` (index) that has volumes, from a fresh spec
    /// cache, and the folder of its first volume (created, for the test to fill).
    pub async fn stateful(&self, node: usize) -> (PortableSpec, PathBuf) {
        let specs = self.specs().await;
        let name = self.nodes[node].config.node_id.clone();
        let spec = specs.nodes[&name]
            .specs()
            .into_iter()
            .find(|s| s.running && !s.spec.volumes.is_empty())
            .unwrap_or_else(|| panic!("a running container with volumes on {name}"))
            .spec;
        let vol = self.nodes[node].volumes(&spec.id).join(&spec.volumes[0]);
        std::fs::create_dir_all(&vol).unwrap();
        (spec, vol)
    }

    /// Plans `p` on the fleet as it is now (a rollout asks the nodes' images first, as
    /// the console does).
    pub async fn plan(&self, p: &Proposal) -> Result<Plan, plan::PlanError> {
        let mut fleet = self.fleet().await;
        if let Proposal::Rollout { service, .. } = p {
            fleetdeck::ops::link::fetch_images(&self.conns, &mut fleet, service).await;
        }
        self.plan_on(&fleet, p).await
    }

    /// Plans `p` on `fleet` (as some console sees it) with a fresh spec cache.
    pub async fn plan_on(&self, fleet: &Fleet, p: &Proposal) -> Result<Plan, plan::PlanError> {
        let specs = self.specs().await;
        let input = PlanInput {
            fleet,
            now: Instant::now(),
            specs: &specs,
            fencing: &[],
            read_only: false,
            claims: &[],
        };
        plan::plan(&input, p)
    }

    pub fn executor(&self) -> Executor {
        let mut e = Executor::new(Some(self.console_dir()), "ops-test", self.conns());
        e.ready_timeout = Duration::from_secs(20);
        e
    }

    /// Starts running `plan`: its outcome, its events, and the cancel switch.
    pub fn spawn(
        &self,
        plan: &Plan,
    ) -> (
        tokio::task::JoinHandle<Outcome>,
        mpsc::Receiver<OpEvent>,
        fleetdeck_agent::cancel::CancelSource,
    ) {
        spawn_on(self.executor(), plan)
    }

    /// Runs `plan` to the end.
    pub async fn run(&self, plan: &Plan) -> (Outcome, Vec<OpEvent>) {
        let (task, mut rx, src) = self.spawn(plan);
        let mut events = Vec::new();
        while let Some(ev) = rx.recv().await {
            events.push(ev);
        }
        drop(src);
        (task.await.unwrap(), events)
    }
}

/// Names of running containers of a node snapshot.
/// Starts running `plan` on `exec`: its outcome, its events, and the cancel switch.
pub fn spawn_on(
    exec: Executor,
    plan: &Plan,
) -> (
    tokio::task::JoinHandle<Outcome>,
    mpsc::Receiver<OpEvent>,
    fleetdeck_agent::cancel::CancelSource,
) {
    let (src, cancel) = fleetdeck_agent::cancel::channel();
    let (tx, rx) = mpsc::channel(1024);
    let plan = plan.clone();
    let task = tokio::spawn(async move { exec.run(1, &plan, cancel, tx).await });
    (task, rx, src)
}

pub fn running(agent: &RunningAgent) -> Vec<(String, String)> {
    agent
        .snapshot()
        .containers
        .iter()
        .filter(|c| c.status.state.is_up())
        .map(|c| (c.spec.name.clone(), c.spec.id.clone()))
        .collect()
}

/// The replicas of `service` the agents report up, with their node (named as given), name,
/// image and whether they are running and healthy.
pub fn service_replicas<'a>(
    agents: impl IntoIterator<Item = (&'a str, &'a RunningAgent)>,
    service: &str,
) -> Vec<(String, String, String, bool)> {
    use fleetdeck_core::spec::{ContainerState, HealthState};
    let mut out = Vec::new();
    for (node, agent) in agents {
        for c in agent.snapshot().containers {
            if c.spec.service == service && c.status.state.is_up() {
                out.push((
                    node.to_string(),
                    c.spec.name.clone(),
                    c.spec.image.clone(),
                    c.status.state == ContainerState::Running
                        && c.status.health == HealthState::Healthy,
                ));
            }
        }
    }
    out
}

/// How many of `replicas` (from [`service_replicas`]) run `image` healthy.
pub fn healthy_on(replicas: &[(String, String, String, bool)], image: &str) -> usize {
    replicas
        .iter()
        .filter(|(_, _, i, healthy)| i == image && *healthy)
        .count()
}

/// Every line of a node's audit log as JSON.
pub fn audit(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until `f` holds, polling; panics after 10 s.
pub async fn eventually(what: &str, f: impl FnMut() -> bool) {
    eventually_within(what, Duration::from_secs(10), f).await;
}

/// Waits until `f` holds, polling; panics after `limit`.
pub async fn eventually_within(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
