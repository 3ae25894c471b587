//! Fault injection over real gRPC: a `sim_fault` Act puts a crash loop, a failing health
//! check or a CPU spike on a simulated container at once, clears it on request, is audited
//! like every action, and is refused with a typed error where it cannot apply.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use fleetdeck_agent::actions::Actions;
use fleetdeck_agent::audit::AuditLog;
use fleetdeck_agent::hub::{Hub, Sample};
use fleetdeck_agent::model::{
    ContainerSample, ContainerState, ContainerVerb, HealthState, NodeInfo,
};
use fleetdeck_agent::runtime::{Runtime, RuntimeError, RuntimeKind};
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use pb::act_progress::Result as R;
use pb::sim_fault::Kind;
use pb::watch_event::Body;

fn quiet(node: &str) -> AgentConfig {
    AgentConfig {
        sim_faults: false,
        ..fast(node, 16)
    }
}

fn fault_req(id: &str, kind: Kind, target: &str, secs: u32) -> pb::ActRequest {
    pb::ActRequest {
        action_id: id.into(),
        requested_by: "drill".into(),
        action: Some(pb::act_request::Action::SimFault(pb::SimFault {
            kind: kind as i32,
            container: target.into(),
            duration_secs: secs,
        })),
        ..Default::default()
    }
}

/// A running container with (or without) a health check: (key, name).
fn pick(agent: &RunningAgent, with_check: bool) -> Option<(u32, String)> {
    agent
        .snapshot()
        .containers
        .iter()
        .find(|c| {
            c.status.state == ContainerState::Running
                && (c.status.health != HealthState::None) == with_check
        })
        .map(|c| (c.key, c.spec.name.clone()))
}

/// The container as the stream shows it now, read from deltas until `pred` holds.
async fn until(s: &mut Events, key: u32, mut pred: impl FnMut(&pb::Container) -> bool) {
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Body::Delta(d)) = next(s).await.body
                && d.upserts.iter().any(|u| u.key == key && pred(u))
            {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "expected change never arrived");
}

fn done(msgs: &[pb::ActProgress]) -> String {
    match result(msgs) {
        R::Done(d) => d.message.clone(),
        R::Error(e) => panic!("refused: {e:?}"),
    }
}

fn refused(msgs: &[pb::ActProgress]) -> pb::ActErrorKind {
    match result(msgs) {
        R::Error(e) => e.kind(),
        R::Done(d) => panic!("expected a refusal, got {d:?}"),
    }
}

#[tokio::test]
async fn a_crash_loop_restarts_the_container_until_cleared() {
    let (agent, dir) = start(quiet("f1")).await;
    let (key, name) = pick(&agent, true).unwrap();
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    let Some(Body::Snapshot(snap)) = first.body else {
        panic!("snapshot first")
    };
    let before = snap
        .containers
        .iter()
        .find(|c| c.key == key)
        .unwrap()
        .restart_count;

    let msgs = act(&mut c, fault_req("crash-1", Kind::CrashLoop, &name, 0)).await;
    let message = done(&msgs);
    assert!(
        message.contains("crash loop") && message.contains(&name),
        "{message}"
    );
    until(&mut s, key, |u| u.state() == pb::ContainerState::Restarting).await;
    until(&mut s, key, |u| u.restart_count >= before + 3).await;

    let msgs = act(&mut c, fault_req("clear-1", Kind::Clear, &name, 0)).await;
    assert!(done(&msgs).contains("cleared"), "{msgs:?}");
    until(&mut s, key, |u| u.state() == pb::ContainerState::Running).await;
    // Cleared means cleared: no more restarts over many samples.
    let settled = agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.key == key)
        .unwrap()
        .status
        .restart_count;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = agent.snapshot();
    let now = later.containers.iter().find(|c| c.key == key).unwrap();
    assert_eq!(now.status.restart_count, settled);
    assert_eq!(now.status.state, ContainerState::Running);

    let audit = audit_lines(&dir, "f1");
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["action"], "sim_fault.crash_loop");
    assert_eq!(audit[0]["target"], name.as_str());
    assert_eq!(audit[0]["caller"]["requested_by"], "drill");
    assert_eq!(audit[0]["outcome"]["result"], "done");
    assert_eq!(audit[1]["action"], "sim_fault.clear");
    agent.shutdown().await;
}

#[tokio::test]
async fn a_failing_health_check_shows_in_the_next_delta_and_ends_by_itself() {
    let (agent, _dir) = start(quiet("f2")).await;
    let (key, name) = pick(&agent, true).unwrap();
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    next(&mut s).await;

    // One second at a 50 ms sample interval: 20 steps, then healthy again unaided.
    let msgs = act(&mut c, fault_req("sick-1", Kind::Unhealthy, &name, 1)).await;
    assert!(done(&msgs).contains("for 1s"), "{msgs:?}");
    until(&mut s, key, |u| u.health() == pb::HealthStatus::Unhealthy).await;
    until(&mut s, key, |u| u.health() == pb::HealthStatus::Healthy).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn a_cpu_spike_pins_the_container_near_its_limit() {
    let (agent, _dir) = start(quiet("f3")).await;
    let (key, name) = pick(&agent, true).unwrap();
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    next(&mut s).await;
    let msgs = act(&mut c, fault_req("hot-1", Kind::CpuSpike, &name, 0)).await;
    done(&msgs);
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Body::Delta(d)) = next(&mut s).await.body
                && d.stats
                    .iter()
                    .any(|st| st.key == key && st.cpu_percent >= 90.0)
            {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "CPU never went near the limit");
    agent.shutdown().await;
}

#[tokio::test]
async fn faults_that_do_not_fit_are_refused_with_typed_errors() {
    let (agent, dir) = start(quiet("f4")).await;
    let mut c = client(&agent).await;
    let missing = act(&mut c, fault_req("e1", Kind::CrashLoop, "no-such", 0)).await;
    assert_eq!(refused(&missing), pb::ActErrorKind::NotFound);
    let (_, name) = pick(&agent, true).unwrap();
    let kindless = act(&mut c, fault_req("e2", Kind::Unspecified, &name, 0)).await;
    assert_eq!(refused(&kindless), pb::ActErrorKind::Invalid);
    if let Some((_, plain)) = pick(&agent, false) {
        let msgs = act(&mut c, fault_req("e3", Kind::Unhealthy, &plain, 0)).await;
        assert_eq!(refused(&msgs), pb::ActErrorKind::Conflict);
    }
    let mut dry = fault_req("e4", Kind::CrashLoop, &name, 0);
    dry.dry_run = true;
    let msgs = act(&mut c, dry).await;
    assert!(done(&msgs).starts_with("dry run"), "{msgs:?}");
    assert!(
        agent
            .snapshot()
            .containers
            .iter()
            .all(|c| c.status.state != ContainerState::Restarting),
        "a dry run changes nothing"
    );
    let audit = audit_lines(&dir, "f4");
    assert!(audit.len() >= 3, "refusals are audited too: {audit:?}");
    assert_eq!(audit[0]["outcome"]["result"], "error");
    agent.shutdown().await;
}

/// A runtime that is not the simulator: it has containers but no faults to inject.
struct RealLike;

#[async_trait]
impl Runtime for RealLike {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }
    async fn containers(&self) -> Result<Vec<ContainerSample>, RuntimeError> {
        Ok(Vec::new())
    }
    async fn ping(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
    async fn act(&self, _: ContainerVerb, id: &str) -> Result<(), RuntimeError> {
        Err(RuntimeError::NotFound(id.to_owned()))
    }
}

#[tokio::test]
async fn other_runtimes_refuse_faults_as_unsupported_and_audit_it() {
    use tokio_stream::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let empty = Sample {
        containers: Ok(Vec::new()),
        host: Default::default(),
        health: Vec::new(),
    };
    let hub = Hub::new(1, NodeInfo::default(), empty, 8);
    let runtime: Arc<dyn Runtime> = Arc::new(RealLike);
    let direct = runtime
        .inject_fault(fleetdeck_agent::model::SimFaultKind::CrashLoop, "x", None)
        .await
        .unwrap_err();
    assert!(
        matches!(direct, RuntimeError::Unsupported { .. }),
        "{direct:?}"
    );
    let actions = Arc::new(Actions::new(
        hub,
        runtime,
        AuditLog::open(dir.path()).unwrap(),
        fleetdeck_agent::backup::Registry::new(dir.path().join("backups")),
    ));
    let stream = actions.start(fault_req("u1", Kind::CrashLoop, "web-1", 0), None);
    let msgs: Vec<pb::ActProgress> = stream.map(Result::unwrap).collect().await;
    assert_eq!(refused(&msgs), pb::ActErrorKind::Unsupported);
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(text.contains("sim_fault.crash_loop"), "{text}");
    assert!(text.contains("unsupported"), "{text}");
}

#[tokio::test]
async fn a_scheduled_fault_runs_on_time_through_the_audited_action_path() {
    use fleetdeck_agent::drill::{self, FaultArg};
    use fleetdeck_agent::model::SimFaultKind;
    let (agent, dir) = start(quiet("f5")).await;
    let (key, name) = pick(&agent, true).unwrap();
    let fault = FaultArg {
        kind: SimFaultKind::Unhealthy,
        container: name.clone(),
        after: Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    let tasks = drill::schedule(&agent, &[fault]);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "not before its time"
    );
    let snap = agent.snapshot();
    let c = snap.containers.iter().find(|c| c.key == key).unwrap();
    assert_eq!(c.status.health, HealthState::Unhealthy);
    let audit = audit_lines(&dir, "f5");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["action"], "sim_fault.unhealthy");
    assert_eq!(audit[0]["caller"]["requested_by"], drill::REQUESTED_BY);
    assert_eq!(audit[0]["outcome"]["result"], "done");
    agent.shutdown().await;
}
