//! The node's recent past, kept so a console that connects (or reconnects after an
//! outage) is full from its first screen instead of from the moment it connected.
//!
//! Fixed rings of quantised integers (`fleetdeck_core::history`), fed by the sampler once
//! per sampling tick:
//!
//! - per node: the last [`FINE_SAMPLES`] samples (10 minutes at the default 1 s interval),
//!   16 B each (time + 8 B of figures), and [`MINUTES`] 1-minute means (24 hours), 8 B
//!   each: [`NODE_BYTES`] = 21,120 B, fixed, whatever the node does;
//! - per container: CPU and memory for the last [`FINE_SAMPLES`] samples, 4 B each:
//!   [`CONTAINER_BYTES`] = 2,400 B, plus about 40 B of map and ring bookkeeping.
//!
//! So a sim process with 1,000 nodes and 30,000 containers holds about 21 MB + 73 MB.

use std::collections::{HashMap, HashSet};

use fleetdeck_core::history::{ContainerHistory, ContainerPoint, History, NodePoint};

/// Node and container samples kept at the sample interval.
pub const FINE_SAMPLES: usize = 600;
/// 1-minute means kept for the node (24 hours).
pub const MINUTES: usize = 24 * 60;
/// Bytes of samples a node's rings hold, whatever happens.
pub const NODE_BYTES: usize = FINE_SAMPLES * std::mem::size_of::<(u64, NodePoint)>()
    + MINUTES * std::mem::size_of::<NodePoint>();
/// Bytes of samples a container's ring holds.
pub const CONTAINER_BYTES: usize = FINE_SAMPLES * std::mem::size_of::<ContainerPoint>();
/// Most container values one reply carries (about 3 bytes each on the wire); beyond it
/// each container gets fewer samples, so a reply stays under about 1 MiB per node.
pub const MAX_REPLY_CONTAINER_VALUES: usize = 200_000;

const MINUTE_MS: u64 = 60_000;
/// Marks a minute with no sample in the minute ring (never sent).
const NO_DATA: NodePoint = NodePoint {
    cpu: u16::MAX,
    memory: u16::MAX,
    net: 0,
    containers: 0,
};

/// A fixed ring of `Copy` values, oldest first when iterated.
#[derive(Debug, Clone)]
struct Ring<T> {
    buf: Box<[T]>,
    /// Next slot written.
    head: u32,
    len: u32,
}

impl<T: Copy + Default> Ring<T> {
    fn new(capacity: usize) -> Self {
        Self {
            buf: vec![T::default(); capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, v: T) {
        let cap = self.buf.len() as u32;
        self.buf[self.head as usize] = v;
        self.head = (self.head + 1) % cap;
        self.len = (self.len + 1).min(cap);
    }

    fn len(&self) -> usize {
        self.len as usize
    }

    fn last(&self) -> Option<T> {
        let cap = self.buf.len() as u32;
        (self.len > 0).then(|| self.buf[((self.head + cap - 1) % cap) as usize])
    }

    /// The newest `n` values (or fewer), oldest first.
    fn tail(&self, n: usize) -> impl Iterator<Item = T> + '_ {
        let cap = self.buf.len();
        let take = n.min(self.len());
        let start = (self.head as usize + cap - take) % cap;
        (0..take).map(move |i| self.buf[(start + i) % cap])
    }
}

/// Figures of one minute being summed.
#[derive(Debug, Clone, Copy)]
struct MinuteSum {
    minute: u64,
    cpu: u64,
    memory: u64,
    net: u64,
    containers: u64,
    n: u64,
}

impl MinuteSum {
    fn mean(&self) -> NodePoint {
        let n = self.n.max(1);
        let div = |sum: u64| u16::try_from(sum / n).unwrap_or(u16::MAX);
        NodePoint {
            cpu: div(self.cpu),
            memory: div(self.memory),
            // Codes are not linear: average the rates, then code the mean.
            net: fleetdeck_core::history::magnitude_code(self.net / n),
            containers: div(self.containers),
        }
    }
}

/// What a History request asks for, already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Only what was sampled after this agent time (ms); 0 = everything held.
    pub since_unix_ms: u64,
    pub node_samples: usize,
    pub container_samples: usize,
    pub minutes: usize,
}

/// A simulated node's generated past, handed to the hub before its first sample.
#[derive(Debug, Clone, Default)]
pub struct Past {
    /// 1-minute means older than `samples`: (start of the minute ms, mean), oldest first.
    pub minutes: Vec<(u64, NodePoint)>,
    /// The node at the sample interval, oldest first.
    pub samples: Vec<(u64, NodePoint)>,
    /// Containers by runtime id, each series ending with the last of `samples`.
    pub containers: Vec<(String, Vec<ContainerPoint>)>,
}

/// One node's history.
#[derive(Debug, Clone)]
pub struct NodeHistory {
    fine: Ring<(u64, NodePoint)>,
    minutes: Ring<NodePoint>,
    /// Minute (ms / 60,000) of the newest entry in `minutes`.
    newest_minute: Option<u64>,
    summing: Option<MinuteSum>,
    containers: HashMap<u32, Ring<ContainerPoint>>,
    /// Keys listed in the newest tick (kept to reuse its allocation).
    seen: Vec<u32>,
}

impl Default for NodeHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeHistory {
    /// Empty rings, allocated once at their full size.
    pub fn new() -> Self {
        Self {
            fine: Ring::new(FINE_SAMPLES),
            minutes: Ring::new(MINUTES),
            newest_minute: None,
            summing: None,
            containers: HashMap::new(),
            seen: Vec::new(),
        }
    }

    /// Samples held at the sample interval.
    pub fn samples(&self) -> usize {
        self.fine.len()
    }

    /// Containers with a ring.
    pub fn containers(&self) -> usize {
        self.containers.len()
    }

    /// Records one sampling tick taken at `time_ms`: the node's figures and every container
    /// the node has (by key); a container not listed is forgotten.
    pub fn record(
        &mut self,
        time_ms: u64,
        node: NodePoint,
        containers: impl IntoIterator<Item = (u32, ContainerPoint)>,
    ) {
        // Times go forward on the wire even if the clock steps back.
        let time_ms = match self.fine.last() {
            Some((last, _)) if time_ms <= last => last + 1,
            _ => time_ms,
        };
        self.fine.push((time_ms, node));
        self.sum_minute(time_ms, node);
        self.seen.clear();
        for (key, point) in containers {
            self.seen.push(key);
            self.containers
                .entry(key)
                .or_insert_with(|| Ring::new(FINE_SAMPLES))
                .push(point);
        }
        // Every listed key has a ring, so equal counts mean no ring is left over; a ring
        // that missed a tick would no longer end with the node's newest sample.
        if self.containers.len() != self.seen.len() {
            let seen: HashSet<u32> = self.seen.iter().copied().collect();
            self.containers.retain(|k, _| seen.contains(k));
        }
    }

    fn sum_minute(&mut self, time_ms: u64, p: NodePoint) {
        let minute = time_ms / MINUTE_MS;
        match &mut self.summing {
            Some(s) if s.minute == minute => {
                s.cpu += u64::from(p.cpu);
                s.memory += u64::from(p.memory);
                s.net += p.net_bytes_per_sec();
                s.containers += u64::from(p.containers);
                s.n += 1;
                return;
            }
            Some(s) => {
                let (done, mean) = (s.minute, s.mean());
                self.push_minute(done, mean);
            }
            None => {}
        }
        self.summing = Some(MinuteSum {
            minute,
            cpu: u64::from(p.cpu),
            memory: u64::from(p.memory),
            net: p.net_bytes_per_sec(),
            containers: u64::from(p.containers),
            n: 1,
        });
    }

    /// Puts the mean of `minute` in the ring, after markers for any minute skipped.
    fn push_minute(&mut self, minute: u64, mean: NodePoint) {
        if let Some(newest) = self.newest_minute {
            if minute <= newest {
                return;
            }
            let skipped = (minute - newest - 1).min(MINUTES as u64);
            for _ in 0..skipped {
                self.minutes.push(NO_DATA);
            }
        }
        self.minutes.push(mean);
        self.newest_minute = Some(minute);
    }

    /// Takes in a generated past (sim nodes) before the first tick; `keys` maps runtime
    /// ids to the hub's keys.
    pub fn seed(&mut self, past: Past, keys: &HashMap<String, u32>) {
        for (start, mean) in past.minutes {
            self.push_minute(start / MINUTE_MS, mean);
        }
        let n = past.samples.len();
        for (time, point) in past.samples {
            self.record(time, point, std::iter::empty());
        }
        for (id, points) in past.containers {
            let Some(key) = keys.get(&id) else { continue };
            let ring = self
                .containers
                .entry(*key)
                .or_insert_with(|| Ring::new(FINE_SAMPLES));
            for p in points.iter().skip(points.len().saturating_sub(n)) {
                ring.push(*p);
            }
        }
    }

    /// What a History reply carries for `wanted`.
    pub fn read(&self, epoch: u64, sample_interval_ms: u32, wanted: Wanted) -> History {
        let since = wanted.since_unix_ms;
        let after = self
            .fine
            .tail(FINE_SAMPLES)
            .filter(|(t, _)| *t > since)
            .count();
        let samples_n = after.min(wanted.node_samples);
        let samples: Vec<(u64, NodePoint)> = self.fine.tail(samples_n).collect();
        let per_container = if self.containers.is_empty() {
            0
        } else {
            wanted
                .container_samples
                .min(after)
                .min(MAX_REPLY_CONTAINER_VALUES / self.containers.len())
        };
        let mut containers: Vec<ContainerHistory> = self
            .containers
            .iter()
            .map(|(key, ring)| ContainerHistory {
                key: *key,
                points: ring.tail(per_container).collect(),
            })
            .filter(|c| !c.points.is_empty())
            .collect();
        containers.sort_by_key(|c| c.key);
        History {
            epoch,
            sample_interval_ms,
            samples,
            minutes: self.read_minutes(since, wanted.minutes),
            containers,
        }
    }

    /// Completed minutes not wholly before `since`, newest `limit`, oldest first.
    fn read_minutes(&self, since: u64, limit: usize) -> Vec<(u64, NodePoint)> {
        let Some(newest) = self.newest_minute else {
            return Vec::new();
        };
        let len = self.minutes.len() as u64;
        let mut out: Vec<(u64, NodePoint)> = self
            .minutes
            .tail(MINUTES)
            .enumerate()
            .map(|(i, p)| ((newest + 1 + i as u64 - len) * MINUTE_MS, p))
            .filter(|(start, p)| *p != NO_DATA && start + MINUTE_MS > since)
            .collect();
        let skip = out.len().saturating_sub(limit);
        out.drain(..skip);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(cpu: f32) -> NodePoint {
        NodePoint::new(cpu, 50.0, 1000, 3)
    }

    fn all() -> Wanted {
        Wanted {
            since_unix_ms: 0,
            node_samples: FINE_SAMPLES,
            container_samples: FINE_SAMPLES,
            minutes: MINUTES,
        }
    }

    #[test]
    fn sizes_are_what_the_docs_say() {
        assert_eq!(std::mem::size_of::<NodePoint>(), 8);
        assert_eq!(std::mem::size_of::<(u64, NodePoint)>(), 16);
        assert_eq!(std::mem::size_of::<ContainerPoint>(), 4);
        assert_eq!(NODE_BYTES, 21_120);
        assert_eq!(CONTAINER_BYTES, 2_400);
        // The ring header a container costs beside its samples.
        assert_eq!(std::mem::size_of::<Ring<ContainerPoint>>(), 24);
        let h = NodeHistory::new();
        assert_eq!(h.fine.buf.len(), FINE_SAMPLES);
        assert_eq!(h.minutes.buf.len(), MINUTES);
    }

    #[test]
    fn ten_minutes_at_the_interval_then_the_oldest_goes() {
        let mut h = NodeHistory::new();
        for i in 0..(FINE_SAMPLES as u64 + 25) {
            h.record(
                i * 1000,
                point(i as f32 % 100.0),
                [(1, ContainerPoint::new(i as f32, 1 << 20))],
            );
        }
        let r = h.read(9, 1000, all());
        assert_eq!(r.samples.len(), FINE_SAMPLES);
        assert_eq!(r.samples[0].0, 25_000, "the 25 oldest were evicted");
        assert_eq!(
            r.samples.last().map(|s| s.0),
            Some((FINE_SAMPLES as u64 + 24) * 1000)
        );
        assert_eq!(r.containers.len(), 1);
        assert_eq!(r.containers[0].points.len(), FINE_SAMPLES);
        assert_eq!(r.containers[0].points[0].cpu_percent(), 25.0);
    }

    #[test]
    fn twenty_four_hours_of_minute_means_then_the_oldest_goes() {
        let mut h = NodeHistory::new();
        // Two samples a minute for 25 hours and one minute.
        let minutes = MINUTES as u64 + 61;
        for m in 0..minutes {
            for s in [0u64, 30_000] {
                let cpu = if s == 0 { 10.0 } else { 30.0 };
                h.record(m * MINUTE_MS + s, point(cpu + (m % 7) as f32), []);
            }
        }
        let r = h.read(1, 1000, all());
        // The minute still being summed is not sent.
        assert_eq!(r.minutes.len(), MINUTES);
        assert_eq!(
            r.minutes[0].0,
            60 * MINUTE_MS,
            "the first 60 minutes were evicted"
        );
        assert_eq!(
            r.minutes.last().map(|m| m.0),
            Some((minutes - 2) * MINUTE_MS)
        );
        // Each minute is the mean of its two samples.
        let (start, mean) = r.minutes[5];
        assert_eq!(mean.cpu_percent(), 20.0 + ((start / MINUTE_MS) % 7) as f32);
    }

    #[test]
    fn a_reconnecting_console_gets_only_the_gap_and_removed_containers_go() {
        let mut h = NodeHistory::new();
        for i in 0..200u64 {
            let mut cs = vec![(1, ContainerPoint::new(1.0, 1))];
            if i < 150 {
                cs.push((2, ContainerPoint::new(2.0, 2)));
            }
            h.record(i * 1000, point(5.0), cs);
        }
        assert_eq!(h.containers(), 1, "container 2 stopped being listed");
        let r = h.read(
            1,
            1000,
            Wanted {
                since_unix_ms: 170_000,
                container_samples: 20,
                ..all()
            },
        );
        assert_eq!(r.samples.len(), 29);
        assert_eq!(r.samples[0].0, 171_000);
        assert_eq!(r.containers[0].points.len(), 20, "as many as asked for");
        // Minutes that end before `since` are not sent; the one it falls in is.
        assert_eq!(
            r.minutes.iter().map(|m| m.0).collect::<Vec<_>>(),
            vec![120_000]
        );
    }

    #[test]
    fn a_clock_stepping_back_never_makes_times_go_back() {
        let mut h = NodeHistory::new();
        h.record(5000, point(1.0), []);
        h.record(4000, point(2.0), []);
        let r = h.read(1, 1000, all());
        assert_eq!(
            r.samples.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![5000, 5001]
        );
    }

    #[test]
    fn a_seeded_past_comes_before_the_first_tick() {
        let mut h = NodeHistory::new();
        let past = Past {
            minutes: vec![(0, point(40.0)), (MINUTE_MS, point(41.0))],
            samples: (0..5).map(|i| (120_000 + i * 1000, point(1.0))).collect(),
            containers: vec![("abc".into(), vec![ContainerPoint::new(3.0, 9); 5])],
        };
        let keys = HashMap::from([("abc".to_string(), 4u32)]);
        h.seed(past, &keys);
        h.record(125_000, point(2.0), [(4, ContainerPoint::new(4.0, 9))]);
        let r = h.read(1, 1000, all());
        assert_eq!(r.samples.len(), 6);
        assert_eq!(r.containers[0].points.len(), 6);
        assert_eq!(r.minutes.len(), 2);
        assert_eq!(r.minutes[1].1.cpu_percent(), 41.0);
    }
}
