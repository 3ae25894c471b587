//! History from the first frame: real sim agents on loopback over real gRPC, the console's
//! watchers and model, the heatmap drawn on a TestBackend. The first frame after connecting
//! has data on every row; a reconnect after an outage fills the gap with exactly the
//! agent's samples; `[` and `]` scroll back over the agents' 24 hours of minute means.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use fleetdeck::app::{Action, App, Screen};
use fleetdeck::client::{AgentAddr, Backoff, WatchOptions, Watchers};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::{AgentUpdate, Fleet, History, Link};
use fleetdeck_core::history::NodePoint;
use fleetdeck_proto as pb;

use tokio::sync::mpsc;

use crate::support::screen::{lines, press, render, text};
use crate::support::tcp_proxy::TcpProxy as Proxy;

/// Upper bound for anything that should happen by itself; generous on a shared machine.
const PATIENCE: Duration = Duration::from_secs(30);

fn sim(
    node: &str,
    seed: u64,
    containers: usize,
    interval: Duration,
    dir: &tempfile::TempDir,
) -> fleetdeck_agent::AgentConfig {
    fleetdeck_agent::AgentConfig {
        containers,
        sim_faults: false,
        sample_interval: interval,
        state_dir: Some(dir.path().join(node)),
        ..fleetdeck_agent::AgentConfig::sim(node, seed)
    }
}

async fn start(config: fleetdeck_agent::AgentConfig) -> fleetdeck_agent::RunningAgent {
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    fleetdeck_agent::spawn(config, listener).await.unwrap()
}

fn options() -> WatchOptions {
    WatchOptions {
        backoff: Backoff::new(Duration::from_millis(50), Duration::from_millis(300)),
        ..WatchOptions::default()
    }
}

/// A console App fed by real watchers of `addrs`.
struct Console {
    app: App,
    rx: mpsc::Receiver<AgentUpdate>,
    _watchers: Watchers,
}

impl Console {
    fn watch(addrs: &[SocketAddr]) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        let agents: Vec<AgentAddr> = addrs
            .iter()
            .map(|a| a.to_string().parse().unwrap())
            .collect();
        let watchers = Watchers::spawn(&agents, &options(), &tx);
        let fleet = Fleet::new(
            addrs.iter().map(ToString::to_string),
            Duration::from_secs(10),
            Instant::now(),
        );
        Self {
            app: App::new(fleet, Instant::now()),
            rx,
            _watchers: watchers,
        }
    }

    /// Applies updates one at a time until `done` holds; panics after `PATIENCE`.
    async fn until(&mut self, what: &str, done: impl Fn(&Fleet) -> bool) {
        let start = Instant::now();
        while !done(&self.app.fleet) {
            assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
            if let Ok(Some(update)) =
                tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await
            {
                self.app.update(Action::Agent(update));
            }
        }
    }
}

/// Every node live and its stream's history applied.
fn backfilled(fleet: &Fleet) -> bool {
    fleet
        .nodes()
        .iter()
        .all(|n| n.is_live() && n.backfill.is_none() && n.load_history.len() > 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_heatmap_frame_after_connecting_has_data_on_every_row() {
    let dir = tempfile::tempdir().unwrap();
    // A sample a minute: no sampling tick lands during the test, so the frame is the same
    // on every run; the hour before the agents started is their generated history.
    let mut agents = Vec::new();
    for i in 0..4u64 {
        agents.push(
            start(sim(
                &format!("node-{i}"),
                40 + i,
                30,
                Duration::from_secs(60),
                &dir,
            ))
            .await,
        );
    }
    let addrs: Vec<SocketAddr> = agents.iter().map(|a| a.addr()).collect();
    let mut console = Console::watch(&addrs);
    console.until("every node is backfilled", backfilled).await;
    let app = &mut console.app;
    app.title = "history".into();
    app.set_clock(Instant::now(), FIXTURE_TIME_UNIX_MS);
    // The hour the agents hold, a sample a cell.
    app.panes.heatmap.window = Duration::from_secs(3600);
    press(app, KeyCode::Char('M'));
    assert_eq!(app.panes.screen(), Screen::Heatmap);
    let buf = render(app, 100, 16);
    let screen = lines(&buf);
    let rows: Vec<&String> = screen.iter().filter(|l| l.contains("│node-")).collect();
    assert_eq!(rows.len(), 4, "{}", text(&buf));
    for row in &rows {
        // 60 cells of figures and not one "no data" dot: the hour is there at once.
        assert!(
            !row.contains('·'),
            "a row without history: {row}\n{}",
            text(&buf)
        );
        let shaded = row.chars().filter(|c| "░▒▓█".contains(*c)).count();
        assert!(shaded >= 30, "a busy node shows its load: {row}");
    }
    let node = &app.fleet.nodes()[0];
    assert_eq!(
        node.load_history.len(),
        61,
        "60 samples of history and the live one"
    );
    assert!(node.containers.values().all(|c| c.cpu_history.len() == 60));
    insta::assert_snapshot!("first_frame_with_history_100x16", text(&buf));
    for a in agents {
        a.shutdown().await;
    }
}

/// The agent's own History, asked for directly.
async fn agent_history(addr: SocketAddr) -> History {
    let mut client = pb::agent_client::AgentClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let reply = client
        .history(pb::HistoryRequest::default())
        .await
        .unwrap()
        .into_inner();
    History::from_proto(reply).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_after_an_outage_fills_the_gap_with_the_agent_s_samples() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start(sim("node-0", 9, 6, Duration::from_millis(100), &dir)).await;
    let proxy = Proxy::to(agent.addr()).await;
    let mut console = Console::watch(&[proxy.addr.parse().unwrap()]);
    console.until("the node is backfilled", backfilled).await;
    let before = console.app.fleet.nodes()[0].newest_sample_ms();

    proxy.cut().await;
    console
        .until("the node is down", |f| {
            matches!(f.nodes()[0].link, Link::Down { .. })
        })
        .await;
    // The agent samples on through the outage: 2 s is about 20 samples the console misses.
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore().await;
    console
        .until("the node is backfilled again", backfilled)
        .await;

    // Bring the console to the agent's newest sample (one host delta per sample), then
    // compare the whole run the agent holds with the console's newest samples.
    let history = agent_history(agent.addr()).await;
    let newest = history.samples.last().unwrap().0;
    console
        .until("the console reaches the agent's newest sample", |f| {
            f.nodes()[0].newest_sample_ms() >= newest
        })
        .await;
    let node = &console.app.fleet.nodes()[0];
    assert_eq!(node.newest_sample_ms(), newest, "one sample at a time");
    let first_missed = history
        .samples
        .iter()
        .position(|(t, _)| *t > before)
        .unwrap();
    assert!(
        history.samples.len() - first_missed >= 15,
        "the outage spans samples: {} after {before}",
        history.samples.len() - first_missed
    );
    let agent_cpu: Vec<f32> = history
        .samples
        .iter()
        .map(|(_, p)| p.cpu_percent())
        .collect();
    let console_cpu: Vec<f32> = node.cpu_history.tail(agent_cpu.len()).collect();
    assert_eq!(
        console_cpu, agent_cpu,
        "the console holds exactly the agent's samples: the gap filled, none twice"
    );
    drop(console);
    agent.shutdown().await;
}

/// A fixture console whose agents answered History with 24 hours of minute means.
fn a_day_of_history() -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(8, 2, t0), t0);
    app.title = "fixture".into();
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    for slot in 0..8 {
        let node = &app.fleet.nodes()[slot];
        let (epoch, newest) = (node.epoch, node.newest_sample_ms());
        // Busy by day and quiet by night, each node its own amount.
        let minutes = (1..=24 * 60u64)
            .rev()
            .map(|back| {
                let start = (newest / 60_000 - back) * 60_000;
                let hour = (start / 3_600_000) % 24;
                let cpu = if (8..20).contains(&hour) { 70.0 } else { 10.0 } + slot as f32;
                (start, NodePoint::new(cpu, 50.0, 0, 2))
            })
            .collect();
        let samples = (1..=600u64)
            .rev()
            .map(|back| (newest - back * 1000, NodePoint::new(30.0, 50.0, 0, 2)))
            .collect();
        app.update(Action::Agent(AgentUpdate::History {
            slot,
            epoch,
            history: Box::new(History {
                epoch,
                sample_interval_ms: 1000,
                samples,
                minutes,
                containers: Vec::new(),
            }),
        }));
    }
    app
}

#[test]
fn brackets_scroll_the_heatmap_back_over_a_day_of_minute_means() {
    let mut app = a_day_of_history();
    press(&mut app, KeyCode::Char('M'));
    render(&mut app, 100, 16);
    assert_eq!(app.fleet.nodes()[0].load_history.len(), 601);
    // Half the 10-minute window a press; 288 presses reach the day, and no further.
    for _ in 0..400 {
        press(&mut app, KeyCode::Char('['));
    }
    assert_eq!(app.panes.heatmap.scroll_back, 24 * 3600 - 1);
    let buf = render(&mut app, 100, 16);
    let shown = text(&buf);
    assert!(shown.contains("scrolled back 23h59m"), "{shown}");
    // Nine presses towards now: 23h14m back, where every node has minute means.
    for _ in 0..9 {
        press(&mut app, KeyCode::Char(']'));
    }
    let buf = render(&mut app, 100, 16);
    insta::assert_snapshot!("scrolled_back_a_day_100x16", text(&buf));
    let rows: Vec<String> = lines(&buf)
        .into_iter()
        .filter(|l| l.contains("node-0"))
        .collect();
    assert!(
        rows.iter().all(|r| !r.contains('·')),
        "minute means fill the cells a day back: {rows:?}"
    );
    // Esc (back) returns to now.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.panes.heatmap.scroll_back, 0);
    assert!(!text(&render(&mut app, 100, 16)).contains("scrolled back"));
}
