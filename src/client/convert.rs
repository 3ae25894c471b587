//! Wire messages (`fleetdeck.v1`) to the console's model. Pure: no I/O, never panics;
//! enum values this console does not know become the model's Unknown/None variants.

use std::collections::{BTreeMap, HashMap};

use fleetdeck_proto as pb;
use fleetdeck_proto::watch_event::Body;

use crate::model::{
    AgentUpdate, CheckStatus, ContainerSpec, ContainerState, ContainerStats, Health, HealthCheck,
    HostSample, NodeDelta, NodeInfo, NodeMode, NodeSnapshot, Port,
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
        info: node_info(info),
        host: s.host.map(host_sample).unwrap_or_default(),
        containers: s.containers.into_iter().map(container).collect(),
        health: s.health.into_iter().map(health_check).collect(),
    })
}

/// Changes since the previous state version.
pub fn delta(d: pb::Delta) -> NodeDelta {
    NodeDelta {
        host: d.host.map(host_sample),
        upserts: d.upserts.into_iter().map(container).collect(),
        removed: d.removed,
        stats: d
            .stats
            .into_iter()
            .map(|s| (s.key, container_stats(s)))
            .collect(),
        health: d.health.into_iter().map(health_check).collect(),
        status: d.status.map(|s| (node_mode(s.mode), labels(s.labels))),
    }
}

/// What the agent says about its node.
pub fn node_info(i: pb::NodeInfo) -> NodeInfo {
    NodeInfo {
        node_id: i.node_id,
        hostname: i.hostname,
        runtime: i.runtime,
        agent_version: i.agent_version,
        cpu_cores: i.cpu_cores,
        memory_total_bytes: i.memory_total_bytes,
        disk_total_bytes: i.disk_total_bytes,
        mode: node_mode(i.mode),
        labels: labels(i.labels),
        started_unix_ms: i.started_unix_ms,
        sample_interval_ms: i.sample_interval_ms,
        max_containers: i.max_containers,
        insecure: i.insecure,
        open: i.open,
        engine_id: i.engine_id,
    }
}

/// Host figures at one sample.
pub fn host_sample(h: pb::HostSample) -> HostSample {
    HostSample {
        time_unix_ms: h.time_unix_ms,
        cpu_percent: finite(h.cpu_percent),
        cpu_per_core: h.cpu_per_core.into_iter().map(finite).collect(),
        memory_used_bytes: h.memory_used_bytes,
        memory_total_bytes: h.memory_total_bytes,
        swap_used_bytes: h.swap_used_bytes,
        swap_total_bytes: h.swap_total_bytes,
        disk_used_bytes: h.disk_used_bytes,
        disk_total_bytes: h.disk_total_bytes,
        net_rx_bytes_per_sec: h.net_rx_bytes_per_sec,
        net_tx_bytes_per_sec: h.net_tx_bytes_per_sec,
        load1: finite(h.load1),
        load5: finite(h.load5),
        load15: finite(h.load15),
        uptime_secs: h.uptime_secs,
    }
}

/// A container record and its figures (zero figures when the agent sent none).
pub fn container(c: pb::Container) -> (ContainerSpec, ContainerStats) {
    let stats = c.stats.map(container_stats).unwrap_or_default();
    let spec = ContainerSpec {
        key: c.key,
        id: c.id,
        name: c.name,
        image: c.image,
        service: c.service,
        state: container_state(c.state),
        health: health(c.health),
        restart_count: c.restart_count,
        created_unix_ms: c.created_unix_ms,
        started_unix_ms: c.started_unix_ms,
        labels: labels(c.labels),
        ports: c.ports.into_iter().map(port).collect(),
        exit_code: c.exit_code,
    };
    (spec, stats)
}

/// A container's resource figures.
pub fn container_stats(s: pb::ContainerStats) -> ContainerStats {
    ContainerStats {
        cpu_percent: finite(s.cpu_percent),
        memory_used_bytes: s.memory_used_bytes,
        memory_limit_bytes: s.memory_limit_bytes,
        net_rx_bytes_per_sec: s.net_rx_bytes_per_sec,
        net_tx_bytes_per_sec: s.net_tx_bytes_per_sec,
        block_read_bytes_per_sec: s.block_read_bytes_per_sec,
        block_write_bytes_per_sec: s.block_write_bytes_per_sec,
    }
}

/// One of the agent's own checks.
pub fn health_check(h: pb::HealthCheck) -> HealthCheck {
    HealthCheck {
        name: h.name,
        status: check_status(h.status),
        message: h.message,
    }
}

/// Node mode; unspecified or unknown values read as Active, the model's default.
pub fn node_mode(v: i32) -> NodeMode {
    match pb::NodeMode::try_from(v) {
        Ok(pb::NodeMode::Standby) => NodeMode::Standby,
        Ok(pb::NodeMode::Maintenance) => NodeMode::Maintenance,
        Ok(pb::NodeMode::Active | pb::NodeMode::Unspecified) | Err(_) => NodeMode::Active,
    }
}

/// Container lifecycle state; unknown values read as `Unknown`.
pub fn container_state(v: i32) -> ContainerState {
    match pb::ContainerState::try_from(v) {
        Ok(pb::ContainerState::Created) => ContainerState::Created,
        Ok(pb::ContainerState::Running) => ContainerState::Running,
        Ok(pb::ContainerState::Restarting) => ContainerState::Restarting,
        Ok(pb::ContainerState::Paused) => ContainerState::Paused,
        Ok(pb::ContainerState::Exited) => ContainerState::Exited,
        Ok(pb::ContainerState::Dead) => ContainerState::Dead,
        Ok(pb::ContainerState::Unspecified) | Err(_) => ContainerState::Unknown,
    }
}

/// Container health; unknown values read as `None` (no check reported).
pub fn health(v: i32) -> Health {
    match pb::HealthStatus::try_from(v) {
        Ok(pb::HealthStatus::Starting) => Health::Starting,
        Ok(pb::HealthStatus::Healthy) => Health::Healthy,
        Ok(pb::HealthStatus::Unhealthy) => Health::Unhealthy,
        Ok(pb::HealthStatus::None | pb::HealthStatus::Unspecified) | Err(_) => Health::None,
    }
}

/// Agent check status; unknown values read as `Unknown`.
pub fn check_status(v: i32) -> CheckStatus {
    match pb::CheckStatus::try_from(v) {
        Ok(pb::CheckStatus::Ok) => CheckStatus::Ok,
        Ok(pb::CheckStatus::Warning) => CheckStatus::Warning,
        Ok(pb::CheckStatus::Failing) => CheckStatus::Failing,
        Ok(pb::CheckStatus::Unspecified) | Err(_) => CheckStatus::Unknown,
    }
}

fn port(p: pb::Port) -> Port {
    Port {
        // Out-of-range numbers cannot be real ports: shown as 0 rather than wrapped.
        container_port: u16::try_from(p.container_port).unwrap_or(0),
        host_port: u16::try_from(p.host_port).unwrap_or(0),
        protocol: p.protocol,
        host_ip: p.host_ip,
    }
}

fn labels(map: HashMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter().collect()
}

/// NaN or infinite figures would poison sorting and sums: read them as 0.
fn finite(v: f32) -> f32 {
    if v.is_finite() { v } else { 0.0 }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
