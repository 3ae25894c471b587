//! The tables pane, at the bottom of the stack: node and container tables, the detail pane
//! beside them (shown as `Panes::splits` says) and the alert pane under them. It takes every command the panes above it
//! passed on.

use super::help::HelpPane;
use super::panes::{Pane, PaneKind};
use super::{App, ContainerTable, Cursor, NodeTable, Scope};
use crate::keys::Command;

/// Which table has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Nodes,
    Containers,
    /// The alert pane.
    Alerts,
}

/// The tables pane's state.
#[derive(Debug)]
pub struct Tables {
    pub nodes: NodeTable,
    pub containers: ContainerTable,
    pub focus: Focus,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            nodes: NodeTable {
                dirty: true,
                ..NodeTable::default()
            },
            containers: ContainerTable {
                dirty: true,
                ..ContainerTable::default()
            },
            focus: Focus::Nodes,
        }
    }
}

impl Tables {
    /// The focused table's filter.
    pub fn filter_mut(&mut self) -> &mut String {
        match self.focus {
            Focus::Nodes | Focus::Alerts => &mut self.nodes.filter,
            Focus::Containers => &mut self.containers.filter,
        }
    }

    /// Types a character into the focused table's filter.
    pub fn push_filter(&mut self, c: char) {
        match self.focus {
            Focus::Nodes | Focus::Alerts => self.nodes.filter.push(c),
            Focus::Containers => self.containers.push_filter(c),
        }
    }

    /// Moves the focused table's cursor (the alert pane's is the alert list's).
    pub fn step(&mut self, delta: isize) {
        match self.focus {
            Focus::Nodes => {
                let before = self.nodes.selected;
                self.nodes.step(delta);
                if self.nodes.selected != before && self.containers.scope == Scope::SelectedNode {
                    self.containers.reset_cursor();
                }
            }
            Focus::Containers => self.containers.step(delta),
            Focus::Alerts => {}
        }
    }

    /// The focused table needs its index rebuilt.
    pub fn mark_focused_dirty(&mut self) {
        match self.focus {
            Focus::Nodes | Focus::Alerts => self.nodes.dirty = true,
            Focus::Containers => self.containers.dirty = true,
        }
    }
}

impl App {
    /// A command no pane above the tables took.
    pub(super) fn on_tables_command(&mut self, command: Command) {
        // The alert pane, while focused, has the movement keys.
        let alert_keys = self.panes.tables.focus == Focus::Alerts;
        let tables = &mut self.panes.tables;
        match command {
            Command::Quit => self.should_quit = true,
            Command::Help => self.panes.push(Pane::Help(HelpPane::default())),
            Command::Up if alert_keys => self.panes.alerts.step(-1, self.alerts.rows(), self.now),
            Command::Down if alert_keys => self.panes.alerts.step(1, self.alerts.rows(), self.now),
            Command::PageUp if alert_keys => self.panes.alerts.step(
                -self.panes.alerts.cursor.page(),
                self.alerts.rows(),
                self.now,
            ),
            Command::PageDown if alert_keys => self.panes.alerts.step(
                self.panes.alerts.cursor.page(),
                self.alerts.rows(),
                self.now,
            ),
            Command::Top if alert_keys => {
                self.panes
                    .alerts
                    .step(isize::MIN / 2, self.alerts.rows(), self.now)
            }
            Command::Bottom if alert_keys => {
                self.panes
                    .alerts
                    .step(isize::MAX / 2, self.alerts.rows(), self.now)
            }
            Command::Open if alert_keys => self.jump_to_selected(),
            Command::Up => self.step(-1),
            Command::Down => self.step(1),
            Command::PageUp => self.step(-self.cursor().page()),
            Command::PageDown => self.step(self.cursor().page()),
            Command::Top => self.step(isize::MIN / 2),
            Command::Bottom => self.step(isize::MAX / 2),
            Command::FocusNext => {
                tables.focus = match tables.focus {
                    Focus::Nodes => Focus::Containers,
                    Focus::Containers => Focus::Alerts,
                    Focus::Alerts => Focus::Nodes,
                }
            }
            Command::FocusPrev => {
                tables.focus = match tables.focus {
                    Focus::Nodes => Focus::Alerts,
                    Focus::Containers => Focus::Nodes,
                    Focus::Alerts => Focus::Containers,
                }
            }
            Command::Alerts => self.panes.push(Pane::Alerts),
            Command::Acknowledge => self.start_ack(),
            Command::Silence => self.start_silence(),
            Command::Propose => self.propose_selected(),
            Command::ExportTimeline => self.export_timeline(),
            Command::Palette => self.start_palette(),
            Command::Open => {
                if tables.focus == Focus::Nodes {
                    tables.focus = Focus::Containers;
                    if tables.containers.scope != Scope::SelectedNode {
                        tables.containers.scope = Scope::SelectedNode;
                        tables.containers.dirty = true;
                    }
                }
            }
            Command::Back => {
                let table_filter = tables.filter_mut();
                if !table_filter.is_empty() {
                    table_filter.clear();
                    tables.mark_focused_dirty();
                } else if tables.focus != Focus::Nodes {
                    tables.focus = Focus::Nodes;
                }
            }
            Command::Filter => self.panes.push(Pane::Filter),
            Command::SortNext => match tables.focus {
                Focus::Nodes | Focus::Alerts => tables.nodes.sort_next(),
                Focus::Containers => tables.containers.sort_next(),
            },
            Command::SortReverse => {
                match tables.focus {
                    Focus::Nodes | Focus::Alerts => {
                        tables.nodes.descending = !tables.nodes.descending
                    }
                    Focus::Containers => {
                        tables.containers.descending = !tables.containers.descending
                    }
                }
                tables.mark_focused_dirty();
            }
            Command::ToggleScope => {
                tables.containers.scope = match tables.containers.scope {
                    Scope::SelectedNode => Scope::Fleet,
                    Scope::Fleet => Scope::SelectedNode,
                };
                tables.containers.dirty = true;
            }
            Command::ToggleDetail => {
                let splits = &mut self.panes.splits;
                splits.detail = !splits.detail;
            }
            Command::Logs => self.open_logs(),
            Command::Exec => self.start_exec(),
            Command::Heatmap => self.panes.push(Pane::Heatmap),
            Command::History => self.panes.toggle(PaneKind::History, || Pane::History),
            Command::Migrate
            | Command::Scale
            | Command::Backup
            | Command::Restore
            | Command::Failover
            | Command::Drain
            | Command::Cordon
            | Command::Uncordon
            | Command::Start
            | Command::Stop
            | Command::Restart => {
                self.on_ops_command(command);
            }
            Command::Rollout => self.start_rollout(),
            Command::ToggleLog => {
                let splits = &mut self.panes.splits;
                splits.console_log = !splits.console_log;
            }
            // Meaningful in the heatmap and the dialog, prompt and log modes only.
            Command::FoldAll
            | Command::ScrollOlder
            | Command::ScrollNewer
            | Command::Confirm
            | Command::Cancel
            | Command::Left
            | Command::Right
            | Command::More
            | Command::Less
            | Command::DeleteChar
            | Command::ClearInput
            | Command::Complete
            | Command::Follow
            | Command::Wrap
            | Command::Times
            | Command::Search
            | Command::NextMatch
            | Command::PrevMatch
            | Command::Detach => {}
        }
    }

    fn cursor(&self) -> Cursor {
        let tables = &self.panes.tables;
        match tables.focus {
            Focus::Nodes => tables.nodes.cursor,
            Focus::Containers => tables.containers.cursor,
            Focus::Alerts => self.panes.alerts.cursor,
        }
    }

    /// Moves the focused table's cursor.
    pub(super) fn step(&mut self, delta: isize) {
        match self.panes.tables.focus {
            Focus::Alerts => self.panes.alerts.step(delta, self.alerts.rows(), self.now),
            Focus::Nodes | Focus::Containers => self.panes.tables.step(delta),
        }
    }
}
