//! Resuming an interrupted action from the step it reached: its recorded plan runs again
//! under the same id, the steps already done passed over. A step counts as done when the
//! record says so, or when the fleet shows it cheaply: a copy made under this intent that
//! runs committed where the step would make it. Pure, so the TUI builds it in `update`.
//!
//! The steps are recorded without the environment of the specs a failover re-creates
//! from (often secrets, and any viewer may list intents); a resume takes it back from the
//! console's spec cache.

use fleetdeck_core::labels::{INTENT_LABEL, PENDING_LABEL, REPLACES_LABEL};

use super::IntentInfo;
use crate::model::{Container, Fleet};
use crate::ops::plan::{NodeRef, Plan, Step};
use crate::ops::specs::SpecCache;

/// `steps` as an intent records them (JSON), without the specs' environment.
pub fn record(steps: &[Step]) -> String {
    let bare: Vec<Step> = steps
        .iter()
        .cloned()
        .map(|mut s| {
            if let Step::Create { spec, .. } = &mut s {
                spec.env.clear();
            }
            s
        })
        .collect();
    serde_json::to_string(&bare).unwrap_or_default()
}

/// Gives the spec of a failover's `Create` step its environment back from `specs` (the
/// cache it was planned from); false when the cache does not hold it.
fn with_env(step: &mut Step, specs: &SpecCache) -> bool {
    let Step::Create { spec, labels, .. } = step else {
        return true;
    };
    let cached = labels
        .get(REPLACES_LABEL)
        .and_then(|r| r.split_once('/'))
        .and_then(|(node, name)| specs.get(node, name));
    match cached {
        Some(c) => {
            spec.env = c.spec.env;
            true
        }
        None => false,
    }
}

/// An interrupted action's plan, ready to run again.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// The recorded plan (a step may be narrowed to what is left of it), its lines saying
    /// which steps are skipped and which run.
    pub plan: Plan,
    /// Indexes of the steps already done: passed over when the plan runs.
    pub skip: Vec<usize>,
}

/// One line naming a step.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Migrate { from, name, to, .. } => {
            format!("migrate {name} from {} to {}", from.name, to.name)
        }
        Step::Create { on, spec, .. } => format!("create {} on {}", spec.name, on.name),
        Step::Replicate { on, name, .. } => format!("create replica {name} on {}", on.name),
        Step::Remove { on, name, .. } => format!("remove {name} from {}", on.name),
        Step::Verb { on, name, verb, .. } => format!("{} {name} on {}", verb.as_str(), on.name),
        Step::Mode { on, cordon: true } => format!("cordon {}", on.name),
        Step::Mode { on, cordon: false } => format!("uncordon {}", on.name),
        Step::Drain { on } => format!("set {} to MAINTENANCE", on.name),
        Step::Backup { on, name, .. } => format!("back up {name} on {}", on.name),
        Step::CopyBackup {
            from,
            to,
            backup_id,
            ..
        } => format!("copy backup {backup_id} from {} to {}", from.name, to.name),
        Step::Restore { on, backup_id, .. } => format!("restore {backup_id} on {}", on.name),
        Step::RecordFailover { node, .. } => format!("record the failover of {node}"),
        Step::Rollout(r) => format!("roll out {}", r.service),
        Step::Note { on, kind, .. } => format!("note the {kind} in {}'s audit log", on.name),
    }
}

fn containers<'a>(fleet: &'a Fleet, on: &NodeRef) -> impl Iterator<Item = &'a Container> {
    fleet
        .nodes()
        .iter()
        .filter(move |n| n.name() == on.name || n.endpoint == on.endpoint)
        .flat_map(|n| n.containers.values())
}

/// Whether a committed container `name` made under intent `id` is on `on`.
fn made(fleet: &Fleet, on: &NodeRef, name: &str, id: &str) -> bool {
    containers(fleet, on).any(|c| {
        c.spec.name == name
            && c.spec.labels.get(INTENT_LABEL).map(String::as_str) == Some(id)
            && !c.spec.labels.contains_key(PENDING_LABEL)
    })
}

fn exists(fleet: &Fleet, on: &NodeRef, container_id: &str) -> bool {
    containers(fleet, on).any(|c| c.spec.id == container_id)
}

/// What the fleet shows of `step` of intent `id` not yet recorded done: `Some(None)`
/// when it is done, `Some(Some(step))` when only `step` is left of it, `None` when it
/// must run whole.
fn seen_done(fleet: &Fleet, step: &Step, id: &str) -> Option<Option<Step>> {
    match step {
        Step::Create { on, spec, .. } => made(fleet, on, &spec.name, id).then_some(None),
        Step::Replicate { on, name, .. } => made(fleet, on, name, id).then_some(None),
        Step::Remove {
            on, container_id, ..
        } => (!exists(fleet, on, container_id)).then_some(None),
        Step::Migrate {
            from,
            container_id,
            name,
            new_name,
            to,
            ..
        } => {
            if !made(fleet, to, new_name, id) {
                return None;
            }
            // The copy is committed: what is left is retiring the source, if it is there.
            Some(exists(fleet, from, container_id).then(|| Step::Remove {
                on: from.clone(),
                container_id: container_id.clone(),
                name: name.clone(),
            }))
        }
        _ => None,
    }
}

/// The plan `info` recorded, with the steps done skipped; `None` when it recorded none
/// (an older console's intent, or one known from etcd only), or when a spec a step still
/// needs is not in `specs`: the caller then plans its proposal again.
pub fn prepare(info: &IntentInfo, fleet: &Fleet, specs: &SpecCache) -> Option<Resumed> {
    let proposal = info.proposal()?;
    let steps: Vec<Step> = serde_json::from_str(&info.steps_json).ok()?;
    if steps.is_empty() {
        return None;
    }
    let total = steps.len();
    let recorded = usize::try_from(info.step).unwrap_or(usize::MAX);
    let mut skip = Vec::new();
    let mut lines = Vec::new();
    let mut out = Vec::with_capacity(total);
    for (i, step) in steps.into_iter().enumerate() {
        let what = describe(&step);
        let n = i + 1;
        if i < recorded {
            lines.push(format!(
                "skip step {n} of {total} ({what}): done before the interruption"
            ));
            skip.push(i);
            out.push(step);
            continue;
        }
        match seen_done(fleet, &step, &info.id) {
            Some(None) => {
                lines.push(format!(
                    "skip step {n} of {total} ({what}): found done on the nodes"
                ));
                skip.push(i);
                out.push(step);
            }
            Some(Some(rest)) => {
                lines.push(format!(
                    "run step {n} of {total} ({what}) from where it stopped: {}",
                    describe(&rest)
                ));
                out.push(rest);
            }
            None => {
                let mut step = step;
                if !with_env(&mut step, specs) {
                    return None;
                }
                lines.push(format!("run step {n} of {total} ({what})"));
                out.push(step);
            }
        }
    }
    let title = format!(
        "Resume {} ({}): {} of {total} steps left",
        info.id,
        info.title,
        total - skip.len()
    );
    Some(Resumed {
        plan: Plan {
            proposal,
            title,
            lines,
            data_bytes: 0,
            confirm: None,
            steps: out,
        },
        skip,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::ops::PortableSpec;
    use crate::ops::specs::{CachedSpec, NodeSpecs, PackedNode};

    fn create(env: &[(&str, &str)]) -> Step {
        Step::Create {
            on: NodeRef {
                name: "n1".into(),
                endpoint: "127.0.0.1:1".into(),
            },
            spec: Box::new(PortableSpec {
                name: "db-1".into(),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..PortableSpec::default()
            }),
            labels: crate::ops::failover_labels("n3", "db-1", 4),
        }
    }

    #[test]
    fn recorded_steps_carry_no_environment_and_a_resume_takes_it_from_the_cache() {
        let text = record(&[create(&[("PGPASSWORD", "s3cret")])]);
        assert!(!text.contains("s3cret"), "{text}");
        let mut steps: Vec<Step> = serde_json::from_str(&text).unwrap();
        assert!(!with_env(&mut steps[0], &SpecCache::default()));
        let node = NodeSpecs {
            endpoint: "127.0.0.1:3".into(),
            specs: vec![CachedSpec {
                spec: match create(&[("PGPASSWORD", "s3cret")]) {
                    Step::Create { spec, .. } => *spec,
                    _ => unreachable!(),
                },
                running: true,
            }],
            ..NodeSpecs::default()
        };
        let cache = SpecCache {
            nodes: BTreeMap::from([("n3".to_owned(), Arc::new(PackedNode::pack(&node)))]),
        };
        assert!(with_env(&mut steps[0], &cache));
        assert_eq!(steps[0], create(&[("PGPASSWORD", "s3cret")]));
    }
}
