//! The unary and streaming calls around actions: portable specs, volume data as tar
//! streams (bounded in memory: a few 64 KiB chunks in flight), and the backup list.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use fleetdeck_proto as pb;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::backup::Registry;
use crate::backup::archive::{self, ArchiveError};
use crate::convert_ops;
use crate::hub::Hub;
use crate::model::{ActError, ActErrorKind};
use crate::runtime::{Runtime, RuntimeError};

mod backups;

pub use backups::{BackupStream, WriteBackupStream};

/// Size of one data chunk on the wire.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks queued between the tar worker and the network.
pub(crate) const CHUNKS_IN_FLIGHT: usize = 4;

/// What ReadVolumes streams back.
pub type ChunkStream = ReceiverStream<Result<pb::DataChunk, Status>>;

/// Specs, volume data and backups of one node. Container and backup references reach it
/// checked (see [`crate::validate`]); the service checks them before calling in.
pub struct Transfer {
    hub: Hub,
    runtime: Arc<dyn Runtime>,
    backups: Registry,
    /// Longest wait for the next chunk of an upload.
    chunk_idle: Duration,
}

fn act_status(e: ActError) -> Status {
    match e.kind {
        ActErrorKind::NotFound => Status::not_found(e.message),
        ActErrorKind::Invalid => Status::invalid_argument(e.message),
        ActErrorKind::Conflict => Status::failed_precondition(e.message),
        ActErrorKind::Unsupported => Status::unimplemented(e.message),
        _ => Status::internal(e.message),
    }
}

fn runtime_status(e: RuntimeError) -> Status {
    match e {
        RuntimeError::NotFound(m) => Status::not_found(format!("no such container: {m}")),
        RuntimeError::Conflict(m) => Status::failed_precondition(m),
        RuntimeError::Unsupported { .. } => Status::unimplemented(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

struct ChunkWriter {
    tx: mpsc::Sender<Result<pb::DataChunk, Status>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(pb::DataChunk {
                container: String::new(),
                data,
            }))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "reader gone"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK_BYTES - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_BYTES {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A blocking reader over chunks arriving on a channel; `Err` items end it with an error.
pub(crate) struct ChunkReader {
    rx: mpsc::Receiver<Result<Vec<u8>, String>>,
    current: Vec<u8>,
    at: usize,
}

impl ChunkReader {
    /// Reads what arrives on `rx` until it closes.
    pub(crate) fn new(rx: mpsc::Receiver<Result<Vec<u8>, String>>) -> Self {
        Self {
            rx,
            current: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(data)) => {
                    self.current = data;
                    self.at = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Transfer {
    /// Serves the node behind `hub` and `runtime`, with backups in `backups`.
    pub fn new(hub: Hub, runtime: Arc<dyn Runtime>, backups: Registry) -> Self {
        Self {
            hub,
            runtime,
            backups,
            chunk_idle: crate::server::CALL_TIMEOUT,
        }
    }

    /// Uploads fail when no chunk arrives for `idle` (they have no overall limit).
    #[must_use]
    pub fn with_chunk_idle(mut self, idle: Duration) -> Self {
        self.chunk_idle = idle;
        self
    }

    /// ExportSpec.
    pub async fn export_spec(&self, target: &str) -> Result<pb::PortableSpec, Status> {
        let c = self.hub.find(target).map_err(act_status)?;
        let spec = self
            .runtime
            .export_spec(&c.spec.id)
            .await
            .map_err(runtime_status)?;
        Ok(convert_ops::spec(&spec))
    }

    /// ListSpecs.
    pub async fn list_specs(&self) -> Result<pb::ListSpecsReply, Status> {
        let mut specs = Vec::new();
        for c in self.hub.snapshot().containers {
            match self.runtime.export_spec(&c.spec.id).await {
                Ok(s) => specs.push(convert_ops::spec(&s)),
                // Gone between the snapshot and now: nothing to cache.
                Err(RuntimeError::NotFound(_)) => {}
                Err(e) => return Err(runtime_status(e)),
            }
        }
        Ok(pb::ListSpecsReply { specs })
    }

    /// ListBackups.
    pub async fn list_backups(&self) -> Result<pb::ListBackupsReply, Status> {
        let registry = self.backups.clone();
        let list = tokio::task::spawn_blocking(move || registry.list())
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(pb::ListBackupsReply {
            backups: list.iter().map(convert_ops::backup).collect(),
        })
    }

    /// ListImages.
    pub async fn list_images(&self) -> Result<pb::ListImagesReply, Status> {
        let images = self.runtime.images().await.map_err(runtime_status)?;
        Ok(pb::ListImagesReply {
            images: images.iter().map(|i| i.to_proto()).collect(),
        })
    }

    /// ReadVolumes: a tar of the container's volumes, chunk by chunk.
    pub async fn read_volumes(&self, target: &str) -> Result<ChunkStream, Status> {
        let c = self.hub.find(target).map_err(act_status)?;
        let dir = self
            .runtime
            .volume_dir(&c.spec.id)
            .await
            .map_err(runtime_status)?;
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = ChunkWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK_BYTES),
            };
            let result = (|| {
                let mut builder = tar::Builder::new(&mut writer);
                archive::pack_dir(&mut builder, &dir, ".")?;
                builder.finish()?;
                drop(builder);
                writer.flush()
            })();
            runtime.volumes_read(&dir);
            if let Err(e) = result
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                let _ = tx.blocking_send(Err(Status::internal(format!("reading volumes: {e}"))));
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    /// WriteVolumes: unpacks a tar stream into the (stopped) container `target`'s volumes;
    /// `first` is the data of the chunk that named it, `stream` the chunks after it.
    pub async fn write_volumes(
        &self,
        target: &str,
        first: Vec<u8>,
        mut stream: Streaming<pb::DataChunk>,
    ) -> Result<pb::WriteVolumesReply, Status> {
        let c = self.hub.find(target).map_err(act_status)?;
        if c.status.state.is_up() {
            return Err(Status::failed_precondition(format!(
                "{} is running; volume data is only written into a stopped container",
                c.spec.name
            )));
        }
        let dir = self
            .runtime
            .volume_dir(&c.spec.id)
            .await
            .map_err(runtime_status)?;
        let staging = dir.with_extension("incoming");
        if staging.exists() {
            let _ = tokio::fs::remove_dir_all(&staging).await;
        }
        let (tx, rx) = mpsc::channel::<Result<Vec<u8>, String>>(CHUNKS_IN_FLIGHT);
        let (st, d) = (staging.clone(), dir.clone());
        let worker = tokio::task::spawn_blocking(move || {
            let reader = ChunkReader {
                rx,
                current: Vec::new(),
                at: 0,
            };
            let done = archive::unpack_safely(reader, &st, None, |_, _| Ok(()))?;
            archive::swap_in(&st, &d)?;
            Ok::<_, ArchiveError>(done)
        });
        let mut pending = Some(first);
        // Why the stream broke, when it did (as opposed to ending): the archive error that
        // follows is a consequence, not the archive's fault.
        let mut broke: Option<String> = None;
        loop {
            let data = match pending.take() {
                Some(d) => d,
                None => match tokio::time::timeout(self.chunk_idle, stream.next()).await {
                    Ok(None) => break,
                    Ok(Some(Ok(chunk))) => chunk.data,
                    Ok(Some(Err(status))) => {
                        broke = Some(status.message().to_string());
                        break;
                    }
                    Err(_) => {
                        let secs = self.chunk_idle.as_secs_f64();
                        broke = Some(format!("no data for {secs} s"));
                        break;
                    }
                },
            };
            if !data.is_empty() && tx.send(Ok(data)).await.is_err() {
                // The worker stopped early (refused entry); its error says why.
                break;
            }
        }
        if let Some(why) = &broke {
            let _ = tx.send(Err(format!("stream broke: {why}"))).await;
        }
        drop(tx);
        let done = worker
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| upload_status(e, broke.as_deref()))?;
        self.runtime
            .volumes_written(&c.spec.id, &dir)
            .await
            .map_err(runtime_status)?;
        Ok(pb::WriteVolumesReply {
            bytes: done.bytes,
            files: done.files,
        })
    }
}

/// The status for a volume upload that failed with `e`; `broke` says why the stream broke,
/// when it did. An unsafe, too large or mismatched archive is the sender's data at fault
/// (INVALID_ARGUMENT) whatever happened next. A truncated or unreadable archive is the
/// stream's fault when the stream broke (ABORTED: the copy can be retried), else the data's.
/// A disk failure is ABORTED.
fn upload_status(e: ArchiveError, broke: Option<&str>) -> Status {
    match (&e, broke) {
        (ArchiveError::Corrupt(_) | ArchiveError::Io(_), Some(why)) => Status::aborted(format!(
            "volume stream broke before the archive ended: {why}; nothing was written"
        )),
        (ArchiveError::Io(_), None) => Status::aborted(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

#[cfg(test)]
mod upload_status_tests {
    use super::*;

    #[test]
    fn a_broken_stream_is_aborted_and_a_bad_archive_invalid() {
        let corrupt = || ArchiveError::Corrupt("unexpected end of file".into());
        let s = upload_status(corrupt(), Some("connection reset"));
        assert_eq!(s.code(), tonic::Code::Aborted);
        assert!(s.message().contains("stream broke"), "{s:?}");
        assert!(s.message().contains("connection reset"), "{s:?}");
        assert_eq!(
            upload_status(corrupt(), None).code(),
            tonic::Code::InvalidArgument
        );
        let unsafe_entry = || ArchiveError::Unsafe {
            entry: "../x".into(),
            why: "escapes the target".into(),
        };
        assert_eq!(
            upload_status(unsafe_entry(), Some("reset")).code(),
            tonic::Code::InvalidArgument,
            "a refused entry is the data's fault even if the stream broke after it"
        );
        let disk = ArchiveError::Io(std::io::Error::other("disk full"));
        assert_eq!(upload_status(disk, None).code(), tonic::Code::Aborted);
    }
}
