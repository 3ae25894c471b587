//! The console's action history: every action it ran, with its progress and outcome, read
//! back from the state directory at start so the pane shows earlier runs too.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Outcome, Proposal};

// Reading and writing `actions.jsonl`, in its own file to keep this one about the log.
#[path = "history_file.rs"]
mod file;

pub use file::{HistoryRecord, LoadReport, append, read_newest, record_line};

/// Actions kept in the history pane (and read back at start).
pub const HISTORY_ENTRIES: usize = 500;

/// Where an action stands.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    Running {
        stage: String,
        percent: f32,
        message: String,
    },
    /// Cancel asked; the task is undoing what it did.
    Cancelling,
    Finished(Outcome),
}

/// One action.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Operation number in this run; 0 for actions read back from an earlier run.
    pub op: u64,
    /// Kind of action (`migrate`, `scale`, `fence`, ...).
    pub action: String,
    /// What it acts on (`node-02/api-1`, `web`, `node-03`).
    pub target: String,
    pub title: String,
    /// Wall clock when it started, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// When it started on this console's clock (`None` for earlier runs).
    pub started: Option<Instant>,
    /// How long it took, once finished (`None` when an old record did not say).
    pub duration: Option<Duration>,
    pub state: EntryState,
}

impl Entry {
    /// How long it took, or has been running as of `now`.
    pub fn elapsed(&self, now: Instant) -> Option<Duration> {
        match (&self.state, self.duration, self.started) {
            (EntryState::Finished(_), d, _) => d,
            (_, _, Some(started)) => Some(now.saturating_duration_since(started)),
            _ => None,
        }
    }
}

/// What an action acts on, for the history's TARGET column.
pub fn target_of(proposal: &Proposal) -> String {
    match proposal {
        Proposal::Migrate {
            node,
            container,
            to,
        } => match to {
            Some(to) => format!("{node}/{container} → {to}"),
            None => format!("{node}/{container}"),
        },
        Proposal::Scale { service, replicas } => format!("{service} ×{replicas}"),
        Proposal::Failover { node }
        | Proposal::Drain { node }
        | Proposal::Cordon { node }
        | Proposal::Uncordon { node } => node.clone(),
        Proposal::Backup { node, container } => match container {
            Some(c) => format!("{node}/{c}"),
            None => node.clone(),
        },
        Proposal::Restore { node, backup } => format!("{node}/{}", backup.container),
        Proposal::Rollout { service, image, .. } => match image {
            Some(i) => format!("{service} → {i}"),
            None => service.clone(),
        },
        Proposal::Container {
            node, container, ..
        } => format!("{node}/{container}"),
    }
}

/// The actions of this console, newest last, at most [`HISTORY_ENTRIES`]: earlier runs'
/// actions first (read back from the state directory), then this run's.
#[derive(Debug, Clone, Default)]
pub struct ActionLog {
    entries: VecDeque<Entry>,
}

impl ActionLog {
    /// A log holding the records read back from earlier runs, oldest first.
    pub fn from_records(records: impl IntoIterator<Item = HistoryRecord>) -> Self {
        let mut log = Self::default();
        for r in records {
            log.push(r.into_entry());
        }
        log
    }

    fn push(&mut self, entry: Entry) {
        if self.entries.len() == HISTORY_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Records a started action.
    pub fn start(&mut self, op: u64, what: Started, now: Instant, now_unix_ms: u64) {
        self.push(Entry {
            op,
            action: what.action,
            target: what.target,
            title: what.title,
            started_unix_ms: now_unix_ms,
            started: Some(now),
            duration: None,
            state: EntryState::Running {
                stage: "start".into(),
                percent: 0.0,
                message: String::new(),
            },
        });
    }

    /// The entry of `op` in this run.
    pub fn get(&self, op: u64) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.op == op && op != 0)
    }

    fn get_mut(&mut self, op: u64) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .rev()
            .find(|e| e.op == op && op != 0)
    }

    /// Progress of a running action.
    pub fn progress(&mut self, op: u64, stage: String, percent: f32, message: String) {
        if let Some(e) = self.get_mut(op)
            && matches!(e.state, EntryState::Running { .. })
        {
            e.state = EntryState::Running {
                stage,
                percent,
                message,
            };
        }
    }

    /// Marks a cancel request.
    pub fn cancelling(&mut self, op: u64) {
        if let Some(e) = self.get_mut(op)
            && matches!(e.state, EntryState::Running { .. })
        {
            e.state = EntryState::Cancelling;
        }
    }

    /// Records the outcome.
    pub fn finish(&mut self, op: u64, outcome: Outcome, now: Instant) {
        if let Some(e) = self.get_mut(op) {
            e.state = EntryState::Finished(outcome);
            e.duration = e.started.map(|s| now.saturating_duration_since(s));
        }
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Actions still running.
    pub fn running(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| !matches!(e.state, EntryState::Finished(_)))
            .count()
    }
}

/// What a starting action is, for its history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub action: String,
    pub target: String,
    pub title: String,
}

/// A duration as the history shows it: `840ms`, `4.2s`, `2m05s`, `1h03m`.
pub use fleetdeck_core::format::duration_precise as duration_text;

#[cfg(test)]
mod tests {
    use super::*;

    fn started(n: usize) -> Started {
        Started {
            action: "stop".into(),
            target: format!("n1/c{n}"),
            title: format!("Stop c{n}"),
        }
    }

    #[test]
    fn the_log_is_bounded_and_durations_come_from_the_clock() {
        let t0 = Instant::now();
        let mut log = ActionLog::default();
        for i in 0..HISTORY_ENTRIES + 7 {
            log.start(i as u64 + 1, started(i), t0, 1_000);
        }
        assert_eq!(log.len(), HISTORY_ENTRIES);
        assert_eq!(log.entries().next().map(|e| e.op), Some(8));
        log.finish(
            8,
            Outcome::Done("ok".into()),
            t0 + Duration::from_millis(1500),
        );
        let e = log.get(8).expect("entry");
        assert_eq!(e.duration, Some(Duration::from_millis(1500)));
        assert_eq!(e.elapsed(t0), Some(Duration::from_millis(1500)));
        let running = log.get(9).expect("entry");
        assert_eq!(
            running.elapsed(t0 + Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        );
    }
}
