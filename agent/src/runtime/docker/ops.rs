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

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::CreateContainerOptions;

use super::spec::{create_body, export};
use super::volumes::{STAGED_DIR, managed_only};
use super::{API_TIMEOUT, DockerRuntime};
use crate::model::{ContainerSpec, PENDING_LABEL, PortableSpec};
use crate::runtime::{RuntimeError, sim::dir_bytes};

/// Label carrying the fleet's name of a container whose engine name has a scope prefix.
pub const NAME_LABEL: &str = "fleetdeck.name";
/// Label carrying the directory that holds a container's volumes.
pub const VOLUME_DIR_LABEL: &str = "fleetdeck.volume-dir";
/// Subdirectory of the data dir holding commit markers.
const COMMITTED_DIR: &str = ".committed";

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

pub(super) fn fleet_name(i: &ContainerInspectResponse) -> String {
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
    // The data folder is private; the containers' folders in it keep the modes their
    // processes may need.
    crate::private::create_dir(data_dir).map_err(io_error)?;
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
        crate::private::create_dir(parent).map_err(io_error)?;
    }
    crate::private::write_atomic(&m, b"").map_err(io_error)
}

/// The committed containers recorded under `data_dir`; staged data of an earlier run goes.
pub fn load_committed(data_dir: &Path) -> HashSet<String> {
    let _ = std::fs::remove_dir_all(data_dir.join(STAGED_DIR));
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
        // Staged copies of its data left by reads (transfers, backups).
        let prefix = format!("{}-", &id[..id.len().min(12)]);
        for e in std::fs::read_dir(d.join(STAGED_DIR))
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
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
        if let Some(image) = i.image.as_deref() {
            super::images::drop_image_health(&mut spec, self.image_health(image).await.as_ref());
        }
        // Managed folders, else the mounts' sources where this agent can see them (the
        // engine's own volume folders when it runs on the engine's host); an estimate.
        let sources: Vec<PathBuf> = match volume_dir(&i).filter(|_| managed_only(&i)) {
            Some(dir) => vec![dir],
            None => i
                .mounts
                .iter()
                .flatten()
                .filter(|m| matches!(m.typ.as_deref(), Some("volume" | "bind")))
                .filter_map(|m| m.source.as_deref().map(PathBuf::from))
                .collect(),
        };
        spec.volume_bytes =
            tokio::task::spawn_blocking(move || sources.iter().map(|d| bytes(d)).sum())
                .await
                .unwrap_or(0);
        Ok(spec)
    }

    pub(super) async fn create_from(&self, spec: &PortableSpec) -> Result<String, RuntimeError> {
        // Refusals first: nothing is made for a copy this engine cannot hold.
        self.check_copy(spec).await?;
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
        let mut volumes = Vec::new();
        let mut made_id = None;
        let made = async {
            volumes = self.make_named_volumes(spec, &name).await?;
            let body = create_body(spec, self.config.scope.as_ref(), &name, dir.as_deref())?;
            let options = CreateContainerOptions {
                name: Some(name.clone()),
                platform: String::new(),
            };
            let r = self
                .docker
                .create_container(Some(options), body)
                .await
                .map_err(|e| self.api_error(&name, e))?;
            made_id = Some(r.id.clone());
            self.connect_networks(&r.id, spec).await?;
            Ok::<_, RuntimeError>(r.id)
        }
        .await;
        match made {
            Ok(id) => {
                self.shared.touch(&id);
                Ok(id)
            }
            Err(e) => {
                // Nothing half-made: the container, its volumes and folders go again.
                if let Some(id) = made_id {
                    let o = bollard::query_parameters::RemoveContainerOptions {
                        force: true,
                        v: false,
                        link: false,
                    };
                    let _ = self.docker.remove_container(&id, Some(o)).await;
                }
                self.remove_volumes(&volumes).await;
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
        let has_mounts = i.mounts.as_ref().is_some_and(|m| !m.is_empty());
        if let Some(dir) = volume_dir(&i).filter(|_| managed_only(&i)) {
            return Ok(dir);
        }
        if has_mounts {
            // Volumes the engine keeps: reached through its archive API.
            self.stage_volumes(id, &i).await
        } else {
            // No volumes: an empty directory stands for "nothing to copy".
            let data = self.config.data_dir.as_ref().ok_or_else(|| {
                RuntimeError::Failed("this agent has no data directory".to_owned())
            })?;
            let dir = data.join(".empty").join(id);
            crate::private::create_dir(&dir)
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
