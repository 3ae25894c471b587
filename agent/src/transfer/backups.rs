//! Backups between nodes: ReadBackup streams an archive as it is on disk, WriteBackup
//! stores one sent by another node (see [`crate::backup::import`]). Both keep a few 64 KiB
//! chunks in memory at most, whatever the archive's size.

use std::io::Read;

use fleetdeck_proto as pb;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::{CHUNK_BYTES, CHUNKS_IN_FLIGHT, Transfer};
use crate::backup::import::ImportError;
use crate::backup::{BackupError, BackupRecord};
use crate::convert_ops;

/// What ReadBackup streams back.
pub type BackupStream = ReceiverStream<Result<pb::BackupChunk, Status>>;
/// What WriteBackup streams back.
pub type WriteBackupStream = ReceiverStream<Result<pb::WriteBackupProgress, Status>>;

fn import_status(e: ImportError) -> Status {
    match e {
        ImportError::Invalid(_) | ImportError::Mismatch(_) => {
            Status::invalid_argument(e.to_string())
        }
        ImportError::Conflict(_) | ImportError::AlreadyHeld(_) => {
            Status::already_exists(e.to_string())
        }
        ImportError::Io(_) => Status::internal(e.to_string()),
    }
}

fn joined(e: tokio::task::JoinError) -> Status {
    Status::internal(format!("backup worker failed: {e}"))
}

/// The record a sender announces for intent `intent`, as this node would keep it.
fn announced(info: pb::BackupInfo, intent: String) -> BackupRecord {
    BackupRecord {
        id: info.id,
        container: info.container,
        container_id: info.container_id,
        service: info.service,
        node_id: info.node_id,
        created_unix_ms: info.created_unix_ms,
        size_bytes: info.size_bytes,
        sha256: info.sha256,
        copied_from: String::new(),
        intent,
    }
}

impl Transfer {
    /// ReadBackup: the record, then the archive in chunks.
    pub async fn read_backup(&self, backup_id: &str) -> Result<BackupStream, Status> {
        let registry = self.backups.clone();
        let id = backup_id.to_owned();
        let (record, file) = tokio::task::spawn_blocking(move || {
            let record = registry.get(&id)?;
            let file = std::fs::File::open(registry.archive_path(&id))
                .map_err(|_| BackupError::NotFound(id.clone()))?;
            Ok::<_, BackupError>((record, file))
        })
        .await
        .map_err(joined)?
        .map_err(|e| match e {
            BackupError::NotFound(_) => Status::not_found(e.to_string()),
            other => Status::internal(other.to_string()),
        })?;
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let head = pb::BackupChunk {
            info: Some(convert_ops::backup(&record)),
            data: Vec::new(),
            intent_id: String::new(),
        };
        tokio::task::spawn_blocking(move || {
            if tx.blocking_send(Ok(head)).is_err() {
                return;
            }
            let mut file = std::io::BufReader::new(file);
            loop {
                let mut data = vec![0_u8; CHUNK_BYTES];
                let n = match file.read(&mut data) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(Status::internal(format!(
                            "reading backup {}: {e}",
                            record.id
                        ))));
                        return;
                    }
                };
                data.truncate(n);
                let chunk = pb::BackupChunk {
                    info: None,
                    data,
                    intent_id: String::new(),
                };
                if tx.blocking_send(Ok(chunk)).is_err() {
                    // The reader went away.
                    return;
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    /// WriteBackup: checks the announced record `info`, then stores the archive as it
    /// arrives (`first`, sent with the record, then `stream`), reporting bytes stored; the
    /// last message names the stored backup. A copy made for intent `intent` (non-empty)
    /// carries it, so it goes when that intent is rolled back.
    pub async fn write_backup(
        &self,
        (info, intent): (pb::BackupInfo, String),
        first: Vec<u8>,
        mut stream: Streaming<pb::BackupChunk>,
    ) -> Result<WriteBackupStream, Status> {
        let from = info.node_id.clone();
        crate::validate::text("sending node", &from, 255, true)
            .map_err(Status::invalid_argument)?;
        let node = self.hub.info().node_id;
        let registry = self.backups.clone();
        let record = announced(info, intent);
        let begun =
            tokio::task::spawn_blocking(move || registry.begin_import(record, &node, &from))
                .await
                .map_err(joined)?;
        let mut import = match begun {
            Ok(import) => import,
            // Sent again (a retried restore): the copy here is the same, so say it is stored.
            Err(ImportError::AlreadyHeld(held)) => {
                let done = pb::WriteBackupProgress {
                    bytes: held.size_bytes,
                    stored: Some(convert_ops::backup(&held)),
                };
                let (tx, rx) = mpsc::channel(1);
                let _ = tx.try_send(Ok(done));
                return Ok(ReceiverStream::new(rx));
            }
            Err(e) => return Err(import_status(e)),
        };
        let (data_tx, mut data_rx) = mpsc::channel::<Result<Vec<u8>, String>>(CHUNKS_IN_FLIGHT);
        let worker = tokio::task::spawn_blocking(move || {
            while let Some(item) = data_rx.blocking_recv() {
                match item {
                    Ok(data) => import.write(&data)?,
                    // Dropping `import` removes what was written.
                    Err(why) => {
                        return Err(ImportError::Mismatch(format!(
                            "backup {} did not arrive whole: {why}",
                            crate::validate::shown(&import.record().id)
                        )));
                    }
                }
            }
            import.finish()
        });
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            let mut received = 0_u64;
            let mut pending = Some(first);
            loop {
                let data = match pending.take() {
                    Some(d) => d,
                    None => match stream.next().await {
                        None => break,
                        Some(Ok(chunk)) => chunk.data,
                        Some(Err(status)) => {
                            let _ = data_tx.send(Err(status.message().to_owned())).await;
                            break;
                        }
                    },
                };
                if data.is_empty() {
                    continue;
                }
                received += data.len() as u64;
                if data_tx.send(Ok(data)).await.is_err() {
                    // The worker refused the data; its error says why.
                    break;
                }
                // Progress is advisory: a slow reader misses some, never stalls the copy.
                let _ = tx.try_send(Ok(pb::WriteBackupProgress {
                    bytes: received,
                    stored: None,
                }));
            }
            drop(data_tx);
            let last = match worker.await {
                Ok(Ok(record)) => Ok(pb::WriteBackupProgress {
                    bytes: record.size_bytes,
                    stored: Some(convert_ops::backup(&record)),
                }),
                Ok(Err(e)) => {
                    tracing::warn!("refused a backup sent by another node: {e}");
                    Err(import_status(e))
                }
                Err(e) => Err(joined(e)),
            };
            let _ = tx.send(last).await;
        });
        Ok(ReceiverStream::new(rx))
    }
}
