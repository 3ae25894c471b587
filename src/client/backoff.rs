//! Jittered exponential backoff between reconnection attempts.
//!
//! Pure: the caller supplies the random source and does the sleeping, so the schedule is
//! tested without waiting.

use std::time::Duration;

use rand::Rng;

/// Delay ceiling of the first retry.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Largest delay between two attempts: a restarted agent is found again within this.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Exponential backoff (x2 per failure, capped) with "equal jitter": each delay is drawn
/// from `[ceiling / 2, ceiling]`, so consoles that lost the same agent spread out their
/// retries yet none of them retries in a tight loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP)
    }
}

impl Backoff {
    /// A backoff whose first ceiling is `base`, doubling up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base: base.max(Duration::from_millis(1)),
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// Ceiling of the next delay, before jitter.
    pub fn ceiling(&self) -> Duration {
        // 2^16 x base passes any sane cap; clamping the shift keeps the arithmetic finite.
        let factor = 1u32 << self.failures.min(16);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub fn next_delay<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let half_ms = ceiling_ms / 2;
        Duration::from_millis(half_ms + rng.random_range(0..=ceiling_ms - half_ms))
    }

    /// Failures counted since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Starts over after a success, so the next failure is retried quickly.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let mut b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(1);
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            ceilings.push(b.ceiling().as_millis());
            b.next_delay(&mut rng);
        }
        assert_eq!(ceilings, vec![250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(b.failures(), 8);
    }

    #[test]
    fn delays_stay_within_half_and_full_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let mut b = Backoff::default();
            for _ in 0..10 {
                let ceiling = b.ceiling();
                let d = b.next_delay(&mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} vs {ceiling:?}");
            }
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut rng = StdRng::seed_from_u64(3);
        let delays: std::collections::BTreeSet<_> = (0..50)
            .map(|_| {
                let mut b = Backoff {
                    failures: 10,
                    ..Backoff::default()
                };
                b.next_delay(&mut rng)
            })
            .collect();
        assert!(
            delays.len() > 10,
            "jitter produced {} distinct delays",
            delays.len()
        );
    }

    #[test]
    fn reset_starts_over_and_many_failures_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..10_000 {
            assert!(b.next_delay(&mut rng) <= Duration::from_secs(2));
        }
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
        assert_eq!(b.failures(), 0);
    }
}
