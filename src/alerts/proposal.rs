//! Recommendations: the concrete action a firing rule proposes, as plain data.
//!
//! The action framework (issue 4, `ops`) turns a `Proposal` into its pre-filled
//! confirmation dialog; here it is only computed and described.

use std::collections::HashMap;
use std::fmt;

use super::rules::Recommend;
use crate::model::{ContainerState, Fleet, Node};

/// An action proposed by a recommendation: kind, target and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// Move one container to a less loaded node (make-before-break).
    Migrate {
        container: String,
        from: String,
        to: String,
    },
    /// Set a service's replica count.
    Scale {
        service: String,
        from: usize,
        replicas: usize,
    },
    /// Re-create a failed node's containers on healthy nodes.
    Failover { node: String },
}

impl Proposal {
    /// Short verb for lists ("migrate", "scale", "failover").
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Migrate { .. } => "migrate",
            Self::Scale { .. } => "scale",
            Self::Failover { .. } => "failover",
        }
    }
}

impl Proposal {
    /// The `fleetdeck` command line that carries the action out, for runbooks and pages:
    /// `fleetdeck failover n3`, `fleetdeck migrate web-2 --node n1 --to n2`,
    /// `fleetdeck scale api 4`. Names are quoted for a POSIX shell where they need it.
    pub fn command_line(&self) -> String {
        match self {
            Self::Migrate {
                container,
                from,
                to,
            } => format!(
                "fleetdeck migrate {} --node {} --to {}",
                shell_word(container),
                shell_word(from),
                shell_word(to)
            ),
            Self::Scale {
                service, replicas, ..
            } => format!("fleetdeck scale {} {replicas}", shell_word(service)),
            Self::Failover { node } => format!("fleetdeck failover {}", shell_word(node)),
        }
    }
}

/// `word` as one POSIX shell word: bare when it is plain, single-quoted otherwise.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-:/@+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Migrate {
                container,
                from,
                to,
            } => write!(f, "migrate {container} from {from} to {to}"),
            Self::Scale {
                service,
                from,
                replicas,
            } => write!(f, "scale {service} from {from} to {replicas} replicas"),
            Self::Failover { node } => write!(f, "failover {node}: re-create its containers"),
        }
    }
}

/// The action `recommend` proposes for an alert on node `slot` (`None` for fleet rules).
/// Runs only when an alert fires, so the fleet-wide passes here are rare.
pub fn propose(recommend: Recommend, fleet: &Fleet, slot: Option<usize>) -> Option<Proposal> {
    match recommend {
        Recommend::Failover => {
            let node = fleet.node(slot?)?;
            Some(Proposal::Failover {
                node: node.name().to_string(),
            })
        }
        Recommend::ScaleUp => {
            let node = fleet.node(slot?)?;
            let service = busiest_service(node)?;
            let from = replicas(fleet).get(service.as_str()).copied().unwrap_or(0);
            Some(Proposal::Scale {
                service,
                from,
                replicas: from + 1,
            })
        }
        Recommend::ScaleDown => {
            let counts = replicas(fleet);
            let (service, from) = counts
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))?;
            Some(Proposal::Scale {
                service: service.to_string(),
                from,
                replicas: from - 1,
            })
        }
        Recommend::Rebalance => {
            let live = fleet.nodes().iter().filter(|n| n.is_live());
            let (mut hot, mut cold): (Option<&Node>, Option<&Node>) = (None, None);
            for n in live {
                if hot.is_none_or(|h| n.load() > h.load()) {
                    hot = Some(n);
                }
                if cold.is_none_or(|c| n.load() < c.load()) {
                    cold = Some(n);
                }
            }
            let (hot, cold) = (hot?, cold?);
            let container = hot
                .containers
                .values()
                .filter(|c| c.spec.state == ContainerState::Running)
                .max_by(|a, b| {
                    a.stats
                        .cpu_percent
                        .total_cmp(&b.stats.cpu_percent)
                        .then_with(|| b.spec.name.cmp(&a.spec.name))
                })?;
            Some(Proposal::Migrate {
                container: container.spec.name.clone(),
                from: hot.name().to_string(),
                to: cold.name().to_string(),
            })
        }
    }
}

/// The service using the most CPU on `node`.
fn busiest_service(node: &Node) -> Option<String> {
    let mut cpu: HashMap<&str, f32> = HashMap::new();
    for c in node.containers.values().filter(|c| c.is_active()) {
        if !c.spec.service.is_empty() {
            *cpu.entry(c.spec.service.as_ref()).or_default() += c.stats.cpu_percent;
        }
    }
    cpu.into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(s, _)| s.to_string())
}

/// Running or restarting replicas of every service across the fleet.
fn replicas(fleet: &Fleet) -> HashMap<&str, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for node in fleet.nodes() {
        for c in node.containers.values().filter(|c| c.is_active()) {
            if !c.spec.service.is_empty() {
                *counts.entry(c.spec.service.as_ref()).or_default() += 1;
            }
        }
    }
    counts
}
