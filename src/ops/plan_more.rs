//! Plans for scale, failover, backup and restore (the rest is in `plan`).

use super::placement::{self, Demand};
use super::plan::{
    NodeRef, Plan, PlanError, PlanInput, Step, capitalise, failover_copy_labels, name_free,
    no_room, replaced_elsewhere,
};
use super::{BackupInfo, PortableSpec, Proposal, human_bytes};
use crate::model::{Container, Node, NodeState};

fn node_ref(n: &Node) -> NodeRef {
    NodeRef {
        name: n.name().to_string(),
        endpoint: n.endpoint.clone(),
    }
}

/// The number after the last `-` of a replica's name.
fn replica_number(name: &str, service: &str) -> Option<u32> {
    name.strip_prefix(service)?.strip_prefix('-')?.parse().ok()
}

pub(super) fn scale(
    input: &PlanInput<'_>,
    service: &str,
    replicas: usize,
) -> Result<Plan, PlanError> {
    let fleet = input.fleet;
    let mut current: Vec<(&Node, &Container)> = fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live())
        .flat_map(|n| n.containers.values().map(move |c| (n, c)))
        .filter(|(_, c)| c.spec.service == service && c.is_active())
        .collect();
    if current.is_empty() {
        return Err(PlanError::NotFound(format!(
            "no running replica of service `{service}` to copy; `fleetdeck get containers` lists services"
        )));
    }
    current.sort_by(|a, b| crate::app::natural_cmp(&a.1.spec.name, &b.1.spec.name));
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
        let mut rooms = placement::rooms(fleet, input.now);
        let mut next = fleet
            .nodes()
            .iter()
            .flat_map(|n| n.containers.values())
            .filter_map(|c| replica_number(&c.spec.name, service))
            .max()
            .unwrap_or(0);
        let want = replicas - have;
        for placed in 0..want {
            let Some(i) = placement::best_fit(&rooms, d, |_| true, false) else {
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
            next += 1;
            let name = format!("{service}-{next}");
            lines.push(format!(
                "create {name} on {} from {}'s spec and start it",
                rooms[i].name, template.spec.name
            ));
            steps.push(Step::Replicate {
                on: NodeRef {
                    name: rooms[i].name.clone(),
                    endpoint: rooms[i].endpoint.clone(),
                },
                template: node_ref(tn),
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
                on: node_ref(n),
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

fn synthesized(c: &Container) -> PortableSpec {
    PortableSpec {
        id: c.spec.id.clone(),
        name: c.spec.name.clone(),
        image: c.spec.image.clone(),
        service: c.spec.service.clone(),
        labels: c.spec.labels.clone(),
        ports: c
            .spec
            .ports
            .iter()
            .map(|p| (p.container_port, p.host_port, p.protocol.clone()))
            .collect(),
        memory_limit_bytes: c.stats.memory_limit_bytes,
        ..PortableSpec::default()
    }
}

pub(super) fn failover(input: &PlanInput<'_>, node: &str) -> Result<Plan, PlanError> {
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
    if state != NodeState::Failed {
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
    let done = replaced_elsewhere(fleet, &name);
    // (spec, demand, from the cache?)
    let mut work: Vec<(PortableSpec, Demand, bool)> = Vec::new();
    if n.containers.is_empty() {
        if let Some(ns) = input.specs.nodes.get(&name) {
            for cs in ns.specs.iter().filter(|s| s.running) {
                let d = Demand::from_limits(cs.spec.cpu_limit_cores, cs.spec.memory_limit_bytes);
                work.push((cs.spec.clone(), d, true));
            }
        }
    } else {
        let mut active: Vec<&Container> = n.containers.values().filter(|c| c.is_active()).collect();
        active.sort_by(|a, b| crate::app::natural_cmp(&a.spec.name, &b.spec.name));
        for c in active {
            match input.specs.get(&name, &c.spec.name) {
                Some(cs) => work.push((cs.spec.clone(), Demand::of(c), true)),
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
    let mut rooms = placement::rooms(fleet, input.now);
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    let mut placed = Vec::new();
    let mut originals = Vec::new();
    // The failed node's engine, as last seen or cached: a node sharing it may still have the
    // stale copies running there, holding their host ports.
    let engine = n
        .info
        .as_ref()
        .map(|i| i.engine_id.as_str())
        .filter(|e| !e.is_empty())
        .or_else(|| {
            let ns = input.specs.nodes.get(&name)?;
            Some(ns.engine_id.as_str()).filter(|e| !e.is_empty())
        });
    let same_engine = |r: &placement::Room| {
        engine.is_some()
            && fleet.nodes().iter().any(|o| {
                o.name() == r.name && o.info.as_ref().map(|i| i.engine_id.as_str()) == engine
            })
    };
    for (mut spec, d, cached) in work {
        let original = spec.name.clone();
        let fixed = spec.ports.iter().find(|(_, hp, _)| *hp != 0).cloned();
        let allowed = |r: &placement::Room| r.name != name && !(fixed.is_some() && same_engine(r));
        if let Some((_, hp, proto)) = &fixed
            && placement::best_fit(&rooms, d, allowed, true).is_none()
            && placement::best_fit(&rooms, d, |r| r.name != name, true).is_some()
        {
            lines.push(format!(
                "not re-created: {original} publishes host port {hp}/{proto} and every node with room shares {name}'s Docker engine, where its stale copy may still hold the port; stop it there, then migrate or re-create it"
            ));
            continue;
        }
        let free = |r: &placement::Room| allowed(r) && name_free(fleet, r, &original);
        let i = match placement::best_fit(&rooms, d, free, true) {
            Some(i) => i,
            None => {
                // Every node with room already has a container of that name (names are
                // per node): the copy gets the failed node's name as a suffix.
                let i = placement::best_fit(&rooms, d, allowed, true)
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
        let labels = failover_copy_labels(&name, n.epoch, &original);
        steps.push(Step::Create {
            on: NodeRef {
                name: r.name.clone(),
                endpoint: r.endpoint.clone(),
            },
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
            on: node_ref(other),
            kind: "failover".into(),
            target: name.clone(),
            message: message.clone(),
        });
    }
    Ok(Plan {
        proposal: Proposal::Failover { node: name.clone() },
        title: format!("Fail over {name}: re-create {} containers", placed.len()),
        lines,
        data_bytes: 0,
        confirm: Some(name),
        steps,
    })
}

pub(super) fn backup(
    input: &PlanInput<'_>,
    node: &str,
    container: Option<&str>,
) -> Result<Plan, PlanError> {
    let mut targets: Vec<(&Node, &Container)> = match container {
        Some(c) => vec![
            input
                .fleet
                .nodes()
                .iter()
                .find(|n| n.name() == node || node.is_empty())
                .and_then(|n| {
                    n.containers
                        .values()
                        .find(|x| {
                            x.spec.name == c
                                || x.spec.id == c
                                || (c.len() >= 6 && x.spec.id.starts_with(c))
                        })
                        .map(|x| (n, x))
                })
                .ok_or_else(|| PlanError::NotFound(format!("no container `{c}` on {node}")))?,
        ],
        None => {
            let n = input
                .fleet
                .nodes()
                .iter()
                .find(|n| n.name() == node || n.endpoint == node)
                .ok_or_else(|| PlanError::NotFound(format!("no node named `{node}`")))?;
            n.containers.values().map(|c| (n, c)).collect()
        }
    };
    if let Some((n, _)) = targets.first()
        && !n.is_live()
    {
        return Err(PlanError::Invalid(format!(
            "{} does not answer; nothing can be backed up there",
            n.name()
        )));
    }
    if targets.is_empty() {
        return Err(PlanError::Invalid(format!(
            "{node} has no containers to back up"
        )));
    }
    targets.sort_by(|a, b| crate::app::natural_cmp(&a.1.spec.name, &b.1.spec.name));
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    let mut data = 0;
    for (n, c) in &targets {
        let bytes = input
            .specs
            .get(n.name(), &c.spec.name)
            .map(|s| s.spec.volume_bytes);
        data += bytes.unwrap_or(0);
        lines.push(format!(
            "archive {} on {}: configuration and {} of volume data, SHA-256, retention applied",
            c.spec.name,
            n.name(),
            bytes.map_or_else(|| "its".to_string(), human_bytes)
        ));
        steps.push(Step::Backup {
            on: node_ref(n),
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
        });
    }
    let title = match container {
        Some(_) => format!("Back up {}", targets[0].1.spec.name),
        None => format!(
            "Back up all {} containers of {}",
            targets.len(),
            targets[0].0.name()
        ),
    };
    Ok(Plan {
        proposal: Proposal::Backup {
            node: node.to_string(),
            container: container.map(str::to_string),
        },
        title,
        lines,
        data_bytes: data,
        confirm: None,
        steps,
    })
}

/// The live node named `name` (or at endpoint `name`).
fn live_node<'a>(input: &PlanInput<'a>, name: &str) -> Result<&'a Node, PlanError> {
    let n = input
        .fleet
        .nodes()
        .iter()
        .find(|n| n.name() == name || n.endpoint == name)
        .ok_or_else(|| PlanError::NotFound(format!("no node named `{name}`")))?;
    if !n.is_live() {
        return Err(PlanError::Invalid(format!("{} does not answer", n.name())));
    }
    Ok(n)
}

/// Restore `b` on `node`; when another node holds it (`b.node`), the archive is copied
/// there first, streamed from agent to agent and checked on arrival.
pub(super) fn restore(
    input: &PlanInput<'_>,
    node: &str,
    b: &BackupInfo,
) -> Result<Plan, PlanError> {
    let n = live_node(input, node)?;
    let holder = match b.node.as_str() {
        "" => n,
        h if h == n.name() || h == n.endpoint => n,
        h => live_node(input, h).map_err(|e| match e {
            PlanError::Invalid(m) => PlanError::Invalid(format!(
                "{m}: it holds backup {}, which must be read from there",
                b.id
            )),
            other => other,
        })?,
    };
    let existing = n.containers.values().find(|c| c.spec.name == b.container);
    let cordoned = n.info.as_ref().map(|i| i.mode) == Some(crate::model::NodeMode::Maintenance);
    if existing.is_none() && cordoned {
        return Err(PlanError::Invalid(format!(
            "{} is cordoned (MAINTENANCE) and takes no new containers; uncordon it or restore elsewhere",
            n.name()
        )));
    }
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    if !std::ptr::eq(holder, n) {
        lines.push(format!(
            "copy backup {} ({}) from {} to {}, streamed between the agents; {} checks its SHA-256 on arrival and keeps nothing if it differs",
            b.id,
            human_bytes(b.size_bytes),
            holder.name(),
            n.name(),
            n.name()
        ));
        steps.push(Step::CopyBackup {
            from: node_ref(holder),
            to: node_ref(n),
            backup_id: b.id.clone(),
            bytes: b.size_bytes,
        });
    }
    lines.push(format!(
        "verify the archive's SHA-256 ({}…) before writing anything",
        &b.sha256[..b.sha256.len().min(16)]
    ));
    let confirm = match existing {
        Some(c) if c.is_active() => {
            lines.push(format!(
                "stop {} on {}, replace its volume data with the backup's ({}), start it again",
                c.spec.name,
                n.name(),
                human_bytes(b.size_bytes)
            ));
            Some(c.spec.name.clone())
        }
        Some(c) => {
            lines.push(format!(
                "replace the volume data of the stopped {} with the backup's ({})",
                c.spec.name,
                human_bytes(b.size_bytes)
            ));
            Some(c.spec.name.clone())
        }
        None => {
            lines.push(format!(
                "create {} on {} from the backup's spec, write its data ({}) and start it",
                b.container,
                n.name(),
                human_bytes(b.size_bytes)
            ));
            None
        }
    };
    lines.push("entries that would escape the volume directory are refused".into());
    Ok(Plan {
        proposal: Proposal::Restore {
            node: node.to_string(),
            backup: b.clone(),
        },
        title: if std::ptr::eq(holder, n) {
            format!("{} {} from {}", capitalise("restore"), b.container, b.id)
        } else {
            format!(
                "{} {} from {} on {} (held by {})",
                capitalise("restore"),
                b.container,
                b.id,
                n.name(),
                holder.name()
            )
        },
        lines,
        data_bytes: b.size_bytes,
        confirm,
        steps: {
            steps.push(Step::Restore {
                on: node_ref(n),
                backup_id: b.id.clone(),
                overwrite: existing.is_some(),
            });
            steps
        },
    })
}

/// Why `c` on `from` cannot move to node `to`: both sit on one container engine and `c`
/// publishes a fixed host port (as configured in its cached spec; a port the engine picked
/// is not fixed), which the copy and the source cannot bind at once, so make-before-break
/// would fail when the copy starts.
pub(super) fn port_clash(
    input: &PlanInput<'_>,
    from: &Node,
    to: &str,
    c: &Container,
) -> Option<String> {
    let fleet = input.fleet;
    let engine = from
        .info
        .as_ref()
        .map(|i| i.engine_id.as_str())
        .filter(|e| !e.is_empty())?;
    let target = fleet.nodes().iter().find(|n| n.name() == to)?;
    if target.info.as_ref().map(|i| i.engine_id.as_str()) != Some(engine) {
        return None;
    }
    let spec = &input.specs.get(from.name(), &c.spec.name)?.spec;
    let (_, host_port, protocol) = spec.ports.iter().find(|(_, hp, _)| *hp != 0)?;
    Some(format!(
        "{} publishes host port {host_port}/{protocol} and {} and {to} share one Docker engine: the copy could not bind it while {} runs; move it to a node on another engine",
        c.spec.name,
        from.name(),
        c.spec.name
    ))
}

/// Why no node took `c`: a host port it cannot share with the nodes that had room, else
/// lack of room.
pub(super) fn fit_error(
    rooms: &[placement::Room],
    d: Demand,
    from: &str,
    c: &Container,
    clash: impl Fn(&placement::Room) -> Option<String>,
) -> PlanError {
    let shut_out =
        placement::best_fit(rooms, d, |r| r.name != from, false).and_then(|i| clash(&rooms[i]));
    match shut_out {
        Some(why) => PlanError::Invalid(why),
        None => no_room(&c.spec.name, d, rooms),
    }
}
