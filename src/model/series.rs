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
    fn partial_fill_iterates_from_the_first_sample() {
        let mut s = Series::new(4);
        s.push(1.0);
        s.push(2.0);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        assert_eq!(s.capacity(), 4);
    }
}
