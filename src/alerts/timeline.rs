//! The incident timeline: every alert transition, acknowledgement, silence and action, in
//! order, and its Markdown export for the post-incident review.

use std::collections::VecDeque;
use std::time::Instant;

use super::rules::Severity;

/// Entries kept; the oldest go first (an incident review needs hours, not weeks).
pub const TIMELINE_MAX_ENTRIES: usize = 10_000;

/// A moment on both clocks: `at` for durations, `unix_ms` for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub at: Instant,
    pub unix_ms: u64,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Firing,
    Resolved,
    Acknowledged,
    AckExpired,
    Silenced,
    SilenceExpired,
    /// Suspended: its node became unreachable, so its figures are stale.
    Suspended,
    /// A suspended alert still holds on fresh data.
    Resumed,
    /// A recommendation's action was opened.
    Proposed,
    /// An action finished (its outcome is in the text).
    Action,
    /// Something the console saw that an alert's figures do not say (which containers).
    Observed,
}

impl EntryKind {
    /// Label in lists and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Acknowledged => "acknowledged",
            Self::AckExpired => "ack expired",
            Self::Silenced => "silenced",
            Self::SilenceExpired => "silence ended",
            Self::Suspended => "suspended",
            Self::Resumed => "resumed",
            Self::Proposed => "action proposed",
            Self::Action => "action",
            Self::Observed => "observed",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Stamp,
    pub kind: EntryKind,
    pub severity: Option<Severity>,
    pub text: String,
}

/// The timeline, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: VecDeque<Entry>,
    /// Entries dropped off the front since the start.
    dropped: usize,
    /// Entries pushed since the start (read-back ones not counted).
    pushed: u64,
}

impl Timeline {
    /// Appends an entry.
    pub fn push(
        &mut self,
        at: Stamp,
        kind: EntryKind,
        severity: Option<Severity>,
        text: impl Into<String>,
    ) {
        self.keep(Entry {
            at,
            kind,
            severity,
            text: text.into(),
        });
        self.pushed += 1;
    }

    fn keep(&mut self, entry: Entry) {
        if self.entries.len() == TIMELINE_MAX_ENTRIES {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// Puts entries from before this console started (read back from its state
    /// directory) ahead of the ones since; the oldest go first if there are too many.
    pub fn restore(&mut self, earlier: Vec<Entry>) {
        let since = std::mem::take(&mut self.entries);
        let dropped = self.dropped;
        for e in earlier.into_iter().chain(since) {
            self.keep(e);
        }
        self.dropped = dropped;
    }

    /// Entries pushed since the start, for what keeps the file up to date.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing happened yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The timeline as a Markdown document; `title` names the console (e.g. its agents).
    pub fn to_markdown(&self, title: &str, exported_unix_ms: u64) -> String {
        let mut out = String::new();
        out.push_str("# fleetdeck incident timeline\n\n");
        out.push_str(&format!("- Console: {title}\n"));
        out.push_str(&format!("- Exported: {}\n", utc(exported_unix_ms)));
        out.push_str(&format!("- Entries: {}\n", self.entries.len()));
        if self.dropped > 0 {
            out.push_str(&format!(
                "- Note: the {} oldest entries were dropped (the console keeps {TIMELINE_MAX_ENTRIES})\n",
                self.dropped
            ));
        }
        out.push_str("\n| Time (UTC) | Event | Severity | Details |\n|---|---|---|---|\n");
        for e in &self.entries {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                utc(e.at.unix_ms),
                e.kind.as_str(),
                e.severity.map_or("", Severity::as_str),
                e.text.replace('|', "\\|").replace('\n', " "),
            ));
        }
        out
    }
}

/// `2026-11-24 12:00:05`, UTC.
pub fn utc(unix_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(unix_ms).unwrap_or(i64::MAX)).map_or_else(
        || format!("@{unix_ms}ms"),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// File name for an export at `unix_ms`: `incident-20261124-120005.md`.
pub fn export_file_name(unix_ms: u64) -> String {
    let stamp = chrono::DateTime::from_timestamp_millis(i64::try_from(unix_ms).unwrap_or(0))
        .map_or_else(
            || unix_ms.to_string(),
            |t| t.format("%Y%m%d-%H%M%S").to_string(),
        );
    format!("incident-{stamp}.md")
}
