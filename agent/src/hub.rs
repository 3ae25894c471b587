//! The hub: one per node. Samples the runtime and host, diffs against the previous state,
//! publishes deltas (seq + 1) to watch streams and keeps the full state for snapshots.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use fleetdeck_proto as pb;
use pb::watch_event::Body;
use tokio::sync::{Notify, broadcast, watch};

use crate::cancel::Cancel;
use crate::convert;
use crate::health::Checker;
use crate::history::{NodeHistory, Past, Wanted};
use crate::host::{HostProbe, now_unix_ms};
use crate::metrics::Telemetry;
use crate::model::{
    ActError, ActErrorKind, Container, ContainerSample, Delta, HealthCheck, HostSample, NodeInfo,
    NodeStatus, Snapshot,
};
use crate::runtime::{Runtime, RuntimeError};
use fleetdeck_core::history::{ContainerPoint, History, NodePoint};

/// Shortest container id prefix accepted as a target.
const MIN_ID_PREFIX: usize = 6;

/// A published Watch event, shared by every stream.
pub type Event = Arc<pb::WatchEvent>;

/// One sampling pass: what the runtime and host said.
pub struct Sample {
    /// Containers, or why the runtime could not list them.
    pub containers: Result<Vec<ContainerSample>, RuntimeError>,
    /// Host figures.
    pub host: HostSample,
    /// Agent checks.
    pub health: Vec<HealthCheck>,
}

struct State {
    seq: u64,
    info: NodeInfo,
    host: HostSample,
    containers: BTreeMap<u32, Container>,
    keys: HashMap<String, u32>,
    next_key: u32,
    health: Vec<HealthCheck>,
    /// Moves on with every change that can change what ListSpecs answers (see
    /// [`Hub::specs_generation`]); never 0.
    specs_generation: u64,
}

struct Inner {
    epoch: u64,
    state: RwLock<State>,
    events: broadcast::Sender<Event>,
    wake: Notify,
    /// (passes started, passes finished): lets an action wait for a sample taken after it.
    passes: watch::Sender<(u64, u64)>,
    /// Recent figures, one entry per sampling tick; its own lock, so a History reply
    /// being built never holds up a sample.
    history: Mutex<NodeHistory>,
}

/// Shared handle on a node's live state.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Hub {
    /// A hub holding `first` as its state at seq 0.
    pub fn new(epoch: u64, info: NodeInfo, first: Sample, event_buffer: usize) -> Self {
        let (events, _) = broadcast::channel(event_buffer.max(1));
        let state = State {
            seq: 0,
            info,
            host: HostSample::default(),
            containers: BTreeMap::new(),
            keys: HashMap::new(),
            next_key: 1,
            health: Vec::new(),
            // A restarted agent starts elsewhere, so a console never takes its specs for
            // the ones it heard before the restart.
            specs_generation: epoch.max(1),
        };
        let hub = Self {
            inner: Arc::new(Inner {
                epoch,
                state: RwLock::new(state),
                events,
                wake: Notify::new(),
                passes: watch::channel((0, 0)).0,
                history: Mutex::new(NodeHistory::new()),
            }),
        };
        {
            let mut st = hub.write();
            let _ = diff_and_apply(&mut st, first);
        }
        hub
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // State is plain data updated in one step; a poisoned lock still holds a usable copy.
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This agent instance's epoch.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch
    }

    /// Current state version.
    pub fn seq(&self) -> u64 {
        self.read().seq
    }

    /// Node description with the current mode and labels.
    pub fn info(&self) -> NodeInfo {
        self.read().info.clone()
    }

    /// Records whether the agent checks callers, for snapshots and GetInfo from now on.
    pub fn set_open(&self, open: bool) {
        self.write().info.open = open;
    }

    /// Current mode and labels.
    pub fn status(&self) -> NodeStatus {
        self.read().info.status.clone()
    }

    /// Changes whenever a container was created, removed, recreated or changed state: what
    /// a console's spec cache keeps (Watch events carry it, so the console asks ListSpecs
    /// only then).
    pub fn specs_generation(&self) -> u64 {
        self.read().specs_generation
    }

    /// The full current state.
    pub fn snapshot(&self) -> Snapshot {
        let st = self.read();
        Snapshot {
            node: st.info.clone(),
            host: st.host.clone(),
            containers: st.containers.values().cloned().collect(),
            health: st.health.clone(),
        }
    }

    /// A snapshot event and a receiver for every delta after it, taken atomically.
    pub fn subscribe(&self) -> (broadcast::Receiver<Event>, pb::WatchEvent) {
        let st = self.read();
        let rx = self.inner.events.subscribe();
        let snapshot = pb::Snapshot {
            node: Some(st.info.to_proto()),
            host: Some(st.host.to_proto()),
            containers: st.containers.values().map(convert::container).collect(),
            health: st.health.iter().map(HealthCheck::to_proto).collect(),
        };
        let mut ev = convert::event(
            self.epoch(),
            st.seq,
            now_unix_ms(),
            Body::Snapshot(snapshot),
        );
        ev.specs_generation = st.specs_generation;
        (rx, ev)
    }

    /// Finds a container by id, name or unique id prefix.
    pub fn find(&self, target: &str) -> Result<Container, ActError> {
        let st = self.read();
        let all = || st.containers.values();
        if let Some(c) = all().find(|c| c.spec.id == target || c.spec.name == target) {
            return Ok(c.clone());
        }
        let mut by_prefix = all().filter(|c| c.spec.id.starts_with(target));
        match (
            target.len() >= MIN_ID_PREFIX,
            by_prefix.next(),
            by_prefix.next(),
        ) {
            (true, Some(c), None) => Ok(c.clone()),
            (true, Some(_), Some(_)) => Err(ActError::new(
                ActErrorKind::Invalid,
                format!(
                    "`{}` matches several containers; give more of the id",
                    crate::validate::shown(target)
                ),
            )),
            _ => Err(ActError::new(
                ActErrorKind::NotFound,
                format!(
                    "no container `{}` on node {}",
                    crate::validate::shown(target),
                    st.info.node_id
                ),
            )),
        }
    }

    /// Sets mode and labels; publishes the change at once.
    pub fn set_status(&self, status: NodeStatus) {
        let mut st = self.write();
        if st.info.status == status {
            return;
        }
        st.info.status = status.clone();
        let delta = Delta {
            status: Some(status),
            ..Delta::default()
        };
        self.publish(&mut st, &delta);
    }

    /// Applies a sampling pass and publishes what changed.
    pub fn apply(&self, sample: Sample) {
        let mut st = self.write();
        let delta = diff_and_apply(&mut st, sample);
        self.publish(&mut st, &delta);
    }

    fn publish(&self, st: &mut State, delta: &Delta) {
        if delta.is_empty() {
            return;
        }
        st.seq += 1;
        // With nobody watching, building wire messages would be wasted work.
        if self.inner.events.receiver_count() > 0 {
            let body = Body::Delta(convert::delta(delta));
            let mut ev = convert::event(self.epoch(), st.seq, now_unix_ms(), body);
            ev.specs_generation = st.specs_generation;
            let _ = self.inner.events.send(Arc::new(ev));
        }
    }

    fn history_lock(&self) -> std::sync::MutexGuard<'_, NodeHistory> {
        // Plain rings of numbers: a poisoned lock still holds usable figures.
        self.inner
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts the current state in the history as one sampling tick.
    pub fn record_history(&self) {
        let st = self.read();
        let h = &st.host;
        let node = NodePoint::new(
            h.cpu_percent,
            h.memory_percent(),
            h.net_rx_bytes_per_sec
                .saturating_add(h.net_tx_bytes_per_sec),
            st.containers.len(),
        );
        let containers = st.containers.iter().map(|(key, c)| {
            (
                *key,
                ContainerPoint::new(c.stats.cpu_percent, c.stats.memory_used_bytes),
            )
        });
        self.history_lock().record(h.time_unix_ms, node, containers);
    }

    /// Takes in a generated past (a sim node's) before the first tick is recorded.
    pub fn seed_history(&self, past: Past) {
        let st = self.read();
        self.history_lock().seed(past, &st.keys);
    }

    /// The recent figures a History request asks for.
    pub fn history(&self, wanted: Wanted) -> History {
        let interval_ms = self.read().info.sample_interval_ms;
        self.history_lock().read(self.epoch(), interval_ms, wanted)
    }

    /// Asks the sampler for a pass now.
    pub fn request_sample(&self) {
        self.inner.wake.notify_one();
    }

    /// Waits (up to `limit`) until a sampling pass that started after this call has finished,
    /// so what the runtime did before is in the state and on its way to watchers.
    pub async fn sampled_after_now(&self, limit: Duration) -> bool {
        let mut rx = self.inner.passes.subscribe();
        let started = rx.borrow().0;
        self.request_sample();
        tokio::time::timeout(limit, rx.wait_for(|(_, done)| *done > started))
            .await
            .is_ok()
    }
}

/// Updates `st` to `sample` and returns what changed. Keys come from a counter that only
/// grows, so they are never reused within the epoch.
fn diff_and_apply(st: &mut State, sample: Sample) -> Delta {
    let mut delta = Delta::default();
    let mut specs_changed = false;
    if let Ok(containers) = sample.containers {
        let mut seen = HashSet::with_capacity(containers.len());
        for s in containers {
            let key = match st.keys.get(&s.spec.id) {
                Some(k) => *k,
                None => {
                    let k = st.next_key;
                    st.next_key += 1;
                    st.keys.insert(s.spec.id.clone(), k);
                    k
                }
            };
            seen.insert(key);
            match st.containers.get_mut(&key) {
                None => {
                    specs_changed = true;
                    let c = convert::keyed(key, s);
                    delta.upserts.push(c.clone());
                    st.containers.insert(key, c);
                }
                Some(prev) => {
                    let same_spec = Arc::ptr_eq(&prev.spec, &s.spec) || prev.spec == s.spec;
                    if !same_spec || prev.status != s.status {
                        specs_changed |= !same_spec || prev.status.state != s.status.state;
                        *prev = convert::keyed(key, s);
                        delta.upserts.push(prev.clone());
                    } else if prev.stats != s.stats {
                        prev.stats = s.stats;
                        delta.stats.push((key, s.stats));
                    }
                }
            }
        }
        let gone: Vec<u32> = st
            .containers
            .keys()
            .copied()
            .filter(|k| !seen.contains(k))
            .collect();
        for key in gone {
            if let Some(c) = st.containers.remove(&key) {
                st.keys.remove(&c.spec.id);
            }
            delta.removed.push(key);
            specs_changed = true;
        }
    }
    if specs_changed {
        st.specs_generation = st.specs_generation.wrapping_add(1).max(1);
    }
    // A runtime that cannot list containers leaves the last known list in place: the
    // failing runtime check tells clients it is stale.
    if !sample.host.same_figures(&st.host) {
        delta.host = Some(sample.host.clone());
    }
    st.host = sample.host;
    for check in sample.health {
        match st.health.iter_mut().find(|h| h.name == check.name) {
            Some(h) if *h == check => {}
            Some(h) => {
                *h = check.clone();
                delta.health.push(check);
            }
            None => {
                st.health.push(check.clone());
                delta.health.push(check);
            }
        }
    }
    delta
}

/// Where host figures come from.
pub enum HostSource {
    /// The runtime simulates the host.
    Simulated,
    /// This machine, via sysinfo.
    Probe(Box<HostProbe>),
}

/// Takes one sampling pass.
pub async fn take_sample(
    runtime: &dyn Runtime,
    host: &mut HostSource,
    checker: &mut Checker,
) -> Sample {
    let containers = runtime.containers().await;
    let host = match host {
        HostSource::Probe(probe) => probe.sample(),
        HostSource::Simulated => runtime.simulated_host().unwrap_or_default(),
    };
    let reachable = containers.as_ref().map(|_| ()).map_err(Clone::clone);
    let health = checker.run(&reachable, &host, now_unix_ms());
    Sample {
        containers,
        host,
        health,
    }
}

/// The sampler task: every `interval`, or at once when the runtime or an action signals a
/// change, sample and publish. Ends when `cancel` fires.
pub async fn run_sampler(
    hub: Hub,
    runtime: Arc<dyn Runtime>,
    mut host: HostSource,
    mut checker: Checker,
    interval: Duration,
    cancel: Cancel,
    telemetry: Telemetry,
) {
    let start = tokio::time::Instant::now() + interval;
    let mut ticks = tokio::time::interval_at(start, interval);
    // A late tick is taken once, not in a burst: the sim steps at most once per pass.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let changes = runtime.changes();
    let changed = || async {
        match &changes {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    loop {
        let ticked = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            _ = ticks.tick() => true,
            () = changed() => false,
            () = hub.inner.wake.notified() => false,
        };
        hub.inner.passes.send_modify(|p| p.0 += 1);
        if ticked {
            runtime.advance();
        }
        let began = std::time::Instant::now();
        let sample = take_sample(runtime.as_ref(), &mut host, &mut checker).await;
        telemetry.sample_took(began.elapsed());
        hub.apply(sample);
        // Only ticks: the history holds one entry per sample interval.
        if ticked {
            hub.record_history();
        }
        hub.inner.passes.send_modify(|p| p.1 = p.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerSpec, ContainerState, ContainerStats, ContainerStatus};

    fn c(id: &str, cpu: f32, state: ContainerState) -> ContainerSample {
        ContainerSample {
            spec: Arc::new(ContainerSpec {
                id: id.into(),
                name: format!("n-{id}"),
                ..Default::default()
            }),
            status: ContainerStatus {
                state,
                ..Default::default()
            },
            stats: ContainerStats {
                cpu_percent: cpu,
                ..Default::default()
            },
        }
    }

    fn sample(containers: Vec<ContainerSample>) -> Sample {
        Sample {
            containers: Ok(containers),
            host: HostSample::default(),
            health: vec![],
        }
    }

    #[test]
    fn diff_sends_only_changes() {
        let run = ContainerState::Running;
        let hub = Hub::new(1, NodeInfo::default(), sample(vec![c("a", 1.0, run)]), 8);
        let (mut rx, first) = hub.subscribe();
        assert_eq!(first.seq, 0);
        hub.apply(sample(vec![c("a", 2.0, run), c("b", 1.0, run)]));
        let ev = rx.try_recv().unwrap();
        let Some(Body::Delta(d)) = &ev.body else {
            panic!()
        };
        assert_eq!(ev.seq, 1);
        assert_eq!(d.stats.len(), 1);
        assert_eq!(d.stats[0].key, 1);
        assert_eq!(d.upserts.len(), 1);
        assert_eq!(d.upserts[0].key, 2);
        // Nothing moved: no delta, no seq bump.
        hub.apply(sample(vec![c("a", 2.0, run), c("b", 1.0, run)]));
        assert!(rx.try_recv().is_err());
        assert_eq!(hub.seq(), 1);
        // State change is an upsert; disappearance is a removal.
        hub.apply(sample(vec![c("a", 2.0, ContainerState::Exited)]));
        let ev = rx.try_recv().unwrap();
        let Some(Body::Delta(d)) = &ev.body else {
            panic!()
        };
        assert_eq!(d.upserts[0].state(), pb::ContainerState::Exited);
        assert_eq!(d.removed, vec![2]);
        // A new container never gets an old key back.
        hub.apply(sample(vec![
            c("a", 2.0, ContainerState::Exited),
            c("b", 1.0, run),
        ]));
        let ev = rx.try_recv().unwrap();
        let Some(Body::Delta(d)) = &ev.body else {
            panic!()
        };
        assert_eq!(d.upserts[0].key, 3);
    }

    #[test]
    fn failed_listing_keeps_containers() {
        let run = ContainerState::Running;
        let hub = Hub::new(1, NodeInfo::default(), sample(vec![c("a", 1.0, run)]), 8);
        hub.apply(Sample {
            containers: Err(RuntimeError::Unavailable("gone".into())),
            host: HostSample::default(),
            health: vec![],
        });
        assert_eq!(hub.snapshot().containers.len(), 1);
    }

    #[test]
    fn find_by_name_id_and_prefix() {
        let run = ContainerState::Running;
        let first = sample(vec![c("abcdef123", 1.0, run), c("abcdef456", 1.0, run)]);
        let hub = Hub::new(1, NodeInfo::default(), first, 8);
        assert_eq!(hub.find("n-abcdef123").unwrap().key, 1);
        assert_eq!(hub.find("abcdef456").unwrap().key, 2);
        assert_eq!(hub.find("abcdef4").unwrap().key, 2);
        assert_eq!(hub.find("abcdef").unwrap_err().kind, ActErrorKind::Invalid);
        assert_eq!(hub.find("abc").unwrap_err().kind, ActErrorKind::NotFound);
        assert_eq!(hub.find("zzz").unwrap_err().kind, ActErrorKind::NotFound);
    }
}
