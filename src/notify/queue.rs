//! One receiver's outbox: a bounded queue with retries and backoff, and the receiver's
//! standing (last success, last error, drops) for `fleetdeck monitor --status`.
//!
//! Pure: the sender task supplies the clock and the randomness, so the schedule, the
//! bound and the log throttle are tested on a fake clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::client::Backoff;

/// Items a receiver's queue holds; past it the oldest is dropped (and counted).
pub const QUEUE_CAPACITY: usize = 1024;
/// Delay ceiling of the first retry.
pub const RETRY_BASE: Duration = Duration::from_millis(500);
/// Longest wait between two attempts: a receiver back from an outage gets its backlog
/// within this.
pub const RETRY_CAP: Duration = Duration::from_secs(8);
/// While a receiver keeps failing, the log says so once per this interval.
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How one receiver is doing, as `--status` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverStatus {
    /// What and where (`alertmanager http://127.0.0.1:9093/`), with secrets left out.
    pub name: String,
    /// Items waiting.
    pub queued: usize,
    /// Items dropped because the queue was full.
    pub dropped: u64,
    /// Items delivered.
    pub sent: u64,
    /// Failed attempts in a row (0 when the last one worked).
    pub failures: u32,
    pub last_success_unix_ms: Option<u64>,
    pub last_error: Option<String>,
    pub last_error_unix_ms: Option<u64>,
    /// Set while failing: when the current run of failures began.
    pub failing_since_unix_ms: Option<u64>,
}

impl ReceiverStatus {
    /// True while the receiver's last attempt failed.
    pub fn is_failing(&self) -> bool {
        self.failing_since_unix_ms.is_some()
    }
}

/// A queued item and its dedup key: a newer item with the same key replaces it in place
/// (a resent firing alert, or its resolution, supersedes the copy still waiting).
#[derive(Debug, Clone, PartialEq)]
pub struct Queued<T> {
    pub key: Option<String>,
    pub item: T,
}

/// The queue, the retry schedule and the standing of one receiver.
#[derive(Debug, Clone)]
pub struct Outbox<T> {
    items: VecDeque<Queued<T>>,
    capacity: usize,
    /// A batch is out; it comes back through `succeeded` or `failed`.
    in_flight: bool,
    backoff: Backoff,
    retry_at: Option<Instant>,
    last_failure_log: Option<Instant>,
    status: ReceiverStatus,
}

impl<T> Outbox<T> {
    /// An empty outbox holding at most `capacity` items (at least one).
    pub fn new(name: impl Into<String>, capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            in_flight: false,
            backoff: Backoff::new(RETRY_BASE, RETRY_CAP),
            retry_at: None,
            last_failure_log: None,
            status: ReceiverStatus {
                name: name.into(),
                ..ReceiverStatus::default()
            },
        }
    }

    /// Queues `item`; one with the same key is replaced where it stands. When the queue
    /// is full the oldest item goes.
    pub fn push(&mut self, key: Option<String>, item: T) {
        if let Some(k) = &key {
            if let Some(slot) = self.items.iter_mut().find(|q| q.key.as_ref() == Some(k)) {
                slot.item = item;
                return;
            }
        }
        self.items.push_back(Queued { key, item });
        self.trim();
    }

    /// Items waiting (not counting a batch in flight).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes up to `max` items to send if an attempt is due at `now` and none is out.
    pub fn take(&mut self, now: Instant, max: usize) -> Option<Vec<Queued<T>>> {
        if self.in_flight || self.items.is_empty() || self.retry_at.is_some_and(|t| now < t) {
            return None;
        }
        let n = max.max(1).min(self.items.len());
        self.in_flight = true;
        Some(self.items.drain(..n).collect())
    }

    /// When the next attempt may start: `None` with nothing to send or a batch out.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        if self.in_flight || self.items.is_empty() {
            return None;
        }
        Some(self.retry_at.map_or(now, |t| t.max(now)))
    }

    /// The batch taken last was delivered. Returns a line for the log when this ends a
    /// run of failures.
    pub fn succeeded(&mut self, delivered: usize, now_unix_ms: u64) -> Option<String> {
        self.in_flight = false;
        self.retry_at = None;
        self.backoff.reset();
        self.last_failure_log = None;
        let s = &mut self.status;
        s.sent += delivered as u64;
        s.last_success_unix_ms = Some(now_unix_ms);
        let line = s.failing_since_unix_ms.take().map(|_| {
            format!(
                "{}: delivering again after {} failed attempts",
                s.name, s.failures
            )
        });
        s.failures = 0;
        line
    }

    /// The batch taken last was not delivered: it goes back to the front (behind nothing
    /// newer with the same key), the next attempt waits out the backoff. Returns a line
    /// for the log at the first failure and then once per `FAILURE_LOG_INTERVAL`.
    pub fn failed<R: Rng + ?Sized>(
        &mut self,
        batch: Vec<Queued<T>>,
        error: &str,
        now: Instant,
        now_unix_ms: u64,
        rng: &mut R,
    ) -> Option<String> {
        self.in_flight = false;
        for q in batch.into_iter().rev() {
            let superseded = q
                .key
                .as_ref()
                .is_some_and(|k| self.items.iter().any(|x| x.key.as_ref() == Some(k)));
            if !superseded {
                self.items.push_front(q);
            }
        }
        self.trim();
        self.retry_at = Some(now + self.backoff.next_delay(rng));
        let s = &mut self.status;
        s.failures = s.failures.saturating_add(1);
        s.last_error = Some(error.to_string());
        s.last_error_unix_ms = Some(now_unix_ms);
        s.failing_since_unix_ms.get_or_insert(now_unix_ms);
        let due = self
            .last_failure_log
            .is_none_or(|t| now.saturating_duration_since(t) >= FAILURE_LOG_INTERVAL);
        if !due {
            return None;
        }
        self.last_failure_log = Some(now);
        Some(format!(
            "{}: delivery failing ({} attempts in a row, {} queued, {} dropped): {error}",
            s.name,
            s.failures,
            self.items.len(),
            s.dropped
        ))
    }

    /// The receiver's standing now.
    pub fn status(&self) -> ReceiverStatus {
        ReceiverStatus {
            queued: self.items.len(),
            ..self.status.clone()
        }
    }

    /// Drops the oldest items past the capacity, counting them.
    fn trim(&mut self) {
        while self.items.len() > self.capacity {
            self.items.pop_front();
            self.status.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn keyed(k: &str) -> Option<String> {
        Some(k.to_string())
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let mut o = Outbox::new("r", 3);
        for i in 0..5 {
            o.push(None, i);
        }
        assert_eq!(o.len(), 3);
        assert_eq!(o.status().dropped, 2);
        let now = Instant::now();
        let batch = o.take(now, 10).unwrap();
        assert_eq!(batch.iter().map(|q| q.item).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn a_newer_item_with_the_same_key_replaces_the_waiting_one() {
        let mut o = Outbox::new("r", 10);
        o.push(keyed("a"), "a firing");
        o.push(keyed("b"), "b firing");
        o.push(keyed("a"), "a resolved");
        o.push(None, "x");
        o.push(None, "x");
        let batch = o.take(Instant::now(), 10).unwrap();
        let items: Vec<_> = batch.iter().map(|q| q.item).collect();
        assert_eq!(items, ["a resolved", "b firing", "x", "x"]);
        // Resending the same alerts forever keeps the queue at one item per alert.
        let mut o = Outbox::new("r", 10);
        for _ in 0..1000 {
            o.push(keyed("a"), 1);
            o.push(keyed("b"), 2);
        }
        assert_eq!((o.len(), o.status().dropped), (2, 0));
    }

    #[test]
    fn failures_back_off_and_keep_the_batch_in_order() {
        let mut rng = StdRng::seed_from_u64(7);
        let t0 = Instant::now();
        let mut o = Outbox::new("am", 10);
        o.push(keyed("a"), "a1");
        o.push(keyed("b"), "b1");
        assert_eq!(o.due(t0), Some(t0));
        let batch = o.take(t0, 1).unwrap();
        assert_eq!(batch[0].item, "a1");
        assert!(o.take(t0, 1).is_none(), "one batch out at a time");
        assert_eq!(o.due(t0), None);
        let line = o.failed(batch, "connection refused", t0, 1_000, &mut rng);
        assert!(line.unwrap().contains("connection refused"));
        let due = o.due(t0).unwrap();
        assert!(due > t0 && due <= t0 + RETRY_BASE, "{:?}", due - t0);
        assert!(o.take(t0, 10).is_none(), "not before the backoff ran out");
        let mut waits = Vec::new();
        let mut now = due;
        for _ in 0..8 {
            let batch = o.take(now, 10).unwrap();
            assert_eq!(batch[0].item, "a1", "the failed batch goes first again");
            assert!(o.failed(batch, "refused", now, 2_000, &mut rng).is_none());
            let next = o.due(now).unwrap();
            waits.push(next - now);
            now = next;
        }
        assert!(waits.windows(2).all(|w| w[1] >= w[0] / 2), "{waits:?}");
        assert!(waits.iter().all(|w| *w <= RETRY_CAP), "{waits:?}");
        assert!(*waits.last().unwrap() >= RETRY_CAP / 2, "{waits:?}");
        let s = o.status();
        assert!(s.is_failing());
        assert_eq!((s.failures, s.failing_since_unix_ms), (9, Some(1_000)));
        let batch = o.take(now, 10).unwrap();
        assert_eq!(batch.len(), 2);
        let line = o.succeeded(batch.len(), 3_000).unwrap();
        assert!(line.contains("after 9 failed attempts"), "{line}");
        let s = o.status();
        assert!(!s.is_failing());
        assert_eq!(
            (s.sent, s.queued, s.last_success_unix_ms),
            (2, 0, Some(3_000))
        );
        assert_eq!(
            s.last_error.as_deref(),
            Some("refused"),
            "kept for --status"
        );
        assert_eq!(o.due(now), None);
    }

    #[test]
    fn a_failed_item_superseded_meanwhile_is_not_sent_twice() {
        let mut rng = StdRng::seed_from_u64(1);
        let t0 = Instant::now();
        let mut o = Outbox::new("am", 10);
        o.push(keyed("a"), "a firing");
        let batch = o.take(t0, 10).unwrap();
        o.push(keyed("a"), "a resolved");
        o.failed(batch, "timeout", t0, 0, &mut rng);
        let batch = o.take(t0 + RETRY_CAP, 10).unwrap();
        let items: Vec<_> = batch.iter().map(|q| q.item).collect();
        assert_eq!(items, ["a resolved"]);
    }

    #[test]
    fn a_failing_receiver_is_logged_once_a_minute() {
        let mut rng = StdRng::seed_from_u64(3);
        let t0 = Instant::now();
        let mut o = Outbox::new("hook", 4);
        let mut lines = 0;
        let mut now = t0;
        // Five minutes of failures, one attempt as often as the backoff allows.
        while now < t0 + Duration::from_secs(300) {
            o.push(None, 0);
            if let Some(batch) = o.take(now, 1) {
                if o.failed(batch, "503", now, 0, &mut rng).is_some() {
                    lines += 1;
                }
            }
            now += Duration::from_millis(250);
        }
        assert_eq!(lines, 5, "one at once, then one per minute");
        let s = o.status();
        assert_eq!(s.queued, 4, "the queue stays bounded");
        assert!(s.dropped > 100, "{}", s.dropped);
    }
}
