//! A resume continues from the recorded step: a drain over real sim agents is cut off
//! (its console's task dropped, its lease left to lapse, as a killed console's would)
//! after some of its migrations; `fleetdeck actions resume` runs only the steps not yet
//! done, says which it skipped, and the node ends drained with every container once. A
//! failover cut off after its first re-creation, resumed, re-creates each container once.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetdeck::ops::plan::Step;
use fleetdeck::ops::{OpEvent, Proposal};
use fleetdeck_agent::NodeMode;
use fleetdeck_core::labels::{INTENT_LABEL, PENDING_LABEL, REPLACES_LABEL};
use tokio::sync::mpsc;

use crate::intents::run;
use crate::support::ops::{self, Cluster, eventually_within};

const ID: &str = "0cc0cc0cc0cc0cc0";

/// Containers named `name` on `agent`.
fn named(agent: &fleetdeck_agent::RunningAgent, name: &str) -> usize {
    agent
        .snapshot()
        .containers
        .iter()
        .filter(|c| c.spec.name == name)
        .count()
}

/// Containers on `nodes` whose `label` is `value`.
fn labelled(nodes: &[crate::support::ops::Node], label: &str, value: &str) -> usize {
    nodes
        .iter()
        .flat_map(|n| n.agent().snapshot().containers)
        .filter(|x| x.spec.labels.get(label).map(String::as_str) == Some(value))
        .count()
}

/// Waits until the reaper has left no uncommitted copy on `nodes`.
async fn reaped(nodes: &[crate::support::ops::Node]) {
    eventually_within(
        "no uncommitted copy is left",
        Duration::from_secs(30),
        || {
            nodes.iter().all(|n| {
                n.agent()
                    .snapshot()
                    .containers
                    .iter()
                    .all(|x| !x.spec.labels.contains_key(PENDING_LABEL))
            })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_resumed_drain_runs_only_the_steps_not_done() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 4).await;
    let plan = c
        .plan(&Proposal::Drain { node: "n1".into() })
        .await
        .unwrap();
    let moves: Vec<(String, String)> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Migrate { new_name, to, .. } => Some((new_name.clone(), to.name.clone())),
            _ => None,
        })
        .collect();
    assert!(
        moves.len() >= 3,
        "a drain of several steps: {:?}",
        plan.lines
    );
    let total = plan.steps.len();
    let before: usize = c.nodes[1..]
        .iter()
        .map(|n| n.agent().snapshot().containers.len())
        .sum();
    // The console runs the drain until the third step (the second migrate) has begun,
    // then dies: its task is dropped and its 2 s lease lapses on the agents.
    let mut exec = c.executor().with_agents(&c.endpoints());
    exec.lease = Duration::from_secs(2);
    let (tx, mut rx) = mpsc::channel(1024);
    let (_stop, cancel) = fleetdeck_agent::cancel::channel();
    let p = plan.clone();
    let task = tokio::spawn(async move { exec.run_intent(1, &p, ID, cancel, tx).await });
    let third = 100.0 * 2.0 / total as f32;
    while let Some(ev) = rx.recv().await {
        if matches!(ev, OpEvent::Progress { percent, .. } if percent >= third) {
            break;
        }
        assert!(
            !matches!(ev, OpEvent::Finished { .. }),
            "ended early: {ev:?}"
        );
    }
    task.abort();
    let _ = task.await;
    let home = tempfile::tempdir().unwrap();
    let state = |listed: &str| -> String {
        let list: serde_json::Value = serde_json::from_str(listed).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == ID)
            .map(|i| i["state"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let started = std::time::Instant::now();
    loop {
        let (_, out, _) = run(home.path(), &c.endpoints(), &["actions", "-o", "json"]).await;
        if state(&out) == "interrupted" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The reaper has removed any half-made copy of the step that was cut off.
    reaped(&c.nodes).await;
    let (ok, out, err) = run(
        home.path(),
        &c.endpoints(),
        &["actions", "resume", ID, "--yes"],
    )
    .await;
    assert!(ok, "{out}{err}");
    // The drain's first step and the first migrate are skipped and said to be.
    assert!(
        err.contains(&format!("skip step 1 of {total} (set n1 to MAINTENANCE)")),
        "{err}"
    );
    assert!(
        err.contains(&format!("skip step 2 of {total} (migrate ")),
        "{err}"
    );
    assert!(
        err.contains(&format!("run step {total} of {total} (migrate ")),
        "{err}"
    );
    // n1 is empty, and every container it had runs once, where the plan put it.
    assert!(ops::running(c.nodes[0].agent()).is_empty());
    for (name, to) in &moves {
        let i = c
            .nodes
            .iter()
            .position(|n| n.config.node_id == *to)
            .unwrap();
        assert_eq!(named(c.nodes[i].agent(), name), 1, "{name} on {to}");
    }
    let after: usize = c.nodes[1..]
        .iter()
        .map(|n| n.agent().snapshot().containers.len())
        .sum();
    assert_eq!(after, before + moves.len(), "no container made twice");
    assert_eq!(labelled(&c.nodes[1..], INTENT_LABEL, ID), moves.len());
    let (_, out, _) = run(home.path(), &c.endpoints(), &["actions", "-o", "json"]).await;
    assert_eq!(state(&out), "done", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_resumed_failover_recreates_each_container_once() {
    let mut c = Cluster::start(&[NodeMode::Standby, NodeMode::Standby, NodeMode::Active], 4).await;
    c.specs().await;
    let originals: Vec<String> = ops::running(c.nodes[2].agent())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(originals.len() >= 3, "{originals:?}");
    c.nodes[2].kill().await;
    let plan = c
        .plan(&Proposal::Failover { node: "n3".into() })
        .await
        .unwrap();
    let total = plan.steps.len();
    let alive: Vec<String> = c.endpoints()[..2].to_vec();
    // The console dies once the second re-creation has begun.
    let id = "0dd0dd0dd0dd0dd0";
    let mut exec = c.executor().with_agents(&alive);
    exec.lease = Duration::from_secs(2);
    let (tx, mut rx) = mpsc::channel(1024);
    let (_stop, cancel) = fleetdeck_agent::cancel::channel();
    let (p, run) = (plan.clone(), exec.clone());
    let task = tokio::spawn(async move { run.run_intent(1, &p, id, cancel, tx).await });
    let second = 100.0 / total as f32;
    while let Some(ev) = rx.recv().await {
        if matches!(ev, OpEvent::Progress { percent, .. } if percent >= second) {
            break;
        }
    }
    task.abort();
    let _ = task.await;
    let conns = c.conns();
    let started = std::time::Instant::now();
    let info = loop {
        let (list, _) = fleetdeck::ops::intent::list(&conns, &alive, None).await;
        if let Some(i) = list.into_iter().find(|i| i.id == id && i.is_interrupted()) {
            break i;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never interrupted"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    reaped(&c.nodes[..2]).await;
    // Resumed from its record. The first re-creation was made but still pending (a
    // failover commits its copies together), so the agents removed it and the record
    // does not count it done: the resume makes it again, and nothing twice.
    let resumed =
        fleetdeck::ops::intent::resume::prepare(&info, &c.fleet().await, &c.specs().await)
            .expect("the failover recorded its steps and the specs are cached");
    assert!(
        resumed.plan.lines[0].starts_with(&format!("run step 1 of {total} (create ")),
        "{:?}",
        resumed.plan.lines
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let (_stop, cancel) = fleetdeck_agent::cancel::channel();
    let run = tokio::spawn(async move {
        exec.run_resumed(2, &resumed.plan, id, &resumed.skip, cancel, tx)
            .await
    });
    while rx.recv().await.is_some() {}
    let outcome = run.await.unwrap();
    assert!(
        matches!(outcome, fleetdeck::ops::Outcome::Done(_)),
        "{outcome:?}"
    );
    for name in &originals {
        let copies = labelled(&c.nodes[..2], REPLACES_LABEL, &format!("n3/{name}"));
        assert_eq!(copies, 1, "{name} re-created {copies} times");
    }
}
