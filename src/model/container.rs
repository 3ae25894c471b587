//! One container as the console knows it.

use std::collections::BTreeMap;

use super::Series;

/// Samples of per-container history kept for sparklines (one per agent sample).
pub const CONTAINER_HISTORY_SAMPLES: usize = 60;

/// Lifecycle state reported by the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ContainerState {
    /// The agent sent a value this console does not know.
    #[default]
    Unknown,
    Created,
    Running,
    Restarting,
    Paused,
    Exited,
    Dead,
}

impl ContainerState {
    /// Lower-case name as shown on screen and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Created => "created",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Paused => "paused",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }
}

/// Health-check status of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Health {
    /// No health check defined (or not reported).
    #[default]
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    /// Lower-case name as shown on screen and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// Resource figures of one container at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ContainerStats {
    /// Percent of one core.
    pub cpu_percent: f32,
    pub memory_used_bytes: u64,
    /// 0 = no limit.
    pub memory_limit_bytes: u64,
    pub net_rx_bytes_per_sec: u64,
    pub net_tx_bytes_per_sec: u64,
    pub block_read_bytes_per_sec: u64,
    pub block_write_bytes_per_sec: u64,
}

impl ContainerStats {
    /// Memory used as a percentage of the limit, if there is one.
    pub fn memory_percent(&self) -> Option<f32> {
        (self.memory_limit_bytes > 0).then(|| {
            (self.memory_used_bytes as f64 / self.memory_limit_bytes as f64 * 100.0) as f32
        })
    }
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Port {
    pub container_port: u16,
    pub host_port: u16,
    pub protocol: String,
    pub host_ip: String,
}

/// Everything about a container except its live figures: what an upsert carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerSpec {
    /// Agent-chosen key, unique within one agent epoch.
    pub key: u32,
    pub id: String,
    pub name: String,
    pub image: String,
    pub service: String,
    pub state: ContainerState,
    pub health: Health,
    pub restart_count: u32,
    pub created_unix_ms: u64,
    /// 0 when not running.
    pub started_unix_ms: u64,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<Port>,
    pub exit_code: i32,
}

/// A container with its latest figures and recent history.
#[derive(Debug, Clone)]
pub struct Container {
    pub spec: ContainerSpec,
    pub stats: ContainerStats,
    pub cpu_history: Series,
    pub memory_history: Series,
}

impl Container {
    /// A container first seen with these figures.
    pub fn new(spec: ContainerSpec, stats: ContainerStats) -> Self {
        let mut c = Self {
            spec,
            stats,
            cpu_history: Series::new(CONTAINER_HISTORY_SAMPLES),
            memory_history: Series::new(CONTAINER_HISTORY_SAMPLES),
        };
        c.record(stats);
        c
    }

    /// Takes a new sample of figures.
    pub fn record(&mut self, stats: ContainerStats) {
        self.stats = stats;
        self.cpu_history.push(stats.cpu_percent);
        self.memory_history.push(stats.memory_used_bytes as f32);
    }

    /// True while the container is meant to be up (running or restarting).
    pub fn is_active(&self) -> bool {
        matches!(
            self.spec.state,
            ContainerState::Running | ContainerState::Restarting
        )
    }
}
