//! End-to-end incident drill: the real `fleetdeck` binary on a pseudo-terminal, following
//! three sim agents served in this process on loopback. Faults go in through the agents'
//! real `Act` gRPC (`sim_fault`); a node is lost by killing its agent like a crashed
//! process. What the engineer sees and types is read from and sent to its terminal.
//!
//! `measure_incident_response` (ignored by default) repeats the drills and prints the
//! figures recorded in BENCHMARKS.md.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fleetdeck_agent::model::ContainerState;
use fleetdeck_agent::{AgentConfig, RunningAgent, bind, spawn};
use fleetdeck_proto as pb;
use fleetdeck_proto::agent_client::AgentClient;
use pb::act_progress::Result as R;
use pb::sim_fault::Kind;
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Bound on waiting for anything to show, so a broken build fails instead of hanging.
/// Not a speed assertion: speeds are measured by `measure_incident_response`.
const SHOW: Duration = Duration::from_secs(30);
/// The `for` of the two rules the drill times (see `RULES`).
const FOR: Duration = Duration::from_secs(1);
/// Agent sample interval: a crash loop restarts every two samples.
const SAMPLE: Duration = Duration::from_millis(250);

/// Short `for` windows and a short restart window so the drill takes seconds; the
/// fleet-wide hints are off so the pane holds only what the drill causes.
const RULES: &str = r#"
failover_timeout_secs = 2

[[alerts.rules]]
name = "node-unreachable"
for = "1s"

[[alerts.rules]]
name = "health-check-failing"
for = "1s"

[[alerts.rules]]
name = "restart-loop"
window = "3s"

[[alerts.rules]]
name = "load-imbalance"
enabled = false

[[alerts.rules]]
name = "scale-up"
enabled = false

[[alerts.rules]]
name = "scale-down"
enabled = false
"#;

struct Node {
    id: String,
    addr: SocketAddr,
    agent: Option<RunningAgent>,
    state: tempfile::TempDir,
}

/// Three sim agents and the console following them on a pseudo-terminal.
struct Drill {
    rt: tokio::runtime::Runtime,
    nodes: Vec<Node>,
    term: Pty,
    _config: tempfile::TempDir,
}

fn agent_config(id: &str, state: &std::path::Path) -> AgentConfig {
    AgentConfig {
        containers: 8,
        sim_faults: false,
        sample_interval: SAMPLE,
        state_dir: Some(state.to_path_buf()),
        ..AgentConfig::sim(id, 11)
    }
}

impl Drill {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let nodes: Vec<Node> = (1..=3)
            .map(|n| {
                let id = format!("node-0{n}");
                let state = tempfile::tempdir().unwrap();
                let agent = rt.block_on(async {
                    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
                    spawn(agent_config(&id, state.path()), listener)
                        .await
                        .unwrap()
                });
                Node {
                    addr: agent.addr(),
                    id,
                    agent: Some(agent),
                    state,
                }
            })
            .collect();
        let config = tempfile::tempdir().unwrap();
        let path = config.path().join("fleetdeck.toml");
        std::fs::write(&path, RULES).unwrap();
        let mut args = vec![
            BIN.to_string(),
            "--config".into(),
            path.display().to_string(),
        ];
        for n in &nodes {
            args.push("--agent".into());
            args.push(n.addr.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let term = Pty::start(&args, 160, 45);
        term.wait_for("three live nodes", SHOW, |s| {
            s.matches(" live").count() >= 3 && s.contains("node-03")
        });
        Self {
            rt,
            nodes,
            term,
            _config: config,
        }
    }

    /// A running container on node `n` (0-based), by name; `skip` picks another one.
    fn container(&self, n: usize, skip: usize) -> String {
        let snap = self.nodes[n].agent.as_ref().unwrap().snapshot();
        snap.containers
            .iter()
            .filter(|c| c.status.state == ContainerState::Running)
            .filter(|c| c.status.health != fleetdeck_agent::model::HealthState::None)
            .nth(skip)
            .map(|c| c.spec.name.clone())
            .expect("a running container with a health check")
    }

    /// Sends a `sim_fault` Act to node `n` and returns the agent's message.
    fn fault(&self, n: usize, kind: Kind, container: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let req = pb::ActRequest {
            action_id: format!(
                "drill-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            requested_by: "e2e drill".into(),
            action: Some(pb::act_request::Action::SimFault(pb::SimFault {
                kind: kind as i32,
                container: container.into(),
                duration_secs: 0,
            })),
            ..Default::default()
        };
        let addr = self.nodes[n].addr;
        self.rt.block_on(async move {
            let mut client = AgentClient::connect(format!("http://{addr}"))
                .await
                .unwrap();
            let mut stream = client.act(req).await.unwrap().into_inner();
            let mut last = None;
            while let Some(m) = stream.message().await.unwrap() {
                last = Some(m);
            }
            match last.and_then(|m| m.result) {
                Some(R::Done(d)) => d.message,
                other => panic!("fault refused: {other:?}"),
            }
        })
    }

    /// Kills node `n`'s agent like a crashed process.
    fn kill(&mut self, n: usize) {
        let agent = self.nodes[n].agent.take().expect("agent running");
        self.rt.block_on(agent.kill());
    }

    /// Starts node `n`'s agent again on the same address (a new epoch).
    fn revive(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        let config = agent_config(&node.id, node.state.path());
        let addr = node.addr;
        let agent = self.rt.block_on(async {
            // The old listener's port can take a moment to be free again.
            let deadline = Instant::now() + SHOW;
            loop {
                match bind(addr).await {
                    Ok(l) => return spawn(config, l).await.unwrap(),
                    Err(e) if Instant::now() > deadline => panic!("{e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        node.agent = Some(agent);
    }

    /// Waits for a line holding every one of `words`; returns the screen.
    fn wait_line(&self, what: &str, words: &[&str]) -> String {
        self.term
            .wait_for(what, SHOW, |s| s.lines().any(|l| has_all(l, words)))
    }

    /// Like `wait_line`, polling every 10 ms; returns when it showed.
    fn time_line(&self, words: &[&str]) -> Instant {
        let deadline = Instant::now() + SHOW;
        loop {
            let screen = self.term.screen();
            if screen.lines().any(|l| has_all(l, words)) {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "never showed {words:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn has_all(line: &str, words: &[&str]) -> bool {
    words.iter().all(|w| line.contains(w))
}

#[test]
fn a_crash_loop_and_a_lost_node_alert_are_acknowledged_resolve_and_export() {
    let mut d = Drill::start();
    let victim = d.container(1, 0);
    let at = format!("node-02/{victim}");

    // A crash loop: the restart-loop alert shows, firing, where it happens.
    let said = d.fault(1, Kind::CrashLoop, &victim);
    assert!(said.contains("crash loop"), "{said}");
    d.wait_line(
        "restart loop firing",
        &["CRIT", "firing", "restart loop", &at],
    );

    // Acknowledged by keyboard: the alert pane, its top row, A, a note, Enter.
    d.term.send(&["Tab", "Tab", "g", "A"]);
    d.term
        .wait_for("the ack prompt", SHOW, |s| s.contains("acknowledge"));
    d.term.send(&["o", "n", "Space", "i", "t"]);
    d.term.send(&["Enter"]);
    d.wait_line("shown as acked", &["restart loop", &at, "ACK: on it"]);

    // The fault clears: once the restarts leave the 3 s window, it resolves.
    d.fault(1, Kind::Clear, &victim);
    d.wait_line("restart loop resolved", &["resolved", "restart loop", &at]);

    // node-03's agent dies: unreachable goes critical after its `for`.
    d.kill(2);
    let screen = d.wait_line(
        "node unreachable firing",
        &["CRIT", "firing", "node unreachable", "node-03"],
    );
    assert!(
        screen.contains("failover node-03"),
        "the alert recommends the failover:\n{screen}"
    );
    // Once the node is FAILED (2 s here), two keys from the firing alert to its failover
    // plan, opened for confirmation.
    d.term
        .wait_for("node-03 failed", SHOW, |s| s.contains("1 failed"));
    d.term.send(&["a"]);
    d.term.send(&["x"]);
    d.term
        .wait_for("the failover plan, for confirmation", SHOW, |s| {
            s.contains("Fail over node-03") && s.contains("type node-03 to confirm")
        });
    // The third key writes the name out; Enter (the fourth) would run it. The run itself is
    // covered by tests/ops_backup_failover.rs; here the drill goes on with the node back.
    d.term.send(&["Tab"]);
    d.term.wait_for("the name written out", SHOW, |s| {
        s.contains("type node-03 to confirm: node-03")
    });
    d.term.send(&["Escape"]);
    d.term.wait_for("the dialog closed", SHOW, |s| {
        !s.contains("Fail over node-03")
    });
    d.term.send(&["Escape"]);
    d.term
        .wait_for("back on the main view", SHOW, |s| s.contains("Containers"));

    // The agent comes back: the alert resolves.
    d.revive(2);
    d.wait_line(
        "node unreachable resolved",
        &["resolved", "node unreachable", "node-03"],
    );

    // E exports the timeline; the file holds the incident in order.
    d.term.send(&["E"]);
    let screen = d
        .term
        .wait_for("export path", SHOW, |s| s.contains("timeline exported to"));
    let dir = d.term.home().join("state/fleetdeck/incidents");
    let file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}\n{screen}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "md"))
        .expect("an incident file");
    let md = std::fs::read_to_string(&file).unwrap();
    let order = [
        "restart loop on node-02",
        "acknowledged",
        "on it",
        "resolved",
        "node unreachable on node-03",
        "failover node-03",
    ];
    let mut from = 0;
    for needle in order {
        let at = md[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing after byte {from}:\n{md}"));
        from += at;
    }
    assert!(
        md.matches("resolved").count() >= 2,
        "both alerts resolve in the record:\n{md}"
    );

    d.term.send(&["q"]);
    assert_eq!(d.term.exit_status(SHOW), Some(0));
}

/// Median and max of `samples`, in milliseconds.
fn summary(samples: &mut [Duration]) -> (u128, u128) {
    samples.sort();
    let median = samples[samples.len() / 2].as_millis();
    let max = samples.last().map_or(0, Duration::as_millis);
    (median, max)
}

/// Run with `cargo test --release --test it e2e_incident:: -- --ignored --nocapture`.
#[test]
#[ignore = "measurement for BENCHMARKS.md; run on demand"]
fn measure_incident_response() {
    const REPS: usize = 10;
    let mut d = Drill::start();
    let mut health = Vec::new();
    for rep in 0..REPS {
        let victim = d.container(0, rep % 3);
        let at = format!("node-01/{victim}");
        let sent = Instant::now();
        d.fault(0, Kind::Unhealthy, &victim);
        let shown = d.time_line(&["firing", "health check failing", &at]);
        health.push(shown.duration_since(sent).saturating_sub(FOR));
        d.fault(0, Kind::Clear, &victim);
        d.wait_line("resolved", &["resolved", "health check failing", &at]);
    }
    let mut lost = Vec::new();
    for _ in 0..5 {
        let killed = Instant::now();
        d.kill(1);
        let shown = d.time_line(&["firing", "node unreachable", "node-02"]);
        lost.push(shown.duration_since(killed).saturating_sub(FOR));
        d.revive(1);
        d.time_line(&["resolved", "node unreachable", "node-02"]);
        // The resolved row stays listed; wait until the node is live again before the next kill.
        d.term.wait_for("node-02 live", SHOW, |s| {
            s.lines()
                .any(|l| l.contains("node-02") && l.contains(" live"))
        });
    }
    let (hm, hx) = summary(&mut health);
    let (lm, lx) = summary(&mut lost);
    println!(
        "fault -> alert on screen, past the 1 s `for`: health check failing (n={}): median {hm} ms, max {hx} ms",
        health.len()
    );
    println!(
        "agent killed -> node unreachable on screen, past the 1 s `for` (n={}): median {lm} ms, max {lx} ms",
        lost.len()
    );
    d.term.send(&["q"]);
}
