//! Backup: archive containers' configuration and volume data on their node.

use super::checks::{self, Role, Unfit};
use super::names;
use super::{NodeRef, Plan, PlanError, PlanInput, Proposal, Step, human_bytes};
use crate::model::{Container, Node};

/// Back up `container` on `node`, or every container of the node.
pub(super) fn plan(
    input: &PlanInput<'_>,
    node: &str,
    container: Option<&str>,
) -> Result<Plan, PlanError> {
    let mut targets: Vec<(&Node, &Container)> = match container {
        Some(c) => vec![
            input
                .fleet
                .nodes()
                .iter()
                .find(|n| n.name() == node || node.is_empty())
                .and_then(|n| {
                    n.containers
                        .values()
                        .find(|x| names::matches(x, c))
                        .map(|x| (n, x))
                })
                .ok_or_else(|| PlanError::NotFound(format!("no container `{c}` on {node}")))?,
        ],
        None => {
            let n = input
                .fleet
                .nodes()
                .iter()
                .find(|n| n.name() == node || n.endpoint == node)
                .ok_or_else(|| PlanError::NotFound(format!("no node named `{node}`")))?;
            n.containers.values().map(|c| (n, c)).collect()
        }
    };
    if let Some((n, _)) = targets.first() {
        match checks::check(input, n, Role::Act) {
            Ok(()) => {}
            Err(Unfit::Fencing) => return Err(PlanError::Fencing(n.name().to_string())),
            Err(_) => {
                return Err(PlanError::Invalid(format!(
                    "{} does not answer; nothing can be backed up there",
                    n.name()
                )));
            }
        }
    }
    if targets.is_empty() {
        return Err(PlanError::Invalid(format!(
            "{node} has no containers to back up"
        )));
    }
    targets.sort_by(|a, b| crate::app::natural_cmp(&a.1.spec.name, &b.1.spec.name));
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    let mut data = 0;
    for (n, c) in &targets {
        let bytes = input
            .specs
            .get(n.name(), &c.spec.name)
            .map(|s| s.spec.volume_bytes);
        data += bytes.unwrap_or(0);
        lines.push(format!(
            "archive {} on {}: configuration and {} of volume data, SHA-256, retention applied",
            c.spec.name,
            n.name(),
            bytes.map_or_else(|| "its".to_string(), human_bytes)
        ));
        steps.push(Step::Backup {
            on: NodeRef::of(n),
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
        });
    }
    let title = match container {
        Some(_) => format!("Back up {}", targets[0].1.spec.name),
        None => format!(
            "Back up all {} containers of {}",
            targets.len(),
            targets[0].0.name()
        ),
    };
    Ok(Plan {
        proposal: Proposal::Backup {
            node: node.to_string(),
            container: container.map(str::to_string),
        },
        title,
        lines,
        data_bytes: data,
        confirm: None,
        steps,
    })
}
