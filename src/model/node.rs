//! One node: what its agent reported and how the console's link to it is doing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fleetdeck_core::node::{
    CheckStatus, HealthCheck, HostSample, NodeInfo, NodeMode, RUNTIME_CHECK,
};

use super::{Container, Series};

/// Samples of per-node history kept (10 minutes at the default 1 s interval).
pub const NODE_HISTORY_SAMPLES: usize = 600;

/// Samples of load history kept: one hour at the default 1 s interval, so the heatmap can
/// scroll back six 10-minute screens (14 KiB per node, 14 MiB for 1,000 nodes, fixed).
pub const LOAD_HISTORY_SAMPLES: usize = 3600;

/// Network rate taken as 100 % in the load formula (1 Gbit/s).
pub const NETWORK_FULL_BYTES_PER_SEC: f64 = 125_000_000.0;

/// State of a node as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    Active,
    Standby,
    Maintenance,
    /// Unreachable for longer than the failover timeout.
    Failed,
    /// Unreachable (or not reached yet): its data, if any, is stale.
    Unknown,
}

impl NodeState {
    /// Upper-case name as shown on screen and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Standby => "STANDBY",
            Self::Maintenance => "MAINTENANCE",
            Self::Failed => "FAILED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// How the console's connection to a node's agent stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Not connected yet since the console started.
    Connecting,
    /// Streaming.
    Live,
    /// Lost (or never made); `reason` says why.
    Down { since: Instant, reason: String },
}

/// One node of the fleet, addressed by its agent endpoint.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where its agent listens, as configured (`host:port`).
    pub endpoint: String,
    /// From the agent's last snapshot; `None` until the first one.
    pub info: Option<NodeInfo>,
    pub epoch: u64,
    pub seq: u64,
    pub link: Link,
    /// Console time of the last message from the agent.
    pub last_seen: Option<Instant>,
    /// Console time this node was added, the reference while it was never seen.
    pub added: Instant,
    pub host: HostSample,
    pub health: Vec<HealthCheck>,
    pub containers: HashMap<u32, Container>,
    pub cpu_history: Series,
    pub memory_history: Series,
    pub load_history: Series,
    /// Times the agent was seen restarting (epoch changes).
    pub restarts_seen: u32,
}

impl Node {
    /// A node not reached yet.
    pub fn new(endpoint: impl Into<String>, now: Instant) -> Self {
        Self {
            endpoint: endpoint.into(),
            info: None,
            epoch: 0,
            seq: 0,
            link: Link::Connecting,
            last_seen: None,
            added: now,
            host: HostSample::default(),
            health: Vec::new(),
            containers: HashMap::new(),
            cpu_history: Series::new(NODE_HISTORY_SAMPLES),
            memory_history: Series::new(NODE_HISTORY_SAMPLES),
            load_history: Series::new(LOAD_HISTORY_SAMPLES),
            restarts_seen: 0,
        }
    }

    /// Name shown for the node: its id once known, else its endpoint.
    pub fn name(&self) -> &str {
        self.info
            .as_ref()
            .map_or(self.endpoint.as_str(), |i| i.node_id.as_str())
    }

    /// True while the stream is up: its figures are live, not stale.
    pub fn is_live(&self) -> bool {
        self.link == Link::Live
    }

    /// The state shown for this node at `now`.
    pub fn state(&self, now: Instant, failover_timeout: Duration) -> NodeState {
        if self.is_live() {
            return match self
                .info
                .as_ref()
                .map(|i| i.status.mode)
                .unwrap_or_default()
            {
                NodeMode::Active => NodeState::Active,
                NodeMode::Standby => NodeState::Standby,
                NodeMode::Maintenance => NodeState::Maintenance,
            };
        }
        let reference = self.last_seen.unwrap_or(self.added);
        if now.saturating_duration_since(reference) >= failover_timeout {
            NodeState::Failed
        } else {
            NodeState::Unknown
        }
    }

    /// Time since the agent last said anything, `None` if it never did.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.last_seen.map(|t| now.saturating_duration_since(t))
    }

    /// Derived load 0-100: 0.4 cpu + 0.3 memory + 0.2 containers/max + 0.1 network.
    pub fn load(&self) -> f32 {
        let cpu = self.host.cpu_percent as f64;
        let mem = self.host.memory_percent() as f64;
        let max = self.info.as_ref().map_or(0, |i| i.max_containers);
        let containers = if max == 0 {
            0.0
        } else {
            (self.containers.len() as f64 / max as f64 * 100.0).min(100.0)
        };
        let net_rate = (self.host.net_rx_bytes_per_sec + self.host.net_tx_bytes_per_sec) as f64;
        let net = (net_rate / NETWORK_FULL_BYTES_PER_SEC * 100.0).min(100.0);
        (0.4 * cpu + 0.3 * mem + 0.2 * containers + 0.1 * net).clamp(0.0, 100.0) as f32
    }

    /// Containers running or restarting.
    pub fn active_containers(&self) -> usize {
        self.containers.values().filter(|c| c.is_active()).count()
    }

    /// True when the live agent says its container runtime does not answer: its
    /// container figures are then the last ones it saw, not the engine's present.
    pub fn runtime_down(&self) -> bool {
        self.is_live()
            && self
                .health
                .iter()
                .any(|h| h.name == RUNTIME_CHECK && h.status == CheckStatus::Failing)
    }

    /// Worst status among the agent's own checks.
    pub fn worst_check(&self) -> CheckStatus {
        self.health
            .iter()
            .map(|h| h.status)
            .max()
            .unwrap_or_default()
    }
}
