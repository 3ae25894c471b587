//! `fleetdeck logs`: the real binary against real agents, its output compared with what the
//! agent's own Logs stream sends; the container's stderr on stderr, `--tail`, `--since`,
//! `--timestamps`, `-f` until Ctrl-c, and `-f` ending when the container is removed (real
//! engine; skips without one unless FLEETDECK_REQUIRE_DOCKER=1).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_agent::{AgentConfig, RunningAgent, bind, spawn};
use fleetdeck_proto as pb;
use support::docker::Engine;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Longest a command may take before the test calls it hung.
const COMMAND_BOUND: Duration = Duration::from_secs(30);

async fn sim_agent(dir: &std::path::Path, name: &str, seed: u64) -> RunningAgent {
    let config = AgentConfig {
        containers: 4,
        sim_faults: true,
        state_dir: Some(dir.join(name)),
        ..AgentConfig::sim(name.to_string(), seed)
    };
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    spawn(config, listener).await.unwrap()
}

/// Runs the binary to its end (bounded).
async fn fleetdeck(args: Vec<String>) -> Output {
    support::binaries::run_console(args, None, COMMAND_BOUND).await
}

/// Starts the binary with `args` (a `-f` run), its stdout piped to the test.
fn follow(args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything the agent's Logs stream sends for `request`, as (stderr?, text) pairs.
async fn agent_lines(agent: &RunningAgent, request: pb::LogsRequest) -> Vec<(bool, String)> {
    let url = format!("http://{}", agent.addr());
    let mut client = pb::agent_client::AgentClient::connect(url).await.unwrap();
    let mut stream = client.logs(request).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        for l in chunk.lines {
            out.push((l.stream == pb::LogStream::Stderr as i32, l.text));
        }
    }
    out
}

/// A container of `agent` that has written lines to both streams.
async fn talkative_container(agent: &RunningAgent) -> (String, Vec<(bool, String)>) {
    let names: Vec<String> = agent
        .snapshot()
        .containers
        .iter()
        .map(|c| c.spec.name.clone())
        .collect();
    let mut best = None;
    for name in names {
        let request = pb::LogsRequest {
            container: name.clone(),
            tail: 200,
            ..Default::default()
        };
        let lines = agent_lines(agent, request).await;
        let both = lines.iter().any(|l| l.0) && lines.iter().any(|l| !l.0);
        if both || best.is_none() {
            best = Some((name, lines));
            if both {
                break;
            }
        }
    }
    best.unwrap()
}

fn split(lines: &[(bool, String)]) -> (String, String) {
    let pick = |err: bool| {
        lines
            .iter()
            .filter(|l| l.0 == err)
            .map(|l| format!("{}\n", l.1))
            .collect::<String>()
    };
    (pick(false), pick(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_prints_what_the_agent_sends_each_stream_to_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let a = sim_agent(dir.path(), "logs-a", 7).await;
    let b = sim_agent(dir.path(), "logs-b", 8).await;
    let (name, _) = talkative_container(&a).await;
    // Both simulated nodes run containers of the same names: --node picks one.
    let agents = [
        "--agent".to_string(),
        a.addr().to_string(),
        "--agent".into(),
        b.addr().to_string(),
        "--node".into(),
        "logs-a".into(),
    ];
    let mut args = vec!["logs".to_string(), name.clone()];
    args.extend(agents[..4].iter().cloned());
    let out = fleetdeck(args).await;
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("several nodes (logs-a, logs-b); give --node"),
        "{e}"
    );

    // The simulated clock moves on between the two reads; a fixed `since` in the past and a
    // tail make both reads end at the same step most of the time, so retry a few times.
    let mut matched = false;
    for _ in 0..5 {
        let mut args = vec![
            "logs".to_string(),
            name.clone(),
            "--tail".into(),
            "20".into(),
        ];
        args.extend(agents.iter().cloned());
        let before = agent_lines(
            &a,
            pb::LogsRequest {
                container: name.clone(),
                tail: 20,
                ..Default::default()
            },
        )
        .await;
        let out = fleetdeck(args).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let after = agent_lines(
            &a,
            pb::LogsRequest {
                container: name.clone(),
                tail: 20,
                ..Default::default()
            },
        )
        .await;
        let got = (text(&out.stdout), text(&out.stderr));
        assert!(!got.0.is_empty() || !got.1.is_empty(), "no lines printed");
        assert!(
            got.0.lines().count() + got.1.lines().count() <= 20,
            "{got:?}"
        );
        if got == split(&before) || got == split(&after) {
            matched = true;
            break;
        }
    }
    assert!(
        matched,
        "the printed lines never equalled the agent's own stream"
    );

    // Timestamps: every line starts with an RFC 3339 time.
    let mut args = vec![
        "logs".to_string(),
        name.clone(),
        "-t".into(),
        "-n".into(),
        "5".into(),
    ];
    args.extend(agents.iter().cloned());
    let out = fleetdeck(args).await;
    assert!(out.status.success());
    // As many lines as the agent holds, up to 5 (a line may be written in between).
    let request = pb::LogsRequest {
        container: name.clone(),
        tail: 5,
        ..Default::default()
    };
    let held = agent_lines(&a, request).await.len();
    let printed = text(&out.stdout).lines().count() + text(&out.stderr).lines().count();
    assert!(
        printed > 0 && printed <= 5 && printed.abs_diff(held) <= 1,
        "{held}: {out:?}"
    );
    for line in text(&out.stdout).lines().chain(text(&out.stderr).lines()) {
        let stamp = line.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{line}"
        );
    }

    // --since in the future: nothing.
    let mut args = vec![
        "logs".to_string(),
        name.clone(),
        "--since".into(),
        "2999-01-01T00:00:00Z".into(),
    ];
    args.extend(agents.iter().cloned());
    let out = fleetdeck(args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    // Unknown container and bad --since: one line each, non-zero.
    let mut args = vec!["logs".to_string(), "no-such".into()];
    args.extend(agents.iter().cloned());
    let out = fleetdeck(args).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("no container `no-such`"));
    let mut args = vec![
        "logs".to_string(),
        name.clone(),
        "--since".into(),
        "yesterday".into(),
    ];
    args.extend(agents.iter().cloned());
    let out = fleetdeck(args).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("RFC 3339"),
        "{}",
        text(&out.stderr)
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_new_lines_until_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let a = sim_agent(dir.path(), "logs-f", 11).await;
    let (name, _) = talkative_container(&a).await;
    let addr = a.addr().to_string();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = follow(&["logs", &name, "-f", "-n", "0", "--agent", &addr]);
        // Lines written after the start arrive while the command runs (`-n 0`: no history).
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(COMMAND_BOUND);
        assert!(
            line.is_ok(),
            "no new line followed within {COMMAND_BOUND:?}"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < COMMAND_BOUND, "Ctrl-c did not end -f");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130));
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_logs_split_streams_and_follow_ends_when_the_container_is_removed() {
    let Some(engine) =
        Engine::get("docker_logs_split_streams_and_follow_ends_when_the_container_is_removed")
    else {
        return;
    };
    engine.run(
        "talker",
        &[],
        "echo out-1; echo err-1 >&2; echo out-2; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done",
    );
    let dir = tempfile::tempdir().unwrap();
    let agent = engine.agent("logs-dock", &dir.path().join("agent")).await;
    let addr = agent.addr().to_string();
    let name = engine.name("talker");

    // Wait until the agent lists the container (its first sample) and it has ticked a few
    // times, so the engine's log file holds more than its first lines.
    let started = Instant::now();
    let out = loop {
        let out = fleetdeck(vec![
            "logs".into(),
            name.clone(),
            "--agent".into(),
            addr.clone(),
            "-n".into(),
            "all".into(),
        ])
        .await;
        if (out.status.success() && text(&out.stdout).contains("tick-5\n"))
            || started.elapsed() > COMMAND_BOUND
        {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("out-1\nout-2\n"), "{stdout}");
    assert_eq!(text(&out.stderr), "err-1\n");

    // --tail counts lines of both streams from the end, as docker logs does.
    let out = fleetdeck(vec![
        "logs".into(),
        name.clone(),
        "--agent".into(),
        addr.clone(),
        "--tail".into(),
        "2".into(),
    ])
    .await;
    assert_eq!(
        text(&out.stdout).lines().count() + text(&out.stderr).lines().count(),
        2
    );
    assert!(
        text(&out.stdout).lines().all(|l| l.starts_with("tick-")),
        "{}",
        text(&out.stdout)
    );

    // --since 1h covers everything.
    let out = fleetdeck(vec![
        "logs".into(),
        name.clone(),
        "--agent".into(),
        addr.clone(),
        "--since".into(),
        "1h".into(),
    ])
    .await;
    assert!(text(&out.stdout).starts_with("out-1\nout-2\n"));

    // -f runs until the container is removed, then ends by itself with status 0.
    let full = name.clone();
    let follower = tokio::task::spawn_blocking(move || {
        let mut child = follow(&["logs", &full, "-f", "-n", "1", "--agent", &addr]);
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        let started = Instant::now();
        while seen < 3 {
            assert!(started.elapsed() < COMMAND_BOUND);
            if lines.next().is_some() {
                seen += 1;
            }
        }
        (child, lines)
    })
    .await
    .unwrap();
    engine.cli(&["rm", "-f", &name]);
    let status = tokio::task::spawn_blocking(move || {
        let (mut child, lines) = follower;
        // Drain what is left so the child never blocks on a full pipe.
        let drain = std::thread::spawn(move || lines.count());
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let _ = drain.join();
                break status;
            }
            if started.elapsed() > COMMAND_BOUND {
                let _ = child.kill();
                panic!("-f did not end after the container was removed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");
    agent.shutdown().await;
}
