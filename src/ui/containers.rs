//! The container table: the selected node's containers or the whole fleet's, only the rows
//! on screen laid out, containers of unreachable nodes dimmed as stale.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::columns::{Column, Text};
use super::{TableView, draw_rows, format, pane};
use crate::app::{App, ContainerSort, Focus, Scope};
use crate::model::{Container, HealthState, Node};

const NODE: usize = 0;
const NAME: usize = 1;

const COLUMNS: [Column; 11] = [
    Column::text("NODE", 4, 16, 6),
    Column::text("NAME", 6, 28, 10).growing(),
    Column::text("SERVICE", 7, 16, 5),
    Column::text("IMAGE", 5, 40, 1),
    Column::text("STATE", 7, 10, 9),
    Column::text("HEALTH", 6, 9, 8),
    Column::figure("RESTARTS", 8, 8, 4),
    Column::figure("CPU %", 5, 7, 8),
    Column::figure("MEM", 5, 16, 7),
    Column::figure("NET RX/TX", 9, 15, 2),
    Column::figure("UPTIME", 6, 8, 3),
];

fn sort_column(sort: ContainerSort) -> usize {
    match sort {
        ContainerSort::Node => NODE,
        ContainerSort::Name => NAME,
        ContainerSort::Service => 2,
        ContainerSort::State => 4,
        ContainerSort::Health => 5,
        ContainerSort::Restarts => 6,
        ContainerSort::Cpu => 7,
        ContainerSort::Memory => 8,
        ContainerSort::Uptime => 10,
    }
}

/// Draws the container table; returns how many rows it showed.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> usize {
    let theme = &app.theme;
    let table = &app.panes.tables.containers;
    let focused = app.panes.tables.focus == Focus::Containers;
    let summary = app.fleet.summary();
    let (scope, total) = match table.scope {
        Scope::Fleet => ("all nodes".to_string(), summary.containers()),
        Scope::SelectedNode => match app.selected_node() {
            Some((slot, node)) => (
                node.name().to_string(),
                summary.node(slot).map_or(0, |t| t.containers),
            ),
            None => ("no node selected".to_string(), 0),
        },
    };
    let count = if table.filter.is_empty() {
        format!("({total})")
    } else {
        format!("({} of {total})", table.rows.len())
    };
    let mut title = vec![Span::styled(
        format!(" Containers — {scope} {count} "),
        theme.title(focused),
    )];
    if !table.filter.is_empty() {
        title.push(Span::styled(format!("/{} ", table.filter), theme.filter()));
    }
    // On one node, "by node" is really by name (the order's tie-break): say so.
    let (sort, descending) = match (table.scope, table.sort) {
        (Scope::SelectedNode, ContainerSort::Node) => (ContainerSort::Name, false),
        (_, sort) => (sort, table.descending),
    };
    let sorted = sort_column(sort);
    let arrow = if descending { '▼' } else { '▲' };
    title.push(Span::styled(
        format!("by {}{arrow} ", sort.label()),
        theme.label(),
    ));
    let inner = pane(frame, area, Line::from(title), focused, theme);
    let mut columns = COLUMNS;
    if table.scope == Scope::SelectedNode {
        // One node: its name is in the title already.
        columns[NODE] = columns[NODE].hidden();
    }
    let view = TableView {
        index: &table.rows,
        cursor: table.cursor,
        columns: &columns,
        sort: (sorted, descending),
        focused,
    };
    let (height, empty) = draw_rows(frame, inner, view, theme, |r| match app.container(*r) {
        Some((node, c)) => row(app, node, c),
        // The index is rebuilt before each frame; a gap only shows if it was not.
        None => vec![Text::default(); COLUMNS.len()],
    });
    if empty {
        let message = match (table.scope, app.selected_node(), table.filter.is_empty()) {
            (_, _, false) => format!("no containers match /{}", table.filter),
            (Scope::SelectedNode, None, _) => "select a node to see its containers".to_string(),
            _ => "no containers".to_string(),
        };
        super::empty(frame, inner, message, theme);
    }
    height
}

fn row(app: &App, node: &Node, c: &Container) -> Vec<Text> {
    let theme = &app.theme;
    let live = node.is_live();
    let spec = &c.spec;
    let stats = &c.stats;
    // Stale rows are dimmed whole: their state may no longer be true.
    let or_stale = |style| if live { style } else { theme.stale };
    let memory = if stats.memory_limit_bytes > 0 {
        format!(
            "{} / {}",
            format::bytes(stats.memory_used_bytes),
            format::bytes(stats.memory_limit_bytes)
        )
    } else {
        format::bytes(stats.memory_used_bytes)
    };
    let memory_style = stats
        .memory_percent()
        .map_or(theme.plain(live), |p| theme.figure(p, live));
    let uptime = if spec.started_unix_ms == 0 {
        Text::new("-", theme.dim)
    } else {
        Text::new(
            format::duration(format::since_ms(spec.started_unix_ms, app.now_unix_ms)),
            theme.plain(live),
        )
    };
    let health_style = if spec.health == HealthState::None {
        theme.dim
    } else {
        or_stale(theme.health(spec.health))
    };
    vec![
        Text::new(node.name(), theme.plain(live)),
        Text::new(spec.name.as_str(), theme.plain(live)),
        Text::new(spec.service.as_ref(), theme.plain(live)),
        Text::new(spec.image.as_ref(), or_stale(theme.dim)),
        Text::new(
            spec.state.as_str(),
            or_stale(theme.container_state(spec.state)),
        ),
        Text::new(spec.health.as_str(), health_style),
        Text::new(
            spec.restart_count.to_string(),
            or_stale(theme.alarm(spec.restart_count as usize, false)),
        ),
        Text::new(
            format::pct(stats.cpu_percent),
            theme.figure(stats.cpu_percent, live),
        ),
        Text::new(memory, memory_style),
        Text::new(
            format!(
                "{}/{}",
                format::bytes(stats.net_rx_bytes_per_sec),
                format::bytes(stats.net_tx_bytes_per_sec)
            ),
            theme.plain(live),
        ),
        uptime,
    ]
}
