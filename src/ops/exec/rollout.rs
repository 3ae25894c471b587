//! Running a rollout: one replica after another. Make-before-break where the plan says
//! `Beside` (the new replica is created, filled with the old one's volume data, started and
//! seen healthy before the old one goes, so the healthy count never drops); stop first where
//! it says `InPlace`: before that, the service must keep `min_healthy` healthy replicas
//! without the one going down (asked of the agents then, not taken from the plan; the
//! rollout waits for it). A new replica that does not become
//! healthy pauses the rollout; with `rollback`, every replica already replaced is replaced
//! again by one made from its old spec.

use fleetdeck_proto as pb;
use pb::act_request::Action as A;
use pb::container_action::Verb as CV;

use super::ready::{Readiness, healthy, wait_ready};
use super::{Ctx, Executor, READY_POLL, StepError, new_replica};
use crate::ops::link::Link;
use crate::ops::plan::NodeRef;
use crate::ops::plan::rollout::{NO_CHECK_SETTLE, Replace, Rollout};

/// A replica of the service as the rollout goes.
#[derive(Debug, Clone)]
struct Member {
    on: NodeRef,
    id: String,
    name: String,
}

/// One replacement of `old` by a container made from `spec`.
struct Swap<'a> {
    old: &'a Member,
    spec: pb::PortableSpec,
    how: Replace,
    /// The same container restarts (a rolling restart in place): nothing new is made.
    restart: bool,
    ready: Readiness,
    /// Leave a new replica that failed as it is, for a human (`--no-rollback`).
    keep_failed: bool,
    service: &'a str,
    min_healthy: usize,
}

impl Executor {
    /// Runs a rollout; says what runs where at the end.
    pub(super) async fn rollout(
        &self,
        ctx: &mut Ctx<'_>,
        r: &Rollout,
    ) -> Result<String, StepError> {
        let mut members: Vec<Member> = r
            .replicas
            .iter()
            .map(|p| Member {
                on: p.on.clone(),
                id: p.container_id.clone(),
                name: p.name.clone(),
            })
            .collect();
        let total = r.replicas.len();
        let mut replaced: Vec<(usize, pb::PortableSpec, Member)> = Vec::new();
        for (i, p) in r.replicas.iter().enumerate() {
            let progress = 100.0 * i as f32 / total.max(1) as f32;
            if ctx.cancelled() {
                return Err(StepError::Cancelled(format!(
                    "cancelled after {i} of {total} replicas{}",
                    replaced_list(&replaced)
                )));
            }
            ctx.report(
                "replica",
                progress,
                format!("replica {}/{total}: {} on {}", i + 1, p.name, p.on.name),
            );
            let mut link = Link::open(&self.conns, &p.on.name, &p.on.endpoint).await?;
            let old_spec = link.export_spec(&p.container_id).await?;
            let mut spec = new_replica(old_spec.clone(), &p.new_name);
            if let Some(image) = &r.image {
                spec.image = image.clone();
            }
            let old = members
                .iter()
                .find(|m| m.id == p.container_id)
                .cloned()
                .unwrap_or(Member {
                    on: p.on.clone(),
                    id: p.container_id.clone(),
                    name: p.name.clone(),
                });
            let swap = Swap {
                old: &old,
                spec,
                how: p.how,
                restart: r.image.is_none() && p.how == Replace::InPlace,
                ready: Readiness {
                    timeout: p.ready_timeout.unwrap_or(self.ready_timeout),
                    settle: NO_CHECK_SETTLE,
                    fail_fast: true,
                },
                keep_failed: !r.rollback,
                service: &r.service,
                min_healthy: r.min_healthy,
            };
            match self.swap(ctx, &mut members, swap).await {
                Ok(new) => {
                    ctx.report(
                        "replica",
                        100.0 * (i + 1) as f32 / total as f32,
                        format!(
                            "replica {}/{total}: {} is healthy on {}",
                            i + 1,
                            new.name,
                            new.on.name
                        ),
                    );
                    replaced.push((i, old_spec, new));
                }
                Err(StepError::Cancelled(m)) => {
                    return Err(StepError::Cancelled(format!(
                        "{m} (replica {}/{total}, {}){}",
                        i + 1,
                        p.name,
                        replaced_list(&replaced)
                    )));
                }
                Err(StepError::Failed(why)) => {
                    let paused = format!(
                        "rollout of {} paused at replica {}/{total} ({} on {}): {why}",
                        r.service,
                        i + 1,
                        p.name,
                        p.on.name
                    );
                    if !r.rollback || r.image.is_none() || replaced.is_empty() {
                        return Err(StepError::Failed(format!(
                            "{paused}{}",
                            replaced_list(&replaced)
                        )));
                    }
                    let back = self.roll_back(ctx, r, &mut members, &replaced).await;
                    return Err(StepError::Failed(format!("{paused}; {back}")));
                }
            }
        }
        let names: Vec<String> = replaced
            .iter()
            .map(|(_, _, m)| format!("{} on {}", m.name, m.on.name))
            .collect();
        Ok(match &r.image {
            Some(image) => format!(
                "{}: {total} replicas run {image} ({})",
                r.service,
                names.join(", ")
            ),
            None => format!(
                "{}: {total} replicas restarted ({})",
                r.service,
                names.join(", ")
            ),
        })
    }

    /// Replaces every replica in `replaced`, newest first, by one made from its old spec;
    /// says what it did.
    async fn roll_back(
        &self,
        ctx: &mut Ctx<'_>,
        r: &Rollout,
        members: &mut Vec<Member>,
        replaced: &[(usize, pb::PortableSpec, Member)],
    ) -> String {
        let mut back = Vec::new();
        let mut failed = Vec::new();
        for (i, old_spec, new) in replaced.iter().rev() {
            let p = &r.replicas[*i];
            ctx.report(
                "rollback",
                100.0,
                format!(
                    "rolling {} on {} back to {}",
                    new.name, new.on.name, p.image
                ),
            );
            let swap = Swap {
                old: new,
                spec: new_replica(old_spec.clone(), &old_spec.name),
                how: p.how,
                restart: false,
                ready: Readiness {
                    timeout: self.ready_timeout,
                    settle: NO_CHECK_SETTLE,
                    fail_fast: false,
                },
                keep_failed: false,
                service: &r.service,
                min_healthy: r.min_healthy,
            };
            match self.swap(ctx, members, swap).await {
                Ok(m) => back.push(format!("{} on {}", m.name, m.on.name)),
                Err(StepError::Failed(m) | StepError::Cancelled(m)) => {
                    failed.push(format!("{} on {} ({m})", new.name, new.on.name));
                }
            }
        }
        let mut out = format!(
            "rolled back {} of {} replaced replicas to their previous image ({})",
            back.len(),
            replaced.len(),
            back.join(", ")
        );
        if !failed.is_empty() {
            out.push_str(&format!(
                "; could not roll back {}: check them",
                failed.join(", ")
            ));
        }
        out
    }

    /// Replaces one replica; the new member on success. A failure removes what it made
    /// (unless `keep_failed`) and brings a stopped old replica back.
    async fn swap(
        &self,
        ctx: &mut Ctx<'_>,
        members: &mut Vec<Member>,
        s: Swap<'_>,
    ) -> Result<Member, StepError> {
        let old = s.old;
        let mut link = Link::open(&self.conns, &old.on.name, &old.on.endpoint).await?;
        if s.restart {
            self.wait_floor(ctx, members, &s).await?;
            ctx.report(
                "restart",
                20.0,
                format!("restarting {} on {}", old.name, old.on.name),
            );
            let req = self.request(ctx, Self::container(CV::Restart, &old.id));
            link.act(req, |_| {}).await?;
            wait_ready(ctx, &mut link, &old.id, &old.name, ("ready", 50.0), s.ready).await?;
            return Ok(old.clone());
        }
        if s.how == Replace::InPlace {
            self.wait_floor(ctx, members, &s).await?;
            ctx.report(
                "stop",
                10.0,
                format!("stopping {} on {}", old.name, old.on.name),
            );
            let req = self.request(ctx, Self::container(CV::Stop, &old.id));
            link.act(req, |_| {}).await?;
        }
        let new_name = s.spec.name.clone();
        let made = self
            .make(ctx, &mut link, old, s.spec.clone(), s.service)
            .await;
        let result = match &made {
            Ok(id) => wait_ready(ctx, &mut link, id, &new_name, ("ready", 50.0), s.ready).await,
            Err(e) => Err(StepError::Failed(e.to_string())),
        };
        if let Err(e) = result {
            if let Ok(id) = &made
                && !s.keep_failed
            {
                let req = self.request(ctx, Self::container(CV::Remove, id));
                let _ = link.act(req, |_| {}).await;
            }
            if s.how == Replace::InPlace && !s.keep_failed {
                let req = self.request(ctx, Self::container(CV::Start, &old.id));
                if let Err(start) = link.act(req, |_| {}).await {
                    return Err(StepError::Failed(format!(
                        "{}; {} could not be started again ({start})",
                        message(&e),
                        old.name
                    )));
                }
            }
            return Err(e);
        }
        let id = made.map_err(|e| StepError::Failed(e.to_string()))?;
        let req = self.request(ctx, Self::container(CV::Commit, &id));
        link.act(req, |_| {}).await?;
        let new = Member {
            on: old.on.clone(),
            id,
            name: new_name,
        };
        // Beside, the old replica goes only now that the new one is healthy: the count of
        // healthy replicas does not drop, so there is no floor to wait for.
        members.push(new.clone());
        ctx.report(
            "retire",
            90.0,
            format!("removing {} on {}", old.name, old.on.name),
        );
        let req = self.request(ctx, Self::container(CV::Remove, &old.id));
        link.act(req, |_| {}).await.map_err(|e| {
            StepError::Failed(format!(
                "{} runs but {} on {} could not be removed ({e}): remove it",
                new.name, old.name, old.on.name
            ))
        })?;
        members.retain(|m| m.id != old.id);
        Ok(new)
    }

    /// Creates a container from `spec` beside `old` on `link`'s node, fills it with `old`'s
    /// volume data and starts it; its id. On a failure after the create, the id is in the
    /// error's wake: the caller removes it.
    async fn make(
        &self,
        ctx: &mut Ctx<'_>,
        link: &mut Link,
        old: &Member,
        spec: pb::PortableSpec,
        service: &str,
    ) -> Result<String, crate::ops::link::LinkFailure> {
        ctx.report(
            "create",
            20.0,
            format!("creating {} ({}) on {}", spec.name, spec.image, old.on.name),
        );
        let labels = std::collections::HashMap::from([(
            fleetdeck_core::labels::PENDING_LABEL.to_string(),
            format!("rollout of {service}"),
        )]);
        let volumes = !spec.volumes.is_empty();
        let req = self.request(
            ctx,
            A::Create(pb::CreateAction {
                spec: Some(spec),
                labels,
            }),
        );
        let id = link.act(req, |_| {}).await?.container_id;
        let filled = async {
            if volumes {
                let mut dst = Link::open(&self.conns, &old.on.name, &old.on.endpoint).await?;
                link.copy_volumes(&old.id, &mut dst, &id, |_| {}).await?;
            }
            let req = self.request(ctx, Self::container(CV::Start, &id));
            link.act(req, |_| {}).await
        }
        .await;
        if let Err(e) = filled {
            let req = self.request(ctx, Self::container(CV::Remove, &id));
            let _ = link.act(req, |_| {}).await;
            return Err(e);
        }
        Ok(id)
    }

    /// Waits until the service has `min_healthy` healthy replicas besides `s.old`, which
    /// is about to go down.
    async fn wait_floor(
        &self,
        ctx: &Ctx<'_>,
        members: &[Member],
        s: &Swap<'_>,
    ) -> Result<(), StepError> {
        let deadline = tokio::time::Instant::now() + self.ready_timeout;
        loop {
            let mut up = 0;
            for m in members.iter().filter(|m| m.id != s.old.id) {
                let Ok(mut link) = Link::open(&self.conns, &m.on.name, &m.on.endpoint).await else {
                    continue;
                };
                if link
                    .export_spec(&m.id)
                    .await
                    .is_ok_and(|spec| healthy(&spec))
                {
                    up += 1;
                }
            }
            if up >= s.min_healthy {
                return Ok(());
            }
            ctx.report(
                "floor",
                5.0,
                format!(
                    "{up} other replicas of {} are healthy, {} must stay: waiting before {} goes down",
                    s.service, s.min_healthy, s.old.name
                ),
            );
            if tokio::time::Instant::now() >= deadline {
                return Err(StepError::Failed(format!(
                    "only {up} other replicas of {} were healthy for {} s and {} must stay: {} was not taken down",
                    s.service,
                    self.ready_timeout.as_secs(),
                    s.min_healthy,
                    s.old.name
                )));
            }
            let cancel = ctx.cancel.clone();
            tokio::select! {
                () = tokio::time::sleep(READY_POLL) => {}
                () = cancel.cancelled() => return Err(StepError::Cancelled(format!(
                    "cancelled before {} went down", s.old.name
                ))),
            }
        }
    }
}

fn message(e: &StepError) -> &str {
    match e {
        StepError::Failed(m) | StepError::Cancelled(m) => m,
    }
}

/// `; replaced before: a, b` for the replicas already replaced, or nothing.
fn replaced_list(replaced: &[(usize, pb::PortableSpec, Member)]) -> String {
    if replaced.is_empty() {
        return String::new();
    }
    let names: Vec<String> = replaced
        .iter()
        .map(|(_, old, new)| format!("{} → {} on {}", old.name, new.name, new.on.name))
        .collect();
    format!("; replaced before: {}", names.join(", "))
}
