//! Resource counters through the engine's stats API: the fallback where the cgroup files
//! cannot be read (agent in its own pid namespace, no /sys access, a remote DOCKER_HOST).
//! One one-shot request per container per pass; the engine answers each from the same
//! cgroup files, plus its own JSON encoding and our decoding.

use bollard::Docker;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures::StreamExt;

use crate::runtime::counters::Counters;

/// Counters of container `id` from one stats request; `None` when the engine gave nothing
/// (the container stopped meanwhile).
pub async fn read(docker: &Docker, id: &str) -> Result<Option<Counters>, bollard::errors::Error> {
    let options = StatsOptions {
        stream: false,
        // The engine would otherwise wait a second to fill in the previous CPU reading,
        // which we keep ourselves.
        one_shot: true,
    };
    let mut stream = docker.stats(id, Some(options));
    match stream.next().await {
        Some(Ok(s)) => Ok(Some(counters(&s))),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// Counters from one stats record.
pub fn counters(s: &ContainerStatsResponse) -> Counters {
    let cpu_ns = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let mem = s.memory_stats.as_ref();
    let usage = mem.and_then(|m| m.usage).unwrap_or(0);
    // Same rule as `docker stats`: usage minus the inactive page cache (v1 or v2 name).
    let inactive = mem
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| {
            st.get("total_inactive_file")
                .or_else(|| st.get("inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    let limit = mem.and_then(|m| m.limit).unwrap_or(0);
    let (mut rx, mut tx) = (0, 0);
    for n in s.networks.iter().flat_map(|n| n.values()) {
        rx += n.rx_bytes.unwrap_or(0);
        tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut read, mut write) = (0, 0);
    let entries = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    for e in entries.into_iter().flatten() {
        let v = e.value.unwrap_or(0);
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += v,
            Some("write") => write += v,
            _ => {}
        }
    }
    Counters {
        cpu_ns,
        memory_used_bytes: usage.saturating_sub(inactive),
        // The engine reports the host's memory as the limit of an unlimited container; the
        // caller replaces it with the configured limit.
        memory_limit_bytes: limit,
        net_rx_bytes: rx,
        net_tx_bytes: tx,
        block_read_bytes: read,
        block_write_bytes: write,
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        ContainerBlkioStatEntry, ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage,
        ContainerMemoryStats, ContainerNetworkStats,
    };

    use super::*;

    #[test]
    fn counters_from_record() {
        let s = ContainerStatsResponse {
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(5_000),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(1000),
                limit: Some(4000),
                stats: Some([("inactive_file".to_owned(), 300)].into()),
                ..Default::default()
            }),
            networks: Some(
                [
                    (
                        "eth0".to_owned(),
                        ContainerNetworkStats {
                            rx_bytes: Some(10),
                            tx_bytes: Some(20),
                            ..Default::default()
                        },
                    ),
                    (
                        "eth1".to_owned(),
                        ContainerNetworkStats {
                            rx_bytes: Some(1),
                            tx_bytes: Some(2),
                            ..Default::default()
                        },
                    ),
                ]
                .into(),
            ),
            blkio_stats: Some(ContainerBlkioStats {
                io_service_bytes_recursive: Some(vec![
                    ContainerBlkioStatEntry {
                        op: Some("Read".into()),
                        value: Some(7),
                        ..Default::default()
                    },
                    ContainerBlkioStatEntry {
                        op: Some("write".into()),
                        value: Some(9),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = counters(&s);
        assert_eq!(c.cpu_ns, 5_000);
        assert_eq!(c.memory_used_bytes, 700);
        assert_eq!(c.memory_limit_bytes, 4000);
        assert_eq!((c.net_rx_bytes, c.net_tx_bytes), (11, 22));
        assert_eq!((c.block_read_bytes, c.block_write_bytes), (7, 9));
    }
}
