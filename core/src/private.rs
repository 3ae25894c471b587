//! Owner-only files and folders. The agent's and the console's state directories hold
//! container environments (often secrets), volume data, backups and audit trails, so what
//! either writes there is private from the moment it exists: the mode is given when a file
//! or folder is created, never changed afterwards, so there is no window in which another
//! user could open it. Folders an earlier version left open are tightened at start.
//!
//! Elsewhere than Unix these are the plain `std` calls.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of the folders the agent and the console create.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files the agent and the console create.
pub const FILE_MODE: u32 = 0o600;

/// Creates folder `path` and any missing parents, each owner-only; folders that exist keep
/// their mode.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(path)
}

/// Takes group and other access away from folder `path` when it has any. Returns the
/// permission bits it had then, `None` when it was private already.
pub fn tighten_dir(path: &Path) -> io::Result<Option<u32>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a folder",
            path.display()
        )));
    }
    tighten(path, &meta)
}

#[cfg(unix)]
fn tighten(path: &Path, meta: &std::fs::Metadata) -> io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let old = meta.permissions().mode() & 0o7777;
    if old & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(old & !0o077))?;
    Ok(Some(old))
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _meta: &std::fs::Metadata) -> io::Result<Option<u32>> {
    Ok(None)
}

/// Creates folder `path` owner-only, or tightens it when it exists open to others (one
/// warning naming it and both modes). A folder that cannot be tightened (not ours) is
/// warned about, not an error: what is written into it is private either way.
pub fn secure_dir(path: &Path) -> io::Result<()> {
    create_dir(path)?;
    match tighten_dir(path) {
        Ok(Some(old)) => tracing::warn!(
            "{} was open to other users (mode {old:o}); now {:o}",
            path.display(),
            old & !0o077
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            "cannot make {} private: {e}; other users may read it",
            path.display()
        ),
    }
    Ok(())
}

/// Open options that create files owner-only (0600); the caller adds write, append, create.
/// A file that exists already keeps its mode, so replace files with [`write_atomic`].
pub fn options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

/// Writes `bytes` to `path` whole: a new owner-only temp file beside it, synced, then
/// renamed over it. Readers never see half a file, the result is private even where an
/// older file was not, and concurrent writers (a console and a CLI command) never share a
/// temp file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    // Only a process that died with this one's id can have left this name.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let written = options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `<name>.<pid>-<n>.tmp` beside `path`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let mut tmp = name.to_os_string();
    tmp.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(path.with_file_name(tmp))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn created_folders_are_private_at_every_level_and_existing_ones_are_left() {
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&open.join("a/b")).unwrap();
        assert_eq!(
            mode(&open),
            0o755,
            "an existing folder is not create_dir's business"
        );
        assert_eq!(mode(&open.join("a")), 0o700);
        assert_eq!(mode(&open.join("a/b")), 0o700);
        create_dir(&open.join("a/b")).unwrap();
    }

    #[test]
    fn tightening_removes_group_and_other_bits_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(tighten_dir(&dir).unwrap(), Some(0o755));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(tighten_dir(&dir).unwrap(), None);
        secure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = root.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(tighten_dir(&file).is_err(), "a file is not a folder");
        assert!(tighten_dir(&root.path().join("missing")).is_err());
    }

    #[test]
    fn atomic_writes_replace_an_open_file_with_a_private_one() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("specs.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["specs.json"], "no temp file is left");
        assert!(write_atomic(&root.path().join("no/such/dir/x"), b"x").is_err());
    }

    #[test]
    fn options_create_private_files() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("audit.jsonl");
        let mut f = options().create(true).append(true).open(&path).unwrap();
        f.write_all(b"line\n").unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
