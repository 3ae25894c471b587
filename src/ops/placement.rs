//! Placement: best-fit on healthy, non-cordoned nodes with room. Pure.

use std::time::Instant;

use crate::model::{Container, Fleet, NodeState};

/// CPU kept free on every node, percent of its capacity.
const CPU_RESERVE_PERCENT: f32 = 10.0;
/// Memory kept free on every node, percent of its total.
const MEMORY_RESERVE_PERCENT: f64 = 10.0;
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
    /// What a running container needs: its CPU now, its memory now plus headroom (at most
    /// its limit).
    pub fn of(c: &Container) -> Self {
        let used = c.stats.memory_used_bytes as f64 * (1.0 + MEMORY_HEADROOM_PERCENT / 100.0);
        let limit = c.stats.memory_limit_bytes;
        let memory_bytes = if limit > 0 {
            (used as u64).min(limit)
        } else {
            used as u64
        };
        Self {
            cpu_percent: c.stats.cpu_percent,
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

/// Nodes that take placements (live, ACTIVE or STANDBY), with their free room.
pub fn rooms(fleet: &Fleet, now: Instant) -> Vec<Room> {
    fleet
        .nodes()
        .iter()
        .enumerate()
        .filter_map(|(slot, n)| {
            let state = n.state(now, fleet.failover_timeout());
            if !matches!(state, NodeState::Active | NodeState::Standby) {
                return None;
            }
            let info = n.info.as_ref()?;
            let capacity = info.cpu_cores as f32 * 100.0;
            let busy = n.host.cpu_percent / 100.0 * capacity;
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
}
