//! Placement: best-fit on healthy, non-cordoned nodes with room, never on a node waiting
//! to be fenced after a failover. Pure.

use std::time::Instant;

use crate::model::{Container, Fleet, NodeState, Series};

/// CPU kept free on every node, percent of its capacity.
const CPU_RESERVE_PERCENT: f32 = 10.0;
/// Memory kept free on every node, percent of its total.
const MEMORY_RESERVE_PERCENT: f64 = 10.0;
/// Samples of CPU history placement averages over (30 s at the default 1 s interval).
pub const CPU_SMOOTHING_SAMPLES: usize = 30;

/// The CPU figure placement uses: the mean of the newest [`CPU_SMOOTHING_SAMPLES`] samples
/// of `history`, or `instant` when there is no history yet (a CLI command that saw one
/// snapshot has exactly the instant figure in it).
///
/// The mean rather than a high percentile: a one-second spike should neither refuse a
/// placement nor swing the picker's free CPU, and a percentile over 30 samples still lands
/// on the spike as soon as a few of them are high. CPU is also compressible: load that is
/// bursty shares a core by being throttled a little, unlike memory, which is why memory keeps
/// its instant figure (plus headroom) and CPU takes the average demand. Sustained load moves
/// the mean within the window, so a busy node still refuses.
pub fn smoothed_cpu(history: &Series, instant: f32) -> f32 {
    history.tail_mean(CPU_SMOOTHING_SAMPLES).unwrap_or(instant)
}

/// Memory asked for a container on top of what it uses now, percent (it will grow).
const MEMORY_HEADROOM_PERCENT: f64 = 25.0;

/// What a container needs from a node.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Demand {
    /// Percent of one core.
    pub cpu_percent: f32,
    pub memory_bytes: u64,
}

impl Demand {
    /// What a running container needs: its recent mean CPU ([`smoothed_cpu`]), its memory
    /// now plus headroom (at most its limit).
    pub fn of(c: &Container) -> Self {
        let used = c.stats.memory_used_bytes as f64 * (1.0 + MEMORY_HEADROOM_PERCENT / 100.0);
        let limit = c.stats.memory_limit_bytes;
        let memory_bytes = if limit > 0 {
            (used as u64).min(limit)
        } else {
            used as u64
        };
        Self {
            cpu_percent: smoothed_cpu(&c.cpu_history, c.stats.cpu_percent),
            memory_bytes,
        }
    }

    /// Without live figures (a node that is gone): a quarter of the CPU limit, half the
    /// memory limit.
    pub fn from_limits(cpu_limit_cores: f32, memory_limit_bytes: u64) -> Self {
        Self {
            cpu_percent: cpu_limit_cores * 25.0,
            memory_bytes: memory_limit_bytes / 2,
        }
    }
}

/// Room left on one node that can take placements.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub slot: usize,
    pub name: String,
    pub endpoint: String,
    pub standby: bool,
    /// Percent of one core.
    pub free_cpu_percent: f32,
    pub free_memory_bytes: u64,
    /// Derived load, 0-100.
    pub load: f32,
}

impl Room {
    /// Whether `d` fits.
    pub fn fits(&self, d: Demand) -> bool {
        self.free_cpu_percent >= d.cpu_percent && self.free_memory_bytes >= d.memory_bytes
    }

    /// Takes `d` from the room.
    pub fn take(&mut self, d: Demand) {
        self.free_cpu_percent -= d.cpu_percent;
        self.free_memory_bytes = self.free_memory_bytes.saturating_sub(d.memory_bytes);
    }
}

/// Nodes that take placements (live, ACTIVE or STANDBY, not in `fencing`), with their
/// free room: memory as it is now, CPU from the node's recent mean ([`smoothed_cpu`]).
///
/// A node in `fencing` came back (or will) after a failover and still runs stale copies
/// that are about to be stopped by name: a new copy there could be stopped with them.
pub fn rooms(fleet: &Fleet, now: Instant, fencing: &[String]) -> Vec<Room> {
    fleet
        .nodes()
        .iter()
        .enumerate()
        .filter_map(|(slot, n)| {
            if fencing.iter().any(|f| f == n.name()) {
                return None;
            }
            let state = n.state(now, fleet.failover_timeout());
            if !matches!(state, NodeState::Active | NodeState::Standby) {
                return None;
            }
            let info = n.info.as_ref()?;
            let capacity = info.cpu_cores as f32 * 100.0;
            let busy = smoothed_cpu(&n.cpu_history, n.host.cpu_percent) / 100.0 * capacity;
            let free_cpu = capacity * (1.0 - CPU_RESERVE_PERCENT / 100.0) - busy;
            let total = n.host.memory_total_bytes.max(info.memory_total_bytes);
            let reserve = (total as f64 * MEMORY_RESERVE_PERCENT / 100.0) as u64;
            let free_mem = total
                .saturating_sub(n.host.memory_used_bytes)
                .saturating_sub(reserve);
            Some(Room {
                slot,
                name: n.name().to_string(),
                endpoint: n.endpoint.clone(),
                standby: state == NodeState::Standby,
                free_cpu_percent: free_cpu.max(0.0),
                free_memory_bytes: free_mem,
                load: n.load(),
            })
        })
        .collect()
}

/// Best fit for `d` among the `allowed` rooms: the room left with the least memory (then
/// CPU) after placing it; with `prefer_standby`, STANDBY nodes first.
pub fn best_fit(
    rooms: &[Room],
    d: Demand,
    allowed: impl Fn(&Room) -> bool,
    prefer_standby: bool,
) -> Option<usize> {
    let fits = |r: &&Room| allowed(r) && r.fits(d);
    let pick = |standby_only: bool| {
        rooms
            .iter()
            .enumerate()
            .filter(|(_, r)| fits(r) && (!standby_only || r.standby))
            .min_by(|(_, a), (_, b)| {
                let left = |r: &Room| {
                    (
                        r.free_memory_bytes - d.memory_bytes,
                        r.free_cpu_percent - d.cpu_percent,
                    )
                };
                let (am, ac) = left(a);
                let (bm, bc) = left(b);
                am.cmp(&bm)
                    .then(ac.total_cmp(&bc))
                    .then(a.name.cmp(&b.name))
            })
            .map(|(i, _)| i)
    };
    if prefer_standby && let Some(i) = pick(true) {
        return Some(i);
    }
    pick(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::model::{AgentUpdate, ContainerStats, NodeDelta};

    /// A one-node fleet whose host CPU (and container 1's CPU) then reports `samples`, one
    /// delta each.
    fn fleet_with_cpu(samples: &[f32], now: Instant) -> Fleet {
        let mut fleet = fixtures::fleet(1, 3, now);
        for &cpu in samples {
            let node = &fleet.nodes()[0];
            let (epoch, seq) = (node.epoch, node.seq);
            let mut host = node.host.clone();
            host.cpu_percent = cpu;
            let stats = ContainerStats {
                cpu_percent: cpu,
                ..node.containers[&1].stats
            };
            let delta = NodeDelta {
                host: Some(host),
                stats: vec![(1, stats)],
                ..NodeDelta::default()
            };
            let update = AgentUpdate::Delta {
                slot: 0,
                epoch,
                seq: seq + 1,
                delta: Box::new(delta),
            };
            assert!(fleet.apply(update, now).changed);
        }
        fleet
    }

    #[test]
    fn a_spike_in_one_sample_does_not_take_the_room_but_sustained_load_does() {
        let now = Instant::now();
        let mut calm = vec![20.0; CPU_SMOOTHING_SAMPLES - 1];
        calm.push(100.0);
        let spiked = fleet_with_cpu(&calm, now);
        let node = &spiked.nodes()[0];
        assert_eq!(
            node.host.cpu_percent, 100.0,
            "the instant figure is the spike"
        );
        let capacity = node
            .info
            .as_ref()
            .map_or(0.0, |i| i.cpu_cores as f32 * 100.0);
        let room = &rooms(&spiked, now, &[])[0];
        let mean =
            (20.0 * (CPU_SMOOTHING_SAMPLES - 1) as f32 + 100.0) / CPU_SMOOTHING_SAMPLES as f32;
        let want = capacity * 0.9 - mean / 100.0 * capacity;
        assert!(
            (room.free_cpu_percent - want).abs() < 0.01,
            "free CPU {} should come from the mean {mean} %, want {want}",
            room.free_cpu_percent
        );
        let d = Demand {
            cpu_percent: capacity * 0.5,
            memory_bytes: 0,
        };
        assert!(room.fits(d), "half the node fits despite the spike");
        let spiked_demand = Demand::of(&node.containers[&1]);
        assert!(
            spiked_demand.cpu_percent < 30.0,
            "the container's demand is its mean, not the spike: {}",
            spiked_demand.cpu_percent
        );

        let busy = fleet_with_cpu(&[95.0; CPU_SMOOTHING_SAMPLES], now);
        let room = &rooms(&busy, now, &[])[0];
        assert_eq!(room.free_cpu_percent, 0.0, "sustained load leaves no room");
        assert!(!room.fits(d));
        assert_eq!(
            Demand::of(&busy.nodes()[0].containers[&1]).cpu_percent,
            95.0
        );
    }

    #[test]
    fn without_history_the_instant_figure_is_used() {
        let empty = Series::new(CPU_SMOOTHING_SAMPLES, crate::model::Scale::Tenths);
        assert_eq!(smoothed_cpu(&empty, 42.0), 42.0);
        let mut old = Series::new(600, crate::model::Scale::Tenths);
        for _ in 0..500 {
            old.push(90.0);
        }
        for _ in 0..CPU_SMOOTHING_SAMPLES {
            old.push(10.0);
        }
        assert_eq!(
            smoothed_cpu(&old, 10.0),
            10.0,
            "only the recent window counts"
        );
    }

    fn room(name: &str, cpu: f32, mem_gib: u64, standby: bool) -> Room {
        Room {
            slot: 0,
            name: name.into(),
            endpoint: format!("{name}:1"),
            standby,
            free_cpu_percent: cpu,
            free_memory_bytes: mem_gib << 30,
            load: 0.0,
        }
    }

    #[test]
    fn best_fit_leaves_the_least_room_and_prefers_standby_when_asked() {
        let rooms = [
            room("a", 400.0, 8, false),
            room("b", 400.0, 3, false),
            room("c", 400.0, 30, true),
            room("d", 10.0, 2, false),
        ];
        let d = Demand {
            cpu_percent: 50.0,
            memory_bytes: 2 << 30,
        };
        let all = |_: &Room| true;
        assert_eq!(
            best_fit(&rooms, d, all, false),
            Some(1),
            "b is the tightest fit"
        );
        assert_eq!(best_fit(&rooms, d, |r| r.name != "b", false), Some(0));
        assert_eq!(best_fit(&rooms, d, all, true), Some(2), "standby first");
        let huge = Demand {
            cpu_percent: 1.0,
            memory_bytes: 64 << 30,
        };
        assert_eq!(best_fit(&rooms, huge, all, true), None);
    }

    #[test]
    fn a_node_waiting_to_be_fenced_is_never_a_room_nor_a_best_fit() {
        let now = Instant::now();
        let fleet = fixtures::fleet(4, 3, now);
        let d = Demand {
            cpu_percent: 10.0,
            memory_bytes: 1 << 30,
        };
        let all = rooms(&fleet, now, &[]);
        let best = all[best_fit(&all, d, |_| true, false).unwrap()]
            .name
            .clone();
        let fencing = [best.clone()];
        let fenced = rooms(&fleet, now, &fencing);
        assert_eq!(fenced.len(), all.len() - 1);
        assert!(fenced.iter().all(|r| r.name != best));
        for standby in [false, true] {
            let i = best_fit(&fenced, d, |_| true, standby).unwrap();
            assert_ne!(fenced[i].name, best);
        }
    }
}
