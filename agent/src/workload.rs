//! Actions that move workloads: create a container from a portable spec, back one up,
//! restore a backup. A child of `actions`, sharing its progress and audit plumbing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Actions, Final, OBSERVE_LIMIT, Progress, runtime_error};
use crate::backup::archive;
use crate::backup::{BackupError, DEFAULT_KEEP_AGE, DEFAULT_KEEP_COUNT};
use crate::host::now_unix_ms;
use crate::model::{
    ActError, ActErrorKind, Container, ContainerVerb, Done, NodeMode, PortableSpec,
};

fn backup_error(e: BackupError) -> ActError {
    let kind = match &e {
        BackupError::NotFound(_) => ActErrorKind::NotFound,
        BackupError::Checksum { .. } | BackupError::Archive(_) | BackupError::NoSpec(_) => {
            ActErrorKind::Invalid
        }
        BackupError::Io(_) => ActErrorKind::Runtime,
    };
    ActError::new(kind, e.to_string())
}

fn joined(e: tokio::task::JoinError) -> ActError {
    ActError::new(
        ActErrorKind::Runtime,
        format!("background work failed: {e}"),
    )
}

impl Actions {
    fn refuse_if_cordoned(&self, what: &str) -> Result<(), ActError> {
        if self.hub.status().mode == NodeMode::Maintenance {
            return Err(ActError::new(
                ActErrorKind::Conflict,
                format!(
                    "node {} is cordoned (MAINTENANCE) and takes no new containers; cannot {what}",
                    self.hub.info().node_id
                ),
            ));
        }
        Ok(())
    }

    pub(super) async fn create(
        &self,
        id: &str,
        spec: &PortableSpec,
        labels: &BTreeMap<String, String>,
        dry_run: bool,
        tx: &Progress,
    ) -> Final {
        let name = &spec.name;
        if self.hub.find(name).is_ok() {
            return Err(ActError::new(
                ActErrorKind::Conflict,
                format!(
                    "a container named {name} already exists on {}",
                    self.hub.info().node_id
                ),
            ));
        }
        self.refuse_if_cordoned(&format!("create {name}"))?;
        self.runtime
            .check_create(spec)
            .await
            .map_err(runtime_error)?;
        if dry_run {
            return Ok(format!("dry run: would create {name} from {}", spec.image).into());
        }
        Self::progress(tx, id, "create", 40.0, format!("creating {name}")).await;
        let mut spec = spec.clone();
        spec.labels
            .extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let new_id = self.runtime.create(&spec).await.map_err(runtime_error)?;
        if !self.hub.sampled_after_now(OBSERVE_LIMIT).await {
            tracing::warn!("sampler did not confirm the creation of {name} in time");
        }
        Ok(Done {
            message: format!("created {name} ({})", &new_id[..new_id.len().min(12)]),
            container_id: new_id,
            backup_id: String::new(),
        })
    }

    pub(super) async fn backup(
        &self,
        id: &str,
        c: &Container,
        keep_count: u32,
        keep_secs: u64,
        dry_run: bool,
        tx: &Progress,
    ) -> Final {
        let name = c.spec.name.clone();
        let spec = self
            .runtime
            .export_spec(&c.spec.id)
            .await
            .map_err(runtime_error)?;
        if dry_run {
            return Ok(format!(
                "dry run: would back up {name}: configuration and {} of volume data",
                fleetdeck_core::format::bytes(spec.volume_bytes)
            )
            .into());
        }
        Self::progress(tx, id, "prepare", 20.0, format!("reading {name}'s volumes")).await;
        let dir = self
            .runtime
            .volume_dir(&c.spec.id)
            .await
            .map_err(runtime_error)?;
        Self::progress(tx, id, "archive", 40.0, format!("archiving {name}")).await;
        let registry = self.backups.clone();
        let node = self.hub.info().node_id;
        let now = now_unix_ms();
        let runtime = self.runtime.clone();
        let record = tokio::task::spawn_blocking(move || {
            let record = registry.create(&node, &spec, &dir, now);
            runtime.volumes_read(&dir);
            let record = record?;
            let keep = if keep_count == 0 {
                DEFAULT_KEEP_COUNT
            } else {
                keep_count
            };
            let age = if keep_secs == 0 {
                DEFAULT_KEEP_AGE
            } else {
                std::time::Duration::from_secs(keep_secs)
            };
            let pruned = registry.prune(&record.container, keep, age, now, &record.id);
            Ok::<_, BackupError>((record, pruned))
        })
        .await
        .map_err(joined)?
        .map_err(backup_error);
        let (record, pruned) = record?;
        Self::progress(
            tx,
            id,
            "checksum",
            90.0,
            format!("sha256 {}", record.sha256),
        )
        .await;
        let pruned = if pruned.is_empty() {
            String::new()
        } else {
            format!("; retention removed {}", pruned.join(", "))
        };
        Ok(Done {
            message: format!(
                "backed up {name} as {} ({}, sha256 {}){pruned}",
                record.id,
                fleetdeck_core::format::bytes(record.size_bytes),
                &record.sha256[..12]
            ),
            container_id: String::new(),
            backup_id: record.id,
        })
    }

    /// Restores `backup_id`; `how` is (overwrite a running container, dry run, the intent
    /// it runs under). A container the restore creates for an intent carries it and stays
    /// pending until the console commits it.
    pub(super) async fn restore(
        &self,
        id: &str,
        backup_id: &str,
        (overwrite, dry_run, intent): (bool, bool, &str),
        tx: &Progress,
    ) -> Final {
        let record = self.backups.get(backup_id).map_err(backup_error)?;
        Self::progress(tx, id, "verify", 20.0, "verifying the checksum".into()).await;
        static STAGING: AtomicU64 = AtomicU64::new(0);
        let n = STAGING.fetch_add(1, Ordering::Relaxed);
        let staging: PathBuf = self
            .backups
            .dir()
            .join(format!(".staging-{}-{n}", std::process::id()));
        let registry = self.backups.clone();
        let (bid, st) = (backup_id.to_owned(), staging.clone());
        let unpacked = tokio::task::spawn_blocking(move || registry.unpack(&bid, &st))
            .await
            .map_err(joined)?
            .map_err(backup_error);
        let (_, mut spec) = unpacked?;
        let cleanup = || {
            let st = staging.clone();
            async move {
                let _ = tokio::fs::remove_dir_all(st).await;
            }
        };
        let existing = self.hub.find(&spec.name).ok();
        let up = existing.as_ref().is_some_and(|c| c.status.state.is_up());
        if up && !overwrite {
            cleanup().await;
            return Err(ActError::new(
                ActErrorKind::Conflict,
                format!(
                    "{} is running; restoring over it replaces its data: confirm the overwrite (type its name in the console, or pass --overwrite)",
                    spec.name
                ),
            ));
        }
        if existing.is_none()
            && let Err(e) = self.refuse_if_cordoned(&format!("restore {}", spec.name))
        {
            cleanup().await;
            return Err(e);
        }
        if dry_run {
            cleanup().await;
            let how = match &existing {
                Some(_) if up => "over the running container (stopped, then started again)",
                Some(_) => "over the stopped container",
                None => "as a new container",
            };
            return Ok(format!(
                "dry run: checksum verified; would restore {} from {backup_id} ({}) {how}",
                spec.name,
                fleetdeck_core::format::bytes(record.size_bytes)
            )
            .into());
        }
        if existing.is_none() && !intent.is_empty() {
            spec.labels = super::intent_ops::with_intent(&spec.labels, intent);
            spec.labels.insert(
                crate::model::PENDING_LABEL.to_owned(),
                format!("restore of {backup_id}"),
            );
        }
        let result = self
            .restore_into(id, &spec, existing, up, &staging, tx)
            .await;
        cleanup().await;
        let target = result?;
        Ok(Done {
            message: format!("restored {} from {backup_id}", spec.name),
            container_id: target,
            backup_id: backup_id.to_owned(),
        })
    }

    async fn restore_into(
        &self,
        id: &str,
        spec: &PortableSpec,
        existing: Option<Container>,
        up: bool,
        staging: &std::path::Path,
        tx: &Progress,
    ) -> Result<String, ActError> {
        let start = up || existing.is_none();
        let target = match existing {
            Some(c) => {
                if up {
                    Self::progress(tx, id, "stop", 50.0, format!("stopping {}", spec.name)).await;
                    self.runtime
                        .act(ContainerVerb::Stop, &c.spec.id)
                        .await
                        .map_err(runtime_error)?;
                }
                c.spec.id.clone()
            }
            None => {
                Self::progress(tx, id, "create", 50.0, format!("creating {}", spec.name)).await;
                self.runtime.create(spec).await.map_err(runtime_error)?
            }
        };
        Self::progress(tx, id, "write", 70.0, "writing the volume data".into()).await;
        let dir = self
            .runtime
            .volume_dir(&target)
            .await
            .map_err(runtime_error)?;
        let (st, d) = (staging.to_path_buf(), dir.clone());
        tokio::task::spawn_blocking(move || archive::swap_in(&st, &d))
            .await
            .map_err(joined)?
            .map_err(|e| ActError::new(ActErrorKind::Runtime, format!("writing volumes: {e}")))?;
        self.runtime
            .volumes_written(&target, &dir)
            .await
            .map_err(runtime_error)?;
        if start {
            Self::progress(tx, id, "start", 90.0, format!("starting {}", spec.name)).await;
            self.runtime
                .act(ContainerVerb::Start, &target)
                .await
                .map_err(runtime_error)?;
        }
        if !self.hub.sampled_after_now(OBSERVE_LIMIT).await {
            tracing::warn!(
                "sampler did not confirm the restore of {} in time",
                spec.name
            );
        }
        Ok(target)
    }
}
