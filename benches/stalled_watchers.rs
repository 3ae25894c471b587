//! The agent's memory with many Watch streams that never read, against the same number of
//! streams that read everything: starts `fleetdeck-agent` (sim runtime, many containers,
//! fast samples) on a loopback port, opens WATCHERS streams (each on its own connection),
//! and samples the agent's VmRSS from /proc every few seconds for SECS per phase.
//!
//! ```sh
//! cargo build --release -p fleetdeck-agent
//! AGENT_BIN=target/release/fleetdeck-agent WATCHERS=256 SECS=60 CONTAINERS=1000 \
//!     cargo bench --bench stalled_watchers
//! ```
//!
//! Linux only (reads /proc/PID/status). Prints one table; no assertion (a measurement).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_proto as pb;
use pb::agent_client::AgentClient;
use tonic::transport::Endpoint;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Agent {
    child: Child,
    addr: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn start_agent(bin: &str, containers: u32, state: &std::path::Path) -> Agent {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(bin)
        .args(["--runtime", "sim", "--node-id", "bench", "--no-faults"])
        .args(["--listen", &addr, "--containers", &containers.to_string()])
        .args(["--sample-interval-ms", "200"])
        // Every watcher here is the same anonymous caller: lift the per-caller cap.
        .args(["--max-watch-per-caller", "512"])
        .env("XDG_STATE_HOME", state)
        .env("HOME", state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (set AGENT_BIN)"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the agent did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Agent { child, addr }
}

/// Opens one Watch stream on its own connection; `read` decides whether anyone reads it.
async fn watcher(addr: &str, read: bool) -> tokio::task::JoinHandle<u64> {
    let ch = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = AgentClient::new(ch);
    let mut stream = client
        .watch(pb::WatchRequest {
            client_name: "bench".into(),
        })
        .await
        .unwrap()
        .into_inner();
    tokio::spawn(async move {
        let _keep = client;
        let mut events = 0_u64;
        if read {
            while let Ok(Some(_)) = stream.message().await {
                events += 1;
            }
        } else {
            // Hold the stream open and never poll it.
            std::future::pending::<()>().await;
        }
        events
    })
}

/// One phase: RSS before, then every `every` for `secs`; returns (label, samples in KiB).
async fn phase(
    bin: &str,
    containers: u32,
    watchers: usize,
    read: bool,
    secs: u64,
    every: u64,
) -> Vec<(u64, u64)> {
    let state = tempfile::tempdir().unwrap();
    let agent = start_agent(bin, containers, state.path()).await;
    let pid = agent.child.id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut samples = vec![(0, rss_kib(pid))];
    let mut handles = Vec::new();
    for _ in 0..watchers {
        handles.push(watcher(&agent.addr, read).await);
    }
    let start = Instant::now();
    let mut t = 0;
    while t < secs {
        tokio::time::sleep(Duration::from_secs(every)).await;
        t += every;
        samples.push((start.elapsed().as_secs(), rss_kib(pid)));
    }
    for h in handles {
        h.abort();
    }
    drop(agent);
    samples
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin: String = env_or("AGENT_BIN", "target/release/fleetdeck-agent".to_string());
    let watchers: usize = env_or("WATCHERS", 256).min(500);
    let secs: u64 = env_or("SECS", 60).min(3600);
    let every: u64 = env_or("EVERY", 5).clamp(1, 60);
    let containers: u32 = env_or("CONTAINERS", 1000).min(20_000);
    println!(
        "agent {bin}: sim, {containers} containers, samples every 200 ms; {watchers} Watch \
         streams, one connection each; RSS every {every} s for {secs} s"
    );
    let reading = phase(&bin, containers, watchers, true, secs, every).await;
    let stalled = phase(&bin, containers, watchers, false, secs, every).await;
    println!(
        "{:>6}  {:>14}  {:>14}",
        "t (s)", "reading MiB", "stalled MiB"
    );
    for (i, (r, s)) in reading.iter().zip(&stalled).enumerate() {
        let label = if i == 0 {
            "before".to_string()
        } else {
            r.0.to_string()
        };
        println!("{label:>6}  {:>14}  {:>14}", mib(r.1), mib(s.1));
    }
    let peak = |v: &[(u64, u64)]| v.iter().map(|x| x.1).max().unwrap_or(0);
    let half = stalled.len() / 2;
    println!(
        "peak: reading {} MiB, stalled {} MiB; stalled second half grew {} MiB",
        mib(peak(&reading)),
        mib(peak(&stalled)),
        mib(stalled
            .last()
            .map_or(0, |l| l.1)
            .saturating_sub(stalled[half].1))
    );
}
