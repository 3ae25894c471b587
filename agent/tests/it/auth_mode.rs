//! The auth mode is decided at start and only tightens: revoking the last token or deleting
//! the tokens file never opens the agent, revocation cuts open streams, one caller cannot
//! take every stream slot, and the audit log stays bounded whatever callers send. Real
//! agents on loopback, real gRPC.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{STEP, fast, start};
use fleetdeck_agent::auth::{Role, TOKENS_FILE, tokens};
use fleetdeck_agent::config::LimitsConfig;
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use fleetdeck_proto::agent_client::AgentClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Authed = AgentClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer TOKEN` to every call (or nothing, for an anonymous caller).
#[derive(Clone)]
struct Bearer(Option<String>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(t) = &self.0 {
            req.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        Ok(req)
    }
}

async fn client_as(agent: &RunningAgent, token: Option<&str>) -> Authed {
    let ch = Channel::from_shared(format!("http://{}", agent.addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    AgentClient::with_interceptor(ch, Bearer(token.map(str::to_owned)))
}

fn tokens_file(dir: &tempfile::TempDir, node: &str) -> PathBuf {
    dir.path().join(node).join(TOKENS_FILE)
}

/// A sim agent whose state dir already holds tokens named in `names`; returns the tokens.
async fn start_with_tokens(
    config: AgentConfig,
    names: &[(&str, Role)],
) -> (RunningAgent, tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(&config.node_id);
    let made = names
        .iter()
        .map(|(n, r)| tokens::create(&state.join(TOKENS_FILE), n, *r).unwrap())
        .collect();
    let mut config = config;
    config.state_dir = Some(state);
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    (agent, dir, made)
}

fn stop(container: &str) -> pb::ActRequest {
    pb::ActRequest {
        action_id: format!("stop-{container}-{}", rand_suffix()),
        requested_by: "test".into(),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: pb::container_action::Verb::Stop as i32,
            container: container.into(),
        })),
        ..Default::default()
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The first container's name on `agent`.
async fn some_container(c: &mut Authed) -> String {
    let mut s = c
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ev = tokio::time::timeout(STEP, s.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match ev.body {
        Some(pb::watch_event::Body::Snapshot(snap)) => snap.containers[0].name.clone(),
        other => panic!("no snapshot: {other:?}"),
    }
}

async fn act_code(c: &mut Authed, req: pb::ActRequest) -> tonic::Code {
    match c.act(req).await {
        Err(s) => s.code(),
        Ok(r) => {
            let mut s = r.into_inner();
            loop {
                match tokio::time::timeout(STEP, s.message()).await.unwrap() {
                    Err(status) => return status.code(),
                    Ok(None) => return tonic::Code::Ok,
                    Ok(Some(_)) => {}
                }
            }
        }
    }
}

/// Reads a stream until it ends; the status it ended with, or OK for a clean end.
async fn end_of<T>(s: &mut tonic::Streaming<T>, within: Duration) -> tonic::Status {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.message()).await {
            Err(_) => panic!("the stream was still open after {within:?}"),
            Ok(Err(status)) => return status,
            Ok(Ok(None)) => return tonic::Status::new(tonic::Code::Ok, "ended"),
            Ok(Ok(Some(_))) => {}
        }
    }
}

#[tokio::test]
async fn revoking_the_last_token_or_deleting_the_file_never_opens_the_agent() {
    let (agent, dir, made) = start_with_tokens(fast("m1", 3), &[("w", Role::Viewer)]).await;
    let path = tokens_file(&dir, "m1");
    let mut viewer = client_as(&agent, Some(&made[0])).await;
    let info = viewer
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!info.open, "an agent with tokens is not open");
    let target = some_container(&mut viewer).await;
    let mut anon = client_as(&agent, None).await;
    assert_eq!(
        act_code(&mut anon, stop(&target)).await,
        tonic::Code::Unauthenticated
    );

    // The repro: revoke the last token, then call with none.
    assert_eq!(tokens::revoke(&path, "w").unwrap(), 0);
    assert!(path.exists(), "an emptied tokens file stays");
    for _ in 0..3 {
        let e = anon.get_info(pb::GetInfoRequest {}).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
        assert_eq!(
            act_code(&mut anon, stop(&target)).await,
            tonic::Code::Unauthenticated
        );
    }
    assert_eq!(
        act_code(&mut viewer, stop(&target)).await,
        tonic::Code::Unauthenticated,
        "the revoked token is refused too"
    );

    // Deleting the file: still nobody.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        act_code(&mut anon, stop(&target)).await,
        tonic::Code::Unauthenticated
    );
    // An empty file: the same.
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        act_code(&mut anon, stop(&target)).await,
        tonic::Code::Unauthenticated
    );
    // A new token lets its holder in again, and only its holder.
    let ops = tokens::create(&path, "ops", Role::Operator).unwrap();
    let mut ops_client = client_as(&agent, Some(&ops)).await;
    assert_eq!(
        act_code(&mut ops_client, stop(&target)).await,
        tonic::Code::Ok
    );
    let audit = std::fs::read_to_string(dir.path().join("m1").join("audit.jsonl")).unwrap();
    assert!(
        !audit.contains("\"identity\":\"anonymous\""),
        "no call ran as an anonymous admin:\n{audit}"
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn an_agent_on_an_emptied_tokens_file_starts_only_with_no_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("m2");
    let path = state.join(TOKENS_FILE);
    tokens::create(&path, "w", Role::Viewer).unwrap();
    tokens::revoke(&path, "w").unwrap();
    let mut config = fast("m2", 2);
    config.state_dir = Some(state.clone());
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let e = fleetdeck_agent::spawn(config.clone(), listener)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("holds no token") && e.contains("--no-tokens"),
        "{e}"
    );

    config.security.no_tokens = true;
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    let mut anon = client_as(&agent, None).await;
    let info = anon
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(info.open, "started open on purpose, and says so");
    agent.shutdown().await;
}

#[tokio::test]
async fn an_open_agent_says_so_until_a_token_is_made_and_then_cuts_anonymous_streams() {
    let (agent, dir) = start(fast("m3", 3)).await;
    let mut anon = client_as(&agent, None).await;
    let info = anon
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        info.open,
        "loopback and no tokens: open, and NodeInfo says so"
    );
    let mut stream = anon
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let t = tokens::create(&tokens_file(&dir, "m3"), "ops", Role::Operator).unwrap();
    let status = end_of(&mut stream, STEP).await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let e = anon.get_info(pb::GetInfoRequest {}).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let mut ops = client_as(&agent, Some(&t)).await;
    let info = ops
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!info.open, "tokens now: not open");
    let mut stream = ops
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let snap = tokio::time::timeout(STEP, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match snap.body {
        Some(pb::watch_event::Body::Snapshot(s)) => assert!(!s.node.unwrap().open),
        other => panic!("{other:?}"),
    }
    agent.shutdown().await;
}

#[tokio::test]
async fn a_revoked_tokens_watch_and_logs_streams_end_within_seconds() {
    let (agent, dir, made) = start_with_tokens(
        fast("m4", 3),
        &[("wall", Role::Viewer), ("ops", Role::Operator)],
    )
    .await;
    let mut wall = client_as(&agent, Some(&made[0])).await;
    let mut ops = client_as(&agent, Some(&made[1])).await;
    let target = some_container(&mut wall).await;
    let mut watch = wall
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut logs = wall
        .logs(pb::LogsRequest {
            container: target.clone(),
            tail: 5,
            follow: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut ops_watch = ops
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Both streams are live before the revocation.
    let first = tokio::time::timeout(STEP, watch.message()).await.unwrap();
    assert!(first.unwrap().is_some());
    let first = tokio::time::timeout(STEP, logs.message()).await.unwrap();
    assert!(first.unwrap().is_some());

    let revoked = Instant::now();
    tokens::revoke(&tokens_file(&dir, "m4"), "wall").unwrap();
    let w = end_of(&mut watch, Duration::from_secs(5)).await;
    let l = end_of(&mut logs, Duration::from_secs(5)).await;
    assert_eq!(w.code(), tonic::Code::Unauthenticated, "{w:?}");
    assert_eq!(l.code(), tonic::Code::Unauthenticated, "{l:?}");
    assert!(w.message().contains("revoked"), "{w:?}");
    assert!(revoked.elapsed() < Duration::from_secs(5));

    // The other token's stream goes on.
    for _ in 0..3 {
        let ev = tokio::time::timeout(STEP, ops_watch.message())
            .await
            .unwrap();
        assert!(ev.unwrap().is_some());
    }
    agent.shutdown().await;
}

#[tokio::test]
async fn a_second_caller_still_gets_a_watch_while_the_first_holds_its_maximum() {
    let mut config = fast("m5", 2);
    // Room for four streams in all: without a per-caller cap the greedy caller takes them.
    config.limits = LimitsConfig {
        max_watch_per_caller: 3,
        max_watch_streams: 4,
        ..LimitsConfig::default()
    };
    let (agent, _dir, made) =
        start_with_tokens(config, &[("greedy", Role::Viewer), ("other", Role::Viewer)]).await;
    let mut greedy = client_as(&agent, Some(&made[0])).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            greedy
                .watch(pb::WatchRequest::default())
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let e = greedy.watch(pb::WatchRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(
        e.message().contains("token:greedy already holds 3"),
        "{e:?}"
    );
    let mut other = client_as(&agent, Some(&made[1])).await;
    let mut s = other
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(STEP, s.message()).await.unwrap();
    assert!(first.unwrap().is_some());
    agent.shutdown().await;
}

fn audit_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test]
async fn the_audit_log_stays_bounded_against_huge_fields_and_floods_of_refusals() {
    let (agent, dir, made) = start_with_tokens(fast("m6", 3), &[("wall", Role::Viewer)]).await;
    let audit = dir.path().join("m6").join("audit.jsonl");
    let mut wall = client_as(&agent, Some(&made[0])).await;
    let target = some_container(&mut wall).await;

    // A viewer's refused stop with a 1 MB action id and requested_by, as a dry run.
    let before = audit_len(&audit);
    let mut req = stop(&target);
    req.action_id = "a".repeat(1_000_000);
    req.requested_by = "b".repeat(30_000);
    req.dry_run = true;
    assert_eq!(
        act_code(&mut wall, req).await,
        tonic::Code::PermissionDenied
    );
    let grown = audit_len(&audit) - before;
    eprintln!("a refused 1 MB action id added {grown} bytes to the audit log");
    assert!(
        grown > 0 && grown < 1_000,
        "one refusal added {grown} bytes"
    );
    let text = std::fs::read_to_string(&audit).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        line["dry_run"], true,
        "a refused dry run is recorded as one"
    );
    assert!(line["action_id"].as_str().unwrap().ends_with('…'));

    // An oversized Act request is audited in one short line.
    let before = audit_len(&audit);
    let mut req = stop(&target);
    req.action_id = "c".repeat(1_100_000);
    let e = wall.act(req).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
    let grown = audit_len(&audit) - before;
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(
        grown > 0 && grown < 600,
        "oversized request: {grown} bytes\n{}",
        text.lines().last().unwrap()
    );
    assert!(text.lines().last().unwrap().contains("request not read"));

    // 10,000 refused calls from a caller with no token: a bounded amount.
    let before = audit_len(&audit);
    let mut anon = client_as(&agent, None).await;
    let mut refused = 0;
    for chunk in 0..100 {
        let calls = (0..100).map(|i| {
            let mut c = anon.clone();
            let mut req = stop(&target);
            req.action_id = format!("flood-{chunk}-{i}");
            async move { c.act(req).await.map(|_| ()).unwrap_err().code() }
        });
        for code in futures::future::join_all(calls).await {
            assert_eq!(code, tonic::Code::Unauthenticated);
            refused += 1;
        }
    }
    assert_eq!(refused, 10_000);
    anon.get_info(pb::GetInfoRequest {}).await.unwrap_err();
    let grown = audit_len(&audit) - before;
    eprintln!("10,000 refused calls added {grown} bytes to the audit log");
    assert!(
        grown < 8_000,
        "10,000 refusals added {grown} bytes to the audit log"
    );
    // The count is not lost: it is written as one summary when the window ends (here at
    // shutdown, which flushes every window).
    agent.shutdown().await;
    let text = std::fs::read_to_string(&audit).unwrap();
    let summary = text
        .lines()
        .find(|l| l.contains("audit.refusals_summarised"))
        .unwrap_or_else(|| panic!("no summary line:\n{text}"));
    assert!(summary.contains("refusals from 127.0.0.1"), "{summary}");
}

#[tokio::test]
async fn the_audit_log_is_rotated_by_size() {
    let mut config = fast("m7", 2);
    config.audit = fleetdeck_agent::audit::Rotation {
        max_bytes: 2_000,
        keep: 2,
    };
    let (agent, dir) = start(config).await;
    let mut c = client_as(&agent, None).await;
    for i in 0..40 {
        let req = pb::ActRequest {
            action_id: format!("cordon-{i}"),
            requested_by: "test".into(),
            dry_run: true,
            action: Some(pb::act_request::Action::Node(pb::NodeAction {
                verb: pb::node_action::Verb::Cordon as i32,
            })),
            ..Default::default()
        };
        assert_eq!(act_code(&mut c, req).await, tonic::Code::Ok);
    }
    agent.shutdown().await;
    let state = dir.path().join("m7");
    let sizes: Vec<u64> = ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
        .iter()
        .map(|f| audit_len(&state.join(f)))
        .collect();
    assert!(sizes.iter().all(|s| *s > 0 && *s <= 2_000), "{sizes:?}");
    assert!(!state.join("audit.jsonl.3").exists(), "only two are kept");
    let newest = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(newest.contains("cordon-39"), "{newest}");
}
