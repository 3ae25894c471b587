//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) for the tests: started
//! on a loopback port with its own storage and a route to a receiver that sends nothing,
//! clustering off, and killed (by its PID) when dropped.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs it.
pub const BIN: &str = "/usr/bin/prometheus-alertmanager";
/// Bound on Alertmanager becoming ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const CONFIG: &str = r#"
route:
  receiver: "null"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"#;

/// A running Alertmanager.
pub struct Alertmanager {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// True when the tests may use Alertmanager; false (with the reason printed) when the
/// binary is absent and the environment does not require it; panics when it does.
pub fn available(test: &str) -> bool {
    super::services::available(test, BIN, "prometheus-alertmanager")
}

pub use super::services::free_port;

/// An HTTP client as the monitor builds them (reqwest here carries no TLS provider of
/// its own, so `reqwest::Client::new` cannot be used).
pub fn client() -> reqwest::Client {
    let config = fleetdeck::notify::NotifyConfig {
        alertmanager: vec!["http://127.0.0.1:1".into()],
        ..Default::default()
    };
    let settings = fleetdeck::notify::NotifySettings::resolve(&config, &[], None).unwrap();
    settings.alertmanagers[0].client.clone()
}

impl Alertmanager {
    /// Starts one on a free port and waits until it is ready.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts one on `port` and waits until it is ready.
    pub async fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, CONFIG).unwrap();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(BIN)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let am = Self { child, port, dir };
        am.wait_ready().await;
        am
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    async fn wait_ready(&self) {
        let client = client();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = client
                .get(format!("{}/-/ready", self.url()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Alertmanager not ready on port {}: {}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The alerts it holds now (`GET /api/v2/alerts`: active ones; resolved ones drop out).
    pub async fn alerts(&self) -> Vec<serde_json::Value> {
        let reply = client()
            .get(format!("{}/api/v2/alerts", self.url()))
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{}", reply.status());
        reply.json().await.unwrap()
    }

    /// Waits up to `within` for an alert whose labels include every pair of `labels`.
    pub async fn wait_for_alert(
        &self,
        labels: &[(&str, &str)],
        within: Duration,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .alerts()
                .await
                .into_iter()
                .find(|a| labels.iter().all(|(k, v)| a["labels"][*k] == *v));
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        // Our own child, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
