//! End-to-end: the real binary as a read-only wall screen, on a pseudo-terminal, following
//! sim agents on loopback. Every action key is pressed (and confirmed, were a dialog to
//! open); the agents' audit logs prove that nothing was asked of them.

use crate::support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use fleetdeck_agent::{AgentConfig, RunningAgent};
use support::pty::Pty;
use support::screen::wall_figure;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
const AGENTS: usize = 3;

/// Keys that run actions in the interactive console (migrate, scale, backup, restore,
/// failover, drain, cordon, uncordon, start/stop/restart), act on alerts (acknowledge,
/// silence, propose, export) or open the command palette, and the keys that would confirm
/// a dialog.
const ACTION_KEYS: [&str; 21] = [
    "m", "s", "b", "R", "f", "d", "c", "u", "S", "x", "r", "X", "D", "C", "U", "M", "B", "F", ":",
    "y", "Enter",
];

/// The wall's large NODES UP figure reads every node up.
fn every_node_up(screen: &str) -> bool {
    wall_figure(screen, "NODES UP").as_deref() == Some(&format!("{AGENTS}/{AGENTS}"))
}

fn start_agents(rt: &tokio::runtime::Runtime, state: &Path) -> Vec<RunningAgent> {
    rt.block_on(async {
        let mut agents = Vec::new();
        for i in 0..AGENTS {
            let node_id = format!("wall-{i:02}");
            let mut config = AgentConfig::sim(&node_id, 42 + i as u64);
            config.containers = 6;
            config.state_dir = Some(state.join(&node_id));
            let listener = fleetdeck_agent::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .expect("bind agent");
            agents.push(
                fleetdeck_agent::spawn(config, listener)
                    .await
                    .expect("agent"),
            );
        }
        agents
    })
}

#[test]
fn wall_mode_sends_nothing_to_any_agent_whatever_is_pressed() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let state = tempfile::tempdir().expect("state dir");
    let agents = start_agents(&rt, state.path());
    let mut args = vec![BIN.to_string(), "--wall".to_string()];
    for a in &agents {
        args.push("--agent".into());
        args.push(a.addr().to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let term = Pty::start(&argv, 120, 40);
    term.wait_for(
        "the wall with every node up",
        Duration::from_secs(30),
        |s| s.contains("read-only") && every_node_up(s),
    );

    for round in 0..2 {
        for key in ACTION_KEYS {
            term.send(&[key]);
            // Give a confirmation dialog, were one to open, its chance to be confirmed.
            term.send(&["y"]);
            term.send(&["Enter"]);
        }
        // Move to the next view and press everything again there.
        if round == 0 {
            term.send(&["Tab"]);
        }
    }
    // Time for anything sent to reach an agent and its audit log.
    std::thread::sleep(Duration::from_secs(2));
    let screen = term.wait_for("the wall still up", Duration::from_secs(5), |s| {
        s.contains("fleetdeck wall") && every_node_up(s)
    });
    assert!(!screen.contains("confirm"), "no dialog opened:\n{screen}");

    for i in 0..AGENTS {
        let dir = state.path().join(format!("wall-{i:02}"));
        let log = dir.join(fleetdeck_agent::audit::AUDIT_FILE);
        assert!(
            dir.is_dir(),
            "the agent keeps its state in {}",
            dir.display()
        );
        let audit = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(audit.is_empty(), "{} is not empty:\n{audit}", log.display());
    }

    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
    rt.block_on(async {
        for a in agents {
            a.shutdown().await;
        }
    });
}

#[test]
fn the_wall_survives_its_agents_going_away_and_coming_back() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let state = tempfile::tempdir().expect("state dir");
    let agents = start_agents(&rt, state.path());
    let addrs: Vec<SocketAddr> = agents.iter().map(|a| a.addr()).collect();
    let mut args = vec![BIN.to_string(), "--wall".to_string()];
    for a in &addrs {
        args.push("--agent".into());
        args.push(a.to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let term = Pty::start(&argv, 120, 40);
    term.wait_for("every node up", Duration::from_secs(30), every_node_up);
    rt.block_on(async {
        for a in agents {
            a.kill().await;
        }
    });
    term.wait_for("the STALE banner", Duration::from_secs(30), |s| {
        s.contains("STALE") && s.contains("no agent has answered")
    });
    // The same agents come back on the same ports; nobody touches the keyboard.
    let _back = rt.block_on(async {
        let mut back = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let node_id = format!("wall-{i:02}");
            let mut config = AgentConfig::sim(&node_id, 42 + i as u64);
            config.state_dir = Some(state.path().join(&node_id));
            let listener = fleetdeck_agent::bind(*addr).await.expect("rebind");
            back.push(
                fleetdeck_agent::spawn(config, listener)
                    .await
                    .expect("agent"),
            );
        }
        back
    });
    term.wait_for("recovered without a key", Duration::from_secs(60), |s| {
        !s.contains("STALE") && every_node_up(s)
    });
}

#[test]
fn the_console_log_shows_in_a_pane_and_in_the_file() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "2", "--seed", "5"], 100, 30);
    term.wait_for("two live nodes", Duration::from_secs(30), |s| {
        s.matches(" live").count() >= 2
    });
    term.send(&["L"]);
    let screen = term.wait_for("the log pane", Duration::from_secs(5), |s| {
        s.contains("Console log") && s.contains("console starting")
    });
    assert!(
        screen.contains("INFO") || screen.contains(" I "),
        "{screen}"
    );
    term.send(&["L"]);
    term.wait_for("the log pane hidden", Duration::from_secs(5), |s| {
        !s.contains("Console log")
    });
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
    let log = std::fs::read_to_string(term.home().join("state/fleetdeck/fleetdeck.log"))
        .expect("log file");
    assert!(log.contains("console starting"), "{log}");
}
