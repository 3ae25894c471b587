//! Limits that keep one caller from exhausting the agent: a token bucket per caller on
//! actions, and caps on concurrent Watch and Logs streams.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Actions a caller may send in a burst.
pub const ACTION_BURST: u32 = 200;
/// Actions per second a caller may sustain.
pub const ACTIONS_PER_SEC: u32 = 50;
/// Concurrent Watch streams, all callers together.
pub const MAX_WATCH_STREAMS: usize = 512;
/// Concurrent Logs streams, all callers together (each may hold an engine connection).
pub const MAX_LOGS_STREAMS: usize = 64;
/// Callers remembered by the rate limiter; beyond that, full buckets are forgotten.
const MAX_TRACKED_CALLERS: usize = 4096;

/// A token bucket per caller.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `burst` at once, then `per_sec`.
    pub fn new(burst: u32, per_sec: u32) -> Self {
        Self {
            burst: f64::from(burst),
            per_sec: f64::from(per_sec),
            buckets: Mutex::default(),
        }
    }

    /// Takes one token for `caller` at `now`; false when its bucket is empty.
    pub fn allow(&self, caller: &str, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_CALLERS && !buckets.contains_key(caller) {
            let (burst, rate) = (self.burst, self.per_sec);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets
            .entry(caller.to_owned())
            .or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.per_sec;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sustained actions a second.
    pub fn per_sec(&self) -> f64 {
        self.per_sec
    }

    /// How long until `caller` may act again, roughly (for the error message).
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_sec.max(0.001))
    }
}

/// A cap on concurrent streams of one kind.
#[derive(Debug, Clone)]
pub struct StreamCap {
    what: &'static str,
    max: usize,
    permits: Arc<Semaphore>,
}

impl StreamCap {
    /// At most `max` `what` streams at once.
    pub fn new(what: &'static str, max: usize) -> Self {
        Self {
            what,
            max,
            permits: Arc::new(Semaphore::new(max)),
        }
    }

    /// A slot, or RESOURCE_EXHAUSTED saying how many are open.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, tonic::Status> {
        Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            tonic::Status::resource_exhausted(format!(
                "this agent already serves {} {} streams; close some and retry",
                self.max, self.what
            ))
        })
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// A stream that holds its slot until tonic drops it (stream over or client gone).
pub struct Permitted<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
}

impl<S> Permitted<S> {
    /// `inner`, counted against `permit`'s cap.
    pub fn new(inner: S, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            _permit: permit,
        }
    }
}

impl<S: Stream + Unpin> Stream for Permitted<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(3, 2);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow("a", t0)));
        assert!(!limiter.allow("a", t0), "burst spent");
        assert!(limiter.allow("b", t0), "callers are separate");
        assert!(!limiter.allow("a", t0 + Duration::from_millis(400)));
        assert!(limiter.allow("a", t0 + Duration::from_millis(1000)));
        assert!(limiter.allow("a", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn many_callers_stay_bounded() {
        let limiter = RateLimiter::new(1, 1);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_CALLERS * 2) {
            limiter.allow(&format!("c{i}"), t0 + Duration::from_secs(i as u64));
        }
        let tracked = limiter.buckets.lock().unwrap().len();
        assert!(tracked <= MAX_TRACKED_CALLERS + 1, "{tracked}");
    }

    #[test]
    fn stream_cap_frees_its_slot_on_drop() {
        let cap = StreamCap::new("Watch", 2);
        let a = cap.take().unwrap();
        let _b = cap.take().unwrap();
        let e = cap.take().unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("2 Watch streams"));
        drop(a);
        assert!(cap.take().is_ok());
    }
}
