//! One container as the console knows it.

use std::sync::Arc;

use fleetdeck_core::container::{ContainerStats, PortMapping};
use fleetdeck_core::spec::{ContainerState, HealthState};

use super::{Labels, Scale, Series};

/// Samples of per-container history kept for sparklines (one per agent sample).
pub const CONTAINER_HISTORY_SAMPLES: usize = 60;

/// Everything about a container except its live figures: what an upsert carries. Image,
/// service and labels are shared with the containers that repeat them (see
/// [`super::Interner`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerSpec {
    /// Agent-chosen key, unique within one agent epoch.
    pub key: u32,
    pub id: String,
    pub name: String,
    pub image: Arc<str>,
    pub service: Arc<str>,
    pub state: ContainerState,
    pub health: HealthState,
    pub restart_count: u32,
    pub created_unix_ms: u64,
    /// 0 when not running.
    pub started_unix_ms: u64,
    pub labels: Labels,
    pub ports: Vec<PortMapping>,
    pub exit_code: i32,
}

/// A container with its latest figures and recent history.
#[derive(Debug, Clone)]
pub struct Container {
    pub spec: ContainerSpec,
    pub stats: ContainerStats,
    pub cpu_history: Series,
    pub memory_history: Series,
    /// Samples recorded since the node's stream (re)opened: the agent's history goes
    /// before them.
    pub live_samples: usize,
}

impl Container {
    /// A container first seen with these figures.
    pub fn new(spec: ContainerSpec, stats: ContainerStats) -> Self {
        let mut c = Self {
            spec,
            stats,
            cpu_history: Series::new(CONTAINER_HISTORY_SAMPLES, Scale::Tenths),
            memory_history: Series::new(CONTAINER_HISTORY_SAMPLES, Scale::Magnitude),
            live_samples: 0,
        };
        c.record(stats);
        c
    }

    /// Takes a new sample of figures.
    pub fn record(&mut self, stats: ContainerStats) {
        self.stats = stats;
        self.cpu_history.push(stats.cpu_percent);
        self.memory_history.push(stats.memory_used_bytes as f32);
        self.live_samples = self.live_samples.saturating_add(1);
    }

    /// True while the container is meant to be up (running or restarting).
    pub fn is_active(&self) -> bool {
        matches!(
            self.spec.state,
            ContainerState::Running | ContainerState::Restarting
        )
    }
}
