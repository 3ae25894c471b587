//! End-to-end: a shell in a container from the real binary on a pseudo-terminal. `e`, Enter,
//! `echo hi` is typed and `hi` comes back; the pseudo-terminal is resized and the remote
//! shell sees the new size; the detach key returns to the tables; an ended shell shows its
//! exit code. Against the demo's simulated agents (their built-in shell, over loopback
//! gRPC) and, when there is an engine, a busybox container on the real Docker engine.
//! A read-only console refuses `e`.

use crate::support;

use std::time::Duration;

use support::docker::Engine;
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// The default detach key, Ctrl-\, as the terminal sends it.
const DETACH: &str = "\x1c";
/// Generous: the machine is shared; these wait for something to appear, they time nothing.
const WAIT: Duration = Duration::from_secs(30);

/// True when a row of the screen is exactly `text` (trailing blanks trimmed).
fn has_row(screen: &str, text: &str) -> bool {
    screen.lines().any(|l| l.trim_end() == text)
}

/// `e` on the selected container, Enter on the command it offers: the shell's bar.
fn open_shell(term: &Pty) {
    term.send(&["e"]);
    term.wait_for("the exec prompt", WAIT, |s| {
        s.contains("Shell in a container") && s.contains("run: /bin/sh")
    });
    term.send(&["Enter"]);
    term.wait_for("the shell running", WAIT, |s| {
        s.lines()
            .next()
            .is_some_and(|bar| bar.contains(" Shell ") && bar.contains("running"))
    });
}

/// Resizes the pseudo-terminal and waits until the console has drawn the pane at the new
/// size (the bar's hints end at its right edge again): the remote terminal was told by then,
/// before anything typed next.
fn resize(term: &Pty, cols: u16, rows: u16) {
    term.resize(cols, rows);
    term.wait_for("the pane redrawn at the new size", WAIT, |s| {
        s.lines()
            .next()
            .is_some_and(|bar| bar.trim_end().ends_with("scroll back"))
    });
}

/// Types `echo hi` and waits for the `hi` it prints on a row of its own.
fn echo_hi(term: &Pty) {
    term.type_text("echo hi\r");
    term.wait_for("hi from the shell", WAIT, |s| has_row(s, "hi"));
}

#[test]
fn a_shell_in_a_demo_container_echoes_follows_resizes_and_detaches() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "2", "--seed", "7"], 120, 30);
    term.wait_for("live nodes", WAIT, |s| s.matches(" live").count() >= 2);
    open_shell(&term);
    term.wait_for("the sim shell's prompt", WAIT, |s| s.contains(":/# "));
    echo_hi(&term);

    // The remote terminal has the pane's size: all columns, the rows under the bar.
    term.type_text("env\r");
    term.wait_for("the first size", WAIT, |s| {
        has_row(s, "COLUMNS=120") && has_row(s, "LINES=29")
    });
    resize(&term, 100, 40);
    term.type_text("env\r");
    term.wait_for("the new size", WAIT, |s| {
        has_row(s, "COLUMNS=100") && has_row(s, "LINES=39")
    });
    // Ctrl-c is the shell's: it drops the line and the console stays.
    term.type_text("echo never\x03");
    term.type_text("echo after\r");
    term.wait_for("the shell after Ctrl-c", WAIT, |s| has_row(s, "after"));
    assert!(!term.screen().contains("\nnever"));

    term.type_text(DETACH);
    term.wait_for("the tables again", WAIT, |s| {
        s.contains("Nodes (2)") && s.contains("detached: the shell in")
    });

    // A shell that exits shows its code; any key returns.
    open_shell(&term);
    term.type_text("exit 3\r");
    term.wait_for("the exit code", WAIT, |s| {
        s.contains("exited with code 3") && s.contains("any key returns")
    });
    term.send(&["x"]);
    term.wait_for("the tables again", WAIT, |s| s.contains("Nodes (2)"));
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_read_only_console_refuses_a_shell_with_one_line() {
    let term = Pty::start(
        &[BIN, "--read-only", "demo", "--nodes", "2", "--seed", "7"],
        120,
        30,
    );
    term.wait_for("live nodes", WAIT, |s| s.matches(" live").count() >= 2);
    term.send(&["e"]);
    let screen = term.wait_for("the refusal", WAIT, |s| {
        s.contains("read-only console: `exec` is not available here")
    });
    assert!(!screen.contains("Shell in a container"), "{screen}");
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_in_a_docker_container_echoes_resizes_and_detaches() {
    let Some(engine) = Engine::get("a_shell_in_a_docker_container_echoes_resizes_and_detaches")
    else {
        return;
    };
    engine.run("shell", &[], "sleep 3600");
    let dir = tempfile::tempdir().unwrap();
    let agent = engine.agent("exec-node", &dir.path().join("agent")).await;
    let addr = agent.addr().to_string();
    let status = tokio::task::spawn_blocking(move || {
        let term = Pty::start(&[BIN, "--agent", &addr], 120, 30);
        term.wait_for("the container", WAIT, |s| {
            s.contains("-shell") && s.contains("running")
        });
        open_shell(&term);
        // busybox sh as root.
        term.wait_for("busybox's prompt", WAIT, |s| {
            s.contains("built-in shell (ash)") && s.contains(" # ")
        });
        echo_hi(&term);
        term.type_text("stty size\r");
        term.wait_for("the first size", WAIT, |s| has_row(s, "29 120"));
        resize(&term, 100, 40);
        term.type_text("stty size\r");
        term.wait_for("the new size", WAIT, |s| has_row(s, "39 100"));
        term.type_text(DETACH);
        term.wait_for("the tables again", WAIT, |s| {
            s.contains("Nodes (1)") && s.contains("detached: the shell in")
        });
        term.send(&["q"]);
        term.exit_status(Duration::from_secs(10))
    })
    .await
    .unwrap();
    agent.shutdown().await;
    assert_eq!(status, Some(0));
}
