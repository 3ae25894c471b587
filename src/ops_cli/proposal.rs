//! From a command line to a [`Proposal`], and the backup look-ups it needs.

use crate::client::Connections;
use crate::model::Fleet;
use crate::ops::link::Link;
use crate::ops::plan::{self, Plan};
use crate::ops::{BackupInfo, Proposal, Verb};

use super::args::{ContainerTarget, OpsCommand, RolloutCommand};

pub(super) async fn list_backups(
    conns: &Connections,
    fleet: &Fleet,
    node: Option<&str>,
) -> (Vec<BackupInfo>, Vec<String>) {
    let wanted: Vec<&crate::model::Node> = fleet
        .nodes()
        .iter()
        .filter(|n| node.is_none_or(|x| n.name() == x || n.endpoint == x))
        .collect();
    let mut errors = Vec::new();
    // A node that does not answer is said, not skipped: its backups are missing from the list.
    errors.extend(wanted.iter().filter(|n| !n.is_live()).map(|n| {
        format!(
            "{}: its agent does not answer; its backups are not listed",
            n.name()
        )
    }));
    let asks = wanted
        .into_iter()
        .filter(|n| n.is_live())
        .map(|n| async move {
            let mut link = Link::open(conns, n.name(), &n.endpoint).await?;
            // The node that answers holds the backups, whatever their records say.
            link.list_backups().await.map(|l| (n.name().to_string(), l))
        });
    let mut all = Vec::new();
    for r in futures::future::join_all(asks).await {
        match r {
            Ok((node, l)) => all.extend(l.into_iter().map(|b| BackupInfo {
                node: node.clone(),
                ..BackupInfo::from_wire(b)
            })),
            Err(e) => errors.push(e.to_string()),
        }
    }
    all.sort_by_key(|b| std::cmp::Reverse(b.created_unix_ms));
    (all, errors)
}

pub(super) async fn new_backup_ids(conns: &Connections, fleet: &Fleet, plan: &Plan) -> Vec<String> {
    let (list, _) = list_backups(conns, fleet, None).await;
    plan.steps
        .iter()
        .filter_map(|s| match s {
            plan::Step::Backup { on, name, .. } => list
                .iter()
                .find(|b| b.node == on.name && &b.container == name)
                .map(|b| b.id.clone()),
            _ => None,
        })
        .collect()
}

pub(super) async fn proposal(
    conns: &Connections,
    cmd: &OpsCommand,
    fleet: &Fleet,
) -> Result<Proposal, String> {
    let container = |t: &ContainerTarget, verb: Verb| Proposal::Container {
        node: t.node.clone().unwrap_or_default(),
        container: t.container.clone(),
        verb,
    };
    Ok(match cmd {
        OpsCommand::Scale {
            service, replicas, ..
        } => Proposal::Scale {
            service: service.clone(),
            replicas: *replicas,
        },
        OpsCommand::Migrate { target, to, .. } => Proposal::Migrate {
            node: target.node.clone().unwrap_or_default(),
            container: target.container.clone(),
            to: to.clone(),
        },
        OpsCommand::Backup {
            container, node, ..
        } => match (container, node) {
            (None, None) => {
                return Err("name a container, or --node NODE to back up all of a node's".into());
            }
            (c, n) => {
                let node = match (n, c) {
                    (Some(n), _) => n.clone(),
                    (None, Some(c)) => owner(fleet, c)?,
                    (None, None) => String::new(),
                };
                Proposal::Backup {
                    node,
                    container: c.clone(),
                }
            }
        },
        OpsCommand::Restore { backup_id, to, .. } => {
            let (list, _) = list_backups(conns, fleet, None).await;
            let held: Vec<BackupInfo> = list.into_iter().filter(|b| &b.id == backup_id).collect();
            // A copy already on the target saves the transfer.
            let b = to
                .as_ref()
                .and_then(|to| held.iter().find(|b| b.node == *to))
                .or_else(|| held.first())
                .cloned()
                .ok_or_else(|| format!("no backup `{backup_id}` on a reachable node; `fleetdeck backups` lists them"))?;
            Proposal::Restore {
                node: to.clone().unwrap_or_else(|| b.node.clone()),
                backup: b,
            }
        }
        OpsCommand::Failover { node, .. } => Proposal::Failover { node: node.clone() },
        OpsCommand::Drain { node, .. } => Proposal::Drain { node: node.clone() },
        OpsCommand::Cordon { node, .. } => Proposal::Cordon { node: node.clone() },
        OpsCommand::Uncordon { node, .. } => Proposal::Uncordon { node: node.clone() },
        OpsCommand::Start { target, .. } => container(target, Verb::Start),
        OpsCommand::Stop { target, .. } => container(target, Verb::Stop),
        OpsCommand::Restart { target, .. } => container(target, Verb::Restart),
        OpsCommand::Rollout { how } => {
            let (service, image, o) = match how {
                RolloutCommand::Restart { service, rollout } => (service, None, rollout),
                RolloutCommand::Image {
                    service,
                    image,
                    rollout,
                } => (service, Some(image.clone()), rollout),
            };
            Proposal::Rollout {
                service: service.clone(),
                image,
                max_unavailable: o.max_unavailable,
                rollback: !o.no_rollback,
            }
        }
        OpsCommand::Backups { .. } => return Err("`backups` lists; it plans nothing".into()),
        OpsCommand::Actions { .. } => return Err("`actions` lists; it plans nothing".into()),
    })
}

/// The node running container `c` (must be unique among reachable nodes).
fn owner(fleet: &Fleet, c: &str) -> Result<String, String> {
    crate::model::locate::find_container(fleet, None, c).map(|(n, _)| n.name().to_string())
}
