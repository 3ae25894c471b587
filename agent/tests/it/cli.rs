//! The real binary: one-line errors, listening lines, clean stop on SIGTERM.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use crate::common::term_and_wait;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck-agent");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap()
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    assert!(err.starts_with("fleetdeck-agent: "), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

#[test]
fn bad_flag() {
    let out = run(&["--bogus"]);
    let err = one_line_error(&out);
    assert!(err.contains("--bogus") && err.contains("--help"), "{err}");
    assert_eq!(out.status.code(), Some(2));
    let err = one_line_error(&run(&["--runtime", "sim", "--label", "nokey"]));
    assert!(err.contains("KEY=VALUE"), "{err}");
}

#[test]
fn fault_flags_are_checked_before_anything_starts() {
    let err = one_line_error(&run(&["--runtime", "sim", "--fault", "meltdown:web-1"]));
    assert!(err.contains("unknown fault `meltdown`"), "{err}");
    let err = one_line_error(&run(&[
        "--runtime",
        "sim",
        "--fleet",
        "2",
        "--fault",
        "crash_loop:web-1@5",
    ]));
    assert!(err.contains("--fault drills one simulated node"), "{err}");
    let err = one_line_error(&run(&["--runtime", "docker", "--fault", "clear:web-1"]));
    assert!(err.contains("use it with --runtime sim"), "{err}");
}

#[test]
fn busy_port() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let err = one_line_error(&run(&[
        "--runtime",
        "sim",
        "--listen",
        &addr,
        "--state-dir",
        state,
    ]));
    assert!(
        err.contains(&format!(
            "cannot listen on {addr}: address already in use; pick another --listen port"
        )),
        "{err}"
    );
}

#[test]
fn docker_without_engine_names_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("no-docker.sock");
    let host = format!("unix://{}", socket.display());
    let out = Command::new(BIN)
        .args(["--runtime", "docker", "--listen", "127.0.0.1:0"])
        .env("DOCKER_HOST", &host)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = one_line_error(&out);
    assert!(
        err.contains(&format!(
            "cannot reach the Docker engine at {host}: no socket there"
        )),
        "{err}"
    );
    assert!(
        err.contains("point DOCKER_HOST at it, or use --runtime sim"),
        "{err}"
    );
}

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn listening_lines(child: &mut Child, n: usize) -> Vec<(String, String, u64)> {
    let out = BufReader::new(child.stdout.take().unwrap());
    out.lines()
        .take(n)
        .map(|l| {
            let l = l.unwrap();
            let mut parts = l.split(' ');
            assert_eq!(parts.next(), Some("listening"), "{l}");
            let mut field = |k: &str| {
                parts
                    .next()
                    .and_then(|p| p.strip_prefix(k))
                    .unwrap_or_else(|| panic!("{l}"))
                    .to_owned()
            };
            (
                field("node="),
                field("addr="),
                field("epoch=").parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn fleet_prints_one_line_per_node_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let mut child = spawn(&[
        "--runtime",
        "sim",
        "--node-id",
        "fl",
        "--fleet",
        "3",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        state,
    ]);
    let lines = listening_lines(&mut child, 3);
    let ids: Vec<_> = lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(ids, ["fl-0001", "fl-0002", "fl-0003"]);
    assert!(
        lines
            .iter()
            .all(|l| l.1.starts_with("127.0.0.1:") && l.2 != 0)
    );
    for id in ids {
        assert!(
            dir.path().join(id).join("audit.jsonl").exists(),
            "state dir for {id}"
        );
    }
    // Each node answers.
    std::net::TcpStream::connect(&lines[2].1).unwrap();
    term_and_wait(&mut child);
}

#[test]
fn single_node_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let mut child = spawn(&[
        "--runtime",
        "sim",
        "--node-id",
        "one",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        state,
    ]);
    let lines = listening_lines(&mut child, 1);
    assert_eq!(lines[0].0, "one");
    assert!(dir.path().join("audit.jsonl").exists());
    term_and_wait(&mut child);
}

#[test]
fn tokens_are_created_once_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let create = |name: &str, role: &str| {
        run(&[
            "token",
            "create",
            "--role",
            role,
            "--name",
            name,
            "--state-dir",
            state,
        ])
    };
    let out = create("wall", "viewer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("fdk_") && token.len() == 68, "{token}");
    let stored = std::fs::read_to_string(dir.path().join("tokens.toml")).unwrap();
    assert!(!stored.contains(token), "only the hash is stored");
    let again = one_line_error(&create("wall", "admin"));
    assert!(again.contains("exists"), "{again}");
    let bad = run(&[
        "token",
        "create",
        "--role",
        "root",
        "--name",
        "x",
        "--state-dir",
        state,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
    let list = run(&["token", "list", "--state-dir", state]);
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(text.contains("wall") && text.contains("viewer"), "{text}");
    assert!(!text.contains(token));
    assert!(
        run(&["token", "revoke", "wall", "--state-dir", state])
            .status
            .success()
    );
    let gone = one_line_error(&run(&["token", "revoke", "wall", "--state-dir", state]));
    assert!(gone.contains("no token named `wall`"), "{gone}");
}

#[test]
fn a_non_loopback_listener_without_tls_is_refused_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let base = [
        "--runtime",
        "sim",
        "--listen",
        "0.0.0.0:0",
        "--state-dir",
        state,
    ];
    let err = one_line_error(&run(&base));
    assert!(
        err.contains("refusing to listen on 0.0.0.0:") && err.contains("without TLS"),
        "{err}"
    );
    assert!(err.contains("--insecure"), "{err}");
    let mut child = Command::new(BIN)
        .args(base)
        .arg("--insecure")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut warning = String::new();
    stderr.read_line(&mut warning).unwrap();
    assert!(warning.contains("WARNING: INSECURE"), "{warning}");
    assert!(warning.contains("without TLS"), "{warning}");
    assert_eq!(listening_lines(&mut child, 1).len(), 1);
    term_and_wait(&mut child);
}
