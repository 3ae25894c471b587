//! Failover: re-create a FAILED node's containers on healthy nodes (STANDBY preferred)
//! from their last known specs, and record it so the node is fenced when it returns.

use super::checks::{self, Placing, Role, Unfit};
use super::names::{self, name_free};
use super::{Demand, NodeRef, Plan, PlanError, PlanInput, PortableSpec, Proposal, Room, Step};
use super::{failover_labels, no_room};
use crate::model::Container;

/// A spec from what the console last watched of `c`, for a container with no cached spec.
fn synthesized(c: &Container) -> PortableSpec {
    PortableSpec {
        id: c.spec.id.clone(),
        name: c.spec.name.clone(),
        image: c.spec.image.to_string(),
        service: c.spec.service.to_string(),
        labels: (*c.spec.labels).clone(),
        ports: c
            .spec
            .ports
            .iter()
            .map(fleetdeck_core::container::PortMapping::spec_port)
            .collect(),
        memory_limit_bytes: c.stats.memory_limit_bytes,
        ..PortableSpec::default()
    }
}

/// Re-create the FAILED `node`'s containers on healthy nodes, STANDBY first.
pub(super) fn plan(input: &PlanInput<'_>, node: &str) -> Result<Plan, PlanError> {
    let fleet = input.fleet;
    // A node this console never reached is known only by its endpoint; the spec cache
    // remembers which node answered there before.
    let cached_at = |endpoint: &str| {
        input
            .specs
            .nodes
            .iter()
            .find(|(_, ns)| ns.endpoint == endpoint)
            .map(|(name, _)| name.clone())
    };
    let n = fleet
        .nodes()
        .iter()
        .find(|n| n.name() == node || n.endpoint == node)
        .or_else(|| {
            let ns = input.specs.nodes.get(node)?;
            fleet
                .nodes()
                .iter()
                .find(|n| n.info.is_none() && n.endpoint == ns.endpoint)
        })
        .ok_or_else(|| PlanError::NotFound(format!("no node named `{node}`")))?;
    let state = n.state(input.now, fleet.failover_timeout());
    if let Err(why) = checks::check(input, n, Role::FailedOver) {
        if why == Unfit::Fencing {
            return Err(PlanError::Fencing(n.name().to_string()));
        }
        return Err(PlanError::Invalid(format!(
            "{} is {}, not FAILED: failover is for a node whose agent stopped answering (to empty a live node, drain it)",
            n.name(),
            state.as_str()
        )));
    }
    let name = match &n.info {
        Some(_) => n.name().to_string(),
        None => cached_at(&n.endpoint).unwrap_or_else(|| n.name().to_string()),
    };
    let done = names::replaced_elsewhere(fleet, &name);
    // (spec, demand, from the cache?)
    let mut work: Vec<(PortableSpec, Demand, bool)> = Vec::new();
    if n.containers.is_empty() {
        if let Some(ns) = input.specs.nodes.get(&name) {
            for cs in ns.specs().into_iter().filter(|s| s.running) {
                let d = Demand::from_limits(cs.spec.cpu_limit_cores, cs.spec.memory_limit_bytes);
                work.push((cs.spec, d, true));
            }
        }
    } else {
        let mut active: Vec<&Container> = n.containers.values().filter(|c| c.is_active()).collect();
        active.sort_by(|a, b| crate::app::natural_cmp(&a.spec.name, &b.spec.name));
        for c in active {
            match input.specs.get(&name, &c.spec.name) {
                Some(cs) => work.push((cs.spec, Demand::of(c), true)),
                None => work.push((synthesized(c), Demand::of(c), false)),
            }
        }
    }
    work.retain(|(s, _, _)| !done.contains(&s.name));
    if work.is_empty() {
        return Err(PlanError::Invalid(format!(
            "nothing to fail over: no running container of {name} is known{}",
            if done.is_empty() {
                ""
            } else {
                " that is not already re-created elsewhere"
            }
        )));
    }
    let mut rooms = input.rooms();
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    let mut placed = Vec::new();
    let mut originals = Vec::new();
    // The failed node's engine, as last seen or cached: a node sharing it may still have the
    // stale copies running there, holding their host ports.
    let engine = checks::engine(n).or_else(|| {
        let ns = input.specs.nodes.get(&name)?;
        Some(ns.engine_id.as_str()).filter(|e| !e.is_empty())
    });
    for (mut spec, d, cached) in work {
        let original = spec.name.clone();
        let placing = Placing::new(&original, d, &name).with_ports(&spec.ports, engine);
        if let Some(port) = &placing.host_port
            && checks::place(input, &rooms, &placing, true, |_| true).is_none()
            && checks::shut_out_by_port(input, &rooms, &placing, true).is_some()
        {
            lines.push(format!(
                "not re-created: {original} publishes host port {port} and every node with room shares {name}'s Docker engine, where its stale copy may still hold the port; stop it there, then migrate or re-create it"
            ));
            continue;
        }
        let free = |r: &Room| name_free(fleet, r, &original);
        let i = match checks::place(input, &rooms, &placing, true, free) {
            Some(i) => i,
            None => {
                // Every node with room already has a container of that name (names are
                // per node): the copy gets the failed node's name as a suffix.
                let i = checks::place(input, &rooms, &placing, true, |_| true)
                    .ok_or_else(|| no_room(&original, d, &rooms))?;
                let mut renamed = format!("{original}-{name}");
                let mut k = 1;
                while !name_free(fleet, &rooms[i], &renamed) {
                    k += 1;
                    renamed = format!("{original}-{name}-{k}");
                }
                spec.name = renamed;
                i
            }
        };
        originals.push(original.clone());
        rooms[i].take(d);
        let r = &rooms[i];
        let shown = if spec.name == original {
            original.clone()
        } else {
            format!("{original} as {}", spec.name)
        };
        lines.push(format!(
            "re-create {shown} on {}{} from its {}",
            r.name,
            if r.standby { " (STANDBY)" } else { "" },
            if cached {
                "last known spec"
            } else {
                "last watched data (no cached spec)"
            }
        ));
        placed.push(format!("{} -> {}", spec.name, r.name));
        let labels = failover_labels(&name, &original, n.epoch);
        steps.push(Step::Create {
            on: NodeRef::at(r),
            spec: Box::new(spec),
            labels,
        });
    }
    if placed.is_empty() {
        return Err(PlanError::Invalid(lines.join("; ")));
    }
    lines.push(format!(
        "volume data is not copied: {name} cannot be reached (restore from a backup if needed)"
    ));
    lines.push(format!(
        "record the failover on every reachable agent; when {name} returns its stale copies are stopped first"
    ));
    let message = placed.join(", ");
    steps.push(Step::RecordFailover {
        node: name.clone(),
        epoch: n.epoch,
        names: originals,
    });
    for other in fleet.nodes().iter().filter(|o| o.is_live()) {
        steps.push(Step::Note {
            on: NodeRef::of(other),
            kind: "failover".into(),
            target: name.clone(),
            message: message.clone(),
        });
    }
    Ok(Plan {
        proposal: Proposal::Failover {
            node: node.to_string(),
        },
        title: format!("Fail over {name}: re-create {} containers", placed.len()),
        lines,
        data_bytes: 0,
        confirm: Some(name),
        steps,
    })
}
