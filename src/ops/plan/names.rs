//! Container names in plans: which container a name means, and what a copy is called
//! where its own name is taken (names are unique per node).

use std::collections::BTreeSet;

use fleetdeck_core::labels::REPLACES_LABEL;

use super::Room;
use crate::model::{Container, Fleet};

pub(super) use crate::model::locate::names as matches;

/// Whether the room's node has no container called `name` (names are unique per node).
pub fn name_free(fleet: &Fleet, room: &Room, name: &str) -> bool {
    fleet
        .node(room.slot)
        .is_none_or(|n| n.containers.values().all(|c| c.spec.name != name))
}

/// The number after the last `-` of a replica's name.
pub(super) fn replica_number(name: &str, service: &str) -> Option<u32> {
    name.strip_prefix(service)?.strip_prefix('-')?.parse().ok()
}

/// The name a copy of `c` gets on `room`: its own when free there, else its service's next
/// free replica number across the fleet (and not in `taken`, names this plan already gave).
pub(super) fn copy_name(
    fleet: &Fleet,
    room: &Room,
    c: &Container,
    taken: &mut BTreeSet<String>,
) -> String {
    let name = &c.spec.name;
    if name_free(fleet, room, name) && !taken.contains(name) {
        taken.insert(name.clone());
        return name.clone();
    }
    let base = if c.spec.service.is_empty() {
        name.rsplit_once('-').map_or(name.as_str(), |(b, _)| b)
    } else {
        c.spec.service.as_ref()
    };
    let mut n = fleet
        .nodes()
        .iter()
        .flat_map(|n| n.containers.values())
        .filter_map(|x| {
            x.spec
                .name
                .strip_prefix(base)?
                .strip_prefix('-')?
                .parse::<u32>()
                .ok()
        })
        .chain(
            taken
                .iter()
                .filter_map(|t| t.strip_prefix(base)?.strip_prefix('-')?.parse().ok()),
        )
        .max()
        .unwrap_or(0);
    loop {
        n += 1;
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) && name_free(fleet, room, &candidate) {
            taken.insert(candidate.clone());
            return candidate;
        }
    }
}

/// Containers already re-created elsewhere for `node` (by their `replaces` label).
pub(super) fn replaced_elsewhere(fleet: &Fleet, node: &str) -> Vec<String> {
    let prefix = format!("{node}/");
    fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live() && n.name() != node)
        .flat_map(|n| n.containers.values())
        .filter_map(|c| c.spec.labels.get(REPLACES_LABEL))
        .filter_map(|v| v.strip_prefix(&prefix).map(str::to_string))
        .collect()
}
