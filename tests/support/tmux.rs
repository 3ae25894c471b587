//! Runs the real binary in a detached tmux session and reads its screen.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session running one command; killed on drop.
pub struct Tmux {
    name: String,
    pub dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `args` (the first is the program) in a `width`x`height` session, with the
    /// config, state and data dirs pointed into a fresh temporary folder. When the program
    /// exits, its status is written to `<dir>/exit` and the pane stays for inspection.
    pub fn start(args: &[&str], width: u16, height: u16) -> Self {
        Self::start_with_env(args, &[], width, height)
    }

    /// Like `start`, with extra environment variables for the program.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)], width: u16, height: u16) -> Self {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "tmux is needed for the end-to-end tests (apt-get install tmux)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("fleetdeck-e2e-{}-{}", std::process::id(), unique());
        let mut quoted: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        if !quoted.is_empty() {
            quoted.insert(0, "env".to_string());
        }
        quoted.extend(args.iter().map(|a| shell_quote(a)));
        let d = dir.path().display();
        let script = format!(
            "export HOME={d} XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data TERM=xterm-256color; {cmd}; echo $? > {d}/exit; sleep 600",
            cmd = quoted.join(" ")
        );
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &width.to_string(),
                "-y",
            ])
            .arg(height.to_string())
            .args(["sh", "-c", &script])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Self { name, dir }
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types keys (tmux key names: "j", "Enter", "Tab", "C-c").
    pub fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until the screen satisfies `pred`, or panics with the last screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The program's exit status once it has exited, waiting up to `timeout`.
    pub fn exit_status(&self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let path = self.dir.path().join("exit");
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Ok(code) = text.trim().parse() {
                    return Some(code);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// PID of the program in the pane (the shell `exec`s nothing, so this is its child).
    pub fn pane_pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args(["display", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .expect("tmux display");
        let shell: u32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid");
        // The pane runs `sh -c '...; echo $? > exit; sleep'`: the program is the shell's child.
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("read the shell's children");
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a child process")
    }

    /// The temporary home of this session.
    pub fn home(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Path of a file inside a folder, for assertions.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
