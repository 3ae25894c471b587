//! Wire messages (`fleetdeck.v1`) to the console's model. Pure: no I/O, never panics;
//! enum values this console does not know become the model's Unknown/None variants. The
//! parts both sides share decode through their one codec in `fleetdeck_core`.

use std::collections::{BTreeMap, HashMap};

use fleetdeck_proto as pb;
use fleetdeck_proto::watch_event::Body;

use crate::model::{
    AgentUpdate, ContainerSpec, ContainerState, ContainerStats, HealthCheck, HealthState,
    HostSample, Labels, NodeDelta, NodeInfo, NodeSnapshot, NodeStatus, PortMapping,
};

/// A wire message the console cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A `WatchEvent` with no body (or a body kind newer than this console).
    #[error("message without a body")]
    EmptyBody,
    /// A snapshot that does not say which node it describes.
    #[error("snapshot without node info")]
    SnapshotWithoutNode,
}

/// One watch message as an update for the node in `slot`.
pub fn watch_event(slot: usize, event: pb::WatchEvent) -> Result<AgentUpdate, ConvertError> {
    let (epoch, seq) = (event.epoch, event.seq);
    match event.body.ok_or(ConvertError::EmptyBody)? {
        Body::Snapshot(s) => Ok(AgentUpdate::Snapshot {
            slot,
            epoch,
            seq,
            snapshot: Box::new(snapshot(s)?),
        }),
        Body::Delta(d) => Ok(AgentUpdate::Delta {
            slot,
            epoch,
            seq,
            delta: Box::new(delta(d)),
        }),
        Body::Heartbeat(_) => Ok(AgentUpdate::Heartbeat { slot, epoch, seq }),
    }
}

/// A full node picture.
pub fn snapshot(s: pb::Snapshot) -> Result<NodeSnapshot, ConvertError> {
    let info = s.node.ok_or(ConvertError::SnapshotWithoutNode)?;
    Ok(NodeSnapshot {
        info: NodeInfo::from_proto(info),
        host: s.host.map(HostSample::from_proto).unwrap_or_default(),
        containers: s.containers.into_iter().map(container).collect(),
        health: s.health.into_iter().map(HealthCheck::from_proto).collect(),
    })
}

/// Changes since the previous state version.
pub fn delta(d: pb::Delta) -> NodeDelta {
    NodeDelta {
        host: d.host.map(HostSample::from_proto),
        upserts: d.upserts.into_iter().map(container).collect(),
        removed: d.removed,
        stats: d
            .stats
            .into_iter()
            .map(|s| (s.key, ContainerStats::from_proto(s)))
            .collect(),
        health: d.health.into_iter().map(HealthCheck::from_proto).collect(),
        status: d.status.map(NodeStatus::from_proto),
    }
}

/// A container record and its figures (zero figures when the agent sent none).
pub fn container(c: pb::Container) -> (ContainerSpec, ContainerStats) {
    let stats = c.stats.map(ContainerStats::from_proto).unwrap_or_default();
    let spec = ContainerSpec {
        key: c.key,
        id: c.id,
        name: c.name,
        image: c.image.into(),
        service: c.service.into(),
        state: ContainerState::from_proto(c.state),
        health: HealthState::from_proto(c.health),
        restart_count: c.restart_count,
        created_unix_ms: c.created_unix_ms,
        started_unix_ms: c.started_unix_ms,
        labels: labels(c.labels),
        ports: c.ports.into_iter().map(PortMapping::from_proto).collect(),
        exit_code: c.exit_code,
    };
    (spec, stats)
}

fn labels(map: HashMap<String, String>) -> Labels {
    std::sync::Arc::new(map.into_iter().collect::<BTreeMap<_, _>>())
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
