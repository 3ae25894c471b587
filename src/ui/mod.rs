//! Rendering: a pure function of `&App`. It never mutates, locks or does I/O, reads the
//! clocks only from `app.now` / `app.now_unix_ms`, and lays out only the rows on screen, so
//! a frame costs the same for 10 containers as for 50,000.

mod alerts;
pub mod big_digits;
mod columns;
mod containers;
mod detail;
mod exec;
mod format;
pub mod glyphs;
mod header;
mod heatmap;
mod log;
mod logs;
mod nodes;
mod ops;
pub mod pacing;
mod status;
mod wall;
mod wall_tiles;

pub use status::{HELP_TWO_COLUMNS_MIN_WIDTH, HelpGeometry, help_geometry};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use crate::app::{App, Cursor, Screen, visible_offset};
use crate::theme::Theme;
use columns::Column;

/// Narrowest terminal the console draws in.
pub const MIN_WIDTH: u16 = 60;
/// Shortest terminal the console draws in.
pub const MIN_HEIGHT: u16 = 15;
/// Width from which the detail pane is shown beside the tables.
pub const DETAIL_MIN_WIDTH: u16 = 120;
/// Share of the body the node table may take, percent (it shrinks to fit a small fleet).
const NODE_PANE_MAX_PERCENT: u16 = 45;
/// Rows of a table pane with nothing in it: borders, header, one line of message.
const PANE_MIN_ROWS: u16 = 5;
/// Header lines above the tables.
const HEADER_ROWS: u16 = 2;

/// What the frame laid out, for the run loop to send back as `Action::Drawn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrawInfo {
    /// Rows of the node table on screen.
    pub node_rows: usize,
    /// Rows of the container table on screen.
    pub container_rows: usize,
    /// Rows of the log view on screen (0 when closed).
    pub log_rows: usize,
    /// Rows of the heatmap on screen (0 when it is not shown).
    pub heatmap_rows: usize,
    /// Rows of the action history on screen (0 when it is not shown).
    pub history_rows: usize,
    /// Where each table's rows are, for the mouse.
    pub areas: crate::app::HitAreas,
}

/// The rows of a bordered table pane with one header line.
fn rows_area(pane: Rect) -> Rect {
    Rect {
        x: pane.x.saturating_add(1),
        y: pane.y.saturating_add(2),
        width: pane.width.saturating_sub(2),
        height: pane.height.saturating_sub(3),
    }
}

/// History rows per page before a frame has drawn the pane (PgUp/PgDn need one at once):
/// what [`draw`] gives the pane on a `screen_height`-row terminal in the table view, the
/// same split of the body under the header, status line and alert pane. A fixed
/// [`DEFAULT_HISTORY_PAGE`] while the terminal's size is not known.
pub fn history_page(app: &App, screen_height: u16) -> usize {
    if screen_height == 0 {
        return DEFAULT_HISTORY_PAGE;
    }
    let body = screen_height
        .saturating_sub(HEADER_ROWS + 1)
        .saturating_sub(alerts::pane_height(app));
    let pane = if app.panes.history_shown() {
        ops::history_height(app, body)
    } else {
        0
    };
    usize::from(pane.saturating_sub(3)).max(1)
}

/// History page before the terminal's size is known.
pub const DEFAULT_HISTORY_PAGE: usize = 10;

/// Draws the whole console; the table indexes must be fresh (`App::refresh`).
pub fn draw(frame: &mut Frame, app: &App) -> DrawInfo {
    let info = draw_views(frame, app);
    if app.ascii {
        glyphs::asciify(frame.buffer_mut());
    }
    info
}

fn draw_views(frame: &mut Frame, app: &App) -> DrawInfo {
    let full = frame.area();
    if app.panes.screen() == Screen::Exec {
        // The whole terminal, at any size: the remote shell was told this size.
        exec::draw(frame, full, app);
        return DrawInfo {
            node_rows: app.panes.tables.nodes.cursor.viewport,
            container_rows: app.panes.tables.containers.cursor.viewport,
            ..DrawInfo::default()
        };
    }
    if full.width < MIN_WIDTH || full.height < MIN_HEIGHT {
        too_small(frame, full, &app.theme);
        return DrawInfo::default();
    }
    // The console's log takes the bottom third of the screen.
    let area = if app.panes.splits.console_log {
        let rows = (full.height / 3).max(log::MIN_ROWS);
        let [rest, log_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(full);
        log::draw(frame, log_area, app);
        rest
    } else {
        full
    };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, &app.theme);
        return DrawInfo::default();
    }
    let [header_area, body, status_area] = Layout::vertical([
        Constraint::Length(HEADER_ROWS),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // The topmost view on the pane stack fills the body; overlays are drawn over it.
    let screen = app.panes.screen();
    if screen == Screen::Wall {
        let [wall_area, status_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
        let drawn = wall::draw(frame, wall_area, app);
        wall::status(frame, status_area, app);
        overlays(frame, area, app);
        return DrawInfo {
            node_rows: drawn.node_rows,
            heatmap_rows: drawn.heatmap_rows,
            areas: crate::app::HitAreas {
                heatmap: rows_area(drawn.view),
                nodes: rows_area(drawn.view),
                ..Default::default()
            },
            ..DrawInfo::default()
        };
    }
    header::draw(frame, header_area, app);
    if screen == Screen::Logs {
        let log_rows = logs::draw(frame, body, status_area, app);
        overlays(frame, area, app);
        return DrawInfo {
            node_rows: app.panes.tables.nodes.cursor.viewport,
            container_rows: app.panes.tables.containers.cursor.viewport,
            log_rows,
            ..DrawInfo::default()
        };
    }
    if screen == Screen::Heatmap {
        let heatmap_rows = heatmap::draw(frame, body, app, "Heatmap · ");
        status::draw(frame, status_area, app);
        overlays(frame, area, app);
        return DrawInfo {
            heatmap_rows,
            areas: crate::app::HitAreas {
                heatmap: rows_area(body),
                ..Default::default()
            },
            ..DrawInfo::default()
        };
    }
    if screen == Screen::Alerts {
        alerts::draw_view(frame, body, app);
        status::draw(frame, status_area, app);
        overlays(frame, area, app);
        return DrawInfo {
            node_rows: app.panes.tables.nodes.cursor.viewport,
            container_rows: app.panes.tables.containers.cursor.viewport,
            ..DrawInfo::default()
        };
    }
    let [body, alert_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(alerts::pane_height(app)),
    ])
    .areas(body);
    alerts::draw_pane(frame, alert_area, app);
    let history_rows = ops::history_height(app, body.height);
    let [body, history_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(history_rows)]).areas(body);
    let (tables, detail_area) = if app.panes.splits.detail && area.width >= DETAIL_MIN_WIDTH {
        let width = (area.width / 4).clamp(44, 60);
        let [tables, detail] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(width)]).areas(body);
        (tables, Some(detail))
    } else {
        (body, None)
    };
    let node_height = node_pane_height(
        tables.height,
        app.panes.tables.nodes.rows.len(),
        app.panes.tables.containers.rows.len(),
    );
    let [node_area, container_area] =
        Layout::vertical([Constraint::Length(node_height), Constraint::Fill(1)]).areas(tables);
    let mut info = DrawInfo {
        node_rows: nodes::draw(frame, node_area, app),
        container_rows: containers::draw(frame, container_area, app),
        log_rows: 0,
        heatmap_rows: 0,
        history_rows: 0,
        areas: crate::app::HitAreas {
            nodes: rows_area(node_area),
            containers: rows_area(container_area),
            ..Default::default()
        },
    };
    if let Some(detail_area) = detail_area {
        detail::draw(frame, detail_area, app);
    }
    status::draw(frame, status_area, app);
    if history_rows > 0 {
        info.history_rows = ops::history(frame, history_area, app);
    }
    overlays(frame, area, app);
    info
}

fn overlays(frame: &mut Frame, area: Rect, app: &App) {
    ops::dialog(frame, area, app);
    if app.panes.help_offset().is_some() {
        status::help(frame, area, app);
    }
    alerts::draw_overlays(frame, area, app);
}

/// Rows for the node pane: all it needs when both tables fit, else at most its share,
/// unless the container table needs less than the rest.
fn node_pane_height(height: u16, nodes: usize, containers: usize) -> u16 {
    let need = |rows: usize| {
        u16::try_from(rows)
            .unwrap_or(u16::MAX)
            .saturating_add(3)
            .max(PANE_MIN_ROWS)
    };
    let (nodes, containers) = (need(nodes), need(containers));
    if nodes.saturating_add(containers) <= height {
        return nodes;
    }
    let share = (height * NODE_PANE_MAX_PERCENT / 100).max(height.saturating_sub(containers));
    nodes.min(share).max(PANE_MIN_ROWS)
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let message = format!(
        "terminal too small: {}x{}, fleetdeck needs at least {MIN_WIDTH}x{MIN_HEIGHT}",
        area.width, area.height
    );
    let y = area.y + area.height.saturating_sub(1) / 2;
    let rect = Rect {
        y,
        height: area.bottom() - y,
        ..area
    };
    let text = Paragraph::new(Line::from(message).centered())
        .style(theme.text)
        .wrap(Wrap { trim: true });
    frame.render_widget(text, rect);
}

/// Draws a bordered pane with `title`; returns the area inside the border.
fn pane(frame: &mut Frame, area: Rect, title: Line<'_>, focused: bool, theme: &Theme) -> Rect {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border(focused))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The first row shown and the rows on screen for a table of `height` rows.
fn window<T>(rows: &[T], cursor: Cursor, height: usize) -> (usize, &[T]) {
    let offset = visible_offset(cursor.row, cursor.offset, height)
        // Never leave the bottom of the screen empty while rows above are hidden.
        .min(rows.len().saturating_sub(height));
    let end = offset.saturating_add(height).min(rows.len());
    (offset, &rows[offset..end])
}

/// Column titles with the sorted one marked ▲ (ascending) or ▼ (descending).
fn sort_marker(columns: &[Column], sorted: usize, descending: bool) -> Vec<String> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == sorted {
                format!("{}{}", c.title, if descending { '▼' } else { '▲' })
            } else {
                c.title.to_string()
            }
        })
        .collect()
}

/// How a table pane shows its rows.
struct TableView<'a, T> {
    /// The table's index, in display order.
    index: &'a [T],
    cursor: Cursor,
    columns: &'a [columns::Column],
    /// Sorted column and whether it sorts descending.
    sort: (usize, bool),
    focused: bool,
}

/// Draws the rows of `view.index` that fit in `inner` under the column titles (the sorted
/// one marked), the selected row highlighted; `row` builds the cells of the rows shown
/// only. Returns the rows there is room for and whether none were shown.
fn draw_rows<T>(
    frame: &mut Frame,
    inner: Rect,
    view: TableView<'_, T>,
    theme: &Theme,
    row: impl Fn(&T) -> Vec<columns::Text>,
) -> (usize, bool) {
    let height = usize::from(inner.height.saturating_sub(1));
    let (offset, shown) = window(view.index, view.cursor, height);
    let rows: Vec<Vec<columns::Text>> = shown.iter().map(row).collect();
    let titles = sort_marker(view.columns, view.sort.0, view.sort.1);
    let fitted = columns::fit(view.columns, &titles, &rows, inner.width);
    let widget = columns::table(view.columns, titles, rows, &fitted, theme.table_header)
        .row_highlight_style(theme.selection(view.focused));
    let selected = view
        .cursor
        .row
        .checked_sub(offset)
        .filter(|r| *r < shown.len());
    let mut state = ratatui::widgets::TableState::default().with_selected(selected);
    frame.render_stateful_widget(widget, inner, &mut state);
    (height, shown.is_empty())
}

/// A dim one-line message under a table's header, when it has no rows.
fn empty(frame: &mut Frame, inner: Rect, message: String, theme: &Theme) {
    if inner.height < 2 {
        return;
    }
    let line = Rect {
        y: inner.y + 1,
        height: 1,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(Line::from(message).centered()).style(theme.dim),
        line,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_pane_takes_what_it_needs_or_its_share() {
        assert_eq!(node_pane_height(40, 8, 12), 11, "both fit");
        assert_eq!(node_pane_height(40, 100, 12), 25, "containers need only 15");
        assert_eq!(
            node_pane_height(40, 100, 1000),
            18,
            "45 % when both overflow"
        );
        assert_eq!(
            node_pane_height(40, 0, 1000),
            5,
            "an empty table keeps room to say so"
        );
    }

    #[test]
    fn the_window_keeps_the_cursor_on_screen_and_the_screen_full() {
        let rows: Vec<usize> = (0..100).collect();
        let at = |row, offset, height| {
            let (o, shown) = window(
                &rows,
                Cursor {
                    row,
                    offset,
                    viewport: height,
                },
                height,
            );
            (o, shown.len(), shown.contains(&row))
        };
        assert_eq!(at(0, 0, 10), (0, 10, true));
        assert_eq!(at(50, 0, 10), (41, 10, true));
        assert_eq!(
            at(99, 95, 10),
            (90, 10, true),
            "no empty rows at the bottom"
        );
        assert_eq!(at(3, 0, 200), (0, 100, true));
        let (o, shown) = window(&rows[..0], Cursor::default(), 5);
        assert_eq!((o, shown.len()), (0, 0));
    }
}
