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

mod exec;
mod host;
mod images;
mod load;
mod logs;
mod past;
pub mod store;
mod volumes;

use self::host::SimHost;
use self::load::{FaultKind, SimContainer, UNTIL_CLEARED, populate};
use self::logs::{self as sim_logs, Clock, LogSubject};
use self::store::{self as sim_store, StoreError};
pub use self::volumes::dir_bytes;
use self::volumes::{io_error, remove_orphan_volumes, write_seed};
use crate::model::{
    ContainerSample, ContainerSpec, ContainerVerb, HostSample, PortableSpec, SimFaultKind,
};
use crate::runtime::{NodeOverrides, Runtime, RuntimeError, RuntimeKind};

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
    /// Images whose health check fails on this node, beside any whose name contains
    /// `unhealthy` (see `images`).
    pub unhealthy_images: Vec<String>,
    /// Where containers' volume data live as real files (`<dir>/<container id>/<volume>`);
    /// `None` keeps no data (scale runs).
    pub data_dir: Option<PathBuf>,
    /// Where the container set is kept across restarts (see [`sim_store`]); `None` keeps
    /// it in memory only, and every start is seeded afresh.
    pub state_file: Option<PathBuf>,
}

struct SimState {
    rng: SmallRng,
    step: u64,
    containers: Vec<SimContainer>,
    host: SimHost,
    last_host: HostSample,
}

impl SimState {
    /// Container `id`, or `NotFound`.
    fn container(&self, id: &str) -> Result<&SimContainer, RuntimeError> {
        self.containers
            .iter()
            .find(|c| c.spec.id == id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))
    }

    /// Container `id` to change, or `NotFound`.
    fn container_mut(&mut self, id: &str) -> Result<&mut SimContainer, RuntimeError> {
        self.containers
            .iter_mut()
            .find(|c| c.spec.id == id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_owned()))
    }
}

/// A simulated node.
pub struct SimRuntime {
    config: SimConfig,
    state: Arc<Mutex<SimState>>,
    changes: Arc<Notify>,
}

impl SimRuntime {
    /// Builds the node described by `config`, ignoring any stored container set.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// Builds the node described by `config` with the container set stored in its state
    /// file when there is one (else seeded); a file that cannot be used is an error.
    pub fn open(config: SimConfig) -> Result<Self, StoreError> {
        let Some(path) = config.state_file.clone() else {
            return Ok(Self::new(config));
        };
        // The stored containers draw their load profiles from their own generator, so the
        // seeded node's host stays the same size across restarts.
        let mut rng = SmallRng::seed_from_u64(config.seed ^ 0x5eed_5707_e5e5_5707);
        let stored = sim_store::load(&path, &config.node_id, &mut rng, config.start_unix_ms)?;
        if let Some(c) = &stored {
            tracing::info!(
                "{} containers from {} (the seed is used only without it)",
                c.len(),
                path.display()
            );
        }
        Ok(Self::build(config, stored))
    }

    fn build(config: SimConfig, stored: Option<Vec<SimContainer>>) -> Self {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let count = if config.containers == 0 {
            rng.random_range(12..=50)
        } else {
            config.containers
        };
        let mut containers = populate(&mut rng, count, config.start_unix_ms);
        let host = SimHost::new(&mut rng, &containers);
        if let Some(stored) = stored {
            containers = stored;
        }
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

    /// Writes the container set after a change (under the state lock, so writes land in
    /// the order the changes were made). A failure is logged: the change itself stands.
    fn persist(&self, s: &SimState) {
        let Some(path) = &self.config.state_file else {
            return;
        };
        if let Err(e) = sim_store::save(path, &self.config.node_id, &s.containers) {
            tracing::error!(
                "cannot save the sim container set to {}: {e}; a restart would lose this change",
                path.display()
            );
        }
    }
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

    fn past(&self) -> Option<crate::history::Past> {
        let s = self.lock();
        Some(past::generate(
            &s.containers,
            &s.host,
            self.config.seed,
            self.config.step,
            self.config.start_unix_ms,
        ))
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
            self.persist(&s);
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
            let c = s.container(id)?;
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
                    .map(fleetdeck_core::container::PortMapping::spec_port)
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

    async fn images(&self) -> Result<Vec<fleetdeck_core::image::EngineImage>, RuntimeError> {
        Ok(images::images(&self.lock().containers, self.config.step))
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
            let mut c = SimContainer::from_spec(&mut s.rng, plain, spec.volumes.clone());
            c.failing_image = images::fails_health(&spec.image, &self.config.unhealthy_images);
            s.containers.push(c);
            self.persist(&s);
            id
        };
        if let Some(dir) = &self.config.data_dir
            && !spec.volumes.is_empty()
        {
            // The data folder is private; the containers' folders in it keep usual modes.
            crate::private::create_dir(dir).map_err(io_error)?;
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
        let data = self.data_dir()?.to_path_buf();
        let dir = data.join(id);
        let (volumes, seed_kib) = {
            let s = self.lock();
            let c = s.container(id)?;
            (c.volumes.clone(), c.seed_kib)
        };
        if !dir.exists() {
            let (d, i) = (dir.clone(), id.to_owned());
            tokio::task::spawn_blocking(move || {
                crate::private::create_dir(&data)?;
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
            let c = s.container_mut(id)?;
            let mut spec = (*c.spec).clone();
            for k in remove {
                spec.labels.remove(k);
            }
            spec.labels
                .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            c.spec = Arc::new(spec);
            self.persist(&s);
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
            let c = s.container_mut(id)?;
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

    async fn exec(
        &self,
        id: &str,
        spec: &crate::exec::ExecSpec,
    ) -> Result<crate::exec::ExecIo, RuntimeError> {
        self.exec_shell(id, spec).await
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
mod tests;
