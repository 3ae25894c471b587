//! Restore: a backup written back on its node, or copied to another node first.

use super::checks::{self, Role, Unfit};
use super::{BackupInfo, NodeRef, Plan, PlanError, PlanInput, Proposal, Step};
use super::{capitalise, human_bytes};
use crate::model::Node;

/// The node named `name` (or at endpoint `name`), which a restore reads from or writes
/// to: it answers and does not wait to be fenced.
fn live_node<'a>(input: &PlanInput<'a>, name: &str) -> Result<&'a Node, PlanError> {
    let n = input
        .fleet
        .nodes()
        .iter()
        .find(|n| n.name() == name || n.endpoint == name)
        .ok_or_else(|| PlanError::NotFound(format!("no node named `{name}`")))?;
    match checks::check(input, n, Role::Act) {
        Ok(()) => Ok(n),
        Err(Unfit::Fencing) => Err(PlanError::Fencing(n.name().to_string())),
        Err(_) => Err(PlanError::Invalid(format!("{} does not answer", n.name()))),
    }
}

/// Restore `b` on `node`; when another node holds it (`b.node`), the archive is copied
/// there first, streamed from agent to agent and checked on arrival.
pub(super) fn plan(input: &PlanInput<'_>, node: &str, b: &BackupInfo) -> Result<Plan, PlanError> {
    let n = live_node(input, node)?;
    let holder = match b.node.as_str() {
        "" => n,
        h if h == n.name() || h == n.endpoint => n,
        h => live_node(input, h).map_err(|e| match e {
            PlanError::Invalid(m) => PlanError::Invalid(format!(
                "{m}: it holds backup {}, which must be read from there",
                b.id
            )),
            other => other,
        })?,
    };
    let existing = n.containers.values().find(|c| c.spec.name == b.container);
    let cordoned =
        n.info.as_ref().map(|i| i.status.mode) == Some(crate::model::NodeMode::Maintenance);
    if existing.is_none() && cordoned {
        return Err(PlanError::Invalid(format!(
            "{} is cordoned (MAINTENANCE) and takes no new containers; uncordon it or restore elsewhere",
            n.name()
        )));
    }
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    if !std::ptr::eq(holder, n) {
        lines.push(format!(
            "copy backup {} ({}) from {} to {}, streamed between the agents; {} checks its SHA-256 on arrival and keeps nothing if it differs",
            b.id,
            human_bytes(b.size_bytes),
            holder.name(),
            n.name(),
            n.name()
        ));
        steps.push(Step::CopyBackup {
            from: NodeRef::of(holder),
            to: NodeRef::of(n),
            backup_id: b.id.clone(),
            bytes: b.size_bytes,
        });
    }
    lines.push(format!(
        "verify the archive's SHA-256 ({}…) before writing anything",
        &b.sha256[..b.sha256.len().min(16)]
    ));
    let confirm = match existing {
        Some(c) if c.is_active() => {
            lines.push(format!(
                "stop {} on {}, replace its volume data with the backup's ({}), start it again",
                c.spec.name,
                n.name(),
                human_bytes(b.size_bytes)
            ));
            Some(c.spec.name.clone())
        }
        Some(c) => {
            lines.push(format!(
                "replace the volume data of the stopped {} with the backup's ({})",
                c.spec.name,
                human_bytes(b.size_bytes)
            ));
            Some(c.spec.name.clone())
        }
        None => {
            lines.push(format!(
                "create {} on {} from the backup's spec, write its data ({}) and start it",
                b.container,
                n.name(),
                human_bytes(b.size_bytes)
            ));
            None
        }
    };
    lines.push("entries that would escape the volume directory are refused".into());
    Ok(Plan {
        proposal: Proposal::Restore {
            node: node.to_string(),
            backup: b.clone(),
        },
        title: if std::ptr::eq(holder, n) {
            format!("{} {} from {}", capitalise("restore"), b.container, b.id)
        } else {
            format!(
                "{} {} from {} on {} (held by {})",
                capitalise("restore"),
                b.container,
                b.id,
                n.name(),
                holder.name()
            )
        },
        lines,
        data_bytes: b.size_bytes,
        confirm,
        steps: {
            steps.push(Step::Restore {
                on: NodeRef::of(n),
                backup_id: b.id.clone(),
                overwrite: existing.is_some(),
            });
            steps
        },
    })
}
