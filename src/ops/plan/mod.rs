//! Planning: what exactly an action will do, worked out from the fleet the console sees.
//! Pure, so the TUI can plan inside `update` and show the plan before anything happens.
//!
//! One file per action; every node an action acts on or places a copy on goes through
//! [`checks::check`] (fencing, liveness, room, host ports on a shared engine), so no
//! action can skip a check another one makes.

mod backup;
mod checks;
mod container;
mod drain;
mod failover;
pub mod migrate;
mod mode;
mod names;
mod restore;
pub mod rollout;
mod scale;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

use super::placement::{self, Demand, Room};
use super::specs::SpecCache;
use super::{BackupInfo, PortableSpec, Proposal, Verb, failover_labels, human_bytes};
use crate::model::{Container, Fleet, Node};
use checks::{Role, Unfit};

pub use names::name_free;

/// A node as a step addresses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeRef {
    pub name: String,
    pub endpoint: String,
}

impl NodeRef {
    pub(super) fn of(n: &Node) -> Self {
        Self {
            name: n.name().to_string(),
            endpoint: n.endpoint.clone(),
        }
    }

    fn at(r: &Room) -> Self {
        Self {
            name: r.name.clone(),
            endpoint: r.endpoint.clone(),
        }
    }
}

/// One step of a plan, run in order (written with an intent, so a resume can run only
/// the steps not done).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// Make-before-break move of one container.
    Migrate {
        from: NodeRef,
        container_id: String,
        name: String,
        /// Name of the copy: the same unless the target already has a container by that
        /// name (names are per node), then the service's next free replica number.
        new_name: String,
        to: NodeRef,
        bytes: u64,
    },
    /// Create a container from a spec and start it.
    Create {
        on: NodeRef,
        spec: Box<PortableSpec>,
        labels: BTreeMap<String, String>,
    },
    /// Create a new replica from a running one's spec (read when the step runs).
    Replicate {
        on: NodeRef,
        template: NodeRef,
        template_id: String,
        name: String,
    },
    /// Stop and remove a container.
    Remove {
        on: NodeRef,
        container_id: String,
        name: String,
    },
    /// Start, stop or restart.
    Verb {
        on: NodeRef,
        container_id: String,
        name: String,
        verb: Verb,
    },
    /// Cordon (true) or uncordon.
    Mode { on: NodeRef, cordon: bool },
    /// Start a drain: MAINTENANCE, which the agent allows admins only.
    Drain { on: NodeRef },
    /// Back up one container.
    Backup {
        on: NodeRef,
        container_id: String,
        name: String,
    },
    /// Copy a backup from the node holding it into another node's registry, streamed
    /// between the agents (the target checks size and SHA-256 on arrival).
    CopyBackup {
        from: NodeRef,
        to: NodeRef,
        backup_id: String,
        bytes: u64,
    },
    /// Restore a backup held by the node.
    Restore {
        on: NodeRef,
        backup_id: String,
        overwrite: bool,
    },
    /// Remember a failover in the console's state dir, for fencing when the node returns.
    RecordFailover {
        node: String,
        epoch: u64,
        names: Vec<String>,
    },
    /// Replace a service's replicas one at a time, gated on health.
    Rollout(Box<rollout::Rollout>),
    /// Record something in a node's audit log.
    Note {
        on: NodeRef,
        kind: String,
        target: String,
        message: String,
    },
}

impl Step {
    /// The nodes this step calls.
    pub fn nodes(&self) -> Vec<&NodeRef> {
        match self {
            Self::Migrate { from, to, .. } | Self::CopyBackup { from, to, .. } => vec![from, to],
            Self::Create { on, .. }
            | Self::Replicate { on, .. }
            | Self::Remove { on, .. }
            | Self::Verb { on, .. }
            | Self::Mode { on, .. }
            | Self::Drain { on }
            | Self::Backup { on, .. }
            | Self::Restore { on, .. }
            | Self::Note { on, .. } => vec![on],
            Self::Rollout(r) => r.replicas.iter().map(|x| &x.on).collect(),
            Self::RecordFailover { .. } => Vec::new(),
        }
    }
}

/// What an action will do, shown before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub proposal: Proposal,
    /// One line: "Migrate db-1 from node-01 to node-03".
    pub title: String,
    /// The exact plan, one line per effect.
    pub lines: Vec<String>,
    /// Volume data to move or write.
    pub data_bytes: u64,
    /// A name the operator must type to confirm (whole-node or data-overwriting actions).
    pub confirm: Option<String>,
    pub steps: Vec<Step>,
}

/// Why an action cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NoCapacity(String),
    #[error("this console is read-only (--read-only): it shows the fleet but changes nothing")]
    ReadOnly,
    #[error("{0} came back after a failover: its stale copies are being stopped first")]
    Fencing(String),
    /// Another console's live action overlaps: the line names the holder.
    #[error("{0}")]
    Claimed(String),
}

/// What planning looks at.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub fleet: &'a Fleet,
    pub now: Instant,
    pub specs: &'a SpecCache,
    /// Nodes waiting to be fenced: no action may touch them first.
    pub fencing: &'a [String],
    pub read_only: bool,
    /// Actions in flight as the agents hold them: one of another console that overlaps
    /// refuses the plan.
    pub claims: &'a [super::intent::IntentInfo],
}

fn not_found(what: String) -> PlanError {
    PlanError::NotFound(what)
}

impl<'a> PlanInput<'a> {
    /// Whether `node` waits to be fenced after a failover.
    fn is_fencing(&self, node: &str) -> bool {
        self.fencing.iter().any(|f| f == node)
    }

    /// The node named `name` (or at endpoint `name`), whatever its state.
    fn find(&self, name: &str) -> Option<&'a Node> {
        self.fleet
            .nodes()
            .iter()
            .find(|n| n.name() == name || n.endpoint == name)
    }

    /// The node named `name`, which an action is about to act on: it answers and does not
    /// wait to be fenced.
    pub(super) fn live_node(&self, name: &str) -> Result<&'a Node, PlanError> {
        let node = self.find(name).ok_or_else(|| {
            not_found(format!(
                "no node named `{name}`; `fleetdeck get nodes` lists them"
            ))
        })?;
        checks::check(self, node, Role::Act).map_err(|why| self.refusal(node, why))?;
        Ok(node)
    }

    /// The error for `node` failing a check as a node to act on.
    fn refusal(&self, node: &Node, why: Unfit) -> PlanError {
        match why {
            Unfit::Fencing => PlanError::Fencing(node.name().to_string()),
            _ => PlanError::Invalid(format!(
                "{} is {}: its agent does not answer",
                node.name(),
                node.state(self.now, self.fleet.failover_timeout()).as_str()
            )),
        }
    }

    /// Nodes that may take placements now, with their room; never one waiting to be fenced.
    fn rooms(&self) -> Vec<Room> {
        placement::rooms(self.fleet, self.now, self.fencing)
    }

    /// The container named `target` (name, id or id prefix) on `node`, or anywhere when
    /// `node` is empty.
    fn container(&self, node: &str, target: &str) -> Result<(&'a Node, &'a Container), PlanError> {
        if node.is_empty() {
            let found: Vec<(&Node, &Container)> = self
                .fleet
                .nodes()
                .iter()
                .filter(|n| n.is_live())
                .flat_map(|n| n.containers.values().map(move |c| (n, c)))
                .filter(|(_, c)| names::matches(c, target))
                .collect();
            return match found.as_slice() {
                [] => Err(not_found(format!(
                    "no container `{target}` on a reachable node; `fleetdeck get containers` lists them"
                ))),
                [(n, c)] => {
                    self.live_node(n.name())?;
                    Ok((*n, *c))
                }
                several => Err(PlanError::Invalid(format!(
                    "`{target}` names containers on several nodes ({}); give --node",
                    several
                        .iter()
                        .map(|(n, _)| n.name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            };
        }
        let n = self.live_node(node)?;
        let c = n
            .containers
            .values()
            .find(|c| names::matches(c, target))
            .ok_or_else(|| not_found(format!("no container `{target}` on {}", n.name())))?;
        Ok((n, c))
    }

    /// The running replicas of `service` on nodes that may be acted on, by name; a replica
    /// on a node waiting to be fenced is a stale copy about to be stopped: it is not
    /// counted, copied or replaced. None is an error (`why`: what it was wanted for).
    fn replicas(
        &self,
        service: &str,
        why: &str,
    ) -> Result<Vec<(&'a Node, &'a Container)>, PlanError> {
        let (mut current, fencing): (Vec<(&Node, &Container)>, Vec<_>) = self
            .fleet
            .nodes()
            .iter()
            .filter(|n| n.is_live())
            .flat_map(|n| n.containers.values().map(move |c| (n, c)))
            .filter(|(_, c)| *c.spec.service == *service && c.is_active())
            .partition(|(n, _)| checks::check(self, n, Role::Act).is_ok());
        if current.is_empty() {
            if let Some((n, _)) = fencing.first() {
                return Err(PlanError::Fencing(n.name().to_string()));
            }
            return Err(PlanError::NotFound(format!(
                "no running replica of service `{service}` {why}; `fleetdeck get containers` lists services"
            )));
        }
        current.sort_by(|a, b| crate::app::natural_cmp(&a.1.spec.name, &b.1.spec.name));
        Ok(current)
    }

    fn bytes_of(&self, node: &str, name: &str) -> Option<u64> {
        self.specs.get(node, name).map(|s| s.spec.volume_bytes)
    }
}

/// Works out the plan for `p`.
pub fn plan(input: &PlanInput<'_>, p: &Proposal) -> Result<Plan, PlanError> {
    if input.read_only {
        return Err(PlanError::ReadOnly);
    }
    let plan = plan_one(input, p)?;
    match super::intent::refusal(input.claims, &plan) {
        Some(line) => Err(PlanError::Claimed(line)),
        None => Ok(plan),
    }
}

fn plan_one(input: &PlanInput<'_>, p: &Proposal) -> Result<Plan, PlanError> {
    match p {
        Proposal::Migrate {
            node,
            container,
            to,
        } => migrate::plan(input, node, container, to.as_deref()),
        Proposal::Scale { service, replicas } => scale::plan(input, service, *replicas),
        Proposal::Failover { node } => failover::plan(input, node),
        Proposal::Drain { node } => drain::plan(input, node),
        Proposal::Cordon { node } => mode::plan(input, node, true),
        Proposal::Uncordon { node } => mode::plan(input, node, false),
        Proposal::Backup { node, container } => backup::plan(input, node, container.as_deref()),
        Proposal::Restore { node, backup } => restore::plan(input, node, backup),
        Proposal::Rollout {
            service,
            image,
            max_unavailable,
            rollback,
        } => rollout::plan(
            input,
            service,
            image.as_deref(),
            *max_unavailable,
            *rollback,
        ),
        Proposal::Container {
            node,
            container,
            verb,
        } => container::plan(input, node, container, *verb),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn no_room(name: &str, d: Demand, rooms: &[Room]) -> PlanError {
    let best_mem = rooms.iter().map(|r| r.free_memory_bytes).max().unwrap_or(0);
    let best_cpu = rooms
        .iter()
        .map(|r| r.free_cpu_percent)
        .fold(0.0_f32, f32::max);
    PlanError::NoCapacity(format!(
        "no node has room for {name}: it needs {} memory and {:.0}% CPU; the most free is {} and {:.0}%",
        human_bytes(d.memory_bytes),
        d.cpu_percent,
        human_bytes(best_mem),
        best_cpu
    ))
}
