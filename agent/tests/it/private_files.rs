//! What the agent writes into its state directory is owner-only whatever the umask: folders
//! 0700, files 0600, after real actions over gRPC; and a state directory an earlier version
//! left open is tightened when the agent starts.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use fleetdeck_agent::AgentConfig;
use fleetdeck_proto as pb;
use pb::act_progress::Result as R;
use pb::container_action::Verb as CV;
use pb::node_action::Verb as NV;

fn quiet(node: &str) -> AgentConfig {
    AgentConfig {
        sim_faults: false,
        ..fast(node, 12)
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Everything under `state` except the containers' volume folders in `volumes/` (container
/// data: their modes are the containers' business).
fn walk(state: &Path) -> Vec<PathBuf> {
    let volumes = state.join("volumes");
    let mut out = Vec::new();
    let mut todo = vec![state.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if dir == volumes {
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            out.push(path);
        }
    }
    out
}

/// Names of files in `dir` ending with `suffix`.
fn ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

#[tokio::test]
async fn backups_audit_and_sim_state_are_owner_only() {
    let (agent, dir) = start(quiet("p1")).await;
    let state = dir.path().join("p1");
    let mut c = client(&agent).await;
    let specs = c
        .list_specs(pb::ListSpecsRequest {})
        .await
        .unwrap()
        .into_inner()
        .specs;
    let stateful = specs
        .iter()
        .find(|s| !s.volumes.is_empty())
        .expect("a container with volumes");
    let other = specs
        .iter()
        .find(|s| s.id != stateful.id && s.state() == pb::ContainerState::Running)
        .expect("a second, running container");

    let backup = pb::ActRequest {
        action_id: "backup-1".into(),
        requested_by: "tester".into(),
        action: Some(pb::act_request::Action::Backup(pb::BackupAction {
            container: stateful.id.clone(),
            keep_count: 0,
            keep_secs: 0,
        })),
        ..Default::default()
    };
    let msgs = act(&mut c, backup).await;
    assert!(matches!(result(&msgs), R::Done(_)), "{msgs:?}");
    let msgs = act(&mut c, container_req("stop-1", CV::Stop, &other.name)).await;
    assert!(matches!(result(&msgs), R::Done(_)), "{msgs:?}");
    let msgs = act(&mut c, node_req("cordon-1", NV::Cordon)).await;
    assert!(matches!(result(&msgs), R::Done(_)), "{msgs:?}");

    assert_eq!(mode(&state), 0o700, "state dir");
    for file in ["audit.jsonl", "sim-containers.json", "cordoned"] {
        assert_eq!(mode(&state.join(file)), 0o600, "{file}");
    }
    let backups = state.join("backups");
    assert_eq!(mode(&backups), 0o700, "backups dir");
    let records = ending(&backups, ".json");
    let archives = ending(&backups, ".tar.gz");
    assert_eq!(
        (records.len(), archives.len()),
        (1, 1),
        "{records:?} {archives:?}"
    );
    for f in records.iter().chain(&archives) {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&state.join("volumes")), 0o700, "volume data dir");
    // Nothing else was left open either (container data inside volumes/<id> aside).
    for p in walk(&state) {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&p), want, "{}", p.display());
    }
    agent.shutdown().await;
}

#[tokio::test]
async fn an_open_state_dir_is_tightened_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("p2");
    let backups = state.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    set_mode(&state, 0o755);
    set_mode(&backups, 0o755);
    let config = AgentConfig {
        state_dir: Some(state.clone()),
        ..quiet("p2")
    };
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    assert_eq!(mode(&state), 0o700, "state dir");
    assert_eq!(mode(&backups), 0o700, "backups dir");
    assert_eq!(mode(&state.join("audit.jsonl")), 0o600);
    agent.shutdown().await;
}
