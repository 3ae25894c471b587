//! The console's state directory is owner-only whatever the umask: the spec cache (container
//! environments), the action history and the console's log are 0600, the directory 0700,
//! and one an earlier version left open is tightened at start, with a log line.
//!
//! Its own test binary, not a module of `it`: the log test installs the process-wide log
//! subscriber (`logging::init_file_log`), which a process can set only once and which
//! would then take every other test's logs.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

#[path = "support/ops.rs"]
mod ops;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fleetdeck::cli::EXIT_OK;
use fleetdeck_agent::NodeMode;
use ops::Cluster;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn an_action_command_leaves_its_state_owner_only() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(Cluster::start(&[NodeMode::Active], 2));
    let home = tempfile::tempdir().unwrap();
    // As an earlier version left it: open to every user.
    let state = home.path().join("state/fleetdeck");
    let incidents = state.join("incidents");
    std::fs::create_dir_all(&incidents).unwrap();
    set_mode(&state, 0o755);
    set_mode(&incidents, 0o755);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["cordon", "n1", "--yes", "--agent", &c.nodes[0].addr])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_OK), "{out:?}");
    assert_eq!(mode(&state), 0o700, "state dir tightened");
    assert_eq!(mode(&incidents), 0o700, "its folders too");
    for file in ["specs.json", "actions.jsonl"] {
        assert_eq!(mode(&state.join(file)), 0o600, "{file}");
    }
    drop(c);
}

#[test]
fn the_console_log_is_owner_only_and_says_what_it_tightened() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("fleetdeck");
    std::fs::create_dir(&state).unwrap();
    set_mode(&state, 0o755);
    // What the console does at start.
    let log = fleetdeck::logging::init_file_log(&state).unwrap();
    fleetdeck::logging::tighten_state_dir(&state);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&log), 0o600);
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&*state.to_string_lossy()))
        .unwrap_or_else(|| panic!("no line names the state dir: {text}"));
    assert!(
        line.contains("WARN") && line.contains("755") && line.contains("700"),
        "{line}"
    );
}
