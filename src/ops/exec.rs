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
use super::link::{Link, LinkFailure};
use super::plan::{NodeRef, Plan, Step};
use super::{OpEvent, Outcome, Verb, human_bytes};
use crate::client::Connections;

mod migrate;
mod ready;
mod rollout;

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
}

/// Why a step stopped.
#[derive(Debug)]
enum StepError {
    Failed(String),
    Cancelled(String),
}

impl From<LinkFailure> for StepError {
    fn from(e: LinkFailure) -> Self {
        Self::Failed(e.to_string())
    }
}

struct Ctx<'a> {
    op: u64,
    events: &'a mpsc::Sender<OpEvent>,
    cancel: &'a Cancel,
    /// Progress share of this step: (start, width) in percent.
    span: (f32, f32),
    step: usize,
    sub: usize,
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
        }
    }

    fn request(&self, ctx: &mut Ctx<'_>, action: A) -> pb::ActRequest {
        ctx.sub += 1;
        pb::ActRequest {
            action_id: format!("{}-{}-{}-{}", self.session, ctx.op, ctx.step, ctx.sub),
            dry_run: false,
            requested_by: self.requested_by.clone(),
            action: Some(action),
        }
    }

    fn container(verb: pb::container_action::Verb, id: &str) -> A {
        A::Container(pb::ContainerAction {
            verb: verb as i32,
            container: id.to_string(),
        })
    }

    /// Runs `plan`; reports progress and the outcome on `events`; stops safely at `cancel`.
    pub async fn run(
        &self,
        op: u64,
        plan: &Plan,
        cancel: Cancel,
        events: mpsc::Sender<OpEvent>,
    ) -> Outcome {
        let started = (std::time::Instant::now(), crate::tui::unix_ms());
        let n = plan.steps.len().max(1) as f32;
        let mut done = Vec::new();
        let mut warnings = Vec::new();
        let mut outcome = None;
        for (i, step) in plan.steps.iter().enumerate() {
            let mut ctx = Ctx {
                op,
                events: &events,
                cancel: &cancel,
                span: (i as f32 / n * 100.0, 100.0 / n),
                step: i,
                sub: 0,
            };
            if ctx.cancelled() {
                outcome = Some(Outcome::Cancelled(format!(
                    "cancelled after {i} of {} steps{}",
                    plan.steps.len(),
                    summary(&done)
                )));
                break;
            }
            match self.step(&mut ctx, step).await {
                Ok(Some(m)) => done.push(m),
                Ok(None) => {}
                Err(StepError::Failed(m)) if matches!(step, Step::Note { .. }) => warnings.push(m),
                Err(StepError::Failed(m)) => {
                    outcome = Some(Outcome::Failed(format!("{m}{}", summary(&done))));
                    break;
                }
                Err(StepError::Cancelled(m)) => {
                    outcome = Some(Outcome::Cancelled(format!("{m}{}", summary(&done))));
                    break;
                }
            }
        }
        let outcome = outcome.unwrap_or_else(|| {
            let mut m = done.join("; ");
            if !warnings.is_empty() {
                m.push_str(&format!(
                    " (not recorded on every agent: {})",
                    warnings.join("; ")
                ));
            }
            Outcome::Done(m)
        });
        self.append_history(op, plan, &outcome, started).await;
        let _ = events
            .send(OpEvent::Finished {
                op,
                outcome: outcome.clone(),
            })
            .await;
        outcome
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
                let action = A::Create(pb::CreateAction {
                    spec: Some(spec.to_proto()),
                    labels: labels.clone().into_iter().collect(),
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
            r = src.copy_backup(backup_id, &mut dst, progress) => r?,
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
