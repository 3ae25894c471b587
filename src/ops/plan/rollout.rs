//! Rollout: restart a service, or move it to a new image, one replica at a time, each
//! gated on health. Where placement allows, a replica is make-before-break: the new one is
//! created beside the old one (same node, the next free replica name), and the old one
//! goes only once the new one is healthy. Where it does not (a fixed host port, a node
//! that takes no placements or has no room), the old one is stopped first. Never fewer
//! than `replicas - max_unavailable` replicas are healthy; the executor checks that again
//! before it takes any replica down.

use std::collections::BTreeSet;
use std::time::Duration;

use fleetdeck_core::image;

use super::checks::{self, Placing, Role};
use super::names::copy_name;
use super::{Demand, NodeRef, Plan, PlanError, PlanInput, Proposal, Step};
use crate::model::{Container, Node};

/// Added to a health check's longest settling time before a new replica counts as failed.
pub const READY_MARGIN: Duration = Duration::from_secs(10);
/// A container without a health check counts as healthy once it has run this long.
pub const NO_CHECK_SETTLE: Duration = Duration::from_secs(3);

/// How one replica is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Replace {
    /// Make-before-break: the new replica starts beside the old one.
    Beside,
    /// The old replica stops first (a new image: a new container is made from its spec and
    /// its volume data; a restart: the same container starts again).
    InPlace,
}

/// One replica of a rollout.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RolloutReplica {
    pub on: NodeRef,
    pub container_id: String,
    pub name: String,
    /// The new replica's name (the same for an in-place restart).
    pub new_name: String,
    /// The image it runs now.
    pub image: String,
    pub how: Replace,
    /// Longest wait for the new replica to be healthy; `None`: the executor's default
    /// (its image's health check is not known).
    pub ready_timeout: Option<Duration>,
}

/// What a rollout step does.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rollout {
    pub service: String,
    /// The new image; `None` restarts every replica on the image it runs.
    pub image: Option<String>,
    /// In order.
    pub replicas: Vec<RolloutReplica>,
    /// Healthy replicas the service never goes below.
    pub min_healthy: usize,
    /// Whether a replica that does not become healthy rolls back those already replaced.
    pub rollback: bool,
}

/// How long to wait for a new replica of `image` on `node`, from its health check.
fn ready_timeout(node: &Node, image: &str, has_check_now: bool) -> Option<Duration> {
    let known = node
        .images
        .as_deref()
        .and_then(|list| image::find(list, image));
    match known.map(|i| i.health) {
        Some(Some(h)) => Some(h.settle() + READY_MARGIN),
        // The image defines none; a check the container set itself has unknown timing.
        Some(None) if !has_check_now => Some(NO_CHECK_SETTLE + READY_MARGIN),
        _ => None,
    }
}

/// The fixed host port `c` publishes, if any (from its cached spec, else what it shows).
fn fixed_port(input: &PlanInput<'_>, n: &Node, c: &Container) -> Option<String> {
    match input.specs.get(n.name(), &c.spec.name) {
        Some(s) => s
            .spec
            .ports
            .iter()
            .find(|(_, hp, _)| *hp != 0)
            .map(|(_, hp, proto)| format!("{hp}/{proto}")),
        None => c
            .spec
            .ports
            .iter()
            .find(|p| p.host_port != 0)
            .map(|p| format!("{}/{}", p.host_port, p.protocol)),
    }
}

/// Roll `service` to `image` (or restart it), `max_unavailable` replicas down at most.
pub(super) fn plan(
    input: &PlanInput<'_>,
    service: &str,
    image: Option<&str>,
    max_unavailable: usize,
    rollback: bool,
) -> Result<Plan, PlanError> {
    let current = input.replicas(service, "to roll out")?;
    let total = current.len();
    let min_healthy = total.saturating_sub(max_unavailable);
    if let Some(image) = image {
        if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
            return Err(PlanError::Invalid(format!(
                "`{image}` is not an image name; give one like acme/api:2.5"
            )));
        }
        if current.iter().all(|(_, c)| *c.spec.image == *image) {
            return Err(PlanError::Invalid(format!(
                "every replica of {service} already runs {image}; `fleetdeck rollout restart {service}` restarts them"
            )));
        }
        let mut seen = BTreeSet::new();
        for (n, _) in &current {
            if !seen.insert(n.name()) {
                continue;
            }
            let Some(list) = &n.images else {
                return Err(PlanError::Invalid(format!(
                    "the images on {}'s engine are not known yet; try again in a moment",
                    n.name()
                )));
            };
            if image::find(list, image).is_none() {
                return Err(PlanError::Invalid(format!(
                    "{image} is not on {}'s engine; pull it there first",
                    n.name()
                )));
            }
        }
    }
    let mut rooms = input.rooms();
    let mut taken = BTreeSet::new();
    let mut out = Vec::with_capacity(total);
    let mut lines = Vec::new();
    for (n, c) in &current {
        let new_image = image.unwrap_or(&c.spec.image);
        let port = fixed_port(input, n, c);
        let d = Demand::of(c);
        let room = rooms.iter().position(|r| r.name == n.name());
        let placing = Placing::new(&c.spec.name, d, "");
        let fits =
            room.filter(|&i| checks::check(input, n, Role::Target(&rooms[i], &placing)).is_ok());
        let (how, why) = match (&port, fits) {
            (Some(p), _) => (Replace::InPlace, format!("it publishes host port {p}")),
            (None, None) => (
                Replace::InPlace,
                format!(
                    "{} takes no new placement or has no room for a second copy",
                    n.name()
                ),
            ),
            (None, Some(i)) => {
                rooms[i].take(d);
                (Replace::Beside, String::new())
            }
        };
        if how == Replace::InPlace && max_unavailable == 0 {
            return Err(PlanError::Invalid(format!(
                "{} cannot be replaced beside itself ({why}) and --max-unavailable 0 allows no replica down; allow 1",
                c.spec.name
            )));
        }
        let new_name = match (how, image) {
            (Replace::InPlace, None) => c.spec.name.clone(),
            _ => match rooms.iter().find(|r| r.name == n.name()) {
                Some(r) => copy_name(input.fleet, r, c, &mut taken),
                None => next_name(input, service, c, &mut taken),
            },
        };
        let has_check = c.spec.health != fleetdeck_core::spec::HealthState::None;
        let timeout = ready_timeout(n, new_image, has_check);
        let wait = match timeout {
            Some(t) => format!("wait up to {} s until it is healthy", t.as_secs()),
            None => "wait until it is healthy (its health check's timing is not known)".into(),
        };
        lines.push(match how {
            Replace::Beside => format!(
                "{}. {} on {}: start {new_name} ({new_image}) beside it, {wait}, then stop and remove {}",
                out.len() + 1,
                c.spec.name,
                n.name(),
                c.spec.name
            ),
            Replace::InPlace if image.is_none() => format!(
                "{}. {} on {}: restart it in place ({why}), {wait}",
                out.len() + 1,
                c.spec.name,
                n.name()
            ),
            Replace::InPlace => format!(
                "{}. {} on {}: stop it ({why}), create {new_name} ({new_image}) from its spec and data, {wait}, then remove {}",
                out.len() + 1,
                c.spec.name,
                n.name(),
                c.spec.name
            ),
        });
        out.push(RolloutReplica {
            on: NodeRef::of(n),
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
            new_name,
            image: c.spec.image.to_string(),
            how,
            ready_timeout: timeout,
        });
    }
    lines.push(format!(
        "never fewer than {min_healthy} of {total} replicas healthy (checked before each replica is taken down)"
    ));
    lines.push(if rollback {
        "a replica that does not become healthy pauses the rollout and rolls back every replica already replaced".into()
    } else {
        "a replica that does not become healthy pauses the rollout and leaves it as it is (--no-rollback)".into()
    });
    let mut steps: Vec<Step> = Vec::new();
    let mut noted = BTreeSet::new();
    let what = match image {
        Some(i) => format!("{service} to {i}"),
        None => format!("restart of {service}"),
    };
    for r in &out {
        if noted.insert(r.on.name.clone()) {
            steps.push(Step::Note {
                on: r.on.clone(),
                kind: "rollout".into(),
                target: service.to_string(),
                message: format!(
                    "rollout: {what}, {total} replicas, at most {max_unavailable} down"
                ),
            });
        }
    }
    steps.push(Step::Rollout(Box::new(Rollout {
        service: service.to_string(),
        image: image.map(str::to_string),
        replicas: out,
        min_healthy,
        rollback,
    })));
    Ok(Plan {
        proposal: Proposal::Rollout {
            service: service.to_string(),
            image: image.map(str::to_string),
            max_unavailable,
            rollback,
        },
        title: match image {
            Some(i) => format!("Roll {service} out to {i} ({total} replicas)"),
            None => format!("Rolling restart of {service} ({total} replicas)"),
        },
        lines,
        data_bytes: 0,
        confirm: None,
        steps,
    })
}

/// A free replica name for `c` on a node that takes no placements (no room to ask).
fn next_name(
    input: &PlanInput<'_>,
    service: &str,
    c: &Container,
    taken: &mut BTreeSet<String>,
) -> String {
    let mut n = input
        .fleet
        .nodes()
        .iter()
        .flat_map(|n| n.containers.values())
        .map(|x| x.spec.name.as_str())
        .chain(taken.iter().map(String::as_str))
        .filter_map(|name| super::names::replica_number(name, service))
        .max()
        .unwrap_or(0);
    let base = if c.spec.service.is_empty() {
        &c.spec.name
    } else {
        service
    };
    n += 1;
    let name = format!("{base}-{n}");
    taken.insert(name.clone());
    name
}
