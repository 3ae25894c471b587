//! How long each action takes end to end, from the console's executor over real gRPC to
//! sim agents on loopback: migrate, scale up by N, backup, restore, failover and drain of
//! a node with K containers, stop and start.
//!
//! Every repetition starts fresh agents (3 nodes, n2 STANDBY) so runs do not feed each
//! other. The sim inserts delays of its own, and they are reported apart from the total:
//! - every engine call (create, start, stop, restart, remove, commit) sleeps 40 ms: the
//!   count comes from the agents' audit logs (restore makes two calls inside one action,
//!   removing a running container two: stop, then remove);
//! - a started container with a health check stays `starting` for 3 samples: the time the
//!   executor spends in its `ready` stage waiting for that is measured from its progress;
//! - after each container action the agent waits for its next sample (up to one sample
//!   interval) so the answer reflects the new state; that wait is the agent's design, the
//!   same on docker, and stays in "rest".
//!
//! Run: `cargo bench --bench actions` (env: `REPS`, default 7; `SAMPLE_MS`, the agents'
//! sample interval, default 1000 as shipped; `K`, containers per node, default 6;
//! `SCALE_BY`, default 3).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use fleetdeck::client::AgentAddr;
use fleetdeck::model::Fleet;
use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::link::Link;
use fleetdeck::ops::plan::{self, Plan, PlanInput};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck::ops::{BackupInfo, OpEvent, Outcome, Proposal, Verb};
use fleetdeck_agent::{AgentConfig, NodeMode, RunningAgent};
use tokio::sync::mpsc;

/// What the sim sleeps per engine call (agent/src/runtime/sim.rs, `ACTION_LATENCY`).
const SIM_ENGINE_CALL: Duration = Duration::from_millis(40);

/// The console's connections (no TLS, no token), one per agent.
fn conns() -> fleetdeck::client::Connections {
    fleetdeck::client::Connections::new(
        fleetdeck::client::Credentials::none(),
        fleetdeck::client::CONNECT_TIMEOUT,
    )
}

struct Bench {
    agents: Vec<Option<RunningAgent>>,
    endpoints: Vec<String>,
    dir: tempfile::TempDir,
}

impl Bench {
    async fn start(containers: usize, sample: Duration) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let modes = [NodeMode::Active, NodeMode::Standby, NodeMode::Active];
        let mut agents = Vec::new();
        let mut endpoints = Vec::new();
        for (i, mode) in modes.into_iter().enumerate() {
            let id = format!("n{}", i + 1);
            let config = AgentConfig {
                containers,
                sample_interval: sample,
                sim_faults: false,
                mode,
                state_dir: Some(dir.path().join(&id)),
                ..AgentConfig::sim(&id, 11 + i as u64 * 101)
            };
            let listener = fleetdeck_agent::bind("127.0.0.1:0".parse()?).await?;
            let agent = fleetdeck_agent::spawn(config, listener).await?;
            endpoints.push(agent.addr().to_string());
            agents.push(Some(agent));
        }
        Ok(Self {
            agents,
            endpoints,
            dir,
        })
    }

    fn console_dir(&self) -> PathBuf {
        self.dir.path().join("console")
    }

    async fn fleet(&self) -> Result<Fleet> {
        let addrs: Vec<AgentAddr> = self
            .endpoints
            .iter()
            .map(|e| e.parse().map_err(|e| eyre!("{e}")))
            .collect::<Result<_>>()?;
        Ok(fleetdeck::get::fleet_once(&addrs, Duration::from_secs(2), &conns()).await)
    }

    /// The console's spec cache, refreshed from the agents that answer (failover uses it).
    async fn specs(&self) -> Result<SpecCache> {
        let mut specs = SpecCache::load(&self.console_dir());
        specs.refresh(&conns(), &self.endpoints).await;
        specs.save(&self.console_dir())?;
        Ok(specs)
    }

    async fn plan(&self, proposal: &Proposal) -> Result<Plan> {
        let fleet = self.fleet().await?;
        let specs = self.specs().await?;
        let input = PlanInput {
            fleet: &fleet,
            now: Instant::now(),
            specs: &specs,
            fencing: &[],
            read_only: false,
            claims: &[],
        };
        plan::plan(&input, proposal).map_err(|e| eyre!("cannot plan {proposal:?}: {e}"))
    }

    /// Runs `plan` and measures it.
    async fn run(&self, plan: &Plan) -> Result<Sample> {
        // Removing a running container is two engine calls (stop, then remove).
        let running: HashSet<String> = self
            .fleet()
            .await?
            .nodes()
            .iter()
            .flat_map(|n| n.containers.values())
            .filter(|c| c.is_active())
            .map(|c| c.spec.id.clone())
            .collect();
        let before = self.engine_calls(&running);
        let exec = Executor::new(Some(self.console_dir()), "bench", conns());
        let (_source, cancel) = fleetdeck_agent::cancel::channel();
        let (tx, mut rx) = mpsc::channel(1024);
        let plan_owned = plan.clone();
        let t0 = Instant::now();
        let task = tokio::spawn(async move { exec.run(1, &plan_owned, cancel, tx).await });
        // Time in the `ready` stage: waiting for the copy's simulated health check.
        let mut ready = Duration::ZERO;
        let mut ready_since: Option<Instant> = None;
        while let Some(ev) = rx.recv().await {
            let now = Instant::now();
            let stage = match &ev {
                OpEvent::Progress { stage, .. } => Some(stage.as_str()),
                _ => None,
            };
            match (stage == Some("ready"), ready_since) {
                (true, None) => ready_since = Some(now),
                (false, Some(since)) => {
                    ready += now - since;
                    ready_since = None;
                }
                _ => {}
            }
        }
        let total = t0.elapsed();
        if let Some(since) = ready_since {
            ready += total.saturating_sub(since - t0);
        }
        let outcome = task.await?;
        if !matches!(outcome, Outcome::Done(_)) {
            bail!("{}: {outcome:?}", plan.title);
        }
        let calls = self.engine_calls(&running) - before;
        Ok(Sample {
            total,
            ready,
            engine: SIM_ENGINE_CALL * calls as u32,
        })
    }

    /// Engine calls made by every agent so far, from their audit logs.
    fn engine_calls(&self, running: &HashSet<String>) -> usize {
        (1..=self.agents.len())
            .map(|i| audit_engine_calls(&self.dir.path().join(format!("n{i}")), running))
            .sum()
    }

    async fn kill(&mut self, node: usize) {
        if let Some(a) = self.agents[node].take() {
            a.kill().await;
        }
    }

    async fn stop(mut self) {
        for i in 0..self.agents.len() {
            self.kill(i).await;
        }
    }
}

/// Engine calls recorded in one agent's audit log (done actions only).
fn audit_engine_calls(dir: &Path, running: &HashSet<String>) -> usize {
    let text = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| {
            r.pointer("/outcome/result")
                .or_else(|| r.get("result"))
                .and_then(|v| v.as_str())
                == Some("done")
                && !r
                    .pointer("/outcome/replayed")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
        })
        .map(|r| match r.get("action").and_then(|v| v.as_str()) {
            Some(
                "container.start" | "container.stop" | "container.restart" | "container.commit"
                | "container.create",
            ) => 1,
            // A running container is stopped, then removed.
            Some("container.remove") => {
                let target = r.get("target").and_then(|v| v.as_str()).unwrap_or("");
                if running.contains(target) { 2 } else { 1 }
            }
            // Over a running container: stop, then start; elsewhere: create, then start.
            Some("backup.restore") => 2,
            _ => 0,
        })
        .sum()
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    total: Duration,
    /// Waiting for the sim's `starting` health check to pass.
    ready: Duration,
    /// 40 ms per engine call.
    engine: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A running container of node `node` (1-based name), with a service, sorted by name.
async fn pick(b: &Bench, node: &str, health: bool) -> Result<(String, String)> {
    let fleet = b.fleet().await?;
    let n = fleet
        .nodes()
        .iter()
        .find(|n| n.name() == node)
        .ok_or_else(|| eyre!("{node} missing"))?;
    let mut running: Vec<_> = n
        .containers
        .values()
        .filter(|c| c.is_active() && !c.spec.service.is_empty())
        .filter(|c| !health || c.spec.health != fleetdeck::model::HealthState::None)
        .collect();
    running.sort_by(|a, c| a.spec.name.cmp(&c.spec.name));
    let c = running
        .first()
        .ok_or_else(|| eyre!("no running container on {node}"))?;
    Ok((c.spec.name.clone(), c.spec.service.to_string()))
}

async fn backups(b: &Bench) -> Result<Vec<BackupInfo>> {
    let mut link = Link::open(&conns(), "n1", &b.endpoints[0]).await?;
    Ok(link
        .list_backups()
        .await?
        .into_iter()
        .map(BackupInfo::from_wire)
        .collect())
}

/// One repetition of `scenario`: fresh agents, set-up, then the measured action.
async fn once(scenario: &str, k: usize, sample: Duration, scale_by: usize) -> Result<Sample> {
    let mut b = Bench::start(k, sample).await?;
    let sample = match scenario {
        "migrate" => {
            let (name, _) = pick(&b, "n1", true).await?;
            let p = b
                .plan(&Proposal::Migrate {
                    node: "n1".into(),
                    container: name,
                    to: None,
                })
                .await?;
            b.run(&p).await?
        }
        "scale up" => {
            let (_, service) = pick(&b, "n1", false).await?;
            let fleet = b.fleet().await?;
            let current = fleet
                .nodes()
                .iter()
                .flat_map(|n| n.containers.values())
                .filter(|c| *c.spec.service == *service && c.is_active())
                .count();
            let p = b
                .plan(&Proposal::Scale {
                    service,
                    replicas: current + scale_by,
                })
                .await?;
            b.run(&p).await?
        }
        "backup" | "restore" => {
            let (name, _) = pick(&b, "n1", false).await?;
            let p = b
                .plan(&Proposal::Backup {
                    node: "n1".into(),
                    container: Some(name.clone()),
                })
                .await?;
            let s = b.run(&p).await?;
            if scenario == "backup" {
                s
            } else {
                let list = backups(&b).await?;
                let backup = list
                    .into_iter()
                    .find(|x| x.container == name)
                    .ok_or_else(|| eyre!("backup of {name} not listed"))?;
                let p = b
                    .plan(&Proposal::Restore {
                        node: "n1".into(),
                        backup,
                    })
                    .await?;
                b.run(&p).await?
            }
        }
        "failover" => {
            b.specs().await?; // what the console knew of n1 before it failed
            b.kill(0).await;
            let p = b.plan(&Proposal::Failover { node: "n1".into() }).await?;
            b.run(&p).await?
        }
        "drain" => {
            let p = b.plan(&Proposal::Drain { node: "n1".into() }).await?;
            b.run(&p).await?
        }
        "stop" | "start" => {
            let (name, _) = pick(&b, "n1", false).await?;
            let stop = b
                .plan(&Proposal::Container {
                    node: "n1".into(),
                    container: name.clone(),
                    verb: Verb::Stop,
                })
                .await?;
            let s = b.run(&stop).await?;
            if scenario == "stop" {
                s
            } else {
                let start = b
                    .plan(&Proposal::Container {
                        node: "n1".into(),
                        container: name,
                        verb: Verb::Start,
                    })
                    .await?;
                b.run(&start).await?
            }
        }
        other => bail!("unknown scenario {other}"),
    };
    b.stop().await;
    Ok(sample)
}

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .wrap_err_with(|| format!("{name}={v} is not a whole number")),
        Err(_) => Ok(default),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    color_eyre::install()?;
    // `cargo bench` passes `--bench`; nothing else is taken.
    let reps = env("REPS", 7)? as usize;
    let sample = Duration::from_millis(env("SAMPLE_MS", 1000)?);
    let k = env("K", 6)? as usize;
    let scale_by = env("SCALE_BY", 3)? as usize;
    println!(
        "actions over gRPC on loopback sim agents: {reps} reps, sample interval {} ms, K = {k} containers per node, scale up by {scale_by}",
        sample.as_millis()
    );
    println!(
        "times in ms; engine = 40 ms per sim engine call; ready = waiting for the sim's `starting` health check (3 samples); rest = total - engine - ready"
    );
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "action", "median", "max", "engine", "ready", "rest", "rest max"
    );
    let scenarios = [
        ("migrate", "migrate"),
        ("scale up", "scale up by N"),
        ("backup", "backup"),
        ("restore", "restore (over running)"),
        ("failover", "failover of K"),
        ("drain", "drain of K"),
        ("stop", "stop"),
        ("start", "start"),
    ];
    for (scenario, label) in scenarios {
        let mut samples = Vec::new();
        for _ in 0..reps {
            samples.push(once(scenario, k, sample, scale_by).await?);
        }
        let rest: Vec<Duration> = samples
            .iter()
            .map(|s| s.total.saturating_sub(s.engine + s.ready))
            .collect();
        let total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
        println!(
            "{:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            label,
            ms(median(total.clone())),
            ms(total.iter().copied().max().unwrap_or_default()),
            ms(median(samples.iter().map(|s| s.engine).collect())),
            ms(median(samples.iter().map(|s| s.ready).collect())),
            ms(median(rest.clone())),
            ms(rest.iter().copied().max().unwrap_or_default()),
        );
    }
    Ok(())
}
