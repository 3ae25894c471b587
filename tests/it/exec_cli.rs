//! `fleetdeck exec`: the real binary against real agents, on a sim node (its built-in
//! shell) and on the real Docker engine (skipped without one unless
//! FLEETDECK_REQUIRE_DOCKER=1): output and exit status passed through, stdin with `-i`,
//! stderr on stderr, a `-t` shell on a pseudo-terminal (typing, Ctrl-c, resize, exit), and
//! the refusals of a read-only console.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::process::Output;
use std::time::{Duration, Instant};

use crate::exec_sim::{running_container, sim_agent};
use crate::support;
use support::docker::Engine;
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Longest a command may take before the test calls it hung.
const COMMAND_BOUND: Duration = Duration::from_secs(30);
/// Exec's own failures, as `docker exec` has them.
const EXEC_FAILED: i32 = 125;

async fn fleetdeck(args: Vec<String>, stdin: Option<&'static [u8]>) -> Output {
    support::binaries::run_console(args, stdin, COMMAND_BOUND).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn exec_args(addr: &str, container: &str, flags: &[&str], command: &[&str]) -> Vec<String> {
    let mut args = vec!["exec".to_owned(), container.to_owned()];
    args.extend(flags.iter().map(|s| (*s).to_owned()));
    args.extend(["--agent".to_owned(), addr.to_owned(), "--".to_owned()]);
    args.extend(command.iter().map(|s| (*s).to_owned()));
    args
}

/// What both runtimes must do the same way through the CLI.
async fn check_cli(addr: &str, container: &str) {
    let out = fleetdeck(
        exec_args(addr, container, &[], &["sh", "-c", "echo hi; exit 7"]),
        None,
    )
    .await;
    assert_eq!(text(&out.stdout), "hi\n", "stderr: {}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(7));

    let out = fleetdeck(
        exec_args(addr, container, &["-i"], &["cat"]),
        Some(b"one\ntwo\n"),
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        "one\ntwo\n",
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));

    let out = fleetdeck(
        exec_args(addr, container, &[], &["sh", "-c", "nosuch"]),
        None,
    )
    .await;
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("nosuch: not found"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(127));

    // A read-only console, a wall, and a container nobody has: one line each, status 125.
    for (flags, container, wanted) in [
        (&["--read-only"][..], container, "read-only console"),
        (&["--wall"][..], container, "read-only console"),
        (&[][..], "no-such-box", "no container `no-such-box`"),
    ] {
        let out = fleetdeck(exec_args(addr, container, flags, &["sh"]), None).await;
        let err = text(&out.stderr);
        assert!(err.contains(wanted) && err.lines().count() == 1, "{err}");
        assert_eq!(out.status.code(), Some(EXEC_FAILED));
    }
}

/// A `-t` shell on a pseudo-terminal: types a command and sees its output, Ctrl-c drops a
/// line without ending the shell, a resize reaches it (`size` prints what it sees), `exit 3`
/// is the status.
fn check_tty(addr: &str, container: &str, size: &str, resized: &dyn Fn(&str) -> bool) {
    let args = [BIN, "exec", "-it", container, "--agent", addr, "--", "sh"];
    let pty = Pty::start(&args, 100, 30);
    pty.wait_for("the prompt", COMMAND_BOUND, |s| s.contains("# "));
    pty.type_text("echo hi\r");
    pty.wait_for("hi", COMMAND_BOUND, |s| s.lines().any(|l| l.trim() == "hi"));
    pty.type_text("echo never");
    pty.send(&["C-c"]);
    pty.type_text("echo still\r");
    pty.wait_for("the shell after Ctrl-c", COMMAND_BOUND, |s| {
        s.lines().any(|l| l.trim() == "still")
    });
    assert!(
        !pty.screen().lines().any(|l| l.trim() == "never"),
        "Ctrl-c dropped the line"
    );
    pty.resize(120, 40);
    // The window's change travels as SIGWINCH, then a resize message; ask until it shows.
    let started = Instant::now();
    loop {
        pty.type_text(&format!("{size}\r"));
        std::thread::sleep(Duration::from_millis(200));
        if resized(&pty.screen()) {
            break;
        }
        assert!(
            started.elapsed() < COMMAND_BOUND,
            "the resize never arrived:\n{}",
            pty.screen()
        );
    }
    pty.type_text("exit 3\r");
    assert_eq!(pty.exit_status(COMMAND_BOUND), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_exec_passes_output_stdin_and_status_through() {
    let dir = tempfile::tempdir().unwrap();
    let agent = sim_agent(dir.path(), "cli-sim").await;
    let addr = agent.addr().to_string();
    let c = running_container(&agent);
    check_cli(&addr, &c).await;
    let (a, cc) = (addr.clone(), c.clone());
    tokio::task::spawn_blocking(move || {
        check_tty(&a, &cc, "env", &|s| {
            s.contains("COLUMNS=120") && s.contains("LINES=40")
        });
    })
    .await
    .unwrap();
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_exec_passes_output_stdin_and_status_through() {
    let Some(engine) = Engine::get("docker_exec_passes_output_stdin_and_status_through") else {
        return;
    };
    engine.run("box", &[], "sleep 600");
    let dir = tempfile::tempdir().unwrap();
    let agent = engine.agent("exec-dock", &dir.path().join("agent")).await;
    let addr = agent.addr().to_string();
    let name = engine.name("box");
    // The agent lists the container from its first sample on.
    let started = Instant::now();
    loop {
        let out = fleetdeck(exec_args(&addr, &name, &[], &["true"]), None).await;
        if out.status.code() == Some(0) {
            break;
        }
        assert!(started.elapsed() < COMMAND_BOUND, "{}", text(&out.stderr));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    check_cli(&addr, &name).await;
    let (a, n) = (addr.clone(), name.clone());
    tokio::task::spawn_blocking(move || {
        check_tty(&a, &n, "stty size", &|s| {
            s.lines().any(|l| l.trim() == "40 120")
        });
    })
    .await
    .unwrap();
    // Each session left its line in the agent's audit log, with byte counts.
    let audit = std::fs::read_to_string(dir.path().join("agent").join("audit.jsonl")).unwrap();
    let sessions: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l.get("bytes_in").is_some())
        .collect();
    let cat = sessions
        .iter()
        .find(|l| l["command"] == serde_json::json!(["cat"]))
        .expect("the -i session's line");
    assert_eq!(
        (cat["bytes_in"].as_u64(), cat["bytes_out"].as_u64()),
        (Some(8), Some(8))
    );
    assert_eq!(cat["exit_code"], 0);
    let tty = sessions
        .iter()
        .find(|l| l["tty"] == true)
        .expect("the -t session's line");
    assert_eq!(tty["exit_code"], 3);
    agent.shutdown().await;
}
