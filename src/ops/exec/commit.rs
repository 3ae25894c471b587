//! Committing what an action created. A copy made by a failover, a scale or a restore on
//! another node carries the action's intent and stays pending (uncommitted) until every
//! creation of the action is made; only then does the console commit them. Until that
//! moment, an action that stops (a step failed, its lease lost on an agent, its etcd lease
//! lost, a cancel) or a console that dies leaves only pending copies, which each agent
//! removes when the intent ends unfinished or its lease runs out: all or nothing.

use fleetdeck_proto as pb;

use super::{Ctx, Executor, Outcome, StepError, summary};
use crate::ops::intent::Held;
use crate::ops::link::Link;
use crate::ops::plan::{NodeRef, Step};

/// A container an action created and started, not committed yet.
#[derive(Debug, Clone)]
pub(super) struct Created {
    pub on: NodeRef,
    pub id: String,
    pub name: String,
}

/// Whether `step` creates a container whose commit waits for the action's other creations.
pub(super) fn creates(step: &Step) -> bool {
    matches!(
        step,
        Step::Create { .. }
            | Step::Replicate { .. }
            | Step::CopyBackup { .. }
            | Step::Restore { .. }
    )
}

/// What the outcome says about pending copies an unfinished action leaves to its agents.
pub(super) fn rolled_back(pending: &[Created]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let names: Vec<String> = pending
        .iter()
        .map(|c| format!("{} on {}", c.name, c.on.name))
        .collect();
    format!(
        "; not committed, so their agents remove them: {}",
        names.join(", ")
    )
}

/// The outcome of an action stopped by `e` before step `i` (0-based) of `steps`.
pub(super) fn stopped(e: StepError, i: usize, steps: usize, done: &[String]) -> Outcome {
    match e {
        StepError::Failed(m) => Outcome::Failed(format!(
            "stopped before step {} of {steps}: {m}{}",
            i + 1,
            summary(done)
        )),
        StepError::Cancelled(m) => Outcome::Cancelled(format!("{m}{}", summary(done))),
    }
}

impl Executor {
    /// Commits every container in `pending`, unless the action's lease was lost on an
    /// agent or it was cancelled: then nothing is committed and the error says why (the
    /// caller ends the intent unfinished, and the agents remove the copies).
    pub(super) async fn commit_pending(
        &self,
        ctx: &mut Ctx<'_>,
        held: &Held,
        pending: &mut Vec<Created>,
    ) -> Result<(), StepError> {
        if pending.is_empty() {
            return Ok(());
        }
        if let Some(why) = held.lost() {
            return Err(StepError::Failed(format!(
                "the action's lease was lost ({why}){}",
                rolled_back(pending)
            )));
        }
        if ctx.cancelled() {
            return Err(StepError::Cancelled(format!(
                "cancelled before the copies were committed{}",
                rolled_back(pending)
            )));
        }
        while let Some(c) = pending.first().cloned() {
            ctx.report(
                "commit",
                95.0,
                format!("committing {} on {}", c.name, c.on.name),
            );
            let mut link = Link::open(&self.conns, &c.on.name, &c.on.endpoint).await?;
            let verb = pb::container_action::Verb::Commit;
            let req = self.request(ctx, Self::container(verb, &c.id));
            if let Err(e) = link.act(req, |_| {}).await {
                return Err(StepError::Failed(format!(
                    "{} could not be committed on {} ({e}){}",
                    c.name,
                    c.on.name,
                    rolled_back(pending)
                )));
            }
            pending.remove(0);
        }
        Ok(())
    }
}
