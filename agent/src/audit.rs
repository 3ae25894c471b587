//! Append-only audit log: one JSON line per Act request, accepted or refused, and one per
//! refused call that could have changed something (wrong token, role too low, bad
//! certificate), each with the caller's authenticated identity.
//!
//! Bounded against abuse: caller-supplied fields are cut to a few hundred bytes before they
//! are written, refusals beyond a few a minute from one peer or identity are counted and
//! written as one summary line, and the file is rotated by size.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::{ActError, ActErrorKind};

/// File name of the audit log inside the state directory.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// Size at which the log is rotated by default, MiB.
pub const DEFAULT_MAX_MIB: u64 = 64;
/// Rotated logs kept by default.
pub const DEFAULT_KEEP: u32 = 5;
/// Longest action id written (longer ones are cut and marked).
const MAX_ID_BYTES: usize = crate::validate::MAX_ACTION_ID_BYTES;
/// Longest `requested_by`, identity, action or target written.
const MAX_NAME_BYTES: usize = 256;
/// Longest outcome message written.
const MAX_MESSAGE_BYTES: usize = 512;
/// Refusals written line by line per peer or identity in one window; the rest are counted.
pub const REFUSALS_PER_WINDOW: u32 = 10;
/// The window over which refusals are counted.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Peers and identities tracked by the refusal limiter; beyond that they share one entry.
const MAX_TRACKED_REFUSERS: usize = 4096;

/// When the log is rotated: past `max_bytes`, `audit.jsonl` becomes `audit.jsonl.1` (and
/// `.1` becomes `.2`, ... up to `keep`, the oldest dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Size that triggers a rotation.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_MIB * 1024 * 1024,
            keep: DEFAULT_KEEP,
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Who asked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Caller {
    /// What the client said it is.
    pub requested_by: String,
    /// Peer address of the connection.
    pub peer: Option<String>,
    /// Authenticated identity (`token:NAME`, `cert:SUBJECT`, `anonymous`); absent when the
    /// caller could not be identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The identity's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Caller {
    /// Caller from a request's claim and its peer address.
    pub fn new(requested_by: &str, peer: Option<SocketAddr>) -> Self {
        Self {
            requested_by: requested_by.to_owned(),
            peer: peer.map(|p| p.to_string()),
            identity: None,
            role: None,
        }
    }

    /// The same caller, with who the agent authenticated it as.
    pub fn with_identity(mut self, identity: Option<&crate::server::auth::Identity>) -> Self {
        if let Some(id) = identity {
            self.identity = Some(id.name.clone());
            self.role = Some(id.role.name().to_owned());
        }
        self
    }
}

/// How an action ended.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Outcome {
    /// "done", "error" or "refused".
    pub result: &'static str,
    /// Error kind, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ActErrorKind>,
    /// Human explanation.
    pub message: String,
    /// True when this request repeated an earlier action id and only replayed its outcome.
    pub replayed: bool,
}

impl Outcome {
    /// A call refused before it ran (authentication, role, limits, bad input).
    pub fn refused(kind: ActErrorKind, message: impl Into<String>) -> Self {
        Self {
            result: "refused",
            kind: Some(kind),
            message: message.into(),
            replayed: false,
        }
    }

    /// Outcome of `result`.
    pub fn of(result: &Result<String, ActError>, replayed: bool) -> Self {
        match result {
            Ok(m) => Self {
                result: "done",
                kind: None,
                message: m.clone(),
                replayed,
            },
            Err(e) => Self {
                result: "error",
                kind: Some(e.kind),
                message: e.message.clone(),
                replayed,
            },
        }
    }
}

/// One audit line.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// When the action ended, RFC 3339.
    pub time: String,
    /// Client-chosen id.
    pub action_id: String,
    /// Who asked.
    pub caller: Caller,
    /// e.g. `container.stop`, `node.cordon`; absent when the request named none.
    pub action: Option<String>,
    /// Container or node the action aimed at.
    pub target: String,
    /// Plan only; absent when the request was refused before it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Record {
    /// The record with every free-text field cut to a bounded length, so a caller cannot
    /// grow the log by more than a few hundred bytes a line.
    fn clipped(&self) -> Self {
        let c = &self.caller;
        Self {
            time: self.time.clone(),
            action_id: clip(&self.action_id, MAX_ID_BYTES),
            caller: Caller {
                requested_by: clip(&c.requested_by, MAX_NAME_BYTES),
                peer: c.peer.clone(),
                identity: c.identity.as_deref().map(|i| clip(i, MAX_NAME_BYTES)),
                role: c.role.clone(),
            },
            action: self.action.as_deref().map(|a| clip(a, MAX_NAME_BYTES)),
            target: clip(&self.target, MAX_NAME_BYTES),
            dry_run: self.dry_run,
            outcome: Outcome {
                message: clip(&self.outcome.message, MAX_MESSAGE_BYTES),
                ..self.outcome.clone()
            },
        }
    }
}

/// Why the audit log cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot write audit log {path}: {error}")]
pub struct AuditError {
    /// The log file.
    pub path: PathBuf,
    /// What went wrong.
    pub error: std::io::Error,
}

/// The audit log of one node.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    rotation: Rotation,
    file: Mutex<Open>,
    refusals: Mutex<RefusalLimiter>,
    lines: Option<prometheus_client::metrics::counter::Counter>,
}

#[derive(Debug)]
struct Open {
    file: File,
    bytes: u64,
}

/// Opens the log for appending; a new file is private (0600) from its creation.
fn open_append(path: &Path) -> std::io::Result<Open> {
    let file = crate::private::options()
        .create(true)
        .append(true)
        .open(path)?;
    let bytes = file.metadata()?.len();
    Ok(Open { file, bytes })
}

impl AuditLog {
    /// Opens (creating as needed) `audit.jsonl` in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self, AuditError> {
        let path = state_dir.join(AUDIT_FILE);
        let err = |error| AuditError {
            path: path.clone(),
            error,
        };
        crate::private::create_dir(state_dir).map_err(err)?;
        let file = open_append(&path).map_err(err)?;
        Ok(Self {
            path,
            rotation: Rotation::default(),
            file: Mutex::new(file),
            refusals: Mutex::default(),
            lines: None,
        })
    }

    /// The same log, rotated by `rotation`.
    pub fn with_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// The same log, counting every line it writes on `lines` (the metrics endpoint's).
    pub fn with_line_counter(
        mut self,
        lines: prometheus_client::metrics::counter::Counter,
    ) -> Self {
        self.lines = Some(lines);
        self
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `n`th rotated file (`audit.jsonl.1` is the newest).
    pub fn rotated_path(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts the rotated files up by one, drops the oldest, and starts a new log.
    fn rotate(&self, open: &mut Open) -> std::io::Result<()> {
        let keep = self.rotation.keep.max(1);
        match std::fs::remove_file(self.rotated_path(keep)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for n in (1..keep).rev() {
            match std::fs::rename(self.rotated_path(n), self.rotated_path(n + 1)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        std::fs::rename(&self.path, self.rotated_path(1))?;
        *open = open_append(&self.path)?;
        tracing::info!(log = %self.path.display(), "audit log rotated");
        Ok(())
    }

    /// Appends one record as one line (a single write, so lines never interleave), its
    /// free-text fields cut to a bounded length; rotates the file first when it is full.
    pub fn append(&self, record: &Record) -> Result<(), AuditError> {
        self.append_line(&record.clipped())
    }

    /// Appends any record as one JSON line (exec sessions); the caller bounds its fields.
    pub fn append_line(&self, record: &impl Serialize) -> Result<(), AuditError> {
        let err = |error| AuditError {
            path: self.path.clone(),
            error,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut open = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let len = line.len() as u64;
        if open.bytes > 0 && open.bytes + len > self.rotation.max_bytes {
            self.rotate(&mut open).map_err(err)?;
        }
        open.file.write_all(&line).map_err(err)?;
        open.bytes += len;
        if let Some(lines) = &self.lines {
            lines.inc();
        }
        Ok(())
    }

    /// Appends a refusal, unless its peer or identity has had more than
    /// [`REFUSALS_PER_WINDOW`] written in the current window: then it is only counted, and
    /// the count is written as one summary line when the window ends.
    pub fn append_refusal(&self, record: &Record, now: Instant) -> Result<(), AuditError> {
        let key = match (&record.caller.identity, &record.caller.peer) {
            (Some(id), _) if id != "anonymous" => id.clone(),
            (_, Some(peer)) => peer_host(peer).to_owned(),
            _ => "unknown".to_owned(),
        };
        // Only this caller's window is looked at here; the housekeeping flush ends the rest,
        // so a refusal costs the same however many callers are counted.
        let (write, summary) = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(&key, now);
        if let Some(s) = summary {
            self.append(&s)?;
        }
        if write {
            self.append(record)?;
        }
        Ok(())
    }

    /// Writes the summary of every refusal window that has ended (called every few seconds
    /// so a burst is summarised even when nothing follows it); with `all`, of every window,
    /// ended or not (the agent is stopping).
    pub fn flush_refusals(&self, now: Instant, all: bool) -> Result<(), AuditError> {
        let summaries = self
            .refusals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .expired(now, all);
        for s in summaries {
            self.append(&s)?;
        }
        Ok(())
    }
}

/// The host part of `ip:port` (refusals from one machine are counted together whatever
/// port each connection used).
fn peer_host(peer: &str) -> &str {
    match peer.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => peer,
    }
}

/// Refusals written and counted per peer or identity, in windows of [`REFUSAL_WINDOW`].
#[derive(Debug, Default)]
struct RefusalLimiter {
    windows: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    written: u32,
    suppressed: u64,
}

/// Key under which refusers share one window once too many are tracked.
const OVERFLOW_KEY: &str = "(many peers)";

impl RefusalLimiter {
    /// Whether a refusal by `key` at `now` is written (else it is counted), and the
    /// summary of `key`'s previous window if that one ended with refusals only counted.
    fn admit(&mut self, key: &str, now: Instant) -> (bool, Option<Record>) {
        let key = if self.windows.len() >= MAX_TRACKED_REFUSERS && !self.windows.contains_key(key) {
            OVERFLOW_KEY
        } else {
            key
        };
        let fresh = Window {
            started: now,
            written: 0,
            suppressed: 0,
        };
        let w = self.windows.entry(key.to_owned()).or_insert(fresh);
        let ended = now.saturating_duration_since(w.started) >= REFUSAL_WINDOW;
        let summary = if ended {
            let old = std::mem::replace(w, fresh);
            summary(key, &old, now)
        } else {
            None
        };
        let write = if w.written < REFUSALS_PER_WINDOW {
            w.written += 1;
            true
        } else {
            w.suppressed += 1;
            false
        };
        (write, summary)
    }

    /// Removes the windows that ended by `now` (every window with `all`); a summary record
    /// for each that counted any, over the time it really covered.
    fn expired(&mut self, now: Instant, all: bool) -> Vec<Record> {
        let mut out = Vec::new();
        self.windows.retain(|key, w| {
            if !all && now.saturating_duration_since(w.started) < REFUSAL_WINDOW {
                return true;
            }
            out.extend(summary(key, w, now));
            false
        });
        out
    }
}

/// The line that stands for `w`'s refusals by `key` that were only counted, if any were.
fn summary(key: &str, w: &Window, now: Instant) -> Option<Record> {
    if w.suppressed == 0 {
        return None;
    }
    let total = u64::from(w.written) + w.suppressed;
    Some(Record {
        time: now_rfc3339(),
        action_id: String::new(),
        caller: Caller {
            requested_by: String::new(),
            peer: None,
            identity: Some(key.to_owned()),
            role: None,
        },
        action: Some("audit.refusals_summarised".to_owned()),
        target: String::new(),
        dry_run: None,
        outcome: Outcome::refused(
            ActErrorKind::Denied,
            format!(
                "{total} refusals from {key} in the last {} s; {} written above, {} only counted",
                now.saturating_duration_since(w.started).as_secs(),
                w.written,
                w.suppressed
            ),
        ),
    })
}

/// Now as RFC 3339 with milliseconds, UTC.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("node-1")).unwrap();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        for (id, result) in [
            ("a1", Ok("stopped web-3".to_owned())),
            (
                "a2",
                Err(ActError::new(ActErrorKind::NotFound, "no container `x`")),
            ),
        ] {
            log.append(&Record {
                time: now_rfc3339(),
                action_id: id.into(),
                caller: Caller::new("alice", Some(peer)),
                action: Some("container.stop".into()),
                target: "web-3".into(),
                dry_run: Some(false),
                outcome: Outcome::of(&result, false),
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["caller"]["peer"], "127.0.0.1:5000");
        assert_eq!(lines[0]["outcome"]["result"], "done");
        assert_eq!(lines[1]["outcome"]["kind"], "not_found");
        assert!(chrono::DateTime::parse_from_rfc3339(lines[1]["time"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn refusals_beyond_the_window_budget_are_counted_and_summarised_once() {
        let mut l = RefusalLimiter::default();
        let t0 = Instant::now();
        let written = (0..25).filter(|_| l.admit("127.0.0.1", t0).0).count();
        assert_eq!(written, REFUSALS_PER_WINDOW as usize);
        assert!(
            l.expired(t0 + Duration::from_secs(1), false).is_empty(),
            "window still open"
        );
        // The same caller after the window: its summary comes out, and it is written again.
        let (write, summary) = l.admit("127.0.0.1", t0 + REFUSAL_WINDOW);
        assert!(write);
        let summary = summary.expect("a summary of the ended window");
        assert!(
            summary
                .outcome
                .message
                .starts_with("25 refusals from 127.0.0.1"),
            "{}",
            summary.outcome.message
        );
        // Another caller's ended window is summarised by the flush, and only once.
        for _ in 0..12 {
            l.admit("10.9.9.9", t0);
        }
        let later = t0 + REFUSAL_WINDOW * 2;
        let out = l.expired(later, false);
        assert_eq!(out.len(), 1, "only the caller with uncounted refusals");
        assert!(
            out[0]
                .outcome
                .message
                .starts_with("12 refusals from 10.9.9.9")
        );
        assert!(l.expired(later, false).is_empty());
        // At shutdown an open window is summarised too, over the seconds it really covered.
        for _ in 0..11 {
            l.admit("10.1.1.1", later);
        }
        let out = l.expired(later + Duration::from_secs(3), true);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].outcome.message.contains("in the last 3 s"),
            "{}",
            out[0].outcome.message
        );
    }
}
