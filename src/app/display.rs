//! The heatmap pane and the wall pane, and the mouse over the tables and the heatmap: the
//! commands that steer them.
//! Nothing here can change the fleet.

use std::time::{Duration, Instant};

use super::panes::{Pane, PaneKind, Panes, Screen};
use super::{App, Redraw};
use crate::heatmap::{HeatKind, Heatmap};
use crate::keys::Command;
use crate::model::Fleet;

/// The views a wall screen rotates through, under its fleet summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallView {
    /// Load per node over the last minutes.
    LoadOverTime,
    /// CPU, memory, disk, network and containers per node, now.
    Resources,
    /// The node table, worst state first.
    Nodes,
}

impl WallView {
    /// The rotation, in order.
    pub const ALL: [WallView; 3] = [Self::LoadOverTime, Self::Resources, Self::Nodes];

    /// Title shown above the view.
    pub fn title(self) -> &'static str {
        match self {
            Self::LoadOverTime => "load over time",
            Self::Resources => "resources now",
            Self::Nodes => "nodes",
        }
    }
}

/// A wall screen's rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wall {
    /// Index into `WallView::ALL`.
    pub index: usize,
    /// Time each view stays up; zero = no rotation.
    pub rotate_every: Duration,
    /// When the current view came up.
    pub since: Instant,
}

impl Wall {
    /// A rotation starting on the first view at `now`.
    pub fn new(rotate_every: Duration, now: Instant) -> Self {
        Self {
            index: 0,
            rotate_every,
            since: now,
        }
    }

    /// The view on screen.
    pub fn view(&self) -> WallView {
        WallView::ALL[self.index % WallView::ALL.len()]
    }
}

impl App {
    /// Makes this console a read-only wall screen rotating every `rotate_every`.
    pub fn make_wall(&mut self, rotate_every: Duration) {
        self.read_only = true;
        self.panes.splits.detail = false;
        self.panes.remove(PaneKind::Wall);
        self.panes
            .push(Pane::Wall(Wall::new(rotate_every, self.now)));
        self.panes.turn_wall(0, self.now);
    }

    /// Ends the wall screen (the console stays read-only).
    pub fn leave_wall(&mut self) {
        self.panes.remove(PaneKind::Wall);
    }

    /// Turns the wall by `delta` views and redraws.
    pub(super) fn step_wall(&mut self, delta: isize) {
        self.panes.turn_wall(delta, self.now);
        self.refresh();
        self.request(Redraw::Data);
    }

    /// A command reaching the wall: Tab turns the rotation, the heatmap keys steer its
    /// heatmap views; the rest goes to the tables under it (the node table on the wall).
    pub(super) fn on_wall_command(&mut self, command: Command) -> bool {
        match command {
            Command::FocusNext => self.step_wall(1),
            Command::FocusPrev => self.step_wall(-1),
            // A wall shows no other view.
            Command::Heatmap | Command::Alerts | Command::History => {}
            _ if self.panes.wall_view() != Some(WallView::Nodes) => {
                return self.steer_heatmap(command);
            }
            _ => return false,
        }
        true
    }

    /// A command reaching the heatmap pane; true when it took it.
    pub(super) fn on_heatmap_command(&mut self, command: Command) -> bool {
        if command == Command::Heatmap {
            self.panes.remove(PaneKind::Heatmap);
            return true;
        }
        self.steer_heatmap(command)
    }

    /// Steers the heatmap; true when the command was one of its keys.
    fn steer_heatmap(&mut self, command: Command) -> bool {
        let taken = steer(&mut self.panes.heatmap, &self.fleet, command);
        if taken {
            self.panes.heatmap.refresh(&self.fleet);
        }
        taken
    }

    /// Time since the freshest message of any agent, when no agent is live: the whole
    /// screen is stale. `None` while at least one agent streams.
    pub fn all_stale_for(&self) -> Option<Duration> {
        let nodes = self.fleet.nodes();
        if nodes.is_empty() || nodes.iter().any(|n| n.is_live()) {
            return None;
        }
        let newest = nodes.iter().filter_map(|n| n.last_seen).max();
        let reference =
            newest.unwrap_or_else(|| nodes.iter().map(|n| n.added).min().unwrap_or(self.now));
        Some(self.now.saturating_duration_since(reference))
    }

    /// Unreachable nodes and the longest time one of them has been silent.
    pub fn stale_nodes(&self) -> (usize, Duration) {
        self.fleet.nodes().iter().filter(|n| !n.is_live()).fold(
            (0, Duration::ZERO),
            |(count, age), n| {
                let silent = self
                    .now
                    .saturating_duration_since(n.last_seen.unwrap_or(n.added));
                (count + 1, age.max(silent))
            },
        )
    }
}

/// The heatmap's keys: move, fold, switch kind, scroll in time.
fn steer(hm: &mut Heatmap, fleet: &Fleet, command: Command) -> bool {
    let interval = crate::heatmap::sample_interval(fleet);
    let page = hm.cursor.page();
    let len = hm.rows.len();
    let shift = (hm.window.as_millis() / 2 / interval.as_millis().max(1)).max(1) as isize;
    match command {
        Command::Up => hm.cursor.step(-1, len),
        Command::Down => hm.cursor.step(1, len),
        Command::PageUp => hm.cursor.step(-page, len),
        Command::PageDown => hm.cursor.step(page, len),
        Command::Top => hm.cursor.step(isize::MIN / 2, len),
        Command::Bottom => hm.cursor.step(isize::MAX / 2, len),
        Command::FocusNext | Command::FocusPrev => hm.next_kind(),
        Command::Open => hm.toggle_fold_at_cursor(),
        Command::FoldAll => hm.toggle_fold_all(),
        // Half a window per press, in samples; back to 24 hours over the minute means.
        Command::ScrollOlder => hm.scroll(shift, crate::heatmap::retained(fleet, interval)),
        Command::ScrollNewer => hm.scroll(-shift, crate::heatmap::retained(fleet, interval)),
        Command::Back if hm.scroll_back > 0 => hm.scroll_back = 0,
        _ => return false,
    }
    true
}

/// Where the last frame drew the rows of each table (empty when not shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HitAreas {
    pub nodes: ratatui::layout::Rect,
    pub containers: ratatui::layout::Rect,
    pub heatmap: ratatui::layout::Rect,
}

/// Rows one wheel notch scrolls.
const WHEEL_ROWS: isize = 3;

/// Which table is under the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Nodes,
    Containers,
    Heatmap,
}

impl Panes {
    /// True when the wall's view has been up for its time.
    pub fn wall_due(&self, now: Instant) -> bool {
        self.wall().is_some_and(|wall| {
            !wall.rotate_every.is_zero()
                && now.saturating_duration_since(wall.since) >= wall.rotate_every
        })
    }

    /// Turns the wall by `delta` views (0: stays) and points the heatmap at its view.
    pub fn turn_wall(&mut self, delta: isize, now: Instant) {
        if let Some(wall) = self.wall_mut() {
            if delta != 0 {
                let n = WallView::ALL.len() as isize;
                wall.index = (wall.index as isize + delta).rem_euclid(n) as usize;
                wall.since = now;
            }
        }
        match self.wall_view() {
            Some(WallView::LoadOverTime) => self.heatmap.kind = HeatKind::Time,
            Some(WallView::Resources) => self.heatmap.kind = HeatKind::Resource,
            Some(WallView::Nodes) | None => {}
        }
    }

    /// A click selects the row under the pointer (and focuses its table); the wheel
    /// scrolls the table under the pointer. True when something changed.
    pub fn on_mouse(&mut self, event: crossterm::event::MouseEvent, fleet: &Fleet) -> bool {
        use crossterm::event::{MouseButton, MouseEventKind};
        let at = ratatui::layout::Position::new(event.column, event.row);
        let heatmap_on = self.heatmap_shown();
        let screen = self.screen();
        let tables_on = !self.is_open(PaneKind::Heatmap);
        let nodes_on = tables_on || screen == Screen::Wall;
        let hit = self.hit;
        let (target, area) = if heatmap_on && hit.heatmap.contains(at) {
            (Target::Heatmap, hit.heatmap)
        } else if nodes_on && hit.nodes.contains(at) {
            (Target::Nodes, hit.nodes)
        } else if tables_on && hit.containers.contains(at) {
            (Target::Containers, hit.containers)
        } else {
            return false;
        };
        let line = usize::from(event.row - area.y);
        match event.kind {
            MouseEventKind::Down(MouseButton::Left) => self.click(target, line, fleet),
            MouseEventKind::ScrollUp => self.wheel(target, -WHEEL_ROWS),
            MouseEventKind::ScrollDown => self.wheel(target, WHEEL_ROWS),
            _ => return false,
        }
        true
    }

    fn cursor_of(&self, target: Target) -> (super::Cursor, usize) {
        let tables = &self.tables;
        match target {
            Target::Nodes => (tables.nodes.cursor, tables.nodes.rows.len()),
            Target::Containers => (tables.containers.cursor, tables.containers.rows.len()),
            Target::Heatmap => (self.heatmap.cursor, self.heatmap.rows.len()),
        }
    }

    fn click(&mut self, target: Target, line: usize, fleet: &Fleet) {
        let (cursor, len) = self.cursor_of(target);
        // The same first row the frame drew (see `ui::window`).
        let offset = super::visible_offset(cursor.row, cursor.offset, cursor.viewport)
            .min(len.saturating_sub(cursor.viewport));
        let row = offset + line;
        if row >= len {
            return;
        }
        let delta = row as isize - cursor.row as isize;
        match target {
            Target::Nodes => {
                self.tables.focus = super::Focus::Nodes;
                self.tables.step(delta);
            }
            Target::Containers => {
                self.tables.focus = super::Focus::Containers;
                self.tables.step(delta);
            }
            Target::Heatmap => {
                self.heatmap.cursor.step(delta, len);
                self.heatmap.refresh(fleet);
            }
        }
    }

    fn wheel(&mut self, target: Target, delta: isize) {
        match target {
            Target::Nodes => {
                let before = self.tables.focus;
                self.tables.focus = super::Focus::Nodes;
                self.tables.step(delta);
                self.tables.focus = before;
            }
            Target::Containers => self.tables.containers.step(delta),
            Target::Heatmap => {
                let heatmap = &mut self.heatmap;
                let len = heatmap.rows.len();
                heatmap.cursor.step(delta, len);
            }
        }
    }
}
