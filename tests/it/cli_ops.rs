//! The action commands against real agents on loopback, and the real binary's refusals.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use fleetdeck::cli::{Cli, Command, EXIT_OK, EXIT_USAGE};
use fleetdeck::ops_cli::{self, Confirm, Context, OpsCommand};
use fleetdeck_agent::NodeMode;
use ops::{Cluster, running};

fn parse(c: &Cluster, args: &[&str]) -> (OpsCommand, fleetdeck::config::Settings) {
    use clap::Parser;
    let mut argv: Vec<String> = vec!["fleetdeck".into()];
    argv.extend(args.iter().map(|s| s.to_string()));
    for e in c.endpoints() {
        argv.push("--agent".into());
        argv.push(e);
    }
    let cli = Cli::try_parse_from(argv).unwrap();
    let settings = fleetdeck::config::resolve(&cli.overrides(), None, None).unwrap();
    let Some(Command::Ops(cmd)) = cli.command else {
        panic!("not an action command")
    };
    (cmd, settings)
}

pub(crate) async fn run(c: &Cluster, args: &[&str], answer: Option<&str>) -> ops_cli::OpsOutput {
    let (cmd, settings) = parse(c, args);
    let ctx = Context {
        settings,
        state_dir: Some(c.console_dir()),
        read_only: false,
        confirm: match answer {
            Some(a) => Confirm::Answer(a.into()),
            None => Confirm::Terminal,
        },
        live_progress: false,
    };
    ops_cli::run(&cmd, &ctx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cordon_and_uncordon_with_json_output() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let out = run(&c, &["cordon", "n2", "--yes", "-o", "json"], None).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["action"], "cordon");
    assert_eq!(v["outcome"], "done");
    assert_eq!(
        c.nodes[1].agent().snapshot().node.status.mode,
        NodeMode::Maintenance
    );
    let out = run(&c, &["uncordon", "n2", "--yes"], None).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    assert_eq!(
        c.nodes[1].agent().snapshot().node.status.mode,
        NodeMode::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_and_refused_confirmation_change_nothing() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 6).await;
    let (name, id) = running(c.nodes[0].agent())[0].clone();
    let out = run(&c, &["migrate", &id, "--to", "n2", "--dry-run"], None).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    assert!(
        out.stdout
            .starts_with(&format!("Migrate {name} from n1 to n2")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("dry run: nothing was changed"));
    let out = run(&c, &["stop", &id], Some("n")).await;
    assert_eq!(out.status, EXIT_USAGE);
    assert!(out.stderr.contains("not confirmed"), "{}", out.stderr);
    assert!(
        running(c.nodes[0].agent()).iter().any(|(_, x)| *x == id),
        "still running"
    );
    let out = run(&c, &["drain", "n1"], Some("n2")).await;
    assert!(
        out.stderr.contains("not confirmed"),
        "the wrong node name refuses: {out:?}"
    );
    let out = run(&c, &["stop", &id], Some("y")).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    assert!(running(c.nodes[0].agent()).iter().all(|(_, x)| *x != id));
    let out = run(&c, &["failover", "n9", "--yes"], None).await;
    assert_eq!(out.status, EXIT_USAGE);
    assert!(out.stderr.contains("no node named `n9`"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_prints_its_id_and_restore_uses_it() {
    let c = Cluster::start(&[NodeMode::Active], 16).await;
    let (s, _) = c.stateful(0).await;
    let out = run(&c, &["backup", &s.name, "--yes"], None).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    let id = out.stdout.trim().to_string();
    assert!(id.starts_with(&s.name), "prints the backup id: {id:?}");
    let out = run(&c, &["backups", "-o", "json"], None).await;
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["sha256"].as_str().unwrap().len(), 64);
    let out = run(&c, &["backups"], None).await;
    assert!(
        out.stdout.starts_with("NODE") && out.stdout.contains(&id),
        "{}",
        out.stdout
    );
    // Restoring over the running container needs its name typed.
    let out = run(&c, &["restore", &id], Some("y")).await;
    assert!(out.stderr.contains("not confirmed"), "{out:?}");
    let out = run(&c, &["restore", &id], Some(&s.name)).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    assert!(
        out.stdout.contains(&format!("restored {}", s.name)),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_to_another_node_plans_the_transfer_then_copies_and_restores() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 8).await;
    let (s, _) = c.stateful(0).await;
    let out = run(&c, &["backup", &s.name, "--yes"], None).await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    let id = out.stdout.trim().to_string();
    let out = run(&c, &["backups", "n1", "-o", "json"], None).await;
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let size = list[0]["size_bytes"].as_u64().unwrap();

    let out = run(
        &c,
        &["restore", &id, "--to", "n2", "--dry-run", "-o", "json"],
        None,
    )
    .await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["transfer_bytes"].as_u64(), Some(size), "{plan}");
    assert!(
        plan["plan"][0].as_str().unwrap().contains("from n1 to n2"),
        "{plan}"
    );
    let out = run(&c, &["restore", &id, "--to", "n2", "--dry-run"], None).await;
    assert!(out.stdout.contains("  transfer: "), "{}", out.stdout);
    assert!(
        run(&c, &["backups", "n2", "-o", "json"], None)
            .await
            .stdout
            .trim()
            == "[]",
        "a dry run copies nothing"
    );

    let out = run(
        &c,
        &["restore", &id, "--to", "n2", "--yes", "-o", "json"],
        None,
    )
    .await;
    assert_eq!(out.status, EXIT_OK, "{out:?}");
    let done: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(done["outcome"], "done", "{done}");
    assert!(
        out.stderr.contains("transfer: copied"),
        "progress: {}",
        out.stderr
    );
    assert!(
        running(c.nodes[1].agent())
            .iter()
            .any(|(n, _)| *n == s.name),
        "{} runs on n2",
        s.name
    );
    let out = run(&c, &["backups", "n2", "-o", "json"], None).await;
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (&list[0]["id"], &list[0]["node"]),
        (&id.clone().into(), &"n2".into())
    );
    // n2 holds a copy now: restoring there again needs no transfer.
    let out = run(
        &c,
        &["restore", &id, "--to", "n2", "--dry-run", "-o", "json"],
        None,
    )
    .await;
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(plan.get("transfer_bytes").is_none(), "{plan}");
}

#[test]
fn the_binary_refuses_without_a_terminal_or_yes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(Cluster::start(&[NodeMode::Active], 2));
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["cordon", "n1", "--agent", &c.nodes[0].addr])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stdin is not a terminal; pass --yes"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert_eq!(
        c.nodes[0].agent().snapshot().node.status.mode,
        NodeMode::Active
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args([
            "cordon",
            "n1",
            "--yes",
            "--read-only",
            "--agent",
            &c.nodes[0].addr,
        ])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    drop(c);
}

/// Runs the `fleetdeck` executable on the cluster's agents, in a home of its own.
async fn binary(c: &Cluster, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for e in c.endpoints() {
        argv.push("--agent".into());
        argv.push(e);
    }
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .args(argv)
            .env_remove(fleetdeck::config::AGENTS_ENV)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binary_ends_every_backups_listing_with_a_newline() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    // Empty first, then with backups on both nodes.
    let out = binary(&c, &["backups"]).await;
    assert_eq!(out.status.code(), Some(EXIT_OK), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(out.stdout.ends_with(b"\n"), "{out:?}");
    let mut ids = Vec::new();
    for node in 0..2 {
        let (s, _) = c.stateful(node).await;
        let out = binary(&c, &["backup", &s.name, "--yes"]).await;
        assert_eq!(out.status.code(), Some(EXIT_OK), "{out:?}");
        assert!(out.stdout.ends_with(b"\n"), "{out:?}");
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    for args in [
        &["backups"][..],
        &["backups", "-o", "json"],
        &["backups", "n2"],
    ] {
        let out = binary(&c, args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(EXIT_OK), "{args:?}: {out:?}");
        assert!(stdout.contains(&ids[1]), "{args:?}: {stdout}");
        assert!(
            stdout.ends_with('\n') && !stdout.ends_with("\n\n"),
            "{args:?}: one final newline:\n{stdout:?}"
        );
    }
    // A node nobody knows is a usage error, in one line.
    let out = binary(&c, &["backups", "nope"]).await;
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no node named `nope`"), "{stderr}");

    // A node whose agent does not answer is said, and the status says the list is partial.
    c.nodes[1].kill().await;
    let out = binary(&c, &["backups"]).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&ids[0]) && !stdout.contains(&ids[1]),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("its backups are not listed"), "{stderr}");
}
