//! The ops runner: takes the UI's requests and runs them as tasks, one per operation, so
//! the UI loop never waits on the network. Results come back as [`OpEvent`]s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_core::cancel::{self, CancelSource};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::exec::Executor;
use super::fence::{self, Failovers};
use super::history;
use super::link::Link;
use super::specs::SpecCache;
use super::{BackupInfo, OpEvent, Outcome};
use crate::app::OpRequest;
use crate::client::Connections;

/// How often the spec cache is refreshed while the console runs.
pub const SPEC_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How often the console asks its agents for the actions in flight (its own and other
/// consoles'), so a plan overlapping one is refused and the history view shows them.
pub const INTENT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Runs operations for one console.
#[derive(Debug)]
pub struct Runner {
    exec: Executor,
    events: mpsc::Sender<OpEvent>,
    running: HashMap<u64, (CancelSource, JoinHandle<()>)>,
    /// etcd, once the console coordinates: the intent watch lists its intents too.
    intents_in: Arc<Mutex<Option<crate::coord::Coord>>>,
}

impl Runner {
    /// A runner reporting on `events`; state (history, failovers, spec cache) in `state_dir`.
    pub fn new(
        state_dir: Option<PathBuf>,
        requested_by: &str,
        conns: Connections,
        events: mpsc::Sender<OpEvent>,
    ) -> Self {
        Self {
            exec: Executor::new(state_dir, requested_by, conns),
            events,
            running: HashMap::new(),
            intents_in: Arc::default(),
        }
    }

    /// The executor (for its settings).
    pub fn executor_mut(&mut self) -> &mut Executor {
        &mut self.exec
    }

    /// Starts work for one request.
    pub fn submit(&mut self, request: OpRequest) {
        self.running.retain(|_, (_, task)| !task.is_finished());
        let events = self.events.clone();
        match request {
            OpRequest::Run {
                op,
                plan,
                intent,
                skip,
            } => {
                let (source, cancel) = cancel::channel();
                let exec = self.exec.clone();
                let id = intent.unwrap_or_else(super::intent::new_id);
                let task = tokio::spawn(async move {
                    exec.run_resumed(op, &plan, &id, &skip, cancel, events)
                        .await;
                });
                self.running.insert(op, (source, task));
            }
            OpRequest::Abort { intent } => {
                let conns = self.exec.conns.clone();
                let coord = self.exec.coord.clone();
                tokio::spawn(async move {
                    let lines = super::intent::abort(
                        &conns,
                        &intent,
                        coord.as_ref(),
                        "rolled back from the console",
                    )
                    .await;
                    tracing::info!("rolled back action {}: {}", intent.id, lines.join("; "));
                });
            }
            OpRequest::Cancel { op } => {
                if let Some((source, _)) = self.running.get(&op) {
                    source.cancel();
                }
            }
            OpRequest::ListBackups { node, endpoint } => {
                let conns = self.exec.conns.clone();
                tokio::spawn(async move {
                    let list = async {
                        let mut link = Link::open(&conns, &node, &endpoint).await?;
                        link.list_backups().await
                    }
                    .await
                    // The node that answers holds the backups, whatever their records say.
                    .map(|l| {
                        l.into_iter()
                            .map(|b| BackupInfo {
                                node: node.clone(),
                                ..BackupInfo::from_wire(b)
                            })
                            .collect()
                    })
                    .map_err(|e| e.to_string());
                    let _ = events.send(OpEvent::Backups { node, list }).await;
                });
            }
            OpRequest::ListImages { node, endpoint } => {
                let conns = self.exec.conns.clone();
                tokio::spawn(async move {
                    let list = async {
                        let mut link = Link::open(&conns, &node, &endpoint).await?;
                        link.list_images().await
                    }
                    .await
                    .map_err(|e| e.to_string());
                    let _ = events.send(OpEvent::Images { node, list }).await;
                });
            }
            OpRequest::Fence { op, stale } => {
                let Some(dir) = self.exec.state_dir.clone() else {
                    return;
                };
                let who = self.exec.requested_by.clone();
                let conns = self.exec.conns.clone();
                let coord = self.exec.coord.clone();
                tokio::spawn(async move {
                    let started = (std::time::Instant::now(), crate::tui::unix_ms());
                    let result = fence::fence(&conns, &dir, &stale, &who).await;
                    let result = fence::forget_in_etcd(coord.as_ref(), &stale.node, result).await;
                    let (result, message) = match &result {
                        Ok(m) => ("done", m.clone()),
                        Err(m) => ("failed", m.clone()),
                    };
                    let record = history::HistoryRecord {
                        time_unix_ms: crate::tui::unix_ms(),
                        started_unix_ms: Some(started.1),
                        duration_ms: u64::try_from(started.0.elapsed().as_millis()).ok(),
                        op,
                        action: "fence".into(),
                        target: Some(stale.node.clone()),
                        title: format!("Fence {} (returned after failover)", stale.node),
                        plan: Vec::new(),
                        outcome: result.into(),
                        message: message.clone(),
                    };
                    history::append(&dir, &record).await;
                    let outcome = if result == "done" {
                        Outcome::Done(message)
                    } else {
                        Outcome::Failed(message)
                    };
                    let _ = events.send(OpEvent::Finished { op, outcome }).await;
                });
            }
            OpRequest::ReloadFailovers => {
                let Some(dir) = self.exec.state_dir.clone() else {
                    return;
                };
                tokio::spawn(async move {
                    let f = tokio::task::spawn_blocking(move || Failovers::load(&dir))
                        .await
                        .unwrap_or_default();
                    let _ = events.send(OpEvent::Failovers(f)).await;
                });
            }
        }
    }

    /// Runs every action under etcd's locks from now on, and reads the locks other consoles
    /// hold every [`crate::coord::POLL_INTERVAL`] for the UI (until the UI is gone).
    pub fn coordinate(&mut self, coord: crate::coord::Coord) -> JoinHandle<()> {
        self.exec.coord = Some(coord.clone());
        if let Ok(mut slot) = self.intents_in.lock() {
            *slot = Some(coord.clone());
        }
        let me = std::process::id();
        poll(
            self.events.clone(),
            crate::coord::POLL_INTERVAL,
            move || {
                let coord = coord.clone();
                async move {
                    let locks = coord
                        .held()
                        .await
                        .map(|held| {
                            held.into_iter()
                                .filter(|h| h.holder.pid != me || h.holder.owner != coord.owner)
                                .collect()
                        })
                        .map_err(|e| e.to_string());
                    OpEvent::Locks(locks)
                }
            },
        )
    }

    /// Asks `endpoints` for the intents they hold now and every `interval`, sending them to
    /// the UI (and, with `settle`, ending on every agent what one agent holds as ended);
    /// ends when the UI is gone.
    pub fn spawn_intent_watch(
        &self,
        endpoints: Vec<String>,
        interval: Duration,
        settle: bool,
    ) -> JoinHandle<()> {
        let conns = self.exec.conns.clone();
        let slot = Arc::clone(&self.intents_in);
        // Agents are asked again when their streams say their intents changed (and the
        // rest in turn), so a poll of a thousand quiet agents costs a few calls.
        let polled = Arc::new(tokio::sync::Mutex::new(super::intent::Polled::default()));
        poll(self.events.clone(), interval, move || {
            let (conns, endpoints) = (conns.clone(), endpoints.clone());
            let coord = slot.lock().ok().and_then(|c| c.clone());
            let polled = Arc::clone(&polled);
            async move {
                let mut polled = polled.lock().await;
                let (list, _) =
                    super::intent::list_polled(&conns, &endpoints, coord.as_ref(), &mut polled)
                        .await;
                if settle {
                    super::intent::settle(&conns, &list, coord.as_ref()).await;
                }
                OpEvent::Intents(list)
            }
        })
    }

    /// Refreshes the spec cache from `endpoints` now and every `interval`, saving it in
    /// the state directory and sending it to the UI.
    pub fn spawn_spec_refresh(&self, endpoints: Vec<String>, interval: Duration) -> JoinHandle<()> {
        let dir = self.exec.state_dir.clone();
        let events = self.events.clone();
        let conns = self.exec.conns.clone();
        tokio::spawn(async move {
            let mut cache = dir.as_deref().map(SpecCache::load).unwrap_or_default();
            let mut denied = std::collections::BTreeSet::new();
            let mut asked = super::specs::Asked::default();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let done = cache
                    .refresh_due(&conns, &endpoints, &mut denied, &mut asked)
                    .await;
                // Unchanged specs need no new file (a large fleet's is tens of MB of JSON).
                if done.changed > 0
                    && let Some(d) = &dir
                    && let Err(e) = cache.save(d)
                {
                    tracing::warn!("cannot save the spec cache: {e}");
                }
                let update = OpEvent::SpecsRefreshed {
                    cache: Box::new(cache.clone()),
                };
                if events.send(update).await.is_err() {
                    return;
                }
            }
        })
    }
}

/// Sends what `read` answers to the UI now and every `interval`; ends when the UI is gone.
fn poll<F, Fut>(events: mpsc::Sender<OpEvent>, interval: Duration, mut read: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = OpEvent> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if events.send(read().await).await.is_err() {
                return;
            }
        }
    })
}

/// Wires actions into a console: loads the spec cache and failover records into `app`,
/// makes the runner on the console's connections `conns`, and starts refreshing the spec cache from `agents`. Returns the link
/// for the run loop and the refresher's task.
pub fn start(
    app: &mut crate::app::App,
    state_dir: Option<PathBuf>,
    agents: &[crate::client::AgentAddr],
    read_only: bool,
    conns: Connections,
) -> (crate::tui::OpsLink, JoinHandle<()>) {
    if let Some(dir) = &state_dir {
        app.ops.specs = SpecCache::load(dir);
        app.ops.failovers = Failovers::load(dir);
        app.ops.load_history(dir);
    }
    app.read_only = read_only;
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let (tx, rx) = mpsc::channel(1024);
    let mut runner = Runner::new(state_dir, &format!("{user}@fleetdeck-console"), conns, tx);
    let endpoints: Vec<String> = agents.iter().map(ToString::to_string).collect();
    let exec = runner.executor_mut();
    *exec = exec.clone().with_agents(&endpoints);
    runner.spawn_intent_watch(endpoints.clone(), INTENT_POLL_INTERVAL, !read_only);
    let refresher = runner.spawn_spec_refresh(endpoints, SPEC_REFRESH_INTERVAL);
    (crate::tui::OpsLink { runner, events: rx }, refresher)
}
