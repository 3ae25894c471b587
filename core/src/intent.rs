//! Durable intents: what a multi-step action locks, and when two of them overlap. The
//! agent refuses an overlapping claim with this rule and the console refuses to plan one
//! with the same rule, so both say the same thing.

use std::time::Duration;

/// How long a lease lasts unless the console asks for another length.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);
/// Longest lease an agent grants.
pub const MAX_LEASE: Duration = Duration::from_secs(120);
/// How often a running console renews its leases.
pub const RENEW_INTERVAL: Duration = Duration::from_secs(5);

/// Lower-case name of an intent state (`running`, `interrupted`, `done`, `failed`,
/// `rolled_back`), as `fleetdeck actions` prints it.
pub fn state_name(state: i32) -> &'static str {
    use fleetdeck_proto::IntentState as S;
    match S::try_from(state).unwrap_or_default() {
        S::Running => "running",
        S::Interrupted => "interrupted",
        S::Done => "done",
        S::Failed => "failed",
        S::RolledBack => "rolled_back",
        S::Unspecified => "unknown",
    }
}

/// What one intent locks.
#[derive(Debug, Clone, Copy)]
pub struct Locks<'a> {
    /// Whole nodes (drain, failover, cordon).
    pub nodes: &'a [String],
    /// Containers as `node/name` (or `service/name` for a scale).
    pub containers: &'a [String],
    /// Every node it acts on.
    pub touches: &'a [String],
}

/// What `a` and `b` both lock, as the holder line names it (`node n3`, `container n1/db`),
/// or `None` when they are independent: a whole-node lock excludes every action that
/// touches that node, a container lock excludes the same container.
pub fn overlap(a: &Locks<'_>, b: &Locks<'_>) -> Option<String> {
    let node_in = |locked: &[String], other: &Locks<'_>| {
        locked
            .iter()
            .find(|n| other.touches.contains(n) || other.nodes.contains(n))
            .cloned()
    };
    if let Some(n) = node_in(a.nodes, b).or_else(|| node_in(b.nodes, a)) {
        return Some(format!("node {n}"));
    }
    a.containers
        .iter()
        .find(|c| b.containers.contains(c))
        .map(|c| format!("container {c}"))
}

/// The one line naming who holds what: `node n3: failover in progress by alice@ops-1
/// since 12:03:10 (action 7f3a1c2e…)`.
pub fn holder_line(what: &str, action: &str, owner: &str, since_unix_ms: u64, id: &str) -> String {
    format!(
        "{what}: {action} in progress by {owner} since {} (action {})",
        clock(since_unix_ms),
        short_id(id)
    )
}

/// `HH:MM:SS` (UTC) of a Unix time in milliseconds.
pub fn clock(unix_ms: u64) -> String {
    let s = (unix_ms / 1000) % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The first 8 characters of an intent id, with an ellipsis when cut.
pub fn short_id(id: &str) -> String {
    match id.char_indices().nth(8) {
        Some((i, _)) => format!("{}…", &id[..i]),
        None => id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_node_lock_excludes_whatever_touches_the_node() {
        let (n3, none) = (v(&["n3"]), v(&[]));
        let failover = Locks {
            nodes: &n3,
            containers: &none,
            touches: &v(&["n1"]),
        };
        let migrate_touches = v(&["n3", "n2"]);
        let migrate_containers = v(&["n3/db"]);
        let migrate = Locks {
            nodes: &none,
            containers: &migrate_containers,
            touches: &migrate_touches,
        };
        assert_eq!(overlap(&failover, &migrate).as_deref(), Some("node n3"));
        assert_eq!(overlap(&migrate, &failover).as_deref(), Some("node n3"));
    }

    #[test]
    fn container_locks_overlap_only_on_the_same_container() {
        let none = v(&[]);
        let touches = v(&["n1", "n2"]);
        let (db, web) = (v(&["n1/db"]), v(&["n1/web"]));
        let a = Locks {
            nodes: &none,
            containers: &db,
            touches: &touches,
        };
        let b = Locks {
            nodes: &none,
            containers: &web,
            touches: &touches,
        };
        assert_eq!(overlap(&a, &b), None);
        assert_eq!(overlap(&a, &a).as_deref(), Some("container n1/db"));
    }

    #[test]
    fn the_holder_line_names_action_owner_time_and_id() {
        let line = holder_line(
            "node n3",
            "failover",
            "alice@ops-1",
            (12 * 3600 + 3 * 60 + 10) * 1000,
            "7f3a1c2e99",
        );
        assert_eq!(
            line,
            "node n3: failover in progress by alice@ops-1 since 12:03:10 (action 7f3a1c2e…)"
        );
    }
}
