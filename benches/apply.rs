//! Applying agent updates to the cluster state: container updates per second.
//!
//! 1,000 nodes with 50 containers each; every delta carries fresh figures for all 50
//! containers of one node plus a host sample, as a busy agent sends once a second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleetdeck::fixtures;
use fleetdeck::model::{AgentUpdate, ContainerStats, Fleet, NodeDelta};

const NODES: usize = 1_000;
const CONTAINERS: usize = 50;
const DELTAS_PER_BATCH: usize = 1_000;

fn deltas(fleet: &Fleet, round: u64) -> Vec<AgentUpdate> {
    (0..DELTAS_PER_BATCH)
        .map(|i| {
            let slot = i % NODES;
            let node = &fleet.nodes()[slot];
            let stats = (1..=CONTAINERS as u32)
                .map(|key| {
                    let stats = ContainerStats {
                        cpu_percent: ((key as u64 * 7 + round) % 100) as f32,
                        memory_used_bytes: 100 << 20,
                        memory_limit_bytes: 1 << 30,
                        net_rx_bytes_per_sec: 1_000 + round,
                        net_tx_bytes_per_sec: 2_000,
                        ..ContainerStats::default()
                    };
                    (key, stats)
                })
                .collect();
            let delta = NodeDelta {
                host: Some(node.host.clone()),
                stats,
                ..NodeDelta::default()
            };
            AgentUpdate::Delta {
                slot,
                epoch: node.epoch,
                seq: node.seq + 1 + (i / NODES) as u64,
                delta: Box::new(delta),
            }
        })
        .collect()
}

fn apply(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements((DELTAS_PER_BATCH * CONTAINERS) as u64));
    group.bench_function("1000_deltas_of_50_container_stats", |b| {
        let mut fleet = fixtures::fleet(NODES, CONTAINERS, now);
        let mut round = 0;
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let batch = deltas(&fleet, round);
                let start = Instant::now();
                for update in batch {
                    let applied = fleet.apply(update, now);
                    // A rejected delta (wrong seq) would make this bench measure nothing.
                    assert!(applied.changed);
                    black_box(applied);
                }
                timed += start.elapsed();
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
