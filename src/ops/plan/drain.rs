//! Drain planning: every running container of a node migrated off, one at a time, each
//! with the notes a single migrate shows for its mounts and networks.

use std::collections::BTreeSet;

use super::checks;
use super::migrate::leaving;
use super::names::copy_name;
use super::{NodeRef, Plan, PlanError, PlanInput, Proposal, Step, human_bytes};
use crate::model::Container;

/// Cordon `node` and migrate every running container off it.
pub(super) fn plan(input: &PlanInput<'_>, node: &str) -> Result<Plan, PlanError> {
    let n = input.live_node(node)?;
    let from = NodeRef::of(n);
    let mut rooms = input.rooms();
    let mut active: Vec<&Container> = n.containers.values().filter(|c| c.is_active()).collect();
    active.sort_by(|a, b| crate::app::natural_cmp(&a.spec.name, &b.spec.name));
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    // Always the first step, even on a cordoned node: it is what the agent checks the
    // caller's role on (admin), before anything moves.
    steps.push(Step::Drain { on: from.clone() });
    if n.info.as_ref().map(|i| i.status.mode) != Some(crate::model::NodeMode::Maintenance) {
        lines.push(format!(
            "cordon {}: MAINTENANCE, no new placements",
            from.name
        ));
    }
    let mut data = 0;
    let mut taken = BTreeSet::new();
    for c in &active {
        let placing = leaving(input, n, c);
        let i = checks::best_target(input, &rooms, &placing)?;
        rooms[i].take(placing.demand);
        let bytes = input.bytes_of(&from.name, &c.spec.name).unwrap_or(0);
        data += bytes;
        let new_name = copy_name(input.fleet, &rooms[i], c, &mut taken);
        let renamed = if new_name == c.spec.name {
            String::new()
        } else {
            format!(" as {new_name}")
        };
        lines.push(format!(
            "migrate {}{renamed} to {}{}",
            c.spec.name,
            rooms[i].name,
            if bytes > 0 {
                format!(" ({} of data)", human_bytes(bytes))
            } else {
                String::new()
            }
        ));
        if let Some(s) = input.specs.get(&from.name, &c.spec.name) {
            // Docker mounts and networks: what each copy makes of them, as migrate shows.
            let notes = fleetdeck_core::labels::copy_notes(&s.spec.labels, &rooms[i].name);
            lines.extend(notes.into_iter().map(|note| format!("  {note}")));
        }
        steps.push(Step::Migrate {
            from: from.clone(),
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
            new_name,
            to: NodeRef::at(&rooms[i]),
            bytes,
        });
    }
    let stopped: Vec<&str> = n
        .containers
        .values()
        .filter(|c| !c.is_active())
        .map(|c| c.spec.name.as_str())
        .collect();
    if !stopped.is_empty() {
        lines.push(format!(
            "left in place (not running): {}",
            stopped.join(", ")
        ));
    }
    lines.push("one container at a time, make-before-break; cancelling stops between moves".into());
    Ok(Plan {
        proposal: Proposal::Drain {
            node: node.to_string(),
        },
        title: format!("Drain {}: move {} containers off", from.name, active.len()),
        lines,
        data_bytes: data,
        confirm: Some(from.name.clone()),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use super::*;
    use crate::ops::specs::{CachedSpec, NodeSpecs, SpecCache};

    #[test]
    fn drain_plan_shows_what_each_copy_makes_of_its_mounts() {
        let now = Instant::now();
        let fleet = crate::fixtures::fleet(3, 2, now);
        let n = &fleet.nodes()[0];
        let mut active: Vec<&Container> = n.containers.values().filter(|c| c.is_active()).collect();
        active.sort_by(|a, b| crate::app::natural_cmp(&a.spec.name, &b.spec.name));
        let c = active[0];
        let extras = r#"{"mounts":[{"dest":"/data","kind":"named","name":"pgdata","read_only":true},{"dest":"/cfg","kind":"bind","source":"/srv/cfg"}]}"#;
        let spec = crate::ops::PortableSpec {
            name: c.spec.name.clone(),
            volumes: vec!["cfg".into(), "data".into()],
            labels: BTreeMap::from([("fleetdeck.docker.config".to_owned(), extras.to_owned())]),
            ..crate::ops::PortableSpec::default()
        };
        let specs = SpecCache {
            nodes: BTreeMap::from([(
                n.name().to_string(),
                NodeSpecs {
                    endpoint: n.endpoint.clone(),
                    saved_unix_ms: 0,
                    specs: vec![CachedSpec {
                        spec,
                        running: true,
                    }],
                    engine_id: String::new(),
                }
                .into(),
            )]),
        };
        let input = PlanInput {
            fleet: &fleet,
            now,
            specs: &specs,
            fencing: &[],
            read_only: false,
            claims: &[],
        };
        let plan = plan(&input, n.name()).unwrap();
        // Copies may be renamed (`migrate web-1 as web-3 to node-01`).
        let prefix = format!("migrate {} ", c.spec.name);
        let at = plan
            .lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{:#?}", plan.lines));
        let (_, after) = plan.lines[at].split_once(" to ").unwrap();
        let to = after.split_whitespace().next().unwrap().to_owned();
        assert_eq!(
            plan.lines[at + 1..at + 3],
            [
                format!(
                    "  named volume pgdata (/data) becomes a new volume on {to}, named for {to}'s scope, mounted read-only"
                ),
                format!(
                    "  bind mount of host folder /srv/cfg (/cfg) becomes a folder fleetdeck manages on {to}: the data is copied, the host folder is no longer shared"
                ),
            ],
            "{:#?}",
            plan.lines
        );
        // The other containers have no cached spec: no notes under them.
        assert!(
            plan.lines.iter().filter(|l| l.starts_with("  ")).count() == 2,
            "{:#?}",
            plan.lines
        );
    }
}
