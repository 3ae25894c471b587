//! What actions need from the docker runtime: a portable spec from an inspect record,
//! containers created from one (carrying this agent's scope label), their volume data, and
//! the commit of a migration copy.
//!
//! Volume data: containers this agent creates get one bind-mounted directory per volume
//! under `<data dir>/<engine name>-<token>/<volume>`, recorded in a label, so the agent
//! reads and writes their data as plain files (tar streams, backups, restores) with no
//! engine round trip. A volume's name encodes its mount path (`data` = `/data`,
//! `var~lib~db` = `/var/lib/db`), so specs from sim nodes map onto docker and back.
//!
//! Names: containers are named per engine, and several agents may share one engine, so a
//! scoped agent names its containers `<scope value>.<name>` on the engine and keeps the
//! fleet's name in the `fleetdeck.name` label, which is the name watchers see.
//!
//! Commit: the engine cannot change a container's labels, so a migration copy keeps its
//! pending label on the engine and the agent records the commit itself (a marker file per
//! container under the data dir); the label is hidden from then on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use bollard::models::{ContainerCreateBody, ContainerInspectResponse, HostConfig, PortBinding};
use bollard::query_parameters::CreateContainerOptions;

use super::docker::{API_TIMEOUT, DockerRuntime};
use super::docker_convert as conv;
use super::{RuntimeError, sim::dir_bytes};
use crate::model::{ContainerSpec, PENDING_LABEL, PortableSpec};

/// Label carrying the fleet's name of a container whose engine name has a scope prefix.
pub const NAME_LABEL: &str = "fleetdeck.name";
/// Label carrying the directory that holds a container's volumes.
pub const VOLUME_DIR_LABEL: &str = "fleetdeck.volume-dir";
/// Label carrying the command (JSON array) a copy must run; the portable spec has no field
/// for it, and a copy that ran the image's default command would not be the same service.
pub const CMD_LABEL: &str = "fleetdeck.docker.cmd";
/// Label carrying the entrypoint (JSON array), for the same reason.
pub const ENTRYPOINT_LABEL: &str = "fleetdeck.docker.entrypoint";
/// Subdirectory of the data dir holding commit markers.
const COMMITTED_DIR: &str = ".committed";
/// Nanoseconds of CPU time per second per core, the engine's unit for CPU limits.
const NANO_CPUS_PER_CORE: f64 = 1e9;

/// The volume name for mount path `dest`, or `None` for a path that cannot be one.
pub fn volume_name(dest: &str) -> Option<String> {
    let trimmed = dest.trim_matches('/');
    if trimmed.is_empty() || trimmed.contains('~') || trimmed.split('/').any(|p| p == "..") {
        return None;
    }
    Some(trimmed.replace('/', "~"))
}

/// The mount path of volume `name`, refusing names that would escape its directory.
pub fn mount_path(name: &str) -> Result<String, RuntimeError> {
    let bad = name.is_empty()
        || name.contains('/')
        || name.contains('\0')
        || name
            .split('~')
            .any(|p| p.is_empty() || p == "." || p == "..");
    if bad {
        return Err(RuntimeError::Failed(format!(
            "volume name {name:?} is not a path below /: use letters, digits, '.', '-', '_' and '~' between parts"
        )));
    }
    Ok(format!("/{}", name.replace('~', "/")))
}

/// The engine name of fleet name `name` under `scope`.
pub fn engine_name(scope: Option<&(String, String)>, name: &str) -> String {
    let prefix = scope.map(|(_, v)| {
        v.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
    });
    match prefix {
        Some(p) if !p.is_empty() => format!("{p}.{name}"),
        _ => name.to_owned(),
    }
}

fn fleet_name(i: &ContainerInspectResponse) -> String {
    let labels = i.config.as_ref().and_then(|c| c.labels.as_ref());
    labels
        .and_then(|l| l.get(NAME_LABEL))
        .cloned()
        .unwrap_or_else(|| {
            i.name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned()
        })
}

/// Hides what the agent keeps for itself: the fleet's name replaces the engine's, and a
/// committed copy's pending label goes.
pub fn present(spec: &mut ContainerSpec, committed: bool) {
    if let Some(n) = spec.labels.get(NAME_LABEL).filter(|n| !n.is_empty()) {
        spec.name = n.clone();
    }
    if committed {
        spec.labels.remove(PENDING_LABEL);
    }
}

/// The managed volume directory of an inspected container, if it has one.
pub fn volume_dir(i: &ContainerInspectResponse) -> Option<PathBuf> {
    i.config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(VOLUME_DIR_LABEL))
        .map(PathBuf::from)
}

fn json_list(v: Option<&Vec<String>>) -> Option<String> {
    v.filter(|v| !v.is_empty())
        .and_then(|v| serde_json::to_string(v).ok())
}

/// The portable description of an inspected container.
pub fn export(i: &ContainerInspectResponse, committed: bool) -> PortableSpec {
    let config = i.config.as_ref();
    let host = i.host_config.as_ref();
    let mut labels: BTreeMap<String, String> = config
        .and_then(|c| c.labels.as_ref())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    // Where this copy lives and what the engine calls it belong to this node only.
    labels.remove(NAME_LABEL);
    labels.remove(VOLUME_DIR_LABEL);
    if committed {
        labels.remove(PENDING_LABEL);
    }
    if let Some(cmd) = json_list(config.and_then(|c| c.cmd.as_ref())) {
        labels.insert(CMD_LABEL.to_owned(), cmd);
    }
    if let Some(ep) = json_list(config.and_then(|c| c.entrypoint.as_ref())) {
        labels.insert(ENTRYPOINT_LABEL.to_owned(), ep);
    }
    let mut ports = Vec::new();
    if let Some(bindings) = host.and_then(|h| h.port_bindings.as_ref()) {
        for (key, list) in bindings {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            for b in list.iter().flatten() {
                let hp = b
                    .host_port
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                ports.push((port, hp, proto.to_owned()));
            }
        }
    }
    ports.sort();
    ports.dedup();
    let env = config
        .and_then(|c| c.env.as_ref())
        .map(|e| {
            e.iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut volumes: Vec<String> = i
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| m.destination.as_deref().and_then(volume_name))
        .collect();
    volumes.sort();
    volumes.dedup();
    let status = conv::status(i);
    PortableSpec {
        id: i.id.clone().unwrap_or_default(),
        name: fleet_name(i),
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        service: conv::service(&labels),
        labels,
        ports,
        env,
        volumes,
        volume_bytes: 0,
        memory_limit_bytes: conv::memory_limit(i),
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            reason = "a CPU limit in cores is small"
        )]
        cpu_limit_cores: host.and_then(|h| h.nano_cpus).unwrap_or(0) as f32
            / NANO_CPUS_PER_CORE as f32,
        state: status.state,
        health: status.health,
    }
}

fn parse_list(
    labels: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Vec<String>>, RuntimeError> {
    labels
        .get(key)
        .map(|raw| {
            serde_json::from_str::<Vec<String>>(raw).map_err(|e| {
                RuntimeError::Failed(format!("label {key} is not a JSON list of strings: {e}"))
            })
        })
        .transpose()
}

/// What to ask the engine for to create `spec` as `engine_name`, with its volumes in `dir`.
pub fn create_body(
    spec: &PortableSpec,
    scope: Option<&(String, String)>,
    engine_name: &str,
    dir: Option<&Path>,
) -> Result<ContainerCreateBody, RuntimeError> {
    let mut labels: HashMap<String, String> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some((k, v)) = scope {
        // The copy belongs to this node, whatever node the spec came from.
        labels.insert(k.clone(), v.clone());
    }
    if engine_name != spec.name {
        labels.insert(NAME_LABEL.to_owned(), spec.name.clone());
    }
    if !spec.service.is_empty() && conv::service(&spec.labels).is_empty() {
        labels.insert(conv::SERVICE_LABEL.to_owned(), spec.service.clone());
    }
    let mut binds = Vec::new();
    if let Some(dir) = dir {
        labels.insert(VOLUME_DIR_LABEL.to_owned(), dir.display().to_string());
        for v in &spec.volumes {
            binds.push(format!("{}:{}", dir.join(v).display(), mount_path(v)?));
        }
    }
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for (cp, hp, proto) in &spec.ports {
        let entry = bindings
            .entry(format!("{cp}/{proto}"))
            .or_insert_with(|| Some(Vec::new()));
        if let Some(list) = entry {
            list.push(PortBinding {
                host_ip: None,
                host_port: (*hp != 0).then(|| hp.to_string()),
            });
        }
    }
    let exposed: Vec<String> = bindings.keys().cloned().collect();
    let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(labels),
        env: (!env.is_empty()).then_some(env),
        cmd: parse_list(&spec.labels, CMD_LABEL)?,
        entrypoint: parse_list(&spec.labels, ENTRYPOINT_LABEL)?,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            memory: i64::try_from(spec.memory_limit_bytes)
                .ok()
                .filter(|m| *m > 0),
            #[allow(
                clippy::cast_possible_truncation,
                reason = "nanoseconds of CPU per second fit an i64"
            )]
            nano_cpus: (spec.cpu_limit_cores > 0.0)
                .then(|| (f64::from(spec.cpu_limit_cores) * NANO_CPUS_PER_CORE) as i64),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    })
}

/// Creates the volume directories of `spec` under a fresh directory of `data_dir`.
pub fn make_volume_dir(
    data_dir: &Path,
    engine_name: &str,
    volumes: &[String],
) -> Result<PathBuf, RuntimeError> {
    let token = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // No '.' in the name: staging and old copies sit beside it as `<name>.incoming`/`.old`.
    let dir = data_dir.join(format!("{}-{token:x}", engine_name.replace('.', "_")));
    for v in volumes {
        mount_path(v)?;
        std::fs::create_dir_all(dir.join(v)).map_err(io_error)?;
    }
    std::fs::create_dir_all(&dir).map_err(io_error)?;
    Ok(dir)
}

/// Bytes of volume data under `dir`.
pub fn bytes(dir: &Path) -> u64 {
    dir_bytes(dir)
}

/// The file marking container `id` committed.
fn marker(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join(COMMITTED_DIR).join(id)
}

/// Records that container `id` is committed, so it survives an agent restart.
pub fn mark_committed(data_dir: &Path, id: &str) -> Result<(), RuntimeError> {
    let m = marker(data_dir, id);
    if let Some(parent) = m.parent() {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    std::fs::write(&m, b"").map_err(io_error)
}

/// The committed containers recorded under `data_dir`.
pub fn load_committed(data_dir: &Path) -> HashSet<String> {
    std::fs::read_dir(data_dir.join(COMMITTED_DIR))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Forgets container `id`'s commit marker and volume data (after it was removed).
pub fn forget(data_dir: Option<&Path>, id: &str, volumes: Option<&Path>) {
    if let Some(d) = data_dir {
        let _ = std::fs::remove_file(marker(d, id));
    }
    // Only data this agent made: a label pointing elsewhere is not ours to delete.
    if let (Some(d), Some(v)) = (data_dir, volumes)
        && v.starts_with(d)
        && v != d
    {
        let _ = std::fs::remove_dir_all(v);
    }
}

fn io_error(e: std::io::Error) -> RuntimeError {
    RuntimeError::Failed(format!("volume data: {e}"))
}

impl DockerRuntime {
    pub(super) fn is_committed(&self, id: &str) -> bool {
        self.committed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }

    pub(super) async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, RuntimeError> {
        match tokio::time::timeout(API_TIMEOUT, self.docker.inspect_container(id, None)).await {
            Ok(Ok(i)) => Ok(i),
            Ok(Err(e)) => Err(self.api_error(id, e)),
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "the Docker engine at {} did not inspect {id} within {} s",
                self.endpoint,
                API_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Inspects `id`, refusing containers outside this agent's scope.
    pub(super) async fn inspect_ours(
        &self,
        id: &str,
    ) -> Result<ContainerInspectResponse, RuntimeError> {
        let i = self.inspect(id).await?;
        if let Some((k, v)) = &self.config.scope {
            let labels = i.config.as_ref().and_then(|c| c.labels.as_ref());
            if labels.and_then(|l| l.get(k)) != Some(v) {
                return Err(RuntimeError::NotFound(id.to_owned()));
            }
        }
        Ok(i)
    }

    pub(super) async fn export_portable(&self, id: &str) -> Result<PortableSpec, RuntimeError> {
        let i = self.inspect_ours(id).await?;
        let mut spec = export(&i, self.is_committed(id));
        if let Some(dir) = volume_dir(&i) {
            spec.volume_bytes = tokio::task::spawn_blocking(move || bytes(&dir))
                .await
                .unwrap_or(0);
        }
        Ok(spec)
    }

    pub(super) async fn create_from(&self, spec: &PortableSpec) -> Result<String, RuntimeError> {
        let name = engine_name(self.config.scope.as_ref(), &spec.name);
        let dir = match (&self.config.data_dir, spec.volumes.is_empty()) {
            (_, true) => None,
            (Some(data), false) => {
                let (d, n, v) = (data.clone(), name.clone(), spec.volumes.clone());
                Some(
                    tokio::task::spawn_blocking(move || make_volume_dir(&d, &n, &v))
                        .await
                        .map_err(|e| RuntimeError::Failed(e.to_string()))??,
                )
            }
            (None, false) => {
                return Err(RuntimeError::Failed(format!(
                    "{} has volumes but this agent has no data directory for them",
                    spec.name
                )));
            }
        };
        let made = async {
            let body = create_body(spec, self.config.scope.as_ref(), &name, dir.as_deref())?;
            let options = CreateContainerOptions {
                name: Some(name.clone()),
                platform: String::new(),
            };
            self.docker
                .create_container(Some(options), body)
                .await
                .map_err(|e| self.api_error(&name, e))
        }
        .await;
        match made {
            Ok(r) => {
                self.shared.touch(&r.id);
                Ok(r.id)
            }
            Err(e) => {
                // Nothing half-made: the volume directories go with the refused container.
                if let Some(d) = dir {
                    let _ = tokio::fs::remove_dir_all(d).await;
                }
                Err(e)
            }
        }
    }

    pub(super) async fn managed_volume_dir(
        &self,
        id: &str,
    ) -> Result<std::path::PathBuf, RuntimeError> {
        let i = self.inspect_ours(id).await?;
        if let Some(dir) = volume_dir(&i) {
            return Ok(dir);
        }
        let has_mounts = i.mounts.as_ref().is_some_and(|m| !m.is_empty());
        if has_mounts {
            Err(RuntimeError::Unsupported {
                runtime: "docker",
                what: "reach the volume data of a container it did not create",
            })
        } else {
            // No volumes: an empty directory stands for "nothing to copy".
            let data = self.config.data_dir.as_ref().ok_or_else(|| {
                RuntimeError::Failed("this agent has no data directory".to_owned())
            })?;
            let dir = data.join(".empty").join(id);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| RuntimeError::Failed(format!("volume data: {e}")))?;
            Ok(dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_round_trip_and_refuse_escapes() {
        assert_eq!(volume_name("/data").as_deref(), Some("data"));
        assert_eq!(volume_name("/var/lib/db/").as_deref(), Some("var~lib~db"));
        assert_eq!(mount_path("var~lib~db").unwrap(), "/var/lib/db");
        assert_eq!(volume_name("/"), None);
        assert_eq!(volume_name("/a/../b"), None);
        assert!(mount_path("..").is_err());
        assert!(mount_path("a~..~b").is_err());
        assert!(mount_path("a/b").is_err());
        assert!(mount_path("").is_err());
    }

    #[test]
    fn engine_names_carry_the_scope() {
        let scope = ("k".to_owned(), "node 1".to_owned());
        assert_eq!(engine_name(Some(&scope), "web"), "node-1.web");
        assert_eq!(engine_name(None, "web"), "web");
    }
}
