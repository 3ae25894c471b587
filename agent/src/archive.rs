//! Tar streams of volume data: packing a directory, and unpacking one safely. Unpacking
//! refuses any entry that could land outside its target directory (absolute paths, `..`,
//! symbolic or hard links, devices) and writes into a staging directory first, so a refused
//! archive leaves nothing behind.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why an archive was refused or could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An entry would escape the target directory or is of a refused kind.
    #[error("archive refused: entry `{entry}` {why}; nothing was written")]
    Unsafe {
        /// The entry's path as stored.
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Reading or writing failed.
    #[error("archive: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks an entry path and returns it relative to the target; `None` for the root itself.
pub fn safe_relative(raw: &[u8]) -> Result<Option<PathBuf>, ArchiveError> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let unsafe_entry = |why| ArchiveError::Unsafe {
        entry: text.clone(),
        why,
    };
    let path = Path::new(text.as_str());
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry("contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry("is an absolute path"));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
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

/// Unpacks the tar read from `input` into `dest` (which must not exist yet), keeping only
/// entries under `keep` (e.g. `volumes/`, with that prefix stripped) and passing the others
/// to `other` (e.g. `spec.json`). On any error `dest` is removed again.
pub fn unpack_safely<R: Read>(
    input: R,
    dest: &Path,
    keep: Option<&str>,
    mut other: impl FnMut(&Path, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<Unpacked, ArchiveError> {
    std::fs::create_dir_all(dest)?;
    let result = unpack_into(input, dest, keep, &mut other);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

fn unpack_into<R: Read>(
    input: R,
    dest: &Path,
    keep: Option<&str>,
    other: &mut dyn FnMut(&Path, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<Unpacked, ArchiveError> {
    let mut archive = tar::Archive::new(input);
    let mut done = Unpacked::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path_bytes().into_owned();
        let Some(rel) = safe_relative(&raw)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        let refuse = |why| ArchiveError::Unsafe {
            entry: String::from_utf8_lossy(&raw).into_owned(),
            why,
        };
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refuse("is a link"));
        }
        if !(kind.is_file() || kind.is_dir()) {
            return Err(refuse("is neither a file nor a directory"));
        }
        let rel = match keep {
            None => rel,
            Some(prefix) => match rel.strip_prefix(prefix) {
                Ok(r) if r.as_os_str().is_empty() => continue,
                Ok(r) => r.to_path_buf(),
                Err(_) => {
                    other(&rel, &mut entry)?;
                    continue;
                }
            },
        };
        let target = dest.join(&rel);
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&target)?;
        done.bytes += std::io::copy(&mut entry, &mut file)?;
        done.files += 1;
    }
    Ok(done)
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
mod tests {
    use super::*;

    fn raw_tar(name: &[u8], kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        {
            let old = header.as_old_mut();
            old.name[..name.len()].copy_from_slice(name);
        }
        header.set_entry_type(kind);
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        if kind.is_symlink() {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        let mut out = Vec::new();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out.extend_from_slice(&[0; 1024]);
        out
    }

    #[test]
    fn refuses_escapes_and_links_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, kind, why) in [
            (&b"../evil"[..], tar::EntryType::Regular, "`..`"),
            (b"a/../../evil", tar::EntryType::Regular, "`..`"),
            (b"/tmp/evil", tar::EntryType::Regular, "absolute"),
            (b"link", tar::EntryType::Symlink, "link"),
            (b"hard", tar::EntryType::Link, "link"),
            (b"fifo", tar::EntryType::Fifo, "neither"),
        ] {
            let dest = tmp.path().join("dest");
            let tar = raw_tar(name, kind, b"x");
            let err = unpack_safely(&tar[..], &dest, None, |_, _| Ok(())).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
            assert!(!dest.exists(), "nothing is left behind");
        }
        assert!(!tmp.path().join("evil").exists());
    }

    #[test]
    fn packs_and_unpacks_a_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("v1/sub")).unwrap();
        std::fs::write(src.join("v1/sub/f"), b"hello").unwrap();
        let mut b = tar::Builder::new(Vec::new());
        pack_dir(&mut b, &src, "volumes").unwrap();
        let data = b.into_inner().unwrap();
        let dest = tmp.path().join("dest");
        let mut others = Vec::new();
        let done = unpack_safely(&data[..], &dest, Some("volumes"), |p, _| {
            others.push(p.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert_eq!(done, Unpacked { bytes: 5, files: 1 });
        assert_eq!(std::fs::read(dest.join("v1/sub/f")).unwrap(), b"hello");
        assert!(others.is_empty());
    }
}
