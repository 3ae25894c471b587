//! The docker runtime's sampling pass: one list, inspects of the containers that need one,
//! then resource counters from cgroup files or the stats API, kept in a cache between passes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptions;
use futures::StreamExt;

use super::{API_TIMEOUT, DockerRuntime, StatsSource, status_code};
use super::{convert as conv, ops as docker_ops, stats as docker_stats};
use crate::model::{
    ContainerSample, ContainerSpec, ContainerState, ContainerStats, ContainerStatus, HealthState,
};
use crate::runtime::RuntimeError;
use crate::runtime::cgroup::{self, CgroupPaths};
use crate::runtime::counters::{self, Reading};

/// Inspect requests in flight at once.
const INSPECT_CONCURRENCY: usize = 8;
/// Stats API requests in flight at once (the fallback source).
const STATS_CONCURRENCY: usize = 8;

/// What the runtime knows about one container between passes.
pub(super) struct Entry {
    spec: Arc<ContainerSpec>,
    status: ContainerStatus,
    /// State and health as the list showed them at the last inspect.
    list_state: ContainerState,
    list_health: HealthState,
    pid: Option<u32>,
    memory_limit: u64,
    /// Its counter files, kept open between samples.
    cgroup: Option<cgroup::Reader>,
    reading: Option<Reading>,
    stats: ContainerStats,
}

#[derive(Default)]
pub(super) struct Cache {
    entries: HashMap<String, Entry>,
    last_stats: Option<Instant>,
    warned_cgroup: bool,
}

impl DockerRuntime {
    /// One sampling pass: every container of this node with fresh figures, by name.
    pub(super) async fn sample(&self) -> Result<Vec<ContainerSample>, RuntimeError> {
        let list = match self.list().await {
            Ok(l) => l,
            Err(e) => {
                // Whatever happened while the engine was away, look again when it is back.
                self.shared.lock().all = true;
                return Err(e);
            }
        };
        let mut cache = self.cache.lock().await;
        self.refresh_entries(&mut cache, &list).await;
        // Passes woken by events come between ticks: rates over a few milliseconds would be
        // noise, so figures refresh only when about an interval has gone by.
        let due = cache
            .last_stats
            .is_none_or(|t| t.elapsed() >= self.config.sample_interval / 2);
        if due {
            self.refresh_stats(&mut cache).await;
        }
        let mut out: Vec<ContainerSample> = cache
            .entries
            .values()
            .map(|e| ContainerSample {
                spec: Arc::clone(&e.spec),
                status: e.status,
                stats: e.stats,
            })
            .collect();
        out.sort_by(|a, b| {
            a.spec
                .name
                .cmp(&b.spec.name)
                .then(a.spec.id.cmp(&b.spec.id))
        });
        Ok(out)
    }

    pub(super) async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError> {
        let filters = self
            .config
            .scope
            .as_ref()
            .map(|(k, v)| HashMap::from([("label".to_owned(), vec![format!("{k}={v}")])]));
        let options = ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        };
        match tokio::time::timeout(API_TIMEOUT, self.docker.list_containers(Some(options))).await {
            Ok(Ok(list)) => Ok(list),
            Ok(Err(e)) => Err(self.unreachable(&e)),
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "the Docker engine at {} did not list containers within {} s",
                self.endpoint,
                API_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Inspects the listed containers that need it and brings the cache up to date.
    pub(super) async fn refresh_entries(&self, cache: &mut Cache, list: &[ContainerSummary]) {
        let dirty = self.shared.take();
        let need: Vec<ContainerSummary> = list
            .iter()
            .filter(|s| {
                let Some(id) = s.id.as_deref() else {
                    return false;
                };
                match cache.entries.get(id) {
                    None => true,
                    Some(e) => {
                        dirty.all
                            || dirty.ids.contains(id)
                            || e.list_state != conv::summary_state(s.state.as_ref())
                            || e.list_health
                                != conv::summary_health(s.status.as_deref().unwrap_or(""))
                    }
                }
            })
            .cloned()
            .collect();
        let docker = self.docker.clone();
        let inspected: Vec<_> = futures::stream::iter(need)
            .map(move |s| {
                let docker = docker.clone();
                async move {
                    let id = s.id.clone().unwrap_or_default();
                    let got =
                        tokio::time::timeout(API_TIMEOUT, docker.inspect_container(&id, None))
                            .await;
                    (s, got)
                }
            })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .collect()
            .await;
        for (summary, got) in inspected {
            let id = summary.id.clone().unwrap_or_default();
            let i = match got {
                Ok(Ok(i)) => i,
                Ok(Err(e)) if status_code(&e) == Some(404) => {
                    // Removed between the list and the inspect: the next list drops it.
                    continue;
                }
                Ok(Err(e)) => {
                    tracing::debug!(id, "inspect failed: {e}");
                    self.shared.lock().ids.insert(id);
                    continue;
                }
                Err(_) => {
                    self.shared.lock().ids.insert(id);
                    continue;
                }
            };
            let summary = &summary;
            let mut spec = conv::spec(&i, summary);
            docker_ops::present(&mut spec, self.is_committed(&id));
            let status = conv::status(&i);
            let pid = conv::pid(&i).filter(|_| status.state.is_up());
            let list_state = conv::summary_state(summary.state.as_ref());
            let list_health = conv::summary_health(summary.status.as_deref().unwrap_or(""));
            let memory_limit = conv::memory_limit(&i);
            match cache.entries.get_mut(&id) {
                Some(e) => {
                    if *e.spec != spec {
                        e.spec = Arc::new(spec);
                    }
                    if e.pid != pid {
                        // A new run: new cgroup, counters start again.
                        e.pid = pid;
                        e.cgroup = pid.and_then(|p| locate_cgroup(p, &id));
                        e.reading = None;
                        e.stats = ContainerStats::default();
                    }
                    e.status = status;
                    e.list_state = list_state;
                    e.list_health = list_health;
                    e.memory_limit = memory_limit;
                }
                None => {
                    let entry = Entry {
                        spec: Arc::new(spec),
                        status,
                        list_state,
                        list_health,
                        pid,
                        memory_limit,
                        cgroup: pid.and_then(|p| locate_cgroup(p, &id)),
                        reading: None,
                        stats: ContainerStats::default(),
                    };
                    cache.entries.insert(id, entry);
                }
            }
        }
        let listed: HashSet<&str> = list.iter().filter_map(|s| s.id.as_deref()).collect();
        cache.entries.retain(|id, _| listed.contains(id.as_str()));
    }

    /// Reads fresh counters for every running container and turns them into figures.
    pub(super) async fn refresh_stats(&self, cache: &mut Cache) {
        let now = Instant::now();
        let source = self.config.stats;
        let mut from_files: Vec<(String, cgroup::Reader)> = Vec::new();
        let mut from_api: Vec<String> = Vec::new();
        for (id, e) in &mut cache.entries {
            if e.pid.is_none() {
                e.reading = None;
                e.stats = ContainerStats {
                    memory_limit_bytes: e.memory_limit,
                    ..ContainerStats::default()
                };
                continue;
            }
            match (e.cgroup.is_some(), source) {
                (true, StatsSource::Auto | StatsSource::Cgroup) => {
                    if let Some(reader) = e.cgroup.take() {
                        from_files.push((id.clone(), reader));
                    }
                }
                (false, StatsSource::Cgroup) => {}
                _ => from_api.push(id.clone()),
            }
        }
        let read = tokio::task::spawn_blocking(move || {
            from_files
                .into_iter()
                .map(|(id, mut reader)| {
                    let got = reader.read();
                    (id, reader, got)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let mut fresh = Vec::with_capacity(cache.entries.len());
        for (id, reader, r) in read {
            match r {
                Ok(c) => {
                    if let Some(e) = cache.entries.get_mut(&id) {
                        e.cgroup = Some(reader);
                    }
                    fresh.push((id, c));
                }
                Err(err) => {
                    if !cache.warned_cgroup {
                        tracing::warn!(id, "cannot read cgroup files ({err}); using the stats API");
                        cache.warned_cgroup = true;
                    }
                    if source == StatsSource::Auto {
                        from_api.push(id);
                    } else if let Some(e) = cache.entries.get_mut(&id) {
                        // Files only: try again at the next sample, opening them afresh.
                        e.cgroup = Some(cgroup::Reader::new(
                            reader.paths().clone(),
                            e.pid.unwrap_or(0),
                        ));
                    }
                }
            }
        }
        let docker = self.docker.clone();
        let api: Vec<_> = futures::stream::iter(from_api)
            .map(move |id| {
                let docker = docker.clone();
                async move {
                    let got =
                        tokio::time::timeout(API_TIMEOUT, docker_stats::read(&docker, &id)).await;
                    (id, got)
                }
            })
            .buffer_unordered(STATS_CONCURRENCY)
            .collect()
            .await;
        for (id, got) in api {
            if let Ok(Ok(Some(c))) = got {
                fresh.push((id, c));
            }
        }
        for (id, c) in fresh {
            let Some(e) = cache.entries.get_mut(&id) else {
                continue;
            };
            let reading = Reading {
                counters: c,
                at: now,
            };
            let mut stats = counters::stats(e.reading.as_ref(), &reading);
            // The configured limit, not the host's memory the engine reports for none.
            stats.memory_limit_bytes = e.memory_limit;
            e.stats = stats;
            e.reading = Some(reading);
        }
        cache.last_stats = Some(now);
    }
}

/// The cgroup of a container's init process, when it is readable from here and really is
/// that container's (an agent in its own pid namespace would find some other process).
fn locate_cgroup(pid: u32, id: &str) -> Option<cgroup::Reader> {
    let paths = cgroup::locate(pid).ok()?;
    let ours = match &paths {
        CgroupPaths::V2(dir) => dir.to_string_lossy().contains(id),
        CgroupPaths::V1 { cpuacct, .. } => cpuacct.to_string_lossy().contains(id),
    };
    ours.then(|| cgroup::Reader::new(paths, pid))
}
