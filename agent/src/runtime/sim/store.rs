//! The sim node's container set on disk, so an agent restart keeps what operators did to
//! it (migrated away, created, removed, stopped) instead of rebuilding from the seed. The
//! file is written whole after every change (temp file, then rename) and read at start;
//! without it the node is seeded as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use super::load::SimContainer;
use crate::model::{ContainerSpec, ContainerState, PENDING_LABEL, PortMapping};

/// File name of the container set inside the agent's state directory.
pub const SIM_STATE_FILE: &str = "sim-containers.json";
/// Format version written; a file with another one is refused rather than misread.
const FORMAT_VERSION: u32 = 1;

/// Why the stored container set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Unreadable or not what this agent writes.
    #[error(
        "cannot use the sim container set in {}: {why}; fix or move the file away (the node is then seeded afresh)",
        .path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSet {
    version: u32,
    node_id: String,
    containers: Vec<StoredContainer>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredContainer {
    id: String,
    name: String,
    image: String,
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// (container port, host port, protocol, host address).
    #[serde(default)]
    ports: Vec<(u16, u16, String, String)>,
    created_unix_ms: u64,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    seed_kib: u32,
    /// `created`, `running` or `exited`: what the node's operators left it in.
    state: String,
    #[serde(default)]
    restart_count: u32,
}

fn state_word(s: ContainerState) -> &'static str {
    match s {
        ContainerState::Created => "created",
        // Crash loops and pauses are passing conditions of a container meant to run.
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused => "running",
        _ => "exited",
    }
}

/// Writes `containers` to `path` whole and owner-only: a temp file beside it, synced, then
/// renamed over.
pub(super) fn save(path: &Path, node_id: &str, containers: &[SimContainer]) -> std::io::Result<()> {
    let set = StoredSet {
        version: FORMAT_VERSION,
        node_id: node_id.to_owned(),
        containers: containers
            .iter()
            .map(|c| StoredContainer {
                id: c.spec.id.clone(),
                name: c.spec.name.clone(),
                image: c.spec.image.clone(),
                service: c.spec.service.clone(),
                labels: c.spec.labels.clone(),
                ports: c
                    .spec
                    .ports
                    .iter()
                    .map(|p| {
                        (
                            p.container_port,
                            p.host_port,
                            p.protocol.clone(),
                            p.host_ip.clone(),
                        )
                    })
                    .collect(),
                created_unix_ms: c.spec.created_unix_ms,
                volumes: c.volumes.clone(),
                seed_kib: c.seed_kib,
                state: state_word(c.status.state).to_owned(),
                restart_count: c.status.restart_count,
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&set).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir)?;
    }
    crate::private::write_atomic(path, &json)
}

/// The container set stored at `path`, rebuilt as containers at `now_ms`; `None` when
/// there is no file. Half-made migration copies (still pending) are dropped: the console
/// that made them has given up on them.
pub(super) fn load(
    path: &Path,
    node_id: &str,
    rng: &mut SmallRng,
    now_ms: u64,
) -> Result<Option<Vec<SimContainer>>, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt {
        path: path.to_owned(),
        why,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(corrupt(format!("cannot read it ({e})"))),
    };
    let set: StoredSet =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid JSON ({e})")))?;
    if set.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} is not the {FORMAT_VERSION} this agent reads",
            set.version
        )));
    }
    if set.node_id != node_id {
        return Err(corrupt(format!(
            "it belongs to node {}, not {node_id}",
            set.node_id
        )));
    }
    let mut out = Vec::with_capacity(set.containers.len());
    for s in set.containers {
        if s.labels.contains_key(PENDING_LABEL) {
            tracing::info!(
                "dropping {}: a migration copy that was never finished",
                s.name
            );
            continue;
        }
        crate::validate::container_ref("stored container id", &s.id).map_err(&corrupt)?;
        crate::validate::container_ref("stored container name", &s.name).map_err(&corrupt)?;
        if s.volumes
            .iter()
            .any(|v| v.is_empty() || v.contains(['/', '\\', '\0']) || v == "." || v == "..")
        {
            return Err(corrupt(format!(
                "container {} has a bad volume name",
                s.name
            )));
        }
        if out
            .iter()
            .any(|c: &SimContainer| c.spec.name == s.name || c.spec.id == s.id)
        {
            return Err(corrupt(format!("container {} is listed twice", s.name)));
        }
        let spec = ContainerSpec {
            id: s.id,
            name: s.name,
            image: s.image,
            service: s.service,
            labels: s.labels,
            ports: s
                .ports
                .into_iter()
                .map(
                    |(container_port, host_port, protocol, host_ip)| PortMapping {
                        container_port,
                        host_port,
                        protocol,
                        host_ip,
                    },
                )
                .collect(),
            created_unix_ms: s.created_unix_ms,
        };
        let mut c = SimContainer::from_spec(rng, spec, s.volumes);
        c.seed_kib = s.seed_kib;
        match s.state.as_str() {
            "created" => {}
            "running" => c.begin_run(now_ms),
            "exited" => c.stop(),
            other => {
                return Err(corrupt(format!(
                    "container {} has unknown state `{other}`",
                    c.spec.name
                )));
            }
        }
        c.status.restart_count = s.restart_count;
        out.push(c);
    }
    Ok(Some(out))
}
