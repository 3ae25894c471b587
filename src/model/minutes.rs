//! 1-minute means of one figure for the last 24 hours, addressed by minute of agent time:
//! what the heatmap shows when it is scrolled back past the samples kept at the interval.

use super::Scale;

/// Minutes kept (24 hours).
pub const LOAD_MINUTES: usize = 24 * 60;
const MINUTE_MS: u64 = 60_000;
/// The slot of a minute no figure is known for.
const UNKNOWN: u16 = u16::MAX;
/// How the means are kept: loads are 0-100, in hundredths.
const SCALE: Scale = Scale::Hundredths;

/// A ring of 1-minute means, one slot per minute (`minute % capacity`), [`UNKNOWN`] where
/// no figure is known. 2 bytes a minute (0.01 steps up to 655.34): 2.8 KiB per node for
/// 24 hours.
#[derive(Debug, Clone)]
pub struct Minutes {
    buf: Box<[u16]>,
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
            buf: vec![UNKNOWN; capacity.max(1)].into_boxed_slice(),
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
                    self.buf[(m % cap) as usize] = UNKNOWN;
                }
                self.newest = Some(minute);
            }
            Some(newest) if newest - minute >= cap => return,
            Some(_) => {}
            None => self.newest = Some(minute),
        }
        // NaN is no figure: the minute stays unknown.
        self.buf[(minute % cap) as usize] = if value.is_nan() {
            UNKNOWN
        } else {
            SCALE.encode(value).min(UNKNOWN - 1)
        };
        self.oldest = self.oldest.min(minute);
    }

    /// The mean of `minute`, if known.
    pub fn get(&self, minute: u64) -> Option<f32> {
        let newest = self.newest?;
        let cap = self.buf.len() as u64;
        if minute > newest || newest - minute >= cap {
            return None;
        }
        let code = self.buf[(minute % cap) as usize];
        (code != UNKNOWN).then(|| SCALE.decode(code))
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

    #[test]
    fn means_round_trip_within_the_step_and_stay_below_unknown() {
        let mut m = Minutes::new(8);
        for (minute, value) in [(0, 0.0), (1, 33.333), (2, 100.0), (3, 1_000.0)] {
            m.set(minute, value);
        }
        m.set(4, f32::NAN);
        assert_eq!(m.get(0), Some(0.0));
        assert!((m.get(1).unwrap() - 33.333).abs() <= 0.005);
        assert_eq!(m.get(2), Some(100.0));
        assert_eq!(m.get(3), Some(655.34), "clamped below the unknown mark");
        assert_eq!(m.get(4), None, "NaN is no figure");
    }
}
