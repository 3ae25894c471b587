//! `fleetdeck get` against real agents on loopback, plus an address nobody listens on.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::net::SocketAddr;
use std::time::Duration;

use fleetdeck::cli::{Cli, Command, EXIT_OK, EXIT_UNREACHABLE, GetArgs};
use fleetdeck::config;
use fleetdeck::get;

const TIMEOUT: Duration = Duration::from_secs(3);

struct Agents {
    running: Vec<fleetdeck_agent::RunningAgent>,
    _dir: tempfile::TempDir,
}

async fn two_agents() -> Agents {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Vec::new();
    for (i, containers) in [(1u64, 3usize), (2, 5)] {
        let config = fleetdeck_agent::AgentConfig {
            containers,
            sim_faults: false,
            state_dir: Some(dir.path().join(format!("n{i}"))),
            ..fleetdeck_agent::AgentConfig::sim(format!("get-node-{i}"), i)
        };
        let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        running.push(fleetdeck_agent::spawn(config, listener).await.unwrap());
    }
    Agents { running, _dir: dir }
}

/// A loopback address with (almost certainly) nothing listening.
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Parses a command line the way the binary does and returns its `get` arguments and
/// resolved settings.
fn parse(args: &[String]) -> (GetArgs, config::Settings) {
    use clap::Parser;
    let cli =
        Cli::try_parse_from(std::iter::once("fleetdeck".to_string()).chain(args.iter().cloned()))
            .unwrap();
    let settings = config::resolve(&cli.overrides(), None, None).unwrap();
    let Some(Command::Get(get)) = cli.command else {
        panic!("not a get command")
    };
    (get, settings)
}

fn command_line(what: &str, agents: &[SocketAddr], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["get".to_string(), what.to_string()];
    for a in agents {
        args.push("--agent".into());
        args.push(a.to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_from_two_live_agents_and_one_unreachable() {
    let agents = two_agents().await;
    let dead = closed_port();
    let addrs = [agents.running[0].addr(), agents.running[1].addr(), dead];
    let (args, settings) = parse(&command_line("nodes", &addrs, &[]));
    let out = get::get(&args, &settings, TIMEOUT).await;

    assert_eq!(out.status, EXIT_UNREACHABLE, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines[0].starts_with("NAME") && lines[0].contains("ENDPOINT"));
    assert!(
        lines[1].starts_with("get-node-1 ") && lines[1].contains("ACTIVE"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("get-node-2 ") && lines[2].contains("ACTIVE"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(&dead.to_string()) && lines[3].contains("UNKNOWN"),
        "{}",
        lines[3]
    );
    assert_eq!(
        out.stderr,
        format!("fleetdeck: agent {dead} unreachable: connection refused\n")
    );
    for agent in agents.running {
        agent.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_parses_with_numbers_and_errors() {
    let agents = two_agents().await;
    let dead = closed_port();
    let addrs = [agents.running[0].addr(), agents.running[1].addr(), dead];

    let (args, settings) = parse(&command_line("nodes", &addrs, &["-o", "json"]));
    let out = get::get(&args, &settings, TIMEOUT).await;
    let nodes: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let nodes = nodes.as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["name"], "get-node-1");
    assert_eq!(nodes[0]["containers"], 3);
    assert_eq!(nodes[1]["containers"], 5);
    assert!(nodes[1]["cpu_percent"].is_number() && nodes[1]["memory_total_bytes"].is_u64());
    assert_eq!(nodes[2]["state"], "UNKNOWN");
    assert_eq!(nodes[2]["error"], "connection refused");
    assert_eq!(out.status, EXIT_UNREACHABLE);

    let live = &addrs[..2];
    let (args, settings) = parse(&command_line("containers", live, &["-o", "json"]));
    let out = get::get(&args, &settings, TIMEOUT).await;
    assert_eq!((out.status, out.stderr.as_str()), (EXIT_OK, ""));
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 8);
    assert!(
        list.iter()
            .all(|c| c["restarts"].is_u64() && c["cpu_percent"].is_number())
    );

    let (args, settings) = parse(&command_line("containers", live, &["--node", "get-node-2"]));
    let out = get::get(&args, &settings, TIMEOUT).await;
    assert_eq!(out.stdout.lines().count(), 1 + 5, "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .skip(1)
            .all(|l| l.starts_with("get-node-2 "))
    );
    for agent in agents.running {
        agent.shutdown().await;
    }
}

#[test]
fn a_bad_agent_address_is_a_one_line_error() {
    use clap::Parser;
    let cli =
        Cli::try_parse_from(["fleetdeck", "get", "nodes", "--agent", "not-an-address"]).unwrap();
    let err = config::resolve(&cli.overrides(), None, None).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(
        text.contains("`not-an-address`") && text.contains("--agent"),
        "{text}"
    );
}

// ---- The real binary ----

/// Runs the `fleetdeck` executable with a clean environment: no agents from the variable,
/// no config from the user's home.
async fn fleetdeck(args: Vec<String>) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .args(args)
            .env_remove(config::AGENTS_ENV)
            .env("HOME", &home_path)
            .env("XDG_CONFIG_HOME", home_path.join(".config"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_lists_live_and_unreachable_nodes() {
    let agents = two_agents().await;
    let dead = closed_port();
    let addrs = [agents.running[0].addr(), agents.running[1].addr(), dead];
    let out = fleetdeck(command_line("nodes", &addrs, &[])).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("get-node-1") && stdout.contains("get-node-2"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&dead.to_string()) && l.contains("UNKNOWN"))
    );
    assert_eq!(
        stderr,
        format!("fleetdeck: agent {dead} unreachable: connection refused\n")
    );

    let out = fleetdeck(command_line("containers", &addrs[..2], &["-o", "json"])).await;
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(8));
    for agent in agents.running {
        agent.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_rejects_a_bad_agent_on_one_line_with_status_1() {
    let args = ["get", "nodes", "--agent", "nope"]
        .map(String::from)
        .to_vec();
    let out = fleetdeck(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`nope`") && stderr.contains("HOST:PORT"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
