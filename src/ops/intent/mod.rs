//! Durable intents, the console's side: every action is written to every agent this
//! console reaches before anything is created (a claim an overlapping action of another
//! console is refused by), its lease is renewed every few seconds with the step reached,
//! and it is ended when the action ends. A console that dies leaves the intent to expire:
//! each agent then rolls back the uncommitted copies it made, and any console can resume
//! or abort it (`fleetdeck actions`).

use std::collections::BTreeMap;

use fleetdeck_core::intent::{self as rule, Locks, state_name};
use fleetdeck_proto as pb;
use serde::Serialize;

use super::plan::{NodeRef, Plan, Step};
use super::{Proposal, history::target_of};
use crate::client::Connections;

mod held;
pub mod resume;

pub use held::{Held, claim, end_on};

/// One line for failover and drain when no coordination engine is configured.
pub const UNCOORDINATED_WARNING: &str = "warning: other consoles are not coordinated: only consoles that reach the same agents see this action's claim; set `[coordination] etcd = [\"http://HOST:2379\"]` in the config (or FLEETDECK_ETCD) so every console takes its locks in etcd";

/// An intent as the agents hold it, merged over every agent that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentInfo {
    pub id: String,
    pub action: String,
    /// running | interrupted | done | failed | rolled_back
    pub state: String,
    pub owner: String,
    pub owner_pid: u32,
    pub title: String,
    /// Steps done so far, of `steps`.
    pub step: u32,
    pub steps: u32,
    /// Every node it acts on.
    pub nodes: Vec<String>,
    #[serde(skip)]
    pub locked_nodes: Vec<String>,
    #[serde(skip)]
    pub locked_containers: Vec<String>,
    pub started_unix_ms: u64,
    pub updated_unix_ms: u64,
    pub plan: Vec<String>,
    /// What the agents said when they ended or reaped it.
    pub message: String,
    /// The agents holding it, by name, and their endpoints.
    pub held_by: Vec<String>,
    #[serde(skip)]
    pub endpoints: Vec<String>,
    /// The state each of them holds it in.
    #[serde(skip)]
    pub states: Vec<String>,
    #[serde(skip)]
    pub proposal: String,
    /// The plan's steps as its console wrote them (JSON; empty from older consoles).
    #[serde(skip)]
    pub steps_json: String,
    /// Its state as etcd holds it, when etcd holds it.
    #[serde(skip)]
    pub etcd_state: Option<String>,
    /// Every node it acts on, with the endpoint its console reached it at.
    #[serde(skip)]
    pub node_refs: Vec<NodeRef>,
}

/// How far along a state is: a merged intent shows the furthest any agent saw.
fn rank(state: &str) -> u8 {
    match state {
        "running" => 1,
        "interrupted" => 2,
        "done" | "failed" | "rolled_back" => 3,
        _ => 0,
    }
}

impl IntentInfo {
    /// From the wire, as held by agent `node` at `endpoint`.
    pub fn from_wire(r: pb::IntentRecord, node: &str, endpoint: &str) -> Self {
        Self {
            state: state_name(r.state).to_owned(),
            id: r.id,
            action: r.action,
            owner: r.owner,
            owner_pid: r.owner_pid,
            title: r.title,
            step: r.step,
            steps: r.steps,
            nodes: r.nodes,
            locked_nodes: r.locked_nodes,
            locked_containers: r.locked_containers,
            started_unix_ms: r.started_unix_ms,
            updated_unix_ms: r.updated_unix_ms,
            plan: r.plan,
            message: r.message,
            held_by: vec![node.to_owned()],
            endpoints: vec![endpoint.to_owned()],
            states: vec![state_name(r.state).to_owned()],
            proposal: r.proposal,
            steps_json: r.steps_json,
            etcd_state: None,
            node_refs: vec![NodeRef {
                name: node.to_owned(),
                endpoint: endpoint.to_owned(),
            }],
        }
    }

    /// Whether its console still holds it.
    pub fn is_live(&self) -> bool {
        self.state == "running"
    }

    /// Whether it was cut off and waits for a resume or an abort.
    pub fn is_interrupted(&self) -> bool {
        self.state == "interrupted"
    }

    /// The proposal it runs, as written by the console that began it.
    pub fn proposal(&self) -> Option<Proposal> {
        serde_json::from_str(&self.proposal).ok()
    }

    fn locks(&self) -> Locks<'_> {
        Locks {
            nodes: &self.locked_nodes,
            containers: &self.locked_containers,
            touches: &self.nodes,
        }
    }

    fn merge(&mut self, other: Self) {
        if rank(&other.state) > rank(&self.state) {
            self.state = other.state;
            self.message = other.message;
        } else if other.message.len() > self.message.len() && other.state == self.state {
            self.message = other.message;
        }
        self.step = self.step.max(other.step);
        self.updated_unix_ms = self.updated_unix_ms.max(other.updated_unix_ms);
        self.held_by.extend(other.held_by);
        self.endpoints.extend(other.endpoints);
        self.states.extend(other.states);
        self.etcd_state = self.etcd_state.take().or(other.etcd_state);
        if self.steps_json.is_empty() {
            self.steps_json = other.steps_json;
        }
        if self.proposal.is_empty() {
            self.proposal = other.proposal;
        }
        for n in other.node_refs {
            if !self.node_refs.iter().any(|m| m.endpoint == n.endpoint) {
                self.node_refs.push(n);
            }
        }
    }

    /// Whether etcd holds it in a state behind the one the agents saw (an end that did
    /// not reach etcd: an agent reaped it, or an abort from a console without etcd).
    fn etcd_behind(&self) -> bool {
        self.etcd_state
            .as_deref()
            .is_some_and(|s| rank(s) < 3 && rank(&self.state) == 3)
    }
}

/// This console's owner name (`user@host`) and process id.
pub fn owner() -> (String, u32) {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "operator".into());
    let host = sysinfo::System::host_name()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    (format!("{user}@{host}"), std::process::id())
}

/// A fresh intent id: 16 hex digits.
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::tui::unix_ms());
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// What a plan locks: whole nodes for node actions, containers (`node/name`) otherwise,
/// `service/<name>` for a scale; and every node it acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanLocks {
    pub nodes: Vec<String>,
    pub containers: Vec<String>,
    pub touches: Vec<String>,
}

impl PlanLocks {
    /// The locks of `plan`.
    pub fn of(plan: &Plan) -> Self {
        let mut out = Self::default();
        let add = |list: &mut Vec<String>, s: String| {
            if !list.contains(&s) {
                list.push(s);
            }
        };
        match &plan.proposal {
            Proposal::Failover { node }
            | Proposal::Drain { node }
            | Proposal::Cordon { node }
            | Proposal::Uncordon { node } => add(&mut out.nodes, node.clone()),
            Proposal::Scale { service, .. } | Proposal::Rollout { service, .. } => {
                add(&mut out.containers, format!("service/{service}"));
            }
            Proposal::Restore { node, backup } => {
                add(&mut out.containers, format!("{node}/{}", backup.container));
            }
            _ => {}
        }
        for step in &plan.steps {
            let touches = step.nodes();
            for n in &touches {
                add(&mut out.touches, n.name.clone());
            }
            let name = match step {
                Step::Migrate { name, .. }
                | Step::Replicate { name, .. }
                | Step::Remove { name, .. }
                | Step::Verb { name, .. }
                | Step::Backup { name, .. } => name.clone(),
                Step::Create { spec, .. } => spec.name.clone(),
                _ => continue,
            };
            if let Some(on) = touches.first() {
                add(&mut out.containers, format!("{}/{name}", on.name));
            }
        }
        out
    }

    fn locks(&self) -> Locks<'_> {
        Locks {
            nodes: &self.nodes,
            containers: &self.containers,
            touches: &self.touches,
        }
    }

    /// The record an agent keeps for `plan` under `id`.
    pub fn record(&self, id: &str, plan: &Plan) -> pb::IntentRecord {
        pb::IntentRecord {
            id: id.to_owned(),
            action: plan.proposal.kind().to_owned(),
            title: plan.title.clone(),
            plan: plan.lines.clone(),
            proposal: serde_json::to_string(&plan.proposal).unwrap_or_default(),
            steps_json: resume::record(&plan.steps),
            steps: u32::try_from(plan.steps.len()).unwrap_or(u32::MAX),
            locked_nodes: self.nodes.clone(),
            locked_containers: self.containers.clone(),
            nodes: self.touches.clone(),
            ..Default::default()
        }
    }
}

/// The line refusing `plan` when it overlaps a live intent of another console in
/// `claims`; `None` when it does not.
pub fn refusal(claims: &[IntentInfo], plan: &Plan) -> Option<String> {
    let (me, pid) = owner();
    let mine = PlanLocks::of(plan);
    claims
        .iter()
        .filter(|c| c.is_live() && !(c.owner == me && c.owner_pid == pid))
        .find_map(|c| {
            rule::overlap(&mine.locks(), &c.locks())
                .map(|what| rule::holder_line(&what, &c.action, &c.owner, c.started_unix_ms, &c.id))
        })
}

/// Every intent the agents at `endpoints` hold and, with `coord`, every intent etcd
/// holds, merged by id, newest first; and one line per agent (or etcd) that could not be
/// asked.
pub async fn list(
    conns: &Connections,
    endpoints: &[String],
    coord: Option<&crate::coord::Coord>,
) -> (Vec<IntentInfo>, Vec<String>) {
    list_polled(conns, endpoints, coord, &mut Polled::default()).await
}

/// How many polls pass before an agent whose intents did not change is asked again all
/// the same (its stream may be down, or its agent too old to say): a slice of them in
/// turn at each poll.
pub const REASK_EVERY: usize = 15;

/// What a console's periodic poll last heard from each agent. An agent is asked again
/// when its Watch stream says its intents changed (see [`Connections::note_intents`]) and
/// otherwise in turn, so a poll of a large fleet costs calls only where something moved.
#[derive(Debug, Default)]
pub struct Polled {
    heard: std::collections::HashMap<String, Heard>,
    turn: usize,
}

#[derive(Debug)]
struct Heard {
    generation: u64,
    node: String,
    records: Vec<pb::IntentRecord>,
}

impl Polled {
    /// The endpoints to ask now: those never heard, those whose generation moved, and
    /// this poll's share of the rest.
    fn due<'a>(&mut self, conns: &Connections, endpoints: &'a [String]) -> Vec<&'a String> {
        let heard = &self.heard;
        super::due_in_turn(endpoints, &mut self.turn, REASK_EVERY, |e| {
            match (heard.get(e), conns.intents_generation(e)) {
                (Some(h), Some(g)) => h.generation != g,
                _ => true,
            }
        })
    }
}

/// [`list`] asking only the agents that `polled` finds due, the others' intents as they
/// last said.
pub async fn list_polled(
    conns: &Connections,
    endpoints: &[String],
    coord: Option<&crate::coord::Coord>,
    polled: &mut Polled,
) -> (Vec<IntentInfo>, Vec<String>) {
    let due = polled.due(conns, endpoints);
    let asks = due.into_iter().map(|e| async move {
        let answer = async {
            let mut link = super::link::Link::open(conns, e, e).await?;
            let node = link
                .info()
                .await
                .map(|i| i.node_id)
                .unwrap_or_else(|_| e.clone());
            link.list_intents().await.map(|r| (node, r))
        };
        (e, answer.await)
    });
    let in_etcd = async {
        match coord {
            Some(c) => Some(crate::coord::intents::list(&c.etcd).await),
            None => None,
        }
    };
    let (answers, in_etcd) = futures::future::join(futures::future::join_all(asks), in_etcd).await;
    let mut merged: BTreeMap<String, IntentInfo> = BTreeMap::new();
    let mut add = |info: IntentInfo| match merged.get_mut(&info.id) {
        Some(m) => m.merge(info),
        None => {
            merged.insert(info.id.clone(), info);
        }
    };
    let mut errors = Vec::new();
    for (endpoint, r) in answers {
        match r {
            Ok((node, reply)) => {
                let heard = Heard {
                    generation: reply.generation,
                    node,
                    records: reply.intents,
                };
                polled.heard.insert(endpoint.clone(), heard);
            }
            Err(e) => {
                polled.heard.remove(endpoint);
                errors.push(e.to_string());
            }
        }
    }
    for endpoint in endpoints {
        if let Some(h) = polled.heard.get(endpoint) {
            for rec in &h.records {
                add(IntentInfo::from_wire(rec.clone(), &h.node, endpoint));
            }
        }
    }
    match in_etcd {
        Some(Ok(list)) => list.into_iter().for_each(&mut add),
        Some(Err(e)) => errors.push(format!("the actions etcd holds are not shown: {e}")),
        None => {}
    }
    let mut out: Vec<IntentInfo> = merged.into_values().collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.started_unix_ms));
    (out, errors)
}

/// Ends, on the agents that still hold them running or interrupted, the intents another
/// agent holds as ended: an end that did not reach every agent (one restarting, one cut
/// off) would otherwise keep a stale claim there until its lease runs out.
pub async fn settle(conns: &Connections, list: &[IntentInfo], coord: Option<&crate::coord::Coord>) {
    for info in list {
        if info.etcd_behind()
            && let Some(c) = coord
            && let Err(e) =
                crate::coord::intents::mark(&c.etcd, &info.id, &info.state, &info.message).await
        {
            tracing::warn!("action {} not ended in etcd: {e}", info.id);
        }
        let state = match info.state.as_str() {
            "done" => pb::IntentState::Done,
            "failed" => pb::IntentState::Failed,
            "rolled_back" => pb::IntentState::RolledBack,
            _ => continue,
        };
        let behind: Vec<super::plan::NodeRef> = info
            .states
            .iter()
            .zip(info.held_by.iter().zip(&info.endpoints))
            .filter(|(s, _)| rank(s) < rank(&info.state))
            .map(|(_, (n, e))| super::plan::NodeRef {
                name: n.clone(),
                endpoint: e.clone(),
            })
            .collect();
        if !behind.is_empty() {
            let message = format!("ended on another agent: {}", info.message);
            end_on(conns, &behind, &info.id, state, &message).await;
        }
    }
}

/// Rolls back interrupted intent `info` on every agent known to hold it or to be touched
/// by it that answers, and in etcd when `coord` is given; one line per place.
pub async fn abort(
    conns: &Connections,
    info: &IntentInfo,
    coord: Option<&crate::coord::Coord>,
    message: &str,
) -> Vec<String> {
    let mut lines = end_on(
        conns,
        &info.node_refs,
        &info.id,
        pb::IntentState::RolledBack,
        message,
    )
    .await;
    if let Some(c) = coord
        && info.etcd_state.is_some()
    {
        lines.push(
            match crate::coord::intents::mark(&c.etcd, &info.id, "rolled_back", message).await {
                Ok(()) => "etcd: marked rolled back".to_owned(),
                Err(e) => format!("etcd: not marked rolled back: {e}"),
            },
        );
    }
    lines
}

/// The intent `id` names (the whole id or a unique prefix) in `list`.
pub fn find<'a>(list: &'a [IntentInfo], id: &str) -> Result<&'a IntentInfo, String> {
    let found: Vec<&IntentInfo> = list.iter().filter(|i| i.id.starts_with(id)).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no action `{id}` on the agents this console reaches (or in etcd); `fleetdeck actions` lists them"
        )),
        _ => Err(format!("`{id}` names several actions; give more of the id")),
    }
}

/// The target shown for an intent's proposal (for history lines).
pub fn target(info: &IntentInfo) -> String {
    info.proposal()
        .map_or_else(|| info.title.clone(), |p| target_of(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(generation: u64) -> Heard {
        Heard {
            generation,
            node: "n".into(),
            records: Vec::new(),
        }
    }

    #[test]
    fn a_poll_asks_the_unheard_the_changed_and_the_rest_in_turn() {
        let conns = Connections::new(
            crate::client::Credentials::default(),
            std::time::Duration::from_secs(1),
        );
        let endpoints: Vec<String> = (0..30).map(|i| format!("10.0.0.{i}:7400")).collect();
        let mut polled = Polled::default();
        // Nothing heard yet: every agent is asked.
        assert_eq!(polled.due(&conns, &endpoints).len(), 30);
        for e in &endpoints {
            conns.note_intents(e, 5);
            polled.heard.insert(e.clone(), heard(5));
        }
        // Quiet agents: two a poll (30 over REASK_EVERY), every one within REASK_EVERY polls.
        let mut asked = std::collections::BTreeSet::new();
        for _ in 0..REASK_EVERY {
            let due = polled.due(&conns, &endpoints);
            assert_eq!(due.len(), 2, "{due:?}");
            asked.extend(due.into_iter().cloned());
        }
        assert_eq!(asked.len(), 30);
        // One agent's intents changed, and one was never heard (its last call failed).
        conns.note_intents(&endpoints[7], 6);
        polled.heard.remove(&endpoints[20]);
        let due = polled.due(&conns, &endpoints);
        assert!(due.contains(&&endpoints[7]), "{due:?}");
        assert!(due.contains(&&endpoints[20]), "{due:?}");
        assert_eq!(due.len(), 4, "{due:?}");
    }
}
