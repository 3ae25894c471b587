//! How the rules are evaluated against one node, its containers and the fleet, and what a
//! node's loss does to the alerts that rest on its figures. Part of `AlertBook`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{AlertBook, AlertKey, AlertState, FLEET_SLOT, RESTART_HISTORY_MAX, RestartTrack};
use crate::alerts::rules::{Metric, Scope};
use crate::alerts::timeline::{EntryKind, Stamp};
use crate::model::{CheckStatus, Fleet, HealthState, Node};

impl AlertBook {
    pub(super) fn eval_node_rules(
        &mut self,
        fleet: &Fleet,
        slot: usize,
        node: &Node,
        now: Stamp,
        down: bool,
    ) {
        let stale = self.stale_copies.get(&slot).map_or(0.0, |n| *n as f64);
        for rule in 0..self.rules.len() {
            let r = &self.rules[rule];
            if r.when.scope() != Scope::Node {
                continue;
            }
            // A down node's figures are stale: only rules about reachability move.
            if down && !r.when.uses(Metric::Unreachable) {
                continue;
            }
            let (holds, metric, value) = r.when.eval(|m| match m {
                Metric::StaleCopies => stale,
                _ => node_metric(node, m),
            });
            let key = AlertKey {
                slot,
                container: None,
                rule,
            };
            self.step(fleet, key, holds && r.enabled, metric, value, now);
        }
    }

    pub(super) fn eval_container_rules(
        &mut self,
        fleet: &Fleet,
        slot: usize,
        node: &Node,
        now: Stamp,
    ) {
        let tracks = self.restarts.get(&slot);
        let mut steps: Vec<(AlertKey, bool, Metric, f64)> = Vec::new();
        for (rule, r) in self.rules.iter().enumerate() {
            if r.when.scope() != Scope::Container {
                continue;
            }
            for (key, c) in &node.containers {
                let (holds, metric, value) = r.when.eval(|m| match m {
                    Metric::Unhealthy => {
                        f64::from(u8::from(c.spec.health == HealthState::Unhealthy))
                    }
                    Metric::ContainerCpu => f64::from(c.stats.cpu_percent),
                    Metric::Restarts => tracks
                        .and_then(|t| t.get(key))
                        .map_or(0.0, |t| restarts_within(t, now.at, r.window) as f64),
                    _ => 0.0,
                });
                let alert_key = AlertKey {
                    slot,
                    container: Some(*key),
                    rule,
                };
                // Only conditions that hold, or alerts that exist, need a step.
                if (holds && r.enabled) || self.active.contains_key(&alert_key) {
                    steps.push((alert_key, holds && r.enabled, metric, value));
                }
            }
        }
        for (key, holds, metric, value) in steps {
            self.step(fleet, key, holds, metric, value, now);
        }
        // Alerts of containers that are gone resolve.
        let lo = AlertKey {
            slot,
            container: Some(0),
            rule: 0,
        };
        let hi = AlertKey {
            slot,
            container: Some(u32::MAX),
            rule: usize::MAX,
        };
        let gone: Vec<AlertKey> = self
            .active
            .range(lo..=hi)
            .filter(|(k, _)| {
                k.container
                    .is_some_and(|c| !node.containers.contains_key(&c))
            })
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.step(fleet, key, false, Metric::Unhealthy, 0.0, now);
        }
    }

    pub(super) fn eval_fleet_rules(&mut self, fleet: &Fleet, now: Stamp) {
        if !self.rules.iter().any(|r| r.when.scope() == Scope::Fleet) {
            return;
        }
        let n = self.figures.len();
        let (mut max, mut min, mut cpu, mut mem) = (f64::MIN, f64::MAX, 0.0, 0.0);
        for f in self.figures.values() {
            max = max.max(f.load);
            min = min.min(f.load);
            cpu += f.cpu;
            mem += f.memory;
        }
        for rule in 0..self.rules.len() {
            let r = &self.rules[rule];
            if r.when.scope() != Scope::Fleet {
                continue;
            }
            // Fleet figures need at least two live nodes to mean anything.
            let (holds, metric, value) = if n < 2 {
                (false, Metric::LoadSpread, 0.0)
            } else {
                r.when.eval(|m| match m {
                    Metric::LoadSpread => max - min,
                    Metric::FleetCpu => cpu / n as f64,
                    Metric::FleetMemory => mem / n as f64,
                    _ => 0.0,
                })
            };
            let key = AlertKey {
                slot: FLEET_SLOT,
                container: None,
                rule,
            };
            self.step(fleet, key, holds && r.enabled, metric, value, now);
        }
    }

    pub(super) fn track_restarts(&mut self, slot: usize, node: &Node, now: Instant) {
        if self.restart_window_max.is_zero() {
            return;
        }
        let tracks = self.restarts.entry(slot).or_default();
        for (key, c) in &node.containers {
            let count = c.spec.restart_count;
            let t = tracks.entry(*key).or_insert_with(|| RestartTrack {
                last_count: count,
                times: VecDeque::new(),
            });
            if count > t.last_count {
                let new = (count - t.last_count).min(RESTART_HISTORY_MAX as u32);
                for _ in 0..new {
                    if t.times.len() == RESTART_HISTORY_MAX {
                        t.times.pop_front();
                    }
                    t.times.push_back(now);
                }
            }
            t.last_count = count;
            while t
                .times
                .front()
                .is_some_and(|f| now.saturating_duration_since(*f) > self.restart_window_max)
            {
                t.times.pop_front();
            }
        }
        if tracks.len() > node.containers.len() {
            tracks.retain(|k, _| node.containers.contains_key(k));
        }
    }

    /// Node `slot` is unreachable: its alerts that rest on its figures (all but the
    /// reachability ones) stop meaning anything. Pending ones are dropped, since their `for`
    /// can no longer be proven; firing ones are suspended as stale until the node is back.
    pub(super) fn suspend_stale(&mut self, slot: usize, now: Stamp) {
        let lo = AlertKey {
            slot,
            container: None,
            rule: 0,
        };
        let hi = AlertKey {
            slot,
            container: Some(u32::MAX),
            rule: usize::MAX,
        };
        let affected: Vec<AlertKey> = self
            .active
            .range(lo..=hi)
            .filter(|(k, a)| {
                a.state != AlertState::Stale
                    && (k.container.is_some() || !self.rules[k.rule].when.uses(Metric::Unreachable))
            })
            .map(|(k, _)| *k)
            .collect();
        for key in affected {
            self.dirty = true;
            let Some(alert) = self.active.get_mut(&key) else {
                continue;
            };
            if alert.state == AlertState::Pending {
                self.active.remove(&key);
                self.generation += 1;
                self.remote.remove(&key);
                continue;
            }
            alert.state = AlertState::Stale;
            self.urgent = true;
            let text = format!("{} (node unreachable: last value stale)", alert.describe());
            let severity = alert.severity;
            self.timeline
                .push(now, EntryKind::Suspended, Some(severity), text);
        }
    }
}

fn restarts_within(t: &RestartTrack, now: Instant, window: Duration) -> usize {
    t.times
        .iter()
        .rev()
        .take_while(|at| now.saturating_duration_since(**at) <= window)
        .count()
}

fn node_metric(node: &Node, metric: Metric) -> f64 {
    match metric {
        Metric::Cpu => f64::from(node.host.cpu_percent),
        Metric::Memory => f64::from(node.host.memory_percent()),
        Metric::Disk => f64::from(node.host.disk_percent()),
        Metric::Load => f64::from(node.load()),
        Metric::Unreachable => f64::from(u8::from(!node.is_live())),
        Metric::FailingChecks => node
            .health
            .iter()
            .filter(|h| h.status == CheckStatus::Failing)
            .count() as f64,
        _ => 0.0,
    }
}
