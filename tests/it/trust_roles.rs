//! Drain and failover are admin's, and the agent enforces it: the real `fleetdeck` binary,
//! with an operator token, is refused on the first step (nothing moves, nothing is created)
//! and the refusal is in the node's audit log with the caller; with an admin token both run.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use fleetdeck_agent::auth::{Role, tokens};
use fleetdeck_agent::config::SecurityConfig;
use fleetdeck_agent::model::REPLACES_LABEL;
use fleetdeck_agent::{AgentConfig, NodeMode};
use ops::{Node, audit, running};

/// Three sim agents on loopback sharing one tokens file; returns them with the admin and
/// operator tokens.
async fn cluster(dir: &Path) -> (Vec<Node>, String, String) {
    let tokens_file = dir.join("tokens.toml");
    let admin = tokens::create(&tokens_file, "boss", Role::Admin).unwrap();
    let operator = tokens::create(&tokens_file, "ops", Role::Operator).unwrap();
    let mut nodes = Vec::new();
    for i in 1..=3 {
        let id = format!("n{i}");
        let config = AgentConfig {
            containers: 3,
            sample_interval: Duration::from_millis(50),
            sim_faults: false,
            mode: NodeMode::Active,
            state_dir: Some(dir.join(&id)),
            security: SecurityConfig {
                tls: None,
                tokens_file: Some(tokens_file.clone()),
                insecure: false,
                no_tokens: false,
            },
            ..AgentConfig::sim(&id, 5 + i * 101)
        };
        let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let agent = fleetdeck_agent::spawn(config.clone(), listener)
            .await
            .unwrap();
        let addr = agent.addr().to_string();
        nodes.push(Node {
            config,
            agent: Some(agent),
            addr,
        });
    }
    (nodes, admin, operator)
}

/// Runs `fleetdeck ARGS --yes --agent ...` with `token` in FLEETDECK_TOKEN, off the runtime.
async fn fleetdeck(home: &Path, nodes: &[Node], args: &[&str], token: &str) -> Output {
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.push("--yes".into());
    for n in nodes {
        argv.push("--agent".into());
        argv.push(n.addr.clone());
    }
    let (home, token): (PathBuf, String) = (home.to_path_buf(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .args(&argv)
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("FLEETDECK_TOKEN", token)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The plan is printed first; the refusal is one `fleetdeck:` line at the end (besides the
/// warning a drain or failover without etcd prints before its plan).
fn assert_one_refusal_line(stderr: &str) {
    let warning = format!(
        "fleetdeck: {}",
        fleetdeck::ops::intent::UNCOORDINATED_WARNING
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("fleetdeck:") && *l != warning)
        .collect();
    assert_eq!(lines.len(), 1, "one clear line: {stderr}");
    assert_eq!(stderr.trim().lines().last(), Some(lines[0]), "{stderr}");
    assert!(lines[0].contains("needs role admin"), "{stderr}");
}

fn refused_by(state: &Path, action: &str) -> Vec<serde_json::Value> {
    audit(state)
        .into_iter()
        .filter(|l| l["action"] == action && l["outcome"]["result"] == "refused")
        .collect()
}

fn failover_copies(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .filter_map(|n| n.agent.as_ref())
        .flat_map(|a| a.snapshot().containers)
        .filter(|c| c.spec.labels.contains_key(REPLACES_LABEL))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_an_admin_token_can_drain_or_fail_over() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("console");
    let (mut nodes, admin, operator) = cluster(dir.path()).await;
    let before = running(nodes[0].agent());
    assert!(!before.is_empty());

    // Drain with an operator token: refused at the first step, one line, nothing moved.
    let out = fleetdeck(&home, &nodes, &["drain", "n1"], &operator).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("needs role admin"), "{stderr}");
    assert!(stderr.contains("token:ops has role operator"), "{stderr}");
    assert_one_refusal_line(&stderr);
    let snap = nodes[0].agent().snapshot();
    assert_eq!(snap.node.status.mode, NodeMode::Active);
    assert_eq!(running(nodes[0].agent()), before, "nothing moved");
    let refused = refused_by(&nodes[0].state_dir(), "node.drain");
    assert_eq!(refused.len(), 1, "{:?}", audit(&nodes[0].state_dir()));
    assert_eq!(refused[0]["caller"]["identity"], "token:ops");
    assert_eq!(refused[0]["caller"]["role"], "operator");
    assert_eq!(refused[0]["outcome"]["kind"], "denied");

    // The same with an admin token: n1 is MAINTENANCE and emptied.
    let out = fleetdeck(&home, &nodes, &["drain", "n1"], &admin).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        nodes[0].agent().snapshot().node.status.mode,
        NodeMode::Maintenance
    );
    assert!(running(nodes[0].agent()).is_empty(), "n1 is drained");
    let drained = audit(&nodes[0].state_dir());
    assert!(
        drained
            .iter()
            .any(|l| l["caller"]["identity"] == "token:boss"
                && l["outcome"]["result"] != "refused"
                && l.to_string().contains("drain")),
        "{drained:?}"
    );

    // n3 fails: the specs were cached by the runs above.
    nodes[2].kill().await;
    let out = fleetdeck(&home, &nodes, &["failover", "n3"], &operator).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("needs role admin"), "{stderr}");
    assert_one_refusal_line(&stderr);
    assert_eq!(failover_copies(&nodes), 0, "no copy was created");
    let refused: Vec<_> = nodes[..2]
        .iter()
        .flat_map(|n| refused_by(&n.state_dir(), "container.create_failover"))
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "the first create was refused, then it stopped"
    );
    assert_eq!(refused[0]["caller"]["identity"], "token:ops");

    let out = fleetdeck(&home, &nodes, &["failover", "n3"], &admin).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(failover_copies(&nodes) > 0, "copies were created");
    for n in &mut nodes {
        n.kill().await;
    }
}
