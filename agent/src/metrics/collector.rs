//! Node and container series, read from the hub's current state at each scrape: nothing
//! is kept between scrapes, so a container that is gone has no series left.

use std::fmt::Write;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use crate::hub::Hub;
use crate::model::{CheckStatus, Container, ContainerState, ContainerStats, HealthState, Snapshot};
use crate::server::limits::StreamCap;

/// Container states, each a series of `fleetdeck_container_state` (1 for the current one).
const STATES: [ContainerState; 6] = [
    ContainerState::Created,
    ContainerState::Running,
    ContainerState::Restarting,
    ContainerState::Paused,
    ContainerState::Exited,
    ContainerState::Dead,
];

/// Health states, each a series of `fleetdeck_container_health` (1 for the current one).
const HEALTHS: [HealthState; 4] = [
    HealthState::None,
    HealthState::Starting,
    HealthState::Healthy,
    HealthState::Unhealthy,
];

/// Characters of a container id kept in the `id` label (what `docker ps` shows).
const SHORT_ID_CHARS: usize = 12;

/// The stream caps whose open streams are reported.
#[derive(Debug, Clone)]
pub struct Streams {
    /// Watch streams.
    pub watch: StreamCap,
    /// Logs streams.
    pub logs: StreamCap,
}

/// Renders the node's and its containers' series from the hub at scrape time.
#[derive(Clone)]
pub struct NodeCollector {
    hub: Hub,
    streams: Streams,
}

impl std::fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCollector").finish_non_exhaustive()
    }
}

impl NodeCollector {
    /// Reads `hub` and `streams` at every scrape.
    pub fn new(hub: Hub, streams: Streams) -> Self {
        Self { hub, streams }
    }
}

/// A label value written with the escapes the text format needs (`\`, `"`, newline), so a
/// container name or compose label cannot break a line of the exposition.
#[derive(Clone, Copy)]
struct Escaped<'a>(&'a str);

impl EncodeLabelValue for Escaped<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

type Labels<'a> = [(&'static str, Escaped<'a>); 3];

/// A family's name, help text and unit.
type Descriptor<'a> = (&'a str, &'a str, Option<&'a Unit>);

fn container_labels(c: &Container) -> Labels<'_> {
    let id = &c.spec.id;
    let short = id.get(..SHORT_ID_CHARS).unwrap_or(id);
    [
        ("container", Escaped(&c.spec.name)),
        ("id", Escaped(short)),
        ("service", Escaped(&c.spec.service)),
    ]
}

fn health_label(h: HealthState) -> &'static str {
    match h {
        HealthState::None => "none",
        other => other.as_str(),
    }
}

/// One unlabelled series.
fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: &impl EncodeMetric,
) -> std::fmt::Result {
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

/// One gauge series per container.
fn per_container<V>(
    encoder: &mut DescriptorEncoder,
    snap: &Snapshot,
    (name, help, unit): Descriptor<'_>,
    value: impl Fn(&Container) -> Option<V>,
) -> std::fmt::Result
where
    ConstGauge<V>: EncodeMetric,
{
    let mut family: MetricEncoder =
        encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for c in &snap.containers {
        if let Some(v) = value(c) {
            ConstGauge::new(v).encode(family.encode_family(&container_labels(c))?)?;
        }
    }
    Ok(())
}

fn encode_node(encoder: &mut DescriptorEncoder, snap: &Snapshot) -> std::fmt::Result {
    let info = &snap.node;
    let host = &snap.host;
    let bytes = Unit::Bytes;
    let per_sec = Unit::Other("bytes_per_second".into());
    let info_labels = [
        ("node", Escaped(&info.node_id)),
        ("hostname", Escaped(&info.hostname)),
        ("runtime", Escaped(&info.runtime)),
        ("version", Escaped(&info.agent_version)),
    ];
    let mut family = encoder.encode_descriptor(
        "fleetdeck_node_info",
        "The node this agent serves (always 1)",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(1i64).encode(family.encode_family(&info_labels)?)?;
    let gauges: [(&str, &str, Option<&Unit>, f64); 14] = [
        (
            "fleetdeck_node_cpu_usage",
            "Whole-host CPU busy, 0-1",
            Some(&Unit::Other("ratio".into())),
            f64::from(host.cpu_percent) / 100.0,
        ),
        (
            "fleetdeck_node_cpu_cores",
            "CPU cores of the node",
            None,
            f64::from(info.cpu_cores),
        ),
        (
            "fleetdeck_node_memory_used",
            "Memory in use",
            Some(&bytes),
            host.memory_used_bytes as f64,
        ),
        (
            "fleetdeck_node_memory_size",
            "Memory of the node",
            Some(&bytes),
            host.memory_total_bytes as f64,
        ),
        (
            "fleetdeck_node_swap_used",
            "Swap in use",
            Some(&bytes),
            host.swap_used_bytes as f64,
        ),
        (
            "fleetdeck_node_swap_size",
            "Swap of the node",
            Some(&bytes),
            host.swap_total_bytes as f64,
        ),
        (
            "fleetdeck_node_disk_used",
            "Disk in use",
            Some(&bytes),
            host.disk_used_bytes as f64,
        ),
        (
            "fleetdeck_node_disk_size",
            "Disk of the node",
            Some(&bytes),
            host.disk_total_bytes as f64,
        ),
        (
            "fleetdeck_node_network_receive",
            "Network receive rate over the last sample",
            Some(&per_sec),
            host.net_rx_bytes_per_sec as f64,
        ),
        (
            "fleetdeck_node_network_transmit",
            "Network transmit rate over the last sample",
            Some(&per_sec),
            host.net_tx_bytes_per_sec as f64,
        ),
        (
            "fleetdeck_node_load1",
            "Load average over 1 minute",
            None,
            f64::from(host.load1),
        ),
        (
            "fleetdeck_node_load5",
            "Load average over 5 minutes",
            None,
            f64::from(host.load5),
        ),
        (
            "fleetdeck_node_load15",
            "Load average over 15 minutes",
            None,
            f64::from(host.load15),
        ),
        (
            "fleetdeck_node_containers",
            "Containers on the node, any state",
            None,
            snap.containers.len() as f64,
        ),
    ];
    for (name, help, unit, v) in gauges {
        single(encoder, name, help, unit, &ConstGauge::new(v))?;
    }
    single(
        encoder,
        "fleetdeck_node_uptime",
        "Time since the node booted",
        Some(&Unit::Seconds),
        &ConstGauge::new(host.uptime_secs),
    )?;
    let mut family = encoder.encode_descriptor(
        "fleetdeck_node_check_passing",
        "The agent's own checks (runtime, disk, memory, clock): 1 ok, 0 warning or failing",
        None,
        MetricType::Gauge,
    )?;
    for check in &snap.health {
        let passing = i64::from(check.status == CheckStatus::Ok);
        let labels = [("check", Escaped(&check.name))];
        ConstGauge::new(passing).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn encode_containers(encoder: &mut DescriptorEncoder, snap: &Snapshot) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        "fleetdeck_container_info",
        "A container on the node (always 1), with its image",
        None,
        MetricType::Gauge,
    )?;
    for c in &snap.containers {
        let [name, id, service] = container_labels(c);
        let labels = [name, id, service, ("image", Escaped(&c.spec.image))];
        ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;
    }
    let bytes = Unit::Bytes;
    let per_sec = Unit::Other("bytes_per_second".into());
    let cpu = (
        "fleetdeck_container_cpu_usage",
        "CPU busy as a fraction of one core (2 = two cores busy)",
        Some(&Unit::Other("ratio".into())),
    );
    per_container(encoder, snap, cpu, |c| {
        Some(f64::from(c.stats.cpu_percent) / 100.0)
    })?;
    type Figure = fn(&ContainerStats) -> Option<u64>;
    let figures: [(Descriptor<'_>, Figure); 6] = [
        (
            (
                "fleetdeck_container_memory_used",
                "Memory in use",
                Some(&bytes),
            ),
            |s| Some(s.memory_used_bytes),
        ),
        (
            (
                "fleetdeck_container_memory_limit",
                "Memory limit (no series when the container has none)",
                Some(&bytes),
            ),
            |s| (s.memory_limit_bytes > 0).then_some(s.memory_limit_bytes),
        ),
        (
            (
                "fleetdeck_container_network_receive",
                "Network receive rate over the last sample",
                Some(&per_sec),
            ),
            |s| Some(s.net_rx_bytes_per_sec),
        ),
        (
            (
                "fleetdeck_container_network_transmit",
                "Network transmit rate over the last sample",
                Some(&per_sec),
            ),
            |s| Some(s.net_tx_bytes_per_sec),
        ),
        (
            (
                "fleetdeck_container_block_read",
                "Block device read rate over the last sample",
                Some(&per_sec),
            ),
            |s| Some(s.block_read_bytes_per_sec),
        ),
        (
            (
                "fleetdeck_container_block_write",
                "Block device write rate over the last sample",
                Some(&per_sec),
            ),
            |s| Some(s.block_write_bytes_per_sec),
        ),
    ];
    for (descriptor, figure) in figures {
        per_container(encoder, snap, descriptor, |c| figure(&c.stats))?;
    }
    let started = (
        "fleetdeck_container_start_time",
        "When the container last started, Unix time (no series if it never did)",
        Some(&Unit::Seconds),
    );
    per_container(encoder, snap, started, |c| {
        let ms = c.status.started_unix_ms;
        (ms > 0).then(|| ms as f64 / 1000.0)
    })?;
    let mut family = encoder.encode_descriptor(
        "fleetdeck_container_restarts",
        "Restarts of the container since it was created",
        None,
        MetricType::Counter,
    )?;
    for c in &snap.containers {
        let restarts = ConstCounter::new(u64::from(c.status.restart_count));
        restarts.encode(family.encode_family(&container_labels(c))?)?;
    }
    let mut family = encoder.encode_descriptor(
        "fleetdeck_container_state",
        "Lifecycle state: 1 for the container's current state, 0 for the others",
        None,
        MetricType::Gauge,
    )?;
    for c in &snap.containers {
        let [name, id, service] = container_labels(c);
        for state in STATES {
            let labels = [name, id, service, ("state", Escaped(state.as_str()))];
            let now = i64::from(c.status.state == state);
            ConstGauge::new(now).encode(family.encode_family(&labels)?)?;
        }
    }
    let mut family = encoder.encode_descriptor(
        "fleetdeck_container_health",
        "Health check state: 1 for the current one (`none` = no check), 0 for the others",
        None,
        MetricType::Gauge,
    )?;
    for c in &snap.containers {
        let [name, id, service] = container_labels(c);
        for health in HEALTHS {
            let labels = [name, id, service, ("health", Escaped(health_label(health)))];
            let now = i64::from(c.status.health == health);
            ConstGauge::new(now).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.hub.snapshot();
        encode_node(&mut encoder, &snap)?;
        encode_containers(&mut encoder, &snap)?;
        let mut family = encoder.encode_descriptor(
            "fleetdeck_agent_open_streams",
            "Streams being served now, by rpc",
            None,
            MetricType::Gauge,
        )?;
        for (rpc, cap) in [("watch", &self.streams.watch), ("logs", &self.streams.logs)] {
            let labels = [("rpc", rpc)];
            ConstGauge::new(cap.open() as i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        #[derive(Debug)]
        struct One(String);
        impl Collector for One {
            fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
                let mut f = encoder.encode_descriptor("x", "x", None, MetricType::Gauge)?;
                ConstGauge::new(1i64).encode(f.encode_family(&[("l", Escaped(&self.0))])?)
            }
        }
        registry.register_collector(Box::new(One(s.to_owned())));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out.lines()
            .find(|l| l.starts_with("x{"))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escaped("web"), r#"x{l="web"} 1"#);
        assert_eq!(escaped("a\"b\\c\nd"), r#"x{l="a\"b\\c\nd"} 1"#);
    }
}
