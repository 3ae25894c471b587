//! Real host figures from `sysinfo`, for runtimes that run on this machine.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sysinfo::{Disks, System};

use crate::model::HostSample;

/// Why the host cannot be probed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read host figures: {0}")]
pub struct HostError(#[from] sysinfo::Error);

/// Time between two looks at the disks: free space moves slowly, and asking every mount
/// (network and FUSE file systems included) costs more than the rest of a sample.
const DISK_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// The kernel's per-interface byte counters, one file for every interface.
const NET_DEV_PATH: &str = "/proc/net/dev";

/// Probes this machine. Keep one per agent: CPU and network rates need the previous reading.
pub struct HostProbe {
    system: System,
    disks: Disks,
    /// Used and total disk bytes at the last look, and when that was.
    disk_usage: (u64, u64),
    disks_at: Instant,
    /// `/proc/net/dev`, kept open and re-read: with a container runtime there is one
    /// interface per container, and reading each one's statistics files would cost a
    /// dozen opens per container per sample.
    net_dev: Option<File>,
    /// Received and sent bytes over all interfaces but loopback at the last sample.
    net_totals: (u64, u64),
    net_buf: Vec<u8>,
    last_refresh: Instant,
}

/// Milliseconds since the Unix epoch by the wall clock (0 if the clock is before 1970).
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Name of this machine, if the OS tells.
pub fn hostname() -> Option<String> {
    System::host_name().ok()
}

impl HostProbe {
    /// Opens the probe and takes a first reading (rates start at zero).
    pub fn new() -> Result<Self, HostError> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        system.refresh_memory();
        let disks = Disks::new_with_refreshed_list()?;
        let mut probe = Self {
            disk_usage: disk_usage(&disks),
            system,
            disks,
            disks_at: Instant::now(),
            net_dev: File::open(NET_DEV_PATH).ok(),
            net_totals: (0, 0),
            net_buf: Vec::with_capacity(4096),
            last_refresh: Instant::now(),
        };
        probe.net_totals = probe.net_totals().unwrap_or_default();
        Ok(probe)
    }

    /// Bytes received and sent since boot over all interfaces but loopback.
    fn net_totals(&mut self) -> Option<(u64, u64)> {
        let file = self.net_dev.as_ref()?;
        self.net_buf.clear();
        let mut chunk = [0_u8; 4096];
        loop {
            let n = file.read_at(&mut chunk, self.net_buf.len() as u64).ok()?;
            if n == 0 {
                break;
            }
            self.net_buf.extend_from_slice(&chunk[..n]);
        }
        let text = std::str::from_utf8(&self.net_buf).ok()?;
        Some(crate::runtime::cgroup::parse_net_dev(text))
    }

    /// Number of logical cores.
    pub fn cores(&self) -> u32 {
        self.system.cpus().len() as u32
    }

    /// Takes a fresh reading.
    pub fn sample(&mut self) -> HostSample {
        let elapsed = self.last_refresh.elapsed().as_secs_f64().max(0.001);
        self.last_refresh = Instant::now();
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        if self.disks_at.elapsed() >= DISK_REFRESH_INTERVAL {
            self.disks.refresh(true);
            self.disk_usage = disk_usage(&self.disks);
            self.disks_at = Instant::now();
        }
        let (disk_used, disk_total) = self.disk_usage;
        // Loopback traffic never leaves the host; a counter that went back (an interface
        // removed) counts as no traffic rather than a huge one.
        let totals = self.net_totals().unwrap_or(self.net_totals);
        let rx = totals.0.saturating_sub(self.net_totals.0);
        let tx = totals.1.saturating_sub(self.net_totals.1);
        self.net_totals = totals;
        let load = System::load_average()
            .map(|l| [l.one as f32, l.five as f32, l.fifteen as f32])
            .unwrap_or_default();
        HostSample {
            time_unix_ms: now_unix_ms(),
            cpu_percent: self.system.global_cpu_usage(),
            cpu_per_core: self.system.cpus().iter().map(sysinfo::Cpu::usage).collect(),
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            swap_used_bytes: self.system.used_swap(),
            swap_total_bytes: self.system.total_swap(),
            disk_used_bytes: disk_used,
            disk_total_bytes: disk_total,
            net_rx_bytes_per_sec: (rx as f64 / elapsed) as u64,
            net_tx_bytes_per_sec: (tx as f64 / elapsed) as u64,
            load1: load[0],
            load5: load[1],
            load15: load[2],
            uptime_secs: System::uptime().unwrap_or_default(),
        }
    }
}

/// Used and total bytes over real, distinct block devices (pseudo and overlay mounts and
/// the same device mounted twice count once or not at all).
fn disk_usage(disks: &Disks) -> (u64, u64) {
    let mut seen = HashSet::new();
    let (mut used, mut total) = (0_u64, 0_u64);
    for d in disks {
        let fs = d.file_system().to_string_lossy();
        if matches!(
            &*fs,
            "overlay" | "tmpfs" | "devtmpfs" | "squashfs" | "proc" | "sysfs"
        ) {
            continue;
        }
        if d.total_space() == 0 || !seen.insert(d.name().to_owned()) {
            continue;
        }
        total += d.total_space();
        used += d.total_space().saturating_sub(d.available_space());
    }
    if total == 0 {
        // In a container the root is often an overlay: report it rather than nothing.
        if let Some(d) = disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"))
        {
            return (
                d.total_space().saturating_sub(d.available_space()),
                d.total_space(),
            );
        }
    }
    (used, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let mut probe = HostProbe::new().expect("sysinfo works here");
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let s = probe.sample();
        assert!(probe.cores() >= 1);
        assert_eq!(s.cpu_per_core.len(), probe.cores() as usize);
        assert!(
            (0.0..=100.0).contains(&s.cpu_percent),
            "cpu {}",
            s.cpu_percent
        );
        assert!(s.cpu_per_core.iter().all(|c| (0.0..=100.0).contains(c)));
        assert!(s.memory_total_bytes > 0);
        assert!(s.memory_used_bytes <= s.memory_total_bytes);
        assert!(s.swap_used_bytes <= s.swap_total_bytes);
        assert!(s.disk_used_bytes <= s.disk_total_bytes);
        assert!(s.uptime_secs > 0);
        assert!([s.load1, s.load5, s.load15].iter().all(|l| *l >= 0.0));
        let now = now_unix_ms();
        assert!(s.time_unix_ms <= now && now - s.time_unix_ms < 5_000);
    }

    #[test]
    fn second_sample_has_rates() {
        let mut probe = HostProbe::new().expect("sysinfo works here");
        let _ = probe.sample();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let s = probe.sample();
        // Rates are finite numbers, not totals since boot.
        assert!(s.net_rx_bytes_per_sec < 100 * 1024 * 1024 * 1024);
    }
}
