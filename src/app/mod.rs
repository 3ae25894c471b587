//! The Elm-like core: `App` holds the console's state and `update` applies one `Action`.
//!
//! `update` never awaits and does no I/O; the run loop feeds it keys, ticks and agent
//! updates, and redraws only when `take_redraw` says something visible changed.

mod alerts;
mod container_rows;
mod display;
mod exec;
mod exec_keys;
mod filter;
mod help;
mod history;
mod logs;
mod ops_dialog;
mod ops_ui;
mod palette;
mod panes;
mod prompt;
mod rollout_ui;
mod silences;
mod tables;
mod tables_pane;

use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind, KeyModifiers};

pub use alerts::{AlertList, View};
pub use display::{HitAreas, Wall, WallView};
pub use exec::{
    EXEC_SCROLLBACK_ROWS, EXEC_TITLE_ROWS, ExecEvent, ExecOutcome, ExecPane, ExecStatus,
    ExecTarget, ExecView, pty_size,
};
pub use help::HelpPane;
pub use history::HistoryPane;
pub use logs::{LogOutcome, LogsPane};
pub use ops_dialog::{DialogCtx, DialogOutcome};
pub use ops_ui::{Choice, Dialog, OpRequest, Ops};
pub use palette::{Entry as PaletteEntry, Target as PaletteTarget, matches as palette_matches};
pub use panes::{Outcome, Pane, PaneKind, Panes, Screen, Splits};
pub use prompt::{Prompt, PromptKind, PromptOutcome, SILENCE_CHOICES};
pub use silences::{Created, Listed, SILENCE_POLL_INTERVAL, SilenceSync};
pub use tables::{
    ContainerRef, ContainerSort, ContainerTable, Cursor, NodeSort, NodeTable, Scope, natural_cmp,
    visible_offset,
};
pub use tables_pane::{Focus, Tables};

use crate::alerts::{AlertBook, Proposal};
use crate::keys::Command;
use crate::keys::{KeyMap, Mode};
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
    /// What the last frame laid out: rows shown per pane, where the tables are.
    Drawn(crate::ui::DrawInfo),
    /// An operation reported progress, an outcome or data.
    Op(crate::ops::OpEvent),
    /// Open the confirmation dialog for a proposed action (alerts, palette, ...).
    Propose(crate::ops::Proposal),
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
    /// The run loop made (or failed to make) the Alertmanager silences for the console's
    /// silence on this alert.
    SilenceCreated {
        key: crate::alerts::AlertKey,
        results: Created,
    },
    /// Alertmanager's active silences, as asked at `asked`.
    SilencesListed { asked: Instant, results: Listed },
    /// Exec session `session` reported something.
    Exec { session: u64, event: ExecEvent },
    /// Text was pasted (the terminal brackets pastes).
    Paste(String),
}

/// Work `update` asks the run loop to do (it may not do I/O itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write the timeline as Markdown to the state dir under this file name.
    ExportTimeline { file_name: String, markdown: String },
    /// Stream the log of `container` from the agent at `endpoint`, as stream `session`.
    OpenLogs {
        session: u64,
        endpoint: String,
        container: String,
        tail: u32,
    },
    /// Stop the log stream.
    CloseLogs,
    /// Work for the ops runner.
    Op(OpRequest),
    /// Make this silence, for the console's silence on `key`, in every Alertmanager.
    CreateSilence {
        key: crate::alerts::AlertKey,
        silence: crate::notify::silences::NewSilence,
    },
    /// List the active silences of every Alertmanager; `asked` comes back with them.
    ListSilences { asked: Instant },
    /// Open exec session `session` on the agent of `node` at `endpoint`.
    OpenExec {
        session: u64,
        node: String,
        endpoint: String,
        request: crate::client::exec::ExecRequest,
    },
    /// Input for exec session `session`.
    ExecInput {
        session: u64,
        input: crate::client::exec::ExecIn,
    },
    /// Close exec session `session` (the pane was left).
    CloseExec { session: u64 },
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

/// The console's state: the fleet and what is known about it, the clock, the look and the
/// keys, the pane stack, and the work `update` asks the run loop to do.
#[derive(Debug)]
pub struct App {
    pub fleet: Fleet,
    /// Alert state, silences and the incident timeline.
    pub alerts: AlertBook,
    /// Actions: history, spec cache, failover records, fencing.
    pub ops: Ops,
    /// Alertmanager's silences, kept in step when one is configured.
    pub remote_silences: SilenceSync,
    /// The console's clock, set by the run loop before each update.
    pub now: Instant,
    /// Wall clock matching `now`, for uptimes computed from agent timestamps.
    pub now_unix_ms: u64,
    pub theme: Theme,
    /// ASCII borders and glyphs only.
    pub ascii: bool,
    pub keymap: KeyMap,
    /// The panes and which are up.
    pub panes: Panes,
    /// No command that could change the fleet runs, no action is planned and nothing is
    /// fenced (the wall screen, `--read-only`). Commands are checked in one place,
    /// `run_command`, which every key and the palette go through.
    pub read_only: bool,
    /// Short message for the status line, with when it was set.
    pub status: Option<(String, Instant)>,
    /// Name of the console's mode, shown in the header (e.g. "demo").
    pub title: String,
    pub should_quit: bool,
    /// Work for the run loop (it may not be done in `update`).
    outbox: Vec<Effect>,
    redraw: Redraw,
    /// Ages of unreachable nodes were on screen at the last tick.
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
            alerts: AlertBook::default(),
            ops: Ops::default(),
            remote_silences: SilenceSync::default(),
            now,
            now_unix_ms: 0,
            theme: Theme::default(),
            ascii: false,
            keymap: KeyMap::default(),
            panes: Panes::default(),
            read_only: false,
            status: None,
            title: String::new(),
            should_quit: false,
            outbox: Vec::new(),
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
        self.remote_silences.forget_matches();
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
                self.resize_exec();
                self.request(Redraw::Now);
            }
            Action::Tick => self.on_tick(),
            Action::Agent(update) => self.on_agent(update),
            Action::Drawn(info) => {
                // Layout facts, not news: no alert can have changed.
                self.on_drawn(info);
                return;
            }
            Action::Op(event) => self.on_op_event(event),
            Action::Propose(proposal) => {
                self.propose(proposal);
                self.request(Redraw::Now);
            }
            // The shell's screen has no rows to click.
            Action::Mouse(_) if self.panes.top_kind() == Some(PaneKind::Exec) => {}
            Action::Mouse(event) => {
                self.refresh();
                if self.panes.on_mouse(event, &self.fleet) {
                    self.refresh();
                    self.request(Redraw::Now);
                }
            }
            Action::Recommendation(proposal) => self.on_recommendation(proposal),
            Action::Exported(result) => self.on_exported(result),
            Action::Logs { session, event } => self.on_logs(session, event),
            Action::SilenceCreated { key, results } => self.on_silence_created(key, results),
            Action::SilencesListed { asked, results } => self.on_silences_listed(asked, results),
            Action::Exec { session, event } => self.on_exec(session, event),
            Action::Paste(text) => self.on_paste(&text),
        }
        if self.alerts.take_urgent() {
            // A firing or resolved alert is what the on-call engineer waits for.
            self.request(Redraw::Alert);
        } else if self.alerts.is_dirty() {
            self.request(Redraw::Data);
        }
    }

    fn on_agent(&mut self, update: AgentUpdate) {
        let slot = update_slot(&update);
        let snapshot = matches!(update, AgentUpdate::Snapshot { .. });
        // Most deltas bring only figures, which the container rows depend on only when
        // sorted by one: at fleet scope a re-sort is 155,000 rows at 5,000 nodes.
        let figures_only = matches!(&update, AgentUpdate::Delta { delta, .. }
            if delta.upserts.is_empty() && delta.removed.is_empty());
        let applied = self.fleet.apply(update, self.now);
        if applied.changed {
            let now = self.stamp();
            self.alerts.observe_node(&self.fleet, slot, now);
            let tables = &mut self.panes.tables;
            tables.nodes.dirty = true;
            self.panes.heatmap.dirty = true;
            let shown =
                tables.containers.scope == Scope::Fleet || tables.nodes.selected == Some(slot);
            if applied.containers_changed && shown {
                if figures_only {
                    tables.containers.figures_changed();
                } else {
                    tables.containers.data_changed();
                }
            }
            self.request(Redraw::Data);
        }
        if applied.agent_restarted {
            let name = self.fleet.nodes()[slot].name().to_string();
            self.set_status(format!("agent of {name} restarted: resynchronised"));
        }
        if snapshot {
            self.check_fencing();
        } else if applied.containers_changed && self.read_only {
            // Stale copies stopped by another console arrive as deltas.
            self.count_stale_copies();
        }
    }

    /// What the last frame laid out, in one message: the rows each pane had room for and
    /// where the tables are. Only what changed is applied.
    fn on_drawn(&mut self, info: crate::ui::DrawInfo) {
        let panes = &mut self.panes;
        if panes.log_view().is_some() {
            panes.logs.page = info.log_rows;
        }
        let tables = &mut panes.tables;
        let (nodes, containers) = (info.node_rows, info.container_rows);
        if tables.nodes.cursor.viewport != nodes || tables.containers.cursor.viewport != containers
        {
            tables.nodes.cursor.viewport = nodes;
            tables.containers.cursor.viewport = containers;
            tables.nodes.cursor.clamp(tables.nodes.rows.len());
            tables.containers.cursor.clamp(tables.containers.rows.len());
        }
        if info.history_rows != 0 && info.history_rows != panes.history.page {
            panes.history.page = info.history_rows;
            panes
                .history
                .scroll(0, info.history_rows, self.ops.log.len());
        }
        panes.hit = info.areas;
        if info.heatmap_rows != 0 && panes.heatmap.cursor.viewport != info.heatmap_rows {
            panes.heatmap.cursor.viewport = info.heatmap_rows;
            // Whether groups fold depends on the room there is.
            panes.heatmap.refresh(&self.fleet);
            self.request(Redraw::Now);
        }
    }

    /// Rebuilds the table indexes that are out of date. Called before drawing and before
    /// keys are handled; cost grows with the fleet only when the data changed.
    pub fn refresh(&mut self) {
        let tables = &mut self.panes.tables;
        let before = tables.nodes.selected;
        tables.nodes.refresh(&self.fleet, self.now);
        if tables.nodes.selected != before && tables.containers.scope == Scope::SelectedNode {
            tables.containers.dirty = true;
        }
        tables
            .containers
            .refresh(&self.fleet, tables.nodes.selected, self.now_unix_ms);
        if self.panes.heatmap_shown() {
            self.panes.heatmap.refresh(&self.fleet);
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

    /// Hands work to the run loop.
    pub(crate) fn emit(&mut self, effect: Effect) {
        self.outbox.push(effect);
    }

    /// Work for the run loop; clears it.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    /// The requests for the ops runner only; other work stays for `take_effects`.
    pub fn take_requests(&mut self) -> Vec<OpRequest> {
        let (ops, rest): (Vec<Effect>, Vec<Effect>) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|e| matches!(e, Effect::Op(_)));
        self.outbox = rest;
        ops.into_iter()
            .filter_map(|e| match e {
                Effect::Op(r) => Some(r),
                _ => None,
            })
            .collect()
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
        self.panes
            .tables
            .nodes
            .selected
            .and_then(|s| self.fleet.node(s).map(|n| (s, n)))
    }

    /// The container under the container table's cursor, with its node.
    pub fn selected_container(&self) -> Option<(&Node, &Container)> {
        self.container(self.panes.tables.containers.selected?)
    }

    /// The selected container on a node that answers, for what `key` opens on it; else why
    /// not, as a status line (`what` says what an unreachable node cannot give).
    pub(crate) fn selected_live_container(
        &self,
        key: &str,
        what: &str,
    ) -> Result<(&Node, &Container), String> {
        let Some((node, container)) = self.selected_container() else {
            return Err(format!(
                "no container selected: pick one in the container table, then {key}"
            ));
        };
        if !node.is_live() {
            return Err(format!("{} is not reachable: {what}", node.name()));
        }
        Ok((node, container))
    }

    /// A container row's data.
    pub fn container(&self, r: ContainerRef) -> Option<(&Node, &Container)> {
        let node = self.fleet.node(r.slot)?;
        node.containers.get(&r.key).map(|c| (node, c))
    }

    fn on_tick(&mut self) {
        let now = self.stamp();
        self.alerts.tick(&self.fleet, now);
        self.poll_silences_if_due();
        // Ages of unreachable nodes tick on screen, and UNKNOWN turns FAILED with time.
        let any_down = self.fleet.nodes().iter().any(|n| !n.is_live());
        if any_down || self.ages_visible {
            let nodes = &mut self.panes.tables.nodes;
            nodes.dirty |= nodes.sort == NodeSort::State;
            self.request(Redraw::Data);
        }
        self.ages_visible = any_down;
        if self.panes.wall_due(self.now) {
            self.step_wall(1);
        }
        if let Some((_, at)) = &self.status {
            if self.now.saturating_duration_since(*at) >= STATUS_MESSAGE_TTL {
                self.status = None;
                self.request(Redraw::Data);
            }
        }
    }

    /// A key goes to the pane on top. Panes that take text or choices look it up in their
    /// own mode of the keymap; the others get the normal command.
    fn on_key(&mut self, key: KeyEvent) {
        match self.panes.top_kind() {
            Some(PaneKind::Filter) => {
                let command = self.keymap.command_in(Mode::Prompt, key);
                match self.panes.tables.on_filter_key(command, key) {
                    Outcome::Close => {
                        self.panes.pop();
                    }
                    Outcome::Pass => self.should_quit = true,
                    Outcome::Taken => {}
                }
                return;
            }
            Some(PaneKind::Dialog) => return self.on_dialog_key(key),
            Some(PaneKind::Prompt) => return self.on_prompt_key(key),
            Some(PaneKind::Logs) => return self.on_logs_key(key),
            Some(PaneKind::Exec) => return self.on_exec_key(key),
            _ => {}
        }
        let Some(command) = self.keymap.command(key) else {
            return;
        };
        if self.panes.top_kind() == Some(PaneKind::Help) && command != Command::Quit {
            // Movement keys scroll help on short terminals; any other key closes it.
            let g = crate::ui::help_geometry(&self.keymap, self.screen_width, self.screen_height);
            let size_known = self.screen_height != 0;
            if let Some(Pane::Help(help)) = self.panes.top_mut() {
                if help.on_command(command, &g, size_known) == Outcome::Close {
                    self.panes.pop();
                }
            }
            return;
        }
        self.run_command(command);
    }

    /// A paste: the shell's in the exec pane; typed, character by character, elsewhere
    /// (line ends are not Enter there: a paste never confirms a dialog).
    fn on_paste(&mut self, text: &str) {
        if self.panes.top_kind() == Some(PaneKind::Exec) {
            self.on_exec_paste(text);
            self.request(Redraw::Now);
            return;
        }
        for c in text.chars().filter(|c| !c.is_control()) {
            let key = KeyEvent::new(crossterm::event::KeyCode::Char(c), KeyModifiers::NONE);
            self.update(Action::Key(key));
        }
    }

    /// Runs one command, from a key or the palette. The read-only gate is here, so it holds
    /// for every way in and for commands added later. The command goes down the stack from
    /// the top through the overlays to the topmost view; what that view does not take goes
    /// to the tables. Views under the topmost one are not drawn, so they never get keys.
    pub fn run_command(&mut self, command: Command) {
        if self.read_only && !command.is_view_only() {
            self.set_status(format!(
                "read-only console: `{}` is not available here",
                command.name()
            ));
            return;
        }
        // Overlays pass the commands the palette runs to the panes below.
        let view = self
            .panes
            .stack()
            .iter()
            .rev()
            .find_map(|p| match p.kind() {
                PaneKind::Logs
                | PaneKind::Help
                | PaneKind::Filter
                | PaneKind::Prompt
                | PaneKind::Dialog => None,
                view => Some(view),
            });
        let taken = match view {
            Some(PaneKind::Wall) => self.on_wall_command(command),
            Some(PaneKind::Heatmap) => self.on_heatmap_command(command),
            Some(PaneKind::Alerts) => self.on_alert_view_command(command),
            Some(PaneKind::History) => self.on_history_command(command),
            _ => false,
        };
        if !taken {
            self.on_tables_command(command);
        }
    }
}

fn update_slot(update: &AgentUpdate) -> usize {
    update.slot()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
