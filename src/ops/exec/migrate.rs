//! Make-before-break migration: the copy is created, filled with the source's volume data,
//! started and seen healthy before the source goes; any failure or cancel before that
//! removes the copy and leaves the source untouched.

use fleetdeck_proto as pb;
use pb::act_request::Action as A;

use super::ready::{Readiness, wait_ready};
use super::{Ctx, Executor, StepError};
use crate::ops::link::Link;
use crate::ops::plan::NodeRef;
use crate::ops::{OpEvent, human_bytes};

impl Executor {
    pub(super) async fn migrate(
        &self,
        ctx: &mut Ctx<'_>,
        from: &NodeRef,
        container_id: &str,
        (name, new_name): (&str, &str),
        to: &NodeRef,
        bytes: u64,
    ) -> Result<String, StepError> {
        let mut src = Link::open(&self.conns, &from.name, &from.endpoint).await?;
        let mut dst = Link::open(&self.conns, &to.name, &to.endpoint).await?;
        ctx.report(
            "spec",
            2.0,
            format!("reading {name}'s spec on {}", from.name),
        );
        let mut spec = src.export_spec(container_id).await?;
        spec.name = new_name.to_string();
        let mut labels = std::collections::HashMap::new();
        labels.insert(
            fleetdeck_core::labels::PENDING_LABEL.to_string(),
            format!("migration from {}", from.name),
        );
        ctx.report("create", 5.0, format!("creating {name} on {}", to.name));
        let req = self.request(
            ctx,
            A::Create(pb::CreateAction {
                spec: Some(spec.clone()),
                labels,
            }),
        );
        let created = dst.act(req, |_| {}).await?;
        let copy = created.container_id.clone();
        // From here on, a failure must remove the copy.
        let result = self
            .fill_and_start(ctx, &mut src, &mut dst, container_id, &copy, &spec, bytes)
            .await;
        if let Err(e) = result {
            ctx.report(
                "rollback",
                95.0,
                format!("removing the copy of {name} on {}", to.name),
            );
            let left = self
                .remove_copy(ctx, &mut dst, &copy)
                .await
                .unwrap_or_default();
            return Err(match e {
                StepError::Failed(m) => StepError::Failed(format!(
                    "migrating {name} failed: {m}; {name} still runs on {}{left}",
                    from.name
                )),
                StepError::Cancelled(m) => StepError::Cancelled(format!(
                    "{m}: the copy of {name} on {} was removed{left}; {name} still runs on {}",
                    to.name, from.name
                )),
            });
        }
        ctx.report("commit", 90.0, format!("{name} is healthy on {}", to.name));
        let req = self.request(
            ctx,
            Self::container(pb::container_action::Verb::Commit, &copy),
        );
        if let Err(e) = dst.act(req, |_| {}).await {
            let left = self
                .remove_copy(ctx, &mut dst, &copy)
                .await
                .unwrap_or_default();
            return Err(StepError::Failed(format!(
                "migrating {name} failed at commit: {e}; {name} still runs on {}{left}",
                from.name
            )));
        }
        ctx.report(
            "retire",
            95.0,
            format!("stopping and removing {name} on {}", from.name),
        );
        let req = self.request(
            ctx,
            Self::container(pb::container_action::Verb::Remove, container_id),
        );
        if let Err(e) = src.act(req, |_| {}).await {
            return Err(StepError::Failed(format!(
                "{name} runs on {} but its old copy on {} could not be removed ({e}): two copies run; stop the old one",
                to.name, from.name
            )));
        }
        if new_name == name {
            Ok(format!("{name} moved from {} to {}", from.name, to.name))
        } else {
            Ok(format!(
                "{name} moved from {} to {} as {new_name}",
                from.name, to.name
            ))
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn fill_and_start(
        &self,
        ctx: &mut Ctx<'_>,
        src: &mut Link,
        dst: &mut Link,
        source_id: &str,
        copy: &str,
        spec: &pb::PortableSpec,
        bytes: u64,
    ) -> Result<(), StepError> {
        let name = spec.name.clone();
        if ctx.cancelled() {
            return Err(StepError::Cancelled("cancelled".into()));
        }
        if !spec.volumes.is_empty() {
            let total = spec.volume_bytes.max(bytes).max(1);
            ctx.report(
                "copy",
                10.0,
                format!("copying {} of volume data", human_bytes(total)),
            );
            let (op, events, span) = (ctx.op, ctx.events.clone(), ctx.span);
            let copy_progress = move |sent: u64| {
                let pct = 10.0 + 50.0 * (sent as f32 / total as f32).min(1.0);
                let _ = events.try_send(OpEvent::Progress {
                    op,
                    stage: "copy".into(),
                    percent: span.0 + span.1 * pct / 100.0,
                    message: format!("copied {} of {}", human_bytes(sent), human_bytes(total)),
                });
            };
            let cancel = ctx.cancel.clone();
            let copied = tokio::select! {
                r = src.copy_volumes(source_id, dst, copy, copy_progress) => r?,
                () = cancel.cancelled() => return Err(StepError::Cancelled("cancelled during the data copy".into())),
            };
            ctx.report(
                "copy",
                60.0,
                format!(
                    "copied {} in {} files",
                    human_bytes(copied.bytes),
                    copied.files
                ),
            );
        }
        if ctx.cancelled() {
            return Err(StepError::Cancelled("cancelled".into()));
        }
        ctx.report("start", 65.0, format!("starting {name} on {}", dst.node()));
        let req = self.request(
            ctx,
            Self::container(pb::container_action::Verb::Start, copy),
        );
        dst.act(req, |_| {}).await?;
        let ready = Readiness {
            timeout: self.ready_timeout,
            settle: std::time::Duration::ZERO,
            fail_fast: false,
        };
        wait_ready(ctx, dst, copy, &name, ("ready", 75.0), ready)
            .await
            .map_err(|e| match e {
                StepError::Failed(_) => StepError::Failed(format!(
                    "the copy did not become healthy within {} s",
                    self.ready_timeout.as_secs()
                )),
                StepError::Cancelled(_) => StepError::Cancelled(
                    "cancelled while waiting for the copy to be healthy".into(),
                ),
            })
    }
}
