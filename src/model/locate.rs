//! Which container a name on the command line means: its name, its id, or an id prefix,
//! on one node or anywhere in the fleet.

use super::{Container, Fleet, Node};

/// Whether `target` names `c`: its name, its id, or an id prefix of at least 6 characters.
pub fn names(c: &Container, target: &str) -> bool {
    c.spec.name == target
        || c.spec.id == target
        || (target.len() >= 6 && c.spec.id.starts_with(target))
}

/// The one container `target` names on a reachable node: on `node` (its name or its
/// agent's address) when given, else anywhere. The error is one line for the user.
pub fn find_container<'a>(
    fleet: &'a Fleet,
    node: Option<&str>,
    target: &str,
) -> Result<(&'a Node, &'a Container), String> {
    let live = fleet.nodes().iter().filter(|n| n.is_live());
    let nodes: Vec<&Node> = match node {
        Some(name) => {
            let n = fleet
                .nodes()
                .iter()
                .find(|n| n.name() == name || n.endpoint == name)
                .ok_or_else(|| {
                    format!("no node named `{name}`; `fleetdeck get nodes` lists them")
                })?;
            if !n.is_live() {
                return Err(format!("{name}: its agent does not answer"));
            }
            vec![n]
        }
        None => live.collect(),
    };
    let found: Vec<(&Node, &Container)> = nodes
        .iter()
        .flat_map(|n| n.containers.values().map(move |c| (*n, c)))
        .filter(|(_, c)| names(c, target))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(match node {
            Some(n) => format!(
                "no container `{target}` on {n}; `fleetdeck get containers --node {n}` lists them"
            ),
            None => format!(
                "no container `{target}` on a reachable node; `fleetdeck get containers` lists them"
            ),
        }),
        several => {
            let mut on: Vec<&str> = several.iter().map(|(n, _)| n.name()).collect();
            on.dedup();
            Err(if on.len() > 1 {
                format!(
                    "`{target}` names containers on several nodes ({}); give --node",
                    on.join(", ")
                )
            } else {
                format!(
                    "`{target}` names several containers on {}; give its full name or id",
                    on[0]
                )
            })
        }
    }
}
