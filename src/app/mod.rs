//! The Elm-like core: `App` holds the console's state and `update` applies one `Action`.
//!
//! `update` never awaits and does no I/O; the run loop feeds it keys, ticks and agent
//! updates, and redraws only when `take_redraw` says something visible changed.

mod alerts;
mod display;
mod filter;
mod help;
mod logs;
mod ops_dialog;
mod ops_ui;
mod palette;
mod tables;

use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind};

pub use alerts::{AlertUi, Effect, Prompt, PromptKind, SILENCE_CHOICES, View};
pub use display::{Body, HitAreas, Wall, WallView};
pub use logs::{LOG_KEYS, LogCommand, LogsUi, log_command};
pub use ops_ui::{Choice, Dialog, OpRequest, OpsUi};
pub use palette::{Entry as PaletteEntry, Target as PaletteTarget, matches as palette_matches};
pub use tables::{
    ContainerRef, ContainerSort, ContainerTable, Cursor, NodeSort, NodeTable, Scope, natural_cmp,
    visible_offset,
};

use crate::alerts::{AlertBook, Proposal};
use crate::heatmap::Heatmap;
use crate::keys::{Command, KeyMap};
use crate::model::{AgentUpdate, Container, Fleet, Node};
use crate::theme::Theme;

/// Everything that can happen to the console.
#[derive(Debug, Clone)]
pub enum Action {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize { width: u16, height: u16 },
    /// Time passed (the run loop ticks about once a second).
    Tick,
    /// An agent connection reported something.
    Agent(AgentUpdate),
    /// The last frame showed this many rows in the node and container tables.
    Viewport { nodes: usize, containers: usize },
    /// An operation reported progress, an outcome or data.
    Op(crate::ops::OpEvent),
    /// Open the confirmation dialog for a proposed action (alerts, palette, ...).
    Propose(crate::ops::Proposal),
    /// The last frame had room for this many heatmap rows.
    HeatmapViewport { rows: usize },
    /// Where the last frame drew each table's rows (for the mouse).
    Layout(HitAreas),
    /// A mouse click or wheel turn.
    Mouse(crossterm::event::MouseEvent),
    /// A recommendation's action should open (pre-filled) for the operator to confirm.
    Recommendation(Proposal),
    /// The run loop wrote the exported timeline here (or could not).
    Exported(Result<std::path::PathBuf, String>),
    /// Rows or the end of log stream `session`.
    Logs {
        session: u64,
        event: crate::logs::LogEvent,
    },
    /// The last frame showed this many log rows.
    LogViewport(usize),
    /// The last frame showed this many action history rows.
    HistoryViewport(usize),
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Nodes,
    Containers,
    /// The alert pane.
    Alerts,
}

/// What the keyboard is typing into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Input {
    /// Keys are commands.
    #[default]
    Normal,
    /// Keys edit the focused table's filter.
    Filter,
}

/// How urgently the screen must be redrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Redraw {
    #[default]
    None,
    /// Data changed: redraw at the next data frame (bounded rate, kind to SSH links).
    Data,
    /// An alert fired or resolved: redraw soon, at a higher but still bounded rate.
    Alert,
    /// The user did something: redraw now.
    Now,
}

/// The console's state.
#[derive(Debug)]
pub struct App {
    pub fleet: Fleet,
    pub nodes: NodeTable,
    pub containers: ContainerTable,
    pub focus: Focus,
    pub input: Input,
    pub show_help: bool,
    /// First command row shown in help (it scrolls on short terminals).
    pub help_offset: usize,
    pub show_detail: bool,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// The console's clock, set by the run loop before each update.
    pub now: Instant,
    /// Wall clock matching `now`, for uptimes computed from agent timestamps.
    pub now_unix_ms: u64,
    /// Short message for the status line, with when it was set.
    pub status: Option<(String, Instant)>,
    /// Name of the console's mode, shown in the header (e.g. "demo").
    pub title: String,
    pub should_quit: bool,
    /// Actions: dialog, history, spec cache, fencing.
    pub ops: OpsUi,
    /// Tables or heatmap.
    pub body: Body,
    pub heatmap: Heatmap,
    /// No command that could change the fleet runs (the wall screen). Checked in one place,
    /// `run_command`, which every key and the palette go through.
    pub read_only: bool,
    /// The wall screen's rotation, when this console is one.
    pub wall: Option<Wall>,
    /// ASCII borders and glyphs only.
    pub ascii: bool,
    /// Where the last frame drew table rows, for mouse clicks and the wheel.
    pub hit: HitAreas,
    /// The console's own log is shown in a pane.
    pub show_log: bool,
    /// Alert state, silences and the incident timeline.
    pub alerts: AlertBook,
    /// The alert pane and view, prompts, pending effects.
    pub alert_ui: AlertUi,
    /// The live log view of one container.
    pub logs: LogsUi,
    redraw: Redraw,
    /// Keys pressed while the sort index was being rebuilt count against the new index.
    ages_visible: bool,
    /// Terminal size, from the last resize (0 = not told yet).
    screen_width: u16,
    screen_height: u16,
}

/// How long a status message stays on the status line.
pub const STATUS_MESSAGE_TTL: Duration = Duration::from_secs(5);

impl App {
    /// A console following `fleet`, with default keys and theme.
    pub fn new(fleet: Fleet, now: Instant) -> Self {
        let mut app = Self {
            fleet,
            nodes: NodeTable {
                dirty: true,
                ..NodeTable::default()
            },
            containers: ContainerTable {
                dirty: true,
                ..ContainerTable::default()
            },
            focus: Focus::Nodes,
            input: Input::Normal,
            show_help: false,
            help_offset: 0,
            show_detail: true,
            keymap: KeyMap::default(),
            theme: Theme::default(),
            now,
            now_unix_ms: 0,
            status: None,
            title: String::new(),
            should_quit: false,
            ops: OpsUi::default(),
            body: Body::Tables,
            heatmap: Heatmap::default(),
            read_only: false,
            wall: None,
            ascii: false,
            hit: HitAreas::default(),
            show_log: false,
            alerts: AlertBook::default(),
            alert_ui: AlertUi::default(),
            logs: LogsUi::new(crate::logs::DEFAULT_MAX_LINES),
            redraw: Redraw::Now,
            ages_visible: false,
            screen_width: 0,
            screen_height: 0,
        };
        app.refresh();
        app
    }

    /// Replaces the alert rules (from the config) and evaluates the fleet once.
    pub fn set_alert_rules(&mut self, rules: Vec<crate::alerts::Rule>) {
        self.alerts = AlertBook::new(rules);
        let now = self.stamp();
        self.alerts.observe_all(&self.fleet, now);
        self.refresh_alerts();
    }

    /// Sets the clock the next updates and the next frame use.
    pub fn set_clock(&mut self, now: Instant, now_unix_ms: u64) {
        self.now = now;
        self.now_unix_ms = now_unix_ms;
    }

    /// Applies one action. Never awaits, never does I/O.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Key(key) => {
                if key.kind != KeyEventKind::Release {
                    self.refresh();
                    self.on_key(key);
                    self.refresh();
                    self.request(Redraw::Now);
                }
            }
            Action::Resize { width, height } => {
                self.screen_width = width;
                self.screen_height = height;
                self.request(Redraw::Now);
            }
            Action::Tick => self.on_tick(),
            Action::Agent(update) => {
                let slot = update_slot(&update);
                let snapshot = matches!(update, AgentUpdate::Snapshot { .. });
                let applied = self.fleet.apply(update, self.now);
                if applied.changed {
                    let now = self.stamp();
                    self.alerts.observe_node(&self.fleet, slot, now);
                    self.nodes.dirty = true;
                    self.heatmap.dirty = true;
                    let shown =
                        self.containers.scope == Scope::Fleet || self.nodes.selected == Some(slot);
                    if applied.containers_changed && shown {
                        self.containers.dirty = true;
                    }
                    self.request(Redraw::Data);
                }
                if applied.agent_restarted {
                    let name = self.fleet.nodes()[slot].name().to_string();
                    self.set_status(format!("agent of {name} restarted: resynchronised"));
                }
                if snapshot {
                    self.check_fencing();
                } else if applied.containers_changed && self.ops.read_only {
                    // Stale copies stopped by another console arrive as deltas.
                    self.count_stale_copies();
                }
            }
            Action::Viewport { nodes, containers } => {
                self.nodes.cursor.viewport = nodes;
                self.containers.cursor.viewport = containers;
                self.nodes.cursor.clamp(self.nodes.rows.len());
                self.containers.cursor.clamp(self.containers.rows.len());
            }
            Action::Op(event) => self.on_op_event(event),
            Action::Propose(proposal) => {
                self.propose(proposal);
                self.request(Redraw::Now);
            }
            Action::Layout(areas) => self.hit = areas,
            Action::Mouse(event) => {
                self.refresh();
                if self.on_mouse(event) {
                    self.refresh();
                    self.request(Redraw::Now);
                }
            }
            Action::HeatmapViewport { rows } => {
                if self.heatmap.cursor.viewport != rows {
                    self.heatmap.cursor.viewport = rows;
                    // Whether groups fold depends on the room there is.
                    self.heatmap.refresh(&self.fleet);
                    self.request(Redraw::Now);
                }
            }
            Action::Recommendation(proposal) => self.on_recommendation(proposal),
            Action::Exported(result) => self.on_exported(result),
            Action::Logs { session, event } => self.on_logs(session, event),
            Action::LogViewport(rows) => self.logs.page = rows,
            Action::HistoryViewport(rows) => {
                self.ops.history_page = rows;
                self.ops.scroll_history(0, rows);
            }
        }
        if self.alerts.take_urgent() {
            // A firing or resolved alert is what the on-call engineer waits for.
            self.request(Redraw::Alert);
        } else if self.alerts.is_dirty() {
            self.request(Redraw::Data);
        }
    }

    /// Rebuilds the table indexes that are out of date. Called before drawing and before
    /// keys are handled; cost grows with the fleet only when the data changed.
    pub fn refresh(&mut self) {
        let before = self.nodes.selected;
        self.nodes.refresh(&self.fleet, self.now);
        if self.nodes.selected != before && self.containers.scope == Scope::SelectedNode {
            self.containers.dirty = true;
        }
        self.containers
            .refresh(&self.fleet, self.nodes.selected, self.now_unix_ms);
        if self.heatmap_shown() {
            self.heatmap.refresh(&self.fleet);
        }
        self.refresh_alerts();
    }

    /// What kind of redraw is pending; clears it.
    pub fn take_redraw(&mut self) -> Redraw {
        std::mem::take(&mut self.redraw)
    }

    /// Asks for a redraw at least this urgent.
    pub fn request(&mut self, redraw: Redraw) {
        self.redraw = self.redraw.max(redraw);
    }

    /// Shows a message on the status line for a few seconds.
    pub fn set_status(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), self.now));
        self.request(Redraw::Data);
    }

    /// The status message, if it is still fresh.
    pub fn status_message(&self) -> Option<&str> {
        self.status
            .as_ref()
            .filter(|(_, at)| self.now.saturating_duration_since(*at) < STATUS_MESSAGE_TTL)
            .map(|(m, _)| m.as_str())
    }

    /// The node under the node table's cursor.
    pub fn selected_node(&self) -> Option<(usize, &Node)> {
        self.nodes
            .selected
            .and_then(|s| self.fleet.node(s).map(|n| (s, n)))
    }

    /// The container under the container table's cursor, with its node.
    pub fn selected_container(&self) -> Option<(&Node, &Container)> {
        let r = self.containers.selected?;
        let node = self.fleet.node(r.slot)?;
        node.containers.get(&r.key).map(|c| (node, c))
    }

    /// A container row's data.
    pub fn container(&self, r: ContainerRef) -> Option<(&Node, &Container)> {
        let node = self.fleet.node(r.slot)?;
        node.containers.get(&r.key).map(|c| (node, c))
    }

    fn on_tick(&mut self) {
        let now = self.stamp();
        self.alerts.tick(&self.fleet, now);
        // Ages of unreachable nodes tick on screen, and UNKNOWN turns FAILED with time.
        let any_down = self.fleet.nodes().iter().any(|n| !n.is_live());
        if any_down || self.ages_visible {
            self.nodes.dirty |= self.nodes.sort == NodeSort::State;
            self.request(Redraw::Data);
        }
        self.ages_visible = any_down;
        self.rotate_wall();
        if let Some((_, at)) = &self.status {
            if self.now.saturating_duration_since(*at) >= STATUS_MESSAGE_TTL {
                self.status = None;
                self.request(Redraw::Data);
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        if self.input == Input::Filter {
            self.on_filter_key(key);
            return;
        }
        if self.ops.dialog.is_some() {
            self.on_dialog_key(key);
            return;
        }
        if self.on_prompt_key(key) {
            return;
        }
        if self.on_logs_key(key) {
            return;
        }
        let Some(command) = self.keymap.command(key) else {
            return;
        };
        if self.show_help && !matches!(command, Command::Quit) {
            // Movement keys scroll help on short terminals; any other key closes it.
            if !self.scroll_help(command) {
                self.show_help = false;
            }
            return;
        }
        self.run_command(command);
    }

    /// Runs one command, from a key or the palette. The read-only gate is here, so it holds
    /// for every way in and for commands added later.
    pub fn run_command(&mut self, command: Command) {
        if self.read_only && !command.is_view_only() {
            self.set_status(format!(
                "read-only console: `{}` is not available here",
                command.name()
            ));
            return;
        }
        if self.on_display_command(command) {
            return;
        }
        self.dispatch(command);
    }

    /// Runs a command in the tables and alert views.
    fn dispatch(&mut self, command: Command) {
        let alert_keys = self.alerts_have_keys();
        // The history pane, while open, has the movement keys: it is what was just opened.
        let history = self.ops.show_history
            && self.alert_ui.view == View::Main
            && self.body == Body::Tables
            && self.wall.is_none();
        let history_page = match self.ops.history_page {
            0 => crate::ui::history_page(self, self.screen_height),
            drawn => drawn,
        };
        match command {
            Command::Quit => self.should_quit = true,
            Command::Up if history => self.ops.scroll_history(-1, history_page),
            Command::Down if history => self.ops.scroll_history(1, history_page),
            Command::PageUp if history => self
                .ops
                .scroll_history(-(history_page as isize), history_page),
            Command::PageDown if history => {
                self.ops.scroll_history(history_page as isize, history_page)
            }
            Command::Top if history => self.ops.history_offset = 0,
            Command::Bottom if history => self.ops.scroll_history(isize::MAX / 2, history_page),
            Command::Back if history => self.ops.show_history = false,
            Command::Help => {
                self.show_help = true;
                self.help_offset = 0;
            }
            Command::Up if alert_keys => self.step_alerts(-1),
            Command::Down if alert_keys => self.step_alerts(1),
            Command::PageUp if alert_keys => self.step_alerts(-self.alert_ui.cursor.page()),
            Command::PageDown if alert_keys => self.step_alerts(self.alert_ui.cursor.page()),
            Command::Top if alert_keys => self.step_alerts(isize::MIN / 2),
            Command::Bottom if alert_keys => self.step_alerts(isize::MAX / 2),
            Command::Open if alert_keys => self.jump_to_selected(),
            Command::Back if self.alert_ui.view == View::Alerts => self.alert_ui.view = View::Main,
            Command::Up => self.step(-1),
            Command::Down => self.step(1),
            Command::PageUp => self.step(-self.cursor().page()),
            Command::PageDown => self.step(self.cursor().page()),
            Command::Top => self.step(isize::MIN / 2),
            Command::Bottom => self.step(isize::MAX / 2),
            Command::FocusNext => {
                self.focus = match self.focus {
                    Focus::Nodes => Focus::Containers,
                    Focus::Containers => Focus::Alerts,
                    Focus::Alerts => Focus::Nodes,
                }
            }
            Command::FocusPrev => {
                self.focus = match self.focus {
                    Focus::Nodes => Focus::Alerts,
                    Focus::Containers => Focus::Nodes,
                    Focus::Alerts => Focus::Containers,
                }
            }
            Command::Alerts => self.toggle_alert_view(),
            Command::Acknowledge => self.start_ack(),
            Command::Silence => self.start_silence(),
            Command::Propose => self.propose_selected(),
            Command::ExportTimeline => self.export_timeline(),
            Command::Palette => self.start_palette(),
            Command::Open => {
                if self.focus == Focus::Nodes {
                    self.focus = Focus::Containers;
                    if self.containers.scope != Scope::SelectedNode {
                        self.containers.scope = Scope::SelectedNode;
                        self.containers.dirty = true;
                    }
                }
            }
            Command::Back => {
                let table_filter = self.filter_mut();
                if !table_filter.is_empty() {
                    table_filter.clear();
                    self.mark_focused_dirty();
                } else if self.focus != Focus::Nodes {
                    self.focus = Focus::Nodes;
                }
            }
            Command::Filter => self.input = Input::Filter,
            Command::SortNext => match self.focus {
                Focus::Nodes | Focus::Alerts => self.nodes.sort_next(),
                Focus::Containers => self.containers.sort_next(),
            },
            Command::SortReverse => {
                match self.focus {
                    Focus::Nodes | Focus::Alerts => self.nodes.descending = !self.nodes.descending,
                    Focus::Containers => self.containers.descending = !self.containers.descending,
                }
                self.mark_focused_dirty();
            }
            Command::ToggleScope => {
                self.containers.scope = match self.containers.scope {
                    Scope::SelectedNode => Scope::Fleet,
                    Scope::Fleet => Scope::SelectedNode,
                };
                self.containers.dirty = true;
            }
            Command::ToggleDetail => self.show_detail = !self.show_detail,
            Command::Logs => self.open_logs(),
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
            | Command::Restart
            | Command::History => {
                self.on_ops_command(command);
            }
            Command::ToggleLog => self.show_log = !self.show_log,
            // Handled by `on_display_command` in the views where they mean something.
            Command::Heatmap | Command::FoldAll | Command::ScrollOlder | Command::ScrollNewer => {}
        }
    }

    fn cursor(&self) -> Cursor {
        match self.focus {
            Focus::Nodes => self.nodes.cursor,
            Focus::Containers => self.containers.cursor,
            Focus::Alerts => self.alert_ui.cursor,
        }
    }

    fn step(&mut self, delta: isize) {
        match self.focus {
            Focus::Nodes => {
                let before = self.nodes.selected;
                self.nodes.step(delta);
                if self.nodes.selected != before && self.containers.scope == Scope::SelectedNode {
                    self.containers.reset_cursor();
                }
            }
            Focus::Containers => self.containers.step(delta),
            Focus::Alerts => self.step_alerts(delta),
        }
    }
}

fn update_slot(update: &AgentUpdate) -> usize {
    match update {
        AgentUpdate::Snapshot { slot, .. }
        | AgentUpdate::Delta { slot, .. }
        | AgentUpdate::Heartbeat { slot, .. }
        | AgentUpdate::Down { slot, .. } => *slot,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
