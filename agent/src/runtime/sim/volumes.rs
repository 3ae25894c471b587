//! The sim node's volume data as real files: seed data written on first use, sizes, and
//! clean-up of data no container owns.

use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::load::SimContainer;
use crate::runtime::RuntimeError;

/// Seed data is written in files of this size, so copies move several files.
const SEED_FILE_KIB: u32 = 64;

/// Volume directories of containers this node does not hold (half-made copies of an
/// interrupted migration, data of containers removed while the agent was down) go at start.
pub(super) fn remove_orphan_volumes(dir: &Path, containers: &[SimContainer]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !containers.iter().any(|c| c.spec.id == name) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!("cannot remove orphan volume data {name}: {e}");
            } else {
                tracing::info!("removed orphan volume data {name}");
            }
        }
    }
}

/// Writes a volume's seed data: deterministic from the container id and volume name.
pub(super) fn write_seed(dir: &Path, id: &str, volume: &str, kib: u32) -> std::io::Result<()> {
    let vdir = dir.join(volume);
    std::fs::create_dir_all(&vdir)?;
    let seed = id
        .bytes()
        .chain(volume.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = SmallRng::seed_from_u64(seed);
    std::fs::write(
        vdir.join("VERSION"),
        format!("{volume} of container {id}\n"),
    )?;
    let files = kib.div_ceil(SEED_FILE_KIB);
    for i in 0..files {
        let size = (kib - i * SEED_FILE_KIB).min(SEED_FILE_KIB) as usize * 1024;
        let mut data = vec![0_u8; size];
        rng.fill(&mut data[..]);
        std::fs::write(vdir.join(format!("seg-{i:04}.dat")), data)?;
    }
    Ok(())
}

/// Bytes in regular files under `dir` (0 when it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

pub(super) fn io_error(e: std::io::Error) -> RuntimeError {
    RuntimeError::Failed(format!("volume data: {e}"))
}
