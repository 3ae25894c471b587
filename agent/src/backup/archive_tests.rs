use super::*;
use proptest::prelude::*;

/// A header whose name is written raw (tar's builder refuses `..`, which is the point).
fn header(name: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

fn archive(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let h = header(name, *kind, data.len() as u64);
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(bytes: &[u8], sum: Option<&str>) -> Result<Vec<CheckedEntry>, ArchiveError> {
    check(bytes, sum, ArchiveLimits::default())
}

const F: tar::EntryType = tar::EntryType::Regular;

#[test]
fn a_good_archive_passes_with_its_checksum() {
    let bytes = archive(&[
        (b"config.json", F, b"{}"),
        (b"volumes/data/", tar::EntryType::Directory, b""),
        (b"./volumes/data/a.txt", F, b"hello"),
    ]);
    let entries = run(&bytes, Some(&sha(&bytes))).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2].path, PathBuf::from("volumes/data/a.txt"));
    assert_eq!(entries[2].size, 5);
    assert_eq!(entries[1].kind, EntryKind::Dir);
    assert!(run(&bytes, None).is_ok());
}

#[test]
fn traversal_and_absolute_paths_are_refused() {
    for name in [
        &b"../etc/passwd"[..],
        b"a/../../b",
        b"/etc/shadow",
        b"..",
        b"./",
    ] {
        let bytes = archive(&[(name, F, b"x")]);
        let e = run(&bytes, None).unwrap_err();
        assert!(matches!(e, ArchiveError::Unsafe { .. }), "{name:?}: {e}");
    }
    let e = run(&archive(&[(b"a\nb", F, b"x")]), None).unwrap_err();
    assert!(e.to_string().contains("control characters"), "{e}");
    let e = run(&archive(&[(b"\xff\xfe", F, b"x")]), None).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

#[test]
fn links_devices_and_fifos_are_refused() {
    use tar::EntryType as T;
    for (kind, what) in [
        (T::Symlink, "symbolic link"),
        (T::Link, "hard link"),
        (T::Char, "character device"),
        (T::Block, "block device"),
        (T::Fifo, "fifo"),
    ] {
        let e = run(&archive(&[(b"data/x", kind, b"")]), None).unwrap_err();
        assert!(
            matches!(&e, ArchiveError::Unsafe { entry, why } if entry == "data/x" && why.contains(what)),
            "{e}"
        );
    }
}

#[test]
fn a_wrong_checksum_is_refused() {
    let bytes = archive(&[(b"a", F, b"one")]);
    let e = run(&bytes, Some(&sha(b"something else"))).unwrap_err();
    assert!(matches!(e, ArchiveError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("changed or damaged"));
}

#[test]
fn truncated_archives_are_refused_wherever_they_are_cut() {
    let bytes = archive(&[(b"a", F, &[7u8; 3000]), (b"b", F, b"tail")]);
    for cut in [
        0,
        100,
        512,
        700,
        2048,
        4096,
        bytes.len() - 1024,
        bytes.len() - 1,
    ] {
        let e = run(&bytes[..cut], None);
        assert!(
            matches!(e, Err(ArchiveError::Corrupt(_))),
            "cut at {cut} of {}: {e:?}",
            bytes.len()
        );
    }
    let mut junk = bytes.clone();
    junk.extend_from_slice(b"trailing junk");
    assert!(run(&junk, None).is_err());
}

#[test]
fn limits_are_enforced() {
    let bytes = archive(&[(b"a", F, b"1"), (b"b", F, b"22")]);
    let small = ArchiveLimits {
        max_entries: 1,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        check(&bytes[..], None, small),
        Err(ArchiveError::TooLarge(_))
    ));
    let tiny_entry = ArchiveLimits {
        max_entry_bytes: 1,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        check(&bytes[..], None, tiny_entry),
        Err(ArchiveError::TooLarge(_))
    ));
    let tiny = ArchiveLimits {
        max_total_bytes: 600,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        check(&bytes[..], None, tiny),
        Err(ArchiveError::TooLarge(_))
    ));
}

#[test]
fn safe_join_stays_inside() {
    let t = Path::new("/restore/x");
    assert_eq!(safe_join(t, Path::new("a/./b")).unwrap(), t.join("a/b"));
    assert!(safe_join(t, Path::new("../b")).is_err());
    assert!(safe_join(t, Path::new("/b")).is_err());
}

proptest! {
    #[test]
    fn any_bytes_are_refused_or_safe(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(entries) = run(&bytes, None) {
            for e in entries {
                prop_assert!(e.path.components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }

    #[test]
    fn accepted_names_always_land_inside_the_target(
        parts in proptest::collection::vec("[a-z.]{1,4}|\\.\\.|/|\\x00|;|\\$\\(x\\)", 1..6)
    ) {
        let name = parts.concat();
        let name = name.as_bytes();
        prop_assume!(name.len() < 100 && !name.contains(&0));
        let bytes = archive(&[(name, F, b"x")]);
        if let Ok(entries) = run(&bytes, Some(&sha(&bytes))) {
            let target = Path::new("/restore/t");
            for e in entries {
                let joined = safe_join(target, &e.path).unwrap();
                prop_assert!(joined.starts_with(target));
                prop_assert!(!joined.components().any(|c| c == Component::ParentDir));
            }
        }
    }

    #[test]
    fn any_single_byte_change_is_caught_by_the_checksum(pos in 0usize..3072, flip in 1u8..=255) {
        let bytes = archive(&[(b"a", F, &[1u8; 1000])]);
        let sum = sha(&bytes);
        let mut bad = bytes.clone();
        let i = pos % bad.len();
        bad[i] ^= flip;
        prop_assert!(run(&bad, Some(&sum)).is_err());
    }
}

fn raw_tar(name: &[u8], kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
    let mut h = header(name, kind, body.len() as u64);
    if kind.is_symlink() {
        h.set_link_name("/etc/passwd").unwrap();
        h.set_cksum();
    }
    let mut out = Vec::new();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0; 1024]);
    out
}

#[test]
fn unpack_refuses_escapes_and_links_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, kind, why) in [
        (&b"../evil"[..], tar::EntryType::Regular, "`..`"),
        (b"a/../../evil", tar::EntryType::Regular, "`..`"),
        (b"/tmp/evil", tar::EntryType::Regular, "absolute"),
        (b"link", tar::EntryType::Symlink, "link"),
        (b"hard", tar::EntryType::Link, "link"),
        (b"fifo", tar::EntryType::Fifo, "fifo"),
        (b"dev", tar::EntryType::Block, "device"),
    ] {
        let dest = tmp.path().join("dest");
        let tar = raw_tar(name, kind, b"x");
        let err = unpack_safely(&tar[..], &dest, None, |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
        assert!(err.to_string().contains("nothing was written"), "{err}");
        assert!(!dest.exists(), "nothing is left behind");
    }
    assert!(!tmp.path().join("evil").exists());
}

#[test]
fn unpack_refuses_a_wrong_checksum_and_a_truncated_stream_after_writing_files() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = archive(&[(b"a", F, b"one"), (b"b", F, &[9u8; 2000])]);
    let dest = tmp.path().join("dest");
    let opts = ReadOptions {
        expected_sha256: Some(&"0".repeat(64)),
        ..ReadOptions::default()
    };
    let e = unpack_checked(&bytes[..], &dest, opts, &mut |_, _| Ok(())).unwrap_err();
    assert!(matches!(e, ArchiveError::Checksum { .. }), "{e}");
    assert!(
        !dest.exists(),
        "files written before the checksum was known are gone"
    );
    // Cut in b's data: a's file was already written, and is removed again.
    let e = unpack_safely(&bytes[..1024 + 512 + 100], &dest, None, |_, _| Ok(())).unwrap_err();
    assert!(matches!(e, ArchiveError::Corrupt(_)), "{e}");
    assert!(!dest.exists());
    // The right checksum passes.
    let sum = sha(&bytes);
    let opts = ReadOptions {
        expected_sha256: Some(&sum),
        ..ReadOptions::default()
    };
    let done = unpack_checked(&bytes[..], &dest, opts, &mut |_, _| Ok(())).unwrap();
    assert_eq!(
        done,
        Unpacked {
            bytes: 2003,
            files: 2
        }
    );
}

#[test]
fn unpack_never_empties_an_existing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep"), b"mine").unwrap();
    let bad = raw_tar(b"../evil", F, b"x");
    assert!(unpack_safely(&bad[..], &dest, None, |_, _| Ok(())).is_err());
    assert_eq!(std::fs::read(dest.join("keep")).unwrap(), b"mine");
}

#[test]
fn packs_and_unpacks_a_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("v1/sub")).unwrap();
    std::fs::write(src.join("v1/sub/f"), b"hello").unwrap();
    for (prefix, keep) in [("volumes", Some("volumes")), (".", None)] {
        let mut b = tar::Builder::new(Vec::new());
        pack_dir(&mut b, &src, prefix).unwrap();
        let data = b.into_inner().unwrap();
        let dest = tmp.path().join(format!("dest-{prefix}"));
        let mut others = Vec::new();
        let done = unpack_safely(&data[..], &dest, keep, |p, _| {
            others.push(p.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert_eq!(done, Unpacked { bytes: 5, files: 1 });
        assert_eq!(std::fs::read(dest.join("v1/sub/f")).unwrap(), b"hello");
        assert!(others.is_empty());
    }
}
