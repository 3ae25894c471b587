//! Cumulative resource counters of one container and the rates between two readings.
//! Both stats sources (cgroup files, the engine's stats API) produce these.

use std::time::Instant;

use crate::model::ContainerStats;

/// Cumulative counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// CPU time used since the container started, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use now (without reclaimable page cache), bytes.
    pub memory_used_bytes: u64,
    /// Memory limit, bytes; 0 = none.
    pub memory_limit_bytes: u64,
    /// Bytes received since start.
    pub net_rx_bytes: u64,
    /// Bytes sent since start.
    pub net_tx_bytes: u64,
    /// Bytes read from block devices since start.
    pub block_read_bytes: u64,
    /// Bytes written to block devices since start.
    pub block_write_bytes: u64,
}

/// A reading and when it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// The counters.
    pub counters: Counters,
    /// When they were read.
    pub at: Instant,
}

fn per_sec(now: u64, before: u64, secs: f64) -> u64 {
    // A counter that went back (container restarted) gives no rate rather than a huge one.
    (now.saturating_sub(before) as f64 / secs) as u64
}

/// Stats from two readings: rates over the time between them, levels from the newer.
/// Without an earlier reading the rates are zero.
pub fn stats(prev: Option<&Reading>, now: &Reading) -> ContainerStats {
    let c = &now.counters;
    let mut s = ContainerStats {
        memory_used_bytes: c.memory_used_bytes,
        memory_limit_bytes: c.memory_limit_bytes,
        ..ContainerStats::default()
    };
    let Some(p) = prev else { return s };
    let secs = now.at.saturating_duration_since(p.at).as_secs_f64();
    if secs <= 0.0 {
        return s;
    }
    let b = &p.counters;
    s.cpu_percent = (c.cpu_ns.saturating_sub(b.cpu_ns) as f64 / 1e9 / secs * 100.0) as f32;
    s.net_rx_bytes_per_sec = per_sec(c.net_rx_bytes, b.net_rx_bytes, secs);
    s.net_tx_bytes_per_sec = per_sec(c.net_tx_bytes, b.net_tx_bytes, secs);
    s.block_read_bytes_per_sec = per_sec(c.block_read_bytes, b.block_read_bytes, secs);
    s.block_write_bytes_per_sec = per_sec(c.block_write_bytes, b.block_write_bytes, secs);
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rates_over_elapsed_time() {
        let t0 = Instant::now();
        let a = Reading {
            counters: Counters {
                cpu_ns: 1_000_000_000,
                net_rx_bytes: 1000,
                block_write_bytes: 4096,
                ..Counters::default()
            },
            at: t0,
        };
        let b = Reading {
            counters: Counters {
                cpu_ns: 1_500_000_000,
                memory_used_bytes: 42,
                net_rx_bytes: 3000,
                block_write_bytes: 4096 * 3,
                ..Counters::default()
            },
            at: t0 + Duration::from_secs(2),
        };
        let s = stats(Some(&a), &b);
        assert!((s.cpu_percent - 25.0).abs() < 0.01, "{}", s.cpu_percent);
        assert_eq!(s.net_rx_bytes_per_sec, 1000);
        assert_eq!(s.block_write_bytes_per_sec, 4096);
        assert_eq!(s.memory_used_bytes, 42);
        // First reading, or counters that went back: no made-up rates.
        assert_eq!(stats(None, &b).cpu_percent, 0.0);
        assert_eq!(stats(Some(&b), &a).net_rx_bytes_per_sec, 0);
    }
}
