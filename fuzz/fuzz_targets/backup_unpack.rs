//! Any byte stream given to the archive reader as a restore runs it
//! (`archive::unpack_safely`), into a scratch directory: no panic, nothing lands outside it
//! or as a link, and a refused stream leaves nothing behind.
#![no_main]

use std::path::{Path, PathBuf};

use fleetdeck_agent::backup::archive::unpack_safely;
use libfuzzer_sys::fuzz_target;

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("fleetdeck-fuzz-unpack-{}", std::process::id()))
}

fn check_tree(root: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        assert!(!meta.file_type().is_symlink(), "a link was written: {path:?}");
        assert!(path.starts_with(root));
        if meta.is_dir() {
            check_tree(root, &path);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let base = scratch();
    let dest = base.join("dest");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("scratch dir");
    if unpack_safely(data, &dest, None, |_, _| Ok(())).is_ok() {
        check_tree(&dest, &dest);
    } else {
        assert!(!dest.exists(), "a refused archive left its staging directory");
    }
    // Nothing next to the destination either.
    for entry in std::fs::read_dir(&base).expect("scratch dir").flatten() {
        assert_eq!(entry.file_name(), "dest", "written outside: {:?}", entry.path());
    }
});
