//! Scale: set a service's replica count. Up places new replicas best-fit from a running
//! one's spec; down removes from the most loaded node first.

use super::checks::{self, Placing};
use super::names;
use super::{Demand, NodeRef, Plan, PlanError, PlanInput, Proposal, Step, human_bytes};

/// Set `service` to `replicas` running replicas.
pub(super) fn plan(
    input: &PlanInput<'_>,
    service: &str,
    replicas: usize,
) -> Result<Plan, PlanError> {
    let fleet = input.fleet;
    let current = input.replicas(service, "to copy")?;
    let have = current.len();
    let title = format!("Scale {service} from {have} to {replicas} replicas");
    if replicas == have {
        return Err(PlanError::Invalid(format!(
            "{service} already runs {have} replicas"
        )));
    }
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    let mut confirm = None;
    if replicas > have {
        let (tn, template) = current[0];
        let d = Demand::of(template);
        // Every replica publishes the template's fixed host port, if any: no two on one
        // engine.
        let mut placing = Placing::new(&template.spec.name, d, "");
        if let Some(s) = input.specs.get(tn.name(), &template.spec.name) {
            placing = placing.with_ports(&s.spec.ports, None);
        }
        for (n, _) in &current {
            placing.hold(checks::engine(n));
        }
        let mut rooms = input.rooms();
        let mut next = fleet
            .nodes()
            .iter()
            .flat_map(|n| n.containers.values())
            .filter_map(|c| names::replica_number(&c.spec.name, service))
            .max()
            .unwrap_or(0);
        let want = replicas - have;
        for placed in 0..want {
            let Some(i) = checks::place(input, &rooms, &placing, false, |_| true) else {
                if let (Some(i), Some(port)) = (
                    checks::shut_out_by_port(input, &rooms, &placing, false),
                    &placing.host_port,
                ) {
                    return Err(PlanError::Invalid(format!(
                        "cannot scale {service} to {replicas}: room for {placed} more of {want}; its replicas publish host port {port}, and {} shares a Docker engine with a node already running one",
                        rooms[i].name
                    )));
                }
                let best_mem = rooms.iter().map(|r| r.free_memory_bytes).max().unwrap_or(0);
                let best_cpu = rooms
                    .iter()
                    .map(|r| r.free_cpu_percent)
                    .fold(0.0_f32, f32::max);
                let missing = want - placed;
                let short_mem = (d.memory_bytes * missing as u64).saturating_sub(if placed == 0 {
                    0
                } else {
                    best_mem
                });
                return Err(PlanError::NoCapacity(format!(
                    "not enough room to scale {service} to {replicas}: room for {placed} more of {want}; each replica needs {} memory and {:.0}% CPU, the roomiest node has {} and {:.0}% left, so {} memory (and the CPU) for {missing} more is missing",
                    human_bytes(d.memory_bytes),
                    d.cpu_percent,
                    human_bytes(best_mem),
                    best_cpu,
                    human_bytes(short_mem.max(d.memory_bytes.saturating_sub(best_mem))),
                )));
            };
            rooms[i].take(d);
            placing.hold(fleet.node(rooms[i].slot).and_then(checks::engine));
            next += 1;
            let name = format!("{service}-{next}");
            lines.push(format!(
                "create {name} on {} from {}'s spec and start it",
                rooms[i].name, template.spec.name
            ));
            steps.push(Step::Replicate {
                on: NodeRef::at(&rooms[i]),
                template: NodeRef::of(tn),
                template_id: template.spec.id.clone(),
                name,
            });
        }
    } else {
        let mut by_load = current.clone();
        by_load.sort_by(|a, b| {
            b.0.load()
                .total_cmp(&a.0.load())
                .then_with(|| crate::app::natural_cmp(&b.1.spec.name, &a.1.spec.name))
        });
        for (n, c) in by_load.into_iter().take(have - replicas) {
            lines.push(format!(
                "stop and remove {} on {} (load {:.0})",
                c.spec.name,
                n.name(),
                n.load()
            ));
            steps.push(Step::Remove {
                on: NodeRef::of(n),
                container_id: c.spec.id.clone(),
                name: c.spec.name.clone(),
            });
        }
        if replicas == 0 {
            lines.push(format!("{service} will have no running replica"));
            confirm = Some(service.to_string());
        }
    }
    Ok(Plan {
        proposal: Proposal::Scale {
            service: service.to_string(),
            replicas,
        },
        title,
        lines,
        data_bytes: 0,
        confirm,
        steps,
    })
}
