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
/// Concurrent Watch streams of one caller (a console holds one per agent it follows).
pub const MAX_WATCH_STREAMS_PER_CALLER: usize = 64;
/// Concurrent Logs streams of one caller.
pub const MAX_LOGS_STREAMS_PER_CALLER: usize = 16;
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

/// A cap on concurrent streams of one kind: all callers together, and each caller alone,
/// so one token cannot take every slot and lock the other consoles out.
#[derive(Debug, Clone)]
pub struct StreamCap {
    what: &'static str,
    max: usize,
    per_caller: usize,
    permits: Arc<Semaphore>,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream's place under a [`StreamCap`]; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    caller: String,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.caller);
            }
        }
    }
}

impl StreamCap {
    /// At most `max` `what` streams at once, `per_caller` of them for one caller.
    pub fn new(what: &'static str, max: usize, per_caller: usize) -> Self {
        Self {
            what,
            max,
            per_caller,
            permits: Arc::new(Semaphore::new(max)),
            held: Arc::default(),
        }
    }

    /// A slot for `caller`, or RESOURCE_EXHAUSTED saying which cap is full.
    pub fn take(&self, caller: &str) -> Result<Slot, tonic::Status> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = held.get(caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(tonic::Status::resource_exhausted(format!(
                "{} already holds {} {} streams, the most one caller may; close some and retry",
                crate::validate::shown(caller),
                self.per_caller,
                self.what
            )));
        }
        let permit = Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            tonic::Status::resource_exhausted(format!(
                "this agent already serves {} {} streams; close some and retry",
                self.max, self.what
            ))
        })?;
        held.insert(caller.to_owned(), mine + 1);
        Ok(Slot {
            _permit: permit,
            caller: caller.to_owned(),
            held: Arc::clone(&self.held),
        })
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.max.saturating_sub(self.available())
    }
}

/// Tells a long-lived stream whether its caller may still be served.
pub type StillValid = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How often an open stream re-checks its caller's credential.
pub const REVALIDATE_INTERVAL: Duration = Duration::from_secs(1);

/// A stream that holds its slot until tonic drops it (stream over or client gone), and
/// ends with UNAUTHENTICATED once its caller's credential is revoked.
pub struct Permitted<S> {
    inner: S,
    _slot: Slot,
    check: Option<(StillValid, tokio::time::Interval)>,
    ended: bool,
}

impl<S> Permitted<S> {
    /// `inner`, counted against `slot`'s cap and, with `check`, cut when it fails.
    pub fn new(inner: S, slot: Slot, check: Option<StillValid>) -> Self {
        let check = check.map(|f| {
            let mut every = tokio::time::interval(REVALIDATE_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            (f, every)
        });
        Self {
            inner,
            _slot: slot,
            check,
            ended: false,
        }
    }
}

impl<S, T> Stream for Permitted<S>
where
    S: Stream<Item = Result<T, tonic::Status>> + Unpin,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some((still_valid, every)) = &mut self.check {
            if every.poll_tick(cx).is_ready() {
                if let Err(why) = still_valid() {
                    tracing::warn!("cutting a stream: {why}");
                    self.ended = true;
                    return Poll::Ready(Some(Err(tonic::Status::unauthenticated(why))));
                }
            }
        }
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
        let cap = StreamCap::new("Watch", 2, 2);
        let a = cap.take("x").unwrap();
        let _b = cap.take("y").unwrap();
        let e = cap.take("z").unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("2 Watch streams"));
        drop(a);
        assert!(cap.take("z").is_ok());
    }

    #[test]
    fn one_caller_cannot_take_every_slot() {
        let cap = StreamCap::new("Watch", 10, 3);
        let mine: Vec<_> = (0..3).map(|_| cap.take("token:a").unwrap()).collect();
        let e = cap.take("token:a").unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("token:a already holds 3"), "{e:?}");
        let other = cap.take("token:b").unwrap();
        drop(mine);
        assert!(cap.take("token:a").is_ok(), "slots come back on drop");
        assert_eq!(cap.available(), 9, "{other:?}");
        assert_eq!(
            cap.held.lock().unwrap().len(),
            1,
            "a caller with no stream is forgotten"
        );
    }
}
