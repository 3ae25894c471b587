//! Deterministic sample fleets for tests, benchmarks and snapshots.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::model::{
    AgentUpdate, CheckStatus, ContainerSpec, ContainerState, ContainerStats, Fleet, HealthCheck,
    HealthState, HostSample, NodeInfo, NodeMode, NodeSnapshot, NodeStatus, PortMapping,
};

const SERVICES: [(&str, &str); 6] = [
    ("web", "nginx:1.27"),
    ("api", "fleetdeck/api:2.4.1"),
    ("db", "postgres:16"),
    ("cache", "redis:7.2"),
    ("queue", "rabbitmq:3.13"),
    ("worker", "fleetdeck/worker:2.4.1"),
];

/// Agent time used by fixtures (2026-11-24 12:00:00 UTC), so snapshots are stable.
pub const FIXTURE_TIME_UNIX_MS: u64 = 1_795_521_600_000;

/// A node's snapshot: `containers` containers with figures that vary with `n` and `i`.
pub fn snapshot(n: usize, containers: usize) -> NodeSnapshot {
    let cores = [8u32, 16, 32, 4][n % 4];
    let memory_total = u64::from(cores) * 4 * (1 << 30);
    let mut used = 0u64;
    let list: Vec<_> = (0..containers)
        .map(|i| {
            let (service, image) = SERVICES[i % SERVICES.len()];
            let (spec, stats) = container(n, i, service, image);
            used += stats.memory_used_bytes;
            (spec, stats)
        })
        .collect();
    let cpu = ((n * 37 + 11) % 97) as f32 * 0.9 + 2.0;
    NodeSnapshot {
        info: NodeInfo {
            node_id: format!("node-{n:02}"),
            hostname: format!("host-{n:02}.example"),
            runtime: "sim".into(),
            agent_version: "0.1.0".into(),
            cpu_cores: cores,
            memory_total_bytes: memory_total,
            disk_total_bytes: 500 << 30,
            status: NodeStatus {
                mode: if n % 7 == 6 {
                    NodeMode::Standby
                } else {
                    NodeMode::Active
                },
                labels: BTreeMap::from([("rack".to_string(), format!("r{}", n / 8))]),
            },
            started_unix_ms: FIXTURE_TIME_UNIX_MS - 86_400_000,
            sample_interval_ms: 1000,
            max_containers: 64,
            insecure: false,
            open: false,
            engine_id: String::new(),
        },
        host: HostSample {
            time_unix_ms: FIXTURE_TIME_UNIX_MS,
            cpu_percent: cpu.min(99.0),
            cpu_per_core: vec![cpu.min(99.0); cores as usize],
            memory_used_bytes: (used + (2 << 30)).min(memory_total),
            memory_total_bytes: memory_total,
            swap_used_bytes: 0,
            swap_total_bytes: 4 << 30,
            disk_used_bytes: ((n % 10) as u64 * 45 + 20) << 30,
            disk_total_bytes: 500 << 30,
            net_rx_bytes_per_sec: 1_200_000 + n as u64 * 10_000,
            net_tx_bytes_per_sec: 800_000 + n as u64 * 5_000,
            load1: 1.5,
            load5: 1.2,
            load15: 1.0,
            uptime_secs: 86_400 * 12,
        },
        containers: list,
        health: vec![
            HealthCheck {
                name: "runtime".into(),
                status: CheckStatus::Ok,
                message: "sim".into(),
            },
            HealthCheck {
                name: "disk".into(),
                status: if n % 10 == 9 {
                    CheckStatus::Warning
                } else {
                    CheckStatus::Ok
                },
                message: "root filesystem".into(),
            },
        ],
    }
}

fn container(n: usize, i: usize, service: &str, image: &str) -> (ContainerSpec, ContainerStats) {
    let state = match (n + i) % 23 {
        0 => ContainerState::Exited,
        1 => ContainerState::Restarting,
        _ => ContainerState::Running,
    };
    let health = match (n * 3 + i) % 19 {
        0 => HealthState::Unhealthy,
        1 => HealthState::Starting,
        2..=9 => HealthState::Healthy,
        _ => HealthState::None,
    };
    let limit = 512u64 << 20 << (i % 3);
    let spec = ContainerSpec {
        key: i as u32 + 1,
        id: format!("{:012x}{:052x}", n * 100_000 + i, 0),
        name: format!("{service}-{}", i / SERVICES.len() + 1),
        image: image.into(),
        service: service.into(),
        state,
        health,
        restart_count: if state == ContainerState::Restarting {
            7
        } else {
            0
        },
        created_unix_ms: FIXTURE_TIME_UNIX_MS - 3_600_000 * (i as u64 + 1),
        started_unix_ms: if state == ContainerState::Running {
            FIXTURE_TIME_UNIX_MS - 600_000 * (i as u64 + 1)
        } else {
            0
        },
        labels: BTreeMap::from([("fleetdeck.service".to_string(), service.to_string())]).into(),
        ports: if service == "web" {
            vec![PortMapping {
                container_port: 80,
                host_port: 8080,
                protocol: "tcp".into(),
                host_ip: String::new(),
            }]
        } else {
            Vec::new()
        },
        exit_code: if state == ContainerState::Exited {
            137
        } else {
            0
        },
    };
    let stats = ContainerStats {
        cpu_percent: ((n * 13 + i * 29) % 180) as f32 * 0.5,
        memory_used_bytes: limit / 8 * ((n + i) % 7 + 1) as u64,
        memory_limit_bytes: limit,
        net_rx_bytes_per_sec: ((n + 1) * (i + 1) * 1_337 % 2_000_000) as u64,
        net_tx_bytes_per_sec: ((n + 3) * (i + 1) * 917 % 1_500_000) as u64,
        block_read_bytes_per_sec: 0,
        block_write_bytes_per_sec: (i as u64 % 4) * 4096,
    };
    (spec, stats)
}

/// A fleet of `nodes` live nodes with `containers` containers each, as seen at `now`.
pub fn fleet(nodes: usize, containers: usize, now: Instant) -> Fleet {
    fleet_with(nodes, containers, now, |_, _| {})
}

/// [`fleet`], with each node's snapshot changed by `edit` (its index, its snapshot) first.
pub fn fleet_with(
    nodes: usize,
    containers: usize,
    now: Instant,
    edit: impl Fn(usize, &mut NodeSnapshot),
) -> Fleet {
    let endpoints: Vec<String> = (0..nodes)
        .map(|n| format!("127.0.0.1:{}", 7000 + n))
        .collect();
    let mut fleet = Fleet::new(endpoints, Duration::from_secs(10), now);
    for n in 0..nodes {
        let mut snapshot = snapshot(n, containers);
        edit(n, &mut snapshot);
        let update = AgentUpdate::Snapshot {
            slot: n,
            epoch: 1000 + n as u64,
            seq: 1,
            snapshot: Box::new(snapshot),
        };
        fleet.apply(update, now);
    }
    fleet
}
