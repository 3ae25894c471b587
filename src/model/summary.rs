//! Fleet totals kept current as updates arrive, so a header costs nothing per frame.
//!
//! Each update touches one node: its old contribution is taken out of the totals and its new
//! one put in (work in proportion to that node's containers, never to the fleet).

use std::time::{Duration, Instant};

use super::{ContainerState, HealthState, Node, NodeMode};

/// What one node contributes to the fleet totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeTotals {
    /// Containers known, live or stale.
    pub containers: usize,
    /// Running or restarting.
    pub active: usize,
    pub running: usize,
    pub restarting: usize,
    pub unhealthy: usize,
    /// Mode when the node is live; `None` while it is unreachable.
    live_mode: Option<NodeMode>,
    /// While unreachable: the instant its UNKNOWN -> FAILED timeout counts from.
    down_since: Option<Instant>,
    /// Not reached yet: no snapshot and no failure since the console started.
    connecting: bool,
    /// CPU percent times cores, in hundredths (integers so totals never drift).
    cpu_centi_cores: u64,
    cores: u64,
    memory_used_bytes: u64,
    memory_total_bytes: u64,
}

impl NodeTotals {
    /// Counts one node as it stands.
    pub fn of(node: &Node) -> Self {
        let mut t = Self {
            containers: node.containers.len(),
            ..Self::default()
        };
        for c in node.containers.values() {
            match c.spec.state {
                ContainerState::Running => t.running += 1,
                ContainerState::Restarting => t.restarting += 1,
                _ => {}
            }
            t.unhealthy += usize::from(c.spec.health == HealthState::Unhealthy);
        }
        t.active = t.running + t.restarting;
        t.connecting = node.link == super::Link::Connecting;
        if node.is_live() {
            let info = node.info.as_ref();
            t.live_mode = Some(info.map(|i| i.status.mode).unwrap_or_default());
            t.cores = info.map_or(0, |i| u64::from(i.cpu_cores));
            t.cpu_centi_cores = (f64::from(node.host.cpu_percent.clamp(0.0, 100.0)) * 100.0).round()
                as u64
                * t.cores;
            t.memory_used_bytes = node.host.memory_used_bytes;
            t.memory_total_bytes = node.host.memory_total_bytes;
        } else {
            t.down_since = Some(node.last_seen.unwrap_or(node.added));
        }
        t
    }
}

/// Nodes counted by the state the console shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub active: usize,
    pub standby: usize,
    pub maintenance: usize,
    pub unknown: usize,
    pub failed: usize,
}

/// Fleet-wide totals, updated one node at a time.
#[derive(Debug, Clone, Default)]
pub struct FleetSummary {
    per_node: Vec<NodeTotals>,
    /// Live nodes by mode: active, standby, maintenance.
    live_by_mode: [usize; 3],
    /// Sorted instants the unreachable nodes' timeouts count from.
    down_since: Vec<Instant>,
    containers: usize,
    /// Nodes not reached yet.
    connecting: usize,
    stale_containers: usize,
    running: usize,
    restarting: usize,
    unhealthy: usize,
    cpu_centi_cores: u64,
    cores: u64,
    memory_used_bytes: u64,
    memory_total_bytes: u64,
}

impl FleetSummary {
    /// Totals of these nodes.
    pub fn new(nodes: &[Node]) -> Self {
        let mut s = Self {
            per_node: vec![NodeTotals::default(); nodes.len()],
            ..Self::default()
        };
        for (slot, node) in nodes.iter().enumerate() {
            s.update(slot, node);
        }
        s
    }

    /// Recounts one node after it changed.
    pub fn update(&mut self, slot: usize, node: &Node) {
        let Some(old) = self.per_node.get(slot).copied() else {
            return;
        };
        let new = NodeTotals::of(node);
        self.apply(&old, false);
        self.apply(&new, true);
        self.per_node[slot] = new;
    }

    fn apply(&mut self, t: &NodeTotals, add: bool) {
        fn step<T: std::ops::Add<Output = T> + std::ops::Sub<Output = T> + Copy>(
            total: &mut T,
            v: T,
            add: bool,
        ) {
            *total = if add { *total + v } else { *total - v };
        }
        step(&mut self.containers, t.containers, add);
        step(&mut self.connecting, usize::from(t.connecting), add);
        match (t.live_mode, t.down_since) {
            (Some(mode), _) => {
                let i = match mode {
                    NodeMode::Active => 0,
                    NodeMode::Standby => 1,
                    NodeMode::Maintenance => 2,
                };
                step(&mut self.live_by_mode[i], 1, add);
                step(&mut self.running, t.running, add);
                step(&mut self.restarting, t.restarting, add);
                step(&mut self.unhealthy, t.unhealthy, add);
                step(&mut self.cpu_centi_cores, t.cpu_centi_cores, add);
                step(&mut self.cores, t.cores, add);
                step(&mut self.memory_used_bytes, t.memory_used_bytes, add);
                step(&mut self.memory_total_bytes, t.memory_total_bytes, add);
            }
            (None, Some(since)) => {
                step(&mut self.stale_containers, t.containers, add);
                let at = self.down_since.partition_point(|d| *d < since);
                if add {
                    self.down_since.insert(at, since);
                } else if self.down_since.get(at) == Some(&since) {
                    self.down_since.remove(at);
                }
            }
            // A default entry (before a node was first counted) contributes nothing.
            (None, None) => {}
        }
    }

    /// One node's contribution, by slot.
    pub fn node(&self, slot: usize) -> Option<&NodeTotals> {
        self.per_node.get(slot)
    }

    /// Nodes by shown state at `now`; logarithmic in the number of unreachable nodes.
    pub fn states(&self, now: Instant, failover_timeout: Duration) -> StateCounts {
        let failed = self
            .down_since
            .partition_point(|d| now.saturating_duration_since(*d) >= failover_timeout);
        StateCounts {
            active: self.live_by_mode[0],
            standby: self.live_by_mode[1],
            maintenance: self.live_by_mode[2],
            unknown: self.down_since.len() - failed,
            failed,
        }
    }

    /// Nodes not reached yet: neither a snapshot nor a failure since the console started.
    pub fn connecting(&self) -> usize {
        self.connecting
    }

    /// Containers known, including stale ones of unreachable nodes.
    pub fn containers(&self) -> usize {
        self.containers
    }

    /// Containers of unreachable nodes: their state is not current.
    pub fn stale_containers(&self) -> usize {
        self.stale_containers
    }

    /// Running containers on live nodes.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Restarting containers on live nodes.
    pub fn restarting(&self) -> usize {
        self.restarting
    }

    /// Containers failing their health check on live nodes.
    pub fn unhealthy(&self) -> usize {
        self.unhealthy
    }

    /// CPU use of the live nodes, percent of their cores, `None` without any.
    pub fn cpu_percent(&self) -> Option<f32> {
        (self.cores > 0).then(|| self.cpu_centi_cores as f32 / 100.0 / self.cores as f32)
    }

    /// Cores of the live nodes.
    pub fn cores(&self) -> u64 {
        self.cores
    }

    /// Memory used and total of the live nodes, bytes.
    pub fn memory_bytes(&self) -> (u64, u64) {
        (self.memory_used_bytes, self.memory_total_bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::fixtures;
    use crate::model::{AgentUpdate, ContainerStats, NodeDelta, NodeState};

    fn recount(fleet: &crate::model::Fleet) -> FleetSummary {
        FleetSummary::new(fleet.nodes())
    }

    fn same(a: &FleetSummary, b: &FleetSummary) {
        assert_eq!(a.per_node, b.per_node);
        assert_eq!(a.live_by_mode, b.live_by_mode);
        assert_eq!(a.down_since, b.down_since);
        assert_eq!(
            (
                a.containers,
                a.connecting,
                a.stale_containers,
                a.running,
                a.restarting,
                a.unhealthy
            ),
            (
                b.containers,
                b.connecting,
                b.stale_containers,
                b.running,
                b.restarting,
                b.unhealthy
            )
        );
        assert_eq!(
            (
                a.cpu_centi_cores,
                a.cores,
                a.memory_used_bytes,
                a.memory_total_bytes
            ),
            (
                b.cpu_centi_cores,
                b.cores,
                b.memory_used_bytes,
                b.memory_total_bytes
            )
        );
    }

    #[test]
    fn nodes_count_as_connecting_until_they_answer_or_fail() {
        let t0 = Instant::now();
        let mut fleet =
            crate::model::Fleet::new(["a:1", "b:1", "c:1"], Duration::from_secs(10), t0);
        assert_eq!(fleet.summary().connecting(), 3);
        let snapshot = AgentUpdate::Snapshot {
            slot: 0,
            epoch: 1,
            seq: 1,
            snapshot: Box::new(fixtures::snapshot(0, 2)),
        };
        fleet.apply(snapshot, t0);
        let down = AgentUpdate::Down {
            slot: 1,
            reason: "refused".into(),
        };
        fleet.apply(down, t0);
        assert_eq!(
            fleet.summary().connecting(),
            1,
            "c has neither answered nor failed"
        );
        same(fleet.summary(), &recount(&fleet));
    }

    #[test]
    fn totals_follow_updates_like_a_full_recount() {
        let t0 = Instant::now();
        let mut fleet = fixtures::fleet(9, 23, t0);
        same(fleet.summary(), &recount(&fleet));
        let s = fleet.summary();
        assert_eq!(s.containers(), 9 * 23);
        assert_eq!(s.stale_containers(), 0);
        let counted: usize = fleet.nodes().iter().map(|n| n.active_containers()).sum();
        assert_eq!(s.running() + s.restarting(), counted);
        let states = s.states(t0, fleet.failover_timeout());
        assert_eq!(states.active + states.standby, 9);
        assert_eq!(states.standby, 1, "node-06 is a standby");

        let (epoch, seq) = (fleet.nodes()[2].epoch, fleet.nodes()[2].seq);
        let delta = NodeDelta {
            removed: vec![1, 2],
            stats: vec![(
                3,
                ContainerStats {
                    cpu_percent: 50.0,
                    ..ContainerStats::default()
                },
            )],
            ..NodeDelta::default()
        };
        fleet.apply(
            AgentUpdate::Delta {
                slot: 2,
                epoch,
                seq: seq + 1,
                delta: Box::new(delta),
            },
            t0,
        );
        same(fleet.summary(), &recount(&fleet));
        assert_eq!(fleet.summary().containers(), 9 * 23 - 2);

        let t1 = t0 + Duration::from_secs(3);
        fleet.apply(
            AgentUpdate::Down {
                slot: 4,
                reason: "refused".into(),
            },
            t1,
        );
        same(fleet.summary(), &recount(&fleet));
        assert_eq!(fleet.summary().stale_containers(), 23);
        let timeout = fleet.failover_timeout();
        let at = |t: Instant| fleet.summary().states(t, timeout);
        assert_eq!((at(t1).unknown, at(t1).failed), (1, 0));
        let later = t0 + timeout;
        assert_eq!((at(later).unknown, at(later).failed), (0, 1));
        assert_eq!(fleet.state(4, later), Some(NodeState::Failed));
    }

    #[test]
    fn nodes_never_reached_count_as_unknown_then_failed() {
        let t0 = Instant::now();
        let fleet = crate::model::Fleet::new(["a:1", "b:1"], Duration::from_secs(5), t0);
        let s = fleet.summary();
        assert_eq!(s.states(t0, Duration::from_secs(5)).unknown, 2);
        let t = t0 + Duration::from_secs(5);
        assert_eq!(s.states(t, Duration::from_secs(5)).failed, 2);
        assert_eq!(s.cpu_percent(), None);
    }
}
