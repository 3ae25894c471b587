//! The monitor's status file (JSON, owner-only, replaced atomically) and
//! `fleetdeck monitor --status`, which reads it and prints a table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::notify::ReceiverStatus;

/// The file's name in the state directory.
pub const STATUS_FILE: &str = "monitor-status.json";
/// How often a running monitor rewrites the file.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// A file not rewritten for this long belongs to a monitor that is gone.
pub const STATUS_STALE_AFTER: Duration = Duration::from_secs(15);

/// What a running monitor writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorStatus {
    pub pid: u32,
    pub started_unix_ms: u64,
    pub updated_unix_ms: u64,
    /// False once the monitor stopped cleanly.
    pub running: bool,
    pub agents: usize,
    pub agents_live: usize,
    /// Alerts told as firing.
    pub firing: usize,
    /// Evaluation passes so far (one per batch of agent updates and per tick).
    pub evaluations: u64,
    pub receivers: Vec<ReceiverStatus>,
}

/// Where the file is for state directory `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(STATUS_FILE)
}

/// Writes `status` to `path`, owner-only, replacing the old file in one step.
pub fn write(path: &Path, status: &MonitorStatus) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fleetdeck_core::private::create_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let bytes = serde_json::to_vec_pretty(status).map_err(|e| e.to_string())?;
    fleetdeck_core::private::write_atomic(path, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads the file at `path`.
pub fn read(path: &Path) -> Result<MonitorStatus, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "no monitor status at {}: no `fleetdeck monitor` has run with this state \
                 directory (give the monitor's --state-dir)",
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a monitor status file: {e}", path.display()))
}

/// The verdict `--status` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Running, every receiver delivering.
    Ok,
    /// Running, some receiver failing.
    Failing,
    /// Stopped, or its file has not been rewritten for too long.
    NotRunning,
}

/// The table `--status` prints, and the verdict, as of `now_unix_ms`.
pub fn report(status: &MonitorStatus, now_unix_ms: u64) -> (String, Health) {
    let age_ms = now_unix_ms.saturating_sub(status.updated_unix_ms);
    let stale_ms = u64::try_from(STATUS_STALE_AFTER.as_millis()).unwrap_or(u64::MAX);
    let mut out = String::new();
    let health = if !status.running {
        let _ = writeln!(
            out,
            "monitor: stopped {} ago (pid {})",
            ago(age_ms),
            status.pid
        );
        Health::NotRunning
    } else if age_ms > stale_ms {
        let _ = writeln!(
            out,
            "monitor: not running (pid {} last wrote its status {} ago)",
            status.pid,
            ago(age_ms)
        );
        Health::NotRunning
    } else {
        let _ = writeln!(
            out,
            "monitor: running (pid {}, up {}), {}/{} agents live, {} firing, {} evaluations",
            status.pid,
            ago(now_unix_ms.saturating_sub(status.started_unix_ms)),
            status.agents_live,
            status.agents,
            status.firing,
            status.evaluations
        );
        if status.receivers.iter().any(ReceiverStatus::is_failing) {
            Health::Failing
        } else {
            Health::Ok
        }
    };
    if status.receivers.is_empty() {
        out.push_str("no receivers: set [notify] alertmanager or [[notify.webhook]]\n");
        return (out, health);
    }
    let rows: Vec<[String; 7]> = status
        .receivers
        .iter()
        .map(|r| {
            let since =
                |t: Option<u64>| t.map_or("never".to_string(), |t| ago_text(now_unix_ms, t));
            [
                r.name.clone(),
                if r.is_failing() { "FAILING" } else { "ok" }.to_string(),
                r.queued.to_string(),
                r.dropped.to_string(),
                r.sent.to_string(),
                since(r.last_success_unix_ms),
                match (&r.last_error, r.last_error_unix_ms) {
                    (Some(e), Some(t)) => format!("{}: {e}", ago_text(now_unix_ms, t)),
                    _ => "-".to_string(),
                },
            ]
        })
        .collect();
    let header = [
        "RECEIVER",
        "STATE",
        "QUEUED",
        "DROPPED",
        "SENT",
        "LAST SUCCESS",
        "LAST ERROR",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    (out, health)
}

fn ago_text(now_unix_ms: u64, then_unix_ms: u64) -> String {
    format!("{} ago", ago(now_unix_ms.saturating_sub(then_unix_ms)))
}

fn ago(ms: u64) -> String {
    crate::alerts::format_duration(Duration::from_secs(ms / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> MonitorStatus {
        MonitorStatus {
            pid: 42,
            started_unix_ms: 1_000_000,
            updated_unix_ms: 1_100_000,
            running: true,
            agents: 3,
            agents_live: 2,
            firing: 1,
            evaluations: 77,
            receivers: vec![
                ReceiverStatus {
                    name: "alertmanager http://127.0.0.1:9093/".into(),
                    sent: 5,
                    last_success_unix_ms: Some(1_099_000),
                    ..ReceiverStatus::default()
                },
                ReceiverStatus {
                    name: "webhook slack https://hooks.example/…".into(),
                    queued: 2,
                    failures: 4,
                    last_error: Some("HTTP 503".into()),
                    last_error_unix_ms: Some(1_090_000),
                    failing_since_unix_ms: Some(1_050_000),
                    ..ReceiverStatus::default()
                },
            ],
        }
    }

    #[test]
    fn the_table_names_each_receiver_and_the_verdict_follows_them() {
        let s = status();
        let (text, health) = report(&s, 1_101_000);
        assert_eq!(health, Health::Failing);
        assert!(text.starts_with("monitor: running (pid 42"), "{text}");
        assert!(
            text.contains("2/3 agents live, 1 firing, 77 evaluations"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("RECEIVER"), "{text}");
        assert!(
            lines[2].contains("ok") && lines[2].contains("2s ago"),
            "{text}"
        );
        assert!(
            lines[3].contains("FAILING") && lines[3].ends_with("11s ago: HTTP 503"),
            "{text}"
        );
        let mut healthy = s.clone();
        healthy.receivers.truncate(1);
        assert_eq!(report(&healthy, 1_101_000).1, Health::Ok);
        let (text, health) = report(&s, 1_100_000 + 60_000);
        assert_eq!(health, Health::NotRunning, "{text}");
        let stopped = MonitorStatus {
            running: false,
            ..s
        };
        assert_eq!(report(&stopped, 1_101_000).1, Health::NotRunning);
    }

    #[test]
    fn the_file_is_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(&dir.path().join("state"));
        write(&path, &status()).unwrap();
        assert_eq!(read(&path).unwrap(), status());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        let missing = read(&dir.path().join("nope.json")).unwrap_err();
        assert!(missing.contains("--state-dir"), "{missing}");
    }
}
