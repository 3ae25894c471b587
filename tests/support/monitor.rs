//! The real `fleetdeck monitor` binary as a child process: a config file written for the
//! test, its own state dir, stderr kept in a file; stopped with SIGTERM, killed (by its
//! PID) if still running when dropped.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// Every default rule but `node-unreachable` off, with a 1 s `for`, and nodes FAILED after
/// 2 s: the tests see only the alert they cause, in seconds.
pub const RULES: &str = r#"
failover_timeout_secs = 2

[[alerts.rules]]
name = "node-unreachable"
for = "1s"
"#;

/// The default rules the tests switch off (fixed list: a new default stays on until
/// added here, and the tests say so by failing on an unexpected alert).
const OTHER_RULES: [&str; 12] = [
    "cpu-warning",
    "cpu-critical",
    "memory-warning",
    "memory-critical",
    "disk-full",
    "stale-copies",
    "node-check-failing",
    "health-check-failing",
    "restart-loop",
    "load-imbalance",
    "scale-up",
    "scale-down",
];

/// The config file text: `RULES`, the others off, then `notify` (a `[notify]` table and
/// `[[notify.webhook]]` entries as TOML).
pub fn config(notify: &str) -> String {
    let mut text = RULES.to_string();
    for name in OTHER_RULES {
        text.push_str(&format!(
            "\n[[alerts.rules]]\nname = \"{name}\"\nenabled = false\n"
        ));
    }
    text.push('\n');
    text.push_str(notify);
    text
}

pub struct Monitor {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
}

impl Monitor {
    /// Starts `fleetdeck monitor` on `agents` with `config` (file text) and `args`.
    pub fn start(config: &str, agents: &[String], args: &[&str]) -> Self {
        Self::start_in(config, agents, args, |_| {})
    }

    /// [`Monitor::start`], with `prepare` given the config file's folder first (for files
    /// the config names).
    pub fn start_in(
        config: &str,
        agents: &[String],
        args: &[&str],
        prepare: impl FnOnce(&std::path::Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let stderr = std::fs::File::create(dir.path().join("monitor.log")).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("monitor")
            .arg("--config")
            .arg(&path)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(args)
            .env_remove("FLEETDECK_AGENTS")
            .env("HOME", dir.path())
            .env("FLEETDECK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for a in agents {
            cmd.arg("--agent").arg(a);
        }
        let child = cmd.spawn().unwrap();
        Self {
            child: Some(child),
            dir,
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("monitor.log")).unwrap_or_default()
    }

    /// Its status file, once written.
    pub fn status_file(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.state_dir().join("monitor-status.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Waits up to `within` for the status file to satisfy `ok`; returns it.
    pub async fn wait_status(
        &self,
        what: &str,
        within: Duration,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.status_file().filter(|s| ok(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: status {:?}\nlog:\n{}",
                self.status_file(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `fleetdeck monitor --status` on this monitor's state dir.
    pub fn status_command(&self) -> Output {
        Command::new(BIN)
            .arg("monitor")
            .arg("--status")
            .arg("--state-dir")
            .arg(self.state_dir())
            .output()
            .unwrap()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub async fn terminate(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no exit within {within:?} of SIGTERM\nlog:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
