//! The checks every action makes on every node it touches, in one place: a node waiting to
//! be fenced after a failover is neither acted on nor given a copy; a node acted on must
//! answer (or, for a failover, be FAILED); a copy goes only where it fits and where no
//! other copy on the same container engine holds the host port it publishes.

use super::{Demand, Node, PlanError, PlanInput, Room, no_room};
use crate::model::NodeState;

/// A copy of a container looking for a node.
#[derive(Debug, Clone)]
pub(super) struct Placing<'a> {
    /// The container's name, for messages.
    pub name: &'a str,
    pub demand: Demand,
    /// The node the copy leaves, never its own target (empty when nothing leaves).
    pub from: &'a str,
    /// A host port the copy publishes at a fixed number (`port/protocol`); a port the
    /// engine picked is not fixed.
    pub host_port: Option<String>,
    /// Container engines where that host port is held meanwhile (by the source until the
    /// copy is healthy, by a failed node's stale copy, by another replica).
    pub held_on: Vec<&'a str>,
}

impl<'a> Placing<'a> {
    /// A copy of `name` with no fixed host port.
    pub fn new(name: &'a str, demand: Demand, from: &'a str) -> Self {
        Self {
            name,
            demand,
            from,
            host_port: None,
            held_on: Vec::new(),
        }
    }

    /// The same copy publishing the first fixed host port of `ports` (container port,
    /// host port, protocol), held on `engine` meanwhile (an empty id is no engine).
    pub fn with_ports(mut self, ports: &[(u16, u16, String)], engine: Option<&'a str>) -> Self {
        self.host_port = ports
            .iter()
            .find(|(_, hp, _)| *hp != 0)
            .map(|(_, hp, proto)| format!("{hp}/{proto}"));
        self.hold(engine);
        self
    }

    /// Notes that the host port is held on `engine` too.
    pub fn hold(&mut self, engine: Option<&'a str>) {
        if let Some(e) = engine.filter(|e| !e.is_empty())
            && !self.held_on.contains(&e)
        {
            self.held_on.push(e);
        }
    }
}

/// The container engine of `node`, when it reports one.
pub(super) fn engine(node: &Node) -> Option<&str> {
    node.info
        .as_ref()
        .map(|i| i.engine_id.as_str())
        .filter(|e| !e.is_empty())
}

/// What a planner is about to do with a node.
#[derive(Debug, Clone, Copy)]
pub(super) enum Role<'r, 'p> {
    /// Act on it (its containers, its mode, its backups): it must answer.
    Act,
    /// Re-create its containers elsewhere: it must be FAILED.
    FailedOver,
    /// Give it `placing`, which takes from `room` (the node's room as planned so far).
    Target(&'r Room, &'r Placing<'p>),
}

/// Why a node failed a check, in the order they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unfit {
    /// It waits to be fenced after a failover.
    Fencing,
    /// Its state does not suit the role (does not answer, takes no placements, not FAILED).
    State,
    /// The copy would land on the node it leaves.
    Source,
    /// It shares a container engine where the copy's fixed host port is held.
    Port,
    /// Not enough free CPU or memory.
    Room,
}

/// The checks every action runs on a node it touches; the first that fails says why.
pub(super) fn check(input: &PlanInput<'_>, node: &Node, role: Role<'_, '_>) -> Result<(), Unfit> {
    let state = node.state(input.now, input.fleet.failover_timeout());
    // A FAILED node with an unfenced failover is still down: only what is not yet
    // re-created elsewhere is left to fail over. Once it answers, it is fenced first.
    let down_for_failover = matches!(role, Role::FailedOver) && state == NodeState::Failed;
    if input.is_fencing(node.name()) && !down_for_failover {
        return Err(Unfit::Fencing);
    }
    match role {
        Role::Act if !node.is_live() => Err(Unfit::State),
        Role::Act => Ok(()),
        Role::FailedOver if state != NodeState::Failed => Err(Unfit::State),
        Role::FailedOver => Ok(()),
        Role::Target(room, p) => {
            if !matches!(state, NodeState::Active | NodeState::Standby) {
                Err(Unfit::State)
            } else if node.name() == p.from {
                Err(Unfit::Source)
            } else if p.host_port.is_some() && engine(node).is_some_and(|e| p.held_on.contains(&e))
            {
                Err(Unfit::Port)
            } else if !room.fits(p.demand) {
                Err(Unfit::Room)
            } else {
                Ok(())
            }
        }
    }
}

/// [`check`] of `room`'s node as the target of `p`.
pub(super) fn check_room(input: &PlanInput<'_>, room: &Room, p: &Placing<'_>) -> Result<(), Unfit> {
    let node = input.fleet.node(room.slot).ok_or(Unfit::State)?;
    check(input, node, Role::Target(room, p))
}

/// The best-fit room that passes every check for `p` and `also` (STANDBY first with
/// `prefer_standby`).
pub(super) fn place(
    input: &PlanInput<'_>,
    rooms: &[Room],
    p: &Placing<'_>,
    prefer_standby: bool,
    also: impl Fn(&Room) -> bool,
) -> Option<usize> {
    super::placement::best_fit(
        rooms,
        p.demand,
        |r| also(r) && check_room(input, r, p).is_ok(),
        prefer_standby,
    )
}

/// Where `p` would go if its host port were not in the way: a room that fails only the
/// port check (best fit first).
pub(super) fn shut_out_by_port(
    input: &PlanInput<'_>,
    rooms: &[Room],
    p: &Placing<'_>,
    prefer_standby: bool,
) -> Option<usize> {
    super::placement::best_fit(
        rooms,
        p.demand,
        |r| matches!(check_room(input, r, p), Ok(()) | Err(Unfit::Port)),
        prefer_standby,
    )
}

/// Why `p` cannot move from `from` to `to`: both sit on one container engine and it
/// publishes a fixed host port, which the copy and the source cannot bind at once, so
/// make-before-break would fail when the copy starts.
pub(super) fn port_clash_message(p: &Placing<'_>, to: &str) -> String {
    format!(
        "{} publishes host port {} and {} and {to} share one Docker engine: the copy could not bind it while {} runs; move it to a node on another engine",
        p.name,
        p.host_port.as_deref().unwrap_or_default(),
        p.from,
        p.name
    )
}

/// The best-fit room for `p` (leaving `p.from`); the error says what is missing where: a
/// host port it cannot share with the nodes that had room, else lack of room.
pub(super) fn best_target(
    input: &PlanInput<'_>,
    rooms: &[Room],
    p: &Placing<'_>,
) -> Result<usize, PlanError> {
    place(input, rooms, p, false, |_| true).ok_or_else(|| {
        match shut_out_by_port(input, rooms, p, false) {
            Some(i) => PlanError::Invalid(port_clash_message(p, &rooms[i].name)),
            None => no_room(p.name, p.demand, rooms),
        }
    })
}
