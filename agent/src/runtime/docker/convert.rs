//! Engine API records -> the agent's plain container types. Pure, so it is tested without an
//! engine.

use std::collections::BTreeMap;
use std::collections::HashMap;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, HealthStatusEnum, PortSummary, PortSummaryTypeEnum,
};

use crate::model::{ContainerSpec, ContainerState, ContainerStatus, HealthState, PortMapping};

/// Label naming a container's service explicitly.
pub const SERVICE_LABEL: &str = "fleetdeck.service";
/// Compose's project label.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// Compose's service label.
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// The service a container belongs to: `fleetdeck.service`, else compose's
/// `project/service` (or just the service), else empty.
pub fn service(labels: &BTreeMap<String, String>) -> String {
    if let Some(s) = labels.get(SERVICE_LABEL).filter(|s| !s.is_empty()) {
        return s.clone();
    }
    match (
        labels.get(COMPOSE_PROJECT_LABEL).filter(|s| !s.is_empty()),
        labels.get(COMPOSE_SERVICE_LABEL).filter(|s| !s.is_empty()),
    ) {
        (Some(p), Some(s)) => format!("{p}/{s}"),
        (None, Some(s)) => s.clone(),
        _ => String::new(),
    }
}

/// State as the container list reports it.
pub fn summary_state(s: Option<&ContainerSummaryStateEnum>) -> ContainerState {
    use ContainerSummaryStateEnum as S;
    match s {
        Some(S::RUNNING | S::STOPPING) => ContainerState::Running,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::EXITED | S::REMOVING) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        Some(S::CREATED | S::EMPTY) | None => ContainerState::Created,
    }
}

fn inspect_state(s: Option<&ContainerStateStatusEnum>) -> ContainerState {
    use ContainerStateStatusEnum as S;
    match s {
        Some(S::RUNNING | S::STOPPING) => ContainerState::Running,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::EXITED | S::REMOVING) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        Some(S::CREATED | S::EMPTY) | None => ContainerState::Created,
    }
}

/// Health as the list's status text shows it ("Up 3 minutes (unhealthy)"). Engines before
/// API 1.51 put it nowhere else in the list, and reading it there spares an inspect per
/// container per pass.
pub fn summary_health(status: &str) -> HealthState {
    if status.contains("(healthy)") {
        HealthState::Healthy
    } else if status.contains("(unhealthy)") {
        HealthState::Unhealthy
    } else if status.contains("(health: starting)") {
        HealthState::Starting
    } else {
        HealthState::None
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 time; 0 for the engine's "never"
/// (`0001-01-01T00:00:00Z`) or anything unparsable.
pub fn unix_ms(rfc3339: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
        .unwrap_or(0)
}

/// Published ports from the list, without the duplicate the engine lists per address family.
pub fn ports(list: &[PortSummary]) -> Vec<PortMapping> {
    let mut out: Vec<PortMapping> = Vec::with_capacity(list.len());
    for p in list {
        let m = PortMapping {
            container_port: p.private_port,
            host_port: p.public_port.unwrap_or(0),
            protocol: match p.typ {
                Some(PortSummaryTypeEnum::UDP) => "udp",
                Some(PortSummaryTypeEnum::SCTP) => "sctp",
                _ => "tcp",
            }
            .to_owned(),
            host_ip: p.ip.clone().unwrap_or_default(),
        };
        let dup = out.iter().any(|o| {
            o.container_port == m.container_port
                && o.host_port == m.host_port
                && o.protocol == m.protocol
        });
        if !dup {
            out.push(m);
        }
    }
    out.sort_by(|a, b| (a.container_port, &a.protocol).cmp(&(b.container_port, &b.protocol)));
    out
}

fn labels(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The fixed description of a container from its inspect record and list entry.
pub fn spec(i: &ContainerInspectResponse, summary: &ContainerSummary) -> ContainerSpec {
    let config = i.config.as_ref();
    let labels = labels(
        config
            .and_then(|c| c.labels.as_ref())
            .or(summary.labels.as_ref()),
    );
    let name = i
        .name
        .as_deref()
        .or_else(|| {
            summary
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(String::as_str)
        })
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let image = config
        .and_then(|c| c.image.clone())
        .or_else(|| summary.image.clone())
        .unwrap_or_default();
    let created = i.created.as_deref().map(unix_ms).unwrap_or_else(|| {
        summary
            .created
            .and_then(|s| u64::try_from(s).ok())
            .map_or(0, |s| s * 1000)
    });
    ContainerSpec {
        id: i
            .id
            .clone()
            .or_else(|| summary.id.clone())
            .unwrap_or_default(),
        name,
        image,
        service: service(&labels),
        labels,
        ports: ports(summary.ports.as_deref().unwrap_or_default()),
        created_unix_ms: created,
    }
}

/// Where the container is in its lifecycle, from its inspect record.
pub fn status(i: &ContainerInspectResponse) -> ContainerStatus {
    let st = i.state.as_ref();
    let state = inspect_state(st.and_then(|s| s.status.as_ref()));
    let health = match st.and_then(|s| s.health.as_ref()).and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => HealthState::Starting,
        Some(HealthStatusEnum::HEALTHY) => HealthState::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => HealthState::Unhealthy,
        Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) | None => HealthState::None,
    };
    let started = if state.is_up() {
        st.and_then(|s| s.started_at.as_deref()).map_or(0, unix_ms)
    } else {
        0
    };
    ContainerStatus {
        state,
        // A stopped container's last health result is stale: show none.
        health: if state.is_up() {
            health
        } else {
            HealthState::None
        },
        restart_count: i
            .restart_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        started_unix_ms: started,
        exit_code: st
            .and_then(|s| s.exit_code)
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(0),
    }
}

/// The init process of a running container, as the engine's pid namespace numbers it.
pub fn pid(i: &ContainerInspectResponse) -> Option<u32> {
    i.state
        .as_ref()
        .and_then(|s| s.pid)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0)
}

/// The memory limit set on the container, bytes; 0 = none.
pub fn memory_limit(i: &ContainerInspectResponse) -> u64 {
    i.host_config
        .as_ref()
        .and_then(|h| h.memory)
        .and_then(|m| u64::try_from(m).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerConfig, ContainerState as ApiState, Health};

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn service_from_labels() {
        assert_eq!(service(&map(&[(SERVICE_LABEL, "api")])), "api");
        let compose = map(&[
            (COMPOSE_PROJECT_LABEL, "shop"),
            (COMPOSE_SERVICE_LABEL, "db"),
        ]);
        assert_eq!(service(&compose), "shop/db");
        let both = map(&[(SERVICE_LABEL, "api"), (COMPOSE_SERVICE_LABEL, "db")]);
        assert_eq!(service(&both), "api");
        assert_eq!(service(&map(&[(COMPOSE_SERVICE_LABEL, "db")])), "db");
        assert_eq!(service(&map(&[("other", "x")])), "");
    }

    #[test]
    fn health_from_status_text() {
        assert_eq!(
            summary_health("Up 2 minutes (healthy)"),
            HealthState::Healthy
        );
        assert_eq!(summary_health("Up 1 s (unhealthy)"), HealthState::Unhealthy);
        assert_eq!(
            summary_health("Up 1 s (health: starting)"),
            HealthState::Starting
        );
        assert_eq!(summary_health("Exited (0) 3 s ago"), HealthState::None);
    }

    #[test]
    fn times_and_ports() {
        assert_eq!(unix_ms("0001-01-01T00:00:00Z"), 0);
        assert_eq!(unix_ms("2024-01-01T00:00:01.5Z"), 1_704_067_201_500);
        assert_eq!(unix_ms("garbage"), 0);
        let p = |ip: &str, private, public| PortSummary {
            ip: Some(ip.to_owned()),
            private_port: private,
            public_port: public,
            typ: Some(PortSummaryTypeEnum::TCP),
        };
        let got = ports(&[
            p("0.0.0.0", 80, Some(8080)),
            p("::", 80, Some(8080)),
            p("", 22, None),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].container_port, got[0].host_port), (22, 0));
        assert_eq!((got[1].container_port, got[1].host_port), (80, 8080));
        assert_eq!(got[1].host_ip, "0.0.0.0");
    }

    #[test]
    fn spec_and_status_from_inspect() {
        let i = ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/web-1".into()),
            created: Some("2024-01-01T00:00:00Z".into()),
            restart_count: Some(3),
            config: Some(ContainerConfig {
                image: Some("img:1".into()),
                labels: Some([(SERVICE_LABEL.to_owned(), "web".to_owned())].into()),
                ..Default::default()
            }),
            state: Some(ApiState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                started_at: Some("2024-01-01T00:00:10Z".into()),
                pid: Some(42),
                exit_code: Some(0),
                health: Some(Health {
                    status: Some(HealthStatusEnum::UNHEALTHY),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = spec(&i, &ContainerSummary::default());
        assert_eq!((s.name.as_str(), s.image.as_str()), ("web-1", "img:1"));
        assert_eq!(s.service, "web");
        assert_eq!(s.created_unix_ms, 1_704_067_200_000);
        let st = status(&i);
        assert_eq!(st.state, ContainerState::Running);
        assert_eq!(st.health, HealthState::Unhealthy);
        assert_eq!(st.restart_count, 3);
        assert_eq!(st.started_unix_ms, 1_704_067_210_000);
        assert_eq!(pid(&i), Some(42));
    }
}
