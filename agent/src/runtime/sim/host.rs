//! The simulated host under a sim node: sized to its containers, loaded by them.

use rand::Rng;
use rand::rngs::SmallRng;

use fleetdeck_core::history::NodePoint;

use super::load::SimContainer;
use crate::model::{ContainerState, HostSample};

const GIB: u64 = 1024 * 1024 * 1024;
const CORE_TIERS: [u32; 6] = [4, 8, 12, 16, 24, 32];
const MEMORY_TIERS_GIB: [u64; 6] = [16, 32, 48, 64, 96, 128];
const DISK_TIERS_GIB: [u64; 4] = [256, 512, 1024, 2048];
/// Share of written bytes that stay on disk (the rest overwrites).
const DISK_GROWTH_SHARE: f64 = 0.02;

/// Fixed facts and slow-moving state of a simulated host.
#[derive(Debug, Clone)]
pub(super) struct SimHost {
    pub cores: u32,
    pub memory_total: u64,
    pub disk_total: u64,
    swap_total: u64,
    swap_base: u64,
    disk_used: f64,
    os_memory: u64,
    base_cpu: f32,
    boot_age_secs: u64,
    core_weights: Vec<f32>,
    net_base: f32,
    load: [f32; 3],
}

/// Smallest tier at or above `need`, sometimes one higher.
fn tier<T: Copy + PartialOrd>(rng: &mut SmallRng, tiers: &[T], need: T) -> T {
    let i = tiers
        .iter()
        .position(|t| *t >= need)
        .unwrap_or(tiers.len() - 1);
    let bump = usize::from(rng.random_bool(0.3));
    tiers[(i + bump).min(tiers.len() - 1)]
}

impl SimHost {
    /// Sizes a host that carries `containers` at moderate load.
    pub fn new(rng: &mut SmallRng, containers: &[SimContainer]) -> Self {
        let cpu_need: f32 = containers.iter().map(SimContainer::cpu_base).sum::<f32>() / 100.0;
        let cores = tier(rng, &CORE_TIERS, (cpu_need / 0.35).ceil() as u32);
        let mem_need: f32 = containers.iter().map(SimContainer::mem_base).sum();
        let os_memory = rng.random_range(GIB..3 * GIB);
        let mem_need_gib = ((mem_need as u64 + os_memory) as f64 / 0.6 / GIB as f64).ceil() as u64;
        let memory_total = tier(rng, &MEMORY_TIERS_GIB, mem_need_gib) * GIB;
        let disk_total = DISK_TIERS_GIB[rng.random_range(0..DISK_TIERS_GIB.len())] * GIB;
        let swap_total = [0, 2, 4, 8][rng.random_range(0..4)] * GIB;
        Self {
            cores,
            memory_total,
            disk_total,
            swap_total,
            swap_base: swap_total / rng.random_range(20..200),
            disk_used: disk_total as f64 * rng.random_range(0.25..0.7),
            os_memory,
            base_cpu: rng.random_range(1.0..5.0),
            boot_age_secs: rng.random_range(86_400..90 * 86_400),
            core_weights: (0..cores).map(|_| rng.random_range(0.6..1.4)).collect(),
            net_base: rng.random_range(2_000.0..20_000.0),
            load: [0.0; 3],
        }
    }

    /// The host's figures for a generated past moment: its containers' CPU (summed percent
    /// of one core), memory and network (bytes, bytes/s), `containers` on the node.
    pub fn past_point(&self, cpu_sum: f32, memory: u64, net: u64, containers: usize) -> NodePoint {
        let cpu = (self.base_cpu + cpu_sum / self.cores as f32).clamp(0.0, 100.0);
        let used = (self.os_memory + memory).min(self.memory_total);
        let memory_percent = used as f32 / self.memory_total.max(1) as f32 * 100.0;
        let net = net + (self.net_base * 1.6) as u64;
        NodePoint::new(cpu, memory_percent, net, containers)
    }

    /// The host's figures after a step of `dt_secs`, `t_secs` into the simulation.
    pub fn sample(
        &mut self,
        rng: &mut SmallRng,
        containers: &[SimContainer],
        now_ms: u64,
        t_secs: f64,
        dt_secs: f64,
    ) -> HostSample {
        let (mut cpu_sum, mut mem, mut rx, mut tx, mut written) = (0.0_f32, 0_u64, 0, 0, 0);
        for c in containers {
            cpu_sum += c.stats.cpu_percent;
            mem += c.stats.memory_used_bytes;
            rx += c.stats.net_rx_bytes_per_sec;
            tx += c.stats.net_tx_bytes_per_sec;
            written += c.stats.block_write_bytes_per_sec;
        }
        let restarting = containers
            .iter()
            .filter(|c| c.status.state == ContainerState::Restarting)
            .count();
        let cpu = (self.base_cpu + cpu_sum / self.cores as f32).clamp(0.0, 100.0);
        let per_core = self
            .core_weights
            .iter()
            .map(|w| {
                let c = cpu * w * rng.random_range(0.85..1.15);
                (c.clamp(0.0, 100.0) * 10.0).round() / 10.0
            })
            .collect();
        let memory_used = (self.os_memory + mem).min(self.memory_total);
        let pressure = memory_used as f64 / self.memory_total as f64;
        let swap_used = if pressure > 0.85 {
            (self.swap_base + ((pressure - 0.85) * 4.0 * self.swap_total as f64) as u64)
                .min(self.swap_total)
        } else {
            self.swap_base
        };
        self.disk_used += written as f64 * dt_secs * DISK_GROWTH_SHARE;
        if self.disk_used > self.disk_total as f64 * 0.93 {
            // Log rotation and image pruning free space now and then.
            self.disk_used -= self.disk_total as f64 * 0.08;
        }
        let runnable = cpu / 100.0 * self.cores as f32 + restarting as f32 * 0.5;
        if self.load == [0.0; 3] {
            self.load = [runnable; 3];
        }
        for (l, window_secs) in self.load.iter_mut().zip([60.0, 300.0, 900.0]) {
            let keep = (-dt_secs / window_secs).exp() as f32;
            *l = *l * keep + runnable * (1.0 - keep);
        }
        HostSample {
            time_unix_ms: now_ms,
            cpu_percent: (cpu * 10.0).round() / 10.0,
            cpu_per_core: per_core,
            memory_used_bytes: memory_used,
            memory_total_bytes: self.memory_total,
            swap_used_bytes: swap_used,
            swap_total_bytes: self.swap_total,
            disk_used_bytes: self.disk_used as u64,
            disk_total_bytes: self.disk_total,
            net_rx_bytes_per_sec: rx + self.net_base as u64,
            net_tx_bytes_per_sec: tx + (self.net_base * 0.6) as u64,
            load1: hundredths(self.load[0]),
            load5: hundredths(self.load[1]),
            load15: hundredths(self.load[2]),
            uptime_secs: self.boot_age_secs + t_secs as u64,
        }
    }
}

/// A load average as the host shows it: two decimals.
fn hundredths(l: f32) -> f32 {
    (l * 100.0).round() / 100.0
}
