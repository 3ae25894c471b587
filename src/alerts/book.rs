//! `AlertBook`: the state of every alert, updated as data arrives.
//!
//! An applied update re-evaluates the rules of the one node it touched (and that node's
//! containers); a tick re-evaluates only what changes with time alone: unreachable nodes,
//! pending alerts whose `for` ran out, fleet-wide rules, expiring acks and silences. No
//! fleet-wide pass runs per update or per frame.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::proposal::propose;
use super::rules::{Metric, Rule, Severity};
use super::timeline::{EntryKind, Stamp, Timeline};
use crate::model::Fleet;

// Rule evaluation, in its own file to keep this one near its size budget.
#[path = "book_eval.rs"]
mod eval;
// Silences kept in step with Alertmanager.
#[path = "book_remote.rs"]
mod remote;

pub use super::alert::{
    Ack, Alert, AlertKey, AlertState, Counts, FLEET_SLOT, RemoteLink, RemoteSilence, Silence,
    Subject,
};
/// How long an acknowledgement holds before a still-firing alert asks again.
pub const ACK_TTL: Duration = Duration::from_secs(4 * 3600);
/// How long a resolved alert stays listed.
pub const RESOLVED_SHOWN_FOR: Duration = Duration::from_secs(300);
/// Resolved alerts kept for the full view.
const RESOLVED_KEPT: usize = 200;
/// Longest restart history kept per container.
const RESTART_HISTORY_MAX: usize = 64;

#[derive(Debug, Clone, Default)]
struct RestartTrack {
    last_count: u32,
    times: VecDeque<Instant>,
}

/// Latest figures of a live node, for fleet-wide rules.
#[derive(Debug, Clone, Copy)]
struct NodeFigures {
    load: f64,
    cpu: f64,
    memory: f64,
}

/// The state of every alert, the silences, and the incident timeline.
#[derive(Debug, Clone)]
pub struct AlertBook {
    rules: Vec<Rule>,
    active: BTreeMap<AlertKey, Alert>,
    /// Newest first.
    resolved: VecDeque<Alert>,
    silences: BTreeMap<AlertKey, Silence>,
    /// Alerts covered by a silence made in Alertmanager, as last matched.
    remote: BTreeMap<AlertKey, RemoteSilence>,
    /// Counts alerts becoming active or leaving: the labels silences match on are fixed for
    /// an alert's life, so matches are recomputed only when this moves.
    generation: u64,
    restarts: HashMap<usize, HashMap<u32, RestartTrack>>,
    /// Nodes whose agent is not streaming: the only ones ticks look at.
    down: BTreeSet<usize>,
    figures: HashMap<usize, NodeFigures>,
    timeline: Timeline,
    rows: Vec<Alert>,
    counts: Counts,
    dirty: bool,
    /// An alert fired, resolved or changed standing since the last `take_urgent`.
    urgent: bool,
    restart_window_max: Duration,
    /// Stale copies by node slot, as the console's fencing check last counted them.
    stale_copies: BTreeMap<usize, usize>,
}

impl Default for AlertBook {
    fn default() -> Self {
        Self::new(super::rules::default_rules())
    }
}

impl AlertBook {
    /// A book evaluating `rules` (disabled ones are kept but never fire).
    pub fn new(rules: Vec<Rule>) -> Self {
        let restart_window_max = rules
            .iter()
            .filter(|r| r.when.uses(Metric::Restarts))
            .map(|r| r.window)
            .max()
            .unwrap_or_default();
        Self {
            rules,
            active: BTreeMap::new(),
            resolved: VecDeque::new(),
            silences: BTreeMap::new(),
            remote: BTreeMap::new(),
            generation: 0,
            restarts: HashMap::new(),
            down: BTreeSet::new(),
            figures: HashMap::new(),
            timeline: Timeline::default(),
            rows: Vec::new(),
            counts: Counts::default(),
            dirty: true,
            urgent: false,
            restart_window_max,
            stale_copies: BTreeMap::new(),
        }
    }

    /// Stale copies by node slot (nodes not listed have none): nodes back after a failover
    /// that still run copies re-created elsewhere. Re-evaluates the nodes whose count
    /// changed, so the `stale_copies` rule fires or resolves at once.
    pub fn set_stale_copies(&mut self, fleet: &Fleet, counts: BTreeMap<usize, usize>, now: Stamp) {
        let changed: BTreeSet<usize> = self
            .stale_copies
            .keys()
            .chain(counts.keys())
            .copied()
            .filter(|slot| self.stale_copies.get(slot) != counts.get(slot))
            .collect();
        self.stale_copies = counts;
        for slot in changed {
            self.observe_node(fleet, slot, now);
        }
    }

    /// The rules evaluated.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The incident timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Puts the timeline of an earlier run (read back at start) before this run's entries.
    pub fn restore_timeline(&mut self, earlier: Vec<super::timeline::Entry>) {
        self.timeline.restore(earlier);
        self.dirty = true;
    }

    /// Appends an action's outcome (or any operator note) to the timeline.
    pub fn record(&mut self, kind: EntryKind, text: impl Into<String>, now: Stamp) {
        self.timeline.push(now, kind, None, text);
        self.dirty = true;
    }

    /// Alerts not resolved, by key.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// One active alert.
    pub fn get(&self, key: &AlertKey) -> Option<&Alert> {
        self.active.get(key)
    }

    /// Recently resolved alerts, newest first.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.resolved.iter()
    }

    /// The silence on `key`, if one holds.
    pub fn silence(&self, key: &AlertKey) -> Option<&Silence> {
        self.silences.get(key)
    }

    /// Listed alerts, sorted (see `refresh`).
    pub fn rows(&self) -> &[Alert] {
        &self.rows
    }

    /// Firing counts by severity, as of the last `refresh`.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Evaluates every node once (at start): nodes not reached yet count as down.
    pub fn observe_all(&mut self, fleet: &Fleet, now: Stamp) {
        for slot in 0..fleet.nodes().len() {
            self.observe_node(fleet, slot, now);
        }
    }

    /// Re-evaluates node `slot` and its containers after an update touched it.
    pub fn observe_node(&mut self, fleet: &Fleet, slot: usize, now: Stamp) {
        let Some(node) = fleet.node(slot) else { return };
        if !node.is_live() {
            self.down.insert(slot);
            self.figures.remove(&slot);
            self.eval_node_rules(fleet, slot, node, now, true);
            self.suspend_stale(slot, now);
            return;
        }
        self.down.remove(&slot);
        self.figures.insert(
            slot,
            NodeFigures {
                load: f64::from(node.load()),
                cpu: f64::from(node.host.cpu_percent),
                memory: f64::from(node.host.memory_percent()),
            },
        );
        self.eval_node_rules(fleet, slot, node, now, false);
        self.track_restarts(slot, node, now.at);
        self.eval_container_rules(fleet, slot, node, now);
    }

    /// Time passed: unreachable nodes, pending alerts, fleet rules, acks and silences.
    pub fn tick(&mut self, fleet: &Fleet, now: Stamp) {
        let down: Vec<usize> = self.down.iter().copied().collect();
        for slot in down {
            if let Some(node) = fleet.node(slot) {
                self.eval_node_rules(fleet, slot, node, now, true);
            }
        }
        self.eval_fleet_rules(fleet, now);
        let due: Vec<AlertKey> = self
            .active
            .values()
            .filter(|a| {
                a.state == AlertState::Pending
                    && now.at.saturating_duration_since(a.since.at) >= self.rules[a.key.rule].for_
            })
            .map(|a| a.key)
            .collect();
        for key in due {
            self.fire(fleet, key, now);
        }
        let expired: Vec<AlertKey> = self
            .active
            .values()
            .filter(|a| a.ack.as_ref().is_some_and(|ack| now.at >= ack.until))
            .map(|a| a.key)
            .collect();
        for key in expired {
            if let Some(alert) = self.active.get_mut(&key) {
                alert.ack = None;
                let text = format!(
                    "{} (acknowledged {} ago, still firing)",
                    alert.describe(),
                    super::rules::format_duration(ACK_TTL)
                );
                let severity = alert.severity;
                self.timeline
                    .push(now, EntryKind::AckExpired, Some(severity), text);
                self.dirty = true;
            }
        }
        let ended: Vec<AlertKey> = self
            .silences
            .iter()
            .filter(|(_, s)| now.at >= s.until)
            .map(|(k, _)| *k)
            .collect();
        for key in ended {
            self.silences.remove(&key);
            let what = self.name_of(&key);
            self.timeline
                .push(now, EntryKind::SilenceExpired, None, what);
            self.dirty = true;
        }
        self.end_remote_silences(now);
        if self
            .resolved
            .back()
            .and_then(|a| a.resolved)
            .is_some_and(|r| now.at.saturating_duration_since(r.at) >= RESOLVED_SHOWN_FOR)
        {
            self.dirty = true;
        }
    }

    /// Acknowledges an active alert with an optional note; false if it is not active.
    pub fn acknowledge(&mut self, key: &AlertKey, note: &str, now: Stamp) -> bool {
        let Some(alert) = self.active.get_mut(key) else {
            return false;
        };
        alert.ack = Some(Ack {
            note: note.trim().to_string(),
            at: now,
            until: now.at + ACK_TTL,
        });
        let mut text = alert.describe();
        if !note.trim().is_empty() {
            text.push_str(&format!(": {}", note.trim()));
        }
        let severity = alert.severity;
        self.timeline
            .push(now, EntryKind::Acknowledged, Some(severity), text);
        self.dirty = true;
        true
    }

    /// Silences `key` for `duration` (it fires again after, if still true).
    pub fn silence_for(&mut self, key: &AlertKey, duration: Duration, now: Stamp) {
        let until_unix_ms = now
            .unix_ms
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        self.silences.insert(
            *key,
            Silence {
                at: now,
                until: now.at + duration,
                until_unix_ms,
                links: Vec::new(),
            },
        );
        let text = format!(
            "{} for {}",
            self.name_of(key),
            super::rules::format_duration(duration)
        );
        let severity = self.active.get(key).map(|a| a.severity);
        self.timeline.push(now, EntryKind::Silenced, severity, text);
        self.dirty = true;
    }

    /// Rebuilds the sorted rows and counts if anything changed: firing, then pending, then
    /// recently resolved; within each, most severe first, then oldest first.
    pub fn refresh(&mut self, now: Instant) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let mut counts = Counts::default();
        self.rows.clear();
        for a in self.active.values() {
            if self.is_silenced(&a.key) {
                counts.silenced += 1;
            } else if a.state == AlertState::Stale {
                counts.stale += 1;
            } else if a.state == AlertState::Pending {
                counts.pending += 1;
            } else {
                if a.ack.is_some() {
                    counts.acked += 1;
                }
                match a.severity {
                    Severity::Critical => counts.critical += 1,
                    Severity::Warning => counts.warning += 1,
                    Severity::Info => counts.info += 1,
                }
            }
            self.rows.push(a.clone());
        }
        self.rows.sort_by(|a, b| {
            a.state
                .cmp(&b.state)
                .then(b.severity.cmp(&a.severity))
                .then(a.since.at.cmp(&b.since.at))
                .then(a.key.cmp(&b.key))
        });
        while self
            .resolved
            .back()
            .and_then(|a| a.resolved)
            .is_some_and(|r| now.saturating_duration_since(r.at) >= RESOLVED_SHOWN_FOR)
            && self.resolved.len() > RESOLVED_KEPT / 2
        {
            self.resolved.pop_back();
        }
        self.rows.extend(
            self.resolved
                .iter()
                .filter(|a| {
                    a.resolved
                        .is_some_and(|r| now.saturating_duration_since(r.at) < RESOLVED_SHOWN_FOR)
                })
                .cloned(),
        );
        self.counts = counts;
    }

    /// True when `refresh` has work to do.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// True (once) when an alert fired, resolved, went stale or resumed: news the screen
    /// should show now, not at the next data frame.
    pub fn take_urgent(&mut self) -> bool {
        std::mem::take(&mut self.urgent)
    }

    /// When the next pending alert's `for` runs out: the run loop wakes then, so an alert
    /// fires on time rather than at the next tick.
    pub fn next_due(&self) -> Option<Instant> {
        self.active
            .values()
            .filter(|a| a.state == AlertState::Pending)
            .map(|a| a.since.at + self.rules[a.key.rule].for_)
            .min()
    }

    fn name_of(&self, key: &AlertKey) -> String {
        match self.active.get(key) {
            Some(a) => a.describe(),
            None => format!(
                "{} on {}",
                self.rules.get(key.rule).map_or("?", |r| r.summary.as_str()),
                match key.subject() {
                    Subject::Fleet => "the fleet".to_string(),
                    Subject::Node(s) => format!("node slot {s}"),
                    Subject::Container { slot, key } => format!("container {key} on slot {slot}"),
                }
            ),
        }
    }

    /// Moves one alert along pending -> firing -> resolved given whether its condition holds.
    fn step(
        &mut self,
        fleet: &Fleet,
        key: AlertKey,
        holds: bool,
        metric: Metric,
        value: f64,
        now: Stamp,
    ) {
        match (self.active.get_mut(&key), holds) {
            (None, false) => {}
            (None, true) => {
                let rule = &self.rules[key.rule];
                let (node, container) = names(fleet, &key);
                let alert = Alert {
                    key,
                    rule: rule.name.clone(),
                    summary: rule.summary.clone(),
                    severity: rule.severity,
                    node,
                    container,
                    state: AlertState::Pending,
                    since: now,
                    fired: None,
                    resolved: None,
                    metric,
                    value,
                    ack: None,
                    proposal: None,
                };
                let immediate = rule.for_.is_zero();
                self.active.insert(key, alert);
                self.generation += 1;
                self.dirty = true;
                if immediate {
                    self.fire(fleet, key, now);
                }
            }
            (Some(alert), true) => {
                if alert.value != value || alert.metric != metric {
                    alert.value = value;
                    alert.metric = metric;
                    self.dirty = true;
                }
                if alert.state == AlertState::Stale {
                    // Fresh data says it still holds: it fires on, from when it first did.
                    alert.state = AlertState::Firing;
                    let text = format!("{} (data live again)", alert.describe());
                    let severity = alert.severity;
                    self.timeline
                        .push(now, EntryKind::Resumed, Some(severity), text);
                    self.dirty = true;
                    self.urgent = true;
                    return;
                }
                if alert.state == AlertState::Pending
                    && now.at.saturating_duration_since(alert.since.at) >= self.rules[key.rule].for_
                {
                    self.fire(fleet, key, now);
                }
            }
            (Some(alert), false) => {
                let was_firing = matches!(alert.state, AlertState::Firing | AlertState::Stale);
                let Some(mut alert) = self.active.remove(&key) else {
                    return;
                };
                self.generation += 1;
                self.remote.remove(&key);
                self.dirty = true;
                if was_firing {
                    self.urgent = true;
                    alert.state = AlertState::Resolved;
                    alert.resolved = Some(now);
                    alert.ack = None;
                    self.timeline.push(
                        now,
                        EntryKind::Resolved,
                        Some(alert.severity),
                        alert.describe(),
                    );
                    if self.resolved.len() == RESOLVED_KEPT {
                        self.resolved.pop_back();
                    }
                    self.resolved.push_front(alert);
                }
            }
        }
    }

    fn fire(&mut self, fleet: &Fleet, key: AlertKey, now: Stamp) {
        let recommend = self.rules[key.rule].recommend;
        let silenced = self.is_silenced(&key);
        let Some(alert) = self.active.get_mut(&key) else {
            return;
        };
        if alert.state == AlertState::Firing {
            return;
        }
        alert.state = AlertState::Firing;
        alert.fired = Some(now);
        let slot = (key.slot != FLEET_SLOT).then_some(key.slot);
        alert.proposal = recommend.and_then(|r| propose(r, fleet, slot));
        let mut text = alert.describe();
        if let Some(p) = &alert.proposal {
            text.push_str(&format!("; recommends: {p}"));
        }
        if silenced {
            text.push_str(" (silenced)");
        }
        let severity = alert.severity;
        self.timeline
            .push(now, EntryKind::Firing, Some(severity), text);
        self.dirty = true;
        self.urgent = true;
    }
}

fn names(fleet: &Fleet, key: &AlertKey) -> (String, Option<String>) {
    match key.subject() {
        Subject::Fleet => ("fleet".to_string(), None),
        Subject::Node(slot) => (
            fleet
                .node(slot)
                .map_or_else(String::new, |n| n.name().to_string()),
            None,
        ),
        Subject::Container { slot, key } => {
            let node = fleet.node(slot);
            (
                node.map_or_else(String::new, |n| n.name().to_string()),
                node.and_then(|n| n.containers.get(&key))
                    .map(|c| c.spec.name.clone()),
            )
        }
    }
}
