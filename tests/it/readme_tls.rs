//! The README's mutual-TLS walk-through, run as it stands: the block after the
//! `readme-tls` marker, read from README.md at test time, through `sh` (and `bash` and
//! `zsh` where they are installed) with the real binaries first on PATH. Only what the
//! block itself leaves open is chosen here: its folder (`DIR`) and its three ports
//! (`PORT1`..`PORT3`), free loopback ports.
//!
//! `fleetdeck-agent` is taken from beside the `fleetdeck` binary under test
//! (`support::binaries`).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::support::binaries;
const MARKER: &str = "<!-- readme-tls:";
/// Longest the whole walk-through may take on a loaded machine before it is stopped.
const RUN_LIMIT: Duration = Duration::from_secs(180);
/// Longest the agents may take to stop after the block's last line.
const STOP_LIMIT: Duration = Duration::from_secs(20);
const NODES: [&str; 3] = ["node-1", "node-2", "node-3"];

/// The fenced `sh` block right after the marker comment.
fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let (_, after) = readme
        .split_once(MARKER)
        .expect("README.md has the readme-tls marker");
    let (_, after) = after.split_once("-->\n").unwrap();
    let body = after
        .strip_prefix("```sh\n")
        .expect("the marker is followed at once by a ```sh block");
    let (block, _) = body.split_once("\n```\n").unwrap();
    block.to_owned() + "\n"
}

/// Three distinct free loopback ports (held together while chosen, so they differ).
fn free_ports() -> [u16; 3] {
    let held: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    [0, 1, 2].map(|i| held[i].local_addr().unwrap().port())
}

struct Run {
    dir: PathBuf,
    ports: [u16; 3],
    stdout: String,
    stderr_path: PathBuf,
}

/// Runs `block` in `shell` with errors fatal and unset variables refused, in a process
/// group of its own so that whatever it leaves behind is ended by its id.
fn run(shell: &str, block: &str, root: &Path) -> Run {
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let dir = root.join("fleet");
    let ports = free_ports();
    let script = root.join("walkthrough.sh");
    std::fs::write(&script, block).unwrap();
    let (out_path, err_path) = (root.join("stdout"), root.join("stderr"));
    let bin_dir = binaries::dir();
    assert_eq!(binaries::agent().parent(), Some(bin_dir.as_path()));
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut child = Command::new(shell)
        .args(["-eu"])
        .arg(&script)
        .current_dir(root)
        .env("PATH", path)
        .env("DIR", &dir)
        .env("PORT1", ports[0].to_string())
        .env("PORT2", ports[1].to_string())
        .env("PORT3", ports[2].to_string())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("FLEETDECK_AGENTS")
        .env_remove("FLEETDECK_TOKEN")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stopped = wait_for_stops(&err_path);
    // Whatever is still running in the group (a stuck step, agents the block did not get
    // to stop) ends here; the group may be gone already.
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    let status = status.unwrap_or_else(|| {
        panic!("{shell}: the walk-through ran over {RUN_LIMIT:?}\n{stdout}\n{stderr}")
    });
    assert!(
        status.success(),
        "{shell}: the walk-through failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stopped,
        "{shell}: the block's last line should stop the three agents\n{stderr}"
    );
    Run {
        dir,
        ports,
        stdout,
        stderr_path: err_path,
    }
}

/// Waits until the three agents have logged that they stop (their stderr is the block's).
fn wait_for_stops(stderr: &Path) -> bool {
    let deadline = Instant::now() + STOP_LIMIT;
    loop {
        let text = std::fs::read_to_string(stderr).unwrap_or_default();
        if text.lines().filter(|l| l.contains("stopping")).count() >= NODES.len() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check(shell: &str, run: &Run) {
    let out = &run.stdout;
    // pki and token steps say what they wrote and what comes next.
    assert!(
        out.contains("next: fleetdeck-agent pki issue --dir"),
        "{shell}: {out}"
    );
    for node in NODES {
        assert!(
            out.contains(&format!("agent certificate CN={node} for 127.0.0.1")),
            "{shell}: {out}"
        );
    }
    assert!(out.contains("console certificate CN=ops"), "{shell}: {out}");
    // With its certificate the console reaches all three: each is listed live. (Any agent
    // that did not answer would have made `get` exit 2 and the block stop there.)
    for node in NODES {
        let live = out.lines().any(|l| {
            let mut cols = l.split_whitespace();
            cols.next() == Some(node) && cols.next() == Some("ACTIVE")
        });
        assert!(live, "{shell}: {node} should be listed ACTIVE\n{out}");
    }
    // Without it, every agent refuses the console at the handshake, and says why.
    assert!(
        out.contains("refused without a client certificate"),
        "{shell}: {out}"
    );
    let err = std::fs::read_to_string(&run.stderr_path).unwrap();
    for port in run.ports {
        // The agent's alert read ("the agent requires a client certificate"), or only its
        // hang-up seen ("it may require a client certificate"): TLS 1.3 allows both.
        let said = err.lines().any(|l| {
            l.starts_with(&format!("fleetdeck: agent 127.0.0.1:{port} unreachable: "))
                && l.ends_with("client certificate; set `client_cert` and `client_key`")
        });
        assert!(said, "{shell}: no clear refusal for port {port} in\n{err}");
    }
    // Keys are owner-only; the token reached the console only through a file.
    use std::os::unix::fs::PermissionsExt;
    for key in [
        "ca.key",
        "node-1.key",
        "node-2.key",
        "node-3.key",
        "ops.key",
    ] {
        let mode = std::fs::metadata(run.dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{shell}: {key}");
    }
    assert!(!out.contains("fdk_"), "{shell}: the token is never printed");
}

#[test]
fn the_readme_mutual_tls_walkthrough_runs_as_written() {
    let block = walkthrough();
    assert!(
        block.starts_with("DIR=${DIR:-") && block.contains("PORT3=${PORT3:-"),
        "the block names its folder and ports in DIR and PORT1..PORT3 itself:\n{block}"
    );
    let mut shells = vec!["sh"];
    for shell in ["bash", "zsh"] {
        if binaries::installed(shell) {
            shells.push(shell);
        } else {
            eprintln!("{shell} is not installed: the walk-through runs in the others only");
        }
    }
    for shell in shells {
        let root = tempfile::tempdir().unwrap();
        let run = run(shell, &block, root.path());
        check(shell, &run);
    }
}
