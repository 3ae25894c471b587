//! A container's published ports and resource figures, with their wire codec.

use fleetdeck_proto as pb;

use crate::node::finite;

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortMapping {
    /// Port inside the container.
    pub container_port: u16,
    /// Port on the host; 0 when not published.
    pub host_port: u16,
    /// "tcp" or "udp".
    pub protocol: String,
    /// Host address the port is bound to.
    pub host_ip: String,
}

impl PortMapping {
    /// The port as a portable spec carries it: `(container, host, protocol)`.
    pub fn spec_port(&self) -> (u16, u16, String) {
        (self.container_port, self.host_port, self.protocol.clone())
    }

    /// To the wire.
    pub fn to_proto(&self) -> pb::Port {
        pb::Port {
            container_port: u32::from(self.container_port),
            host_port: u32::from(self.host_port),
            protocol: self.protocol.clone(),
            host_ip: self.host_ip.clone(),
        }
    }

    /// From the wire.
    pub fn from_proto(p: pb::Port) -> Self {
        Self {
            // Out-of-range numbers cannot be real ports: read as 0 rather than wrapped.
            container_port: u16::try_from(p.container_port).unwrap_or(0),
            host_port: u16::try_from(p.host_port).unwrap_or(0),
            protocol: p.protocol,
            host_ip: p.host_ip,
        }
    }
}

/// Resource figures of one container at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ContainerStats {
    /// Percent of one core.
    pub cpu_percent: f32,
    /// Memory in use, bytes.
    pub memory_used_bytes: u64,
    /// Memory limit, bytes; 0 = none.
    pub memory_limit_bytes: u64,
    /// Network receive rate, bytes/s.
    pub net_rx_bytes_per_sec: u64,
    /// Network transmit rate, bytes/s.
    pub net_tx_bytes_per_sec: u64,
    /// Block read rate, bytes/s.
    pub block_read_bytes_per_sec: u64,
    /// Block write rate, bytes/s.
    pub block_write_bytes_per_sec: u64,
}

impl ContainerStats {
    /// Memory used as a percentage of the limit, if there is one.
    pub fn memory_percent(&self) -> Option<f32> {
        (self.memory_limit_bytes > 0).then(|| {
            (self.memory_used_bytes as f64 / self.memory_limit_bytes as f64 * 100.0) as f32
        })
    }

    /// To the wire, under the container's `key`.
    pub fn to_proto(&self, key: u32) -> pb::ContainerStats {
        pb::ContainerStats {
            key,
            cpu_percent: self.cpu_percent,
            memory_used_bytes: self.memory_used_bytes,
            memory_limit_bytes: self.memory_limit_bytes,
            net_rx_bytes_per_sec: self.net_rx_bytes_per_sec,
            net_tx_bytes_per_sec: self.net_tx_bytes_per_sec,
            block_read_bytes_per_sec: self.block_read_bytes_per_sec,
            block_write_bytes_per_sec: self.block_write_bytes_per_sec,
        }
    }

    /// From the wire (the key is the caller's); a NaN or infinite CPU figure reads as 0.
    pub fn from_proto(s: pb::ContainerStats) -> Self {
        Self {
            cpu_percent: finite(s.cpu_percent),
            memory_used_bytes: s.memory_used_bytes,
            memory_limit_bytes: s.memory_limit_bytes,
            net_rx_bytes_per_sec: s.net_rx_bytes_per_sec,
            net_tx_bytes_per_sec: s.net_tx_bytes_per_sec,
            block_read_bytes_per_sec: s.block_read_bytes_per_sec,
            block_write_bytes_per_sec: s.block_write_bytes_per_sec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_round_trips_and_out_of_range_numbers_read_as_zero() {
        let p = PortMapping {
            container_port: 80,
            host_port: 8080,
            protocol: "tcp".into(),
            host_ip: "0.0.0.0".into(),
        };
        assert_eq!(PortMapping::from_proto(p.to_proto()), p);
        let wide = pb::Port {
            container_port: 70_000,
            host_port: u32::MAX,
            ..p.to_proto()
        };
        let back = PortMapping::from_proto(wide);
        assert_eq!((back.container_port, back.host_port), (0, 0));
    }

    #[test]
    fn container_stats_round_trip_under_their_key() {
        let s = ContainerStats {
            cpu_percent: 12.5,
            memory_used_bytes: 1,
            memory_limit_bytes: 2,
            net_rx_bytes_per_sec: 3,
            net_tx_bytes_per_sec: 4,
            block_read_bytes_per_sec: 5,
            block_write_bytes_per_sec: 6,
        };
        let wire = s.to_proto(7);
        assert_eq!(wire.key, 7);
        assert_eq!(ContainerStats::from_proto(wire), s);
        assert_eq!(s.memory_percent(), Some(50.0));
        assert_eq!(ContainerStats::default().memory_percent(), None);
    }

    #[test]
    fn a_non_finite_cpu_figure_reads_as_zero() {
        let wire = pb::ContainerStats {
            cpu_percent: f32::NAN,
            ..Default::default()
        };
        assert_eq!(ContainerStats::from_proto(wire).cpu_percent, 0.0);
    }
}
