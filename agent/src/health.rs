//! The agent's own checks on its node: runtime reachable, disk space, memory pressure, clock.

use std::time::Instant;

use crate::model::{CheckStatus, HealthCheck, HostSample};
use crate::runtime::RuntimeError;

/// Disk use above this share is a warning.
const DISK_WARN_PERCENT: f64 = 90.0;
/// Disk use above this share is failing.
const DISK_FAIL_PERCENT: f64 = 95.0;
/// Memory use above this share is a warning.
const MEMORY_WARN_PERCENT: f64 = 90.0;
/// Memory use above this share is failing.
const MEMORY_FAIL_PERCENT: f64 = 97.0;
/// Wall clock moving this much more or less than the monotonic clock is a jump.
const CLOCK_JUMP_MS: i64 = 2_000;
/// Earliest plausible wall clock (2024-01-01): anything before means an unset clock.
const CLOCK_FLOOR_UNIX_MS: u64 = 1_704_067_200_000;

/// Memory use the check's message shows moves only when the real figure is this far from
/// it, so noise around a whole percent does not change the message (and publish a health
/// change) every sample.
const MEMORY_SHOWN_HYSTERESIS_PERCENT: f64 = 1.0;

/// Runs the checks; keeps what the clock and memory checks need between runs.
#[derive(Debug)]
pub struct Checker {
    simulated: bool,
    last_clock: Option<(Instant, u64)>,
    /// Whole percent the memory check last showed.
    memory_shown: Option<f64>,
}

fn check(name: &str, status: CheckStatus, message: String) -> HealthCheck {
    HealthCheck {
        name: name.to_owned(),
        status,
        message,
    }
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    }
}

fn level(p: f64, warn: f64, fail: f64) -> CheckStatus {
    if p >= fail {
        CheckStatus::Failing
    } else if p >= warn {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    }
}

impl Checker {
    /// Checks for a real host.
    pub fn real() -> Self {
        Self {
            simulated: false,
            last_clock: None,
            memory_shown: None,
        }
    }

    /// Checks for a simulated node: the clock is the simulator's and always sane.
    pub fn simulated() -> Self {
        Self {
            simulated: true,
            last_clock: None,
            memory_shown: None,
        }
    }

    /// All checks, in a fixed order. `wall_unix_ms` is the wall clock now.
    pub fn run(
        &mut self,
        runtime: &Result<(), RuntimeError>,
        host: &HostSample,
        wall_unix_ms: u64,
    ) -> Vec<HealthCheck> {
        vec![
            runtime_check(runtime),
            disk_check(host),
            self.memory_check(host),
            self.clock_check(Instant::now(), wall_unix_ms),
        ]
    }

    /// Memory in whole percents, as the console's MEM column rounds it. The status follows
    /// the real figure; the message keeps its figure until the real one has moved a point.
    fn memory_check(&mut self, h: &HostSample) -> HealthCheck {
        let p = percent(h.memory_used_bytes, h.memory_total_bytes);
        let shown = match self.memory_shown {
            Some(shown) if (p - shown).abs() < MEMORY_SHOWN_HYSTERESIS_PERCENT => shown,
            _ => p.round(),
        };
        self.memory_shown = Some(shown);
        check(
            "memory",
            level(p, MEMORY_WARN_PERCENT, MEMORY_FAIL_PERCENT),
            format!("memory {shown:.0} % used"),
        )
    }

    fn clock_check(&mut self, mono: Instant, wall_ms: u64) -> HealthCheck {
        if self.simulated {
            return check("clock", CheckStatus::Ok, "simulated clock".into());
        }
        if wall_ms < CLOCK_FLOOR_UNIX_MS {
            return check(
                "clock",
                CheckStatus::Failing,
                "wall clock is not set".into(),
            );
        }
        let previous = self.last_clock.replace((mono, wall_ms));
        let Some((last_mono, last_wall)) = previous else {
            return check("clock", CheckStatus::Ok, "wall clock steady".into());
        };
        let mono_ms = mono.duration_since(last_mono).as_millis() as i64;
        let jump_ms = wall_ms as i64 - last_wall as i64 - mono_ms;
        if jump_ms.abs() > CLOCK_JUMP_MS {
            let msg = format!("wall clock jumped by {:+.1} s", jump_ms as f64 / 1000.0);
            check("clock", CheckStatus::Warning, msg)
        } else {
            check("clock", CheckStatus::Ok, "wall clock steady".into())
        }
    }
}

fn runtime_check(r: &Result<(), RuntimeError>) -> HealthCheck {
    match r {
        Ok(()) => check("runtime", CheckStatus::Ok, "runtime answers".into()),
        Err(e) => check("runtime", CheckStatus::Failing, e.to_string()),
    }
}

fn disk_check(h: &HostSample) -> HealthCheck {
    let p = percent(h.disk_used_bytes, h.disk_total_bytes);
    // Whole percents keep the message from changing on every sample.
    check(
        "disk",
        level(p, DISK_WARN_PERCENT, DISK_FAIL_PERCENT),
        format!("disk {p:.0} % used"),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn host(disk: (u64, u64), mem: (u64, u64)) -> HostSample {
        HostSample {
            disk_used_bytes: disk.0,
            disk_total_bytes: disk.1,
            memory_used_bytes: mem.0,
            memory_total_bytes: mem.1,
            ..Default::default()
        }
    }

    #[test]
    fn thresholds() {
        let mut c = Checker::simulated();
        let now = CLOCK_FLOOR_UNIX_MS + 1;
        let ok = c.run(&Ok(()), &host((10, 100), (10, 100)), now);
        assert!(ok.iter().all(|h| h.status == CheckStatus::Ok), "{ok:?}");
        let names: Vec<_> = ok.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["runtime", "disk", "memory", "clock"]);
        let bad = c.run(
            &Err(RuntimeError::Unavailable("socket gone".into())),
            &host((96, 100), (91, 100)),
            now,
        );
        assert_eq!(bad[0].status, CheckStatus::Failing);
        assert!(bad[0].message.contains("socket gone"));
        assert_eq!(bad[1].status, CheckStatus::Failing);
        assert_eq!(bad[2].status, CheckStatus::Warning);
    }

    #[test]
    fn the_memory_message_says_the_figure_the_node_shows() {
        let gib = 1 << 30;
        // 4 % of 24 GiB, a docker host at rest: the message said "0 % used".
        let used = 24 * gib / 25;
        let mut c = Checker::real();
        let m = c.memory_check(&host((0, 1), (used, 24 * gib)));
        assert_eq!(m.message, "memory 4 % used");
        assert_eq!(m.status, CheckStatus::Ok);
        let mut c = Checker::real();
        let m = c.memory_check(&host((0, 1), (96, 100)));
        assert_eq!(m.message, "memory 96 % used");
        assert_eq!(m.status, CheckStatus::Warning);
    }

    #[test]
    fn noise_around_a_whole_percent_keeps_the_memory_message() {
        let mut c = Checker::real();
        let total = 10_000;
        let first = c.memory_check(&host((0, 1), (449, total)));
        assert_eq!(first.message, "memory 4 % used");
        for used in [451, 449, 460, 430, 489] {
            let m = c.memory_check(&host((0, 1), (used, total)));
            assert_eq!(m, first, "{used} of {total}");
        }
        // A real move of more than a point shows.
        let m = c.memory_check(&host((0, 1), (560, total)));
        assert_eq!(m.message, "memory 6 % used");
    }

    #[test]
    fn clock_jump_and_unset_clock() {
        let mut c = Checker::real();
        let t0 = Instant::now();
        let wall = CLOCK_FLOOR_UNIX_MS + 1_000_000;
        assert_eq!(c.clock_check(t0, wall).status, CheckStatus::Ok);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.clock_check(t1, wall + 1_000).status, CheckStatus::Ok);
        let t2 = t1 + Duration::from_secs(1);
        let jumped = c.clock_check(t2, wall + 60_000);
        assert_eq!(jumped.status, CheckStatus::Warning);
        assert!(jumped.message.contains("+58.0 s"), "{}", jumped.message);
        assert_eq!(c.clock_check(t2, 5).status, CheckStatus::Failing);
    }

    #[test]
    fn real_host_checks_pass_here() {
        let mut probe = crate::host::HostProbe::new().unwrap();
        let sample = probe.sample();
        let checks = Checker::real().run(&Ok(()), &sample, crate::host::now_unix_ms());
        assert_eq!(checks[3].status, CheckStatus::Ok);
        assert!(checks[1].message.starts_with("disk "));
    }
}
