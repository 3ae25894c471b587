//! Container resource counters read straight from the kernel: the container's cgroup files
//! (v2 unified or v1 per controller) and `/proc/<pid>/net/dev` of its init process. This is
//! what cAdvisor and ctop do; it costs a few small file reads per container instead of a
//! round trip through the engine (see BENCHMARKS.md for the comparison).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::counters::Counters;

/// Where the cgroup file systems are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// v1 `memory.limit_in_bytes` at or above this means "no limit" (the kernel reports a page
/// rounded `i64::MAX`).
const V1_NO_LIMIT_BYTES: u64 = 1 << 62;

/// Where one container's cgroup files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupPaths {
    /// Unified hierarchy: one directory.
    V2(PathBuf),
    /// Legacy hierarchy: one directory per controller.
    V1 {
        /// `cpuacct` controller directory.
        cpuacct: PathBuf,
        /// `memory` controller directory.
        memory: PathBuf,
        /// `blkio` controller directory.
        blkio: PathBuf,
    },
}

/// Samples between two reads of the memory statistics: the kernel formats dozens of
/// counters for them, and the page cache they are used to discount moves slowly.
const MEMORY_STAT_EVERY_SAMPLES: u32 = 10;
/// Bytes read at once from a counter file (they are all well under a page).
const READ_CHUNK_BYTES: usize = 4096;

/// One container's counter files, opened once and re-read in place: a `pread` of an open
/// cgroup or proc file costs one system call, opening it again a path walk and a close.
#[derive(Debug)]
pub struct Reader {
    paths: CgroupPaths,
    pid: u32,
    /// CPU, memory usage, memory statistics, block I/O, network; opened on first read.
    files: Option<[File; 5]>,
    /// Samples since the memory statistics were last read.
    since_memory_stat: u32,
    /// Reclaimable page cache at the last read of the memory statistics.
    inactive_file_bytes: u64,
    buf: Vec<u8>,
}

impl Reader {
    /// A reader of the container whose init process `pid` is in `paths`.
    pub fn new(paths: CgroupPaths, pid: u32) -> Self {
        Self {
            paths,
            pid,
            files: None,
            since_memory_stat: 0,
            inactive_file_bytes: 0,
            buf: Vec::with_capacity(READ_CHUNK_BYTES),
        }
    }

    /// The directories read.
    pub fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    fn open(&self) -> io::Result<[File; 5]> {
        let net = File::open(format!("/proc/{}/net/dev", self.pid))?;
        Ok(match &self.paths {
            CgroupPaths::V2(dir) => [
                File::open(dir.join("cpu.stat"))?,
                File::open(dir.join("memory.current"))?,
                File::open(dir.join("memory.stat"))?,
                File::open(dir.join("io.stat"))?,
                net,
            ],
            CgroupPaths::V1 {
                cpuacct,
                memory,
                blkio,
            } => [
                File::open(cpuacct.join("cpuacct.usage"))?,
                File::open(memory.join("memory.usage_in_bytes"))?,
                File::open(memory.join("memory.stat"))?,
                File::open(blkio.join("blkio.throttle.io_service_bytes"))?,
                net,
            ],
        })
    }

    /// Reads the counters now. The memory limit is left at zero: the engine's configured
    /// limit is what the console shows.
    pub fn read(&mut self) -> io::Result<Counters> {
        if self.files.is_none() {
            self.files = Some(self.open()?);
            self.since_memory_stat = MEMORY_STAT_EVERY_SAMPLES;
        }
        let v2 = matches!(self.paths, CgroupPaths::V2(_));
        let Some(files) = self.files.as_ref() else {
            return Err(io::Error::other("counter files not open"));
        };
        let buf = &mut self.buf;
        let text = read_again(&files[0], buf)?;
        let cpu_ns = if v2 {
            stat_value(text, "usage_usec")
                .unwrap_or(0)
                .saturating_mul(1000)
        } else {
            parse_number(text)?
        };
        let usage = parse_number(read_again(&files[1], buf)?)?;
        if self.since_memory_stat >= MEMORY_STAT_EVERY_SAMPLES {
            let text = read_again(&files[2], buf)?;
            let key = if v2 {
                "inactive_file"
            } else {
                "total_inactive_file"
            };
            self.inactive_file_bytes = stat_value(text, key).unwrap_or(0);
            self.since_memory_stat = 0;
        }
        self.since_memory_stat += 1;
        let text = read_again(&files[3], buf)?;
        let (block_read_bytes, block_write_bytes) = if v2 {
            parse_io_stat(text)
        } else {
            parse_blkio(text)
        };
        let (net_rx_bytes, net_tx_bytes) = parse_net_dev(read_again(&files[4], buf)?);
        Ok(Counters {
            cpu_ns,
            // What `docker stats` shows: usage minus reclaimable page cache.
            memory_used_bytes: usage.saturating_sub(self.inactive_file_bytes),
            block_read_bytes,
            block_write_bytes,
            net_rx_bytes,
            net_tx_bytes,
            ..Counters::default()
        })
    }
}

/// The whole content of an open counter file, read again from its start.
fn read_again<'a>(file: &File, buf: &'a mut Vec<u8>) -> io::Result<&'a str> {
    buf.clear();
    let mut chunk = [0_u8; READ_CHUNK_BYTES];
    loop {
        let n = file.read_at(&mut chunk, buf.len() as u64)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn parse_number(text: &str) -> io::Result<u64> {
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("counter file holds {:?}, not a number", text.trim()),
        )
    })
}

/// Finds the cgroup directories of process `pid` from `/proc/<pid>/cgroup`.
pub fn locate(pid: u32) -> io::Result<CgroupPaths> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    let unified = Path::new(CGROUP_ROOT).join("cgroup.controllers").exists();
    parse_proc_cgroup(&text, Path::new(CGROUP_ROOT), unified).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no usable cgroup for pid {pid}"),
        )
    })
}

/// Maps the lines of `/proc/<pid>/cgroup` to directories under `root`. `unified` says
/// whether `root` itself is a cgroup v2 mount.
pub fn parse_proc_cgroup(text: &str, root: &Path, unified: bool) -> Option<CgroupPaths> {
    let rel = |p: &str| root.join(p.trim_start_matches('/'));
    let mut v2 = None;
    let (mut cpuacct, mut memory, mut blkio) = (None, None, None);
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            v2 = Some(path);
            continue;
        }
        for c in controllers.split(',') {
            let dir = root.join(c).join(path.trim_start_matches('/'));
            match c {
                "cpuacct" => cpuacct = Some(dir),
                "memory" => memory = Some(dir),
                "blkio" => blkio = Some(dir),
                _ => {}
            }
        }
    }
    if unified {
        return v2.map(|p| CgroupPaths::V2(rel(p)));
    }
    match (cpuacct, memory, blkio) {
        (Some(cpuacct), Some(memory), Some(blkio)) => Some(CgroupPaths::V1 {
            cpuacct,
            memory,
            blkio,
        }),
        _ => None,
    }
}

/// Reads the counters of one container: cgroup files plus the network of `pid`.
pub fn read(paths: &CgroupPaths, pid: u32) -> io::Result<Counters> {
    let mut c = match paths {
        CgroupPaths::V2(dir) => read_v2(dir)?,
        CgroupPaths::V1 {
            cpuacct,
            memory,
            blkio,
        } => read_v1(cpuacct, memory, blkio)?,
    };
    // A container without its own network namespace (host network) shares the host's
    // figures; they are still what its processes see.
    let net = fs::read_to_string(format!("/proc/{pid}/net/dev"))?;
    (c.net_rx_bytes, c.net_tx_bytes) = parse_net_dev(&net);
    Ok(c)
}

fn read_v2(dir: &Path) -> io::Result<Counters> {
    let cpu = fs::read_to_string(dir.join("cpu.stat"))?;
    let usage_usec = stat_value(&cpu, "usage_usec").unwrap_or(0);
    let current = read_u64(&dir.join("memory.current"))?;
    let stat = fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
    let inactive = stat_value(&stat, "inactive_file").unwrap_or(0);
    let max = fs::read_to_string(dir.join("memory.max")).unwrap_or_default();
    let limit = max.trim().parse::<u64>().unwrap_or(0);
    let io = fs::read_to_string(dir.join("io.stat")).unwrap_or_default();
    let (read, write) = parse_io_stat(&io);
    Ok(Counters {
        cpu_ns: usage_usec.saturating_mul(1000),
        memory_used_bytes: current.saturating_sub(inactive),
        memory_limit_bytes: limit,
        block_read_bytes: read,
        block_write_bytes: write,
        ..Counters::default()
    })
}

fn read_v1(cpuacct: &Path, memory: &Path, blkio: &Path) -> io::Result<Counters> {
    let cpu_ns = read_u64(&cpuacct.join("cpuacct.usage"))?;
    let usage = read_u64(&memory.join("memory.usage_in_bytes"))?;
    let stat = fs::read_to_string(memory.join("memory.stat")).unwrap_or_default();
    let inactive = stat_value(&stat, "total_inactive_file").unwrap_or(0);
    let limit = read_u64(&memory.join("memory.limit_in_bytes")).unwrap_or(0);
    let io = fs::read_to_string(blkio.join("blkio.throttle.io_service_bytes")).unwrap_or_default();
    let (read, write) = parse_blkio(&io);
    Ok(Counters {
        cpu_ns,
        // What `docker stats` shows: usage minus reclaimable page cache.
        memory_used_bytes: usage.saturating_sub(inactive),
        memory_limit_bytes: if limit >= V1_NO_LIMIT_BYTES { 0 } else { limit },
        block_read_bytes: read,
        block_write_bytes: write,
        ..Counters::default()
    })
}

fn read_u64(path: &Path) -> io::Result<u64> {
    let text = fs::read_to_string(path)?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a number", path.display()),
        )
    })
}

/// Value of `key` in a `key value` per line file (cpu.stat, memory.stat).
pub fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Total (read, write) bytes over all devices in a v2 `io.stat`.
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0_u64, 0_u64);
    for field in text.split_whitespace() {
        if let Some(v) = field.strip_prefix("rbytes=") {
            r += v.parse::<u64>().unwrap_or(0);
        } else if let Some(v) = field.strip_prefix("wbytes=") {
            w += v.parse::<u64>().unwrap_or(0);
        }
    }
    (r, w)
}

/// Total (read, write) bytes over all devices in a v1 `blkio.*io_service_bytes`.
pub fn parse_blkio(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0_u64, 0_u64);
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(_dev), Some(op), Some(v)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let v = v.parse::<u64>().unwrap_or(0);
        match op {
            "Read" => r += v,
            "Write" => w += v,
            _ => {}
        }
    }
    (r, w)
}

/// Total (received, transmitted) bytes over all interfaces but loopback in `/proc/net/dev`.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0_u64, 0_u64);
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() >= 9 {
            rx += f[0].parse::<u64>().unwrap_or(0);
            tx += f[8].parse::<u64>().unwrap_or(0);
        }
    }
    (rx, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_v1_and_v2() {
        let v1 = "12:blkio:/docker/abc\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n";
        let root = Path::new("/r");
        let Some(CgroupPaths::V1 {
            cpuacct,
            memory,
            blkio,
        }) = parse_proc_cgroup(v1, root, false)
        else {
            panic!("v1 paths expected");
        };
        assert_eq!(cpuacct, Path::new("/r/cpuacct/docker/abc"));
        assert_eq!(memory, Path::new("/r/memory/docker/abc"));
        assert_eq!(blkio, Path::new("/r/blkio/docker/abc"));
        let v2 = "0::/system.slice/docker-abc.scope\n";
        assert_eq!(
            parse_proc_cgroup(v2, root, true),
            Some(CgroupPaths::V2(PathBuf::from(
                "/r/system.slice/docker-abc.scope"
            )))
        );
        // v1 without the controllers we need is no use.
        assert_eq!(parse_proc_cgroup("3:pids:/x\n", root, false), None);
    }

    #[test]
    fn counters_files() {
        assert_eq!(
            stat_value("usage_usec 1500\nuser_usec 10\n", "usage_usec"),
            Some(1500)
        );
        assert_eq!(stat_value("total_inactive_file 7\n", "inactive_file"), None);
        let io = "8:0 rbytes=100 wbytes=20 rios=1 wios=2\n8:16 rbytes=5 wbytes=1 rios=0\n";
        assert_eq!(parse_io_stat(io), (105, 21));
        let blk = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n";
        assert_eq!(parse_blkio(blk), (4096, 512));
        let net = "Inter-|   Receive\n face |bytes\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n  eth0: 682 7 0 0 0 0 0 0 1234 3 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(net), (682, 1234));
    }

    #[test]
    fn reads_own_process() {
        // This process has a cgroup and a network namespace; whichever hierarchy the machine
        // has must be readable.
        let pid = std::process::id();
        let paths = locate(pid).expect("own cgroup");
        let c = read(&paths, pid).expect("own counters");
        assert!(c.cpu_ns > 0, "{c:?}");
        // The kept-open reader sees the same figures, and fresh ones when read again.
        let mut reader = Reader::new(paths, pid);
        let first = reader.read().expect("first read");
        assert!(
            first.cpu_ns >= c.cpu_ns && first.memory_used_bytes > 0,
            "{first:?}"
        );
        assert_eq!(
            (first.net_rx_bytes, first.net_tx_bytes),
            (c.net_rx_bytes, c.net_tx_bytes)
        );
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            std::hint::black_box(0_u64.wrapping_add(1));
        }
        let second = reader.read().expect("second read");
        assert!(second.cpu_ns > first.cpu_ns, "{first:?} then {second:?}");
    }
}
