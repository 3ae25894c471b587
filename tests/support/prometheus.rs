//! A real Prometheus (Debian's `prometheus`) for the tests: started on a free loopback port
//! with a temporary configuration (scrape every second) and its own TSDB folder, asked
//! through its HTTP API, and killed (by its PID) when dropped.
#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where Debian installs it.
pub const BIN: &str = "/usr/bin/prometheus";
/// Bound on Prometheus becoming ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// True when the tests may use Prometheus; false (with the reason printed) when the binary
/// is absent and the environment does not require it; panics when it does.
pub fn available(test: &str) -> bool {
    super::services::available(test, BIN, "prometheus")
}

pub use super::services::free_port;

/// TLS files a scrape job presents and checks.
pub struct ScrapeTls<'a> {
    /// CA the target's certificate must chain to.
    pub ca: &'a Path,
    /// Client certificate and key, for a target that asks for one.
    pub client: Option<(&'a Path, &'a Path)>,
}

/// One `scrape_configs` entry: `job` scrapes `target` (http, or https with `tls`).
pub fn job(name: &str, target: SocketAddr, tls: Option<&ScrapeTls<'_>>) -> String {
    let mut yaml = format!("  - job_name: {name}\n");
    if let Some(tls) = tls {
        yaml.push_str("    scheme: https\n    tls_config:\n");
        writeln!(yaml, "      ca_file: {}", tls.ca.display()).unwrap();
        if let Some((cert, key)) = tls.client {
            writeln!(yaml, "      cert_file: {}", cert.display()).unwrap();
            writeln!(yaml, "      key_file: {}", key.display()).unwrap();
        }
    }
    writeln!(yaml, "    static_configs:\n      - targets: [\"{target}\"]").unwrap();
    yaml
}

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts one scraping `jobs` (from [`job`]) every second and waits until it is ready.
    pub async fn start(jobs: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n{}",
            jobs.concat()
        );
        std::fs::write(&config, yaml).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(BIN)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let p = Self { child, port, dir };
        p.wait_ready().await;
        p
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Its configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.yml")
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok((200, _)) = try_get(self.addr(), "/-/ready").await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready on port {}: {}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The result vector of an instant query (`/api/v2/query`), each entry with `metric`
    /// (labels) and `value`.
    pub async fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(expr));
        let (status, body) = try_get(self.addr(), &path)
            .await
            .unwrap_or_else(|e| panic!("query {expr}: {e}"));
        assert_eq!(status, 200, "query {expr}: {body}");
        let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["status"], "success", "{body}");
        reply["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls `expr` until `done` holds for its result, for at most `limit`; returns that
    /// result, or fails with the last one and the log.
    pub async fn wait_for(
        &self,
        expr: &str,
        limit: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let result = self.query(expr).await;
            if done(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} never held within {limit:?}; last result {result:?}; targets {}; log {}",
                self.targets().await,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `/api/v1/targets` as text, for failure messages.
    pub async fn targets(&self) -> String {
        try_get(self.addr(), "/api/v1/targets")
            .await
            .map(|(_, body)| body)
            .unwrap_or_else(|e| e)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one entry of a query result.
pub fn sample_value(entry: &serde_json::Value) -> f64 {
    entry["value"][1].as_str().unwrap().parse().unwrap()
}

/// `s` with everything but unreserved characters percent-encoded, for a query string.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

/// `GET path` on `addr` over HTTP/1.0 (so the body ends with the connection): status and
/// body, or why it failed.
pub async fn try_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("no header end in {text:?}"))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status in {head:?}"))?;
        Ok((status, body.to_owned()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("GET {path} on {addr} timed out")))
}
