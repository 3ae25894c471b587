use std::collections::HashMap;

use super::*;
use crate::model::{CheckStatus, ContainerState, HealthState, NodeMode};

fn pb_container(key: u32) -> pb::Container {
    pb::Container {
        key,
        id: format!("id{key}"),
        name: format!("web-{key}"),
        image: "nginx:1.27".into(),
        service: "web".into(),
        state: pb::ContainerState::Running as i32,
        health: pb::HealthStatus::Healthy as i32,
        restart_count: 2,
        stats: Some(pb::ContainerStats {
            key,
            cpu_percent: 12.5,
            memory_used_bytes: 100,
            memory_limit_bytes: 400,
            ..Default::default()
        }),
        created_unix_ms: 10,
        started_unix_ms: 20,
        labels: HashMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
        ports: vec![pb::Port {
            container_port: 80,
            host_port: 70_000,
            protocol: "tcp".into(),
            host_ip: "0.0.0.0".into(),
        }],
        exit_code: 0,
    }
}

fn pb_node() -> pb::NodeInfo {
    pb::NodeInfo {
        node_id: "node-a".into(),
        hostname: "a.example".into(),
        runtime: "sim".into(),
        agent_version: "0.1.0".into(),
        cpu_cores: 8,
        memory_total_bytes: 1 << 30,
        disk_total_bytes: 1 << 40,
        mode: pb::NodeMode::Maintenance as i32,
        labels: HashMap::from([("rack".into(), "r1".into())]),
        started_unix_ms: 5,
        sample_interval_ms: 1000,
        max_containers: 64,
        ..Default::default()
    }
}

fn event(epoch: u64, seq: u64, body: Option<Body>) -> pb::WatchEvent {
    pb::WatchEvent {
        intents_generation: 0,
        specs_generation: 0,
        epoch,
        seq,
        time_unix_ms: 1,
        body,
    }
}

#[test]
fn a_snapshot_event_becomes_a_snapshot_update_for_the_slot() {
    let snap = pb::Snapshot {
        node: Some(pb_node()),
        host: Some(pb::HostSample {
            cpu_percent: 33.0,
            load1: f32::NAN,
            ..Default::default()
        }),
        containers: vec![pb_container(1), pb_container(2)],
        health: vec![pb::HealthCheck {
            name: "disk".into(),
            status: pb::CheckStatus::Warning as i32,
            message: "91 %".into(),
        }],
    };
    let update = watch_event(3, event(42, 7, Some(Body::Snapshot(snap)))).unwrap();
    let AgentUpdate::Snapshot {
        slot,
        epoch,
        seq,
        snapshot,
    } = update
    else {
        panic!("not a snapshot: {update:?}")
    };
    assert_eq!((slot, epoch, seq), (3, 42, 7));
    assert_eq!(snapshot.info.node_id, "node-a");
    assert_eq!(snapshot.info.status.mode, NodeMode::Maintenance);
    assert_eq!(snapshot.info.status.labels["rack"], "r1");
    assert_eq!(snapshot.host.cpu_percent, 33.0);
    assert_eq!(snapshot.host.load1, 0.0, "NaN is read as 0");
    assert_eq!(snapshot.containers.len(), 2);
    let (spec, stats) = &snapshot.containers[0];
    assert_eq!(spec.state, ContainerState::Running);
    assert_eq!(spec.health, HealthState::Healthy);
    assert_eq!(spec.labels.keys().collect::<Vec<_>>(), vec!["a", "b"]);
    assert_eq!(spec.ports[0].container_port, 80);
    assert_eq!(
        spec.ports[0].host_port, 0,
        "out-of-range port is not wrapped"
    );
    assert_eq!(stats.cpu_percent, 12.5);
    assert_eq!(stats.memory_percent(), Some(25.0));
    assert_eq!(snapshot.health[0].status, CheckStatus::Warning);
}

#[test]
fn a_delta_event_carries_every_kind_of_change() {
    let d = pb::Delta {
        host: Some(pb::HostSample {
            cpu_percent: 5.0,
            ..Default::default()
        }),
        upserts: vec![pb_container(4)],
        removed: vec![1, 2],
        stats: vec![pb::ContainerStats {
            key: 3,
            cpu_percent: 9.0,
            ..Default::default()
        }],
        health: vec![pb::HealthCheck {
            name: "clock".into(),
            status: 3,
            message: String::new(),
        }],
        status: Some(pb::NodeStatus {
            mode: pb::NodeMode::Standby as i32,
            labels: HashMap::new(),
        }),
    };
    let update = watch_event(0, event(1, 2, Some(Body::Delta(d)))).unwrap();
    let AgentUpdate::Delta { delta, seq, .. } = update else {
        panic!("not a delta")
    };
    assert_eq!(seq, 2);
    assert_eq!(delta.host.as_ref().map(|h| h.cpu_percent), Some(5.0));
    assert_eq!(delta.upserts[0].0.key, 4);
    assert_eq!(delta.removed, vec![1, 2]);
    assert_eq!(delta.stats[0].0, 3);
    assert_eq!(delta.stats[0].1.cpu_percent, 9.0);
    assert_eq!(delta.health[0].status, CheckStatus::Failing);
    assert_eq!(
        delta.status.as_ref().map(|s| s.mode),
        Some(NodeMode::Standby)
    );
}

#[test]
fn an_empty_delta_changes_nothing() {
    let delta = delta(pb::Delta::default());
    assert!(delta.host.is_none() && delta.status.is_none());
    assert!(delta.upserts.is_empty() && delta.removed.is_empty() && delta.stats.is_empty());
}

#[test]
fn heartbeats_and_malformed_events() {
    let hb = watch_event(1, event(9, 4, Some(Body::Heartbeat(pb::Heartbeat {})))).unwrap();
    assert!(matches!(
        hb,
        AgentUpdate::Heartbeat {
            slot: 1,
            epoch: 9,
            seq: 4
        }
    ));
    assert_eq!(
        watch_event(0, event(1, 1, None)).unwrap_err(),
        ConvertError::EmptyBody
    );
    let nodeless = Body::Snapshot(pb::Snapshot::default());
    assert_eq!(
        watch_event(0, event(1, 1, Some(nodeless))).unwrap_err(),
        ConvertError::SnapshotWithoutNode
    );
}

#[test]
fn a_container_without_stats_has_zero_figures() {
    let mut c = pb_container(1);
    c.stats = None;
    c.state = 42;
    let (spec, stats) = container(c);
    assert_eq!(stats, ContainerStats::default());
    assert_eq!(spec.state, ContainerState::Unknown);
}
