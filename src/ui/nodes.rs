//! The node table: one row per node on screen, stale figures dimmed, ages for lost nodes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::columns::{Column, Text};
use super::{TableView, draw_rows, format, pane};
use crate::app::{App, Focus, NodeSort};
use crate::model::{Link, Node};

const COLUMNS: [Column; 8] = [
    Column::text("NAME", 8, 24, 10).growing(),
    Column::text("STATE", 7, 15, 9),
    Column::figure("CPU %", 5, 7, 8),
    Column::figure("MEM %", 5, 7, 8),
    Column::figure("DISK %", 6, 7, 5),
    Column::figure("CTRS", 4, 9, 6),
    Column::figure("LOAD", 4, 6, 7),
    Column::figure("LAST SEEN", 9, 12, 4),
];

/// Appended to the STATE of a node whose agent cannot reach its container runtime.
pub const RUNTIME_DOWN_MARK: &str = "!RT";

fn sort_column(sort: NodeSort) -> usize {
    match sort {
        NodeSort::Name => 0,
        NodeSort::State => 1,
        NodeSort::Cpu => 2,
        NodeSort::Memory => 3,
        NodeSort::Disk => 4,
        NodeSort::Containers => 5,
        NodeSort::Load => 6,
    }
}

/// Draws the node table; returns how many rows it showed.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> usize {
    let theme = &app.theme;
    let table = &app.panes.tables.nodes;
    let focused = app.panes.tables.focus == Focus::Nodes;
    let total = app.fleet.nodes().len();
    let mut title = vec![Span::styled(
        if table.filter.is_empty() {
            format!(" Nodes ({total}) ")
        } else {
            format!(" Nodes ({} of {total}) ", table.rows.len())
        },
        theme.title(focused),
    )];
    if !table.filter.is_empty() {
        title.push(Span::styled(format!("/{} ", table.filter), theme.filter()));
    }
    let inner = pane(frame, area, Line::from(title), focused, theme);
    let view = TableView {
        index: &table.rows,
        cursor: table.cursor,
        columns: &COLUMNS,
        sort: (sort_column(table.sort), table.descending),
        focused,
    };
    let (height, empty) = draw_rows(frame, inner, view, theme, |&slot| {
        app.fleet.node(slot).map_or_else(
            || vec![Text::default(); COLUMNS.len()],
            |n| row(app, slot, n),
        )
    });
    if empty {
        let message = if table.filter.is_empty() {
            "no nodes configured".to_string()
        } else {
            format!("no nodes match /{}", table.filter)
        };
        super::empty(frame, inner, message, theme);
    }
    height
}

fn row(app: &App, slot: usize, node: &Node) -> Vec<Text> {
    let theme = &app.theme;
    let live = node.is_live();
    let state = node.state(app.now, app.fleet.failover_timeout());
    let known = node.info.is_some();
    let figure = |p: f32| {
        if known {
            Text::new(format::pct(p), theme.figure(p, live))
        } else {
            Text::new("-", theme.dim)
        }
    };
    let totals = app.fleet.summary().node(slot).copied().unwrap_or_default();
    let containers = if known {
        Text::new(
            format!("{}/{}", totals.running, totals.containers),
            theme.plain(live),
        )
    } else {
        Text::new("-", theme.dim)
    };
    let last_seen = match (&node.link, node.age(app.now)) {
        (Link::Live, _) => Text::new("live", theme.link(true)),
        (_, Some(age)) => Text::new(format::ago(age), theme.age(state)),
        (Link::Connecting, None) => Text::new("connecting", theme.stale),
        (Link::Down { .. }, None) => Text::new("never", theme.age(state)),
    };
    vec![
        Text::new(node.name(), theme.text),
        if node.runtime_down() {
            // The engine is gone: say so where the eye goes first, not only in the detail.
            Text::new(
                format!("{} {RUNTIME_DOWN_MARK}", state.as_str()),
                theme.runtime_down(),
            )
        } else {
            Text::new(state.as_str(), theme.status(state))
        },
        figure(node.host.cpu_percent),
        figure(node.host.memory_percent()),
        figure(node.host.disk_percent()),
        containers,
        figure(node.load()),
        last_seen,
    ]
}
