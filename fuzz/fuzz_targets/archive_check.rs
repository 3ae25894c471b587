//! Any byte stream given to the archive reader's dry check (`archive::check`, the same
//! reader a restore unpacks through): no panic, no hang, and whatever it accepts stays
//! inside the target directory.
#![no_main]

use std::path::{Component, Path};

use fleetdeck_agent::backup::archive::{ArchiveLimits, check, safe_join};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_entries: 1000,
        max_entry_bytes: 1 << 20,
        max_total_bytes: 1 << 22,
    };
    if let Ok(entries) = check(data, None, limits) {
        let target = Path::new("/restore/target");
        for e in entries {
            let joined = safe_join(target, &e.path).expect("accepted paths join");
            assert!(joined.starts_with(target));
            assert!(!joined.components().any(|c| c == Component::ParentDir));
        }
    }
});
