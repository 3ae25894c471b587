//! Fixed-size ring buffers of recent samples.

/// The most recent `capacity` samples of one figure, oldest first when iterated.
#[derive(Debug, Clone)]
pub struct Series {
    buf: Box<[f32]>,
    head: usize,
    len: usize,
}

impl Series {
    /// An empty series keeping at most `capacity` samples (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            buf: vec![0.0; capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// Appends a sample, dropping the oldest when full.
    pub fn push(&mut self, value: f32) {
        self.buf[self.head] = value;
        self.head = (self.head + 1) % self.buf.len();
        self.len = (self.len + 1).min(self.buf.len());
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most samples this series keeps.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The newest sample.
    pub fn last(&self) -> Option<f32> {
        (self.len > 0).then(|| self.buf[(self.head + self.buf.len() - 1) % self.buf.len()])
    }

    /// The sample `back` places before the newest (0 = the newest), if held.
    pub fn back(&self, back: usize) -> Option<f32> {
        (back < self.len).then(|| {
            let cap = self.buf.len();
            self.buf[(self.head + cap - 1 - back) % cap]
        })
    }

    /// Samples from oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = f32> + ExactSizeIterator + '_ {
        let cap = self.buf.len();
        let start = (self.head + cap - self.len) % cap;
        (0..self.len).map(move |i| self.buf[(start + i) % cap])
    }

    /// The newest `n` samples (or fewer), oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = f32> + '_ {
        self.iter().skip(self.len.saturating_sub(n))
    }

    /// Mean of the newest `n` samples (or fewer), `None` when empty.
    pub fn tail_mean(&self, n: usize) -> Option<f32> {
        let take = self.len.min(n);
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
        let mut s = Series::new(3);
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
        let mut s = Series::new(6);
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
        let mut s = Series::new(4);
        s.push(1.0);
        s.push(2.0);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        assert_eq!(s.capacity(), 4);
    }
}
