//! The console's action history: every action it ran, with its progress and outcome.

use std::collections::VecDeque;
use std::time::Instant;

use super::Outcome;

/// Actions kept in the history pane.
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
    pub op: u64,
    pub title: String,
    /// Wall clock when it started, ms since the Unix epoch.
    pub started_unix_ms: u64,
    pub started: Instant,
    pub finished: Option<Instant>,
    pub state: EntryState,
}

/// Every action of this console session, newest last.
#[derive(Debug, Clone, Default)]
pub struct ActionLog {
    entries: VecDeque<Entry>,
}

impl ActionLog {
    /// Records a started action.
    pub fn start(&mut self, op: u64, title: String, now: Instant, now_unix_ms: u64) {
        if self.entries.len() == HISTORY_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            op,
            title,
            started_unix_ms: now_unix_ms,
            started: now,
            finished: None,
            state: EntryState::Running {
                stage: "start".into(),
                percent: 0.0,
                message: String::new(),
            },
        });
    }

    /// The entry of `op`.
    pub fn get(&self, op: u64) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.op == op)
    }

    fn get_mut(&mut self, op: u64) -> Option<&mut Entry> {
        self.entries.iter_mut().rev().find(|e| e.op == op)
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
            e.finished = Some(now);
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
