//! Volume data of containers the agent did not create (named and anonymous volumes, bind
//! mounts of host paths), through the engine's archive API; the checks a copy must pass
//! before anything is created; and the named volumes and networks a copy needs.
//!
//! Reading: each mount is downloaded as a tar from the container and unpacked (with the
//! same refusals as any archive) into a staging folder under the data dir, one subfolder
//! per volume, so the transfer and backup code read it like a managed folder. Writing: the
//! caller fills such a staging folder, then [`DockerRuntime::upload_staged`] sends each
//! volume into the (stopped or created) container and removes the folder.
//!
//! Limits: the archive API adds and overwrites files but cannot delete them, so a restore
//! over an existing container of this kind leaves files created since the backup in place.
//! A staged copy made for a read (transfer, backup) is removed once it has been read.

use std::path::{Path, PathBuf};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, MountPoint, NetworkConnectRequest,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptionsBuilder, ListContainersOptions,
    RemoveContainerOptions, RemoveVolumeOptions, UploadToContainerOptionsBuilder,
};
use futures::StreamExt;
use tokio::sync::mpsc;
use tonic::codegen::Bytes;

use super::ops::volume_name;
use super::spec::{Extras, MountKind, mounts, named_volumes};
use super::{API_TIMEOUT, DockerRuntime};
use crate::backup::archive;
use crate::model::PortableSpec;
use crate::runtime::RuntimeError;
use crate::transfer::{CHUNK_BYTES, ChunkReader};

/// Subdirectory of the data dir holding staged volume data.
pub const STAGED_DIR: &str = ".staged";
/// Label on a volume the agent created for a copy: the copy's engine name.
pub const VOLUME_OWNER_LABEL: &str = "fleetdeck.volume-of";
/// Label on a helper container that fills read-only mounts: the copy's engine name.
pub const FILL_LABEL: &str = "fleetdeck.fill-of";
/// Chunks queued between the engine and the tar worker.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A container's volumes are all folders the agent manages (read and written directly).
pub fn managed_only(i: &ContainerInspectResponse) -> bool {
    mounts(i).iter().all(|m| m.kind == MountKind::Managed)
}

/// The staged folder for mount `m`, if it has a path fleetdeck can name.
fn dir_of(dir: &Path, m: &MountPoint) -> Option<PathBuf> {
    m.destination
        .as_deref()
        .and_then(volume_name)
        .map(|v| dir.join(v))
}

fn failed(what: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Failed(format!("{what}: {e}"))
}

/// A blocking writer sending 64 KiB pieces to the engine's upload body.
struct BodyWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl BodyWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Bytes::from(data))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "engine gone"))
    }
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl DockerRuntime {
    fn data_dir(&self) -> Result<&Path, RuntimeError> {
        self.config.data_dir.as_deref().ok_or_else(|| {
            RuntimeError::Failed(
                "this agent has no data directory for volume data (give it --state-dir)".into(),
            )
        })
    }

    /// Whether `dir` is a staging folder (to be uploaded) rather than a managed one.
    pub(super) fn is_staged(&self, dir: &Path) -> bool {
        self.config
            .data_dir
            .as_deref()
            .is_some_and(|d| dir.starts_with(d.join(STAGED_DIR)))
    }

    /// Downloads every mount of container `id` into a fresh staging folder.
    pub(super) async fn stage_volumes(
        &self,
        id: &str,
        i: &ContainerInspectResponse,
    ) -> Result<PathBuf, RuntimeError> {
        let token = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let short = &id[..id.len().min(12)];
        let dir = self
            .data_dir()?
            .join(STAGED_DIR)
            .join(format!("{short}-{token:x}"));
        crate::private::create_dir(&dir).map_err(|e| failed("volume data", e))?;
        let staged = async {
            for m in mounts(i) {
                let Some(v) = volume_name(&m.dest) else {
                    continue;
                };
                self.download(id, &m.dest, &dir.join(v)).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = staged {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
        Ok(dir)
    }

    async fn download(&self, id: &str, path: &str, into: &Path) -> Result<(), RuntimeError> {
        // The engine names the entries after the last part of the path.
        let base = Path::new(path)
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (tx, rx) = mpsc::channel::<Result<Vec<u8>, String>>(CHUNKS_IN_FLIGHT);
        let target = into.to_path_buf();
        let worker = tokio::task::spawn_blocking(move || {
            archive::unpack_safely(ChunkReader::new(rx), &target, Some(&base), |_, _| Ok(()))
        });
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(options));
        while let Some(chunk) = stream.next().await {
            let item = chunk.map(|b| b.to_vec()).map_err(|e| e.to_string());
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
        drop(tx);
        worker
            .await
            .map_err(|e| failed("reading volume data", e))?
            .map_err(|e| failed(&format!("reading {path} of {id}"), e))?;
        Ok(())
    }

    /// Uploads each volume of staging folder `dir` into container `id`, then removes `dir`.
    /// The engine refuses an upload into a read-only mount, so those go through a helper
    /// container mounting the same volumes and folders read-write (created, never started,
    /// removed afterwards whatever happened).
    pub(super) async fn upload_staged(&self, id: &str, dir: &Path) -> Result<(), RuntimeError> {
        let i = self.inspect_ours(id).await?;
        let result = async {
            let read_only: Vec<&MountPoint> = i
                .mounts
                .iter()
                .flatten()
                .filter(|m| m.rw == Some(false) && dir_of(dir, m).is_some_and(|p| p.exists()))
                .collect();
            let helper = if read_only.is_empty() {
                None
            } else {
                Some(self.make_fill_helper(&i, &read_only).await?)
            };
            let sent = async {
                for m in i.mounts.iter().flatten() {
                    let (Some(dest), Some(src)) = (m.destination.as_deref(), dir_of(dir, m)) else {
                        continue;
                    };
                    if !src.exists() {
                        continue;
                    }
                    let into = match (&helper, m.rw) {
                        (Some(h), Some(false)) => h.as_str(),
                        _ => id,
                    };
                    self.upload(into, dest, src).await?;
                }
                Ok(())
            }
            .await;
            if let Some(h) = helper {
                self.remove_fill_helper(&h).await;
            }
            sent
        }
        .await;
        let _ = tokio::fs::remove_dir_all(dir).await;
        self.shared.touch(id);
        result
    }

    /// A container (created, never started) mounting `mounts` of `i` read-write at the
    /// same paths, to write into what `i` mounts read-only.
    async fn make_fill_helper(
        &self,
        i: &ContainerInspectResponse,
        mounts: &[&MountPoint],
    ) -> Result<String, RuntimeError> {
        let owner = i
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        let mut binds = Vec::new();
        for m in mounts {
            let what = match m.typ.as_deref() {
                Some("volume") => m.name.as_deref(),
                _ => m.source.as_deref(),
            };
            if let (Some(what), Some(dest)) = (what, m.destination.as_deref()) {
                binds.push(format!("{what}:{dest}"));
            }
        }
        let image = i
            .image
            .clone()
            .or_else(|| i.config.as_ref().and_then(|c| c.image.clone()));
        let body = ContainerCreateBody {
            image,
            // Never started: the command only has to be there for the engine to accept it.
            entrypoint: Some(vec!["/fleetdeck-fill".to_owned()]),
            cmd: Some(Vec::new()),
            labels: Some([(FILL_LABEL.to_owned(), owner.clone())].into()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                binds: Some(binds),
                network_mode: Some("none".to_owned()),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        // One left by an agent that died mid-fill holds the name: it goes first.
        let filters = [("label".to_owned(), vec![format!("{FILL_LABEL}={owner}")])].into();
        let left = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        for c in self
            .docker
            .list_containers(Some(left))
            .await
            .map_err(|e| self.api_error("containers", e))?
        {
            if let Some(old) = c.id {
                self.remove_fill_helper(&old).await;
            }
        }
        let options = CreateContainerOptions {
            name: Some(format!("{owner}.fill")),
            platform: String::new(),
        };
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|r| r.id)
            .map_err(|e| {
                failed(
                    &format!("creating a helper to fill the read-only mounts of {owner}"),
                    e,
                )
            })
    }

    async fn remove_fill_helper(&self, id: &str) {
        let o = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        if let Err(e) = self.docker.remove_container(id, Some(o)).await {
            tracing::warn!(container = id, "could not remove the fill helper: {e}");
        }
    }

    async fn upload(&self, id: &str, path: &str, src: PathBuf) -> Result<(), RuntimeError> {
        let (tx, rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
        let worker = tokio::task::spawn_blocking(move || {
            let mut w = BodyWriter {
                tx,
                buf: Vec::with_capacity(CHUNK_BYTES),
            };
            let mut builder = tar::Builder::new(&mut w);
            archive::pack_dir(&mut builder, &src, ".")?;
            builder.finish()?;
            drop(builder);
            std::io::Write::flush(&mut w)
        });
        let options = UploadToContainerOptionsBuilder::new().path(path).build();
        let body = tokio_stream::wrappers::ReceiverStream::new(rx);
        let sent = self
            .docker
            .upload_to_container(id, Some(options), bollard::body_stream(body))
            .await;
        let packed = worker.await.map_err(|e| failed("writing volume data", e))?;
        sent.map_err(|e| self.api_error(id, e))?;
        packed.map_err(|e| failed(&format!("writing {path} of {id}"), e))
    }

    /// Refuses, before anything is made, a copy of `spec` this engine cannot hold: a network
    /// it lacks, a host port another container already publishes, a volume name in use.
    pub(super) async fn check_copy(&self, spec: &PortableSpec) -> Result<(), RuntimeError> {
        let extras = Extras::of(&spec.labels)?;
        for net in &extras.networks {
            match tokio::time::timeout(API_TIMEOUT, self.docker.inspect_network(net, None)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => {
                    return Err(RuntimeError::Conflict(format!(
                        "network {net} does not exist on the Docker engine at {}: create it there first (docker network create {net})",
                        self.endpoint
                    )));
                }
                Err(_) => {
                    return Err(RuntimeError::Unavailable(format!(
                        "the Docker engine at {} did not answer within {} s",
                        self.endpoint,
                        API_TIMEOUT.as_secs()
                    )));
                }
            }
        }
        if spec.ports.iter().any(|(_, hp, _)| *hp != 0) {
            self.check_host_ports(spec).await?;
        }
        for (dest, (volume, _)) in named_volumes(spec, self.config.scope.as_ref())? {
            if self.docker.inspect_volume(&volume).await.is_ok() {
                return Err(RuntimeError::Conflict(format!(
                    "volume {volume} (for {dest} of {}) already exists on the Docker engine at {}: remove it (docker volume rm {volume}) or restore into the container that uses it",
                    spec.name, self.endpoint
                )));
            }
        }
        Ok(())
    }

    async fn check_host_ports(&self, spec: &PortableSpec) -> Result<(), RuntimeError> {
        // Every container on the engine, whatever node it belongs to: host ports are shared.
        let options = ListContainersOptions {
            all: false,
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.api_error("containers", e))?;
        for (cp, hp, proto) in spec.ports.iter().filter(|(_, hp, _)| *hp != 0) {
            for c in &list {
                let taken = c.ports.iter().flatten().any(|p| {
                    p.public_port == Some(*hp)
                        && p.typ.map(|t| t.to_string()).as_deref().unwrap_or("tcp") == proto
                });
                if taken {
                    let who = c
                        .names
                        .iter()
                        .flatten()
                        .next()
                        .map_or("another container", |n| n.trim_start_matches('/'));
                    return Err(RuntimeError::Conflict(format!(
                        "host port {hp}/{proto} (for {cp} of {}) is already published by {who} on the Docker engine at {}: two copies cannot bind it at once (nodes on one engine share host ports); move it to a node on another engine or publish the port without a fixed host port",
                        spec.name, self.endpoint
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates the named volumes a copy of `spec` called `owner` needs; returns their names.
    pub(super) async fn make_named_volumes(
        &self,
        spec: &PortableSpec,
        owner: &str,
    ) -> Result<Vec<String>, RuntimeError> {
        let mut made = Vec::new();
        for (_, (volume, _)) in named_volumes(spec, self.config.scope.as_ref())? {
            let mut labels = std::collections::HashMap::new();
            labels.insert(VOLUME_OWNER_LABEL.to_owned(), owner.to_owned());
            if let Some((k, v)) = &self.config.scope {
                labels.insert(k.clone(), v.clone());
            }
            let request = VolumeCreateRequest {
                name: Some(volume.clone()),
                labels: Some(labels),
                ..VolumeCreateRequest::default()
            };
            if let Err(e) = self.docker.create_volume(request).await {
                self.remove_volumes(&made).await;
                return Err(failed(&format!("creating volume {volume}"), e));
            }
            made.push(volume);
        }
        Ok(made)
    }

    /// Removes volumes this agent created (after their container went).
    pub(super) async fn remove_volumes(&self, names: &[String]) {
        for name in names {
            let options = RemoveVolumeOptions { force: false };
            if let Err(e) = self.docker.remove_volume(name, Some(options)).await {
                tracing::warn!(volume = name, "could not remove volume: {e}");
            }
        }
    }

    /// The volumes this agent created for container `i`.
    pub(super) async fn owned_volumes(&self, i: &ContainerInspectResponse) -> Vec<String> {
        let owner = i
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/');
        let mut out = Vec::new();
        for m in i.mounts.iter().flatten() {
            let Some(name) = m
                .name
                .as_deref()
                .filter(|_| m.typ.as_deref() == Some("volume"))
            else {
                continue;
            };
            if let Ok(v) = self.docker.inspect_volume(name).await
                && v.labels.get(VOLUME_OWNER_LABEL).map(String::as_str) == Some(owner)
            {
                out.push(name.to_owned());
            }
        }
        out
    }

    /// Connects a new copy to the networks after the first (which it was created on).
    pub(super) async fn connect_networks(
        &self,
        id: &str,
        spec: &PortableSpec,
    ) -> Result<(), RuntimeError> {
        let extras = Extras::of(&spec.labels)?;
        if extras.network_mode.is_some() {
            return Ok(());
        }
        for net in extras.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: id.to_owned(),
                endpoint_config: None,
            };
            self.docker
                .connect_network(net, request)
                .await
                .map_err(|e| failed(&format!("connecting to network {net}"), e))?;
        }
        Ok(())
    }
}
