//! The two real executables: `fleetdeck` (this package's, built for its tests) and
//! `fleetdeck-agent`, taken from beside it. `cargo test --workspace` builds both; after
//! `cargo test -p fleetdeck` alone the agent may be missing or older than its sources, and
//! the tests that need it say so instead of running an old agent.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The console binary under test.
pub const CONSOLE: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// `fleetdeck-agent` beside the console binary; the test fails when it is missing or
/// older than any source it is built from.
pub fn agent() -> PathBuf {
    let bin = Path::new(CONSOLE).with_file_name("fleetdeck-agent");
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build it with `cargo build -p fleetdeck-agent` (or run `cargo test \
                 --workspace`, which does)",
                bin.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["agent/src", "agent/Cargo.toml", "core/src", "proto"] {
        if let Some(newer) = newer_than(&root.join(folder), built) {
            panic!(
                "{} is older than {}; rebuild it with `cargo build -p fleetdeck-agent`",
                bin.display(),
                newer.display()
            );
        }
    }
    bin
}

/// The folder holding both binaries.
pub fn dir() -> PathBuf {
    Path::new(CONSOLE).parent().unwrap().to_owned()
}

fn newer_than(path: &Path, built: SystemTime) -> Option<PathBuf> {
    if path.is_dir() {
        return std::fs::read_dir(path)
            .unwrap()
            .find_map(|entry| newer_than(&entry.unwrap().path(), built));
    }
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    (modified > built).then(|| path.to_owned())
}

/// A program on PATH that runs (`zsh`, `man`, `systemd-analyze`); optional tools are
/// checked where they are installed and skipped, saying so, where not.
pub fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs the console with `args` to its end on a blocking thread, `stdin` piped in (else
/// none), outside any user config and `FLEETDECK_AGENTS`; fails the test after `bound`.
pub async fn run_console(
    args: Vec<String>,
    stdin: Option<&'static [u8]>,
    bound: Duration,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(CONSOLE)
            .args(&args)
            .env_remove("FLEETDECK_AGENTS")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(bytes) = stdin {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > bound {
                let _ = child.kill();
                panic!("fleetdeck {args:?} still running after {bound:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}
