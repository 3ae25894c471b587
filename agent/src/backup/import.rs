//! Receiving a backup sent by another node (restore on a node other than the one holding
//! it): the archive is written to a part file beside the registry while its SHA-256 is
//! computed, and it enters the registry (archive renamed, then its record written by
//! rename) only when size and checksum match what the sender announced. Anything else
//! removes the part file, so the registry never lists a backup that was not verified.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::backup::{BackupRecord, Registry, hex};
use crate::validate::shown;

/// Largest archive a node accepts from another (a guard against a sender that would fill
/// the disk; backups of fleetdeck containers are far smaller).
pub const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Why a received backup was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The announced record is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The node already holds a different backup under that id, or receives it now.
    #[error("{0}")]
    Conflict(String),
    /// The node already holds this very backup (same id and SHA-256): nothing to receive.
    #[error("this node already holds backup {}", shown(&.0.id))]
    AlreadyHeld(Box<BackupRecord>),
    /// The bytes do not match the announcement.
    #[error("{0}; nothing was kept")]
    Mismatch(String),
    /// File system trouble.
    #[error("receiving the backup: {0}; nothing was kept")]
    Io(#[from] std::io::Error),
}

/// A backup being received. Dropping it before [`Import::finish`] removes what was written.
pub struct Import {
    record: BackupRecord,
    registry: Registry,
    part: PathBuf,
    file: Option<BufWriter<File>>,
    hash: Sha256,
    bytes: u64,
    /// Set once the archive and its record are in the registry.
    kept: bool,
}

fn plain_hex64(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

impl Registry {
    /// Starts receiving `record` (as the sender announced it) into this registry, as held
    /// by `node_id` and copied from `from`. Blocking.
    pub fn begin_import(
        &self,
        mut record: BackupRecord,
        node_id: &str,
        from: &str,
    ) -> Result<Import, ImportError> {
        crate::validate::backup_id(&record.id).map_err(ImportError::Invalid)?;
        crate::validate::text("backup container", &record.container, 255, true)
            .map_err(ImportError::Invalid)?;
        crate::validate::text("backup service", &record.service, 255, false)
            .map_err(ImportError::Invalid)?;
        if !plain_hex64(&record.sha256) {
            return Err(ImportError::Invalid(format!(
                "backup {}: the announced SHA-256 is not 64 lower-case hex digits",
                shown(&record.id)
            )));
        }
        if record.size_bytes > MAX_IMPORT_BYTES {
            return Err(ImportError::Invalid(format!(
                "backup {} is {} bytes, more than the {MAX_IMPORT_BYTES} a node accepts from another",
                shown(&record.id),
                record.size_bytes
            )));
        }
        if let Ok(held) = self.get(&record.id) {
            if held.sha256 == record.sha256 {
                return Err(ImportError::AlreadyHeld(Box::new(held)));
            }
            return Err(ImportError::Conflict(format!(
                "this node holds another backup named {} (SHA-256 {}); nothing was changed",
                shown(&record.id),
                held.sha256
            )));
        }
        crate::private::create_dir(self.dir())?;
        let part = self.archive_path(&record.id).with_extension("incoming");
        // create_new: a second sender of the same id is refused instead of interleaved.
        let file = match crate::private::options()
            .write(true)
            .create_new(true)
            .open(&part)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ImportError::Conflict(format!(
                    "backup {} is being received already (or a transfer broke off: remove {})",
                    shown(&record.id),
                    part.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        node_id.clone_into(&mut record.node_id);
        record.copied_from = from.to_owned();
        Ok(Import {
            record,
            registry: self.clone(),
            part,
            file: Some(BufWriter::new(file)),
            hash: Sha256::new(),
            bytes: 0,
            kept: false,
        })
    }
}

impl Import {
    /// The record as it will be stored.
    pub fn record(&self) -> &BackupRecord {
        &self.record
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends `data`; refuses more bytes than announced. Blocking.
    pub fn write(&mut self, data: &[u8]) -> Result<(), ImportError> {
        let after = self.bytes + data.len() as u64;
        if after > self.record.size_bytes {
            return Err(ImportError::Mismatch(format!(
                "backup {} sent more than the {} bytes announced",
                shown(&self.record.id),
                self.record.size_bytes
            )));
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the archive is closed"))?;
        file.write_all(data)?;
        self.hash.update(data);
        self.bytes = after;
        Ok(())
    }

    /// Checks size and SHA-256, then moves the archive into the registry and writes its
    /// record. Blocking.
    pub fn finish(mut self) -> Result<BackupRecord, ImportError> {
        let id = self.record.id.clone();
        if self.bytes != self.record.size_bytes {
            return Err(ImportError::Mismatch(format!(
                "backup {} ended after {} of the {} bytes announced",
                shown(&id),
                self.bytes,
                self.record.size_bytes
            )));
        }
        let actual = hex(&std::mem::take(&mut self.hash).finalize());
        if actual != self.record.sha256 {
            return Err(ImportError::Mismatch(format!(
                "backup {} arrived with SHA-256 {actual}, the sender announced {}",
                shown(&id),
                self.record.sha256
            )));
        }
        if let Some(file) = self.file.take() {
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        let archive = self.registry.archive_path(&id);
        std::fs::rename(&self.part, &archive)?;
        let stored = serde_json::to_vec_pretty(&self.record)
            .map_err(std::io::Error::other)
            .and_then(|json| crate::private::write_atomic(&self.registry.record_path(&id), &json));
        if let Err(e) = stored {
            let _ = std::fs::remove_file(&archive);
            return Err(e.into());
        }
        self.kept = true;
        Ok(self.record.clone())
    }
}

impl Drop for Import {
    fn drop(&mut self) {
        // Not finished (refused, broken off, or failed while storing): nothing may stay.
        if !self.kept {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: &[u8]) -> BackupRecord {
        BackupRecord {
            id: "db-1-100".into(),
            container: "db-1".into(),
            container_id: "abc".into(),
            service: "db".into(),
            node_id: "n1".into(),
            created_unix_ms: 100,
            size_bytes: data.len() as u64,
            sha256: hex(&Sha256::digest(data)),
            copied_from: String::new(),
            intent: String::new(),
        }
    }

    fn files(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn a_matching_archive_enters_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().join("backups"));
        let data = b"archive bytes".repeat(1000);
        let mut import = reg.begin_import(record(&data), "n2", "n1").unwrap();
        for chunk in data.chunks(777) {
            import.write(chunk).unwrap();
        }
        let stored = import.finish().unwrap();
        assert_eq!(
            (stored.node_id.as_str(), stored.copied_from.as_str()),
            ("n2", "n1")
        );
        assert_eq!(reg.list(), vec![stored.clone()]);
        assert_eq!(std::fs::read(reg.archive_path(&stored.id)).unwrap(), data);
        let again = reg.begin_import(record(&data), "n2", "n1").err().unwrap();
        assert!(matches!(again, ImportError::AlreadyHeld(_)), "{again}");
        let mut other = record(b"other bytes");
        other.id = stored.id.clone();
        let clash = reg.begin_import(other, "n2", "n1").err().unwrap();
        assert!(matches!(clash, ImportError::Conflict(_)), "{clash}");
    }

    #[test]
    fn mismatch_oversize_and_bad_ids_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().join("backups"));
        let data = b"archive bytes".repeat(100);
        let mut corrupt = data.clone();
        corrupt[5] ^= 1;
        let mut import = reg.begin_import(record(&data), "n2", "n1").unwrap();
        import.write(&corrupt).unwrap();
        let e = import.finish().unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{e}");
        assert!(files(reg.dir()).is_empty(), "{:?}", files(reg.dir()));

        let mut import = reg.begin_import(record(&data), "n2", "n1").unwrap();
        import.write(&data).unwrap();
        assert!(import.write(b"x").is_err());
        drop(import);
        let mut import = reg.begin_import(record(&data), "n2", "n1").unwrap();
        import.write(&data[..10]).unwrap();
        assert!(
            import
                .finish()
                .unwrap_err()
                .to_string()
                .contains("ended after")
        );
        assert!(files(reg.dir()).is_empty(), "{:?}", files(reg.dir()));

        let mut big = record(&data);
        big.size_bytes = MAX_IMPORT_BYTES + 1;
        assert!(matches!(
            reg.begin_import(big, "n2", "n1"),
            Err(ImportError::Invalid(_))
        ));
        for id in ["../x", "a/b", ".hidden", ""] {
            let mut r = record(&data);
            r.id = id.into();
            assert!(
                matches!(
                    reg.begin_import(r, "n2", "n1"),
                    Err(ImportError::Invalid(_))
                ),
                "{id}"
            );
        }
        assert!(files(reg.dir()).is_empty());
    }
}
