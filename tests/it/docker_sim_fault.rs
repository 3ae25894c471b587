//! A docker node refuses `sim_fault` over real gRPC with a typed UNSUPPORTED error, and
//! audits the refusal. Skips (saying why) without an engine unless
//! FLEETDECK_REQUIRE_DOCKER=1.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use crate::support;

use fleetdeck_proto as pb;
use support::docker::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_node_refuses_sim_faults_as_unsupported() {
    let Some(engine) = Engine::get("a_docker_node_refuses_sim_faults_as_unsupported") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = engine
        .agent("dock-fault", &dir.path().join("dock-fault"))
        .await;
    let mut client = pb::agent_client::AgentClient::connect(format!("http://{}", agent.addr()))
        .await
        .unwrap();
    let req = pb::ActRequest {
        action_id: "fault-1".into(),
        requested_by: "test".into(),
        action: Some(pb::act_request::Action::SimFault(pb::SimFault {
            kind: pb::sim_fault::Kind::CrashLoop as i32,
            container: engine.name("svc"),
            duration_secs: 0,
        })),
        ..Default::default()
    };
    let mut stream = client.act(req).await.unwrap().into_inner();
    let mut last = None;
    while let Some(m) = stream.message().await.unwrap() {
        last = Some(m);
    }
    match last.and_then(|m| m.result) {
        Some(pb::act_progress::Result::Error(e)) => {
            assert_eq!(e.kind(), pb::ActErrorKind::Unsupported, "{e:?}");
            assert!(e.message.contains("only be injected on sim nodes"), "{e:?}");
            assert!(e.message.contains("docker runtime"), "{e:?}");
        }
        other => panic!("expected UNSUPPORTED, got {other:?}"),
    }
    let audit = std::fs::read_to_string(dir.path().join("dock-fault").join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("sim_fault.crash_loop") && audit.contains("unsupported"),
        "{audit}"
    );
    agent.shutdown().await;
}
