//! The Exec rpc on a real sim agent over loopback gRPC: who may open a session (a viewer
//! token never; operator by default, admin when the agent says so), the audit line each
//! session leaves (with byte counts, without contents), the cap on concurrent sessions,
//! the idle timeout, and bad input refused with one line.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::time::Duration;

use fleetdeck_agent::auth::{Role, TOKENS_FILE, tokens};
use fleetdeck_agent::exec::ExecConfig;
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use pb::exec_input::Input;
use pb::exec_output::Output;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::{self, fast};

/// Longest a session may take before the test calls it hung.
const BOUND: Duration = Duration::from_secs(20);

/// A sim agent with `exec` settings and tokens for `names`; returns their tokens.
async fn agent_with(
    node: &str,
    exec: ExecConfig,
    names: &[(&str, Role)],
) -> (RunningAgent, tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(node);
    let made = names
        .iter()
        .map(|(n, r)| tokens::create(&state.join(TOKENS_FILE), n, *r).unwrap())
        .collect();
    let config = AgentConfig {
        exec,
        sim_faults: false,
        state_dir: Some(state),
        ..fast(node, 6)
    };
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (
        fleetdeck_agent::spawn(config, listener).await.unwrap(),
        dir,
        made,
    )
}

fn running(agent: &RunningAgent) -> String {
    agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.status.state.is_up())
        .map(|c| c.spec.name.clone())
        .unwrap()
}

fn start(container: &str, command: &[&str], stdin: bool) -> pb::ExecInput {
    pb::ExecInput {
        input: Some(Input::Start(pb::ExecStart {
            container: container.into(),
            command: command.iter().map(|s| (*s).to_owned()).collect(),
            tty: false,
            stdin,
            rows: 0,
            cols: 0,
            requested_by: "exec-test".into(),
        })),
    }
}

fn stdin(bytes: &[u8]) -> pb::ExecInput {
    pb::ExecInput {
        input: Some(Input::Stdin(bytes.to_vec())),
    }
}

/// An open session: its input sender and output stream.
type Session = (
    mpsc::Sender<pb::ExecInput>,
    tonic::Streaming<pb::ExecOutput>,
);

/// Opens a session with `first` as its first message, as `token`'s holder.
async fn open(
    agent: &RunningAgent,
    token: Option<&str>,
    first: pb::ExecInput,
) -> Result<Session, tonic::Status> {
    let mut client = common::client(agent).await;
    let (tx, rx) = mpsc::channel(16);
    tx.send(first).await.unwrap();
    let mut request = tonic::Request::new(ReceiverStream::new(rx));
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let out = client.exec(request).await?.into_inner();
    Ok((tx, out))
}

/// Stdout and the last message of a session.
async fn finish(out: &mut tonic::Streaming<pb::ExecOutput>) -> (Vec<u8>, Output) {
    let mut stdout = Vec::new();
    loop {
        let m = tokio::time::timeout(BOUND, out.message())
            .await
            .expect("the session answers")
            .unwrap()
            .expect("a last message before the end");
        match m.output.unwrap() {
            Output::Stdout(b) => stdout.extend(b),
            Output::Stderr(_) => {}
            last => return (stdout, last),
        }
    }
}

/// The audit lines of exec sessions (not refusals).
fn sessions(dir: &tempfile::TempDir, node: &str) -> Vec<serde_json::Value> {
    common::audit_lines(dir, node)
        .into_iter()
        .filter(|l| l["action"] == "container.exec" && l.get("bytes_in").is_some())
        .collect()
}

#[tokio::test]
async fn a_viewer_token_is_refused_and_an_operator_session_is_audited_without_contents() {
    let (agent, dir, tokens) = agent_with(
        "ex1",
        ExecConfig::default(),
        &[("wall", Role::Viewer), ("ops", Role::Operator)],
    )
    .await;
    let c = running(&agent);
    let e = open(&agent, Some(&tokens[0]), start(&c, &["sh"], false))
        .await
        .expect_err("a viewer cannot exec");
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert!(
        e.message().contains("needs role operator"),
        "{}",
        e.message()
    );
    // The refusal is in the audit log with the caller's name.
    let refused = common::audit_lines(&dir, "ex1");
    assert!(
        refused.iter().any(|l| l["outcome"]["result"] == "refused"
            && l["caller"]["identity"] == "token:wall"),
        "{refused:?}"
    );
    assert!(sessions(&dir, "ex1").is_empty());

    let (tx, mut out) = open(&agent, Some(&tokens[1]), start(&c, &["cat"], true))
        .await
        .unwrap();
    tx.send(stdin(b"secret-words\n")).await.unwrap();
    tx.send(pb::ExecInput {
        input: Some(Input::CloseStdin(true)),
    })
    .await
    .unwrap();
    let (stdout, last) = finish(&mut out).await;
    assert_eq!(stdout, b"secret-words\n");
    assert_eq!(last, Output::ExitCode(0));
    drop(tx);
    // The line is written as the session ends, just after its last message.
    let line = wait_for_session(&dir, "ex1").await;
    assert_eq!(line["caller"]["identity"], "token:ops");
    assert_eq!(line["caller"]["requested_by"], "exec-test");
    assert_eq!(line["target"], c.as_str());
    assert_eq!(line["command"], serde_json::json!(["cat"]));
    assert_eq!(
        (line["bytes_in"].as_u64(), line["bytes_out"].as_u64()),
        (Some(13), Some(13))
    );
    assert_eq!(line["exit_code"], 0);
    assert_eq!(line["outcome"], "exited");
    assert!(line["started"].is_string() && line["ended"].is_string());
    let raw = std::fs::read_to_string(dir.path().join("ex1").join("audit.jsonl")).unwrap();
    assert!(
        !raw.contains("secret-words"),
        "contents never reach the log"
    );
    agent.shutdown().await;
}

async fn wait_for_session(dir: &tempfile::TempDir, node: &str) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        if let Some(l) = sessions(dir, node).pop() {
            return l;
        }
        assert!(started.elapsed() < BOUND, "no exec line in the audit log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_agent_can_keep_exec_to_admins() {
    let exec = ExecConfig {
        role: Role::Admin,
        ..ExecConfig::default()
    };
    let (agent, _dir, tokens) = agent_with(
        "ex2",
        exec,
        &[("ops", Role::Operator), ("root", Role::Admin)],
    )
    .await;
    let c = running(&agent);
    let e = open(
        &agent,
        Some(&tokens[0]),
        start(&c, &["sh", "-c", "exit 4"], false),
    )
    .await
    .expect_err("an operator cannot exec here");
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert!(e.message().contains("needs role admin"), "{}", e.message());
    let (_tx, mut out) = open(
        &agent,
        Some(&tokens[1]),
        start(&c, &["sh", "-c", "exit 4"], false),
    )
    .await
    .unwrap();
    assert_eq!(finish(&mut out).await.1, Output::ExitCode(4));
    agent.shutdown().await;
}

#[tokio::test]
async fn sessions_beyond_the_cap_are_refused_until_one_ends() {
    let exec = ExecConfig {
        max_sessions: 2,
        ..ExecConfig::default()
    };
    let (agent, dir, _) = agent_with("ex3", exec, &[]).await;
    let c = running(&agent);
    let first = open(&agent, None, start(&c, &["sh"], true)).await.unwrap();
    let second = open(&agent, None, start(&c, &["sh"], true)).await.unwrap();
    let e = open(&agent, None, start(&c, &["sh"], true))
        .await
        .expect_err("a third session is refused");
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(
        e.message().contains("already runs 2 exec sessions") && !e.message().contains('\n'),
        "{}",
        e.message()
    );
    // Ending one (exit) frees its slot.
    let (tx, mut out) = first;
    tx.send(stdin(b"exit 0\n")).await.unwrap();
    assert_eq!(finish(&mut out).await.1, Output::ExitCode(0));
    wait_for_session(&dir, "ex3").await;
    let third = open(&agent, None, start(&c, &["sh"], true)).await.unwrap();
    drop((second, third));
    agent.shutdown().await;
}

#[tokio::test]
async fn an_idle_session_is_closed_with_one_line() {
    let exec = ExecConfig {
        idle_timeout: Duration::from_millis(300),
        ..ExecConfig::default()
    };
    let (agent, dir, _) = agent_with("ex4", exec, &[]).await;
    let c = running(&agent);
    let (_tx, mut out) = open(&agent, None, start(&c, &["sh"], true)).await.unwrap();
    let (_, last) = finish(&mut out).await;
    let Output::Error(message) = last else {
        panic!("an idle session ends with an error, not {last:?}")
    };
    assert!(message.contains("without input or output"), "{message}");
    let line = wait_for_session(&dir, "ex4").await;
    assert_eq!(line["outcome"], "idle");
    assert!(line["exit_code"].is_null());
    agent.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_one_line() {
    let (agent, _dir, _) = agent_with("ex5", ExecConfig::default(), &[]).await;
    let c = running(&agent);
    let refused = |e: tonic::Status, wanted: &str| {
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        assert!(
            e.message().contains(wanted) && !e.message().contains('\n'),
            "{}",
            e.message()
        );
    };
    // The first message must open the session.
    let e = open(&agent, None, stdin(b"ls\n")).await.unwrap_err();
    refused(e, "first exec message must carry start");
    let too_many: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let args: Vec<&str> = too_many.iter().map(String::as_str).collect();
    refused(
        open(&agent, None, start(&c, &args, false))
            .await
            .unwrap_err(),
        "at most 256",
    );
    let long = "x".repeat(5000);
    refused(
        open(&agent, None, start(&c, &["echo", &long], false))
            .await
            .unwrap_err(),
        "at most 4096 bytes",
    );
    refused(
        open(&agent, None, start(&c, &["echo", "a\0b"], false))
            .await
            .unwrap_err(),
        "no NUL",
    );
    refused(
        open(&agent, None, start("web;rm -rf /", &["sh"], false))
            .await
            .unwrap_err(),
        "not a container id or name",
    );
    // Later messages are checked too: a second start, an unknown signal, too much stdin.
    for (bad, wanted) in [
        (start(&c, &["sh"], true), "send start only once"),
        (
            pb::ExecInput {
                input: Some(Input::Signal("SEGV".into())),
            },
            "is not one exec sends",
        ),
        (stdin(&vec![b'x'; 70 * 1024]), "stdin bytes in one message"),
    ] {
        let (tx, mut out) = open(&agent, None, start(&c, &["sh"], true)).await.unwrap();
        tx.send(bad).await.unwrap();
        let (_, last) = finish(&mut out).await;
        let Output::Error(m) = last else {
            panic!("bad input ends the session with an error, not {last:?}")
        };
        assert!(m.contains(wanted), "{m}");
    }
    agent.shutdown().await;
}

#[tokio::test]
async fn a_revoked_token_loses_its_open_session() {
    let (agent, dir, tokens) = agent_with(
        "ex6",
        ExecConfig::default(),
        &[("ops", Role::Operator), ("keep", Role::Operator)],
    )
    .await;
    let c = running(&agent);
    let (tx, mut out) = open(&agent, Some(&tokens[0]), start(&c, &["sh"], true))
        .await
        .unwrap();
    tokens::revoke(&dir.path().join("ex6").join(TOKENS_FILE), "ops").unwrap();
    let (_, last) = finish(&mut out).await;
    let Output::Error(message) = last else {
        panic!("a revoked caller's session ends with an error, not {last:?}")
    };
    assert!(message.contains("revoked"), "{message}");
    drop(tx);
    let line = wait_for_session(&dir, "ex6").await;
    assert!(
        line["outcome"].as_str().unwrap().starts_with("revoked"),
        "{line}"
    );
    agent.shutdown().await;
}
