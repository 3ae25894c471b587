//! Waiting for a new container to be running and healthy: a migration copy, a failover
//! copy, a rollout's new replica.

use std::time::Duration;

use fleetdeck_proto as pb;

use super::{Ctx, READY_POLL, StepError};
use crate::ops::link::Link;

/// What counts as ready, and how long to wait for it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Readiness {
    pub timeout: Duration,
    /// A container without a health check is ready once it has been seen running this
    /// long (zero: at once).
    pub settle: Duration,
    /// Give up at once when it is unhealthy or has exited, instead of waiting for the
    /// timeout (a rollout: an unhealthy new replica is the answer).
    pub fail_fast: bool,
}

/// A state or health value as its lower-case name (`running`, `starting`).
fn word(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_lowercase()
}

/// State and health of `spec`, in words.
pub(super) fn describe(spec: &pb::PortableSpec) -> String {
    let state = pb::ContainerState::try_from(spec.state).unwrap_or_default();
    let health = pb::HealthStatus::try_from(spec.health).unwrap_or_default();
    format!(
        "{} / {}",
        word(state.as_str_name(), "CONTAINER_STATE_"),
        word(health.as_str_name(), "HEALTH_STATUS_")
    )
}

/// Whether `spec` runs and its health check (if any) passes.
pub(super) fn healthy(spec: &pb::PortableSpec) -> bool {
    let state = pb::ContainerState::try_from(spec.state).unwrap_or_default();
    let health = pb::HealthStatus::try_from(spec.health).unwrap_or_default();
    state == pb::ContainerState::Running
        && matches!(health, pb::HealthStatus::Healthy | pb::HealthStatus::None)
}

/// Waits until container `id` on `link` is ready per `r`; progress goes out as
/// `stage` at `percent` of the step, `what` naming the container in messages.
pub(super) async fn wait_ready(
    ctx: &Ctx<'_>,
    link: &mut Link,
    id: &str,
    what: &str,
    (stage, percent): (&str, f32),
    r: Readiness,
) -> Result<(), StepError> {
    let start = tokio::time::Instant::now();
    let deadline = start + r.timeout;
    let mut running_since = None;
    loop {
        let s = link.export_spec(id).await?;
        let state = pb::ContainerState::try_from(s.state).unwrap_or_default();
        let health = pb::HealthStatus::try_from(s.health).unwrap_or_default();
        let now = tokio::time::Instant::now();
        if state == pb::ContainerState::Running {
            running_since.get_or_insert(now);
        } else {
            running_since = None;
        }
        let settled = running_since.is_some_and(|t| now.duration_since(t) >= r.settle);
        let ready = state == pb::ContainerState::Running
            && (health == pb::HealthStatus::Healthy
                || (health == pb::HealthStatus::None && settled));
        if ready {
            return Ok(());
        }
        let broken = health == pb::HealthStatus::Unhealthy
            || matches!(state, pb::ContainerState::Exited | pb::ContainerState::Dead);
        if r.fail_fast && broken {
            return Err(StepError::Failed(format!(
                "{what} is {} after {} s",
                describe(&s),
                now.duration_since(start).as_secs()
            )));
        }
        ctx.report(
            stage,
            percent,
            format!("waiting for {what} on {}: {}", link.node(), describe(&s)),
        );
        if now >= deadline {
            return Err(StepError::Failed(format!(
                "{what} did not become healthy within {} s (it is {})",
                r.timeout.as_secs(),
                describe(&s)
            )));
        }
        let cancel = ctx.cancel.clone();
        tokio::select! {
            () = tokio::time::sleep(READY_POLL) => {}
            () = cancel.cancelled() => return Err(StepError::Cancelled(format!(
                "cancelled while waiting for {what} to be healthy"
            ))),
        }
    }
}
