//! Plain data the agent works on. `convert` maps these to and from the wire types.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use fleetdeck_core::container::{ContainerStats, PortMapping};
pub use fleetdeck_core::labels::{
    FENCED_LABEL, PENDING_LABEL, REPLACES_EPOCH_LABEL, REPLACES_LABEL,
};
pub use fleetdeck_core::node::{
    CheckStatus, HealthCheck, HostSample, NodeInfo, NodeMode, NodeStatus,
};
pub use fleetdeck_core::spec::{ContainerState, HealthState, PortableSpec};

/// What a container is: fixed for its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Runtime id.
    pub id: String,
    /// Name, e.g. `web-3`.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Service it belongs to (fleetdeck.service or compose labels).
    pub service: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Creation time, ms since the Unix epoch.
    pub created_unix_ms: u64,
}

/// Where a container is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerStatus {
    /// State.
    pub state: ContainerState,
    /// Health check state.
    pub health: HealthState,
    /// Restarts done by the restart policy.
    pub restart_count: u32,
    /// Start time of the current run, ms since the Unix epoch; 0 when not running.
    pub started_unix_ms: u64,
    /// Exit code of the last run.
    pub exit_code: i32,
}

/// One container as a runtime reports it (no key yet).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSample {
    /// Fixed description, shared so sampling does not copy it.
    pub spec: Arc<ContainerSpec>,
    /// Lifecycle.
    pub status: ContainerStatus,
    /// Fresh figures.
    pub stats: ContainerStats,
}

/// One container as the agent publishes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Per-epoch key, never reused.
    pub key: u32,
    /// Fixed description.
    pub spec: Arc<ContainerSpec>,
    /// Lifecycle.
    pub status: ContainerStatus,
    /// Latest figures.
    pub stats: ContainerStats,
}

/// Full state of a node at one version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Node description.
    pub node: NodeInfo,
    /// Latest host sample.
    pub host: HostSample,
    /// Containers ordered by key.
    pub containers: Vec<Container>,
    /// Agent checks.
    pub health: Vec<HealthCheck>,
}

/// Changes between two versions of a node's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// New host sample, when its figures changed.
    pub host: Option<HostSample>,
    /// New containers or containers whose spec, state or health changed.
    pub upserts: Vec<Container>,
    /// Keys of containers that are gone.
    pub removed: Vec<u32>,
    /// Fresh figures of otherwise unchanged containers: (key, stats).
    pub stats: Vec<(u32, ContainerStats)>,
    /// Checks whose status or message changed.
    pub health: Vec<HealthCheck>,
    /// New mode or labels.
    pub status: Option<NodeStatus>,
}

impl Delta {
    /// True when the delta carries nothing.
    pub fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.upserts.is_empty()
            && self.removed.is_empty()
            && self.stats.is_empty()
            && self.health.is_empty()
            && self.status.is_none()
    }
}

/// Verb on one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerVerb {
    /// Start a stopped container.
    Start,
    /// Stop a running container.
    Stop,
    /// Stop and start again.
    Restart,
    /// Stop if needed, then remove.
    Remove,
    /// Mark a migration copy as finished (clears its pending label).
    Commit,
}

impl ContainerVerb {
    /// snake_case name, as in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Remove => "remove",
            Self::Commit => "commit",
        }
    }
}

/// Verb on the node itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeVerb {
    /// MAINTENANCE: no new placements.
    Cordon,
    /// Back to the mode before the cordon.
    Uncordon,
    /// STANDBY.
    SetStandby,
    /// ACTIVE.
    SetActive,
    /// MAINTENANCE as the first step of a drain (admin's).
    Drain,
}

impl NodeVerb {
    /// snake_case name, as in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::SetStandby => "set_standby",
            Self::SetActive => "set_active",
            Self::Drain => "drain",
        }
    }
}

/// A validated action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// On a container named by id, id prefix or name.
    Container {
        /// What to do.
        verb: ContainerVerb,
        /// Which container.
        target: String,
    },
    /// On the node.
    Node {
        /// What to do.
        verb: NodeVerb,
    },
    /// Create (not start) a container from a portable spec, with extra labels.
    Create {
        /// What to create.
        spec: Box<PortableSpec>,
        /// Labels added to the spec's.
        labels: BTreeMap<String, String>,
    },
    /// Archive a container's configuration and volume data.
    Backup {
        /// Which container.
        target: String,
        /// Retention: most backups kept per container (0 = default).
        keep_count: u32,
        /// Retention: oldest backup kept, seconds (0 = default).
        keep_secs: u64,
    },
    /// Restore a backup held by this node.
    Restore {
        /// Which backup.
        backup_id: String,
        /// Write over an existing container.
        overwrite: bool,
    },
    /// Record what a console did elsewhere (a failover) in the audit log.
    Note {
        /// e.g. `failover`.
        kind: String,
        /// What it was about.
        target: String,
        /// Details.
        message: String,
    },
    /// A fault put on (or cleared from) a simulated container.
    SimFault {
        /// Which fault.
        kind: SimFaultKind,
        /// Which container (id, id prefix or name).
        target: String,
        /// How long it lasts; `None` = until cleared.
        duration: Option<std::time::Duration>,
    },
}

/// A fault the sim runtime can put on a container on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimFaultKind {
    /// RESTARTING <-> RUNNING with a climbing restart count.
    CrashLoop,
    /// Health check failing.
    Unhealthy,
    /// CPU pinned near the container's limit.
    CpuSpike,
    /// Ends whatever fault the container has.
    Clear,
}

impl SimFaultKind {
    /// snake_case name, as in the audit log and the `--fault` flag.
    pub fn name(self) -> &'static str {
        match self {
            Self::CrashLoop => "crash_loop",
            Self::Unhealthy => "unhealthy",
            Self::CpuSpike => "cpu_spike",
            Self::Clear => "clear",
        }
    }
}

/// A successful action's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Done {
    /// Human explanation.
    pub message: String,
    /// Container the action created.
    pub container_id: String,
    /// Backup the action made.
    pub backup_id: String,
}

impl From<&str> for Done {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl From<String> for Done {
    fn from(message: String) -> Self {
        Self {
            message,
            ..Self::default()
        }
    }
}

/// Why an action was refused or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActErrorKind {
    /// Malformed request.
    Invalid,
    /// Target does not exist.
    NotFound,
    /// Conflicts with the current state.
    Conflict,
    /// Not enough room.
    NoCapacity,
    /// The runtime failed.
    Runtime,
    /// Stopped before it finished.
    Cancelled,
    /// Not supported by this agent or runtime.
    Unsupported,
    /// Not allowed.
    Denied,
}

/// A typed action error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ActError {
    /// Category.
    pub kind: ActErrorKind,
    /// Human explanation.
    pub message: String,
}

impl ActError {
    /// Builds an error of `kind`.
    pub fn new(kind: ActErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}
