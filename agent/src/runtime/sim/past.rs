//! The hour before a sim node started, generated from its containers' load curves, so a
//! console (and `fleetdeck demo`) shows history on its first screen. A pure function of
//! the node as built and its seed: it does not move the live simulation.

use std::time::Duration;

use fleetdeck_core::history::{ContainerPoint, NodePoint};

use super::host::SimHost;
use super::load::SimContainer;
use crate::history::{FINE_SAMPLES, Past};

/// How far back a sim node's generated history reaches.
pub(super) const PAST: Duration = Duration::from_secs(3600);
const MINUTE_MS: u64 = 60_000;
/// Points of the curves averaged into one generated 1-minute mean.
const POINTS_PER_MINUTE: u32 = 6;

/// A deterministic number in [-1, 1], bell-shaped, for (seed, container, step).
fn noise(seed: u64, container: usize, step: u64) -> f32 {
    let mut x = seed
        ^ (container as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    };
    next() + next() - 1.0
}

/// The node's figures `t_secs` from the start (negative: before), with per-container
/// points when `per_container` is given.
fn node_at(
    containers: &[SimContainer],
    host: &SimHost,
    seed: u64,
    step: u64,
    t_secs: f32,
    mut per_container: Option<&mut Vec<Vec<ContainerPoint>>>,
) -> NodePoint {
    let (mut cpu, mut mem, mut net) = (0.0f32, 0u64, 0u64);
    for (i, c) in containers.iter().enumerate() {
        let point = match c.curve_at(t_secs, noise(seed, i, step)) {
            Some((c_cpu, c_mem, c_net)) => {
                cpu += c_cpu;
                mem += c_mem;
                net += c_net;
                ContainerPoint::new(c_cpu, c_mem)
            }
            None => ContainerPoint::default(),
        };
        if let Some(points) = per_container.as_deref_mut() {
            points[i].push(point);
        }
    }
    host.past_point(cpu, mem, net, containers.len())
}

/// The `PAST` before `start_unix_ms`: samples at `step` for the newest `FINE_SAMPLES` of
/// it (and the containers' figures for those), 1-minute means for the rest.
pub(super) fn generate(
    containers: &[SimContainer],
    host: &SimHost,
    seed: u64,
    step: Duration,
    start_unix_ms: u64,
) -> Past {
    let step_ms = (step.as_millis() as u64).max(1);
    let fine = (FINE_SAMPLES as u64).min(PAST.as_millis() as u64 / step_ms);
    let mut points: Vec<Vec<ContainerPoint>> = containers
        .iter()
        .map(|_| Vec::with_capacity(fine as usize))
        .collect();
    let samples = (1..=fine)
        .rev()
        .map(|back| {
            let time = start_unix_ms.saturating_sub(back * step_ms);
            let t = -((back * step_ms) as f32) / 1000.0;
            let p = node_at(containers, host, seed, back, t, Some(&mut points));
            (time, p)
        })
        .collect::<Vec<_>>();
    // Whole minutes from an hour back up to the minute of the first sample.
    let first_fine = samples.first().map_or(start_unix_ms, |s| s.0);
    let from = start_unix_ms.saturating_sub(PAST.as_millis() as u64) / MINUTE_MS;
    let minutes = (from..first_fine / MINUTE_MS)
        .map(|minute| {
            let mut sum = [0u64; 4];
            for k in 0..POINTS_PER_MINUTE {
                let at =
                    minute * MINUTE_MS + u64::from(k) * MINUTE_MS / u64::from(POINTS_PER_MINUTE);
                let t = (at as f64 - start_unix_ms as f64) as f32 / 1000.0;
                let p = node_at(containers, host, seed, at / step_ms, t, None);
                sum[0] += u64::from(p.cpu);
                sum[1] += u64::from(p.memory);
                sum[2] += p.net_bytes_per_sec();
                sum[3] += u64::from(p.containers);
            }
            let n = u64::from(POINTS_PER_MINUTE);
            let mean = NodePoint {
                cpu: (sum[0] / n) as u16,
                memory: (sum[1] / n) as u16,
                net: fleetdeck_core::history::magnitude_code(sum[2] / n),
                containers: (sum[3] / n) as u16,
            };
            (minute * MINUTE_MS, mean)
        })
        .collect();
    Past {
        minutes,
        samples,
        containers: containers
            .iter()
            .zip(points)
            .map(|(c, p)| (c.spec.id.clone(), p))
            .collect(),
    }
}
