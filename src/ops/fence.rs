//! Fencing: a node that failed was failed over; when its agent is reachable again, its old
//! copies of the re-created containers must stop before anything else, or services would
//! run twice. The failovers this console did are remembered in its state directory, with
//! the failed node's agent epoch then; the first operator console to reach the node stops
//! the stale copies. A read-only console only reports them (a critical alert).

use std::path::{Path, PathBuf};

use fleetdeck_core::private;

use crate::client::Connections;
use serde::{Deserialize, Serialize};

use super::link::Link;
use crate::model::Fleet;

/// File name of the failover records inside the state directory.
pub const FAILOVERS_FILE: &str = "failovers.json";

/// One failover, remembered until its node is fenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverRecord {
    pub node: String,
    /// The node's agent epoch when it was failed over.
    pub epoch: u64,
    /// Containers re-created elsewhere.
    pub names: Vec<String>,
    pub at_unix_ms: u64,
    pub fenced: bool,
}

/// The remembered failovers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Failovers {
    pub records: Vec<FailoverRecord>,
}

/// Stale copies found on a node that came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub node: String,
    pub endpoint: String,
    /// Agent epoch now (a new one means the agent restarted since the failover).
    pub epoch: u64,
    pub failed_epoch: u64,
    /// (container id, name) still running.
    pub running: Vec<(String, String)>,
}

impl Stale {
    /// The critical alert a read-only console shows.
    pub fn alert(&self) -> String {
        let names: Vec<&str> = self.running.iter().map(|(_, n)| n.as_str()).collect();
        format!(
            "{} came back after a failover with stale copies still running: {} (duplicates of the re-created containers); an operator console stops them",
            self.node,
            names.join(", ")
        )
    }
}

impl Failovers {
    /// Remembers that `names` of `node` were re-created elsewhere. An earlier failover of
    /// the same node that is not fenced yet is folded in, so a node failed over twice
    /// while down still has every stale copy stopped when it comes back.
    pub fn record(&mut self, node: &str, epoch: u64, names: &[String], now_unix_ms: u64) {
        let mut all: Vec<String> = Vec::new();
        self.records.retain(|r| {
            if r.node == node && !r.fenced {
                all.extend(r.names.iter().cloned());
                false
            } else {
                true
            }
        });
        for n in names {
            if !all.contains(n) {
                all.push(n.clone());
            }
        }
        self.records.push(FailoverRecord {
            node: node.to_owned(),
            epoch,
            names: all,
            at_unix_ms: now_unix_ms,
            fenced: false,
        });
    }

    /// The records file in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FAILOVERS_FILE)
    }

    /// Reads the records (none when the file is missing or unreadable).
    pub fn load(state_dir: &Path) -> Self {
        std::fs::read(Self::path(state_dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the records atomically, owner-only.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        private::create_dir(state_dir)?;
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        private::write_atomic(&Self::path(state_dir), &json)
    }

    /// Nodes with an unfenced failover that are reachable again, and what runs there that
    /// must stop. Live nodes with nothing stale left are included with `running` empty
    /// (fencing them only marks the record).
    pub fn stale(&self, fleet: &Fleet) -> Vec<Stale> {
        self.records
            .iter()
            .filter(|r| !r.fenced)
            .filter_map(|r| {
                let n = fleet
                    .nodes()
                    .iter()
                    .find(|n| n.is_live() && n.name() == r.node)?;
                let running = n
                    .containers
                    .values()
                    .filter(|c| c.is_active() && r.names.contains(&c.spec.name))
                    .map(|c| (c.spec.id.clone(), c.spec.name.clone()))
                    .collect();
                Some(Stale {
                    node: r.node.clone(),
                    endpoint: n.endpoint.clone(),
                    epoch: n.epoch,
                    failed_epoch: r.epoch,
                    running,
                })
            })
            .collect()
    }

    /// Nodes that must be fenced before any other action touches them.
    pub fn pending(&self) -> Vec<String> {
        self.records
            .iter()
            .filter(|r| !r.fenced)
            .map(|r| r.node.clone())
            .collect()
    }
}

/// After a fence of `node` that went well, forgets its failover records in etcd (when
/// consoles coordinate); says so in the message when etcd cannot be told.
pub async fn forget_in_etcd(
    coord: Option<&crate::coord::Coord>,
    node: &str,
    fenced: Result<String, String>,
) -> Result<String, String> {
    match (coord, fenced) {
        (Some(c), Ok(m)) => match c.forget_failovers(node).await {
            Ok(()) => Ok(m),
            Err(e) => Ok(format!(
                "{m}; its failover record stays in etcd ({e}): a new failover of {node} is refused until it is deleted"
            )),
        },
        (_, fenced) => fenced,
    }
}

/// Stops the stale copies on one returned node, records the fence in its audit log and
/// marks the failover fenced in `state_dir`. Returns what was done.
pub async fn fence(
    conns: &Connections,
    state_dir: &Path,
    stale: &Stale,
    requested_by: &str,
) -> Result<String, String> {
    let mut link = Link::open(conns, &stale.node, &stale.endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let tag = format!("fence-{}-{}", stale.node, crate::tui::unix_ms());
    for (i, (id, name)) in stale.running.iter().enumerate() {
        let req = fleetdeck_proto::ActRequest {
            action_id: format!("{tag}-{i}"),
            dry_run: false,
            requested_by: requested_by.to_string(),
            action: Some(fleetdeck_proto::act_request::Action::Container(
                fleetdeck_proto::ContainerAction {
                    verb: fleetdeck_proto::container_action::Verb::Stop as i32,
                    container: id.clone(),
                },
            )),
            ..Default::default()
        };
        link.act(req, |_| {})
            .await
            .map_err(|e| format!("cannot stop stale copy {name}: {e}"))?;
    }
    let names: Vec<&str> = stale.running.iter().map(|(_, n)| n.as_str()).collect();
    let message = if names.is_empty() {
        format!(
            "{} returned after failover; no stale copy was running",
            stale.node
        )
    } else {
        format!(
            "{} returned after failover (epoch {:x}, failed at {:x}); stopped stale copies: {}",
            stale.node,
            stale.epoch,
            stale.failed_epoch,
            names.join(", ")
        )
    };
    let note = fleetdeck_proto::ActRequest {
        action_id: format!("{tag}-note"),
        dry_run: false,
        requested_by: requested_by.to_string(),
        action: Some(fleetdeck_proto::act_request::Action::Note(
            fleetdeck_proto::NoteAction {
                kind: "fence".into(),
                target: stale.node.clone(),
                message: message.clone(),
            },
        )),
        ..Default::default()
    };
    if let Err(e) = link.act(note, |_| {}).await {
        tracing::warn!("fence of {} not noted in its audit log: {e}", stale.node);
    }
    let mut records = Failovers::load(state_dir);
    for r in records.records.iter_mut().filter(|r| r.node == stale.node) {
        r.fenced = true;
    }
    records
        .save(state_dir)
        .map_err(|e| format!("fenced, but cannot save {}: {e}", FAILOVERS_FILE))?;
    Ok(message)
}

#[cfg(test)]
mod record_tests {
    use super::*;

    #[test]
    fn a_second_failover_of_a_node_still_down_keeps_the_first_ones_names() {
        let mut f = Failovers::default();
        f.record("n3", 7, &["db".into(), "web-1".into()], 1);
        f.record("n3", 7, &["web-1".into(), "cache".into()], 2);
        f.record("n4", 9, &["api".into()], 3);
        let n3: Vec<_> = f.records.iter().filter(|r| r.node == "n3").collect();
        assert_eq!(n3.len(), 1);
        assert_eq!(n3[0].names, ["db", "web-1", "cache"]);
        assert_eq!(n3[0].at_unix_ms, 2);
        // Once fenced, a later failover starts a new record.
        f.records.iter_mut().for_each(|r| r.fenced = r.node == "n3");
        f.record("n3", 8, &["db".into()], 4);
        let open: Vec<_> = f
            .records
            .iter()
            .filter(|r| r.node == "n3" && !r.fenced)
            .collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].names, ["db"]);
    }
}
