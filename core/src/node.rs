//! What an agent says about its node: who it is, its mode, its own checks and host figures, with
//! their wire codec. Decoding never fails: values this build does not know read as the
//! safe default named on each type.

use std::collections::BTreeMap;

use fleetdeck_proto as pb;

/// Scheduling mode of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeMode {
    /// Takes placements.
    #[default]
    Active,
    /// Held in reserve (preferred failover target).
    Standby,
    /// Cordoned: takes no new placements.
    Maintenance,
}

impl NodeMode {
    /// To the wire.
    pub fn to_proto(self) -> pb::NodeMode {
        match self {
            Self::Active => pb::NodeMode::Active,
            Self::Standby => pb::NodeMode::Standby,
            Self::Maintenance => pb::NodeMode::Maintenance,
        }
    }

    /// From the wire; `None` for UNSPECIFIED or values this build does not know (the
    /// console reads those as the default, Active).
    pub fn from_proto(v: i32) -> Option<Self> {
        match pb::NodeMode::try_from(v).ok()? {
            pb::NodeMode::Active => Some(Self::Active),
            pb::NodeMode::Standby => Some(Self::Standby),
            pb::NodeMode::Maintenance => Some(Self::Maintenance),
            pb::NodeMode::Unspecified => None,
        }
    }
}

/// Node mode and labels: what a `Delta.status` carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeStatus {
    /// Current mode.
    pub mode: NodeMode,
    /// Operator labels.
    pub labels: BTreeMap<String, String>,
}

impl NodeStatus {
    /// To the wire.
    pub fn to_proto(&self) -> pb::NodeStatus {
        pb::NodeStatus {
            mode: self.mode.to_proto() as i32,
            labels: labels_to_proto(&self.labels),
        }
    }

    /// From the wire; an unspecified or unknown mode reads as Active.
    pub fn from_proto(s: pb::NodeStatus) -> Self {
        Self {
            mode: NodeMode::from_proto(s.mode).unwrap_or_default(),
            labels: s.labels.into_iter().collect(),
        }
    }
}

/// Who and what the node is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeInfo {
    /// Node name.
    pub node_id: String,
    /// Host name (the node id for sim nodes).
    pub hostname: String,
    /// "sim" or "docker".
    pub runtime: String,
    /// Agent version.
    pub agent_version: String,
    /// CPU cores.
    pub cpu_cores: u32,
    /// Total memory, bytes.
    pub memory_total_bytes: u64,
    /// Total disk, bytes.
    pub disk_total_bytes: u64,
    /// Mode and labels.
    pub status: NodeStatus,
    /// When the agent started, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Sample interval, ms.
    pub sample_interval_ms: u32,
    /// Most containers the node is meant to hold; 0 = unknown.
    pub max_containers: u32,
    /// Serves beyond loopback without TLS or caller checks (`--insecure`).
    pub insecure: bool,
    /// Identity of the engine behind this node (docker's engine ID); empty when none.
    /// Nodes with equal non-empty values share one engine.
    pub engine_id: String,
    /// Checks no caller (loopback, no tokens): every caller is an anonymous admin.
    pub open: bool,
}

impl NodeInfo {
    /// To the wire.
    pub fn to_proto(&self) -> pb::NodeInfo {
        pb::NodeInfo {
            node_id: self.node_id.clone(),
            hostname: self.hostname.clone(),
            runtime: self.runtime.clone(),
            agent_version: self.agent_version.clone(),
            cpu_cores: self.cpu_cores,
            memory_total_bytes: self.memory_total_bytes,
            disk_total_bytes: self.disk_total_bytes,
            mode: self.status.mode.to_proto() as i32,
            labels: labels_to_proto(&self.status.labels),
            started_unix_ms: self.started_unix_ms,
            sample_interval_ms: self.sample_interval_ms,
            max_containers: self.max_containers,
            insecure: self.insecure,
            open: self.open,
            engine_id: self.engine_id.clone(),
        }
    }

    /// From the wire; an unspecified or unknown mode reads as Active.
    pub fn from_proto(i: pb::NodeInfo) -> Self {
        Self {
            node_id: i.node_id,
            hostname: i.hostname,
            runtime: i.runtime,
            agent_version: i.agent_version,
            cpu_cores: i.cpu_cores,
            memory_total_bytes: i.memory_total_bytes,
            disk_total_bytes: i.disk_total_bytes,
            status: NodeStatus {
                mode: NodeMode::from_proto(i.mode).unwrap_or_default(),
                labels: i.labels.into_iter().collect(),
            },
            started_unix_ms: i.started_unix_ms,
            sample_interval_ms: i.sample_interval_ms,
            max_containers: i.max_containers,
            insecure: i.insecure,
            engine_id: i.engine_id,
            open: i.open,
        }
    }
}

fn labels_to_proto(labels: &BTreeMap<String, String>) -> std::collections::HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Outcome of one of the agent's own checks, ordered from best to worst after `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CheckStatus {
    /// Not reported, or a value this build does not know (the agent never sends it).
    #[default]
    Unknown,
    /// Fine.
    Ok,
    /// Needs attention.
    Warning,
    /// Broken.
    Failing,
}

impl CheckStatus {
    /// To the wire.
    pub fn to_proto(self) -> pb::CheckStatus {
        match self {
            Self::Unknown => pb::CheckStatus::Unspecified,
            Self::Ok => pb::CheckStatus::Ok,
            Self::Warning => pb::CheckStatus::Warning,
            Self::Failing => pb::CheckStatus::Failing,
        }
    }

    /// From the wire; unknown values read as `Unknown`.
    pub fn from_proto(v: i32) -> Self {
        match pb::CheckStatus::try_from(v) {
            Ok(pb::CheckStatus::Ok) => Self::Ok,
            Ok(pb::CheckStatus::Warning) => Self::Warning,
            Ok(pb::CheckStatus::Failing) => Self::Failing,
            Ok(pb::CheckStatus::Unspecified) | Err(_) => Self::Unknown,
        }
    }
}

/// Name of the agent's check that its container runtime answers.
pub const RUNTIME_CHECK: &str = "runtime";

/// One of the agent's own checks (runtime reachable, disk space, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheck {
    /// Check name, e.g. `disk`.
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
    /// Human explanation.
    pub message: String,
}

impl HealthCheck {
    /// To the wire.
    pub fn to_proto(&self) -> pb::HealthCheck {
        pb::HealthCheck {
            name: self.name.clone(),
            status: self.status.to_proto() as i32,
            message: self.message.clone(),
        }
    }

    /// From the wire.
    pub fn from_proto(h: pb::HealthCheck) -> Self {
        Self {
            name: h.name,
            status: CheckStatus::from_proto(h.status),
            message: h.message,
        }
    }
}

/// One sample of the host's resources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostSample {
    /// Sample time, ms since the Unix epoch.
    pub time_unix_ms: u64,
    /// Whole-host CPU busy, 0-100.
    pub cpu_percent: f32,
    /// Per-core busy, 0-100.
    pub cpu_per_core: Vec<f32>,
    /// Memory in use, bytes.
    pub memory_used_bytes: u64,
    /// Memory total, bytes.
    pub memory_total_bytes: u64,
    /// Swap in use, bytes.
    pub swap_used_bytes: u64,
    /// Swap total, bytes.
    pub swap_total_bytes: u64,
    /// Disk in use, bytes.
    pub disk_used_bytes: u64,
    /// Disk total, bytes.
    pub disk_total_bytes: u64,
    /// Network receive rate, bytes/s.
    pub net_rx_bytes_per_sec: u64,
    /// Network transmit rate, bytes/s.
    pub net_tx_bytes_per_sec: u64,
    /// Load average over 1 minute.
    pub load1: f32,
    /// Load average over 5 minutes.
    pub load5: f32,
    /// Load average over 15 minutes.
    pub load15: f32,
    /// Host uptime, seconds.
    pub uptime_secs: u64,
}

impl HostSample {
    /// True when anything but the sample time differs.
    pub fn same_figures(&self, other: &HostSample) -> bool {
        let mut a = self.clone();
        a.time_unix_ms = other.time_unix_ms;
        a.uptime_secs = other.uptime_secs;
        a == *other
    }

    /// Memory used, percent of total.
    pub fn memory_percent(&self) -> f32 {
        percent(self.memory_used_bytes, self.memory_total_bytes)
    }

    /// Disk used, percent of total.
    pub fn disk_percent(&self) -> f32 {
        percent(self.disk_used_bytes, self.disk_total_bytes)
    }

    /// To the wire.
    pub fn to_proto(&self) -> pb::HostSample {
        pb::HostSample {
            time_unix_ms: self.time_unix_ms,
            cpu_percent: self.cpu_percent,
            cpu_per_core: self.cpu_per_core.clone(),
            memory_used_bytes: self.memory_used_bytes,
            memory_total_bytes: self.memory_total_bytes,
            swap_used_bytes: self.swap_used_bytes,
            swap_total_bytes: self.swap_total_bytes,
            disk_used_bytes: self.disk_used_bytes,
            disk_total_bytes: self.disk_total_bytes,
            net_rx_bytes_per_sec: self.net_rx_bytes_per_sec,
            net_tx_bytes_per_sec: self.net_tx_bytes_per_sec,
            load1: self.load1,
            load5: self.load5,
            load15: self.load15,
            uptime_secs: self.uptime_secs,
        }
    }

    /// From the wire; NaN or infinite figures read as 0.
    pub fn from_proto(h: pb::HostSample) -> Self {
        Self {
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
}

fn percent(used: u64, total: u64) -> f32 {
    if total == 0 {
        0.0
    } else {
        (used as f64 / total as f64 * 100.0) as f32
    }
}

/// NaN or infinite figures would poison sorting and sums: read them as 0.
pub(crate) fn finite(v: f32) -> f32 {
    if v.is_finite() { v } else { 0.0 }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
