//! Tar streams of volume data: packing a directory, and the one reader every archive goes
//! through before anything of it lands on disk (backup restore, volume transfer, and
//! [`check`] for a dry look).
//!
//! The reader accepts only plain files and directories whose paths are relative and stay
//! inside the target (no absolute paths, no `..`, no control characters), within size
//! limits; it reads every entry to its declared length, so a short stream is caught, wants
//! tar's end-of-archive block, and compares the SHA-256 of every byte read when one is
//! given. Unpacking writes into a fresh staging directory and removes it again on any
//! refusal, so a refused archive leaves nothing behind.

use std::borrow::Cow;
use std::io::{Read, Write};
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

/// Why an archive was refused or could not be handled; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An entry would escape the target, has a refused name, or is of a refused kind.
    #[error("archive refused: entry `{entry}` {why}; nothing was written")]
    Unsafe {
        /// The entry's path as stored (escaped, at most 200 characters).
        entry: String,
        /// What is wrong with it.
        why: Cow<'static, str>,
    },
    /// Too many entries or bytes.
    #[error("archive refused: it is too large ({0}); nothing was written")]
    TooLarge(String),
    /// The stream ended early or is not tar.
    #[error("archive is truncated or corrupt: {0}; nothing was written")]
    Corrupt(String),
    /// The checksum differs from the recorded one.
    #[error(
        "archive checksum is {actual}, expected {expected}: the archive was changed or damaged; nothing was written"
    )]
    Checksum {
        /// Recorded.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// Writing the unpacked data failed.
    #[error("archive: {0}")]
    Io(#[from] std::io::Error),
}

impl ArchiveError {
    /// True when the archive itself is at fault (not the disk it is written to).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ArchiveError::Io(_))
    }

    fn entry(raw: &[u8], why: impl Into<Cow<'static, str>>) -> Self {
        ArchiveError::Unsafe {
            entry: shown(raw),
            why: why.into(),
        }
    }
}

/// Counts, hashes and remembers the trailing zero run of everything read through it.
struct Tap<R> {
    inner: R,
    hash: Sha256,
    total: u64,
    trailing_zeros: u64,
    limit: u64,
    over_limit: bool,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        self.hash.update(got);
        self.total += n as u64;
        if self.total > self.limit {
            self.over_limit = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "archive larger than allowed",
            ));
        }
        match got.iter().rposition(|b| *b != 0) {
            Some(i) => self.trailing_zeros = (n - i - 1) as u64,
            None => self.trailing_zeros += n as u64,
        }
        Ok(n)
    }
}

/// Counts what a callback reads of an entry.
struct Counted<'a, R> {
    inner: &'a mut R,
    read: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

fn shown(p: &[u8]) -> String {
    String::from_utf8_lossy(p)
        .escape_debug()
        .take(200)
        .collect()
}

/// The entry path as a clean relative path (`None` for the root itself), or why not.
pub fn safe_relative(raw: &[u8]) -> Result<Option<PathBuf>, ArchiveError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| ArchiveError::entry(raw, "has a name that is not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(ArchiveError::entry(
            raw,
            "has control characters in its name",
        ));
    }
    let mut clean = PathBuf::new();
    for c in Path::new(text).components() {
        match c {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(ArchiveError::entry(raw, "contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::entry(raw, "is an absolute path"));
            }
        }
    }
    Ok((!clean.as_os_str().is_empty()).then_some(clean))
}

/// `target` joined with an entry path; refuses anything that would not stay inside it.
pub fn safe_join(target: &Path, entry: &Path) -> Result<PathBuf, ArchiveError> {
    let raw = entry.as_os_str().as_encoded_bytes();
    match safe_relative(raw)? {
        Some(clean) => Ok(target.join(clean)),
        None => Err(ArchiveError::entry(raw, "names no file")),
    }
}

fn special(kind: tar::EntryType) -> Option<&'static str> {
    use tar::EntryType as T;
    match kind {
        T::Regular | T::Continuous | T::Directory => None,
        T::Symlink => Some("is a symbolic link"),
        T::Link => Some("is a hard link"),
        T::Char => Some("is a character device"),
        T::Block => Some("is a block device"),
        T::Fifo => Some("is a fifo"),
        _ => Some("is neither a file nor a directory"),
    }
}

/// Writes a tar of everything under `dir` (paths relative to it, under `prefix`) to `out`.
pub fn pack_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
) -> std::io::Result<()> {
    builder.follow_symlinks(false);
    if dir.exists() {
        builder.append_dir_all(prefix, dir)?;
    }
    Ok(())
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Bytes of file data.
    pub bytes: u64,
    /// Regular files.
    pub files: u32,
}

/// How to read one archive.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// Keep only entries under this folder (prefix stripped); others go to the callback.
    pub keep: Option<&'a str>,
    /// SHA-256 (hex) the whole stream must have.
    pub expected_sha256: Option<&'a str>,
    /// Size bounds.
    pub limits: ArchiveLimits,
}

/// Callback for entries outside `keep`: their path and data.
pub type OtherEntry<'f> = dyn FnMut(&Path, &mut dyn Read) -> Result<(), ArchiveError> + 'f;

/// Checks the archive read from `input` without writing anything and lists what it holds.
pub fn check<R: Read>(
    input: R,
    expected_sha256: Option<&str>,
    limits: ArchiveLimits,
) -> Result<Vec<CheckedEntry>, ArchiveError> {
    let opts = ReadOptions {
        keep: None,
        expected_sha256,
        limits,
    };
    let mut listed = Vec::new();
    read_archive(input, None, opts, &mut |_, _| Ok(()), &mut listed)?;
    Ok(listed)
}

/// Unpacks the tar read from `input` into `dest` (which must not exist yet), keeping only
/// entries under `keep` (e.g. `volumes/`, with that prefix stripped) and passing the others
/// to `other` (e.g. `spec.json`). Default limits, no checksum. On any error `dest` is removed
/// again.
pub fn unpack_safely<R: Read>(
    input: R,
    dest: &Path,
    keep: Option<&str>,
    mut other: impl FnMut(&Path, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<Unpacked, ArchiveError> {
    let opts = ReadOptions {
        keep,
        ..ReadOptions::default()
    };
    unpack_checked(input, dest, opts, &mut other)
}

/// [`unpack_safely`] with every option: limits and the checksum the stream must have.
pub fn unpack_checked<R: Read>(
    input: R,
    dest: &Path,
    opts: ReadOptions<'_>,
    other: &mut OtherEntry<'_>,
) -> Result<Unpacked, ArchiveError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // Not create_dir_all: an existing directory would be emptied on a refusal.
    std::fs::create_dir(dest)?;
    let result = read_archive(input, Some(dest), opts, other, &mut Vec::new());
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

/// The one reader: checks every entry, writes accepted ones under `dest` when given, and
/// lists them in `listed`.
fn read_archive<R: Read>(
    input: R,
    dest: Option<&Path>,
    opts: ReadOptions<'_>,
    other: &mut OtherEntry<'_>,
    listed: &mut Vec<CheckedEntry>,
) -> Result<Unpacked, ArchiveError> {
    let limits = opts.limits;
    let mut archive = tar::Archive::new(Tap {
        inner: input,
        hash: Sha256::new(),
        total: 0,
        trailing_zeros: 0,
        limit: limits.max_total_bytes,
        over_limit: false,
    });
    let too_large =
        || ArchiveError::TooLarge(format!("more than {} bytes", limits.max_total_bytes));
    let mut done = Unpacked::default();
    let mut seen = 0_usize;
    let entries = archive.entries().map_err(|e| read_error(e, b""))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| read_error(e, b""))?;
        seen += 1;
        if seen > limits.max_entries {
            return Err(ArchiveError::TooLarge(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        if let Some(what) = special(kind) {
            return Err(ArchiveError::entry(&raw, what));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        if size > limits.max_entry_bytes {
            return Err(ArchiveError::TooLarge(format!(
                "entry `{}` has {size} bytes",
                shown(&raw)
            )));
        }
        let rel = match safe_relative(&raw)? {
            Some(rel) => rel,
            None if kind.is_dir() => PathBuf::new(),
            None => return Err(ArchiveError::entry(&raw, "names no file")),
        };
        let is_dir = kind.is_dir();
        let placed = match opts.keep {
            None => Some(rel.clone()),
            Some(prefix) => match rel.strip_prefix(prefix) {
                Ok(r) => Some(r.to_path_buf()),
                Err(_) if rel.as_os_str().is_empty() => Some(PathBuf::new()),
                Err(_) => None,
            },
        };
        // Every entry is read to its declared length, so a short stream is caught here.
        let copied = match (&placed, dest) {
            (None, _) => {
                let mut counted = Counted {
                    inner: &mut entry,
                    read: 0,
                };
                other(&rel, &mut counted)?;
                let rest = std::io::copy(&mut counted, &mut std::io::sink());
                rest.map_err(|e| read_error(e, &raw))?;
                counted.read
            }
            (Some(p), Some(d)) if !p.as_os_str().is_empty() => {
                let target = d.join(p);
                if is_dir {
                    std::fs::create_dir_all(&target)?;
                    std::io::copy(&mut entry, &mut std::io::sink())
                        .map_err(|e| read_error(e, &raw))?
                } else {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    let mut file = std::fs::File::create(&target)?;
                    let n = copy_entry(&mut entry, &mut file, &raw)?;
                    done.bytes += n;
                    done.files += 1;
                    n
                }
            }
            _ => {
                std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| read_error(e, &raw))?
            }
        };
        if copied != size {
            return Err(ArchiveError::Corrupt(format!(
                "entry `{}` ends after {copied} of {size} bytes",
                shown(&raw)
            )));
        }
        if !rel.as_os_str().is_empty() {
            listed.push(CheckedEntry {
                path: rel,
                kind: if is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                },
                size,
            });
        }
    }
    let mut tap = archive.into_inner();
    // Whatever follows the end block counts towards the checksum too.
    if std::io::copy(&mut tap, &mut std::io::sink()).is_err() || tap.over_limit {
        return Err(if tap.over_limit {
            too_large()
        } else {
            ArchiveError::Corrupt("the stream broke after the last entry".into())
        });
    }
    if tap.trailing_zeros < BLOCK_BYTES as u64 || tap.total % BLOCK_BYTES as u64 != 0 {
        return Err(ArchiveError::Corrupt(
            "it does not end with tar's end-of-archive block".into(),
        ));
    }
    let actual = crate::backup::hex(&tap.hash.finalize());
    if let Some(expected) = opts.expected_sha256
        && !expected.eq_ignore_ascii_case(&actual)
    {
        return Err(ArchiveError::Checksum {
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(done)
}

/// Copies an entry's data into a file, telling read failures (the archive's fault) from
/// write failures (the disk's).
fn copy_entry(
    entry: &mut impl Read,
    file: &mut std::fs::File,
    raw: &[u8],
) -> Result<u64, ArchiveError> {
    let mut buf = vec![0_u8; 64 * 1024];
    let mut total = 0_u64;
    loop {
        let n = entry.read(&mut buf).map_err(|e| read_error(e, raw))?;
        if n == 0 {
            return Ok(total);
        }
        file.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn read_error(e: std::io::Error, raw: &[u8]) -> ArchiveError {
    match (e.kind(), raw.is_empty()) {
        (std::io::ErrorKind::FileTooLarge, _) => ArchiveError::TooLarge(e.to_string()),
        (_, true) => ArchiveError::Corrupt(e.to_string()),
        (_, false) => ArchiveError::Corrupt(format!("reading entry `{}`: {e}", shown(raw))),
    }
}

/// Replaces the contents of `dir` with those of `staged` (both on one file system): the old
/// contents move aside, the new ones in, then the old ones go.
pub fn swap_in(staged: &Path, dir: &Path) -> std::io::Result<()> {
    let old = dir.with_extension("old");
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    if let Err(e) = std::fs::rename(staged, dir) {
        // Put the old data back so a failed swap changes nothing.
        if old.exists() {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(e);
    }
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
