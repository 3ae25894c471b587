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

/// A host delta taken at agent time `ms` with `cpu` percent.
fn host_at(slot: usize, epoch: u64, seq: u64, ms: u64, cpu: f32) -> AgentUpdate {
    delta(
        slot,
        epoch,
        seq,
        NodeDelta {
            host: Some(HostSample {
                time_unix_ms: ms,
                cpu_percent: cpu,
                memory_total_bytes: 100,
                ..HostSample::default()
            }),
            ..NodeDelta::default()
        },
    )
}

/// The agent's history: samples one a second at `times` (seconds) with CPU = seconds
/// (mod 100), and a container (key 1) with CPU = seconds / 10.
fn history(epoch: u64, times: std::ops::Range<u64>) -> AgentUpdate {
    use fleetdeck_core::history::{ContainerHistory, ContainerPoint, NodePoint};
    let samples: Vec<_> = times
        .clone()
        .map(|s| (s * 1000, NodePoint::new((s % 100) as f32, 10.0, 0, 1)))
        .collect();
    AgentUpdate::History {
        slot: 0,
        epoch,
        history: Box::new(History {
            epoch,
            sample_interval_ms: 1000,
            containers: vec![ContainerHistory {
                key: 1,
                points: times
                    .map(|s| ContainerPoint::new(s as f32 / 10.0, 1))
                    .collect(),
            }],
            minutes: vec![(0, NodePoint::new(50.0, 50.0, 0, 1))],
            samples,
        }),
    }
}

fn snapshot_at(epoch: u64, seq: u64, ms: u64, cpu: f32) -> AgentUpdate {
    let mut s = fixtures::snapshot(0, 1);
    s.host.time_unix_ms = ms;
    s.host.cpu_percent = cpu;
    AgentUpdate::Snapshot {
        slot: 0,
        epoch,
        seq,
        snapshot: Box::new(s),
    }
}

#[test]
fn history_fills_what_came_before_the_stream_without_repeating_live_samples() {
    let t0 = Instant::now();
    let mut fleet = Fleet::new(["127.0.0.1:7000"], Duration::from_secs(10), t0);
    // The stream opens at second 100, two live samples follow before the history lands.
    fleet.apply(snapshot_at(5, 1, 100_000, 100.0), t0);
    fleet.apply(host_at(0, 5, 2, 101_000, 101.0), t0);
    fleet.apply(host_at(0, 5, 3, 102_000, 102.0), t0);
    // The agent's history runs up to second 102: the last three it holds the console has.
    let applied = fleet.apply(history(5, 40..103), t0);
    assert!(applied.changed);
    let node = &fleet.nodes()[0];
    let cpu: Vec<f32> = node.cpu_history.iter().collect();
    let expected: Vec<f32> = (40..103).map(|s| s as f32).collect();
    assert_eq!(
        cpu, expected,
        "history first, live samples after, none twice"
    );
    assert_eq!(node.load_history.len(), 63);
    let c = &node.containers[&1];
    assert_eq!(
        c.cpu_history.len(),
        60,
        "full: history before the snapshot's own"
    );
    assert_eq!(c.cpu_history.back(1), Some(9.9));
    // Minute means are kept in hundredths.
    let load = crate::model::load_of(50.0, 50.0, 1, 64, 0);
    let kept = crate::model::Scale::Hundredths;
    assert_eq!(
        node.load_minutes.get(0),
        Some(kept.decode(kept.encode(load)))
    );
    // Once per stream: a second reply changes nothing.
    assert!(!fleet.apply(history(5, 0..103), t0).changed);
}

#[test]
fn a_reconnect_after_an_outage_is_backfilled_and_another_epoch_is_not() {
    let t0 = Instant::now();
    let mut fleet = Fleet::new(["127.0.0.1:7000"], Duration::from_secs(10), t0);
    fleet.apply(snapshot_at(5, 1, 10_000, 10.0), t0);
    fleet.apply(host_at(0, 5, 2, 11_000, 11.0), t0);
    fleet.apply(history(5, 1..10), t0);
    fleet.apply(
        AgentUpdate::Down {
            slot: 0,
            reason: "gone".into(),
        },
        t0,
    );
    // Back at second 30: seconds 12..29 were missed.
    fleet.apply(snapshot_at(5, 9, 30_000, 30.0), t0);
    // A reply from another agent instance is not this stream's.
    assert!(!fleet.apply(history(6, 12..31), t0).changed);
    fleet.apply(history(5, 12..31), t0);
    let cpu: Vec<f32> = fleet.nodes()[0].cpu_history.iter().collect();
    let expected: Vec<f32> = (1..31).map(|s| s as f32).collect();
    assert_eq!(cpu, expected, "the outage's gap is filled, in order");
}

#[test]
fn a_gap_the_history_cannot_reach_drops_the_older_samples() {
    let t0 = Instant::now();
    let mut fleet = Fleet::new(["127.0.0.1:7000"], Duration::from_secs(10), t0);
    fleet.apply(snapshot_at(5, 1, 10_000, 10.0), t0);
    // Back after a long outage: the agent's samples start well after what was held.
    fleet.apply(snapshot_at(5, 9, 5_000_000, 0.0), t0);
    fleet.apply(history(5, 4000..5000), t0);
    let node = &fleet.nodes()[0];
    let cpu: Vec<f32> = node.cpu_history.iter().collect();
    let expected: Vec<f32> = (4401..=5000).map(|s| (s % 100) as f32).collect();
    assert_eq!(
        cpu, expected,
        "the newest 600, no stale run from before the outage"
    );
}
