//! Cordon and uncordon: a node's mode, nothing moves.

use super::{NodeRef, Plan, PlanError, PlanInput, Proposal, Step};

/// Cordon (`cordon`) or uncordon `node`.
pub(super) fn plan(input: &PlanInput<'_>, node: &str, cordon: bool) -> Result<Plan, PlanError> {
    let on = NodeRef::of(input.live_node(node)?);
    let (proposal, title, line) = if cordon {
        (
            Proposal::Cordon {
                node: node.to_string(),
            },
            format!("Cordon {}", on.name),
            format!(
                "set {} to MAINTENANCE: no new placements; its containers keep running",
                on.name
            ),
        )
    } else {
        (
            Proposal::Uncordon {
                node: node.to_string(),
            },
            format!("Uncordon {}", on.name),
            format!(
                "set {} back to its mode before the cordon: it takes placements again",
                on.name
            ),
        )
    };
    Ok(Plan {
        proposal,
        title,
        lines: vec![line],
        data_bytes: 0,
        confirm: None,
        steps: vec![Step::Mode { on, cordon }],
    })
}
