//! Migrate: make-before-break move of one container to another node, best fit unless the
//! operator names the target.

use std::collections::BTreeSet;

use super::checks::{self, Placing, Unfit};
use super::names::copy_name;
use super::{
    Demand, NodeRef, Plan, PlanError, PlanInput, Proposal, Room, Step, human_bytes, no_room,
};
use crate::model::{Container, Node};

/// A copy of `c` leaving `n`: its demand, and the host port its cached spec publishes,
/// held on `n`'s engine until the source stops.
pub(super) fn leaving<'a>(input: &PlanInput<'a>, n: &'a Node, c: &'a Container) -> Placing<'a> {
    let placing = Placing::new(&c.spec.name, Demand::of(c), n.name());
    match input.specs.get(n.name(), &c.spec.name) {
        Some(s) => placing.with_ports(&s.spec.ports, checks::engine(n)),
        None => placing,
    }
}

/// The node the migrate target picker pre-selects for `container` on `node`: the one the
/// planner picks when no target is named, so a node waiting to be fenced, one without
/// room and one where the container's host port is held are never offered first.
pub fn default_target(input: &PlanInput<'_>, node: &str, container: &str) -> Option<String> {
    let (n, c) = input.container(node, container).ok()?;
    let rooms = input.rooms();
    let i = checks::best_target(input, &rooms, &leaving(input, n, c)).ok()?;
    Some(rooms[i].name.clone())
}

/// The room for the target the operator named.
fn named_target(
    input: &PlanInput<'_>,
    rooms: &[Room],
    placing: &Placing<'_>,
    to: &str,
) -> Result<Room, PlanError> {
    let tn = input.find(to).ok_or_else(|| {
        PlanError::NotFound(format!(
            "no node named `{to}`; `fleetdeck get nodes` lists them"
        ))
    })?;
    let state = tn.state(input.now, input.fleet.failover_timeout());
    let why = match rooms.iter().find(|r| r.name == tn.name()) {
        Some(r) => match checks::check_room(input, r, placing) {
            Ok(()) => return Ok(r.clone()),
            Err(Unfit::Room) => {
                return Err(no_room(
                    placing.name,
                    placing.demand,
                    std::slice::from_ref(r),
                ));
            }
            Err(Unfit::Port) => {
                return Err(PlanError::Invalid(checks::port_clash_message(
                    placing, &r.name,
                )));
            }
            Err(why) => why,
        },
        // Not a room: fencing, the source itself, or a state that takes no placements.
        None if input.is_fencing(tn.name()) => Unfit::Fencing,
        None if tn.name() == placing.from => Unfit::Source,
        None => Unfit::State,
    };
    Err(match why {
        Unfit::Fencing => PlanError::Fencing(tn.name().to_string()),
        Unfit::Source => PlanError::Invalid(format!("{} already runs on {to}", placing.name)),
        _ => PlanError::Invalid(format!(
            "{to} is {} and takes no placements",
            state.as_str()
        )),
    })
}

fn lines(name: &str, from: &str, to: &str, bytes: Option<u64>, volumes: &str) -> Vec<String> {
    let data = match bytes {
        Some(0) | None if volumes.is_empty() => "no volume data to copy".to_string(),
        Some(b) => format!("copy {} of volume data ({volumes})", human_bytes(b)),
        None => "copy its volume data (size not known yet)".to_string(),
    };
    vec![
        format!("create {name} on {to} from its spec on {from}"),
        data,
        format!("start it on {to} and wait until it is running and healthy"),
        format!("then stop and remove {name} on {from}"),
        format!("a failure before that removes the copy on {to}; {name} keeps running on {from}"),
    ]
}

/// Move `target` off `node` (anywhere when `node` is empty) to `to`, or the best fit.
pub(super) fn plan(
    input: &PlanInput<'_>,
    node: &str,
    target: &str,
    to: Option<&str>,
) -> Result<Plan, PlanError> {
    let (n, c) = input.container(node, target)?;
    let from = NodeRef::of(n);
    let placing = leaving(input, n, c);
    let rooms = input.rooms();
    let room = match to {
        Some(to) => named_target(input, &rooms, &placing, to)?,
        None => rooms[checks::best_target(input, &rooms, &placing)?].clone(),
    };
    let to_ref = NodeRef::at(&room);
    let cached = input.specs.get(&from.name, &c.spec.name);
    let bytes = input.bytes_of(&from.name, &c.spec.name);
    let volumes = cached
        .as_ref()
        .map(|s| s.spec.volumes.join(", "))
        .unwrap_or_default();
    let new_name = copy_name(input.fleet, &room, c, &mut BTreeSet::new());
    let mut lines = lines(&c.spec.name, &from.name, &to_ref.name, bytes, &volumes);
    if let Some(s) = cached {
        // Docker mounts and networks: what the copy makes of them.
        let notes = fleetdeck_core::labels::copy_notes(&s.spec.labels, &to_ref.name);
        lines.splice(2..2, notes);
    }
    if new_name != c.spec.name {
        lines.insert(
            1,
            format!(
                "{} already has a container named {}: the copy is named {new_name}",
                to_ref.name, c.spec.name
            ),
        );
    }
    Ok(Plan {
        proposal: Proposal::Migrate {
            node: node.to_string(),
            container: target.to_string(),
            to: to.map(str::to_string),
        },
        title: format!(
            "Migrate {} from {} to {}",
            c.spec.name, from.name, to_ref.name
        ),
        lines,
        data_bytes: bytes.unwrap_or(0),
        confirm: None,
        steps: vec![Step::Migrate {
            from,
            container_id: c.spec.id.clone(),
            name: c.spec.name.clone(),
            new_name,
            to: to_ref,
            bytes: bytes.unwrap_or(0),
        }],
    })
}
