//! An intent this console holds: claimed on every agent it reaches, its lease renewed in
//! a task with the step reached, ended when the action ends.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_core::intent::RENEW_INTERVAL;
use fleetdeck_proto as pb;
use pb::intent_request::Op;
use tokio::task::JoinHandle;

use super::{PlanLocks, owner};
use crate::client::Connections;
use crate::ops::link::{Link, LinkFailure};
use crate::ops::plan::{NodeRef, Plan};

/// A claimed intent; dropping it stops the renewals (the leases then expire).
#[derive(Debug)]
pub struct Held {
    id: String,
    owner: (String, u32),
    conns: Connections,
    /// Agents that accepted the claim.
    nodes: Vec<NodeRef>,
    /// Every node the claim was written to, answering or not.
    on: Vec<NodeRef>,
    record: pb::IntentRecord,
    step: Arc<AtomicU32>,
    /// Wakes the renewer so a step reached is on the agents at once.
    nudge: Arc<tokio::sync::Notify>,
    lost: Arc<Mutex<Option<String>>>,
    renewer: JoinHandle<()>,
    /// The intent's record in etcd, when consoles coordinate there.
    tracked: Option<crate::coord::intents::Tracked>,
}

fn request(id: &str, (who, pid): &(String, u32), lease: Duration, op: Op) -> pb::IntentRequest {
    pb::IntentRequest {
        intent_id: id.to_owned(),
        requested_by: who.clone(),
        owner_pid: *pid,
        lease_ms: u32::try_from(lease.as_millis()).unwrap_or(u32::MAX),
        op: Some(op),
    }
}

/// Writes `plan` as intent `id` to every agent of `on` that answers, before anything is
/// created: the one place an action takes its claims (and, with a coordination engine,
/// its locks). Refused, in one line naming the holder, when an agent holds an
/// overlapping live intent of another console; the agents that accepted are released.
pub async fn claim(
    conns: &Connections,
    on: &[NodeRef],
    plan: &Plan,
    id: &str,
    lease: Duration,
) -> Result<Held, String> {
    let who = owner();
    let record = PlanLocks::of(plan).record(id, plan);
    let begins = on.iter().map(|n| {
        let req = request(id, &who, lease, Op::Begin(record.clone()));
        async move {
            let mut link = Link::open(conns, &n.name, &n.endpoint).await?;
            link.intent(req).await.map(|_| n.clone())
        }
    });
    let mut accepted = Vec::new();
    let mut refused = None;
    for (n, r) in on.iter().zip(futures::future::join_all(begins).await) {
        match r {
            Ok(n) => accepted.push(n),
            Err(LinkFailure::Refused { message, .. }) => refused = Some(message),
            // An agent that does not answer cannot hold a claim: the action's own steps
            // find out whether they need it.
            Err(e) => tracing::warn!("intent {id} not written to {}: {e}", n.name),
        }
    }
    if let Some(line) = refused {
        end_on(
            conns,
            &accepted,
            id,
            pb::IntentState::RolledBack,
            "refused: another console holds an overlapping action",
        )
        .await;
        return Err(line);
    }
    if accepted.is_empty() && !on.is_empty() {
        return Err("no agent answered: the action was not started".into());
    }
    let step = Arc::new(AtomicU32::new(0));
    let nudge = Arc::new(tokio::sync::Notify::new());
    let lost = Arc::new(Mutex::new(None));
    let renewer = tokio::spawn(renew(
        conns.clone(),
        accepted.clone(),
        (id.to_owned(), who.clone(), lease),
        (Arc::clone(&step), Arc::clone(&nudge)),
        Arc::clone(&lost),
    ));
    Ok(Held {
        id: id.to_owned(),
        owner: who,
        conns: conns.clone(),
        nodes: accepted,
        on: on.to_vec(),
        record,
        step,
        nudge,
        lost,
        renewer,
        tracked: None,
    })
}

async fn renew(
    conns: Connections,
    nodes: Vec<NodeRef>,
    (id, who, lease): (String, (String, u32), Duration),
    (step, nudge): (Arc<AtomicU32>, Arc<tokio::sync::Notify>),
    lost: Arc<Mutex<Option<String>>>,
) {
    let mut every = tokio::time::interval(RENEW_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = nudge.notified() => every.reset(),
        }
        let s = step.load(Ordering::Relaxed);
        let renewals = nodes.iter().map(|n| {
            let req = request(&id, &who, lease, Op::RenewStep(s));
            let conns = conns.clone();
            async move {
                let mut link = Link::open(&conns, &n.name, &n.endpoint).await?;
                link.intent(req).await
            }
        });
        for (n, r) in nodes.iter().zip(futures::future::join_all(renewals).await) {
            match r {
                Ok(_) => {}
                // The agent gave the intent up (lease expired while unreachable, agent
                // restarted after it expired): its copies are rolled back there.
                Err(LinkFailure::Refused { message, .. }) => {
                    let mut l = lost
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    l.get_or_insert_with(|| format!("{}: {message}", n.name));
                }
                Err(e) => tracing::warn!("lease of intent {id} not renewed on {}: {e}", n.name),
            }
        }
    }
}

impl Held {
    /// The intent's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records that `done` steps are done (sent with the next renewal).
    pub fn set_step(&self, done: usize) {
        self.step
            .store(u32::try_from(done).unwrap_or(u32::MAX), Ordering::Relaxed);
    }

    /// Records that `done` steps are done, on the agents at once (with a renewal) and in
    /// etcd, so a resume after a crash knows where the action was.
    pub async fn advance(&self, done: usize) {
        let before = self.step.load(Ordering::Relaxed);
        self.set_step(done);
        let now = self.step.load(Ordering::Relaxed);
        if now == before {
            return;
        }
        self.nudge.notify_one();
        if let Some(t) = &self.tracked
            && let Err(e) = t.step(now).await
        {
            tracing::warn!("step of action {} not recorded in etcd: {e}", self.id);
        }
    }

    /// Writes the intent to etcd beside the agents, its live key bound to `lease` (that of
    /// the action's locks): other consoles then see it whatever agents they follow.
    pub async fn track_in_etcd(
        &mut self,
        coord: &crate::coord::Coord,
        lease: i64,
    ) -> Result<(), crate::coord::EtcdError> {
        let r = &self.record;
        let record = crate::coord::intents::Record {
            id: self.id.clone(),
            action: r.action.clone(),
            title: r.title.clone(),
            owner: self.owner.0.clone(),
            owner_pid: self.owner.1,
            proposal: r.proposal.clone(),
            plan: r.plan.clone(),
            step: self.step.load(Ordering::Relaxed),
            steps: r.steps,
            nodes: self
                .on
                .iter()
                .filter(|n| r.nodes.contains(&n.name))
                .map(|n| (n.name.clone(), n.endpoint.clone()))
                .collect(),
            locked_nodes: r.locked_nodes.clone(),
            locked_containers: r.locked_containers.clone(),
            state: String::new(),
            message: String::new(),
            started_unix_ms: 0,
            updated_unix_ms: 0,
        };
        let tracked = crate::coord::intents::Tracked::begin(&coord.etcd, lease, record).await?;
        self.tracked = Some(tracked);
        Ok(())
    }

    /// Why the lease was lost on some agent, once it was: the action stops before its
    /// next step.
    pub fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Ends the intent on every agent that holds it.
    pub async fn end(self, state: pb::IntentState, message: &str) {
        self.renewer.abort();
        if let Some(t) = &self.tracked
            && let Err(e) = t
                .end(fleetdeck_core::intent::state_name(state as i32), message)
                .await
        {
            tracing::warn!("end of action {} not recorded in etcd: {e}", self.id);
        }
        end_on(&self.conns, &self.nodes, &self.id, state, message).await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Ends intent `id` with `state` on the agents `nodes` (each rolls back its uncommitted
/// copies unless `state` is DONE); says what they did, one line each.
pub async fn end_on(
    conns: &Connections,
    nodes: &[NodeRef],
    id: &str,
    state: pb::IntentState,
    message: &str,
) -> Vec<String> {
    let who = owner();
    let ends = nodes.iter().map(|n| {
        let req = request(
            id,
            &who,
            Duration::ZERO,
            Op::End(pb::IntentEnd {
                state: state as i32,
                message: message.to_owned(),
            }),
        );
        async move {
            let mut link = Link::open(conns, &n.name, &n.endpoint).await?;
            link.intent(req).await
        }
    });
    let mut out = Vec::new();
    for (n, r) in nodes.iter().zip(futures::future::join_all(ends).await) {
        match r {
            Ok(reply) => out.push(format!("{}: {}", n.name, reply.message)),
            Err(e) => {
                tracing::warn!("intent {id} not ended on {}: {e}", n.name);
                out.push(format!("{e}"));
            }
        }
    }
    out
}
