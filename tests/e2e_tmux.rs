//! End-to-end: the real `fleetdeck` binary in tmux, driven by keys, read from the screen.

mod support;

use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// The title of the detail pane names the node under the cursor.
fn detail_shows(screen: &str, node: &str) -> bool {
    screen.lines().any(|l| l.contains(&format!("╭ {node} ")))
}

#[test]
fn demo_shows_the_fleet_moves_the_selection_and_quits_cleanly() {
    let tmux = Tmux::start(&[BIN, "demo", "--nodes", "4", "--seed", "7"], 200, 50);
    let screen = tmux.wait_for("four live nodes", Duration::from_secs(30), |s| {
        (1..=4).all(|n| s.contains(&format!("node-0{n}"))) && s.matches(" live").count() >= 4
    });
    assert!(
        screen.contains("4 nodes"),
        "header counts the nodes:\n{screen}"
    );
    assert!(
        screen.contains("Containers"),
        "container table shown:\n{screen}"
    );
    tmux.wait_for("node-01 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-01")
    });

    tmux.send(&["j"]);
    tmux.wait_for("node-02 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-02")
    });
    tmux.send(&["j", "j"]);
    tmux.wait_for("node-04 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-04")
    });
    tmux.send(&["g"]);
    tmux.wait_for("back on node-01", Duration::from_secs(5), |s| {
        detail_shows(s, "node-01")
    });

    tmux.send(&["?"]);
    tmux.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("filter the focused table")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("filter the focused table")
    });

    tmux.send(&["q"]);
    assert_eq!(
        tmux.exit_status(Duration::from_secs(10)),
        Some(0),
        "exit status after q"
    );
    let after = tmux.screen();
    assert!(
        !after.contains("Containers"),
        "terminal restored (alternate screen left):\n{after}"
    );
    let log = std::fs::read_to_string(tmux.home().join("state/fleetdeck/fleetdeck.log"))
        .expect("the console writes its log into the state dir");
    assert!(log.contains("console stopped"), "log:\n{log}");
}

#[test]
fn sigterm_quits_cleanly_and_restores_the_terminal() {
    let tmux = Tmux::start(&[BIN, "demo", "--nodes", "2", "--seed", "3"], 120, 40);
    tmux.wait_for("the console", Duration::from_secs(30), |s| {
        s.contains("Containers")
    });
    let pid = tmux.pane_pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    assert_eq!(
        tmux.exit_status(Duration::from_secs(10)),
        Some(0),
        "exit status after SIGTERM"
    );
    let after = tmux.screen();
    assert!(!after.contains("Containers"), "terminal restored:\n{after}");
}

#[test]
fn a_panic_restores_the_terminal_and_reports() {
    let tmux = Tmux::start_with_env(
        &[BIN, "demo", "--nodes", "1"],
        &[
            ("FLEETDECK_DEBUG_PANIC", "1"),
            ("RUST_BACKTRACE", "0"),
            ("RUST_LIB_BACKTRACE", "0"),
        ],
        120,
        40,
    );
    let status = tmux.exit_status(Duration::from_secs(30));
    assert_eq!(status, Some(101), "a panic exits with Rust's panic status");
    let screen = tmux.screen();
    assert!(
        screen.contains("panicking on purpose"),
        "the report is readable:\n{screen}"
    );
    assert!(!screen.contains("Containers"), "the TUI is gone:\n{screen}");
}

/// On an 80x24 terminal help is longer than the screen: it scrolls from the first key,
/// because the console learns its size at start, not at the first resize.
#[test]
fn help_scrolls_on_an_80x24_terminal() {
    let tmux = Tmux::start(&[BIN, "demo", "--nodes", "2", "--seed", "3"], 80, 24);
    tmux.wait_for("the console", Duration::from_secs(30), |s| {
        s.contains("node-02")
    });
    tmux.send(&["?"]);
    tmux.wait_for("help, top", Duration::from_secs(5), |s| {
        s.contains("1-20 of 23") && s.contains("move up")
    });
    tmux.send(&["G"]);
    tmux.wait_for("help, bottom", Duration::from_secs(5), |s| {
        s.contains("4-23 of 23") && s.contains("this help") && !s.contains("move up")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("of 23")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.exit_status(Duration::from_secs(10)), Some(0));
}
