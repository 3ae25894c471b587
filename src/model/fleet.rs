//! The whole fleet: every node the console follows, and how agent updates change it.

use std::time::{Duration, Instant};

use super::{
    Container, ContainerSpec, ContainerStats, FleetSummary, HealthCheck, History, HostSample,
    Interner, Link, Node, NodeInfo, NodeState, NodeStatus, backfill,
};

/// Default time an unreachable node stays UNKNOWN before it is FAILED.
pub const DEFAULT_FAILOVER_TIMEOUT: Duration = Duration::from_secs(10);

/// A full picture of one node, as the first message of a stream carries.
#[derive(Debug, Clone, Default)]
pub struct NodeSnapshot {
    pub info: NodeInfo,
    pub host: HostSample,
    pub containers: Vec<(ContainerSpec, ContainerStats)>,
    pub health: Vec<HealthCheck>,
}

/// Changes to one node since the previous state version.
#[derive(Debug, Clone, Default)]
pub struct NodeDelta {
    pub host: Option<HostSample>,
    pub upserts: Vec<(ContainerSpec, ContainerStats)>,
    pub removed: Vec<u32>,
    pub stats: Vec<(u32, ContainerStats)>,
    pub health: Vec<HealthCheck>,
    /// New mode and labels, when they changed.
    pub status: Option<NodeStatus>,
}

/// What one agent connection reports; `slot` is the node's index in the fleet.
#[derive(Debug, Clone)]
pub enum AgentUpdate {
    /// A stream opened and its first message arrived.
    Snapshot {
        slot: usize,
        epoch: u64,
        seq: u64,
        snapshot: Box<NodeSnapshot>,
    },
    /// A change on an open stream.
    Delta {
        slot: usize,
        epoch: u64,
        seq: u64,
        delta: Box<NodeDelta>,
    },
    /// The agent is alive and nothing changed.
    Heartbeat { slot: usize, epoch: u64, seq: u64 },
    /// The connection failed or the stream ended.
    Down { slot: usize, reason: String },
    /// The agent's recent history, asked for once after a stream opened.
    History {
        slot: usize,
        epoch: u64,
        history: Box<History>,
    },
}

impl AgentUpdate {
    /// The node the update is about.
    pub fn slot(&self) -> usize {
        match self {
            Self::Snapshot { slot, .. }
            | Self::Delta { slot, .. }
            | Self::Heartbeat { slot, .. }
            | Self::Down { slot, .. }
            | Self::History { slot, .. } => *slot,
        }
    }
}

/// What applying an update did, so the caller knows what to redraw or log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Something shown on screen may have changed.
    pub changed: bool,
    /// The set of containers (or their sort-relevant fields) changed.
    pub containers_changed: bool,
    /// The agent restarted (a new epoch replaced an old one).
    pub agent_restarted: bool,
}

/// Every node the console follows, in configuration order.
#[derive(Debug, Clone)]
pub struct Fleet {
    nodes: Vec<Node>,
    failover_timeout: Duration,
    /// Totals for headers, kept current by `apply` so no frame walks the fleet.
    summary: FleetSummary,
    /// One copy of each image name, service name and label map the containers repeat.
    interner: Interner,
}

impl Fleet {
    /// A fleet of not-yet-reached nodes at these agent endpoints.
    pub fn new<S: Into<String>>(
        endpoints: impl IntoIterator<Item = S>,
        failover_timeout: Duration,
        now: Instant,
    ) -> Self {
        let nodes: Vec<Node> = endpoints.into_iter().map(|e| Node::new(e, now)).collect();
        let summary = FleetSummary::new(&nodes);
        Self {
            nodes,
            failover_timeout,
            summary,
            interner: Interner::default(),
        }
    }

    /// Fleet-wide totals, current as of the last update.
    pub fn summary(&self) -> &FleetSummary {
        &self.summary
    }

    /// All nodes, by slot.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One node by slot.
    pub fn node(&self, slot: usize) -> Option<&Node> {
        self.nodes.get(slot)
    }

    /// Records the images the engine of the node named `node` holds.
    pub fn set_images(&mut self, node: &str, images: Vec<fleetdeck_core::image::EngineImage>) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.name() == node) {
            n.images = Some(images);
        }
    }

    /// Time an unreachable node stays UNKNOWN before it is FAILED.
    pub fn failover_timeout(&self) -> Duration {
        self.failover_timeout
    }

    /// A node's shown state at `now`.
    pub fn state(&self, slot: usize, now: Instant) -> Option<NodeState> {
        self.nodes
            .get(slot)
            .map(|n| n.state(now, self.failover_timeout))
    }

    /// Total containers across the fleet (including stale ones of unreachable nodes).
    pub fn container_count(&self) -> usize {
        self.nodes.iter().map(|n| n.containers.len()).sum()
    }

    /// Applies one agent update received at `now`.
    pub fn apply(&mut self, update: AgentUpdate, now: Instant) -> Applied {
        let slot = update.slot();
        let applied = self.apply_update(update, now);
        if applied.changed {
            if let Some(node) = self.nodes.get(slot) {
                self.summary.update(slot, node);
            }
        }
        applied
    }

    fn apply_update(&mut self, update: AgentUpdate, now: Instant) -> Applied {
        match update {
            AgentUpdate::Snapshot {
                slot,
                epoch,
                seq,
                snapshot,
            } => self.apply_snapshot(slot, epoch, seq, *snapshot, now),
            AgentUpdate::Delta {
                slot,
                epoch,
                seq,
                delta,
            } => self.apply_delta(slot, epoch, seq, &delta, now),
            AgentUpdate::Heartbeat { slot, epoch, seq } => {
                let Some(node) = self.nodes.get_mut(slot) else {
                    return Applied::default();
                };
                if node.epoch != epoch || node.seq != seq {
                    return Applied::default();
                }
                node.last_seen = Some(now);
                let was_down = node.link != Link::Live;
                node.link = Link::Live;
                Applied {
                    changed: was_down,
                    ..Applied::default()
                }
            }
            AgentUpdate::History {
                slot,
                epoch,
                history,
            } => {
                let Some(node) = self.nodes.get_mut(slot) else {
                    return Applied::default();
                };
                // Figures of another agent instance do not belong to this stream.
                if node.epoch != epoch || history.epoch != epoch {
                    return Applied::default();
                }
                let filled = backfill::apply(node, &history);
                Applied {
                    changed: filled,
                    containers_changed: filled,
                    agent_restarted: false,
                }
            }
            AgentUpdate::Down { slot, reason } => {
                let Some(node) = self.nodes.get_mut(slot) else {
                    return Applied::default();
                };
                match &node.link {
                    Link::Down { reason: old, .. } if *old == reason => Applied::default(),
                    Link::Down { since, .. } => {
                        node.link = Link::Down {
                            since: *since,
                            reason,
                        };
                        Applied {
                            changed: true,
                            ..Applied::default()
                        }
                    }
                    Link::Live | Link::Connecting => {
                        node.link = Link::Down { since: now, reason };
                        Applied {
                            changed: true,
                            ..Applied::default()
                        }
                    }
                }
            }
        }
    }

    fn apply_snapshot(
        &mut self,
        slot: usize,
        epoch: u64,
        seq: u64,
        snapshot: NodeSnapshot,
        now: Instant,
    ) -> Applied {
        let Some(node) = self.nodes.get_mut(slot) else {
            return Applied::default();
        };
        let agent_restarted = node.epoch != 0 && node.epoch != epoch;
        if agent_restarted {
            node.restarts_seen += 1;
        }
        let same_epoch = node.epoch == epoch;
        node.epoch = epoch;
        node.seq = seq;
        node.link = Link::Live;
        node.last_seen = Some(now);
        backfill::mark(node, snapshot.host.time_unix_ms);
        node.info = Some(snapshot.info);
        node.health = snapshot.health;
        // Keep history across a resync of the same agent; a restarted agent starts afresh.
        let mut old = std::mem::take(&mut node.containers);
        for (mut spec, stats) in snapshot.containers {
            self.interner.spec(&mut spec);
            let key = spec.key;
            let container = match old.remove(&key) {
                Some(mut c) if same_epoch => {
                    c.spec = spec;
                    c.live_samples = 0;
                    c.record(stats);
                    c
                }
                _ => Container::new(spec, stats),
            };
            node.containers.insert(key, container);
        }
        record_host(node, snapshot.host);
        Applied {
            changed: true,
            containers_changed: true,
            agent_restarted,
        }
    }

    fn apply_delta(
        &mut self,
        slot: usize,
        epoch: u64,
        seq: u64,
        delta: &NodeDelta,
        now: Instant,
    ) -> Applied {
        let Some(node) = self.nodes.get_mut(slot) else {
            return Applied::default();
        };
        // A delta only applies on top of the version it was computed from.
        if node.epoch != epoch || seq != node.seq.wrapping_add(1) {
            return Applied::default();
        }
        node.seq = seq;
        node.last_seen = Some(now);
        node.link = Link::Live;
        let mut containers_changed = !delta.upserts.is_empty() || !delta.removed.is_empty();
        for key in &delta.removed {
            node.containers.remove(key);
        }
        for (spec, stats) in &delta.upserts {
            let mut spec = spec.clone();
            self.interner.spec(&mut spec);
            match node.containers.get_mut(&spec.key) {
                Some(c) => {
                    c.spec = spec;
                    c.record(*stats);
                }
                None => {
                    node.containers
                        .insert(spec.key, Container::new(spec, *stats));
                }
            }
        }
        for (key, stats) in &delta.stats {
            if let Some(c) = node.containers.get_mut(key) {
                c.record(*stats);
                containers_changed = true;
            }
        }
        if !delta.health.is_empty() {
            for check in &delta.health {
                match node.health.iter_mut().find(|h| h.name == check.name) {
                    Some(h) => *h = check.clone(),
                    None => node.health.push(check.clone()),
                }
            }
        }
        if let (Some(status), Some(info)) = (&delta.status, node.info.as_mut()) {
            info.status = status.clone();
        }
        if let Some(host) = &delta.host {
            record_host(node, host.clone());
        }
        Applied {
            changed: true,
            containers_changed,
            agent_restarted: false,
        }
    }
}

fn record_host(node: &mut Node, host: HostSample) {
    node.host = host;
    node.cpu_history.push(node.host.cpu_percent);
    node.memory_history.push(node.host.memory_percent());
    let load = node.load();
    node.load_history.push(load);
    node.load_minutes.add(node.host.time_unix_ms, load);
    if let Some(mark) = &mut node.backfill {
        mark.live += 1;
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
