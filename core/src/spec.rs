//! A container as a node can re-create it elsewhere ([`PortableSpec`]), the states it
//! carries, and their wire form.

use std::collections::BTreeMap;

use fleetdeck_proto as pb;

/// Lifecycle state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Not reported, or a value this build does not know (read from the wire; an agent
    /// never reports it).
    Unknown,
    /// Created, never started.
    #[default]
    Created,
    /// Running.
    Running,
    /// Being restarted by its restart policy.
    Restarting,
    /// Paused.
    Paused,
    /// Exited.
    Exited,
    /// Dead (could not be removed or stopped).
    Dead,
}

impl ContainerState {
    /// Whether the container's processes exist (running, restarting or paused).
    pub fn is_up(self) -> bool {
        matches!(self, Self::Running | Self::Restarting | Self::Paused)
    }

    /// Lower-case name as shown on screen and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Created => "created",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Paused => "paused",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }

    /// From the wire; UNSPECIFIED and values this build does not know read as `Unknown`.
    pub fn from_proto(v: i32) -> Self {
        match pb::ContainerState::try_from(v) {
            Ok(pb::ContainerState::Created) => Self::Created,
            Ok(pb::ContainerState::Running) => Self::Running,
            Ok(pb::ContainerState::Restarting) => Self::Restarting,
            Ok(pb::ContainerState::Paused) => Self::Paused,
            Ok(pb::ContainerState::Exited) => Self::Exited,
            Ok(pb::ContainerState::Dead) => Self::Dead,
            Ok(pb::ContainerState::Unspecified) | Err(_) => Self::Unknown,
        }
    }

    /// To the wire.
    pub fn to_proto(self) -> pb::ContainerState {
        match self {
            Self::Unknown => pb::ContainerState::Unspecified,
            Self::Created => pb::ContainerState::Created,
            Self::Running => pb::ContainerState::Running,
            Self::Restarting => pb::ContainerState::Restarting,
            Self::Paused => pb::ContainerState::Paused,
            Self::Exited => pb::ContainerState::Exited,
            Self::Dead => pb::ContainerState::Dead,
        }
    }
}

/// Health check state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum HealthState {
    /// No health check defined.
    #[default]
    None,
    /// Within the start period.
    Starting,
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
}

impl HealthState {
    /// Lower-case name as shown on screen and in JSON; `-` when there is no check.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// From the wire; NONE, UNSPECIFIED and values this build does not know read as
    /// `None` (no check reported).
    pub fn from_proto(v: i32) -> Self {
        match pb::HealthStatus::try_from(v) {
            Ok(pb::HealthStatus::Starting) => Self::Starting,
            Ok(pb::HealthStatus::Healthy) => Self::Healthy,
            Ok(pb::HealthStatus::Unhealthy) => Self::Unhealthy,
            Ok(pb::HealthStatus::None | pb::HealthStatus::Unspecified) | Err(_) => Self::None,
        }
    }

    /// To the wire.
    pub fn to_proto(self) -> pb::HealthStatus {
        match self {
            Self::None => pb::HealthStatus::None,
            Self::Starting => pb::HealthStatus::Starting,
            Self::Healthy => pb::HealthStatus::Healthy,
            Self::Unhealthy => pb::HealthStatus::Unhealthy,
        }
    }
}

/// What a node needs to create a copy of a container.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PortableSpec {
    /// Runtime id on the node it came from.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Service.
    pub service: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Published ports as `(container, host, protocol)`.
    pub ports: Vec<(u16, u16, String)>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// Volume names (one directory each).
    pub volumes: Vec<String>,
    /// Bytes of volume data.
    pub volume_bytes: u64,
    /// Memory limit, bytes; 0 = none.
    pub memory_limit_bytes: u64,
    /// CPU limit, cores; 0 = none.
    pub cpu_limit_cores: f32,
    /// Current state.
    #[serde(skip)]
    pub state: ContainerState,
    /// Current health.
    #[serde(skip)]
    pub health: HealthState,
}

impl PortableSpec {
    /// To the wire.
    pub fn to_proto(&self) -> pb::PortableSpec {
        pb::PortableSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            image: self.image.clone(),
            service: self.service.clone(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ports: self
                .ports
                .iter()
                .map(|(c, h, p)| pb::Port {
                    container_port: u32::from(*c),
                    host_port: u32::from(*h),
                    protocol: p.clone(),
                    host_ip: String::new(),
                })
                .collect(),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            volumes: self.volumes.clone(),
            volume_bytes: self.volume_bytes,
            memory_limit_bytes: self.memory_limit_bytes,
            cpu_limit_cores: self.cpu_limit_cores,
            state: self.state.to_proto() as i32,
            health: self.health.to_proto() as i32,
        }
    }

    /// From the wire (state and health are not taken: they are the source's).
    pub fn from_proto(s: pb::PortableSpec) -> Self {
        Self {
            id: s.id,
            name: s.name,
            image: s.image,
            service: s.service,
            labels: s.labels.into_iter().collect(),
            ports: s
                .ports
                .into_iter()
                .map(|p| {
                    (
                        u16::try_from(p.container_port).unwrap_or(0),
                        u16::try_from(p.host_port).unwrap_or(0),
                        p.protocol,
                    )
                })
                .collect(),
            env: s.env.into_iter().collect(),
            volumes: s.volumes,
            volume_bytes: s.volume_bytes,
            memory_limit_bytes: s.memory_limit_bytes,
            cpu_limit_cores: s.cpu_limit_cores,
            state: ContainerState::Created,
            health: HealthState::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_state_round_trips_and_unknown_values_read_as_unknown() {
        for s in [
            ContainerState::Unknown,
            ContainerState::Created,
            ContainerState::Running,
            ContainerState::Restarting,
            ContainerState::Paused,
            ContainerState::Exited,
            ContainerState::Dead,
        ] {
            assert_eq!(ContainerState::from_proto(s.to_proto() as i32), s);
        }
        for v in [-1, 0, 99, i32::MAX] {
            assert_eq!(ContainerState::from_proto(v), ContainerState::Unknown);
        }
        assert_eq!(ContainerState::default(), ContainerState::Created);
    }

    #[test]
    fn health_round_trips_and_unknown_values_read_as_none() {
        for h in [
            HealthState::None,
            HealthState::Starting,
            HealthState::Healthy,
            HealthState::Unhealthy,
        ] {
            assert_eq!(HealthState::from_proto(h.to_proto() as i32), h);
        }
        for v in [-1, 0, 99, i32::MAX] {
            assert_eq!(HealthState::from_proto(v), HealthState::None);
        }
    }

    #[test]
    fn a_spec_survives_the_wire_but_not_its_state() {
        let spec = PortableSpec {
            id: "abc".into(),
            name: "web-1".into(),
            image: "nginx:1".into(),
            service: "web".into(),
            labels: [("a".to_owned(), "b".to_owned())].into(),
            ports: vec![(80, 8080, "tcp".into())],
            env: [("K".to_owned(), "V".to_owned())].into(),
            volumes: vec!["data".into()],
            volume_bytes: 42,
            memory_limit_bytes: 1 << 20,
            cpu_limit_cores: 0.5,
            state: ContainerState::Running,
            health: HealthState::Healthy,
        };
        let wire = spec.to_proto();
        assert_eq!(wire.state, pb::ContainerState::Running as i32);
        let back = PortableSpec::from_proto(wire);
        assert_eq!(back.state, ContainerState::Created);
        assert_eq!(
            back,
            PortableSpec {
                state: ContainerState::Created,
                health: HealthState::None,
                ..spec
            }
        );
    }
}
