//! The simulated runtime: a node with realistic load and occasional faults, deterministic
//! from a seed. Time moves in fixed steps (one per `advance`), never with the wall clock, so
//! the same seed gives the same sequence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

use super::sim_host::SimHost;
use super::sim_load::{FaultKind, SimContainer, UNTIL_CLEARED, populate};
use super::sim_logs::{self, Clock, LogSubject};
use super::{NodeOverrides, Runtime, RuntimeError, RuntimeKind};
use crate::model::{
    ContainerSample, ContainerSpec, ContainerVerb, HostSample, PortableSpec, SimFaultKind,
};

/// Seed data is written in files of this size, so copies move several files.
const SEED_FILE_KIB: u32 = 64;

use crate::logs::{LineStream, LogQuery};

/// Mean simulated seconds between two faults on one node.
const FAULT_EVERY_SECS: f64 = 600.0;
/// Chance that a node starts with a fault already under way (demos show something at once).
const INITIAL_FAULT_CHANCE: f64 = 0.25;
/// How long a simulated engine call takes.
const ACTION_LATENCY: Duration = Duration::from_millis(40);
/// Containers a sim node is meant to hold at most (for the console's load formula).
const SIM_MAX_CONTAINERS: u32 = 64;

/// How to build a simulated node.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Node name (also its host name).
    pub node_id: String,
    /// Seed: same seed, same node, same sequence.
    pub seed: u64,
    /// Containers to start with; 0 picks 12-50 from the seed.
    pub containers: usize,
    /// Simulated time per step.
    pub step: Duration,
    /// Simulated clock at step 0, ms since the Unix epoch.
    pub start_unix_ms: u64,
    /// Whether faults (crash loops, failing health checks, hot containers) happen.
    pub faults: bool,
    /// Where containers' volume data live as real files (`<dir>/<container id>/<volume>`);
    /// `None` keeps no data (scale runs).
    pub data_dir: Option<PathBuf>,
}

struct SimState {
    rng: SmallRng,
    step: u64,
    containers: Vec<SimContainer>,
    host: SimHost,
    last_host: HostSample,
}

/// A simulated node.
pub struct SimRuntime {
    config: SimConfig,
    state: Arc<Mutex<SimState>>,
    changes: Arc<Notify>,
}

impl SimRuntime {
    /// Builds the node described by `config`.
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let count = if config.containers == 0 {
            rng.random_range(12..=50)
        } else {
            config.containers
        };
        let mut containers = populate(&mut rng, count, config.start_unix_ms);
        let host = SimHost::new(&mut rng, &containers);
        if config.faults && rng.random_bool(INITIAL_FAULT_CHANCE) {
            start_random_fault(&mut rng, &mut containers, config.step.as_secs_f64());
        }
        let mut state = SimState {
            rng,
            step: 0,
            containers,
            host,
            last_host: HostSample::default(),
        };
        // Step 0 fills in figures so the first snapshot is not all zeros.
        advance_state(
            &mut state,
            config.step.as_secs_f64(),
            config.start_unix_ms,
            config.faults,
        );
        if let Some(dir) = &config.data_dir {
            remove_orphan_volumes(dir, &state.containers);
        }
        Self {
            config,
            state: Arc::new(Mutex::new(state)),
            changes: Arc::default(),
        }
    }

    fn data_dir(&self) -> Result<&Path, RuntimeError> {
        self.config
            .data_dir
            .as_deref()
            .ok_or_else(|| RuntimeError::Failed("this sim node keeps no volume data".into()))
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while stepping leaves plain numbers behind; carrying on is safe.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self, step: u64) -> u64 {
        self.config.start_unix_ms + step * self.config.step.as_millis() as u64
    }

    /// Current simulated step.
    pub fn step_count(&self) -> u64 {
        self.lock().step
    }
}

/// Volume directories of containers this node does not hold (half-made copies of an
/// interrupted migration, data of containers removed while the agent was down) go at start.
fn remove_orphan_volumes(dir: &Path, containers: &[SimContainer]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !containers.iter().any(|c| c.spec.id == name) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!("cannot remove orphan volume data {name}: {e}");
            } else {
                tracing::info!("removed orphan volume data {name}");
            }
        }
    }
}

/// Writes a volume's seed data: deterministic from the container id and volume name.
fn write_seed(dir: &Path, id: &str, volume: &str, kib: u32) -> std::io::Result<()> {
    let vdir = dir.join(volume);
    std::fs::create_dir_all(&vdir)?;
    let seed = id
        .bytes()
        .chain(volume.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = SmallRng::seed_from_u64(seed);
    std::fs::write(
        vdir.join("VERSION"),
        format!("{volume} of container {id}\n"),
    )?;
    let files = kib.div_ceil(SEED_FILE_KIB);
    for i in 0..files {
        let size = (kib - i * SEED_FILE_KIB).min(SEED_FILE_KIB) as usize * 1024;
        let mut data = vec![0_u8; size];
        rng.fill(&mut data[..]);
        std::fs::write(vdir.join(format!("seg-{i:04}.dat")), data)?;
    }
    Ok(())
}

/// Bytes in regular files under `dir` (0 when it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

fn io_error(e: std::io::Error) -> RuntimeError {
    RuntimeError::Failed(format!("volume data: {e}"))
}

fn advance_state(s: &mut SimState, dt: f64, now_ms: u64, faults: bool) {
    let t = s.step as f64 * dt;
    if faults && s.rng.random_bool((dt / FAULT_EVERY_SECS).min(1.0)) {
        start_random_fault(&mut s.rng, &mut s.containers, dt);
    }
    for c in &mut s.containers {
        c.step(&mut s.rng, t as f32, dt as f32, now_ms);
    }
    s.last_host = s.host.sample(&mut s.rng, &s.containers, now_ms, t, dt);
}

fn start_random_fault(rng: &mut SmallRng, containers: &mut [SimContainer], dt_secs: f64) {
    if containers.is_empty() {
        return;
    }
    let (kind, secs) = match rng.random_range(0..10) {
        0..3 => (FaultKind::CrashLoop, rng.random_range(60.0..240.0)),
        3..7 => (FaultKind::Unhealthy, rng.random_range(60.0..180.0)),
        _ => (FaultKind::Hot, rng.random_range(120.0..360.0)),
    };
    let steps = (secs / dt_secs.max(0.001)) as u32;
    let i = rng.random_range(0..containers.len());
    // A container the fault does not fit (stopped, no health check) just escapes it.
    containers[i].start_fault(rng, kind, steps);
}

#[async_trait]
impl Runtime for SimRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Sim
    }

    fn advance(&self) {
        let mut s = self.lock();
        s.step += 1;
        let now = self.now_ms(s.step);
        advance_state(
            &mut s,
            self.config.step.as_secs_f64(),
            now,
            self.config.faults,
        );
    }

    async fn containers(&self) -> Result<Vec<ContainerSample>, RuntimeError> {
        Ok(self
            .lock()
            .containers
            .iter()
            .map(SimContainer::sample)
            .collect())
    }

    fn changes(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.changes))
    }

    fn node_overrides(&self) -> NodeOverrides {
        let s = self.lock();
        NodeOverrides {
            hostname: Some(self.config.node_id.clone()),
            cpu_cores: Some(s.host.cores),
            memory_total_bytes: Some(s.host.memory_total),
            disk_total_bytes: Some(s.host.disk_total),
            max_containers: Some(SIM_MAX_CONTAINERS),
        }
    }

    fn simulated_host(&self) -> Option<HostSample> {
        Some(self.lock().last_host.clone())
    }

    async fn ping(&self) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn act(&self, verb: ContainerVerb, id: &str) -> Result<(), RuntimeError> {
        tokio::time::sleep(ACTION_LATENCY).await;
        {
            let mut s = self.lock();
            let now = self.now_ms(s.step);
            let i = s
                .containers
                .iter()
                .position(|c| c.spec.id == id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))?;
            let c = &mut s.containers[i];
            match verb {
                ContainerVerb::Start if !c.status.state.is_up() => c.begin_run(now),
                ContainerVerb::Start => {}
                ContainerVerb::Stop => c.stop(),
                ContainerVerb::Restart => {
                    c.stop();
                    c.begin_run(now);
                }
                ContainerVerb::Remove => {
                    s.containers.remove(i);
                }
                ContainerVerb::Commit => {
                    let mut spec = (*c.spec).clone();
                    spec.labels.remove(crate::model::PENDING_LABEL);
                    c.spec = Arc::new(spec);
                }
            }
        }
        if verb == ContainerVerb::Remove
            && let Some(dir) = &self.config.data_dir
        {
            let path = dir.join(id);
            if path.exists() {
                tokio::fs::remove_dir_all(&path).await.map_err(io_error)?;
            }
        }
        self.changes.notify_one();
        Ok(())
    }

    async fn export_spec(&self, id: &str) -> Result<PortableSpec, RuntimeError> {
        let (mut spec, seed_kib) = {
            let s = self.lock();
            let c = s
                .containers
                .iter()
                .find(|c| c.spec.id == id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))?;
            let spec = PortableSpec {
                id: c.spec.id.clone(),
                name: c.spec.name.clone(),
                image: c.spec.image.clone(),
                service: c.spec.service.clone(),
                labels: c.spec.labels.clone(),
                ports: c
                    .spec
                    .ports
                    .iter()
                    .map(|p| (p.container_port, p.host_port, p.protocol.clone()))
                    .collect(),
                env: BTreeMap::from([("FLEETDECK_SERVICE".to_owned(), c.spec.service.clone())]),
                volumes: c.volumes.clone(),
                volume_bytes: 0,
                memory_limit_bytes: c.memory_limit(),
                cpu_limit_cores: c.cpu_limit_cores(),
                state: c.status.state,
                health: c.status.health,
            };
            (spec, c.seed_kib)
        };
        if let Some(dir) = &self.config.data_dir {
            let path = dir.join(id);
            spec.volume_bytes = if path.exists() {
                tokio::task::spawn_blocking(move || dir_bytes(&path))
                    .await
                    .unwrap_or(0)
            } else {
                // Not written yet: what the seed will be, without writing it.
                let per_volume = u64::from(seed_kib) * 1024 + 40;
                per_volume * spec.volumes.len() as u64
            };
        }
        Ok(spec)
    }

    async fn create(&self, spec: &PortableSpec) -> Result<String, RuntimeError> {
        tokio::time::sleep(ACTION_LATENCY).await;
        let id = {
            let mut s = self.lock();
            if s.containers.iter().any(|c| c.spec.name == spec.name) {
                return Err(RuntimeError::Conflict(format!(
                    "a container named {} already exists on {}",
                    spec.name, self.config.node_id
                )));
            }
            let id = format!(
                "{:032x}{:032x}",
                s.rng.random::<u128>(),
                s.rng.random::<u128>()
            );
            let now = self.now_ms(s.step);
            let plain = ContainerSpec {
                id: id.clone(),
                name: spec.name.clone(),
                image: spec.image.clone(),
                service: spec.service.clone(),
                labels: spec.labels.clone(),
                ports: spec
                    .ports
                    .iter()
                    .map(|(c, h, p)| crate::model::PortMapping {
                        container_port: *c,
                        host_port: *h,
                        protocol: p.clone(),
                        host_ip: "0.0.0.0".to_owned(),
                    })
                    .collect(),
                created_unix_ms: now,
            };
            let c = SimContainer::from_spec(&mut s.rng, plain, spec.volumes.clone());
            s.containers.push(c);
            id
        };
        if let Some(dir) = &self.config.data_dir {
            for v in &spec.volumes {
                tokio::fs::create_dir_all(dir.join(&id).join(v))
                    .await
                    .map_err(io_error)?;
            }
        }
        self.changes.notify_one();
        Ok(id)
    }

    async fn volume_dir(&self, id: &str) -> Result<PathBuf, RuntimeError> {
        let dir = self.data_dir()?.join(id);
        let (volumes, seed_kib) = {
            let s = self.lock();
            let c = s
                .containers
                .iter()
                .find(|c| c.spec.id == id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))?;
            (c.volumes.clone(), c.seed_kib)
        };
        if !dir.exists() {
            let (d, i) = (dir.clone(), id.to_owned());
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&d)?;
                for v in &volumes {
                    write_seed(&d, &i, v, seed_kib)?;
                }
                Ok::<_, std::io::Error>(())
            })
            .await
            .map_err(|e| RuntimeError::Failed(e.to_string()))?
            .map_err(io_error)?;
        }
        Ok(dir)
    }

    async fn relabel(
        &self,
        id: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), RuntimeError> {
        {
            let mut s = self.lock();
            let c = s
                .containers
                .iter_mut()
                .find(|c| c.spec.id == id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))?;
            let mut spec = (*c.spec).clone();
            for k in remove {
                spec.labels.remove(k);
            }
            spec.labels
                .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            c.spec = Arc::new(spec);
        }
        self.changes.notify_one();
        Ok(())
    }

    async fn inject_fault(
        &self,
        kind: SimFaultKind,
        id: &str,
        duration: Option<Duration>,
    ) -> Result<String, RuntimeError> {
        let step_secs = self.config.step.as_secs_f64().max(0.001);
        let steps = duration.map_or(UNTIL_CLEARED, |d| {
            ((d.as_secs_f64() / step_secs).ceil() as u32).clamp(1, UNTIL_CLEARED - 1)
        });
        let message = {
            let mut s = self.lock();
            let now = self.now_ms(s.step);
            let c = s
                .containers
                .iter_mut()
                .find(|c| c.spec.id == id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))?;
            let name = c.spec.name.clone();
            let fault = match kind {
                SimFaultKind::Clear => None,
                SimFaultKind::CrashLoop => Some(FaultKind::CrashLoop),
                SimFaultKind::Unhealthy => Some(FaultKind::Unhealthy),
                SimFaultKind::CpuSpike => Some(FaultKind::Hot),
            };
            match fault {
                None if c.fault.is_none() => format!("{name} had no fault"),
                None => {
                    c.clear_fault(now);
                    format!("fault on {name} cleared")
                }
                Some(fault) => {
                    c.inject_fault(fault, steps, now)
                        .map_err(RuntimeError::Conflict)?;
                    let lasting = duration.map_or_else(
                        || "until cleared".to_owned(),
                        |d| format!("for {}s", d.as_secs()),
                    );
                    format!("{} on {name} {lasting}", kind.name().replace('_', " "))
                }
            }
        };
        self.changes.notify_one();
        Ok(message)
    }

    async fn logs(&self, id: &str, query: LogQuery) -> Result<LineStream, RuntimeError> {
        let state = Arc::clone(&self.state);
        let (start, step_ms) = (
            self.config.start_unix_ms,
            self.config.step.as_millis() as u64,
        );
        let wanted = id.to_owned();
        let look = move || {
            let s = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let c = s.containers.iter().find(|c| c.spec.id == wanted)?;
            let who = LogSubject {
                id: c.spec.id.clone(),
                service: c.spec.service.clone(),
                up: c.status.state.is_up(),
                faulty: c.fault.is_some(),
            };
            let clock = Clock {
                step: s.step,
                step_ms,
                start_unix_ms: start,
            };
            Some((who, clock))
        };
        if look().is_none() {
            return Err(RuntimeError::NotFound(id.to_owned()));
        }
        Ok(sim_logs::stream(self.config.seed, query, look))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerState, HealthState};

    fn config(seed: u64) -> SimConfig {
        SimConfig {
            node_id: "sim-1".into(),
            seed,
            containers: 0,
            step: Duration::from_secs(1),
            start_unix_ms: 1_700_000_000_000,
            faults: true,
            data_dir: None,
        }
    }

    fn run(seed: u64, steps: usize) -> Vec<(Vec<ContainerSample>, HostSample)> {
        let sim = SimRuntime::new(config(seed));
        (0..steps)
            .map(|_| {
                sim.advance();
                let s = sim.lock();
                (
                    s.containers.iter().map(SimContainer::sample).collect(),
                    s.last_host.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn same_seed_same_sequence() {
        let a = run(42, 300);
        let b = run(42, 300);
        assert!(a == b, "same seed must give the same sequence");
        let c = run(43, 5);
        assert!(a[..5] != c[..], "different seeds must differ");
    }

    #[test]
    fn sizes_are_in_range() {
        for seed in 0..40 {
            let sim = SimRuntime::new(config(seed));
            let n = sim.lock().containers.len();
            assert!((12..=50).contains(&n), "{n} containers");
            let o = sim.node_overrides();
            let cores = o.cpu_cores.unwrap();
            assert!((4..=32).contains(&cores));
            let mem_gib = o.memory_total_bytes.unwrap() >> 30;
            assert!((16..=128).contains(&mem_gib));
            let host = sim.simulated_host().unwrap();
            assert!(host.memory_used_bytes <= host.memory_total_bytes);
            assert_eq!(host.cpu_per_core.len(), cores as usize);
        }
    }

    #[test]
    fn names_are_unique_and_service_labelled() {
        let sim = SimRuntime::new(config(7));
        let s = sim.lock();
        let mut names: Vec<_> = s.containers.iter().map(|c| c.spec.name.clone()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        for c in &s.containers {
            assert_eq!(
                c.spec.labels.get("fleetdeck.service"),
                Some(&c.spec.service)
            );
            assert!(c.spec.name.starts_with(&c.spec.service));
        }
    }

    /// Over an hour of simulated time, a fleet of 8 sees faults but stays mostly healthy.
    #[test]
    fn faults_happen_but_are_rare() {
        let (mut bad, mut total, mut restarts, mut pinned) = (0_u64, 0_u64, 0_u32, 0_u64);
        for seed in 0..8 {
            let sim = SimRuntime::new(config(seed));
            let before: u32 = sim
                .lock()
                .containers
                .iter()
                .map(|c| c.status.restart_count)
                .sum();
            for _ in 0..3600 {
                sim.advance();
                let s = sim.lock();
                for c in &s.containers {
                    total += 1;
                    let down = c.status.state == ContainerState::Restarting;
                    let sick = c.status.health == HealthState::Unhealthy;
                    bad += u64::from(down || sick);
                    pinned += u64::from(c.stats.cpu_percent > 90.0);
                }
            }
            let after: u32 = sim
                .lock()
                .containers
                .iter()
                .map(|c| c.status.restart_count)
                .sum();
            restarts += after - before;
        }
        let bad_share = bad as f64 / total as f64;
        assert!(bad_share < 0.05, "too unhealthy: {bad_share}");
        assert!(
            bad > 0 || restarts > 0 || pinned > 0,
            "nothing ever happened"
        );
    }

    #[tokio::test]
    async fn actions_change_state() {
        let mut cfg = config(3);
        cfg.faults = false;
        let sim = SimRuntime::new(cfg);
        let first = sim.containers().await.unwrap()[0].clone();
        let notified = sim.changes().unwrap();
        sim.act(ContainerVerb::Stop, &first.spec.id).await.unwrap();
        notified.notified().await;
        let now = sim.containers().await.unwrap()[0].clone();
        assert_eq!(now.status.state, ContainerState::Exited);
        assert_eq!(now.stats.cpu_percent, 0.0);
        sim.act(ContainerVerb::Start, &first.spec.id).await.unwrap();
        let now = sim.containers().await.unwrap()[0].clone();
        assert_eq!(now.status.state, ContainerState::Running);
        sim.act(ContainerVerb::Remove, &first.spec.id)
            .await
            .unwrap();
        assert!(
            sim.containers()
                .await
                .unwrap()
                .iter()
                .all(|c| c.spec.id != first.spec.id)
        );
        let err = sim
            .act(ContainerVerb::Stop, &first.spec.id)
            .await
            .unwrap_err();
        assert!(matches!(err, RuntimeError::NotFound(_)));
    }
}
