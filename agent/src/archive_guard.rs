//! Checks a backup archive (a tar stream) before anything is restored from it: only plain
//! files and directories, every path relative and inside the target directory, sizes
//! bounded, the stream complete (ends with tar's end-of-archive block), and its SHA-256 the
//! one recorded when the backup was made. Nothing is written; a restore unpacks only what
//! [`check`] accepted, joining paths with [`safe_join`].

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Tar's block size; an archive ends with zero blocks.
const BLOCK_BYTES: usize = 512;

/// Bounds on what an archive may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most entries.
    pub max_entries: usize,
    /// Largest single file, bytes.
    pub max_entry_bytes: u64,
    /// Largest archive, bytes (the whole stream).
    pub max_total_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_entry_bytes: 64 * 1024 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024 * 1024,
        }
    }
}

/// Kind of an accepted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One accepted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedEntry {
    /// Relative path, normal components only.
    pub path: PathBuf,
    /// File or directory.
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
}

/// Why an archive is refused; each says which entry and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArchiveError {
    /// A path leaves the target (`..`, absolute, drive prefix) or is empty.
    #[error("entry `{0}` escapes the target directory; the archive is not safe to restore")]
    Escapes(String),
    /// Links, devices, fifos and other special entries.
    #[error("entry `{path}` is a {kind}; backups hold only files and directories")]
    Special {
        /// The entry.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A path with control characters.
    #[error("entry `{0}` has control characters in its name")]
    BadName(String),
    /// Too many entries or bytes.
    #[error("archive is too large: {0}")]
    TooLarge(String),
    /// The stream ended early or is not tar.
    #[error("archive is truncated or corrupt: {0}; take the backup again")]
    Corrupt(String),
    /// The checksum differs from the recorded one.
    #[error(
        "archive checksum is {actual}, expected {expected}: the archive was changed or damaged"
    )]
    Checksum {
        /// Recorded.
        expected: String,
        /// Computed.
        actual: String,
    },
}

/// Counts, hashes and remembers the trailing zero run of everything read through it.
struct Tap<R> {
    inner: R,
    hash: Sha256,
    total: u64,
    trailing_zeros: usize,
    limit: u64,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        self.hash.update(got);
        self.total += n as u64;
        if self.total > self.limit {
            return Err(std::io::Error::other("archive larger than allowed"));
        }
        match got.iter().rposition(|b| *b != 0) {
            Some(i) => self.trailing_zeros = n - i - 1,
            None => self.trailing_zeros += n,
        }
        Ok(n)
    }
}

fn shown(p: &[u8]) -> String {
    String::from_utf8_lossy(p)
        .escape_debug()
        .take(200)
        .collect()
}

/// The entry path as a clean relative path, or why not.
fn relative(raw: &[u8]) -> Result<PathBuf, ArchiveError> {
    let text = std::str::from_utf8(raw).map_err(|_| ArchiveError::BadName(shown(raw)))?;
    if text.chars().any(char::is_control) {
        return Err(ArchiveError::BadName(shown(raw)));
    }
    let mut clean = PathBuf::new();
    for c in Path::new(text).components() {
        match c {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::Escapes(shown(raw)));
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(ArchiveError::Escapes(shown(raw)));
    }
    Ok(clean)
}

/// `target` joined with an entry path [`check`] accepted; refuses anything that would not
/// stay inside `target`.
pub fn safe_join(target: &Path, entry: &Path) -> Result<PathBuf, ArchiveError> {
    let clean = relative(entry.as_os_str().as_encoded_bytes())?;
    Ok(target.join(clean))
}

fn special(kind: tar::EntryType) -> Option<&'static str> {
    use tar::EntryType as T;
    match kind {
        T::Regular | T::Continuous | T::Directory => None,
        T::Symlink => Some("symbolic link"),
        T::Link => Some("hard link"),
        T::Char => Some("character device"),
        T::Block => Some("block device"),
        T::Fifo => Some("fifo"),
        _ => Some("special entry"),
    }
}

/// Reads the whole archive from `reader` and checks it; `expected_sha256` (lower-case hex)
/// is compared with the SHA-256 of every byte of the stream.
pub fn check<R: Read>(
    reader: R,
    expected_sha256: Option<&str>,
    limits: ArchiveLimits,
) -> Result<Vec<CheckedEntry>, ArchiveError> {
    let corrupt = |e: std::io::Error| {
        if e.to_string().contains("larger than allowed") {
            ArchiveError::TooLarge(format!("more than {} bytes", limits.max_total_bytes))
        } else {
            ArchiveError::Corrupt(e.to_string())
        }
    };
    let mut archive = tar::Archive::new(Tap {
        inner: reader,
        hash: Sha256::new(),
        total: 0,
        trailing_zeros: 0,
        limit: limits.max_total_bytes,
    });
    let mut accepted = Vec::new();
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        if accepted.len() >= limits.max_entries {
            return Err(ArchiveError::TooLarge(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        if let Some(what) = special(kind) {
            return Err(ArchiveError::Special {
                path: shown(&raw),
                kind: what,
            });
        }
        let path = relative(&raw)?;
        let size = entry.header().size().map_err(corrupt)?;
        if size > limits.max_entry_bytes {
            return Err(ArchiveError::TooLarge(format!(
                "entry `{}` has {size} bytes",
                shown(&raw)
            )));
        }
        // Read the data so a short stream is caught here, not half-way through a restore.
        let copied = std::io::copy(&mut entry, &mut std::io::sink()).map_err(corrupt)?;
        if copied != size {
            return Err(ArchiveError::Corrupt(format!(
                "entry `{}` ends after {copied} of {size} bytes",
                shown(&raw)
            )));
        }
        let kind = if kind.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        accepted.push(CheckedEntry { path, kind, size });
    }
    let mut tap = archive.into_inner();
    // Whatever follows the end block counts towards the checksum too.
    std::io::copy(&mut tap, &mut std::io::sink()).map_err(corrupt)?;
    if tap.trailing_zeros < BLOCK_BYTES || tap.total % BLOCK_BYTES as u64 != 0 {
        return Err(ArchiveError::Corrupt(
            "it does not end with tar's end-of-archive block".into(),
        ));
    }
    let actual: String = tap
        .hash
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Some(expected) = expected_sha256
        && !expected.eq_ignore_ascii_case(&actual)
    {
        return Err(ArchiveError::Checksum {
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(accepted)
}

#[cfg(test)]
#[path = "archive_guard_tests.rs"]
mod tests;
