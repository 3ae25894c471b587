//! Backups of one node's containers: a gzip'd tar holding `spec.json` and `volumes/...`,
//! its SHA-256, and a JSON record beside it, in `<state dir>/backups`. Retention by count
//! and age per container. Restore verifies the checksum before reading a byte of content.
//!
//! `archive` is the one checked tar reader every unpack goes through (restores and volume
//! data sent by another agent); `import` stores a backup sent by another node.

pub mod archive;
pub mod import;

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use self::archive::ArchiveError;
use crate::model::PortableSpec;

/// Backups kept per container unless the request says otherwise.
pub const DEFAULT_KEEP_COUNT: u32 = 5;
/// Oldest backup kept unless the request says otherwise.
pub const DEFAULT_KEEP_AGE: Duration = Duration::from_secs(14 * 86_400);
/// Name of the configuration entry inside an archive.
pub const SPEC_ENTRY: &str = "spec.json";
/// Folder of the volume entries inside an archive.
pub const VOLUMES_ENTRY: &str = "volumes";

/// One backup as the registry records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// `<container>-<ms>`.
    pub id: String,
    /// Container name.
    pub container: String,
    /// Container id when it was taken.
    pub container_id: String,
    /// Service.
    pub service: String,
    /// Node it was taken on.
    pub node_id: String,
    /// When, ms since the Unix epoch.
    pub created_unix_ms: u64,
    /// Archive bytes.
    pub size_bytes: u64,
    /// SHA-256 of the archive, hex.
    pub sha256: String,
    /// Node it was copied from, when another node sent it here; empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub copied_from: String,
    /// The intent it was copied here for (a restore on another node); empty otherwise.
    /// The copy is removed with that intent's uncommitted copies when it ends unfinished.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub intent: String,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No such backup.
    #[error(
        "no backup `{}` on this node; `fleetdeck backups` lists them",
        crate::validate::shown(.0)
    )]
    NotFound(String),
    /// The archive does not match its recorded checksum.
    #[error(
        "backup {id} is corrupt: SHA-256 is {actual}, the registry recorded {expected}; nothing was written"
    )]
    Checksum {
        /// Backup id.
        id: String,
        /// Recorded.
        expected: String,
        /// Computed now.
        actual: String,
    },
    /// The archive holds something it must not.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The archive has no usable spec.
    #[error("backup {0} holds no valid spec.json")]
    NoSpec(String),
    /// File system trouble.
    #[error("backup registry: {0}")]
    Io(#[from] std::io::Error),
}

/// The registry in one directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = BufReader::new(File::open(path)?);
    let mut hash = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex(&hash.finalize()))
}

/// Checks that a backup id is a plain file name (ids come from clients).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.starts_with('.')
}

impl Registry {
    /// The registry in `dir` (created on first backup).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Where archives live.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The archive file of `id`.
    pub fn archive_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.tar.gz"))
    }

    pub(crate) fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Archives `spec` and the volumes in `volume_dir`; blocking (run it off the runtime).
    pub fn create(
        &self,
        node_id: &str,
        spec: &PortableSpec,
        volume_dir: &Path,
        now_ms: u64,
    ) -> Result<BackupRecord, BackupError> {
        crate::private::create_dir(&self.dir)?;
        let mut id = format!("{}-{now_ms}", spec.name);
        let mut n = 1;
        while self.record_path(&id).exists() {
            n += 1;
            id = format!("{}-{now_ms}-{n}", spec.name);
        }
        let path = self.archive_path(&id);
        let part = path.with_extension("part");
        // A new file, so it is private from its first byte (ids never repeat).
        let file = crate::private::options()
            .write(true)
            .create_new(true)
            .open(&part)?;
        let result = (|| {
            let hashing = HashingWriter {
                inner: std::io::BufWriter::new(file),
                hash: Sha256::new(),
                bytes: 0,
            };
            let gz = flate2::write::GzEncoder::new(hashing, flate2::Compression::fast());
            let mut tar = tar::Builder::new(gz);
            let json = serde_json::to_vec_pretty(spec).map_err(std::io::Error::other)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(json.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(now_ms / 1000);
            tar.append_data(&mut header, SPEC_ENTRY, &json[..])?;
            archive::pack_dir(&mut tar, volume_dir, VOLUMES_ENTRY)?;
            let gz = tar.into_inner()?;
            let mut hashing = gz.finish()?;
            hashing.flush()?;
            hashing.inner.get_ref().sync_all()?;
            Ok::<_, std::io::Error>((hex(&hashing.hash.finalize()), hashing.bytes))
        })();
        let (sha256, size_bytes) = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e.into());
            }
        };
        std::fs::rename(&part, &path)?;
        let record = BackupRecord {
            id: id.clone(),
            container: spec.name.clone(),
            container_id: spec.id.clone(),
            service: spec.service.clone(),
            node_id: node_id.to_owned(),
            created_unix_ms: now_ms,
            size_bytes,
            sha256,
            copied_from: String::new(),
            intent: String::new(),
        };
        let json = serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?;
        crate::private::write_atomic(&self.record_path(&id), &json)?;
        Ok(record)
    }

    /// Every backup, newest first; unreadable records are skipped with a warning.
    pub fn list(&self) -> Vec<BackupRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<BackupRecord> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let text = std::fs::read(e.path()).ok()?;
                match serde_json::from_slice(&text) {
                    Ok(r) => Some(r),
                    Err(err) => {
                        tracing::warn!("skipping backup record {}: {err}", e.path().display());
                        None
                    }
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.created_unix_ms
                .cmp(&a.created_unix_ms)
                .then(b.id.cmp(&a.id))
        });
        out
    }

    /// The record of `id`.
    pub fn get(&self, id: &str) -> Result<BackupRecord, BackupError> {
        if !valid_id(id) {
            return Err(BackupError::NotFound(id.to_owned()));
        }
        let text = std::fs::read(self.record_path(id))
            .map_err(|_| BackupError::NotFound(id.to_owned()))?;
        serde_json::from_slice(&text).map_err(|_| BackupError::NotFound(id.to_owned()))
    }

    /// Removes backups of `container` beyond `keep` newest or older than `max_age`, never
    /// `except`; returns the ids removed.
    pub fn prune(
        &self,
        container: &str,
        keep: u32,
        max_age: Duration,
        now_ms: u64,
        except: &str,
    ) -> Vec<String> {
        let oldest = now_ms.saturating_sub(max_age.as_millis() as u64);
        let mut removed = Vec::new();
        let mine = self.list().into_iter().filter(|r| r.container == container);
        for (i, r) in mine.enumerate() {
            if r.id == except || (i < keep as usize && r.created_unix_ms >= oldest) {
                continue;
            }
            let _ = std::fs::remove_file(self.archive_path(&r.id));
            if std::fs::remove_file(self.record_path(&r.id)).is_ok() {
                removed.push(r.id);
            }
        }
        removed
    }

    /// Removes the backups copied here for intent `id` (never one taken here, nor one held
    /// before the intent asked for it); returns the ids removed. Blocking.
    pub fn remove_of_intent(&self, id: &str) -> Vec<String> {
        let mut removed = Vec::new();
        for r in self
            .list()
            .into_iter()
            .filter(|r| !id.is_empty() && r.intent == id)
        {
            let _ = std::fs::remove_file(self.archive_path(&r.id));
            if std::fs::remove_file(self.record_path(&r.id)).is_ok() {
                removed.push(r.id);
            }
        }
        removed
    }

    /// Verifies `id`'s checksum, then unpacks its volumes into `staging` (which must not
    /// exist) and returns its spec. Blocking. Nothing is written when anything is wrong.
    pub fn unpack(
        &self,
        id: &str,
        staging: &Path,
    ) -> Result<(BackupRecord, PortableSpec), BackupError> {
        let record = self.get(id)?;
        let path = self.archive_path(id);
        let actual = sha256_file(&path).map_err(|_| BackupError::NotFound(id.to_owned()))?;
        if actual != record.sha256 {
            return Err(BackupError::Checksum {
                id: id.to_owned(),
                expected: record.sha256,
                actual,
            });
        }
        let gz = flate2::read::GzDecoder::new(BufReader::new(File::open(&path)?));
        let mut spec_json = None;
        archive::unpack_safely(gz, staging, Some(VOLUMES_ENTRY), |p, r| {
            if p == Path::new(SPEC_ENTRY) {
                let mut buf = Vec::new();
                r.take(1024 * 1024).read_to_end(&mut buf)?;
                spec_json = Some(buf);
                Ok(())
            } else {
                Err(ArchiveError::Unsafe {
                    entry: p.display().to_string(),
                    why: "is not part of a fleetdeck backup".into(),
                })
            }
        })?;
        let spec = spec_json
            .and_then(|j| serde_json::from_slice::<PortableSpec>(&j).ok())
            .ok_or_else(|| {
                let _ = std::fs::remove_dir_all(staging);
                BackupError::NoSpec(id.to_owned())
            })?;
        Ok((record, spec))
    }
}
