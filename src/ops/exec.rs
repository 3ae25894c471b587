//! Running a plan: one step after another over gRPC, progress reported as [`OpEvent`]s.
//! Migrations are make-before-break: the copy is created, filled, started and seen healthy
//! before the source goes; any failure or cancel before that removes the copy and leaves
//! the source untouched.

use std::path::PathBuf;
use std::time::Duration;

use fleetdeck_core::cancel::Cancel;
use fleetdeck_proto as pb;
use pb::act_request::Action as A;
use tokio::sync::mpsc;

use super::fence::Failovers;
use super::intent;
use super::link::{Link, LinkFailure};
use super::plan::{NodeRef, Plan, Step};
use super::{OpEvent, Outcome, Verb, human_bytes};
use crate::client::Connections;

mod commit;
mod migrate;
mod ready;
mod rollout;

use commit::Created;

/// Longest wait for a migrated copy to be running and healthy.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a copy's readiness is checked.
const READY_POLL: Duration = Duration::from_millis(200);
/// File name of the console's action history inside its state directory.
pub const HISTORY_FILE: &str = "actions.jsonl";

/// Runs plans.
#[derive(Debug, Clone)]
pub struct Executor {
    /// Console state directory (failover records, history file); `None` keeps none.
    pub state_dir: Option<PathBuf>,
    /// Who asks, for the agents' audit logs.
    pub requested_by: String,
    /// Longest wait for a migrated copy to be ready.
    pub ready_timeout: Duration,
    /// Makes action ids unique across console runs.
    pub session: String,
    /// One connection per agent, shared by every step.
    pub conns: Connections,
    /// etcd, when consoles exclude each other: every plan runs under its locks.
    pub coord: Option<crate::coord::Coord>,
    /// Every agent this console follows: an action's intent is written to all that answer.
    pub agents: Vec<NodeRef>,
    /// Lease asked for on each agent; renewed every few seconds while the action runs.
    pub lease: Duration,
}

/// Why a step stopped.
#[derive(Debug)]
enum StepError {
    Failed(String),
    Cancelled(String),
}

impl From<LinkFailure> for StepError {
    fn from(e: LinkFailure) -> Self {
        match e {
            // The agent gave the action's intent up (its lease expired there): what the
            // action made is rolled back, as after a cancel.
            LinkFailure::Refused {
                kind: pb::ActErrorKind::Cancelled,
                ..
            } => Self::Cancelled(e.to_string()),
            _ => Self::Failed(e.to_string()),
        }
    }
}

struct Ctx<'a> {
    op: u64,
    /// The intent the action runs under: what it creates carries its id.
    intent: &'a str,
    events: &'a mpsc::Sender<OpEvent>,
    cancel: &'a Cancel,
    /// Progress share of this step: (start, width) in percent.
    span: (f32, f32),
    step: usize,
    sub: usize,
    /// Containers this step created and left uncommitted (see [`commit`]).
    created: Vec<Created>,
}

impl Ctx<'_> {
    fn report(&self, stage: &str, step_percent: f32, message: String) {
        let percent = self.span.0 + self.span.1 * step_percent.clamp(0.0, 100.0) / 100.0;
        // Progress is advisory: a full channel drops a message rather than stall the work.
        let _ = self.events.try_send(OpEvent::Progress {
            op: self.op,
            stage: stage.to_string(),
            percent,
            message,
        });
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

impl Executor {
    /// An executor for this console.
    pub fn new(
        state_dir: Option<PathBuf>,
        requested_by: impl Into<String>,
        conns: Connections,
    ) -> Self {
        Self {
            conns,
            state_dir,
            requested_by: requested_by.into(),
            ready_timeout: READY_TIMEOUT,
            session: format!("{:x}{:x}", crate::tui::unix_ms(), std::process::id()),
            coord: None,
            agents: Vec::new(),
            lease: fleetdeck_core::intent::DEFAULT_LEASE,
        }
    }

    /// Writes intents to the agents at `endpoints` too, beside the nodes a plan names.
    pub fn with_agents(mut self, endpoints: &[String]) -> Self {
        self.agents = endpoints
            .iter()
            .map(|e| NodeRef {
                name: e.clone(),
                endpoint: e.clone(),
            })
            .collect();
        self
    }

    /// Takes the claims of `plan` as intent `id` before its first step runs: the one place
    /// an action claims what it changes, on every agent this console follows and every
    /// node the plan names.
    pub async fn claim(&self, plan: &Plan, id: &str) -> Result<intent::Held, String> {
        let mut on: Vec<NodeRef> = Vec::new();
        for n in plan.steps.iter().flat_map(Step::nodes) {
            if !on.iter().any(|o| o.endpoint == n.endpoint) {
                on.push(n.clone());
            }
        }
        for a in &self.agents {
            if !on.iter().any(|o| o.endpoint == a.endpoint) {
                on.push(a.clone());
            }
        }
        intent::claim(&self.conns, &on, plan, id, self.lease).await
    }

    fn request(&self, ctx: &mut Ctx<'_>, action: A) -> pb::ActRequest {
        ctx.sub += 1;
        pb::ActRequest {
            action_id: format!("{}-{}-{}-{}", self.session, ctx.op, ctx.step, ctx.sub),
            dry_run: false,
            requested_by: self.requested_by.clone(),
            action: Some(action),
            intent_id: ctx.intent.to_owned(),
        }
    }

    fn container(verb: pb::container_action::Verb, id: &str) -> A {
        A::Container(pb::ContainerAction {
            verb: verb as i32,
            container: id.to_string(),
        })
    }

    /// Runs `plan` as a new intent; reports progress and the outcome on `events`; stops
    /// safely at `cancel`. With etcd, the plan runs under its locks: refused in one line
    /// when another console holds one or etcd cannot be reached, stopped and rolled back
    /// when the locks' lease cannot be renewed.
    pub async fn run(
        &self,
        op: u64,
        plan: &Plan,
        cancel: Cancel,
        events: mpsc::Sender<OpEvent>,
    ) -> Outcome {
        self.run_intent(op, plan, &intent::new_id(), cancel, events)
            .await
    }

    /// [`Executor::run`] under intent `id` (an interrupted one when resuming).
    pub async fn run_intent(
        &self,
        op: u64,
        plan: &Plan,
        id: &str,
        cancel: Cancel,
        events: mpsc::Sender<OpEvent>,
    ) -> Outcome {
        self.run_resumed(op, plan, id, &[], cancel, events).await
    }

    /// [`Executor::run_intent`] passing over the steps at `skip` (those a resume found
    /// done: see [`intent::resume`]).
    pub async fn run_resumed(
        &self,
        op: u64,
        plan: &Plan,
        id: &str,
        skip: &[usize],
        cancel: Cancel,
        events: mpsc::Sender<OpEvent>,
    ) -> Outcome {
        let started = (std::time::Instant::now(), crate::tui::unix_ms());
        // etcd's locks first (they exclude every console), then the claims on the agents
        // (they make the action durable and exclude the consoles that share its agents).
        let (guard, cancel) = match &self.coord {
            None => (None, cancel),
            Some(coord) => match coord.acquire(plan, cancel).await {
                Ok(guard) => {
                    let cancel = guard.cancel();
                    (Some(guard), cancel)
                }
                Err(refusal) => {
                    let outcome = Outcome::Failed(refusal.to_string());
                    return self.finish(op, plan, outcome, started, &events).await;
                }
            },
        };
        let mut held = match self.claim(plan, id).await {
            Ok(h) => h,
            Err(m) => {
                if let Some(g) = guard {
                    g.release().await;
                }
                return self
                    .finish(op, plan, Outcome::Failed(m), started, &events)
                    .await;
            }
        };
        // With etcd the intent lives there too, so consoles with other agents see it.
        if let (Some(g), Some(coord)) = (&guard, &self.coord)
            && let Err(e) = held.track_in_etcd(coord, g.lease()).await
        {
            let m = format!("the action could not be recorded in etcd ({e}); nothing was changed");
            held.end(pb::IntentState::RolledBack, &m).await;
            if let Some(g) = guard {
                g.release().await;
            }
            return self
                .finish(op, plan, Outcome::Failed(m), started, &events)
                .await;
        }
        let outcome = self
            .steps(op, (plan, skip), &held, &cancel, &events, guard.as_ref())
            .await;
        let outcome = match (&guard, outcome) {
            (Some(g), Outcome::Cancelled(m)) => match g.lost() {
                Some(why) => Outcome::Failed(format!(
                    "the etcd lease on this action's locks was lost ({why}), so it stopped before its next step: {m}"
                )),
                None => Outcome::Cancelled(m),
            },
            (_, outcome) => outcome,
        };
        let (state, message) = match &outcome {
            Outcome::Done(m) => (pb::IntentState::Done, m),
            Outcome::Failed(m) => (pb::IntentState::Failed, m),
            Outcome::Cancelled(m) => (pb::IntentState::RolledBack, m),
        };
        held.set_step(plan.steps.len());
        held.end(state, message).await;
        if let Some(g) = guard {
            g.release().await;
        }
        self.finish(op, plan, outcome, started, &events).await
    }

    /// Records how the action ended in the history and tells the UI.
    async fn finish(
        &self,
        op: u64,
        plan: &Plan,
        outcome: Outcome,
        started: (std::time::Instant, u64),
        events: &mpsc::Sender<OpEvent>,
    ) -> Outcome {
        self.append_history(op, plan, &outcome, started).await;
        let _ = events
            .send(OpEvent::Finished {
                op,
                outcome: outcome.clone(),
            })
            .await;
        outcome
    }

    /// Runs the steps of `plan` one after another until one fails, `cancel` fires or the
    /// intent's lease on an agent is lost.
    async fn steps(
        &self,
        op: u64,
        (plan, skip): (&Plan, &[usize]),
        held: &intent::Held,
        cancel: &Cancel,
        events: &mpsc::Sender<OpEvent>,
        guard: Option<&crate::coord::Guard>,
    ) -> Outcome {
        let n = plan.steps.len().max(1) as f32;
        let mut done = Vec::new();
        let mut warnings = Vec::new();
        // Copies created and started but not committed yet: the agents roll them back if
        // the action ends any other way than done, or its lease runs out.
        let mut pending: Vec<Created> = Vec::new();
        // The first step whose copies are still pending: the intent's recorded progress
        // stops there, since the agents remove those copies if the action is interrupted,
        // and a resume must make them again.
        let mut first_pending: Option<usize> = None;
        for (i, step) in plan.steps.iter().enumerate() {
            held.advance(first_pending.unwrap_or(i)).await;
            if skip.contains(&i) {
                continue;
            }
            if let Some(why) = held.lost() {
                return Outcome::Failed(format!(
                    "stopped before step {} of {}: the action's lease was lost ({why}){}",
                    i + 1,
                    plan.steps.len(),
                    summary(&done)
                ));
            }
            let mut ctx = Ctx {
                op,
                intent: held.id(),
                events,
                cancel,
                span: (i as f32 / n * 100.0, 100.0 / n),
                step: i,
                sub: 0,
                created: Vec::new(),
            };
            if ctx.cancelled() {
                return Outcome::Cancelled(format!(
                    "cancelled after {i} of {} steps{}{}",
                    plan.steps.len(),
                    summary(&done),
                    commit::rolled_back(&pending)
                ));
            }
            // The copies made so far are committed before the first step that is not
            // another creation (recording a failover, removing a source).
            if !commit::creates(step)
                && let Err(e) = self.commit_pending(&mut ctx, held, &mut pending).await
            {
                return commit::stopped(e, i, plan.steps.len(), &done);
            }
            if pending.is_empty() && first_pending.take().is_some() {
                held.advance(i).await;
            }
            // A creation stops at once when the action is cancelled or its etcd lease is
            // lost: what it made is pending and goes with the intent; what is still on its
            // way to an agent is refused there once the intent has ended.
            let result = if commit::creates(step) {
                tokio::select! {
                    r = self.step(&mut ctx, step) => r,
                    () = cancel.cancelled() => Err(StepError::Cancelled(format!(
                        "cancelled during step {} of {}",
                        i + 1,
                        plan.steps.len()
                    ))),
                }
            } else {
                self.step(&mut ctx, step).await
            };
            if !ctx.created.is_empty() {
                first_pending.get_or_insert(i);
            }
            pending.append(&mut ctx.created);
            match result {
                Ok(Some(m)) => done.push(m),
                Ok(None) => {}
                Err(StepError::Failed(m)) if matches!(step, Step::Note { .. }) => warnings.push(m),
                Err(StepError::Failed(m)) => {
                    // All or nothing: the copies made before are not committed, so the
                    // agents remove them when the intent ends failed. A failure talking to
                    // an agent is a lease about to be lost there as well.
                    return Outcome::Failed(format!(
                        "{m}{}{}",
                        summary(&done),
                        commit::rolled_back(&pending)
                    ));
                }
                Err(StepError::Cancelled(m)) => {
                    return Outcome::Cancelled(format!(
                        "{m}{}{}",
                        summary(&done),
                        commit::rolled_back(&pending)
                    ));
                }
            }
            if let (Step::RecordFailover { names, .. }, Some(g)) = (step, guard)
                && let Err(e) = g.record_failover(names).await
            {
                return Outcome::Failed(format!(
                    "the failover is not recorded in etcd ({e}): another console could fail the node over again{}",
                    summary(&done)
                ));
            }
        }
        if !pending.is_empty() {
            let mut ctx = Ctx {
                op,
                intent: held.id(),
                events,
                cancel,
                span: (100.0, 0.0),
                step: plan.steps.len(),
                sub: 0,
                created: Vec::new(),
            };
            if let Err(e) = self.commit_pending(&mut ctx, held, &mut pending).await {
                return commit::stopped(e, plan.steps.len(), plan.steps.len(), &done);
            }
        }
        let mut m = done.join("; ");
        if !warnings.is_empty() {
            m.push_str(&format!(
                " (not recorded on every agent: {})",
                warnings.join("; ")
            ));
        }
        Outcome::Done(m)
    }

    async fn append_history(
        &self,
        op: u64,
        plan: &Plan,
        outcome: &Outcome,
        started: (std::time::Instant, u64),
    ) {
        let Some(dir) = &self.state_dir else { return };
        let (result, message) = match outcome {
            Outcome::Done(m) => ("done", m),
            Outcome::Failed(m) => ("failed", m),
            Outcome::Cancelled(m) => ("cancelled", m),
        };
        let record = super::history::HistoryRecord {
            time_unix_ms: crate::tui::unix_ms(),
            started_unix_ms: Some(started.1),
            duration_ms: Some(u64::try_from(started.0.elapsed().as_millis()).unwrap_or(u64::MAX)),
            op,
            action: plan.proposal.kind().to_string(),
            target: Some(super::history::target_of(&plan.proposal)),
            title: plan.title.clone(),
            plan: plan.lines.clone(),
            outcome: result.to_string(),
            message: message.clone(),
        };
        super::history::append(dir, &record).await;
    }

    async fn step(&self, ctx: &mut Ctx<'_>, step: &Step) -> Result<Option<String>, StepError> {
        use pb::container_action::Verb as CV;
        match step {
            Step::Migrate {
                from,
                container_id,
                name,
                new_name,
                to,
                bytes,
            } => self
                .migrate(ctx, from, container_id, (name, new_name), to, *bytes)
                .await
                .map(Some),
            Step::Create { on, spec, labels } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                ctx.report(
                    "create",
                    10.0,
                    format!("creating {} on {}", spec.name, on.name),
                );
                // Pending until it runs: a console dying in between leaves a copy its
                // agent removes when the lease expires.
                let mut labels: std::collections::HashMap<_, _> =
                    labels.clone().into_iter().collect();
                labels.insert(
                    fleetdeck_core::labels::PENDING_LABEL.to_owned(),
                    format!("{} by {}", ctx.intent, self.requested_by),
                );
                let action = A::Create(pb::CreateAction {
                    spec: Some(spec.to_proto()),
                    labels,
                });
                let req = self.request(ctx, action);
                let created = link.act(req, |_| {}).await?;
                ctx.report(
                    "start",
                    60.0,
                    format!("starting {} on {}", spec.name, on.name),
                );
                let req = self.request(ctx, Self::container(CV::Start, &created.container_id));
                if let Err(e) = link.act(req, |_| {}).await {
                    self.remove_copy(ctx, &mut link, &created.container_id)
                        .await;
                    return Err(e.into());
                }
                // Committed once the action's creations are all made (see `commit`).
                ctx.created.push(Created {
                    on: on.clone(),
                    id: created.container_id,
                    name: spec.name.clone(),
                });
                Ok(Some(format!("{} runs on {}", spec.name, on.name)))
            }
            Step::Replicate {
                on,
                template,
                template_id,
                name,
            } => {
                let mut tl = Link::open(&self.conns, &template.name, &template.endpoint).await?;
                let spec = new_replica(tl.export_spec(template_id).await?, name);
                let spec = fleetdeck_core::spec::PortableSpec::from_proto(spec);
                let create = Step::Create {
                    on: on.clone(),
                    spec: Box::new(spec),
                    labels: Default::default(),
                };
                Box::pin(self.step(ctx, &create)).await
            }
            Step::Remove {
                on,
                container_id,
                name,
            } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                ctx.report(
                    "remove",
                    20.0,
                    format!("stopping and removing {name} on {}", on.name),
                );
                let req = self.request(ctx, Self::container(CV::Remove, container_id));
                link.act(req, |_| {}).await?;
                Ok(Some(format!("removed {name} from {}", on.name)))
            }
            Step::Verb {
                on,
                container_id,
                name,
                verb,
            } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                let cv = match verb {
                    Verb::Start => CV::Start,
                    Verb::Stop => CV::Stop,
                    Verb::Restart => CV::Restart,
                };
                ctx.report(
                    verb.as_str(),
                    20.0,
                    format!("{} {name} on {}", verb.as_str(), on.name),
                );
                let req = self.request(ctx, Self::container(cv, container_id));
                let done = link.act(req, |_| {}).await?;
                Ok(Some(format!("{} on {}", done.message, on.name)))
            }
            Step::Drain { on } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                let verb = pb::node_action::Verb::Drain as i32;
                let req = self.request(ctx, A::Node(pb::NodeAction { verb }));
                let done = link.act(req, |_| {}).await?;
                Ok(Some(format!("{}: {}", on.name, done.message)))
            }
            Step::Mode { on, cordon } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                let verb = if *cordon {
                    pb::node_action::Verb::Cordon
                } else {
                    pb::node_action::Verb::Uncordon
                };
                let req = self.request(ctx, A::Node(pb::NodeAction { verb: verb as i32 }));
                let done = link.act(req, |_| {}).await?;
                Ok(Some(format!("{}: {}", on.name, done.message)))
            }
            Step::Backup {
                on,
                container_id,
                name,
            } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                ctx.report("backup", 5.0, format!("backing up {name} on {}", on.name));
                let req = self.request(
                    ctx,
                    A::Backup(pb::BackupAction {
                        container: container_id.clone(),
                        keep_count: 0,
                        keep_secs: 0,
                    }),
                );
                let done = link
                    .act(req, |p| ctx.report(&p.stage, p.percent, p.message.clone()))
                    .await?;
                Ok(Some(done.message))
            }
            Step::CopyBackup {
                from,
                to,
                backup_id,
                bytes,
            } => self
                .copy_backup(ctx, from, to, backup_id, *bytes)
                .await
                .map(Some),
            Step::Restore {
                on,
                backup_id,
                overwrite,
            } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                let req = self.request(
                    ctx,
                    A::Restore(pb::RestoreAction {
                        backup_id: backup_id.clone(),
                        overwrite: *overwrite,
                    }),
                );
                let done = link
                    .act(req, |p| ctx.report(&p.stage, p.percent, p.message.clone()))
                    .await?;
                // A container the restore created carries the intent, pending until the
                // action commits it; one restored over stays as it was.
                if !*overwrite && !done.container_id.is_empty() {
                    ctx.created.push(Created {
                        on: on.clone(),
                        id: done.container_id.clone(),
                        name: format!("the container restored from {backup_id}"),
                    });
                }
                Ok(Some(format!("{} on {}", done.message, on.name)))
            }
            Step::RecordFailover { node, epoch, names } => {
                let Some(dir) = &self.state_dir else {
                    return Err(StepError::Failed(
                        "no state directory: the failover cannot be remembered for fencing".into(),
                    ));
                };
                let mut records = Failovers::load(dir);
                records.record(node, *epoch, names, crate::tui::unix_ms());
                let (d, r) = (dir.clone(), records);
                tokio::task::spawn_blocking(move || r.save(&d))
                    .await
                    .map_err(|e| StepError::Failed(e.to_string()))?
                    .map_err(|e| {
                        StepError::Failed(format!("cannot save the failover record: {e}"))
                    })?;
                Ok(None)
            }
            Step::Rollout(r) => self.rollout(ctx, r).await.map(Some),
            Step::Note {
                on,
                kind,
                target,
                message,
            } => {
                let mut link = Link::open(&self.conns, &on.name, &on.endpoint).await?;
                let req = self.request(
                    ctx,
                    A::Note(pb::NoteAction {
                        kind: kind.clone(),
                        target: target.clone(),
                        message: message.clone(),
                    }),
                );
                link.act(req, |_| {}).await?;
                Ok(None)
            }
        }
    }

    /// Streams a backup from the node holding it into another node's registry.
    async fn copy_backup(
        &self,
        ctx: &mut Ctx<'_>,
        from: &NodeRef,
        to: &NodeRef,
        backup_id: &str,
        bytes: u64,
    ) -> Result<String, StepError> {
        let mut src = Link::open(&self.conns, &from.name, &from.endpoint).await?;
        let mut dst = Link::open(&self.conns, &to.name, &to.endpoint).await?;
        let total = bytes.max(1);
        ctx.report(
            "transfer",
            0.0,
            format!(
                "copying backup {backup_id} ({}) from {} to {}",
                human_bytes(bytes),
                from.name,
                to.name
            ),
        );
        let (op, events, span) = (ctx.op, ctx.events.clone(), ctx.span);
        let to_name = to.name.clone();
        let progress = move |stored: u64| {
            let pct = 100.0 * (stored as f32 / total as f32).min(1.0);
            let _ = events.try_send(OpEvent::Progress {
                op,
                stage: "transfer".into(),
                percent: span.0 + span.1 * pct / 100.0,
                message: format!(
                    "copied {} of {} to {}",
                    human_bytes(stored),
                    human_bytes(bytes),
                    to_name
                ),
            });
        };
        let cancel = ctx.cancel.clone();
        let stored = tokio::select! {
            r = src.copy_backup((backup_id, ctx.intent), &mut dst, progress) => r?,
            // Dropping the transfer resets both streams: the target keeps nothing.
            () = cancel.cancelled() => return Err(StepError::Cancelled(format!(
                "cancelled while copying backup {backup_id} to {}: nothing was kept there",
                to.name
            ))),
        };
        Ok(format!(
            "copied backup {} ({}) from {} to {}, SHA-256 verified",
            stored.id,
            human_bytes(stored.size_bytes),
            from.name,
            to.name
        ))
    }

    /// Removes a half-made copy; says what happened when it cannot.
    async fn remove_copy(&self, ctx: &mut Ctx<'_>, link: &mut Link, id: &str) -> Option<String> {
        let req = self.request(ctx, Self::container(pb::container_action::Verb::Remove, id));
        match link.act(req, |_| {}).await {
            Ok(_) => None,
            Err(e) => Some(format!(
                "; the half-made copy could not be removed ({e}); its agent drops it when it restarts"
            )),
        }
    }
}

/// The spec of a new replica named `name` made from `spec`, another replica's.
fn new_replica(mut spec: pb::PortableSpec, name: &str) -> pb::PortableSpec {
    spec.name = name.to_string();
    spec.id.clear();
    spec.volume_bytes = 0;
    spec.labels.remove("com.docker.compose.container-number");
    // A new replica replaces nothing, even when its template was a failover copy.
    spec.labels.remove(fleetdeck_core::labels::REPLACES_LABEL);
    spec.labels
        .remove(fleetdeck_core::labels::REPLACES_EPOCH_LABEL);
    spec
}

fn summary(done: &[String]) -> String {
    if done.is_empty() {
        String::new()
    } else {
        format!(" (done before: {})", done.join("; "))
    }
}
