//! Plausible log lines for simulated containers, deterministic from the node's seed: the
//! same seed, container and step give the same lines. Faulty containers write more, and
//! worse.

use std::hash::Hasher;
use std::time::Duration;

use futures::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::logs::{LineStream, LogLine, LogQuery, LogSource};

/// How often a following stream looks for new simulated steps.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// Most steps of history walked back to fill a tail (a quiet container may have fewer lines).
const MAX_HISTORY_STEPS: u64 = 20_000;

/// What the generator needs to know about a container at one moment.
#[derive(Debug, Clone)]
pub struct LogSubject {
    /// Runtime id (part of the seed).
    pub id: String,
    /// Service name: picks the kind of messages.
    pub service: String,
    /// Whether its processes run (stopped containers write nothing).
    pub up: bool,
    /// Whether a fault is under way (crash loop, failing health check, hot).
    pub faulty: bool,
}

/// The simulated clock: step now, ms per step, ms at step 0.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Current step.
    pub step: u64,
    /// Simulated ms per step.
    pub step_ms: u64,
    /// Simulated time at step 0, ms since the Unix epoch.
    pub start_unix_ms: u64,
}

fn mix(seed: u64, id: &str, step: u64) -> u64 {
    // FNV-1a over the id, then the seed and step: stable across runs and builds.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(id.as_bytes());
    h.write_u64(seed);
    h.write_u64(step);
    h.finish()
}

const PATHS: &[&str] = &[
    "/",
    "/api/orders",
    "/api/cart",
    "/healthz",
    "/static/app.js",
    "/login",
];
const TABLES: &[&str] = &["orders", "users", "sessions", "inventory"];

fn normal(service: &str, rng: &mut SmallRng) -> (LogSource, String) {
    let ms = rng.random_range(1..400);
    let text = match service {
        "web" | "proxy" => {
            let path = PATHS[rng.random_range(0..PATHS.len())];
            let code = if rng.random_bool(0.95) { 200 } else { 404 };
            format!(
                "10.0.{}.{} \"GET {path} HTTP/1.1\" {code} {} {ms}ms",
                rng.random_range(0..8),
                rng.random_range(2..250),
                rng.random_range(200..40_000)
            )
        }
        "db" => {
            let t = TABLES[rng.random_range(0..TABLES.len())];
            format!(
                "LOG:  duration: {ms}.{} ms  statement: SELECT * FROM {t} WHERE id = $1",
                rng.random_range(0..1000)
            )
        }
        "cache" => format!(
            "{} keys in db0; {} clients connected",
            rng.random_range(10_000..90_000),
            rng.random_range(5..60)
        ),
        "queue" => format!(
            "accepting AMQP connection 10.0.3.{}:{}",
            rng.random_range(2..250),
            rng.random_range(30_000..60_000)
        ),
        "worker" => format!("job {} done in {ms} ms", rng.random_range(100_000..999_999)),
        _ => format!(
            "INFO request handled in {ms} ms (id {:08x})",
            rng.random::<u32>()
        ),
    };
    (LogSource::Stdout, text)
}

fn faulty(service: &str, rng: &mut SmallRng) -> (LogSource, String) {
    let text = match rng.random_range(0..4) {
        0 => format!(
            "ERROR {service}: upstream timed out after {} ms",
            rng.random_range(1000..30_000)
        ),
        1 => format!(
            "WARN {service}: retrying connection (attempt {})",
            rng.random_range(1..9)
        ),
        2 => "ERROR health check failed: connection refused".to_owned(),
        _ => format!(
            "ERROR out of worker slots; {} requests queued",
            rng.random_range(50..900)
        ),
    };
    (LogSource::Stderr, text)
}

/// The lines `who` wrote during `step`.
pub fn lines_at(seed: u64, who: &LogSubject, clock: &Clock, step: u64) -> Vec<LogLine> {
    if !who.up {
        return Vec::new();
    }
    let mut rng = SmallRng::seed_from_u64(mix(seed, &who.id, step));
    let n = if who.faulty {
        rng.random_range(4..16)
    } else {
        // Most steps are quiet: about one line every two steps.
        [0, 0, 1, 1, 2][rng.random_range(0..5)]
    };
    let base = clock.start_unix_ms + step * clock.step_ms;
    let mut offsets: Vec<u64> = (0..n)
        .map(|_| rng.random_range(0..clock.step_ms.max(1)))
        .collect();
    offsets.sort_unstable();
    offsets
        .into_iter()
        .map(|off| {
            let bad = who.faulty && rng.random_bool(0.6);
            let (source, text) = if bad {
                faulty(&who.service, &mut rng)
            } else {
                normal(&who.service, &mut rng)
            };
            LogLine {
                time_unix_ms: base + off,
                source,
                text,
            }
        })
        .collect()
}

/// The last `tail` lines written up to and including the current step.
pub fn history(seed: u64, who: &LogSubject, clock: &Clock, tail: u32) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = Vec::new();
    let floor = clock.step.saturating_sub(MAX_HISTORY_STEPS);
    let mut step = clock.step;
    while out.len() < tail as usize {
        let mut lines = lines_at(seed, who, clock, step);
        lines.extend(out);
        out = lines;
        if step == floor || step == 0 {
            break;
        }
        step -= 1;
    }
    let skip = out.len().saturating_sub(tail as usize);
    out.drain(..skip);
    out
}

/// History, then (with `follow`) the lines of every new step as the simulation moves on.
/// `look` reports the container and the clock now, or `None` once the container is gone.
pub fn stream<F>(seed: u64, query: LogQuery, look: F) -> LineStream
where
    F: Fn() -> Option<(LogSubject, Clock)> + Send + Sync + 'static,
{
    let Some((who, clock)) = look() else {
        return Box::pin(futures::stream::empty());
    };
    let since = query.since_unix_ms;
    let keep = move |l: &LogLine| l.time_unix_ms >= since;
    let first: Vec<_> = history(seed, &who, &clock, query.tail)
        .into_iter()
        .filter(keep)
        .map(Ok)
        .collect();
    let head = futures::stream::iter(first);
    if !query.follow {
        return Box::pin(head);
    }
    let tail = futures::stream::unfold((clock.step, look), move |(mut done, look)| async move {
        loop {
            tokio::time::sleep(FOLLOW_POLL).await;
            let (who, clock) = look()?;
            if clock.step > done {
                let lines: Vec<_> = (done + 1..=clock.step)
                    .flat_map(|s| lines_at(seed, &who, &clock, s))
                    .filter(keep)
                    .map(Ok)
                    .collect();
                done = clock.step;
                if !lines.is_empty() {
                    return Some((futures::stream::iter(lines), (done, look)));
                }
            }
        }
    })
    .flatten();
    Box::pin(head.chain(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(faulty: bool) -> LogSubject {
        LogSubject {
            id: "c1".into(),
            service: "web".into(),
            up: true,
            faulty,
        }
    }

    const CLOCK: Clock = Clock {
        step: 500,
        step_ms: 1000,
        start_unix_ms: 1_700_000_000_000,
    };

    #[test]
    fn deterministic_and_faults_are_louder() {
        let a = history(7, &who(false), &CLOCK, 50);
        assert_eq!(a, history(7, &who(false), &CLOCK, 50));
        assert_ne!(a, history(8, &who(false), &CLOCK, 50));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0].time_unix_ms <= w[1].time_unix_ms));
        let calm: usize = (0..100)
            .map(|s| lines_at(7, &who(false), &CLOCK, s).len())
            .sum();
        let loud: usize = (0..100)
            .map(|s| lines_at(7, &who(true), &CLOCK, s).len())
            .sum();
        assert!(loud > calm * 3, "calm {calm}, loud {loud}");
        let errors = (0..100)
            .flat_map(|s| lines_at(7, &who(true), &CLOCK, s))
            .filter(|l| l.source == LogSource::Stderr)
            .count();
        assert!(errors > 0);
        let mut stopped = who(false);
        stopped.up = false;
        assert!(history(7, &stopped, &CLOCK, 10).is_empty());
    }
}
