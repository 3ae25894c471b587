//! Rollouts on sim agents over real gRPC: three replicas of a health-checked service go
//! to a new image one at a time with at least two healthy throughout; an image whose
//! health check fails rolls the replaced ones back; an image an engine lacks is refused
//! at plan time. (The docker engine versions are in `ops_docker_rollout`.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::support::ops::{self, Cluster, service_replicas};

use fleetdeck::ops::exec::Executor;

use fleetdeck::ops::plan::{NodeRef, Plan, Step};
use fleetdeck::ops::{OpEvent, Outcome, PortableSpec, Proposal};
use fleetdeck_agent::NodeMode;
use tokio::sync::mpsc;

const SERVICE: &str = "rollsim";
const OLD: &str = "acme/api:2.4.1";

/// Replicas of the service on every node: (node, name, image, healthy).
fn replicas(c: &Cluster) -> Vec<(String, String, String, bool)> {
    service_replicas(
        c.nodes
            .iter()
            .map(|n| (n.config.node_id.as_str(), n.agent())),
        SERVICE,
    )
}

fn healthy_on(c: &Cluster, image: &str) -> usize {
    crate::support::ops::healthy_on(&replicas(c), image)
}

/// Three replicas of SERVICE, one per node, running OLD and healthy; `ports`: each
/// publishes a fixed host port.
async fn three_replicas(c: &Cluster, ports: bool) {
    let steps = c
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Step::Create {
            on: NodeRef {
                name: n.config.node_id.clone(),
                endpoint: n.addr.clone(),
            },
            spec: Box::new(PortableSpec {
                name: format!("{SERVICE}-{}", i + 1),
                image: OLD.into(),
                service: SERVICE.into(),
                ports: if ports {
                    vec![(8080, 28_080 + i as u16, "tcp".into())]
                } else {
                    Vec::new()
                },
                ..PortableSpec::default()
            }),
            labels: Default::default(),
        })
        .collect();
    let plan = Plan {
        proposal: Proposal::Scale {
            service: SERVICE.into(),
            replicas: 3,
        },
        title: "three replicas".into(),
        lines: Vec::new(),
        data_bytes: 0,
        confirm: None,
        steps,
    };
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    ops::eventually("three healthy replicas", || healthy_on(c, OLD) == 3).await;
}

/// Runs `plan` on `exec`, sampling the service's healthy replicas between progress
/// events (every 10 ms at most); the outcome, the fewest healthy seen, the number of
/// samples and the progress messages.
async fn run_sampled(
    c: &Cluster,
    exec: Executor,
    plan: &Plan,
    mut during: impl FnMut(&[String]),
) -> (Outcome, usize, usize, Vec<String>) {
    let (_src, cancel) = fleetdeck_agent::cancel::channel();
    let (tx, mut rx) = mpsc::channel(256);
    let p = plan.clone();
    let task = tokio::spawn(async move { exec.run(1, &p, cancel, tx).await });
    let (mut fewest, mut samples, mut messages) = (usize::MAX, 0, Vec::new());
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(OpEvent::Progress { message, .. }) => messages.push(message),
                Some(_) => {}
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        during(&messages);
        fewest = fewest.min(replicas(c).iter().filter(|r| r.3).count());
        samples += 1;
    }
    (task.await.unwrap(), fewest, samples, messages)
}

fn rollout(image: &str, max_unavailable: usize) -> Proposal {
    Proposal::Rollout {
        service: SERVICE.into(),
        image: Some(image.into()),
        max_unavailable,
        rollback: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sim_rollout_keeps_two_healthy_and_a_failing_image_changes_nothing() {
    let c = Cluster::start(&[NodeMode::Active; 3], 2).await;
    three_replicas(&c, false).await;

    // Refused at plan time: the image is on no engine.
    let missing = c.plan(&rollout("acme/api:2.5", 1)).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "acme/api:2.5 is not on n1's engine; pull it there first"
    );

    let plan = c.plan(&rollout("acme/api:2", 1)).await.unwrap();
    assert!(
        plan.lines[0].contains("beside it"),
        "no fixed host port: make-before-break: {:?}",
        plan.lines
    );
    let (outcome, fewest, samples, messages) = run_sampled(&c, c.executor(), &plan, |_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(samples > 10, "sampled throughout ({samples} samples)");
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    assert!(
        messages.iter().any(|m| m.starts_with("replica 3/3")),
        "progress per replica: {messages:?}"
    );
    let now = replicas(&c);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(now.iter().all(|r| r.2 == "acme/api:2"), "{now:?}");
    ops::eventually("three healthy on :2", || healthy_on(&c, "acme/api:2") == 3).await;
    let mut nodes: Vec<&str> = now.iter().map(|r| r.0.as_str()).collect();
    nodes.sort_unstable();
    assert_eq!(
        nodes,
        ["n1", "n2", "n3"],
        "each new replica stays on its node"
    );

    // An image whose health check fails: the first new replica never becomes healthy,
    // the rollout pauses and removes it; the three replicas on :2 run on, healthy.
    let bad = c.plan(&rollout("acme/api:2-unhealthy", 1)).await.unwrap();
    let (outcome, fewest, _, _) = run_sampled(&c, c.executor(), &bad, |_| {}).await;
    let Outcome::Failed(m) = &outcome else {
        panic!("a failing image fails the rollout: {outcome:?}")
    };
    assert!(m.contains("paused at replica 1/3"), "{m}");
    assert!(m.contains("unhealthy"), "{m}");
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    let now = replicas(&c);
    assert_eq!(now.len(), 3, "the failed new replica is gone: {now:?}");
    ops::eventually("three healthy on :2 again", || {
        healthy_on(&c, "acme/api:2") == 3
    })
    .await;

    // Every agent recorded the rollout in its audit log.
    for n in &c.nodes {
        let lines = ops::audit(&n.state_dir());
        assert!(
            lines.iter().any(|l| {
                let l = l.to_string();
                l.contains("note.rollout") && l.contains(SERVICE)
            }),
            "{}: {lines:?}",
            n.config.node_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sim_rollout_rolls_back_the_replaced_replicas_when_a_later_one_fails() {
    // acme/api:2 fails its health check on n2 only: the first replica (n1) is replaced,
    // the second never becomes healthy, and the first is rolled back.
    let c = Cluster::start_with(&[NodeMode::Active; 3], 2, |i, config| {
        if i == 1 {
            config.sim_unhealthy_images = vec!["acme/api:2".into()];
        }
    })
    .await;
    three_replicas(&c, false).await;
    let plan = c.plan(&rollout("acme/api:2", 1)).await.unwrap();
    let (outcome, fewest, _, _) = run_sampled(&c, c.executor(), &plan, |_| {}).await;
    let Outcome::Failed(m) = &outcome else {
        panic!("the rollout fails on n2: {outcome:?}")
    };
    assert!(m.contains("paused at replica 2/3"), "{m}");
    assert!(m.contains("rolled back 1 of 1"), "{m}");
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    let now = replicas(&c);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(
        now.iter().all(|r| r.2 == OLD),
        "all back on the old image: {now:?}"
    );
    assert!(
        now.iter()
            .any(|r| r.0 == "n1" && r.1 == format!("{SERVICE}-1")),
        "the rolled-back replica has its old name on its node: {now:?}"
    );
    ops::eventually("three healthy on the old image", || {
        healthy_on(&c, OLD) == 3
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sim_rolling_restart_in_place_waits_for_the_floor() {
    // Fixed host ports: each replica restarts in place. With one replica already
    // unhealthy, the first cannot go down (2 must stay healthy) until the other recovers.
    let c = Cluster::start(&[NodeMode::Active; 3], 2).await;
    three_replicas(&c, true).await;
    let n3 = c.nodes[2].addr.clone();
    let third = format!("{SERVICE}-3");
    sim_fault(&n3, &third, fleetdeck_proto::sim_fault::Kind::Unhealthy).await;
    ops::eventually("one replica unhealthy", || healthy_on(&c, OLD) == 2).await;
    let plan = c
        .plan(&Proposal::Rollout {
            service: SERVICE.into(),
            image: None,
            max_unavailable: 1,
            rollback: true,
        })
        .await
        .unwrap();
    assert!(
        plan.lines[0].contains("restart it in place"),
        "{:?}",
        plan.lines
    );
    let mut cleared = false;
    let (outcome, fewest, _, messages) = run_sampled(&c, c.executor(), &plan, |messages| {
        if !cleared && messages.iter().any(|m| m.contains("must stay")) {
            cleared = true;
            let (addr, name) = (n3.clone(), third.clone());
            tokio::spawn(async move {
                sim_fault(&addr, &name, fleetdeck_proto::sim_fault::Kind::Clear).await;
            });
        }
    })
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("1 other replicas of rollsim are healthy, 2 must stay")),
        "the rollout waited: {messages:?}"
    );
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    let now = replicas(&c);
    let mut names: Vec<&str> = now.iter().map(|r| r.1.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["rollsim-1", "rollsim-2", "rollsim-3"],
        "restarted, same names"
    );
}

/// Puts fault `kind` on `container` of the sim agent at `addr` (or clears it).
async fn sim_fault(addr: &str, container: &str, kind: fleetdeck_proto::sim_fault::Kind) {
    use fleetdeck_proto as pb;
    let mut client = pb::agent_client::AgentClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let req = pb::ActRequest {
        action_id: format!("fault-{container}-{}", kind as i32),
        dry_run: false,
        requested_by: "test".into(),
        action: Some(pb::act_request::Action::SimFault(pb::SimFault {
            kind: kind as i32,
            container: container.into(),
            duration_secs: 0,
        })),
        ..Default::default()
    };
    let mut stream = client.act(req).await.unwrap().into_inner();
    while let Some(m) = stream.message().await.unwrap() {
        if m.result.is_some() {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rollout_commands_plan_refuse_and_run() {
    let c = Cluster::start(&[NodeMode::Active; 3], 2).await;
    three_replicas(&c, false).await;
    let missing = crate::cli_ops::run(
        &c,
        &["rollout", "image", SERVICE, "acme/api:2.5", "--dry-run"],
        None,
    )
    .await;
    assert_eq!(missing.status, fleetdeck::cli::EXIT_USAGE);
    assert_eq!(
        missing.stderr,
        "fleetdeck: acme/api:2.5 is not on n1's engine; pull it there first\n"
    );
    let dry = crate::cli_ops::run(
        &c,
        &["rollout", "restart", SERVICE, "--dry-run", "-o", "json"],
        None,
    )
    .await;
    assert_eq!(dry.status, fleetdeck::cli::EXIT_OK, "{}", dry.stderr);
    let json: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(json["action"], "rollout");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["plan"].as_array().unwrap().len(), 5, "{json}");
    let done = crate::cli_ops::run(
        &c,
        &[
            "rollout",
            "image",
            SERVICE,
            "acme/api:2",
            "--yes",
            "-o",
            "json",
        ],
        None,
    )
    .await;
    assert_eq!(done.status, fleetdeck::cli::EXIT_OK, "{}", done.stderr);
    let json: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(json["outcome"], "done", "{json}");
    assert!(
        done.stderr.contains("replica 3/3"),
        "progress per replica: {}",
        done.stderr
    );
    let now = replicas(&c);
    assert_eq!(now.len(), 3);
    assert!(now.iter().all(|r| r.2 == "acme/api:2"), "{now:?}");
}
