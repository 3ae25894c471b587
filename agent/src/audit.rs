//! Append-only audit log: one JSON line per Act request, accepted or refused, and one per
//! refused call that could have changed something (wrong token, role too low, bad
//! certificate), each with the caller's authenticated identity.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::model::{ActError, ActErrorKind};

/// File name of the audit log inside the state directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

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
    pub fn with_identity(mut self, identity: Option<&crate::auth::Identity>) -> Self {
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
    /// Plan only.
    pub dry_run: bool,
    /// How it ended.
    pub outcome: Outcome,
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
    file: Mutex<File>,
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
        let file = crate::private::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line (a single write, so lines never interleave).
    pub fn append(&self, record: &Record) -> Result<(), AuditError> {
        let err = |error| AuditError {
            path: self.path.clone(),
            error,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line).map_err(err)
    }
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
                dry_run: false,
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
}
