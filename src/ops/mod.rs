//! Operations on the fleet: the console coordinates what its operator asks across nodes
//! (migrate, scale, backup/restore, failover, drain, cordon, start/stop/restart).
//!
//! How to use it from another feature (an alert, the command palette, a script):
//!
//! 1. Describe what should happen as a [`Proposal`], e.g.
//!    `Proposal::Migrate { node: "node-02".into(), container: "db-1".into(), to: None }`.
//! 2. In the TUI, send `Action::Propose(proposal)` to `App::update`: the console plans it
//!    against the fleet it sees and opens the confirmation dialog pre-filled with the exact
//!    plan; the operator confirms (or types the node name for whole-node actions) and the
//!    work runs as a task whose progress comes back as `Action::Op` events.
//! 3. Outside the TUI, call [`plan::plan`] with a [`model::Fleet`](crate::model::Fleet) and
//!    run the [`Plan`] with [`exec::Executor::run`].
//!
//! Planning is pure (no I/O) so it can run inside `update`; executing is async and only
//! ever happens in tasks.

pub mod exec;
pub mod fence;
pub mod history;
pub mod intent;
pub mod link;
pub mod placement;
pub mod plan;
pub mod runner;
pub mod specs;

use std::collections::BTreeMap;

pub use fleetdeck_core::spec::PortableSpec;
pub use history::{ActionLog, Entry, EntryState};
pub use plan::{Plan, PlanError, Step};
pub use runner::start;

/// Something an operator (or a feature on their behalf) proposes to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Proposal {
    /// Move a container to another node (best-fit when `to` is `None`).
    Migrate {
        node: String,
        container: String,
        to: Option<String>,
    },
    /// Set a service's replica count across the fleet.
    Scale { service: String, replicas: usize },
    /// Re-create a FAILED node's containers on healthy nodes.
    Failover { node: String },
    /// Cordon a node and migrate everything off it.
    Drain { node: String },
    /// MAINTENANCE: no new placements.
    Cordon { node: String },
    /// Back to the mode before the cordon.
    Uncordon { node: String },
    /// Back up one container, or every container of the node when `container` is `None`.
    Backup {
        node: String,
        container: Option<String>,
    },
    /// Restore `backup` on `node`; when another node holds it (`backup.node`), its archive
    /// is copied to `node` first.
    Restore { node: String, backup: BackupInfo },
    /// Restart a service (`image` `None`) or move it to a new image, one replica at a
    /// time, gated on health, never more than `max_unavailable` replicas down; a replica
    /// that does not become healthy rolls back those already replaced unless `rollback`
    /// is false.
    Rollout {
        service: String,
        image: Option<String>,
        max_unavailable: usize,
        rollback: bool,
    },
    /// Start, stop or restart one container.
    Container {
        node: String,
        container: String,
        verb: Verb,
    },
}

impl From<&crate::alerts::Proposal> for Proposal {
    fn from(p: &crate::alerts::Proposal) -> Self {
        use crate::alerts::Proposal as P;
        match p {
            P::Migrate {
                container,
                from,
                to,
            } => Self::Migrate {
                node: from.clone(),
                container: container.clone(),
                to: Some(to.clone()),
            },
            P::Scale {
                service, replicas, ..
            } => Self::Scale {
                service: service.clone(),
                replicas: *replicas,
            },
            P::Failover { node } => Self::Failover { node: node.clone() },
        }
    }
}

/// Start, stop or restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

impl Proposal {
    /// Short name of the kind of action (`migrate`, `scale`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Migrate { .. } => "migrate",
            Self::Scale { .. } => "scale",
            Self::Failover { .. } => "failover",
            Self::Drain { .. } => "drain",
            Self::Cordon { .. } => "cordon",
            Self::Uncordon { .. } => "uncordon",
            Self::Backup { .. } => "backup",
            Self::Restore { .. } => "restore",
            Self::Rollout { .. } => "rollout",
            Self::Container { verb, .. } => verb.as_str(),
        }
    }
}

/// A backup as a node lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct BackupInfo {
    pub id: String,
    pub container: String,
    pub service: String,
    pub node: String,
    pub created_unix_ms: u64,
    pub size_bytes: u64,
    pub sha256: String,
}

impl BackupInfo {
    /// From the wire.
    pub fn from_wire(b: fleetdeck_proto::BackupInfo) -> Self {
        Self {
            id: b.id,
            container: b.container,
            service: b.service,
            node: b.node_id,
            created_unix_ms: b.created_unix_ms,
            size_bytes: b.size_bytes,
            sha256: b.sha256,
        }
    }
}

/// What an operation task reports back to the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum OpEvent {
    /// A step moved on.
    Progress {
        op: u64,
        stage: String,
        percent: f32,
        message: String,
    },
    /// The operation ended.
    Finished { op: u64, outcome: Outcome },
    /// Backups listed for the restore picker.
    Backups {
        node: String,
        list: Result<Vec<BackupInfo>, String>,
    },
    /// Images listed for a rollout's plan.
    Images {
        node: String,
        list: Result<Vec<fleetdeck_core::image::EngineImage>, String>,
    },
    /// The spec cache was refreshed.
    SpecsRefreshed { cache: Box<specs::SpecCache> },
    /// The failover records as they are on disk now.
    Failovers(fence::Failovers),
    /// The locks other consoles hold in etcd now, or why they cannot be read.
    Locks(Result<Vec<crate::coord::Held>, String>),
    /// The intents the agents hold now (every console's actions in flight or interrupted).
    Intents(Vec<intent::IntentInfo>),
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(String),
    Failed(String),
    /// Cancelled by the operator; what was undone.
    Cancelled(String),
}

/// Labels a failover copy carries.
pub fn failover_labels(node: &str, container: &str, epoch: u64) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            fleetdeck_core::labels::REPLACES_LABEL.to_owned(),
            format!("{node}/{container}"),
        ),
        (
            fleetdeck_core::labels::REPLACES_EPOCH_LABEL.to_owned(),
            epoch.to_string(),
        ),
    ])
}

/// `1.2GiB` style sizes.
pub use fleetdeck_core::format::bytes as human_bytes;

/// The endpoints a periodic call over the fleet asks now: each one `changed` says moved
/// (or was never heard), and in turn a `1/every` share of the rest, so every endpoint is
/// asked at least once in `every` calls; `turn` keeps the place between calls.
pub(crate) fn due_in_turn<'a>(
    endpoints: &'a [String],
    turn: &mut usize,
    every: usize,
    changed: impl Fn(&str) -> bool,
) -> Vec<&'a String> {
    let n = endpoints.len().max(1);
    let share = endpoints.len().div_ceil(every);
    let from = *turn % n;
    *turn = turn.wrapping_add(share);
    endpoints
        .iter()
        .enumerate()
        .filter(|(i, e)| (i + n - from) % n < share || changed(e))
        .map(|(_, e)| e)
        .collect()
}
