//! Planning: what exactly an action will do, worked out from the fleet the console sees.
//! Pure, so the TUI can plan inside `update` and show the plan before anything happens.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use fleetdeck_core::labels::REPLACES_LABEL;

use super::placement::{self, Demand, Room};
use super::plan_more::port_clash;
use super::specs::SpecCache;
use super::{PortableSpec, Proposal, Verb, failover_labels, human_bytes};
use crate::model::{Container, Fleet, Node, NodeState};

/// A node as a step addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// One step of a plan, run in order.
#[derive(Debug, Clone, PartialEq)]
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
    /// Record something in a node's audit log.
    Note {
        on: NodeRef,
        kind: String,
        target: String,
        message: String,
    },
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
}

fn not_found(what: String) -> PlanError {
    PlanError::NotFound(what)
}

impl<'a> PlanInput<'a> {
    fn node(&self, name: &str) -> Result<(&'a Node, NodeState), PlanError> {
        let fleet = self.fleet;
        let node = fleet
            .nodes()
            .iter()
            .find(|n| n.name() == name || n.endpoint == name)
            .ok_or_else(|| {
                not_found(format!(
                    "no node named `{name}`; `fleetdeck get nodes` lists them"
                ))
            })?;
        if self.fencing.iter().any(|f| f == node.name()) {
            return Err(PlanError::Fencing(node.name().to_string()));
        }
        Ok((node, node.state(self.now, fleet.failover_timeout())))
    }

    pub(super) fn live_node(&self, name: &str) -> Result<&'a Node, PlanError> {
        let (node, state) = self.node(name)?;
        if !node.is_live() {
            return Err(PlanError::Invalid(format!(
                "{} is {}: its agent does not answer",
                node.name(),
                state.as_str()
            )));
        }
        Ok(node)
    }

    /// The container named `target` (name, id or id prefix) on `node`, or anywhere when
    /// `node` is empty.
    fn container(&self, node: &str, target: &str) -> Result<(&'a Node, &'a Container), PlanError> {
        let matches = |c: &Container| {
            c.spec.name == target
                || c.spec.id == target
                || (target.len() >= 6 && c.spec.id.starts_with(target))
        };
        if node.is_empty() {
            let found: Vec<(&Node, &Container)> = self
                .fleet
                .nodes()
                .iter()
                .filter(|n| n.is_live())
                .flat_map(|n| n.containers.values().map(move |c| (n, c)))
                .filter(|(_, c)| matches(c))
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
            .find(|c| matches(c))
            .ok_or_else(|| not_found(format!("no container `{target}` on {}", n.name())))?;
        Ok((n, c))
    }

    pub(super) fn bytes_of(&self, node: &str, name: &str) -> Option<u64> {
        self.specs.get(node, name).map(|s| s.spec.volume_bytes)
    }
}

/// Works out the plan for `p`.
pub fn plan(input: &PlanInput<'_>, p: &Proposal) -> Result<Plan, PlanError> {
    if input.read_only {
        return Err(PlanError::ReadOnly);
    }
    let mut plan = match p {
        Proposal::Migrate {
            node,
            container,
            to,
        } => migrate(input, node, container, to.as_deref())?,
        Proposal::Scale { service, replicas } => {
            super::plan_more::scale(input, service, *replicas)?
        }
        Proposal::Failover { node } => super::plan_more::failover(input, node)?,
        Proposal::Drain { node } => super::plan_drain::drain(input, node)?,
        Proposal::Cordon { node } | Proposal::Uncordon { node } => {
            let cordon = matches!(p, Proposal::Cordon { .. });
            let n = input.live_node(node)?;
            let on = NodeRef::of(n);
            let (title, line) = if cordon {
                (
                    format!("Cordon {}", on.name),
                    format!(
                        "set {} to MAINTENANCE: no new placements; its containers keep running",
                        on.name
                    ),
                )
            } else {
                (
                    format!("Uncordon {}", on.name),
                    format!(
                        "set {} back to its mode before the cordon: it takes placements again",
                        on.name
                    ),
                )
            };
            Plan {
                proposal: p.clone(),
                title,
                lines: vec![line],
                data_bytes: 0,
                confirm: None,
                steps: vec![Step::Mode { on, cordon }],
            }
        }
        Proposal::Backup { node, container } => {
            super::plan_more::backup(input, node, container.as_deref())?
        }
        Proposal::Restore { node, backup } => super::plan_more::restore(input, node, backup)?,
        Proposal::Container {
            node,
            container,
            verb,
        } => {
            let (n, c) = input.container(node, container)?;
            let on = NodeRef::of(n);
            let line = format!(
                "{} {} on {} (now {})",
                verb.as_str(),
                c.spec.name,
                on.name,
                c.spec.state.as_str()
            );
            Plan {
                proposal: p.clone(),
                title: format!("{} {}", capitalise(verb.as_str()), c.spec.name),
                lines: vec![line],
                data_bytes: 0,
                confirm: None,
                steps: vec![Step::Verb {
                    on,
                    container_id: c.spec.id.clone(),
                    name: c.spec.name.clone(),
                    verb: *verb,
                }],
            }
        }
    };
    plan.proposal = p.clone();
    Ok(plan)
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub(super) fn no_room(name: &str, d: Demand, rooms: &[Room]) -> PlanError {
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

fn migrate_lines(
    name: &str,
    from: &str,
    to: &str,
    bytes: Option<u64>,
    volumes: &str,
) -> Vec<String> {
    let data = match bytes {
        Some(0) | None if volumes.is_empty() => "no volume data to copy".to_string(),
        Some(b) => format!("copy {} of volume data ({volumes})", human_bytes(b)),
        None => "copy its volume data (size not known yet)".to_string(),
    };
    vec![
        format!("create {name} on {to} from its spec on {from}"),
        data,
        format!("start it on {to} and wait until it is running and healthy"),
        format!("then stop and remove {name} on {from}"),
        format!("a failure before that removes the copy on {to}; {name} keeps running on {from}"),
    ]
}

fn migrate(
    input: &PlanInput<'_>,
    node: &str,
    target: &str,
    to: Option<&str>,
) -> Result<Plan, PlanError> {
    let (n, c) = input.container(node, target)?;
    let from = NodeRef::of(n);
    let d = Demand::of(c);
    let rooms = placement::rooms(input.fleet, input.now);
    let room = match to {
        Some(to) => {
            let (tn, state) = input.node(to)?;
            if tn.name() == from.name {
                return Err(PlanError::Invalid(format!(
                    "{} already runs on {to}",
                    c.spec.name
                )));
            }
            let r = rooms.iter().find(|r| r.name == tn.name()).ok_or_else(|| {
                PlanError::Invalid(format!(
                    "{to} is {} and takes no placements",
                    state.as_str()
                ))
            })?;
            if let Some(why) = port_clash(input, n, &r.name, c) {
                return Err(PlanError::Invalid(why));
            }
            if !r.fits(d) {
                return Err(no_room(&c.spec.name, d, std::slice::from_ref(r)));
            }
            r.clone()
        }
        None => rooms[super::plan_drain::best_target(input, &rooms, n, c, d)?].clone(),
    };
    let to = NodeRef {
        name: room.name.clone(),
        endpoint: room.endpoint.clone(),
    };
    let cached = input.specs.get(&from.name, &c.spec.name);
    let bytes = input.bytes_of(&from.name, &c.spec.name);
    let volumes = cached
        .map(|s| s.spec.volumes.join(", "))
        .unwrap_or_default();
    let new_name = copy_name(input.fleet, &room, c, &mut BTreeSet::new());
    let mut lines = migrate_lines(&c.spec.name, &from.name, &to.name, bytes, &volumes);
    if let Some(s) = cached {
        // Docker mounts and networks: what the copy makes of them.
        let notes = fleetdeck_core::labels::copy_notes(&s.spec.labels, &to.name);
        lines.splice(2..2, notes);
    }
    if new_name != c.spec.name {
        lines.insert(
            1,
            format!(
                "{} already has a container named {}: the copy is named {new_name}",
                to.name, c.spec.name
            ),
        );
    }
    Ok(Plan {
        proposal: Proposal::Scale {
            service: String::new(),
            replicas: 0,
        },
        title: format!("Migrate {} from {} to {}", c.spec.name, from.name, to.name),
        lines,
        data_bytes: bytes.unwrap_or(0),
        confirm: None,
        steps: vec![Step::Migrate {
            from,
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
            new_name,
            to,
            bytes: bytes.unwrap_or(0),
        }],
    })
}

/// Whether the room's node has no container called `name` (names are unique per node).
pub fn name_free(fleet: &Fleet, room: &Room, name: &str) -> bool {
    fleet
        .node(room.slot)
        .is_none_or(|n| n.containers.values().all(|c| c.spec.name != name))
}

/// The name a copy of `c` gets on `room`: its own when free there, else its service's next
/// free replica number across the fleet (and not in `taken`, names this plan already gave).
pub(super) fn copy_name(
    fleet: &Fleet,
    room: &Room,
    c: &Container,
    taken: &mut BTreeSet<String>,
) -> String {
    let name = &c.spec.name;
    if name_free(fleet, room, name) && !taken.contains(name) {
        taken.insert(name.clone());
        return name.clone();
    }
    let base = if c.spec.service.is_empty() {
        name.rsplit_once('-').map_or(name.as_str(), |(b, _)| b)
    } else {
        c.spec.service.as_str()
    };
    let mut n = fleet
        .nodes()
        .iter()
        .flat_map(|n| n.containers.values())
        .filter_map(|x| {
            x.spec
                .name
                .strip_prefix(base)?
                .strip_prefix('-')?
                .parse::<u32>()
                .ok()
        })
        .chain(
            taken
                .iter()
                .filter_map(|t| t.strip_prefix(base)?.strip_prefix('-')?.parse().ok()),
        )
        .max()
        .unwrap_or(0);
    loop {
        n += 1;
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) && name_free(fleet, room, &candidate) {
            taken.insert(candidate.clone());
            return candidate;
        }
    }
}

/// Containers already re-created elsewhere for `node` (by their `replaces` label).
pub(super) fn replaced_elsewhere(fleet: &Fleet, node: &str) -> Vec<String> {
    let prefix = format!("{node}/");
    fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live() && n.name() != node)
        .flat_map(|n| n.containers.values())
        .filter_map(|c| c.spec.labels.get(REPLACES_LABEL))
        .filter_map(|v| v.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

pub(super) fn failover_copy_labels(node: &str, epoch: u64, name: &str) -> BTreeMap<String, String> {
    failover_labels(node, name, epoch)
}
