use std::time::{Duration, Instant};

use super::*;
use crate::fixtures;
use crate::model::ContainerState;

fn delta(slot: usize, epoch: u64, seq: u64, delta: NodeDelta) -> AgentUpdate {
    AgentUpdate::Delta {
        slot,
        epoch,
        seq,
        delta: Box::new(delta),
    }
}

#[test]
fn snapshot_then_deltas_build_the_node() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(2, 5, t0);
    assert_eq!(fleet.container_count(), 10);
    assert_eq!(fleet.state(0, t0), Some(NodeState::Active));
    let node = &fleet.nodes()[0];
    let (epoch, seq) = (node.epoch, node.seq);
    let mut spec = node.containers[&1].spec.clone();
    spec.state = ContainerState::Exited;
    let stats = ContainerStats {
        cpu_percent: 42.0,
        ..ContainerStats::default()
    };
    let d = NodeDelta {
        upserts: vec![(spec, stats)],
        removed: vec![2],
        stats: vec![(
            3,
            ContainerStats {
                cpu_percent: 7.5,
                ..ContainerStats::default()
            },
        )],
        ..NodeDelta::default()
    };
    let applied = fleet.apply(delta(0, epoch, seq + 1, d), t0);
    assert!(applied.changed && applied.containers_changed);
    let node = &fleet.nodes()[0];
    assert_eq!(node.containers.len(), 4);
    assert_eq!(node.containers[&1].spec.state, ContainerState::Exited);
    assert_eq!(node.containers[&3].stats.cpu_percent, 7.5);
    assert_eq!(node.containers[&3].cpu_history.len(), 2);
    assert_eq!(node.seq, seq + 1);
}

#[test]
fn a_delta_out_of_order_or_from_another_epoch_is_ignored() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 3, t0);
    let (epoch, seq) = (fleet.nodes()[0].epoch, fleet.nodes()[0].seq);
    let d = NodeDelta {
        removed: vec![1],
        ..NodeDelta::default()
    };
    assert!(!fleet.apply(delta(0, epoch, seq + 2, d.clone()), t0).changed);
    assert!(
        !fleet
            .apply(delta(0, epoch + 1, seq + 1, d.clone()), t0)
            .changed
    );
    assert_eq!(fleet.nodes()[0].containers.len(), 3);
    assert!(fleet.apply(delta(0, epoch, seq + 1, d), t0).changed);
    assert_eq!(fleet.nodes()[0].containers.len(), 2);
}

#[test]
fn an_unreachable_node_is_unknown_then_failed_after_the_timeout() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 1, t0);
    let t1 = t0 + Duration::from_secs(2);
    fleet.apply(
        AgentUpdate::Down {
            slot: 0,
            reason: "connection refused".into(),
        },
        t1,
    );
    assert_eq!(fleet.state(0, t1), Some(NodeState::Unknown));
    assert_eq!(
        fleet.state(0, t0 + Duration::from_millis(9_999)),
        Some(NodeState::Unknown)
    );
    assert_eq!(
        fleet.state(0, t0 + Duration::from_secs(10)),
        Some(NodeState::Failed)
    );
    // Stale data is kept (shown as stale), and the node comes back with a new snapshot.
    assert_eq!(fleet.nodes()[0].containers.len(), 1);
    let back = AgentUpdate::Snapshot {
        slot: 0,
        epoch: 77,
        seq: 1,
        snapshot: Box::new(fixtures::snapshot(0, 2)),
    };
    let t2 = t0 + Duration::from_secs(30);
    let applied = fleet.apply(back, t2);
    assert!(applied.agent_restarted);
    assert_eq!(fleet.state(0, t2), Some(NodeState::Active));
    assert_eq!(fleet.nodes()[0].restarts_seen, 1);
    assert_eq!(fleet.nodes()[0].containers.len(), 2);
}

#[test]
fn a_node_never_reached_fails_after_the_timeout_from_start() {
    let t0 = Instant::now();
    let mut fleet = Fleet::new(["10.0.0.1:1"], Duration::from_secs(5), t0);
    assert_eq!(fleet.state(0, t0), Some(NodeState::Unknown));
    fleet.apply(
        AgentUpdate::Down {
            slot: 0,
            reason: "refused".into(),
        },
        t0,
    );
    assert_eq!(
        fleet.state(0, t0 + Duration::from_secs(5)),
        Some(NodeState::Failed)
    );
}

#[test]
fn heartbeats_keep_a_node_live_only_at_the_current_version() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 1, t0);
    let (epoch, seq) = (fleet.nodes()[0].epoch, fleet.nodes()[0].seq);
    let t1 = t0 + Duration::from_secs(3);
    fleet.apply(
        AgentUpdate::Heartbeat {
            slot: 0,
            epoch,
            seq,
        },
        t1,
    );
    assert_eq!(fleet.nodes()[0].last_seen, Some(t1));
    fleet.apply(
        AgentUpdate::Heartbeat {
            slot: 0,
            epoch,
            seq: seq + 5,
        },
        t1 + Duration::from_secs(1),
    );
    assert_eq!(fleet.nodes()[0].last_seen, Some(t1));
}

#[test]
fn load_follows_the_seed_formula() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 32, t0);
    let (epoch, seq) = (fleet.nodes()[0].epoch, fleet.nodes()[0].seq);
    let host = HostSample {
        cpu_percent: 50.0,
        memory_used_bytes: 25,
        memory_total_bytes: 100,
        net_rx_bytes_per_sec: 0,
        net_tx_bytes_per_sec: 0,
        ..HostSample::default()
    };
    fleet.apply(
        delta(
            0,
            epoch,
            seq + 1,
            NodeDelta {
                host: Some(host),
                ..NodeDelta::default()
            },
        ),
        t0,
    );
    // 0.4*50 + 0.3*25 + 0.2*(32/64*100) + 0.1*0 = 20 + 7.5 + 10 = 37.5
    let load = fleet.nodes()[0].load();
    assert!((load - 37.5).abs() < 0.01, "load {load}");
    assert_eq!(fleet.nodes()[0].load_history.last(), Some(load));
}
