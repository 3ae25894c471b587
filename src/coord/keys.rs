//! What an action locks, how a lock is written in etcd, and which held lock stands in its
//! way. Pure: the TUI runs it inside `update` against the locks it last read.
//!
//! Under the prefix:
//! - `locks/node/<node>`: the whole node (failover, drain, cordon); no other action may
//!   touch it;
//! - `locks/use/<node>/<action id>`: an action changes something on the node (a copy
//!   placed, a container moved away); many may, but not while the node is held whole;
//! - `locks/container/<node>/<name>`: one container, one action at a time;
//! - `failovers/<node>/<agent epoch>`: the record of a failover, kept after it ends, so a
//!   failed node is failed over once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ops::plan::{Plan, Step};

/// How much of a node an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hold {
    /// It changes something on the node.
    Use,
    /// It changes the node as a whole.
    Whole,
}

/// Everything one action locks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub nodes: BTreeMap<String, Hold>,
    /// (node, container name)
    pub containers: BTreeSet<(String, String)>,
    /// A failover of (node, agent epoch), claimed once.
    pub failover: Option<(String, u64)>,
}

impl Wanted {
    fn node(&mut self, name: &str, hold: Hold) {
        let h = self.nodes.entry(name.to_string()).or_insert(hold);
        *h = (*h).max(hold);
    }

    fn container(&mut self, node: &str, name: &str) {
        self.node(node, Hold::Use);
        self.containers.insert((node.to_string(), name.to_string()));
    }

    /// True when the action changes nothing that needs a lock.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.failover.is_none()
    }
}

/// What `plan` will change, as locks.
pub fn wanted(plan: &Plan) -> Wanted {
    let mut w = Wanted::default();
    for step in &plan.steps {
        match step {
            Step::Migrate {
                from,
                name,
                new_name,
                to,
                ..
            } => {
                w.container(&from.name, name);
                w.container(&to.name, new_name);
            }
            Step::Create { on, spec, .. } => w.container(&on.name, &spec.name),
            Step::Replicate { on, name, .. }
            | Step::Remove { on, name, .. }
            | Step::Verb { on, name, .. }
            | Step::Backup { on, name, .. } => w.container(&on.name, name),
            Step::Mode { on, .. } | Step::Drain { on } => w.node(&on.name, Hold::Whole),
            Step::CopyBackup { to, .. } => w.node(&to.name, Hold::Use),
            Step::Restore { on, .. } => w.node(&on.name, Hold::Use),
            Step::RecordFailover { node, epoch, .. } => {
                w.node(node, Hold::Whole);
                w.failover = Some((node.clone(), *epoch));
            }
            Step::Rollout(r) => {
                for x in &r.replicas {
                    w.container(&x.on.name, &x.name);
                    w.container(&x.on.name, &x.new_name);
                }
            }
            // A line in another node's audit log changes nothing there.
            Step::Note { .. } => {}
        }
    }
    w
}

/// Who holds a lock: the value of every lock key and failover record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `migrate`, `failover`, ...
    pub action: String,
    /// The plan's title.
    pub title: String,
    /// `user@host` of the console.
    pub owner: String,
    pub pid: u32,
    pub since_unix_ms: u64,
    /// The action's id, the same in every key it holds.
    pub id: String,
}

impl Holder {
    /// `failover in progress by alice@ops-1 since 12:03:10 (action 7f3a1c2e…)`
    pub fn describe(&self) -> String {
        format!(
            "{} in progress by {} since {} (action {})",
            self.action,
            self.owner,
            clock(self.since_unix_ms),
            short_id(&self.id)
        )
    }
}

/// A failover as recorded in etcd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverClaim {
    pub by: Holder,
    pub epoch: u64,
    /// Containers re-created elsewhere.
    pub names: Vec<String>,
}

/// What a lock key locks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lock {
    Node(String),
    Use(String),
    Container(String, String),
}

/// One lock another action holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub lock: Lock,
    pub holder: Holder,
}

/// The key of a whole-node lock.
pub fn node_key(prefix: &str, node: &str) -> String {
    format!("{prefix}locks/node/{node}")
}

/// The prefix of every use of `node`.
pub fn use_prefix(prefix: &str, node: &str) -> String {
    format!("{prefix}locks/use/{node}/")
}

/// The key of one container's lock.
pub fn container_key(prefix: &str, node: &str, name: &str) -> String {
    format!("{prefix}locks/container/{node}/{name}")
}

/// The key of the failover record of `node` at agent `epoch`.
pub fn failover_key(prefix: &str, node: &str, epoch: u64) -> String {
    format!("{}{epoch}", failovers_of(prefix, node))
}

/// The prefix of every failover record of `node`.
pub fn failovers_of(prefix: &str, node: &str) -> String {
    format!("{prefix}failovers/{node}/")
}

/// The prefix of every lock.
pub fn locks_prefix(prefix: &str) -> String {
    format!("{prefix}locks/")
}

/// The lock `key` (under `prefix`) stands for, if it is one.
pub fn parse(prefix: &str, key: &str) -> Option<Lock> {
    let rest = key.strip_prefix(prefix)?.strip_prefix("locks/")?;
    if let Some(node) = rest.strip_prefix("node/") {
        return Some(Lock::Node(node.to_string()));
    }
    if let Some(r) = rest.strip_prefix("use/") {
        let (node, _id) = r.rsplit_once('/')?;
        return Some(Lock::Use(node.to_string()));
    }
    let (node, name) = rest.strip_prefix("container/")?.rsplit_once('/')?;
    Some(Lock::Container(node.to_string(), name.to_string()))
}

/// The first lock in `held` (by an action other than `own`) that `w` runs into, as the
/// line a refusal shows: `node n3: failover in progress by alice@ops-1 since 12:03:10
/// (action 7f3a1c2e…)`.
pub fn conflict(w: &Wanted, held: &[Held], own: Option<&str>) -> Option<String> {
    let mut hits: Vec<(&Lock, &Holder)> = held
        .iter()
        .filter(|h| Some(h.holder.id.as_str()) != own)
        .filter(|h| match &h.lock {
            Lock::Node(n) => w.nodes.contains_key(n),
            Lock::Use(n) => w.nodes.get(n) == Some(&Hold::Whole),
            Lock::Container(n, c) => w.containers.contains(&(n.clone(), c.clone())),
        })
        .map(|h| (&h.lock, &h.holder))
        .collect();
    hits.sort_by(|a, b| a.0.cmp(b.0));
    let (lock, holder) = hits.first()?;
    let what = match lock {
        Lock::Node(n) | Lock::Use(n) => format!("node {n}"),
        Lock::Container(n, c) => format!("container {c} on {n}"),
    };
    Some(format!("{what}: {}", holder.describe()))
}

/// The refusal for a failover that `claim` already did.
pub fn already_failed_over(node: &str, claim: &FailoverClaim) -> String {
    format!(
        "node {node}: already failed over by {} at {} (action {}, agent epoch {}): {} re-created elsewhere; nothing to do",
        claim.by.owner,
        clock(claim.by.since_unix_ms),
        short_id(&claim.by.id),
        claim.epoch,
        if claim.names.is_empty() {
            "nothing".to_string()
        } else {
            claim.names.join(", ")
        }
    )
}

/// Local wall-clock time of day.
fn clock(unix_ms: u64) -> String {
    let ms = i64::try_from(unix_ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

/// The first 8 characters of an action id and an ellipsis.
pub fn short_id(id: &str) -> String {
    match id.char_indices().nth(8) {
        Some((i, _)) => format!("{}…", &id[..i]),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Proposal;
    use crate::ops::plan::NodeRef;

    fn at(n: &str) -> NodeRef {
        NodeRef {
            name: n.into(),
            endpoint: format!("{n}:1"),
        }
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan {
            proposal: Proposal::Drain { node: "n1".into() },
            title: String::new(),
            lines: Vec::new(),
            data_bytes: 0,
            confirm: None,
            steps,
        }
    }

    fn holder(id: &str, action: &str) -> Holder {
        Holder {
            action: action.into(),
            title: String::new(),
            owner: "alice@ops-1".into(),
            pid: 7,
            since_unix_ms: 0,
            id: id.into(),
        }
    }

    fn migrate(name: &str) -> Step {
        Step::Migrate {
            from: at("n1"),
            container_id: "c".into(),
            name: name.into(),
            new_name: name.into(),
            to: at("n2"),
            bytes: 0,
        }
    }

    #[test]
    fn a_drain_holds_its_node_whole_and_a_migrate_uses_both_ends() {
        let drain = wanted(&plan(vec![Step::Drain { on: at("n1") }, migrate("db-1")]));
        assert_eq!(drain.nodes["n1"], Hold::Whole);
        assert_eq!(drain.nodes["n2"], Hold::Use);
        let m = wanted(&plan(vec![migrate("db-1")]));
        assert_eq!(m.nodes["n1"], Hold::Use);
        assert!(m.containers.contains(&("n2".into(), "db-1".into())));
        let notes = wanted(&plan(vec![Step::Note {
            on: at("n4"),
            kind: "failover".into(),
            target: "n3".into(),
            message: String::new(),
        }]));
        assert!(notes.is_empty());
    }

    #[test]
    fn keys_read_back_as_the_locks_they_are() {
        let p = "/fd/";
        assert_eq!(parse(p, &node_key(p, "n3")), Some(Lock::Node("n3".into())));
        let u = format!("{}abc", use_prefix(p, "n1"));
        assert_eq!(parse(p, &u), Some(Lock::Use("n1".into())));
        assert_eq!(
            parse(p, &container_key(p, "n1", "db-1")),
            Some(Lock::Container("n1".into(), "db-1".into()))
        );
        assert_eq!(parse(p, &failover_key(p, "n3", 4)), None);
        assert_eq!(parse("/other/", &node_key(p, "n3")), None);
    }

    #[test]
    fn overlaps_are_found_and_named() {
        let held = vec![
            Held {
                lock: Lock::Use("n1".into()),
                holder: holder("7f3a1c2e99", "migrate"),
            },
            Held {
                lock: Lock::Container("n1".into(), "db-1".into()),
                holder: holder("7f3a1c2e99", "migrate"),
            },
        ];
        // Another container off the same node: no overlap.
        assert_eq!(
            conflict(&wanted(&plan(vec![migrate("web-1")])), &held, None),
            None
        );
        let same = conflict(&wanted(&plan(vec![migrate("db-1")])), &held, None).unwrap();
        assert!(
            same.starts_with("container db-1 on n1: migrate in progress by alice@ops-1 since "),
            "{same}"
        );
        assert!(same.ends_with("(action 7f3a1c2e…)"), "{same}");
        let drain = wanted(&plan(vec![Step::Drain { on: at("n1") }]));
        assert!(
            conflict(&drain, &held, None)
                .unwrap()
                .starts_with("node n1: migrate")
        );
        // Its own locks never stand in an action's way.
        assert_eq!(conflict(&drain, &held, Some("7f3a1c2e99")), None);
    }
}
