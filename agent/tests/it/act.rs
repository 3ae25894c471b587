//! Act over real gRPC: idempotency, dry run, visible changes, typed refusals, audit.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use fleetdeck_agent::AgentConfig;
use fleetdeck_proto as pb;
use pb::act_progress::Result as R;
use pb::container_action::Verb as CV;
use pb::node_action::Verb as NV;
use pb::watch_event::Body;

fn quiet(node: &str) -> AgentConfig {
    AgentConfig {
        sim_faults: false,
        ..fast(node, 12)
    }
}

/// Name of a running container on the agent.
fn running(agent: &fleetdeck_agent::RunningAgent) -> (u32, String) {
    let snap = agent.snapshot();
    let c = snap
        .containers
        .iter()
        .find(|c| c.status.state == fleetdeck_agent::model::ContainerState::Running)
        .expect("a running container");
    (c.key, c.spec.name.clone())
}

/// Reads deltas until `pred` holds for one of them.
async fn until(s: &mut Events, mut pred: impl FnMut(&pb::Delta) -> bool) {
    let found = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Some(Body::Delta(d)) = next(s).await.body
                && pred(&d)
            {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "expected change never arrived");
}

#[tokio::test]
async fn stop_and_start_show_in_deltas() {
    let (agent, dir) = start(quiet("a1")).await;
    let (key, name) = running(&agent);
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    next(&mut s).await;

    let msgs = act(&mut c, container_req("stop-1", CV::Stop, &name)).await;
    assert!(matches!(result(&msgs), R::Done(_)), "{msgs:?}");
    assert!(msgs.len() > 2, "progress before the result: {msgs:?}");
    let pct: Vec<f32> = msgs.iter().map(|m| m.percent).collect();
    assert!(pct.windows(2).all(|w| w[0] <= w[1]), "{pct:?}");
    assert!(msgs.iter().all(|m| m.action_id == "stop-1"));
    until(&mut s, |d| {
        d.upserts
            .iter()
            .any(|u| u.key == key && u.state() == pb::ContainerState::Exited)
    })
    .await;

    let msgs = act(&mut c, container_req("start-1", CV::Start, &name)).await;
    assert!(matches!(result(&msgs), R::Done(_)));
    until(&mut s, |d| {
        d.upserts
            .iter()
            .any(|u| u.key == key && u.state() == pb::ContainerState::Running)
    })
    .await;

    let msgs = act(&mut c, container_req("rm-1", CV::Remove, &name)).await;
    assert!(matches!(result(&msgs), R::Done(_)));
    until(&mut s, |d| d.removed.contains(&key)).await;

    let audit = audit_lines(&dir, "a1");
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["action"], "container.stop");
    assert_eq!(audit[0]["target"], name.as_str());
    assert_eq!(audit[0]["caller"]["requested_by"], "tester");
    assert!(
        audit[0]["caller"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(audit[2]["outcome"]["result"], "done");
    agent.shutdown().await;
}

#[tokio::test]
async fn same_action_id_does_the_work_once() {
    let (agent, dir) = start(quiet("a2")).await;
    let (_, name) = running(&agent);
    let mut c = client(&agent).await;
    let first = act(&mut c, container_req("once", CV::Restart, &name)).await;
    let started = agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.spec.name == name)
        .unwrap()
        .status
        .started_unix_ms;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let second = act(&mut c, container_req("once", CV::Restart, &name)).await;
    assert_eq!(result(&first), result(&second));
    assert_eq!(
        second.len(),
        1,
        "a replay sends only the outcome: {second:?}"
    );
    let again = agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.spec.name == name)
        .unwrap()
        .status
        .started_unix_ms;
    assert_eq!(started, again, "the restart ran twice");

    // Same id, different action: refused, not replayed.
    let other = act(&mut c, container_req("once", CV::Stop, &name)).await;
    let R::Error(e) = result(&other) else {
        panic!("{other:?}")
    };
    assert_eq!(e.kind(), pb::ActErrorKind::Conflict);

    let audit = audit_lines(&dir, "a2");
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["outcome"]["replayed"], false);
    assert_eq!(audit[1]["outcome"]["replayed"], true);
    assert_eq!(audit[1]["action_id"], "once");
    agent.shutdown().await;
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let (agent, _dir) = start(quiet("a3")).await;
    let (key, name) = running(&agent);
    let mut c = client(&agent).await;
    let mut req = container_req("dry", CV::Remove, &name);
    req.dry_run = true;
    let msgs = act(&mut c, req).await;
    let R::Done(d) = result(&msgs) else {
        panic!("{msgs:?}")
    };
    assert!(d.message.contains("would stop"), "{}", d.message);
    let mut req = node_req("dry-cordon", NV::Cordon);
    req.dry_run = true;
    let msgs = act(&mut c, req).await;
    let R::Done(d) = result(&msgs) else {
        panic!("{msgs:?}")
    };
    assert!(d.message.contains("MAINTENANCE"), "{}", d.message);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let snap = agent.snapshot();
    let kept = snap
        .containers
        .iter()
        .find(|c| c.key == key)
        .expect("still there");
    assert_eq!(
        kept.status.state,
        fleetdeck_agent::model::ContainerState::Running
    );
    assert_eq!(snap.node.status.mode, fleetdeck_agent::NodeMode::Active);
    agent.shutdown().await;
}

#[tokio::test]
async fn cordon_and_uncordon_reach_watchers() {
    let config = AgentConfig {
        sample_interval: Duration::from_secs(3600),
        ..quiet("a4")
    };
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    let msgs = act(&mut c, node_req("c1", NV::Cordon)).await;
    assert!(matches!(result(&msgs), R::Done(_)));
    let ev = next(&mut s).await;
    let Some(Body::Delta(d)) = &ev.body else {
        panic!("{ev:?}")
    };
    assert_eq!(ev.seq, first.seq + 1);
    assert_eq!(d.status.as_ref().unwrap().mode(), pb::NodeMode::Maintenance);

    let msgs = act(&mut c, node_req("s1", NV::SetStandby)).await;
    let R::Error(e) = result(&msgs) else {
        panic!("{msgs:?}")
    };
    assert_eq!(e.kind(), pb::ActErrorKind::Conflict);

    act(&mut c, node_req("u1", NV::Uncordon)).await;
    until(&mut s, |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.mode() == pb::NodeMode::Active)
    })
    .await;
    let info = c
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.mode(), pb::NodeMode::Active);
    agent.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_get_typed_errors_and_audit_lines() {
    let (agent, dir) = start(quiet("a5")).await;
    let mut c = client(&agent).await;
    let cases = [
        (
            container_req("", CV::Stop, "web-1"),
            pb::ActErrorKind::Invalid,
        ),
        (
            container_req("x1", CV::Stop, "no-such-thing"),
            pb::ActErrorKind::NotFound,
        ),
        (
            pb::ActRequest {
                action_id: "x2".into(),
                ..Default::default()
            },
            pb::ActErrorKind::Invalid,
        ),
        (
            container_req("x3", CV::Unspecified, "web-1"),
            pb::ActErrorKind::Invalid,
        ),
    ];
    for (req, kind) in cases {
        let msgs = act(&mut c, req.clone()).await;
        let R::Error(e) = result(&msgs) else {
            panic!("{req:?} -> {msgs:?}")
        };
        assert_eq!(e.kind(), kind, "{req:?}: {}", e.message);
        assert!(!e.message.is_empty());
    }
    let audit = audit_lines(&dir, "a5");
    assert_eq!(audit.len(), 4);
    assert!(audit.iter().all(|l| l["outcome"]["result"] == "error"));
    assert_eq!(audit[1]["outcome"]["kind"], "not_found");
    assert!(audit[2]["action"].is_null());
    agent.shutdown().await;
}
