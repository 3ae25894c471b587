//! A connect storm with history: `fleetdeck-agent --runtime sim --fleet NODES` runs as its own
//! process (so its CPU is not the console's), then the console's watchers connect to every
//! node at once, as `fleetdeck` does at start. The run loop's part is done here: updates are
//! applied to an `App` as they arrive and the heatmap is drawn on a 200x50 TestBackend.
//!
//! Reported, for one storm without the History call and one with it (same agents):
//! - first full screen: from spawning the watchers until every node's snapshot is applied
//!   and a frame with all of them is drawn;
//! - history in: until every node's history is applied too (and drawn);
//! - the console's cells with data in that frame;
//! - the agent process's resident memory once its nodes listen (their history included).
//!
//! ```sh
//! cargo build --release -p fleetdeck-agent
//! ulimit -n 8192
//! AGENT_BIN=target/release/fleetdeck-agent NODES=1000 cargo bench --bench connect_storm
//! ```
//!
//! Prints figures; no assertion (a measurement).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck::app::{Action, App};
use fleetdeck::client::{AgentAddr, WatchOptions, Watchers};
use fleetdeck::fixtures::FIXTURE_TIME_UNIX_MS;
use fleetdeck::model::{AgentUpdate, Fleet};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Fleetd(Child);

impl Drop for Fleetd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the sim fleet from `port` and waits for its `listening` lines.
fn start_fleet(bin: &str, nodes: usize, port: u16, state: &std::path::Path) -> Fleetd {
    let mut child = Command::new(bin)
        .args(["--runtime", "sim", "--node-id", "storm"])
        .args(["--fleet", &nodes.to_string()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--state-dir")
        .arg(state)
        .env("HOME", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (set AGENT_BIN)"));
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut listening = 0;
    for line in out.lines() {
        if line.unwrap().starts_with("listening") {
            listening += 1;
            if listening == nodes {
                break;
            }
        }
    }
    assert_eq!(listening, nodes, "the fleet did not start");
    Fleetd(child)
}

fn draw(terminal: &mut Terminal<TestBackend>, app: &mut App) -> Duration {
    let t = Instant::now();
    fleetdeck::tui::draw(terminal, app).unwrap();
    t.elapsed()
}

/// Cells of the drawn heatmap that show a figure (not blank, not "no data").
fn shaded_cells(terminal: &Terminal<TestBackend>) -> usize {
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| ["░", "▒", "▓", "█"].contains(&c.symbol()))
        .count()
}

async fn storm(addrs: &[AgentAddr], history: bool) {
    let (tx, mut rx) = mpsc::channel::<AgentUpdate>(addrs.len().clamp(64, 8192) * 2);
    let options = WatchOptions {
        history,
        ..WatchOptions::default()
    };
    let now = Instant::now();
    let fleet = Fleet::new(
        addrs.iter().map(ToString::to_string),
        Duration::from_secs(10),
        now,
    );
    let mut app = App::new(fleet, now);
    app.set_clock(now, FIXTURE_TIME_UNIX_MS);
    app.update(Action::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('M'),
        crossterm::event::KeyModifiers::NONE,
    )));
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    let start = Instant::now();
    let watchers = Watchers::spawn(addrs, &options, &tx);
    let (mut full, mut filled) = (None, None);
    let deadline = start + Duration::from_secs(120);
    while filled.is_none() && Instant::now() < deadline {
        let Ok(Some(update)) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await else {
            continue;
        };
        app.update(Action::Agent(update));
        // Take what else is queued before looking, as the run loop does between frames.
        while let Ok(update) = rx.try_recv() {
            app.update(Action::Agent(update));
        }
        let live = app.fleet.nodes().iter().all(|n| n.is_live());
        let backfilled = app.fleet.nodes().iter().all(|n| n.backfill.is_none());
        if full.is_none() && live {
            let took = draw(&mut terminal, &mut app);
            full = Some((start.elapsed(), took, shaded_cells(&terminal)));
            if !history {
                break;
            }
        }
        if full.is_some() && backfilled {
            let took = draw(&mut terminal, &mut app);
            filled = Some((start.elapsed(), took, shaded_cells(&terminal)));
        }
    }
    let label = if history {
        "with History"
    } else {
        "without History"
    };
    match full {
        Some((at, frame, cells)) => println!(
            "{label}: first full screen of {} nodes at {} ms (frame {} ms, {cells} cells with figures)",
            addrs.len(),
            at.as_millis(),
            frame.as_millis()
        ),
        None => println!("{label}: no full screen within the deadline"),
    }
    if let Some((at, frame, cells)) = filled {
        println!(
            "{label}: history of every node in at {} ms (frame {} ms, {cells} cells with figures)",
            at.as_millis(),
            frame.as_millis()
        );
    }
    watchers.shutdown().await;
}

fn main() {
    let bin =
        std::env::var("AGENT_BIN").unwrap_or_else(|_| "target/release/fleetdeck-agent".into());
    let nodes: usize = env_or("NODES", 1000);
    let port: u16 = env_or("BASE_PORT", 18_400);
    let state = tempfile::tempdir().unwrap();
    let fleet = start_fleet(&bin, nodes, port, state.path());
    let rss = std::fs::read_to_string(format!("/proc/{}/status", fleet.0.id())).unwrap_or_default();
    let rss_kib = rss
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .map_or("?", |v| v.trim());
    println!("agent process with {nodes} sim nodes and their history: VmRSS {rss_kib}");
    let addrs: Vec<AgentAddr> = (0..nodes)
        .map(|i| format!("127.0.0.1:{}", port + i as u16).parse().unwrap())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        storm(&addrs, false).await;
        // Let the agents forget the first console's streams.
        tokio::time::sleep(Duration::from_secs(2)).await;
        storm(&addrs, true).await;
    });
}
