//! A real etcd (Debian's `etcd-server`) for the tests: one member on free loopback ports
//! with a temporary data directory, killed (by its PID) when dropped or when a test
//! wants it gone mid-action.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck::coord::{Coord, Etcd};

/// Where Debian installs it.
pub const BIN: &str = "/usr/bin/etcd";
/// Bound on etcd answering after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running etcd member.
pub struct EtcdServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// True when the tests may use etcd; false (with the reason printed) when the binary is
/// absent and the environment does not require it; panics when it does.
pub fn available(test: &str) -> bool {
    super::services::available(test, BIN, "etcd-server")
}

/// etcd settings as `[coordination] etcd = [url]` with `prefix` resolves them.
pub fn handle(url: &str, prefix: &str) -> Etcd {
    let config: fleetdeck::coord::CoordConfig =
        toml::from_str(&format!("etcd = [\"{url}\"]\nprefix = \"{prefix}\"")).unwrap();
    fleetdeck::coord::config::resolve(&config, &[], None)
        .unwrap()
        .unwrap()
}

impl EtcdServer {
    /// Starts one on free ports and waits until it answers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = super::services::free_port();
        let peer = super::services::free_port();
        let client_url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(BIN)
            .arg("--name=fleetdeck-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=fleetdeck-test={peer_url}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let server = Self {
            child: Some(child),
            port,
            dir,
        };
        server.wait_ready().await;
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A console's coordination through this etcd, under `prefix`.
    pub fn coord(&self, prefix: &str) -> Coord {
        Coord::new(handle(&self.url(), prefix))
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// Kills it like a crash (our own child, by its PID).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn wait_ready(&self) {
        let etcd = handle(&self.url(), "/ready/");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match etcd.range_prefix("/ready/").await {
                Ok(_) => return,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "etcd not ready on port {}: {e}\n{}",
                    self.port,
                    self.log()
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}
