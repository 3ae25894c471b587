//! Act: validate, run (or plan) one action, stream progress, remember the outcome by action
//! id so a repeated id replays it instead of doing the work again, and audit every request.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_proto as pb;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

#[path = "intent_ops.rs"]
mod intent_ops;
#[path = "workload.rs"]
mod workload;

pub use intent_ops::unix_ms;

use crate::audit::{AuditLog, Caller, Outcome, Record, now_rfc3339};
use crate::backup::Registry;
use crate::convert;
use crate::hub::Hub;
use crate::metrics::Telemetry;
use crate::model::{
    ActError, ActErrorKind, Action, Container, ContainerState, ContainerVerb, Done, NodeMode,
    NodeVerb, SimFaultKind,
};
use crate::runtime::{Runtime, RuntimeError, RuntimeKind};
use crate::server::auth::Identity;

/// Action ids remembered for replay; the oldest finished ones are forgotten first.
const REMEMBERED_ACTIONS: usize = 4096;
/// Longest wait for the sampler to pick up what an action changed.
const OBSERVE_LIMIT: Duration = Duration::from_secs(3);
/// Progress messages buffered per Act call.
const PROGRESS_BUFFER: usize = 16;

/// What tonic streams back for Act.
pub type ActStream = ReceiverStream<Result<pb::ActProgress, Status>>;
type Final = Result<Done, ActError>;
type Progress = mpsc::Sender<Result<pb::ActProgress, Status>>;

struct Remembered {
    /// The request minus `requested_by`: the same id must mean the same action.
    request: pb::ActRequest,
    outcome: watch::Receiver<Option<Final>>,
}

#[derive(Default)]
struct Ledger {
    entries: HashMap<String, Remembered>,
    order: VecDeque<String>,
}

impl Ledger {
    fn forget_oldest_finished(&mut self) {
        while self.entries.len() >= REMEMBERED_ACTIONS {
            let finished = self.order.iter().position(|id| {
                self.entries
                    .get(id)
                    .is_none_or(|e| e.outcome.borrow().is_some())
            });
            // All in flight: keep them; in-flight ids are bounded by concurrent calls.
            let Some(i) = finished else { return };
            if let Some(id) = self.order.remove(i) {
                self.entries.remove(&id);
            }
        }
    }
}

/// Runs actions for one node.
pub struct Actions {
    hub: Hub,
    runtime: Arc<dyn Runtime>,
    audit: AuditLog,
    backups: Registry,
    ledger: Mutex<Ledger>,
    /// Mode to go back to on uncordon.
    mode_before_cordon: Mutex<NodeMode>,
    /// Present while the node is cordoned, so a restart keeps it cordoned.
    cordon_file: Option<std::path::PathBuf>,
    /// Counts outcomes for the metrics endpoint.
    telemetry: Option<Telemetry>,
    /// Consoles' intents and their leases.
    intents: crate::intents::IntentStore,
}

/// File in the agent's state directory that marks the node cordoned across restarts.
pub const CORDON_FILE: &str = "cordoned";

/// A call refused before it ran, for [`Actions::record_refusal`].
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// The request's action id ("" when the body was never read).
    pub action_id: &'a str,
    /// What the client said it is.
    pub requested_by: &'a str,
    /// Peer address.
    pub peer: Option<SocketAddr>,
    /// Who the agent authenticated, if anyone.
    pub identity: Option<&'a Identity>,
    /// e.g. `container.stop`, or `rpc:/fleetdeck.v1.Agent/Act`, `tls.handshake`.
    pub action: &'a str,
    /// Container aimed at; `None` = this node.
    pub target: Option<&'a str>,
    /// The request's dry-run flag; `None` when its body was never read.
    pub dry_run: Option<bool>,
    /// Why.
    pub kind: ActErrorKind,
    /// What the caller was told.
    pub message: &'a str,
}

enum Admission {
    Run(watch::Sender<Option<Final>>),
    Replay(watch::Receiver<Option<Final>>),
    Refuse(ActError),
}

fn action_name(a: &Action) -> String {
    match a {
        Action::Container { verb, .. } => format!("container.{}", verb.name()),
        Action::Node { verb } => format!("node.{}", verb.name()),
        Action::Create { .. } => "container.create".to_owned(),
        Action::Backup { .. } => "container.backup".to_owned(),
        Action::Restore { .. } => "backup.restore".to_owned(),
        Action::Note { kind, .. } => format!("note.{kind}"),
        Action::SimFault { kind, .. } => format!("sim_fault.{}", kind.name()),
    }
}

fn runtime_error(e: RuntimeError) -> ActError {
    let kind = match e {
        RuntimeError::NotFound(_) => ActErrorKind::NotFound,
        RuntimeError::Conflict(_) => ActErrorKind::Conflict,
        RuntimeError::Unavailable(_) | RuntimeError::Failed(_) => ActErrorKind::Runtime,
        RuntimeError::Unsupported { .. } => ActErrorKind::Unsupported,
    };
    ActError::new(kind, e.to_string())
}

fn mode_name(m: NodeMode) -> &'static str {
    match m {
        NodeMode::Active => "ACTIVE",
        NodeMode::Standby => "STANDBY",
        NodeMode::Maintenance => "MAINTENANCE",
    }
}

impl Actions {
    /// Actions on the node behind `hub` and `runtime`, audited to `audit`.
    pub fn new(hub: Hub, runtime: Arc<dyn Runtime>, audit: AuditLog, backups: Registry) -> Self {
        let mode = hub.status().mode;
        let before = if mode == NodeMode::Maintenance {
            NodeMode::Active
        } else {
            mode
        };
        Self {
            hub,
            runtime,
            audit,
            backups,
            ledger: Mutex::default(),
            mode_before_cordon: Mutex::new(before),
            cordon_file: None,
            telemetry: None,
            intents: crate::intents::IntentStore::open(None),
        }
    }

    /// Keeps the cordon in `path` (created on cordon, removed on uncordon); `before` is the
    /// mode an uncordon returns to when the node starts cordoned.
    pub fn with_cordon_file(mut self, path: std::path::PathBuf, before: NodeMode) -> Self {
        self.cordon_file = Some(path);
        if self.hub.status().mode == NodeMode::Maintenance && before != NodeMode::Maintenance {
            self.mode_before_cordon = Mutex::new(before);
        }
        self
    }

    /// Counts every request's outcome in `telemetry`.
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    fn remember_cordon(&self, cordoned: bool) {
        let Some(path) = &self.cordon_file else {
            return;
        };
        let result = if cordoned {
            crate::private::write_atomic(
                path,
                b"cordoned: this node takes no new placements until uncordoned\n",
            )
        } else {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        if let Err(e) = result {
            tracing::error!(
                "cannot record the cordon in {}: {e}; a restart would not keep it",
                path.display()
            );
        }
    }

    /// Handles one Act call; the returned stream ends with exactly one result message.
    pub fn start(self: &Arc<Self>, req: pb::ActRequest, peer: Option<SocketAddr>) -> ActStream {
        self.start_as(req, peer, None)
    }

    /// [`Actions::start`] for an authenticated caller, recorded in the audit log.
    pub fn start_as(
        self: &Arc<Self>,
        req: pb::ActRequest,
        peer: Option<SocketAddr>,
        identity: Option<Identity>,
    ) -> ActStream {
        let (tx, rx) = mpsc::channel(PROGRESS_BUFFER);
        let this = Arc::clone(self);
        tokio::spawn(async move { this.handle(req, peer, identity, tx).await });
        ReceiverStream::new(rx)
    }

    /// Records a call refused before it ran (role, rate, bad input, authentication).
    pub fn record_refusal(&self, refusal: Refusal<'_>) {
        let record = Record {
            time: now_rfc3339(),
            action_id: refusal.action_id.to_owned(),
            caller: Caller::new(refusal.requested_by, refusal.peer).with_identity(refusal.identity),
            action: Some(refusal.action.to_owned()),
            target: refusal
                .target
                .map_or_else(|| self.hub.info().node_id, str::to_owned),
            dry_run: refusal.dry_run,
            outcome: Outcome::refused(refusal.kind, refusal.message),
        };
        if let Err(e) = self
            .audit
            .append_refusal(&record, std::time::Instant::now())
        {
            tracing::error!("{e}");
        }
    }

    /// Writes a line that is not an action's (an exec session's) to the audit log.
    pub fn record_line(&self, line: &impl serde::Serialize) {
        if let Err(e) = self.audit.append_line(line) {
            tracing::error!("{e}");
        }
    }

    /// Writes the summaries of every refusal burst, ended or not (at shutdown).
    pub fn flush_refusals_all(&self) {
        if let Err(e) = self.audit.flush_refusals(std::time::Instant::now(), true) {
            tracing::error!("{e}");
        }
    }

    /// Writes the summaries of refusal bursts whose window has ended.
    pub fn flush_refusals(&self) {
        if let Err(e) = self.audit.flush_refusals(std::time::Instant::now(), false) {
            tracing::error!("{e}");
        }
    }

    fn admit(&self, req: &pb::ActRequest) -> Admission {
        if req.action_id.trim().is_empty() {
            return Admission::Refuse(ActError::new(
                ActErrorKind::Invalid,
                "action_id is empty; choose a unique id per action",
            ));
        }
        let mut fingerprint = req.clone();
        fingerprint.requested_by.clear();
        let mut ledger = self
            .ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = ledger.entries.get(&req.action_id) {
            if e.request != fingerprint {
                return Admission::Refuse(ActError::new(
                    ActErrorKind::Conflict,
                    format!(
                        "action id `{}` was already used for a different action",
                        crate::validate::shown(&req.action_id)
                    ),
                ));
            }
            return Admission::Replay(e.outcome.clone());
        }
        ledger.forget_oldest_finished();
        let (tx, rx) = watch::channel(None);
        ledger.order.push_back(req.action_id.clone());
        ledger.entries.insert(
            req.action_id.clone(),
            Remembered {
                request: fingerprint,
                outcome: rx,
            },
        );
        Admission::Run(tx)
    }

    async fn handle(
        &self,
        req: pb::ActRequest,
        peer: Option<SocketAddr>,
        identity: Option<Identity>,
        tx: Progress,
    ) {
        // Hostile fields (NUL, `..`, shell metacharacters, huge ids) end here as a typed
        // INVALID error, audited like any other.
        let action = crate::validate::act_request(&req)
            .map_err(|m| ActError::new(ActErrorKind::Invalid, m))
            .and_then(|()| convert::action(&req));
        // An invalid request is never remembered: its id may be huge, and there is nothing
        // to replay.
        let admission = match &action {
            Err(e) => Admission::Refuse(e.clone()),
            Ok(_) => self.admit(&req),
        };
        let (result, replayed) = match admission {
            Admission::Refuse(e) => (Err(e), false),
            Admission::Replay(mut rx) => {
                let outcome = rx
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|o| o.clone());
                let lost = ActError::new(ActErrorKind::Cancelled, "the first attempt was cut off");
                (outcome.unwrap_or(Err(lost)), true)
            }
            Admission::Run(store) => {
                let result = match &action {
                    Ok(a) => self.run(&req, a, &tx).await,
                    Err(e) => Err(e.clone()),
                };
                store.send_replace(Some(result.clone()));
                (result, false)
            }
        };
        let target = match &action {
            Ok(Action::Container { target, .. } | Action::Backup { target, .. }) => target.clone(),
            Ok(Action::Create { spec, .. }) => spec.name.clone(),
            Ok(Action::Restore { backup_id, .. }) => backup_id.clone(),
            Ok(Action::Note { target, .. }) => target.clone(),
            Ok(Action::SimFault { target, .. }) => target.clone(),
            _ => self.hub.info().node_id,
        };
        let record = Record {
            time: now_rfc3339(),
            action_id: req.action_id.clone(),
            caller: Caller::new(&req.requested_by, peer).with_identity(identity.as_ref()),
            action: action.as_ref().ok().map(action_name),
            target,
            dry_run: Some(req.dry_run),
            outcome: Outcome::of(&result.clone().map(|d| d.message), replayed),
        };
        if let Err(e) = self.audit.append(&record) {
            tracing::error!("{e}");
        }
        if let Some(t) = &self.telemetry {
            t.action_done(
                action.as_ref().ok(),
                result.as_ref().map(|_| ()).map_err(|e| e.kind),
            );
        }
        match result.as_ref().map(|d| &d.message) {
            Ok(m) => tracing::info!(action_id = req.action_id, replayed, "action done: {m}"),
            Err(e) => tracing::warn!(action_id = req.action_id, replayed, "action refused: {e}"),
        }
        // The client may be gone; the outcome is remembered and audited regardless.
        // An invalid id goes back cut short: the caller knows what it sent.
        let id = match &action {
            Err(_) => crate::audit::clip(&req.action_id, crate::validate::MAX_ACTION_ID_BYTES),
            Ok(_) => req.action_id.clone(),
        };
        let _ = tx.send(Ok(convert::outcome(&id, &result))).await;
    }

    async fn progress(tx: &Progress, id: &str, stage: &str, percent: f32, message: String) {
        let _ = tx
            .send(Ok(convert::progress(id, stage, percent, message)))
            .await;
    }

    async fn run(&self, req: &pb::ActRequest, action: &Action, tx: &Progress) -> Final {
        let id = req.action_id.as_str();
        // A creation for an intent whose lease is gone here would make a copy the reaper
        // has already passed over: refused, so the console rolls back instead.
        if matches!(action, Action::Create { .. } | Action::Restore { .. })
            && !req.intent_id.is_empty()
            && let Some(why) = self.intent_refusal(&req.intent_id)
        {
            return Err(ActError::new(ActErrorKind::Cancelled, why));
        }
        Self::progress(tx, id, "validate", 10.0, "checking the request".into()).await;
        match action {
            Action::Container { verb, target } => {
                let c = self.hub.find(target)?;
                self.container(id, *verb, &c, req.dry_run, tx)
                    .await
                    .map(Done::from)
            }
            Action::Node { verb } => self.node(*verb, req.dry_run).map(Done::from),
            Action::Create { spec, labels } => {
                let labels = intent_ops::with_intent(labels, &req.intent_id);
                self.create(id, spec, &labels, req.dry_run, tx).await
            }
            Action::Backup {
                target,
                keep_count,
                keep_secs,
            } => {
                let c = self.hub.find(target)?;
                self.backup(id, &c, *keep_count, *keep_secs, req.dry_run, tx)
                    .await
            }
            Action::Restore {
                backup_id,
                overwrite,
            } => {
                let how = (*overwrite, req.dry_run, req.intent_id.as_str());
                self.restore(id, backup_id, how, tx).await
            }
            Action::Note {
                kind,
                target,
                message,
            } => Ok(Done::from(format!(
                "recorded {kind} of {target}: {message}"
            ))),
            Action::SimFault {
                kind,
                target,
                duration,
            } => {
                self.sim_fault(id, *kind, target, *duration, req.dry_run, tx)
                    .await
            }
        }
    }

    /// Puts a fault on a simulated container (drills, tests); other runtimes refuse.
    async fn sim_fault(
        &self,
        id: &str,
        kind: SimFaultKind,
        target: &str,
        duration: Option<Duration>,
        dry_run: bool,
        tx: &Progress,
    ) -> Final {
        let runtime = self.runtime.kind();
        if runtime != RuntimeKind::Sim {
            return Err(ActError::new(
                ActErrorKind::Unsupported,
                format!(
                    "faults can only be injected on sim nodes; this node runs the {} runtime",
                    runtime.name()
                ),
            ));
        }
        let c = self.hub.find(target)?;
        let plan = format!("{} on {}", kind.name().replace('_', " "), c.spec.name);
        if dry_run {
            return Ok(format!("dry run: would put {plan}").into());
        }
        Self::progress(tx, id, "inject", 40.0, plan).await;
        let message = self
            .runtime
            .inject_fault(kind, &c.spec.id, duration)
            .await
            .map_err(runtime_error)?;
        Self::progress(
            tx,
            id,
            "observe",
            85.0,
            "waiting for the next sample".into(),
        )
        .await;
        if !self.hub.sampled_after_now(OBSERVE_LIMIT).await {
            tracing::warn!("sampler did not confirm action {id} in time");
        }
        Ok(message.into())
    }

    async fn container(
        &self,
        id: &str,
        verb: ContainerVerb,
        c: &Container,
        dry_run: bool,
        tx: &Progress,
    ) -> Result<String, ActError> {
        let name = &c.spec.name;
        let up = c.status.state.is_up();
        let steps: Vec<(ContainerVerb, &str)> = match verb {
            ContainerVerb::Start if up => return Ok(format!("{name} is already running")),
            ContainerVerb::Stop if !up => return Ok(format!("{name} is already stopped")),
            ContainerVerb::Start => vec![(ContainerVerb::Start, "start")],
            ContainerVerb::Stop => vec![(ContainerVerb::Stop, "stop")],
            ContainerVerb::Restart => vec![(ContainerVerb::Restart, "restart")],
            ContainerVerb::Remove if up => {
                vec![
                    (ContainerVerb::Stop, "stop"),
                    (ContainerVerb::Remove, "remove"),
                ]
            }
            ContainerVerb::Remove => vec![(ContainerVerb::Remove, "remove")],
            ContainerVerb::Commit => vec![(ContainerVerb::Commit, "commit")],
        };
        let state = format!("{:?}", c.status.state).to_lowercase();
        let plan: Vec<String> = steps.iter().map(|(_, s)| format!("{s} {name}")).collect();
        let plan = format!("{} (now {state})", plan.join(", then "));
        if dry_run {
            return Ok(format!("dry run: would {plan}"));
        }
        Self::progress(tx, id, "plan", 20.0, plan).await;
        let share = 60.0 / steps.len() as f32;
        for (i, (step, stage)) in steps.iter().enumerate() {
            let pct = 20.0 + share * i as f32;
            Self::progress(tx, id, stage, pct, format!("{stage} {name}")).await;
            self.runtime
                .act(*step, &c.spec.id)
                .await
                .map_err(runtime_error)?;
        }
        Self::progress(
            tx,
            id,
            "observe",
            85.0,
            "waiting for the next sample".into(),
        )
        .await;
        if !self.hub.sampled_after_now(OBSERVE_LIMIT).await {
            tracing::warn!("sampler did not confirm action {id} in time");
        }
        let done = match verb {
            ContainerVerb::Start => "started",
            ContainerVerb::Stop => "stopped",
            ContainerVerb::Restart => "restarted",
            ContainerVerb::Remove => "removed",
            ContainerVerb::Commit => "committed",
        };
        if !matches!(verb, ContainerVerb::Remove | ContainerVerb::Commit) {
            let now = self.hub.find(&c.spec.id).map(|c| c.status.state);
            let expect = if verb == ContainerVerb::Stop {
                ContainerState::Exited
            } else {
                ContainerState::Running
            };
            if let Ok(s) = now.as_ref()
                && *s != expect
            {
                tracing::warn!("{name} is {s:?} after {done}");
            }
        }
        Ok(format!("{done} {name}"))
    }

    fn node(&self, verb: NodeVerb, dry_run: bool) -> Result<String, ActError> {
        let mut status = self.hub.status();
        let now = status.mode;
        let mut before = self
            .mode_before_cordon
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cordoned = now == NodeMode::Maintenance;
        let conflict = |what: &str| {
            Err(ActError::new(
                ActErrorKind::Conflict,
                format!("node is cordoned (MAINTENANCE); uncordon it before setting it {what}"),
            ))
        };
        let target = match verb {
            NodeVerb::Cordon if cordoned => return Ok("node is already cordoned".into()),
            NodeVerb::Drain if cordoned => {
                return Ok("node is already MAINTENANCE; ready to drain".into());
            }
            NodeVerb::Uncordon if !cordoned => return Ok("node is not cordoned".into()),
            NodeVerb::SetStandby if cordoned => return conflict("STANDBY"),
            NodeVerb::SetActive if cordoned => return conflict("ACTIVE"),
            NodeVerb::Cordon | NodeVerb::Drain => NodeMode::Maintenance,
            NodeVerb::Uncordon => *before,
            NodeVerb::SetStandby => NodeMode::Standby,
            NodeVerb::SetActive => NodeMode::Active,
        };
        if target == now {
            return Ok(format!("node is already {}", mode_name(now)));
        }
        let plan = format!("set mode {} (now {})", mode_name(target), mode_name(now));
        if dry_run {
            return Ok(format!("dry run: would {plan}"));
        }
        if matches!(verb, NodeVerb::Cordon | NodeVerb::Drain) {
            *before = now;
        }
        status.mode = target;
        self.hub.set_status(status);
        self.remember_cordon(target == NodeMode::Maintenance);
        Ok(format!("mode is now {}", mode_name(target)))
    }
}
