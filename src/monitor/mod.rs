//! `fleetdeck monitor`: the console's alert rules with no screen, for the hours nobody has
//! a console open. The same pieces as the console's run loop (`tui.rs`): the agent
//! watchers feed the `Fleet`, the `AlertBook` evaluates the rules on updates and ticks;
//! what fires and resolves goes out to Alertmanager and webhooks through one sender task
//! per receiver, so a dead receiver never holds up evaluation.

mod cli;
mod outgoing;
pub mod status;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

pub use cli::run_cli;
pub use outgoing::{Change, Outgoing, Tracker, annotations};

use crate::alerts::{AlertBook, Stamp};
use crate::client::{WatchOptions, Watchers};
use crate::config::Settings;
use crate::model::Fleet;
use crate::notify::{QUEUE_CAPACITY, Receiver, Sender};
use crate::tui::{QuitSignals, TICK_INTERVAL, unix_ms};

/// How often firing alerts are posted to Alertmanager again, unless `--resend-interval`.
pub const DEFAULT_RESEND_INTERVAL: Duration = Duration::from_secs(30);
/// Time allowed at shutdown for queued notices to go out.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);
/// Name the monitor gives itself in the agents' logs.
pub const CLIENT_NAME: &str = concat!("fleetdeck-monitor/", env!("CARGO_PKG_VERSION"));
/// Most agent updates applied in one pass.
const UPDATE_BATCH: usize = 4096;

/// How the monitor runs.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Firing alerts go to Alertmanager again this often.
    pub resend_interval: Duration,
    /// Where the status file goes; `None`: no file.
    pub status_path: Option<PathBuf>,
}

/// Follows the agents and evaluates the rules until SIGTERM, SIGINT or SIGHUP; then sends
/// what is queued (within `FLUSH_TIMEOUT`) and returns.
pub async fn run(settings: &Settings, options: &MonitorOptions) -> Result<()> {
    let agents = &settings.agents;
    crate::limits::ensure_for(agents.len()).map_err(|e| eyre!("{e}"))?;
    let mut signals = QuitSignals::new()?;
    let senders = spawn_senders(settings);
    tracing::info!(
        agents = agents.len(),
        alertmanagers = settings.notify.alertmanagers.len(),
        webhooks = settings.notify.webhooks.len(),
        rules = settings.alert_rules.iter().filter(|r| r.enabled).count(),
        "monitor starting"
    );
    if senders.is_empty() {
        tracing::warn!(
            "no receivers: alerts are only logged; set [notify] alertmanager or [[notify.webhook]]"
        );
    }
    let (tx, mut updates) = mpsc::channel(agents.len().clamp(64, 8192) * 2);
    let watch_options = WatchOptions {
        client_name: CLIENT_NAME.to_string(),
        ..settings.watch_options()
    };
    let watchers = Watchers::spawn(agents, &watch_options, &tx);
    drop(tx);

    let started = stamp();
    let mut fleet = Fleet::new(
        agents.iter().map(ToString::to_string),
        settings.failover_timeout,
        started.at,
    );
    let mut book = AlertBook::new(settings.alert_rules.clone());
    book.observe_all(&fleet, started);
    let mut tracker = Tracker::new(options.resend_interval, started.at);
    let mut state = Standing {
        started_unix_ms: started.unix_ms,
        evaluations: 1,
    };
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status_tick = tokio::time::interval(status::STATUS_INTERVAL);
    status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(UPDATE_BATCH);
    let mut updates_open = true;
    let mut woken_for: Option<Instant> = None;

    loop {
        let alert_due = book.next_due().filter(|due| Some(*due) != woken_for);
        let resend_at = tracker.next_resend();
        tokio::select! {
            n = updates.recv_many(&mut batch, UPDATE_BATCH), if updates_open => {
                updates_open = n > 0;
                let now = stamp();
                for update in batch.drain(..) {
                    let slot = update.slot();
                    let applied = fleet.apply(update, now.at);
                    if applied.changed {
                        book.observe_node(&fleet, slot, now);
                    }
                    if applied.agent_restarted {
                        let name = fleet.node(slot).map_or("?", |n| n.name());
                        tracing::info!(node = name, "agent restarted: resynchronised");
                    }
                }
                state.evaluations += 1;
            }
            _ = tick.tick() => {
                book.tick(&fleet, stamp());
                state.evaluations += 1;
            }
            () = tokio::time::sleep_until(alert_due.unwrap_or(resend_at).into()), if alert_due.is_some() => {
                // A pending alert fires when its `for` runs out, not up to a tick later.
                book.tick(&fleet, stamp());
                state.evaluations += 1;
                woken_for = alert_due;
            }
            () = tokio::time::sleep_until(resend_at.into()) => {
                let resends = tracker.resend_due(&book, stamp());
                dispatch(&senders, &resends);
            }
            _ = status_tick.tick() => {
                let receivers = senders.iter().map(Sender::status).collect();
                state.save(options, state.status(&fleet, &tracker, receivers, true));
            }
            name = signals.recv() => {
                tracing::info!(signal = name, "monitor stopping");
                break;
            }
        }
        if book.take_urgent() {
            let changes = tracker.changes(&book, &fleet, stamp());
            for change in &changes {
                log_change(change);
            }
            dispatch(&senders, &changes);
        }
    }
    watchers.shutdown().await;
    // Every receiver flushes at once; the slowest bounds the wait.
    let stopping = senders.into_iter().map(|s| s.stop(FLUSH_TIMEOUT));
    let finals = futures::future::join_all(stopping).await;
    for r in finals.iter().filter(|r| r.queued > 0) {
        tracing::warn!(
            receiver = %r.name,
            queued = r.queued,
            "stopped with notices not delivered"
        );
    }
    state.save(options, state.status(&fleet, &tracker, finals, false));
    tracing::info!("monitor stopped");
    Ok(())
}

/// The receivers' sender tasks: every Alertmanager (each gets every alert, which is how an
/// Alertmanager cluster wants it), then every webhook.
fn spawn_senders(settings: &Settings) -> Vec<Sender> {
    let notify = &settings.notify;
    let alertmanagers = notify
        .alertmanagers
        .iter()
        .map(|t| Receiver::Alertmanager(t.clone()));
    let webhooks = notify
        .webhooks
        .iter()
        .map(|(t, f)| Receiver::Webhook(t.clone(), *f));
    alertmanagers
        .chain(webhooks)
        .map(|r| Sender::spawn(r, QUEUE_CAPACITY))
        .collect()
}

/// Queues each notice with the receivers that want it: transitions go to all, resends to
/// Alertmanager only. Never waits.
fn dispatch(senders: &[Sender], out: &[Outgoing]) {
    for o in out {
        for s in senders {
            if o.change != Change::Resent || s.wants_resends() {
                s.push(&o.notice);
            }
        }
    }
}

fn log_change(o: &Outgoing) {
    let n = &o.notice;
    let summary = n.annotation("summary").unwrap_or("");
    match o.change {
        Change::Fired => tracing::warn!(
            alertname = n.label("alertname"),
            severity = n.label("severity"),
            node = n.label("node"),
            command = n.annotation("command").unwrap_or("-"),
            "firing: {summary}"
        ),
        Change::Resolved => tracing::info!(
            alertname = n.label("alertname"),
            node = n.label("node"),
            container = n.label("container"),
            "resolved"
        ),
        Change::Resent => {}
    }
}

fn stamp() -> Stamp {
    Stamp {
        at: Instant::now(),
        unix_ms: unix_ms(),
    }
}

/// Counters the status file reports.
struct Standing {
    started_unix_ms: u64,
    evaluations: u64,
}

impl Standing {
    fn status(
        &self,
        fleet: &Fleet,
        tracker: &Tracker,
        receivers: Vec<crate::notify::ReceiverStatus>,
        running: bool,
    ) -> status::MonitorStatus {
        status::MonitorStatus {
            pid: std::process::id(),
            started_unix_ms: self.started_unix_ms,
            updated_unix_ms: unix_ms(),
            running,
            agents: fleet.nodes().len(),
            agents_live: fleet.nodes().iter().filter(|n| n.is_live()).count(),
            firing: tracker.firing(),
            evaluations: self.evaluations,
            receivers,
        }
    }

    fn save(&self, options: &MonitorOptions, status: status::MonitorStatus) {
        if let Some(path) = &options.status_path {
            if let Err(e) = status::write(path, &status) {
                tracing::warn!("{e}");
            }
        }
    }
}
