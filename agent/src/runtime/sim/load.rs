//! Simulated containers: what they are (catalog) and how their load moves from step to step.

use std::collections::BTreeMap;
use std::f32::consts::TAU;
use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;

use crate::model::{
    ContainerSample, ContainerSpec, ContainerState, ContainerStats, ContainerStatus, HealthState,
    PortMapping,
};

const MIB: u64 = 1024 * 1024;
const PAGE_BYTES: u64 = 4096;
/// Chance per simulated second that a running container starts a load spike.
const SPIKE_PER_SEC: f64 = 1.0 / 2400.0;

/// A kind of service the simulator places.
struct Template {
    service: &'static str,
    image: &'static str,
    project: &'static str,
    port: Option<u16>,
    health_check: bool,
    /// Typical CPU, percent of one core.
    cpu: (f32, f32),
    /// CPU limit, cores.
    cpu_limit_cores: f32,
    /// Typical memory use and limit, MiB.
    mem_mib: (u64, u64),
    mem_limit_mib: u64,
    /// Typical network receive rate, KiB/s, and transmit/receive ratio.
    net_kib: f32,
    tx_ratio: f32,
    /// Typical block I/O, KiB/s (read, write).
    blk_kib: (f32, f32),
    /// Relative frequency in the catalog.
    weight: u32,
}

// One line per template reads as a table.
#[rustfmt::skip]
const TEMPLATES: &[Template] = &[
    Template { service: "web", image: "nginx:1.27", project: "shop", port: Some(80), health_check: true, cpu: (3.0, 25.0), cpu_limit_cores: 1.0, mem_mib: (40, 120), mem_limit_mib: 256, net_kib: 400.0, tx_ratio: 4.0, blk_kib: (2.0, 8.0), weight: 6 },
    Template { service: "api", image: "acme/api:2.4.1", project: "shop", port: Some(8080), health_check: true, cpu: (8.0, 60.0), cpu_limit_cores: 2.0, mem_mib: (200, 700), mem_limit_mib: 1024, net_kib: 250.0, tx_ratio: 1.5, blk_kib: (4.0, 20.0), weight: 6 },
    Template { service: "worker", image: "acme/worker:2.4.1", project: "shop", port: None, health_check: false, cpu: (10.0, 90.0), cpu_limit_cores: 2.0, mem_mib: (150, 600), mem_limit_mib: 1024, net_kib: 60.0, tx_ratio: 0.6, blk_kib: (10.0, 80.0), weight: 5 },
    Template { service: "db", image: "postgres:16", project: "shop", port: Some(5432), health_check: true, cpu: (5.0, 50.0), cpu_limit_cores: 4.0, mem_mib: (500, 2500), mem_limit_mib: 4096, net_kib: 150.0, tx_ratio: 2.0, blk_kib: (200.0, 900.0), weight: 2 },
    Template { service: "cache", image: "redis:7.4", project: "shop", port: Some(6379), health_check: true, cpu: (2.0, 15.0), cpu_limit_cores: 1.0, mem_mib: (100, 900), mem_limit_mib: 1024, net_kib: 300.0, tx_ratio: 1.2, blk_kib: (0.0, 40.0), weight: 3 },
    Template { service: "queue", image: "rabbitmq:3.13", project: "platform", port: Some(5672), health_check: true, cpu: (3.0, 20.0), cpu_limit_cores: 1.0, mem_mib: (150, 400), mem_limit_mib: 768, net_kib: 120.0, tx_ratio: 1.0, blk_kib: (5.0, 60.0), weight: 2 },
    Template { service: "search", image: "opensearchproject/opensearch:2.15.0", project: "platform", port: Some(9200), health_check: true, cpu: (10.0, 70.0), cpu_limit_cores: 2.0, mem_mib: (1200, 2800), mem_limit_mib: 4096, net_kib: 80.0, tx_ratio: 1.5, blk_kib: (50.0, 300.0), weight: 1 },
    Template { service: "metrics", image: "prom/prometheus:v2.53.0", project: "platform", port: Some(9090), health_check: false, cpu: (3.0, 20.0), cpu_limit_cores: 1.0, mem_mib: (300, 900), mem_limit_mib: 2048, net_kib: 90.0, tx_ratio: 0.3, blk_kib: (5.0, 150.0), weight: 1 },
    Template { service: "proxy", image: "traefik:v3.1", project: "platform", port: Some(443), health_check: true, cpu: (2.0, 18.0), cpu_limit_cores: 1.0, mem_mib: (40, 110), mem_limit_mib: 256, net_kib: 900.0, tx_ratio: 1.0, blk_kib: (0.0, 4.0), weight: 2 },
];

/// A fault the simulator can put on a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FaultKind {
    /// RESTARTING <-> RUNNING with a climbing restart count.
    CrashLoop,
    /// Health check failing.
    Unhealthy,
    /// CPU pinned near its limit.
    Hot,
}

/// `Fault::steps_left` of a fault that lasts until it is cleared.
pub(super) const UNTIL_CLEARED: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
pub(super) struct Fault {
    pub kind: FaultKind,
    /// Steps until the fault clears; `UNTIL_CLEARED` never counts down.
    pub steps_left: u32,
    /// Crash loop: steps until the next state flip.
    flip_in: u32,
    /// Injected on request: a crash loop flips every step, so a drill shows a restart
    /// loop within a few samples instead of a minute.
    injected: bool,
}

/// How one container's load behaves.
#[derive(Debug, Clone)]
struct Load {
    cpu_base: f32,
    cpu_limit: f32,
    slow_period_secs: f32,
    fast_period_secs: f32,
    phase: f32,
    mem_base: f32,
    mem_limit: u64,
    net_rx: f32,
    tx_ratio: f32,
    blk_read: f32,
    blk_write: f32,
}

/// One simulated container.
#[derive(Debug, Clone)]
pub(super) struct SimContainer {
    pub spec: Arc<ContainerSpec>,
    /// Volume names; each is a directory under the node's data dir.
    pub volumes: Vec<String>,
    /// Seed data to write on first use, KiB per volume (0 for copies, which get theirs).
    pub seed_kib: u32,
    pub status: ContainerStatus,
    pub stats: ContainerStats,
    pub fault: Option<Fault>,
    pub has_health_check: bool,
    /// Its image fails its health check on this node (see `images`).
    pub failing_image: bool,
    load: Load,
    mem_now: f32,
    spike_steps: u32,
    spike_factor: f32,
    starting_steps: u32,
}

/// A uniform number in [-1, 1] with a bell-ish shape (sum of two uniforms).
fn noise(rng: &mut SmallRng) -> f32 {
    rng.random::<f32>() + rng.random::<f32>() - 1.0
}

fn pick_template(rng: &mut SmallRng) -> &'static Template {
    let total: u32 = TEMPLATES.iter().map(|t| t.weight).sum();
    let mut n = rng.random_range(0..total);
    for t in TEMPLATES {
        if n < t.weight {
            return t;
        }
        n -= t.weight;
    }
    &TEMPLATES[0]
}

/// Volumes a service keeps and how much seed data each starts with, KiB.
pub(super) fn service_volumes(service: &str) -> (&'static [&'static str], u32) {
    match service {
        "db" => (&["pgdata"], 512),
        "cache" => (&["redis"], 128),
        "queue" => (&["mnesia"], 64),
        "search" => (&["indices"], 768),
        "metrics" => (&["tsdb"], 256),
        _ => (&[], 0),
    }
}

/// Every image of the catalog.
pub(super) fn catalog_images() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|t| t.image)
}

/// Whether containers of `image` (any tag of a catalog repository) have a health check;
/// images outside the catalog get the first template's.
pub(super) fn has_health_check(image: &str) -> bool {
    let repo = |i: &str| i.rsplit_once(':').map_or(i, |(r, _)| r).to_owned();
    TEMPLATES
        .iter()
        .find(|t| repo(t.image) == repo(image))
        .unwrap_or(&TEMPLATES[0])
        .health_check
}

fn template_for(service: &str, image: &str) -> &'static Template {
    TEMPLATES
        .iter()
        .find(|t| t.service == service)
        .or_else(|| TEMPLATES.iter().find(|t| t.image == image))
        .unwrap_or(&TEMPLATES[0])
}

/// Builds `count` containers; `now_ms` is the simulated clock at the start.
pub(super) fn populate(rng: &mut SmallRng, count: usize, now_ms: u64) -> Vec<SimContainer> {
    let mut replicas: BTreeMap<&'static str, u32> = BTreeMap::new();
    (0..count)
        .map(|_| {
            let t = pick_template(rng);
            let n = replicas
                .entry(t.service)
                .or_insert_with(|| rng.random_range(0..3));
            *n += 1;
            SimContainer::new(rng, t, *n, now_ms)
        })
        .collect()
}

impl SimContainer {
    fn new(rng: &mut SmallRng, t: &Template, replica: u32, now_ms: u64) -> Self {
        let id = format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>());
        let name = format!("{}-{replica}", t.service);
        let labels = BTreeMap::from([
            ("fleetdeck.service".to_owned(), t.service.to_owned()),
            (
                "com.docker.compose.project".to_owned(),
                t.project.to_owned(),
            ),
            (
                "com.docker.compose.service".to_owned(),
                t.service.to_owned(),
            ),
            (
                "com.docker.compose.container-number".to_owned(),
                replica.to_string(),
            ),
        ]);
        let ports = t
            .port
            .map(|p| PortMapping {
                container_port: p,
                host_port: p.saturating_add(20_000).saturating_add(replica as u16),
                protocol: "tcp".to_owned(),
                host_ip: "0.0.0.0".to_owned(),
            })
            .into_iter()
            .collect();
        let age_ms = rng.random_range(3_600_000..30 * 86_400_000_u64);
        let created = now_ms.saturating_sub(age_ms);
        let started = now_ms.saturating_sub(rng.random_range(60_000..age_ms));
        let spec = ContainerSpec {
            id,
            name,
            image: t.image.to_owned(),
            service: t.service.to_owned(),
            labels,
            ports,
            created_unix_ms: created,
        };
        let (volumes, seed_kib) = service_volumes(t.service);
        let mem_base = rng.random_range(t.mem_mib.0..=t.mem_mib.1) as f32 * MIB as f32;
        let load = Load {
            cpu_base: rng.random_range(t.cpu.0..=t.cpu.1),
            cpu_limit: t.cpu_limit_cores * 100.0,
            slow_period_secs: rng.random_range(600.0..1800.0),
            fast_period_secs: rng.random_range(60.0..240.0),
            phase: rng.random_range(0.0..TAU),
            mem_base,
            mem_limit: t.mem_limit_mib * MIB,
            net_rx: t.net_kib * 1024.0 * rng.random_range(0.3..1.5),
            tx_ratio: t.tx_ratio,
            blk_read: t.blk_kib.0 * 1024.0,
            blk_write: t.blk_kib.1 * 1024.0,
        };
        // A few one-off containers sit exited, as on real hosts.
        let exited = rng.random_bool(0.04);
        let status = ContainerStatus {
            state: if exited {
                ContainerState::Exited
            } else {
                ContainerState::Running
            },
            health: if t.health_check && !exited {
                HealthState::Healthy
            } else {
                HealthState::None
            },
            restart_count: if rng.random_bool(0.1) {
                rng.random_range(1..4)
            } else {
                0
            },
            started_unix_ms: if exited { 0 } else { started },
            exit_code: 0,
        };
        let stats = ContainerStats {
            memory_limit_bytes: load.mem_limit,
            ..Default::default()
        };
        Self {
            spec: Arc::new(spec),
            volumes: volumes.iter().map(|v| (*v).to_owned()).collect(),
            seed_kib,
            status,
            stats,
            fault: None,
            has_health_check: t.health_check,
            failing_image: false,
            mem_now: mem_base,
            load,
            spike_steps: 0,
            spike_factor: 1.0,
            starting_steps: 0,
        }
    }

    /// A created (not started) container made from a spec that came from another node:
    /// its load behaves like the template of its service; its volumes start empty.
    pub fn from_spec(rng: &mut SmallRng, spec: ContainerSpec, volumes: Vec<String>) -> Self {
        let t = template_for(&spec.service, &spec.image);
        let mut c = Self::new(rng, t, 1, spec.created_unix_ms);
        c.spec = Arc::new(spec);
        c.volumes = volumes;
        c.seed_kib = 0;
        c.stop();
        c.status.state = ContainerState::Created;
        c.status.restart_count = 0;
        c
    }

    /// Memory limit, bytes.
    pub fn memory_limit(&self) -> u64 {
        self.load.mem_limit
    }

    /// CPU limit, cores.
    pub fn cpu_limit_cores(&self) -> f32 {
        self.load.cpu_limit / 100.0
    }

    /// The container as the runtime trait reports it.
    pub fn sample(&self) -> ContainerSample {
        ContainerSample {
            spec: Arc::clone(&self.spec),
            status: self.status,
            stats: self.stats,
        }
    }

    /// Starts `kind` for `steps` steps; false when it does not apply to this container.
    pub fn start_fault(&mut self, rng: &mut SmallRng, kind: FaultKind, steps: u32) -> bool {
        if self.status.state != ContainerState::Running || self.fault.is_some() {
            return false;
        }
        if kind == FaultKind::Unhealthy && !self.has_health_check {
            return false;
        }
        let flip_in = rng.random_range(3..10);
        self.fault = Some(Fault {
            kind,
            steps_left: steps.max(1),
            flip_in,
            injected: false,
        });
        true
    }

    /// Puts `kind` on the container at once (replacing any fault it has) for `steps`
    /// steps (`UNTIL_CLEARED`: until `clear_fault`); an error says why it does not fit.
    pub fn inject_fault(&mut self, kind: FaultKind, steps: u32, now_ms: u64) -> Result<(), String> {
        let name = &self.spec.name;
        if !self.status.state.is_up() {
            return Err(format!("{name} is not running; start it first"));
        }
        if kind == FaultKind::Unhealthy && !self.has_health_check {
            return Err(format!("{name} defines no health check"));
        }
        self.clear_fault(now_ms);
        self.fault = Some(Fault {
            kind,
            steps_left: steps.max(1),
            flip_in: 1,
            injected: true,
        });
        // Visible in the very next sample, not a step later.
        match kind {
            FaultKind::CrashLoop => self.crash(1),
            FaultKind::Unhealthy => self.status.health = HealthState::Unhealthy,
            FaultKind::Hot => self.stats.cpu_percent = self.load.cpu_limit * 0.97,
        }
        Ok(())
    }

    /// Ends the container's fault; a crash-looping container comes back up.
    pub fn clear_fault(&mut self, now_ms: u64) {
        let Some(fault) = self.fault.take() else {
            return;
        };
        if fault.kind == FaultKind::CrashLoop && self.status.state == ContainerState::Restarting {
            self.status.restart_count += 1;
            self.begin_run(now_ms);
        }
        if fault.kind == FaultKind::Unhealthy && self.status.state == ContainerState::Running {
            self.status.health = HealthState::Healthy;
        }
    }

    fn crash(&mut self, exit_code: i32) {
        self.status.state = ContainerState::Restarting;
        self.status.started_unix_ms = 0;
        self.status.exit_code = exit_code;
        self.status.health = HealthState::None;
    }

    /// Puts the container into a fresh run (start, restart, crash-loop recovery).
    pub fn begin_run(&mut self, now_ms: u64) {
        self.status.state = ContainerState::Running;
        self.status.started_unix_ms = now_ms;
        self.status.exit_code = 0;
        self.starting_steps = super::images::STARTING_STEPS;
        self.status.health = if self.has_health_check {
            HealthState::Starting
        } else {
            HealthState::None
        };
    }

    /// Stops the container the way `docker stop` does.
    pub fn stop(&mut self) {
        self.status.state = ContainerState::Exited;
        self.status.started_unix_ms = 0;
        self.status.exit_code = 0;
        self.status.health = HealthState::None;
        self.fault = None;
        self.zero_stats();
    }

    fn zero_stats(&mut self) {
        self.stats = ContainerStats {
            memory_limit_bytes: self.load.mem_limit,
            ..Default::default()
        };
    }

    /// Moves the container one step of `dt_secs` on; `t_secs` is simulated time since start.
    pub fn step(&mut self, rng: &mut SmallRng, t_secs: f32, dt_secs: f32, now_ms: u64) {
        self.step_fault(rng, now_ms);
        if self.status.state != ContainerState::Running {
            if self.stats.cpu_percent != 0.0 || self.stats.memory_used_bytes != 0 {
                self.zero_stats();
            }
            return;
        }
        self.step_health();
        self.step_load(rng, t_secs, dt_secs);
    }

    fn step_fault(&mut self, rng: &mut SmallRng, now_ms: u64) {
        let Some(mut fault) = self.fault else { return };
        if fault.steps_left != UNTIL_CLEARED {
            fault.steps_left = fault.steps_left.saturating_sub(1);
        }
        if fault.kind == FaultKind::CrashLoop {
            fault.flip_in = fault.flip_in.saturating_sub(1);
            match self.status.state {
                ContainerState::Running if fault.flip_in == 0 && fault.steps_left > 0 => {
                    self.crash(if rng.random_bool(0.5) { 1 } else { 137 });
                    fault.flip_in = if fault.injected {
                        1
                    } else {
                        rng.random_range(2..6)
                    };
                }
                ContainerState::Restarting if fault.flip_in == 0 || fault.steps_left == 0 => {
                    self.status.restart_count += 1;
                    self.begin_run(now_ms);
                    fault.flip_in = if fault.injected {
                        1
                    } else {
                        rng.random_range(3..10)
                    };
                }
                _ => {}
            }
        }
        self.fault = (fault.steps_left > 0).then_some(fault);
    }

    fn step_health(&mut self) {
        if !self.has_health_check {
            return;
        }
        let unhealthy = matches!(self.fault, Some(f) if f.kind == FaultKind::Unhealthy);
        self.status.health = if unhealthy {
            HealthState::Unhealthy
        } else if self.starting_steps > 0 {
            self.starting_steps -= 1;
            HealthState::Starting
        } else if self.failing_image {
            // A bad image starts like any other and fails once its start period is over.
            HealthState::Unhealthy
        } else {
            HealthState::Healthy
        };
    }

    fn step_load(&mut self, rng: &mut SmallRng, t_secs: f32, dt_secs: f32) {
        let l = &self.load;
        let slow = (TAU * t_secs / l.slow_period_secs + l.phase).sin();
        let fast = (TAU * t_secs / l.fast_period_secs + 2.0 * l.phase).sin();
        let mut cpu = l.cpu_base * (1.0 + 0.45 * slow + 0.15 * fast) * (1.0 + 0.15 * noise(rng));
        if self.spike_steps > 0 {
            self.spike_steps -= 1;
            cpu *= self.spike_factor;
        } else if rng.random_bool((SPIKE_PER_SEC * f64::from(dt_secs)).min(1.0)) {
            self.spike_steps = (rng.random_range(10.0..60.0) / dt_secs.max(0.001)) as u32;
            self.spike_factor = rng.random_range(2.0..5.0);
        }
        let hot = matches!(self.fault, Some(f) if f.kind == FaultKind::Hot);
        if hot {
            cpu = l.cpu_limit * rng.random_range(0.93..0.995);
        }
        let cpu = cpu.clamp(0.0, l.cpu_limit);
        let mem_target = l.mem_base * (1.0 + 0.12 * slow) * if hot { 1.3 } else { 1.0 };
        self.mem_now += (mem_target - self.mem_now) * 0.05 + 0.002 * l.mem_base * noise(rng);
        let mem = (self.mem_now.max(0.0) as u64).min(l.mem_limit) / PAGE_BYTES * PAGE_BYTES;
        let activity = cpu / l.cpu_base.max(0.1);
        let rx = l.net_rx * activity.min(4.0) * (1.0 + 0.2 * noise(rng));
        let busy_disk = rng.random_bool(0.6);
        self.stats = ContainerStats {
            cpu_percent: (cpu * 10.0).round() / 10.0,
            memory_used_bytes: mem,
            memory_limit_bytes: l.mem_limit,
            net_rx_bytes_per_sec: rx.max(0.0) as u64,
            net_tx_bytes_per_sec: (rx * l.tx_ratio).max(0.0) as u64,
            block_read_bytes_per_sec: if busy_disk {
                (l.blk_read * rng.random::<f32>()) as u64
            } else {
                0
            },
            block_write_bytes_per_sec: if busy_disk {
                (l.blk_write * activity.min(3.0) * rng.random::<f32>()) as u64
            } else {
                0
            },
        };
    }

    /// What the load curves give at `t_secs` (negative: before the simulation started),
    /// without spikes or faults: (CPU percent, memory bytes, network bytes/s in and out).
    /// `noise` in [-1, 1] is the caller's. `None` when the container is not running.
    pub fn curve_at(&self, t_secs: f32, noise: f32) -> Option<(f32, u64, u64)> {
        if self.status.state != ContainerState::Running {
            return None;
        }
        let l = &self.load;
        let slow = (TAU * t_secs / l.slow_period_secs + l.phase).sin();
        let fast = (TAU * t_secs / l.fast_period_secs + 2.0 * l.phase).sin();
        let cpu = (l.cpu_base * (1.0 + 0.45 * slow + 0.15 * fast) * (1.0 + 0.15 * noise))
            .clamp(0.0, l.cpu_limit);
        let mem = ((l.mem_base * (1.0 + 0.12 * slow)).max(0.0) as u64).min(l.mem_limit);
        let rx = l.net_rx * (cpu / l.cpu_base.max(0.1)).min(4.0);
        let net = (rx * (1.0 + l.tx_ratio)).max(0.0) as u64;
        Some(((cpu * 10.0).round() / 10.0, mem, net))
    }

    /// Typical CPU, percent of one core (for sizing the host).
    pub fn cpu_base(&self) -> f32 {
        self.load.cpu_base
    }

    /// Typical memory, bytes (for sizing the host).
    pub fn mem_base(&self) -> f32 {
        self.load.mem_base
    }
}
