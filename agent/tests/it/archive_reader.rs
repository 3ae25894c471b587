//! The backup restore's unpacker (`archive::unpack_safely`) against hostile archives:
//! property tests that nothing it accepts lands outside the target or as a link, whatever
//! the entry names and kinds, and that a refused archive leaves nothing behind.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use fleetdeck_agent::backup::archive::unpack_safely;
use proptest::prelude::*;

fn header(name: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    if kind == tar::EntryType::Symlink {
        h.set_link_name("/etc/passwd").unwrap();
    }
    h.set_cksum();
    h
}

fn archive(entries: &[(Vec<u8>, tar::EntryType)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind) in entries {
        let data: &[u8] = if *kind == tar::EntryType::Regular {
            b"data"
        } else {
            b""
        };
        b.append(&header(name, *kind, data.len() as u64), data)
            .unwrap();
    }
    b.into_inner().unwrap()
}

fn only_plain_inside(root: &Path, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        assert!(!meta.file_type().is_symlink(), "{:?}", e.path());
        assert!(e.path().starts_with(root));
        if meta.is_dir() {
            only_plain_inside(root, &e.path());
        }
    }
}

fn kind() -> impl Strategy<Value = tar::EntryType> {
    prop_oneof![
        4 => Just(tar::EntryType::Regular),
        1 => Just(tar::EntryType::Directory),
        1 => Just(tar::EntryType::Symlink),
        1 => Just(tar::EntryType::Link),
        1 => Just(tar::EntryType::Char),
        1 => Just(tar::EntryType::Block),
        1 => Just(tar::EntryType::Fifo),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hostile_archives_never_escape(
        entries in proptest::collection::vec(
            ("[a-z]{1,3}|\\.\\.|/|\\./|;|\\$\\(x\\)", kind()).prop_map(|(n, k)| (n, k)),
            1..6,
        ),
        prefix in "[a-z]{0,2}(/\\.\\.){0,2}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        let entries: Vec<(Vec<u8>, tar::EntryType)> = entries
            .into_iter()
            .map(|(n, k)| (format!("{prefix}{n}").into_bytes(), k))
            .filter(|(n, _)| n.len() < 100)
            .collect();
        let bytes = archive(&entries);
        let result = unpack_safely(&bytes[..], &dest, None, |_, _| Ok(()));
        if result.is_err() {
            prop_assert!(!dest.exists(), "a refused archive leaves nothing");
        } else {
            only_plain_inside(&dest, &dest);
        }
        let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        prop_assert!(beside.iter().all(|n| n == "dest"), "{beside:?}");
    }

    #[test]
    fn arbitrary_bytes_never_escape(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        if unpack_safely(&bytes[..], &dest, None, |_, _| Ok(())).is_ok() {
            only_plain_inside(&dest, &dest);
        }
    }
}

#[test]
fn truncated_archives_fail_and_leave_nothing() {
    let bytes = archive(&[
        (b"a".to_vec(), tar::EntryType::Regular),
        (b"b".to_vec(), tar::EntryType::Regular),
    ]);
    // Cut inside the second entry's data.
    let cut = 512 * 3 + 2;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let r = unpack_safely(&bytes[..cut], &dest, None, |_, _| Ok(()));
    assert!(r.is_err(), "{r:?}");
    assert!(!dest.exists());
}
