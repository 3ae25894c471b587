//! The pane stack: what is on top has the keyboard and is drawn over what is below. The
//! tables are always at the bottom; views (heatmap, alerts, history, a container's log, the
//! wall, a shell in a container) and overlays (help, the filter, prompts, action dialogs) are pushed on them and
//! popped off. Panes whose state outlives them being shown (the tables' cursors, the
//! heatmap's scroll, the alert cursor, the history's scroll) keep it here; the others
//! carry it in their stack entry. Two panes are drawn beside the others, never over them,
//! and never take a key: the detail pane and the console's own log. They are not on the
//! stack but in its [`Splits`], so the stack alone says what has the keyboard.

use super::alerts::{AlertList, View};
use super::display::{HitAreas, Wall, WallView};
use super::exec::{ExecPane, ExecView};
use super::help::HelpPane;
use super::history::HistoryPane;
use super::logs::LogsPane;
use super::ops_ui::Dialog;
use super::prompt::Prompt;
use super::tables_pane::Tables;
use crate::heatmap::Heatmap;
use crate::logs::LogView;

/// One entry of the stack.
#[derive(Debug)]
pub enum Pane {
    /// The wall screen's rotation (read-only consoles; at the bottom, never popped).
    Wall(Wall),
    /// The load heatmap instead of the tables.
    Heatmap,
    /// Every alert, recommendations and the timeline.
    Alerts,
    /// The action history under the tables.
    History,
    /// The live log of one container.
    Logs(Box<LogView>),
    /// The help overlay and its scroll.
    Help(HelpPane),
    /// Keys edit the focused table's filter.
    Filter,
    /// A one-line prompt (acknowledge, silence, the palette).
    Prompt(Prompt),
    /// An action dialog.
    Dialog(Dialog),
    /// A shell in a container, full screen; it takes every key.
    Exec(Box<ExecView>),
}

/// What kind of pane an entry is, to find it and to route keys without borrowing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneKind {
    Wall,
    Heatmap,
    Alerts,
    History,
    Logs,
    Help,
    Filter,
    Prompt,
    Dialog,
    Exec,
}

impl Pane {
    /// Its kind.
    pub fn kind(&self) -> PaneKind {
        match self {
            Self::Wall(_) => PaneKind::Wall,
            Self::Heatmap => PaneKind::Heatmap,
            Self::Alerts => PaneKind::Alerts,
            Self::History => PaneKind::History,
            Self::Logs(_) => PaneKind::Logs,
            Self::Help(_) => PaneKind::Help,
            Self::Filter => PaneKind::Filter,
            Self::Prompt(_) => PaneKind::Prompt,
            Self::Dialog(_) => PaneKind::Dialog,
            Self::Exec(_) => PaneKind::Exec,
        }
    }
}

/// What a pane did with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not its command: the pane below gets it.
    Pass,
    /// Done.
    Taken,
    /// Done, and the pane closes.
    Close,
}

/// What fills the body of the screen: the topmost view on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Screen {
    /// Node and container tables, the detail and alert panes (and the history, if open).
    #[default]
    Tables,
    /// The load heatmap.
    Heatmap,
    /// The full alert view.
    Alerts,
    /// A container's live log.
    Logs,
    /// The wall screen.
    Wall,
    /// A shell in a container.
    Exec,
}

/// The panes drawn beside the others rather than on top: they never take a key, so showing
/// one changes the layout, not the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splits {
    /// The detail pane beside the tables (when the terminal is wide enough).
    pub detail: bool,
    /// The console's own log across the bottom of the screen, under every view.
    pub console_log: bool,
}

impl Default for Splits {
    fn default() -> Self {
        Self {
            detail: true,
            console_log: false,
        }
    }
}

/// The panes and the stack that says which are up.
#[derive(Debug)]
pub struct Panes {
    /// The node and container tables, always at the bottom.
    pub tables: Tables,
    /// The heatmap's rows, cursor and scroll (the heatmap view and the wall draw it).
    pub heatmap: Heatmap,
    /// The alert cursor (the alert pane under the tables and the alert view share it).
    pub alerts: AlertList,
    /// The history's scroll.
    pub history: HistoryPane,
    /// The log view's settings and stream.
    pub logs: LogsPane,
    /// The exec pane's command and sessions.
    pub exec: ExecPane,
    /// The detail pane and the console's log, shown beside the stack's panes.
    pub splits: Splits,
    /// Where the last frame drew table rows, for mouse clicks and the wheel.
    pub hit: HitAreas,
    stack: Vec<Pane>,
}

impl Default for Panes {
    fn default() -> Self {
        Self {
            tables: Tables::default(),
            heatmap: Heatmap::default(),
            alerts: AlertList::default(),
            history: HistoryPane::default(),
            logs: LogsPane::new(crate::logs::DEFAULT_MAX_LINES),
            exec: ExecPane::default(),
            splits: Splits::default(),
            hit: HitAreas::default(),
            stack: Vec::new(),
        }
    }
}

impl Panes {
    /// The stack, bottom first (the tables under it are not listed).
    pub fn stack(&self) -> &[Pane] {
        &self.stack
    }

    /// The pane on top, if anything is above the tables.
    pub fn top(&self) -> Option<&Pane> {
        self.stack.last()
    }

    /// The kind of the pane on top.
    pub fn top_kind(&self) -> Option<PaneKind> {
        self.top().map(Pane::kind)
    }

    /// The pane on top, to hand it a key.
    pub(super) fn top_mut(&mut self) -> Option<&mut Pane> {
        self.stack.last_mut()
    }

    /// Puts a pane on top.
    pub fn push(&mut self, pane: Pane) {
        self.stack.push(pane);
    }

    /// Takes the pane on top off (never the wall, nor the tables under everything).
    pub fn pop(&mut self) -> Option<Pane> {
        match self.stack.last() {
            Some(Pane::Wall(_)) | None => None,
            Some(_) => self.stack.pop(),
        }
    }

    /// Takes the topmost pane of `kind` off, wherever it is.
    pub fn remove(&mut self, kind: PaneKind) -> Option<Pane> {
        let at = self.stack.iter().rposition(|p| p.kind() == kind)?;
        Some(self.stack.remove(at))
    }

    /// True when a pane of `kind` is on the stack.
    pub fn is_open(&self, kind: PaneKind) -> bool {
        self.stack.iter().any(|p| p.kind() == kind)
    }

    /// Removes the pane of `kind` if it is up, else pushes `pane`.
    pub fn toggle(&mut self, kind: PaneKind, pane: impl FnOnce() -> Pane) {
        if self.remove(kind).is_none() {
            self.push(pane());
        }
    }

    /// What fills the body: the topmost view.
    pub fn screen(&self) -> Screen {
        for pane in self.stack.iter().rev() {
            match pane {
                Pane::Wall(_) => return Screen::Wall,
                Pane::Logs(_) => return Screen::Logs,
                Pane::Exec(_) => return Screen::Exec,
                Pane::Heatmap => return Screen::Heatmap,
                Pane::Alerts => return Screen::Alerts,
                Pane::History => return Screen::Tables,
                Pane::Help(_) | Pane::Filter | Pane::Prompt(_) | Pane::Dialog(_) => {}
            }
        }
        Screen::Tables
    }

    /// The alert view or the main one, as the palette names them.
    pub fn view(&self) -> View {
        if self.screen() == Screen::Alerts {
            View::Alerts
        } else {
            View::Main
        }
    }

    /// The wall's rotation, when this console is one.
    pub fn wall(&self) -> Option<&Wall> {
        self.stack.iter().find_map(|p| match p {
            Pane::Wall(w) => Some(w),
            _ => None,
        })
    }

    pub(super) fn wall_mut(&mut self) -> Option<&mut Wall> {
        self.stack.iter_mut().find_map(|p| match p {
            Pane::Wall(w) => Some(w),
            _ => None,
        })
    }

    /// The wall's current view, when this console is one.
    pub fn wall_view(&self) -> Option<WallView> {
        self.wall().map(Wall::view)
    }

    /// The open action dialog.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.stack.iter().rev().find_map(|p| match p {
            Pane::Dialog(d) => Some(d),
            _ => None,
        })
    }

    pub(super) fn dialog_mut(&mut self) -> Option<&mut Dialog> {
        self.stack.iter_mut().rev().find_map(|p| match p {
            Pane::Dialog(d) => Some(d),
            _ => None,
        })
    }

    /// Opens `dialog`, replacing the one open.
    pub fn open_dialog(&mut self, dialog: Dialog) {
        self.remove(PaneKind::Dialog);
        self.push(Pane::Dialog(dialog));
    }

    /// The open prompt.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.stack.iter().rev().find_map(|p| match p {
            Pane::Prompt(p) => Some(p),
            _ => None,
        })
    }

    /// The open log view.
    pub fn log_view(&self) -> Option<&LogView> {
        self.stack.iter().rev().find_map(|p| match p {
            Pane::Logs(v) => Some(v.as_ref()),
            _ => None,
        })
    }

    /// The log pane's settings with the open log view, to hand it a key or rows.
    pub(super) fn log_pane_mut(&mut self) -> Option<(&LogsPane, &mut LogView)> {
        let view = self.stack.iter_mut().rev().find_map(|p| match p {
            Pane::Logs(v) => Some(v.as_mut()),
            _ => None,
        })?;
        Some((&self.logs, view))
    }

    /// The open exec pane.
    pub fn exec_view(&self) -> Option<&ExecView> {
        self.stack.iter().rev().find_map(|p| match p {
            Pane::Exec(v) => Some(v.as_ref()),
            _ => None,
        })
    }

    pub(super) fn exec_view_mut(&mut self) -> Option<&mut ExecView> {
        self.stack.iter_mut().rev().find_map(|p| match p {
            Pane::Exec(v) => Some(v.as_mut()),
            _ => None,
        })
    }

    /// How far help is scrolled, while it is open.
    pub fn help_offset(&self) -> Option<usize> {
        self.stack.iter().rev().find_map(|p| match p {
            Pane::Help(h) => Some(h.offset),
            _ => None,
        })
    }

    /// True while keys edit a table's filter.
    pub fn filtering(&self) -> bool {
        self.is_open(PaneKind::Filter)
    }

    /// True when the history pane is drawn (open, and the tables are the screen).
    pub fn history_shown(&self) -> bool {
        self.is_open(PaneKind::History) && self.screen() == Screen::Tables
    }

    /// True when a frame will draw the heatmap (its rows must be fresh).
    pub fn heatmap_shown(&self) -> bool {
        self.screen() == Screen::Heatmap || self.wall_view().is_some_and(|v| v != WallView::Nodes)
    }
}

#[cfg(test)]
#[path = "panes_tests.rs"]
mod tests;
