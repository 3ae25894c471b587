//! Fixed-size ring buffers of recent samples, 16 bits a sample.
//!
//! A console following 5,000 nodes holds about 150,000 containers; their sparklines are
//! most of what it keeps per container. Samples are stored quantised (see [`Scale`]), which
//! halves that against `f32` and is finer than any figure the screen shows.

use fleetdeck_core::history::{magnitude, magnitude_code};

/// How a series turns its figures into 16 bits and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 0-655.35 in steps of 0.01 (percentages of a whole: host CPU, memory, load).
    Hundredths,
    /// 0-6,553.5 in steps of 0.1 (a container's percent of one core, as the agent's
    /// history keeps it).
    Tenths,
    /// Non-negative magnitudes (bytes) as core's `magnitude_code`: exact below 2,048, within
    /// 0.1 % above.
    Magnitude,
}

impl Scale {
    /// The code of `value`: clamped to the scale's range, NaN and negatives as 0.
    pub fn encode(self, value: f32) -> u16 {
        let value = if value.is_nan() { 0.0 } else { value.max(0.0) };
        let fixed = |per_unit: f32| (value * per_unit).round().min(f32::from(u16::MAX)) as u16;
        match self {
            Self::Hundredths => fixed(100.0),
            Self::Tenths => fixed(10.0),
            Self::Magnitude => magnitude_code(value.round() as u64),
        }
    }

    /// The figure a code stands for.
    pub fn decode(self, code: u16) -> f32 {
        match self {
            Self::Hundredths => f32::from(code) / 100.0,
            Self::Tenths => f32::from(code) / 10.0,
            Self::Magnitude => magnitude(code) as f32,
        }
    }
}

/// The most recent `capacity` samples of one figure, oldest first when iterated.
#[derive(Debug, Clone)]
pub struct Series {
    buf: Box<[u16]>,
    head: u32,
    len: u32,
    scale: Scale,
}

impl Series {
    /// An empty series keeping at most `capacity` samples (at least one) on `scale`.
    pub fn new(capacity: usize, scale: Scale) -> Self {
        let capacity = capacity.clamp(1, u32::MAX as usize);
        Self {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            scale,
        }
    }

    /// Appends a sample, dropping the oldest when full.
    pub fn push(&mut self, value: f32) {
        let cap = self.buf.len();
        let head = self.head as usize;
        self.buf[head] = self.scale.encode(value);
        self.head = ((head + 1) % cap) as u32;
        self.len = (self.len as usize + 1).min(cap) as u32;
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most samples this series keeps.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// How samples are stored.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// The newest sample.
    pub fn last(&self) -> Option<f32> {
        self.back(0)
    }

    /// The sample `back` places before the newest (0 = the newest), if held.
    pub fn back(&self, back: usize) -> Option<f32> {
        (back < self.len()).then(|| {
            let cap = self.buf.len();
            self.scale
                .decode(self.buf[(self.head as usize + cap - 1 - back) % cap])
        })
    }

    /// Samples from oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = f32> + ExactSizeIterator + '_ {
        let cap = self.buf.len();
        let start = (self.head as usize + cap - self.len()) % cap;
        let scale = self.scale;
        (0..self.len()).map(move |i| scale.decode(self.buf[(start + i) % cap]))
    }

    /// The newest `n` samples (or fewer), oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = f32> + '_ {
        self.iter().skip(self.len().saturating_sub(n))
    }

    /// Mean of the newest `n` samples (or fewer), `None` when empty.
    pub fn tail_mean(&self, n: usize) -> Option<f32> {
        let take = self.len().min(n);
        (take > 0).then(|| self.tail(take).sum::<f32>() / take as f32)
    }

    /// Largest sample held, 0 when empty.
    pub fn max(&self) -> f32 {
        self.iter().fold(0.0, f32::max)
    }

    /// Rebuilds the series as its oldest `keep_oldest` samples, then `insert`, then its
    /// newest `keep_newest` (the two kept runs never overlap): how a backfill fills a gap
    /// without repeating samples the series already holds. The oldest go when it is full.
    pub fn splice(
        &mut self,
        keep_oldest: usize,
        insert: impl IntoIterator<Item = f32>,
        keep_newest: usize,
    ) {
        let all: Vec<f32> = self.iter().collect();
        let newest_from = all.len() - keep_newest.min(all.len());
        let oldest_to = keep_oldest.min(newest_from);
        self.clear();
        for v in all[..oldest_to]
            .iter()
            .copied()
            .chain(insert)
            .chain(all[newest_from..].iter().copied())
        {
            self.push(v);
        }
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_samples_in_order() {
        let mut s = Series::new(3, Scale::Hundredths);
        assert!(s.is_empty());
        assert_eq!(s.last(), None);
        for v in 1..=5 {
            s.push(v as f32);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
        assert_eq!(s.last(), Some(5.0));
        assert_eq!(s.tail(2).collect::<Vec<_>>(), vec![4.0, 5.0]);
        assert_eq!(s.tail(10).count(), 3);
        assert_eq!(s.max(), 5.0);
        assert_eq!(s.tail_mean(2), Some(4.5));
        assert_eq!(s.tail_mean(10), Some(4.0));
        assert_eq!(
            (s.back(0), s.back(2), s.back(3)),
            (Some(5.0), Some(3.0), None)
        );
        s.clear();
        assert_eq!(s.iter().count(), 0);
        assert_eq!(s.tail_mean(3), None);
    }

    #[test]
    fn splice_fills_a_gap_between_kept_runs() {
        let mut s = Series::new(6, Scale::Hundredths);
        for v in [1.0, 2.0, 8.0, 9.0] {
            s.push(v);
        }
        s.splice(2, [3.0, 4.0, 5.0], 2);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0, 5.0, 8.0, 9.0]
        );
        // Runs that would overlap keep the newest; nothing is repeated, and what is
        // inserted goes before the newest run (here out of a full ring).
        s.splice(10, [7.0], 10);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0, 5.0, 8.0, 9.0]
        );
    }

    #[test]
    fn partial_fill_iterates_from_the_first_sample() {
        let mut s = Series::new(4, Scale::Hundredths);
        s.push(1.0);
        s.push(2.0);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        assert_eq!(s.capacity(), 4);
    }

    #[test]
    fn samples_round_trip_within_half_a_step() {
        for (scale, values, step) in [
            (
                Scale::Hundredths,
                [0.0, 0.004, 12.345, 99.99, 100.0, 655.35],
                0.01,
            ),
            (
                Scale::Tenths,
                [0.0, 0.04, 3.14321, 250.0, 799.95, 6_553.5],
                0.1,
            ),
        ] {
            let mut s = Series::new(values.len(), scale);
            for v in values {
                s.push(v);
            }
            for (got, want) in s.iter().zip(values) {
                assert!(
                    (got - want).abs() <= step / 2.0 + 1e-4,
                    "{scale:?}: {want} came back as {got}"
                );
            }
        }
        let bytes = [0.0, 1.0, 2_047.0, 2_049.0, 300.0 * 1024.0, 1.5e9, 6.0e10];
        let mut s = Series::new(bytes.len(), Scale::Magnitude);
        for v in bytes {
            s.push(v);
        }
        for (got, want) in s.iter().zip(bytes) {
            if want < 2_048.0 {
                assert_eq!(got, want, "exact below 2,048");
            } else {
                assert!(
                    ((got - want) / want).abs() <= 0.001,
                    "{want} came back as {got}"
                );
            }
        }
    }

    #[test]
    fn out_of_range_samples_are_clamped_to_the_scale() {
        let mut s = Series::new(4, Scale::Hundredths);
        for v in [-5.0, f32::NAN, 700.0, f32::INFINITY] {
            s.push(v);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0.0, 0.0, 655.35, 655.35]);
        let mut t = Series::new(2, Scale::Tenths);
        t.push(1e9);
        t.push(-1.0);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![6_553.5, 0.0]);
        let mut m = Series::new(1, Scale::Magnitude);
        m.push(-1.0);
        assert_eq!(m.last(), Some(0.0));
        m.push(f32::MAX);
        assert_eq!(
            m.last(),
            Some(Scale::Magnitude.decode(u16::MAX)),
            "saturates at the largest code"
        );
        assert_eq!(m.len(), 1, "a one-sample ring keeps the newest");
    }
}
