//! Rollback when a failover or a scale loses a target mid-action, over real sim agents on
//! loopback: the console reaches one target through a proxy the test pauses once a first
//! copy is made elsewhere, so the action stands at its next creation there while its lease
//! on that agent runs out. The action stops before anything more is made and rolls back
//! what it created: the copies made so far were never committed, so the agents remove
//! them, and no container of the action remains.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetdeck::client::AgentAddr;
use fleetdeck::ops::plan::{NodeRef, Plan, Step};
use fleetdeck::ops::{Outcome, Proposal};
use fleetdeck_agent::{NodeMode, RunningAgent};

use crate::intents::of_intent;
use crate::support::ops::{Cluster, eventually_within, spawn_on};
use crate::support::tcp_proxy::TcpProxy;

/// Lease (15 s) plus one reaper interval (5 s), with room.
const CLEAN_WITHIN: Duration = Duration::from_secs(30);

/// Plans `p` on the fleet as seen through `endpoints` (a proxy standing for an agent).
async fn plan_via(c: &Cluster, endpoints: &[String], p: &Proposal) -> Plan {
    let addrs: Vec<AgentAddr> = endpoints.iter().map(|e| e.parse().unwrap()).collect();
    let fleet = fleetdeck::get::fleet_once(&addrs, Duration::from_secs(2), &c.conns()).await;
    c.plan_on(&fleet, p).await.unwrap()
}

/// Where each creation of `plan` goes: the first on `first`, the last on `last`, the rest
/// on `first`; a name already taken on the node it now goes to gets a suffix.
fn spread(
    plan: &mut Plan,
    (first, last): (&NodeRef, &NodeRef),
    taken: impl Fn(&str, &str) -> bool,
) {
    let creations: Vec<usize> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Step::Create { .. } | Step::Replicate { .. }))
        .map(|(i, _)| i)
        .collect();
    assert!(
        creations.len() >= 2,
        "two creations at least: {:#?}",
        plan.lines
    );
    let end = *creations.last().unwrap();
    for i in creations {
        let to = if i == end { last } else { first };
        match &mut plan.steps[i] {
            Step::Create { on, spec, .. } => {
                *on = to.clone();
                if taken(&to.name, &spec.name) {
                    spec.name = format!("{}-moved", spec.name);
                }
            }
            Step::Replicate { on, .. } => *on = to.clone(),
            _ => unreachable!(),
        }
    }
}

/// The id of the intent `agent` holds for `action`.
fn intent_of(agent: &RunningAgent, action: &str) -> Option<fleetdeck_proto::IntentRecord> {
    agent
        .actions()
        .intents()
        .into_iter()
        .find(|i| i.action == action)
}

type Running = (
    tokio::task::JoinHandle<Outcome>,
    tokio::sync::mpsc::Receiver<fleetdeck::ops::OpEvent>,
    fleetdeck_agent::cancel::CancelSource,
);

/// Starts `plan` on `exec`; once the claim is on `paused`, holds every call to it at
/// `proxy` and waits until a copy is made on `first`. Returns the run and the intent id.
async fn held_at_the_second_target(
    exec: fleetdeck::ops::exec::Executor,
    plan: &Plan,
    (proxy, paused, first): (&TcpProxy, &RunningAgent, &RunningAgent),
) -> (Running, String) {
    let action = plan.proposal.kind();
    let running = spawn_on(exec, plan);
    let mut claimed = None;
    eventually_within("the claim on the paused agent", CLEAN_WITHIN, || {
        claimed = intent_of(paused, action);
        claimed.is_some()
    })
    .await;
    // The claim has reached the agent (its answer may still be on its way back): from
    // now on nothing more reaches it, so the action stands at its next call there.
    proxy.pause_requests();
    let id = claimed.unwrap().id;
    eventually_within("a copy is made on the first target", CLEAN_WITHIN, || {
        of_intent(first, &id) > 0
    })
    .await;
    (running, id)
}

/// Runs `plan` held at its second target until the lease has run out there; returns the
/// outcome and the intent id.
async fn lose_the_lease(
    c: &Cluster,
    plan: &Plan,
    agents: &[String],
    (proxy, paused, first): (&TcpProxy, &RunningAgent, &RunningAgent),
) -> (Outcome, String) {
    let exec = c.executor().with_agents(agents);
    let ((task, mut rx, _cancel), id) =
        held_at_the_second_target(exec, plan, (proxy, paused, first)).await;
    let action = plan.proposal.kind();
    eventually_within(
        "the lease runs out on the paused agent",
        CLEAN_WITHIN,
        || {
            intent_of(paused, action)
                .is_some_and(|i| i.lease_expires_unix_ms < fleetdeck_agent::actions::unix_ms())
        },
    )
    .await;
    proxy.resume();
    while rx.recv().await.is_some() {}
    (task.await.unwrap(), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_cut_off_from_a_target_rolls_back_its_copies() {
    let mut c = crate::intents_kill::n1_and_two_standbys().await;
    c.specs().await;
    c.nodes[0].kill().await;
    let proxy = TcpProxy::to(c.nodes[2].agent().addr()).await;
    let agents = vec![c.nodes[1].addr.clone(), proxy.addr.clone()];
    let via = [vec![c.nodes[0].addr.clone()], agents.clone()].concat();
    let mut plan = plan_via(&c, &via, &Proposal::Failover { node: "n1".into() }).await;
    let n2 = NodeRef {
        name: "n2".into(),
        endpoint: c.nodes[1].addr.clone(),
    };
    let n3 = NodeRef {
        name: "n3".into(),
        endpoint: proxy.addr.clone(),
    };
    let taken = |node: &str, name: &str| {
        let i = if node == "n2" { 1 } else { 2 };
        c.nodes[i]
            .agent()
            .snapshot()
            .containers
            .iter()
            .any(|x| x.spec.name == name)
    };
    spread(&mut plan, (&n2, &n3), taken);
    let (outcome, id) = lose_the_lease(
        &c,
        &plan,
        &agents,
        (&proxy, c.nodes[2].agent(), c.nodes[1].agent()),
    )
    .await;
    assert!(!matches!(outcome, Outcome::Done(_)), "{outcome:?}");

    eventually_within("no copy of the failover remains", CLEAN_WITHIN, || {
        of_intent(c.nodes[1].agent(), &id) == 0 && of_intent(c.nodes[2].agent(), &id) == 0
    })
    .await;
    let held = intent_of(c.nodes[1].agent(), "failover").unwrap();
    assert_ne!(
        fleetdeck_core::intent::state_name(held.state),
        "done",
        "{held:?}"
    );
}

/// Two nodes, n2 behind a proxy; a scale by two of a service n2 runs no replica of,
/// its first new replica on n1 and its second on n2. Returns the cluster, the proxy, the
/// console's agents, the plan, the service and its replica count.
async fn scale_across() -> (Cluster, TcpProxy, Vec<String>, Plan, String, usize) {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    // A service n2 runs no replica of: its new replicas are made from n1's spec, so the
    // first one is made while n2 is held.
    let on = |i: usize| c.nodes[i].agent().snapshot().containers;
    let svc = on(0)
        .iter()
        .filter(|x| !x.spec.service.is_empty() && x.status.state.is_up())
        .map(|x| x.spec.service.clone())
        .find(|s| on(1).iter().all(|x| x.spec.service != *s))
        .expect("a service with replicas on n1 only");
    let proxy = TcpProxy::to(c.nodes[1].agent().addr()).await;
    let agents = vec![c.nodes[0].addr.clone(), proxy.addr.clone()];
    let replicas = replicas_of(&c, &svc);
    let mut plan = plan_via(
        &c,
        &agents,
        &Proposal::Scale {
            service: svc.clone(),
            replicas: replicas + 2,
        },
    )
    .await;
    let n1 = NodeRef {
        name: "n1".into(),
        endpoint: c.nodes[0].addr.clone(),
    };
    let n2 = NodeRef {
        name: "n2".into(),
        endpoint: proxy.addr.clone(),
    };
    spread(&mut plan, (&n1, &n2), |_, _| false);
    (c, proxy, agents, plan, svc, replicas)
}

/// Waits until no new replica of intent `id` remains and `svc` has `replicas` again.
async fn none_left(c: &Cluster, id: &str, (svc, replicas): (&str, usize)) {
    eventually_within("no new replica remains", CLEAN_WITHIN, || {
        of_intent(c.nodes[0].agent(), id) == 0 && of_intent(c.nodes[1].agent(), id) == 0
    })
    .await;
    assert_eq!(
        replicas_of(c, svc),
        replicas,
        "{svc} has the replicas it had"
    );
}

fn replicas_of(c: &Cluster, svc: &str) -> usize {
    crate::support::ops::service_replicas(
        c.nodes
            .iter()
            .map(|n| (n.config.node_id.as_str(), n.agent())),
        svc,
    )
    .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scale_cut_off_from_a_target_rolls_back_its_new_replicas() {
    let (c, proxy, agents, plan, svc, replicas) = scale_across().await;
    let (outcome, id) = lose_the_lease(
        &c,
        &plan,
        &agents,
        (&proxy, c.nodes[1].agent(), c.nodes[0].agent()),
    )
    .await;
    assert!(!matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    none_left(&c, &id, (&svc, replicas)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scale_whose_etcd_lease_is_lost_stops_at_once_and_rolls_back() {
    use crate::support::etcd::{self, EtcdServer};
    if !etcd::available("a_scale_whose_etcd_lease_is_lost_stops_at_once_and_rolls_back") {
        return;
    }
    let mut server = EtcdServer::start().await;
    let (c, proxy, agents, plan, svc, replicas) = scale_across().await;
    let mut coord = server.coord("/fleetdeck-test-scale-etcd/");
    coord.ttl = Duration::from_secs(3);
    let mut exec = c.executor().with_agents(&agents);
    exec.coord = Some(coord);
    let ((task, mut rx, _cancel), id) = held_at_the_second_target(
        exec,
        &plan,
        (&proxy, c.nodes[1].agent(), c.nodes[0].agent()),
    )
    .await;
    // Held at its creation on n2, the scale loses its etcd lease: it stops there, without
    // waiting for the held call, and ends failed.
    server.kill();
    while rx.recv().await.is_some() {}
    let outcome = task.await.unwrap();
    let Outcome::Failed(m) = &outcome else {
        panic!("expected a failure: {outcome:?}")
    };
    assert!(m.contains("etcd lease"), "{m}");
    // The calls held for n2 arrive late: the creation, then the end; the agent removes
    // whatever the creation made.
    proxy.resume();
    none_left(&c, &id, (&svc, replicas)).await;
}
