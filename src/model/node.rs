//! One node: what its agent reported and how the console's link to it is doing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fleetdeck_core::node::{
    CheckStatus, HealthCheck, HostSample, NodeInfo, NodeMode, RUNTIME_CHECK,
};

use super::minutes::LOAD_MINUTES;
use super::{Container, Minutes, Scale, Series};

/// Samples of per-node history kept (10 minutes at the default 1 s interval).
pub const NODE_HISTORY_SAMPLES: usize = 600;

/// Samples of load history kept: one hour at the default 1 s interval, so the heatmap can
/// scroll back six 10-minute screens (7 KiB per node, 7 MiB for 1,000 nodes, fixed).
pub const LOAD_HISTORY_SAMPLES: usize = 3600;

/// Network rate taken as 100 % in the load formula (1 Gbit/s).
pub const NETWORK_FULL_BYTES_PER_SEC: f64 = 125_000_000.0;

/// Derived load 0-100 of figures: 0.4 cpu + 0.3 memory + 0.2 containers/max + 0.1 network
/// (`max` 0 = unknown, counted as empty).
pub fn load_of(
    cpu_percent: f32,
    memory_percent: f32,
    containers: usize,
    max: u32,
    net_bytes_per_sec: u64,
) -> f32 {
    let containers = if max == 0 {
        0.0
    } else {
        (containers as f64 / f64::from(max) * 100.0).min(100.0)
    };
    let net = (net_bytes_per_sec as f64 / NETWORK_FULL_BYTES_PER_SEC * 100.0).min(100.0);
    let load = 0.4 * f64::from(cpu_percent)
        + 0.3 * f64::from(memory_percent)
        + 0.2 * containers
        + 0.1 * net;
    load.clamp(0.0, 100.0) as f32
}

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
    /// Load as 1-minute means for 24 hours, by agent time: the heatmap beyond
    /// `load_history`.
    pub load_minutes: Minutes,
    /// Where this connection's live samples start, until the agent's history fills what
    /// came before them (see `model::backfill`).
    pub backfill: Option<super::backfill::Mark>,
    /// Times the agent was seen restarting (epoch changes).
    pub restarts_seen: u32,
    /// The images its engine holds, as last asked (a rollout asks before it plans);
    /// `None` until then.
    pub images: Option<Vec<fleetdeck_core::image::EngineImage>>,
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
            cpu_history: Series::new(NODE_HISTORY_SAMPLES, Scale::Hundredths),
            memory_history: Series::new(NODE_HISTORY_SAMPLES, Scale::Hundredths),
            load_history: Series::new(LOAD_HISTORY_SAMPLES, Scale::Hundredths),
            load_minutes: Minutes::new(LOAD_MINUTES),
            backfill: None,
            restarts_seen: 0,
            images: None,
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
        let h = &self.host;
        load_of(
            h.cpu_percent,
            h.memory_percent(),
            self.containers.len(),
            self.max_containers(),
            h.net_rx_bytes_per_sec
                .saturating_add(h.net_tx_bytes_per_sec),
        )
    }

    /// Most containers the node is meant to hold; 0 = unknown.
    pub fn max_containers(&self) -> u32 {
        self.info.as_ref().map_or(0, |i| i.max_containers)
    }

    /// Agent time (ms) of the newest sample held; 0 before the first.
    pub fn newest_sample_ms(&self) -> u64 {
        self.host.time_unix_ms
    }

    /// How far back the load history goes, in samples of `interval` (fine samples, or
    /// minute means beyond them).
    pub fn load_retained(&self, interval: Duration) -> usize {
        let fine = self.load_history.len();
        let minutes = self.load_minutes.oldest_ms().map_or(0, |oldest| {
            let span = self.newest_sample_ms().saturating_sub(oldest);
            (span / (interval.as_millis() as u64).max(1)) as usize
        });
        fine.max(minutes)
    }

    /// The node's load `back` samples of `interval` before its newest: from the samples
    /// held while there are any, then from the minute means.
    pub fn load_back(&self, back: usize, interval: Duration) -> Option<f32> {
        if let Some(v) = self.load_history.back(back) {
            return Some(v);
        }
        let ago = (interval.as_millis() as u64).saturating_mul(back as u64);
        let at = self.newest_sample_ms().checked_sub(ago)?;
        self.load_minutes.at(at)
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
