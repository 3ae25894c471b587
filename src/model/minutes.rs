//! 1-minute means of one figure for the last 24 hours, addressed by minute of agent time:
//! what the heatmap shows when it is scrolled back past the samples kept at the interval.

/// Minutes kept (24 hours).
pub const LOAD_MINUTES: usize = 24 * 60;
const MINUTE_MS: u64 = 60_000;

/// A ring of 1-minute means, one slot per minute (`minute % capacity`), NaN where no
/// figure is known. 4 bytes a minute: 5.6 KiB per node for 24 hours.
#[derive(Debug, Clone)]
pub struct Minutes {
    buf: Box<[f32]>,
    /// The newest minute held (ms / 60,000 of agent time).
    newest: Option<u64>,
    /// The oldest minute ever set, to say how far back figures go.
    oldest: u64,
    /// The minute live samples are being summed for: (minute, sum, count).
    summing: Option<(u64, f64, u32)>,
}

impl Minutes {
    /// Empty, keeping `capacity` minutes.
    pub fn new(capacity: usize) -> Self {
        Self {
            buf: vec![f32::NAN; capacity.max(1)].into_boxed_slice(),
            newest: None,
            oldest: u64::MAX,
            summing: None,
        }
    }

    /// Adds a live sample taken at `time_ms`; a minute enters the ring when a sample of a
    /// later minute arrives, so a minute is never shown half summed.
    pub fn add(&mut self, time_ms: u64, value: f32) {
        let minute = time_ms / MINUTE_MS;
        match self.summing {
            Some((m, sum, n)) if m == minute => {
                self.summing = Some((m, sum + f64::from(value), n + 1));
            }
            Some((m, _, _)) if minute < m => {}
            Some((m, sum, n)) => {
                self.set(m, (sum / f64::from(n.max(1))) as f32);
                self.summing = Some((minute, f64::from(value), 1));
            }
            None => self.summing = Some((minute, f64::from(value), 1)),
        }
    }

    /// Sets the mean of `minute` (the agent's figure replaces the console's own).
    pub fn set(&mut self, minute: u64, value: f32) {
        let cap = self.buf.len() as u64;
        match self.newest {
            Some(newest) if minute > newest => {
                // Minutes skipped over hold nothing.
                for m in (newest + 1).max(minute.saturating_sub(cap - 1))..minute {
                    self.buf[(m % cap) as usize] = f32::NAN;
                }
                self.newest = Some(minute);
            }
            Some(newest) if newest - minute >= cap => return,
            Some(_) => {}
            None => self.newest = Some(minute),
        }
        self.buf[(minute % cap) as usize] = value;
        self.oldest = self.oldest.min(minute);
    }

    /// The mean of `minute`, if known.
    pub fn get(&self, minute: u64) -> Option<f32> {
        let newest = self.newest?;
        let cap = self.buf.len() as u64;
        if minute > newest || newest - minute >= cap {
            return None;
        }
        let v = self.buf[(minute % cap) as usize];
        (!v.is_nan()).then_some(v)
    }

    /// The mean of the minute agent time `time_ms` falls in, if known.
    pub fn at(&self, time_ms: u64) -> Option<f32> {
        self.get(time_ms / MINUTE_MS)
    }

    /// Start (agent ms) of the oldest minute still held, if any.
    pub fn oldest_ms(&self) -> Option<u64> {
        let newest = self.newest?;
        let first_kept = newest.saturating_sub(self.buf.len() as u64 - 1);
        Some(self.oldest.max(first_kept) * MINUTE_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_samples_become_minute_means_once_the_minute_is_over() {
        let mut m = Minutes::new(4);
        m.add(0, 10.0);
        m.add(30_000, 20.0);
        assert_eq!(m.at(0), None, "still summing");
        m.add(60_000, 50.0);
        assert_eq!(m.at(59_999), Some(15.0));
        assert_eq!(m.at(60_000), None);
        assert_eq!(m.oldest_ms(), Some(0));
    }

    #[test]
    fn set_skips_and_evicts_minutes() {
        let mut m = Minutes::new(4);
        m.set(1, 1.0);
        m.set(3, 3.0);
        assert_eq!((m.get(1), m.get(2), m.get(3)), (Some(1.0), None, Some(3.0)));
        m.set(6, 6.0);
        assert_eq!(
            m.get(1),
            None,
            "evicted: more than 4 minutes before the newest"
        );
        assert_eq!(m.get(3), Some(3.0));
        assert_eq!(m.oldest_ms(), Some(3 * MINUTE_MS));
        m.set(2, 2.0);
        assert_eq!(m.get(2), None, "too old to hold");
        m.set(4, 4.5);
        assert_eq!(
            m.get(4),
            Some(4.5),
            "an older minute inside the ring can be set"
        );
    }
}
