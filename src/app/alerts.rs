//! The alert pane and the alert view: the alert cursor, jumping to what an alert is about,
//! recommendations and the timeline export. Part of `App::update`: no I/O here; the export
//! is handed to the run loop as an `Effect`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::panes::{Outcome, PaneKind};
use super::{Action, App, ContainerRef, Cursor, Effect, Focus, Redraw, Scope};
use crate::alerts::{Alert, AlertKey, AlertState, EntryKind, Proposal, Stamp, Subject};
use crate::keys::Command;

/// The main view or the alert view, as the palette names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Tables, detail and the alert pane.
    #[default]
    Main,
    /// Every alert, its details, recommendations and the timeline.
    Alerts,
}

impl View {
    /// Every view, for the palette.
    pub const ALL: [View; 2] = [View::Main, View::Alerts];

    /// Name in the palette.
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Alerts => "alerts",
        }
    }

    /// What the view shows.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Main => "nodes, containers and the alert pane",
            Self::Alerts => "all alerts, recommendations and the incident timeline",
        }
    }
}

/// How long the alert cursor stays where the engineer put it before a newly firing, more
/// severe alert may take it: long enough to read and act, short enough that an alert
/// firing while nobody touches the keys is under the cursor for `x`.
pub const CURSOR_HOLD: Duration = Duration::from_secs(30);

/// The alert list's cursor, shared by the alert pane under the tables and the alert view.
#[derive(Debug, Clone, Default)]
pub struct AlertList {
    pub cursor: Cursor,
    /// Alert under the cursor, kept across re-sorts.
    pub selected: Option<(AlertKey, AlertState)>,
    /// When the engineer last moved the cursor.
    moved_at: Option<Instant>,
    /// Alerts that were firing at the last re-sort, to tell which start firing now.
    firing: BTreeSet<AlertKey>,
}

impl AlertList {
    /// Keeps the cursor on the same alert after the rows were re-sorted, unless an alert
    /// more severe than that one has just started firing and the engineer has not moved
    /// the cursor for `CURSOR_HOLD`: then the cursor goes to it, so `x` acts on it.
    pub fn follow(&mut self, rows: &[Alert], now: Instant) {
        self.keep(rows);
        let was_firing = std::mem::take(&mut self.firing);
        self.firing = rows
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| a.key)
            .collect();
        let held = self
            .moved_at
            .is_some_and(|t| now.saturating_duration_since(t) < CURSOR_HOLD);
        if held {
            return;
        }
        let under = rows.get(self.cursor.row).map(|a| a.severity);
        // The most severe of the newly firing alerts; the first row among equals (the
        // alert book sorts firing, then severity, then age).
        let newly = rows
            .iter()
            .enumerate()
            .filter(|(_, a)| a.state == AlertState::Firing && !was_firing.contains(&a.key))
            .rev()
            .max_by_key(|(_, a)| a.severity);
        if let Some((row, alert)) = newly
            && under.is_none_or(|s| alert.severity > s)
        {
            self.cursor.row = row;
            self.selected = Some((alert.key, alert.state));
        }
    }

    /// Keeps the cursor on the same alert after the rows were re-sorted.
    fn keep(&mut self, rows: &[Alert]) {
        if let Some((key, state)) = self.selected {
            let same = rows.iter().position(|a| a.key == key && a.state == state);
            let active = || {
                rows.iter()
                    .any(|a| a.key == key && a.state != AlertState::Resolved)
            };
            match same {
                // The cursor follows an active alert as rows move; a resolved one is
                // history and does not hold it (a new alert may take the top row).
                Some(pos) if state != AlertState::Resolved => self.cursor.row = pos,
                Some(_) => {}
                // It resolved (or was dropped): back to the top, the most urgent alert.
                None if state != AlertState::Resolved && !active() => self.cursor.row = 0,
                None => {}
            }
        }
        self.cursor.clamp(rows.len());
        self.selected = rows.get(self.cursor.row).map(|a| (a.key, a.state));
    }

    /// Moves the cursor by `delta` rows: the engineer's choice, held for `CURSOR_HOLD`.
    pub fn step(&mut self, delta: isize, rows: &[Alert], now: Instant) {
        self.moved_at = Some(now);
        self.cursor.step(delta, rows.len());
        self.selected = rows.get(self.cursor.row).map(|a| (a.key, a.state));
    }

    /// A command while the alert view is on top, listing `rows`: movement, and Back or
    /// the alerts key to close it. Open jumps to the alert's node in the tables, which the
    /// console does.
    pub fn on_view_command(&mut self, command: Command, rows: &[Alert], now: Instant) -> Outcome {
        let page = self.cursor.page();
        match command {
            Command::Up => self.step(-1, rows, now),
            Command::Down => self.step(1, rows, now),
            Command::PageUp => self.step(-page, rows, now),
            Command::PageDown => self.step(page, rows, now),
            Command::Top => self.step(isize::MIN / 2, rows, now),
            Command::Bottom => self.step(isize::MAX / 2, rows, now),
            Command::Back | Command::Alerts => return Outcome::Close,
            _ => return Outcome::Pass,
        }
        Outcome::Taken
    }
}

impl App {
    /// The clock as the alert book wants it.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            at: self.now,
            unix_ms: self.now_unix_ms,
        }
    }

    /// The alert under the alert cursor.
    pub fn selected_alert(&self) -> Option<&Alert> {
        self.alerts.rows().get(self.panes.alerts.cursor.row)
    }

    /// True when keys move the alert cursor (pane focused or the alert view open).
    pub fn alerts_have_keys(&self) -> bool {
        self.panes.view() == View::Alerts || self.panes.tables.focus == Focus::Alerts
    }

    /// A command reaching the alert view; true when it took it.
    pub(super) fn on_alert_view_command(&mut self, command: Command) -> bool {
        if command == Command::Open {
            // Jumping to what the alert is about moves the tables' cursors.
            self.jump_to_selected();
            return true;
        }
        match self
            .panes
            .alerts
            .on_view_command(command, self.alerts.rows(), self.now)
        {
            Outcome::Pass => return false,
            Outcome::Taken => {}
            Outcome::Close => {
                self.panes.remove(PaneKind::Alerts);
            }
        }
        true
    }

    /// Re-sorts the alert rows and keeps the cursor on the same alert.
    pub(super) fn refresh_alerts(&mut self) {
        // A new alert may fall under a silence made in Alertmanager: shown silenced at once.
        self.match_remote_silences(false);
        if self.alerts.is_dirty() {
            self.alerts.refresh(self.now);
            self.panes.alerts.follow(self.alerts.rows(), self.now);
        }
    }

    /// `x`: opens the selected alert's recommended action.
    pub(super) fn propose_selected(&mut self) {
        match self.selected_alert().and_then(|a| a.proposal.clone()) {
            Some(p) => self.update(Action::Recommendation(p)),
            None => self.set_status("the selected alert recommends no action"),
        }
    }

    /// A recommendation's action was asked for: record it and open it.
    pub(super) fn on_recommendation(&mut self, proposal: Proposal) {
        let now = self.stamp();
        self.alerts
            .record(EntryKind::Proposed, proposal.to_string(), now);
        // The action framework plans it and opens its pre-filled confirmation dialog.
        self.propose(crate::ops::Proposal::from(&proposal));
        self.request(Redraw::Now);
    }

    /// `E`: hands the timeline to the run loop to write as Markdown.
    pub(super) fn export_timeline(&mut self) {
        let markdown = self
            .alerts
            .timeline()
            .to_markdown(&self.title, self.now_unix_ms);
        let file_name = crate::alerts::export_file_name(self.now_unix_ms);
        self.emit(Effect::ExportTimeline {
            file_name,
            markdown,
        });
    }

    /// The run loop wrote (or failed to write) the export.
    pub(super) fn on_exported(&mut self, result: Result<std::path::PathBuf, String>) {
        match result {
            Ok(path) => self.set_status(format!("timeline exported to {}", path.display())),
            Err(e) => self.set_status(format!("timeline export failed: {e}")),
        }
        self.request(Redraw::Now);
    }

    /// `Enter` on an alert: the node or container it is about, in the main view.
    pub(super) fn jump_to_selected(&mut self) {
        let Some(alert) = self.selected_alert() else {
            return;
        };
        let target = match (alert.key.subject(), &alert.proposal) {
            (Subject::Node(slot), _) => Some((slot, None)),
            (Subject::Container { slot, key }, _) => Some((slot, Some(key))),
            (Subject::Fleet, Some(Proposal::Migrate { from, .. })) => self
                .fleet
                .nodes()
                .iter()
                .position(|n| n.name() == from)
                .map(|s| (s, None)),
            (Subject::Fleet, _) => None,
        };
        let Some((slot, container)) = target else {
            self.set_status("a fleet-wide alert: no single node to show");
            return;
        };
        self.panes.remove(PaneKind::Alerts);
        let tables = &mut self.panes.tables;
        if !tables.nodes.filter.is_empty() {
            tables.nodes.filter.clear();
        }
        tables.nodes.selected = Some(slot);
        tables.nodes.pinned = true;
        tables.nodes.dirty = true;
        match container {
            None => tables.focus = Focus::Nodes,
            Some(key) => {
                tables.containers.scope = Scope::SelectedNode;
                tables.containers.filter.clear();
                tables.containers.selected = Some(ContainerRef { slot, key });
                tables.containers.pinned = true;
                tables.containers.dirty = true;
                tables.focus = Focus::Containers;
            }
        }
    }
}
