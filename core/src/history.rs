//! Recent figures an agent keeps for its node and containers, in the compact form it
//! stores them (scaled integers in 16 bits), and their wire codec (`HistoryReply`: every
//! series oldest first, delta coded).

use fleetdeck_proto as pb;

/// Mantissa bits of a magnitude code; the exponent takes the other 5 of 16.
const MANTISSA_BITS: u32 = 11;
const MANTISSA_MAX: u64 = (1 << MANTISSA_BITS) - 1;
const EXPONENT_MAX: u32 = (1 << (16 - MANTISSA_BITS)) - 1;

/// A non-negative magnitude (bytes, bytes/s) in 16 bits: an 11-bit mantissa shifted left by
/// a 5-bit exponent. Exact below 2,048, within 0.1 % above, saturating near 4.4 TB.
pub fn magnitude_code(value: u64) -> u16 {
    let bits = 64 - value.leading_zeros();
    let mut exponent = bits.saturating_sub(MANTISSA_BITS);
    // Round to nearest, so the code is within half a step of the value.
    let round = |e: u32| {
        if e == 0 {
            value
        } else {
            (value >> e) + ((value >> (e - 1)) & 1)
        }
    };
    let mut mantissa = round(exponent);
    if mantissa > MANTISSA_MAX {
        exponent += 1;
        mantissa = round(exponent);
    }
    if exponent > EXPONENT_MAX {
        return u16::MAX;
    }
    ((exponent << MANTISSA_BITS) as u16) | mantissa as u16
}

/// The magnitude a [`magnitude_code`] stands for.
pub fn magnitude(code: u16) -> u64 {
    let exponent = u32::from(code) >> MANTISSA_BITS;
    (u64::from(code) & MANTISSA_MAX) << exponent
}

fn centi(percent: f32) -> u16 {
    (percent.clamp(0.0, 100.0) * 100.0).round() as u16
}

/// One node sample (or 1-minute mean): 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodePoint {
    /// Whole-host CPU busy, hundredths of a percent.
    pub cpu: u16,
    /// Memory used, hundredths of a percent of the total.
    pub memory: u16,
    /// Network receive + transmit, bytes/s, as a [`magnitude_code`].
    pub net: u16,
    /// Containers on the node.
    pub containers: u16,
}

impl NodePoint {
    /// A point from a node's figures.
    pub fn new(
        cpu_percent: f32,
        memory_percent: f32,
        net_bytes_per_sec: u64,
        containers: usize,
    ) -> Self {
        Self {
            cpu: centi(cpu_percent),
            memory: centi(memory_percent),
            net: magnitude_code(net_bytes_per_sec),
            containers: u16::try_from(containers).unwrap_or(u16::MAX),
        }
    }

    /// CPU busy, percent.
    pub fn cpu_percent(self) -> f32 {
        f32::from(self.cpu) / 100.0
    }

    /// Memory used, percent of total.
    pub fn memory_percent(self) -> f32 {
        f32::from(self.memory) / 100.0
    }

    /// Network receive + transmit, bytes/s.
    pub fn net_bytes_per_sec(self) -> u64 {
        magnitude(self.net)
    }
}

/// One container sample: 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerPoint {
    /// Percent of one core, tenths (saturating at 6,553.5 %).
    pub cpu: u16,
    /// Memory used, bytes, as a [`magnitude_code`].
    pub memory: u16,
}

impl ContainerPoint {
    /// A point from a container's figures.
    pub fn new(cpu_percent: f32, memory_used_bytes: u64) -> Self {
        Self {
            cpu: (cpu_percent.max(0.0) * 10.0)
                .round()
                .min(f32::from(u16::MAX)) as u16,
            memory: magnitude_code(memory_used_bytes),
        }
    }

    /// Percent of one core.
    pub fn cpu_percent(self) -> f32 {
        f32::from(self.cpu) / 10.0
    }

    /// Memory used, bytes.
    pub fn memory_bytes(self) -> u64 {
        magnitude(self.memory)
    }
}

/// One container's recent samples; the last one is from the node's newest sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerHistory {
    /// Key of the container on the Watch stream of the same epoch.
    pub key: u32,
    /// Oldest first.
    pub points: Vec<ContainerPoint>,
}

/// What an agent holds about its recent past, as one History reply carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    /// The agent instance it comes from.
    pub epoch: u64,
    pub sample_interval_ms: u32,
    /// The node at the sample interval: (agent time ms, figures), oldest first.
    pub samples: Vec<(u64, NodePoint)>,
    /// 1-minute means: (start of the minute ms, mean), oldest first.
    pub minutes: Vec<(u64, NodePoint)>,
    pub containers: Vec<ContainerHistory>,
}

/// A History reply that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError(pub String);

impl std::error::Error for HistoryError {}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad history: {}", self.0)
    }
}

fn deltas<T: Copy>(values: impl IntoIterator<Item = T>, as_i64: impl Fn(T) -> i64) -> Vec<i64> {
    let mut prev = 0i64;
    values
        .into_iter()
        .map(|v| {
            let v = as_i64(v);
            let d = v - prev;
            prev = v;
            d
        })
        .collect()
}

fn deltas32<T: Copy>(values: impl IntoIterator<Item = T>, as_i32: impl Fn(T) -> i32) -> Vec<i32> {
    let mut prev = 0i32;
    values
        .into_iter()
        .map(|v| {
            let v = as_i32(v);
            let d = v.wrapping_sub(prev);
            prev = v;
            d
        })
        .collect()
}

fn undelta(values: &[i32]) -> Vec<u16> {
    let mut acc = 0i32;
    values
        .iter()
        .map(|d| {
            acc = acc.wrapping_add(*d);
            acc.clamp(0, i32::from(u16::MAX)) as u16
        })
        .collect()
}

fn series_to_proto(points: &[(u64, NodePoint)]) -> pb::HistoryNodeSeries {
    pb::HistoryNodeSeries {
        time_unix_ms: deltas(points.iter().map(|p| p.0), |t| t as i64),
        cpu_centi_percent: deltas32(points.iter().map(|p| p.1.cpu), i32::from),
        memory_centi_percent: deltas32(points.iter().map(|p| p.1.memory), i32::from),
        net_code: deltas32(points.iter().map(|p| p.1.net), i32::from),
        containers: deltas32(points.iter().map(|p| p.1.containers), i32::from),
    }
}

fn series_from_proto(
    s: pb::HistoryNodeSeries,
    what: &str,
) -> Result<Vec<(u64, NodePoint)>, HistoryError> {
    let n = s.time_unix_ms.len();
    if [
        s.cpu_centi_percent.len(),
        s.memory_centi_percent.len(),
        s.net_code.len(),
        s.containers.len(),
    ]
    .iter()
    .any(|len| *len != n)
    {
        return Err(HistoryError(format!("{what}: series of different lengths")));
    }
    let mut t = 0i64;
    let mut times = Vec::with_capacity(n);
    for d in &s.time_unix_ms {
        t = t.saturating_add(*d);
        if t < 0 || times.last().is_some_and(|last| *last >= t as u64) {
            return Err(HistoryError(format!("{what}: times not increasing")));
        }
        times.push(t as u64);
    }
    let (cpu, mem, net, ctrs) = (
        undelta(&s.cpu_centi_percent),
        undelta(&s.memory_centi_percent),
        undelta(&s.net_code),
        undelta(&s.containers),
    );
    Ok((0..n)
        .map(|i| {
            (
                times[i],
                NodePoint {
                    cpu: cpu[i].min(10_000),
                    memory: mem[i].min(10_000),
                    net: net[i],
                    containers: ctrs[i],
                },
            )
        })
        .collect())
}

impl History {
    /// To the wire.
    pub fn to_proto(&self) -> pb::HistoryReply {
        pb::HistoryReply {
            epoch: self.epoch,
            sample_interval_ms: self.sample_interval_ms,
            samples: Some(series_to_proto(&self.samples)),
            minutes: Some(series_to_proto(&self.minutes)),
            containers: self
                .containers
                .iter()
                .map(|c| pb::HistoryContainer {
                    key: c.key,
                    cpu_deci_percent: deltas32(c.points.iter().map(|p| p.cpu), i32::from),
                    memory_code: deltas32(c.points.iter().map(|p| p.memory), i32::from),
                })
                .collect(),
        }
    }

    /// From the wire; a reply whose series do not line up is refused whole.
    pub fn from_proto(reply: pb::HistoryReply) -> Result<Self, HistoryError> {
        let samples = series_from_proto(reply.samples.unwrap_or_default(), "samples")?;
        let minutes = series_from_proto(reply.minutes.unwrap_or_default(), "minutes")?;
        let containers = reply
            .containers
            .into_iter()
            .map(|c| {
                if c.cpu_deci_percent.len() != c.memory_code.len() {
                    return Err(HistoryError(format!(
                        "container {}: series of different lengths",
                        c.key
                    )));
                }
                if c.cpu_deci_percent.len() > samples.len() {
                    return Err(HistoryError(format!(
                        "container {}: more samples than the node",
                        c.key
                    )));
                }
                let cpu = undelta(&c.cpu_deci_percent);
                let mem = undelta(&c.memory_code);
                Ok(ContainerHistory {
                    key: c.key,
                    points: cpu
                        .into_iter()
                        .zip(mem)
                        .map(|(cpu, memory)| ContainerPoint { cpu, memory })
                        .collect(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            epoch: reply.epoch,
            sample_interval_ms: reply.sample_interval_ms,
            samples,
            minutes,
            containers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitude_codes_are_exact_when_small_and_close_when_large() {
        for v in [0u64, 1, 2047] {
            assert_eq!(magnitude(magnitude_code(v)), v);
        }
        for v in [2048u64, 4095, 123_456_789, 3 << 30, 17_179_869_184] {
            let back = magnitude(magnitude_code(v)) as f64;
            assert!(
                (back - v as f64).abs() / v as f64 <= 0.0005,
                "{v} -> {back}"
            );
        }
        assert_eq!(magnitude_code(u64::MAX), u16::MAX);
        // Codes grow with values, so delta coding stays small on calm series.
        assert!(magnitude_code(5000) < magnitude_code(5100));
    }

    #[test]
    fn a_history_survives_the_wire() {
        let h = History {
            epoch: 7,
            sample_interval_ms: 1000,
            samples: (0..5)
                .map(|i| {
                    (
                        1_000_000 + i * 1000,
                        NodePoint::new(10.0 + i as f32, 50.0, 1 << 20, 12),
                    )
                })
                .collect(),
            minutes: vec![(960_000, NodePoint::new(99.99, 100.0, 0, 3))],
            containers: vec![ContainerHistory {
                key: 3,
                points: vec![ContainerPoint::new(250.5, 300 << 20); 3],
            }],
        };
        let wire = h.to_proto();
        assert_eq!(History::from_proto(wire.clone()), Ok(h));
        let mut bad = wire.clone();
        bad.containers[0].memory_code.pop();
        assert!(History::from_proto(bad).is_err());
        let mut bad = wire;
        bad.samples.as_mut().unwrap().time_unix_ms[2] = -5000;
        assert!(History::from_proto(bad).is_err());
    }
}
