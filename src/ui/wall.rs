//! The read-only wall screen: a title bar, a stale-data banner when it applies, the fleet
//! in large tiles, the rotating view (heatmaps, node table) and the firing alerts.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::glyphs;
use super::{format, heatmap, nodes};
use crate::alerts::{Alert, AlertState, Severity};
use crate::app::{App, WallView};
use crate::keys::Command;
use crate::theme::Theme;

/// Width from which the attention list sits beside the view instead of under it.
const SIDE_ATTENTION_MIN_WIDTH: u16 = 140;
/// Width of the attention list when beside the view.
const SIDE_ATTENTION_COLUMNS: u16 = 56;
/// Rows of the attention list when under the view (borders included).
const ATTENTION_ROWS: u16 = 7;

/// Firing alerts as the wall lists them: worst first (the alert book's order).
pub fn attention(app: &App) -> impl Iterator<Item = &Alert> {
    app.alerts
        .rows()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
}

/// Where the rotating view sits inside the wall's `area` (the same split `draw` makes).
pub fn view_area(area: Rect, app: &App) -> Rect {
    let banner = u16::from(banner(app).is_some());
    let body = Rect {
        y: area.y + 5 + banner,
        height: area.height.saturating_sub(5 + banner),
        ..area
    };
    if area.width >= SIDE_ATTENTION_MIN_WIDTH {
        Rect {
            width: body.width.saturating_sub(SIDE_ATTENTION_COLUMNS),
            ..body
        }
    } else {
        Rect {
            height: body.height.saturating_sub(ATTENTION_ROWS),
            ..body
        }
    }
}

/// Draws the wall screen; returns the rows the heatmap had (0 when it is not shown).
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> (usize, usize) {
    let Some(wall) = app.panes.wall() else {
        return (0, 0);
    };
    let theme = &app.theme;
    let banner = banner(app);
    let [title_area, banner_area, tiles_area, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Length(4),
        Constraint::Fill(1),
    ])
    .areas(area);
    title(frame, title_area, app);
    if let Some(banner) = banner {
        frame.render_widget(Paragraph::new(banner), banner_area);
    }
    tiles(frame, tiles_area, app);
    let (view_area, attention_area) = if area.width >= SIDE_ATTENTION_MIN_WIDTH {
        let [v, a] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(SIDE_ATTENTION_COLUMNS),
        ])
        .areas(body);
        (v, a)
    } else {
        let [v, a] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(ATTENTION_ROWS)]).areas(body);
        (v, a)
    };
    let prefix = format!("{}/{} ", wall.index + 1, WallView::ALL.len());
    let _ = theme;
    let rows = match wall.view() {
        WallView::LoadOverTime | WallView::Resources => {
            (heatmap::draw(frame, view_area, app, &prefix), 0)
        }
        WallView::Nodes => (0, nodes::draw(frame, view_area, app)),
    };
    attention_pane(frame, attention_area, app, theme);
    rows
}

fn title(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let g = glyphs::of(app.ascii);
    let mut spans = vec![Span::styled(" fleetdeck wall ", theme.header)];
    if let Some(wall) = app.panes.wall() {
        spans.push(Span::styled(format!("{} ", g.bar), theme.dim));
        spans.push(Span::styled(
            format!(
                "{}/{} {}",
                wall.index + 1,
                WallView::ALL.len(),
                wall.view().title()
            ),
            theme.text,
        ));
        if !wall.rotate_every.is_zero() {
            let left = wall
                .rotate_every
                .saturating_sub(app.now.saturating_duration_since(wall.since));
            spans.push(Span::styled(
                format!(
                    " {} next in {}",
                    g.dot,
                    format::duration(left.max(Duration::from_secs(1)))
                ),
                theme.label(),
            ));
        }
    }
    spans.push(Span::styled(format!(" {} ", g.bar), theme.dim));
    spans.push(Span::styled(
        format!("{} UTC", format::utc(app.now_unix_ms)),
        theme.label(),
    ));
    spans.push(Span::styled(format!(" {} ", g.bar), theme.dim));
    spans.push(Span::styled(app.title.clone(), theme.info));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The bottom line of the wall: what the few keys do, and that nothing else works here.
pub fn status(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let hint = |command| format::key_text(&app.keymap.hint(command));
    let mut spans = vec![Span::styled(" read-only wall screen ", theme.warn)];
    for (command, label) in [
        (Command::FocusNext, "next view"),
        (Command::Up, "scroll"),
        (Command::Open, "fold"),
        (Command::Help, "help"),
        (Command::Quit, "quit"),
    ] {
        let key = hint(command);
        if !key.is_empty() {
            spans.push(Span::styled(format!(" {key}"), theme.key_hint));
            spans.push(Span::styled(format!(" {label} "), theme.label()));
        }
    }
    let line = match app.status_message() {
        Some(message) => Line::from(Span::styled(format!(" {message}"), theme.info)),
        None => Line::from(spans),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The stale-data banner: every agent silent (all figures old), or some nodes lost.
fn banner(app: &App) -> Option<Line<'static>> {
    let theme = &app.theme;
    if let Some(age) = app.all_stale_for() {
        let text = format!(
            " STALE · no agent has answered for {} · every figure below is old · reconnecting ",
            format::duration(age)
        );
        return Some(Line::from(Span::styled(text, theme.stale_banner)).centered());
    }
    let (count, age) = app.stale_nodes();
    (count > 0).then(|| {
        let text = format!(
            " {count} node{} unreachable · silent up to {} · their figures are stale ",
            if count == 1 { "" } else { "s" },
            format::duration(age)
        );
        Line::from(Span::styled(text, theme.warn.add_modifier(Modifier::BOLD))).centered()
    })
}

/// One large tile: label over value.
struct Tile {
    label: &'static str,
    value: String,
    style: Style,
}

fn tiles(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let g = glyphs::of(app.ascii);
    let s = app.fleet.summary();
    let counts = s.states(app.now, app.fleet.failover_timeout());
    let total = app.fleet.nodes().len();
    let up = counts.active + counts.standby + counts.maintenance;
    let stale = app.all_stale_for().is_some();
    let pick = |style: Style| if stale { theme.stale } else { style };
    let (used, mem_total) = s.memory_bytes();
    let mem = (mem_total > 0).then(|| (used as f64 / mem_total as f64 * 100.0) as f32);
    let down = counts.unknown + counts.failed;
    let list = [
        Tile {
            label: "NODES UP",
            value: format!("{up}/{total}"),
            style: pick(if down > 0 { theme.warn } else { theme.ok }),
        },
        Tile {
            label: "DOWN",
            value: down.to_string(),
            style: pick(theme.alarm(down, counts.failed > 0)),
        },
        Tile {
            label: "CONTAINERS",
            value: format!("{}/{}", s.running(), s.containers()),
            style: pick(theme.text),
        },
        Tile {
            label: "UNHEALTHY",
            value: s.unhealthy().to_string(),
            style: pick(theme.alarm(s.unhealthy(), true)),
        },
        Tile {
            label: "CPU",
            value: s.cpu_percent().map_or("-".into(), |c| format!("{c:.0}%")),
            style: pick(s.cpu_percent().map_or(theme.dim, |c| theme.usage(c))),
        },
        Tile {
            label: "MEMORY",
            value: mem.map_or("-".into(), |m| format!("{m:.0}%")),
            style: pick(mem.map_or(theme.dim, |m| theme.usage(m))),
        },
    ];
    let areas = Layout::horizontal([Constraint::Fill(1); 6]).split(area);
    for (tile, area) in list.iter().zip(areas.iter()) {
        let block = g.block().border_style(theme.border(false));
        let inner = block.inner(*area);
        frame.render_widget(block, *area);
        let lines = vec![
            Line::from(Span::styled(tile.label, theme.label())).centered(),
            Line::from(Span::styled(
                tile.value.clone(),
                tile.style.add_modifier(Modifier::BOLD),
            ))
            .centered(),
        ];
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn attention_pane(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let g = glyphs::of(app.ascii);
    let counts = app.alerts.counts();
    let firing = attention(app).count();
    let title = Line::from(vec![
        Span::styled(" Firing alerts ", theme.title(false)),
        Span::styled(
            format!("{firing} "),
            theme.alarm(firing, counts.critical > 0),
        ),
    ]);
    let block = g.block().border_style(theme.border(false)).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    if firing == 0 {
        let line = Line::from(Span::styled("no alert firing", theme.ok)).centered();
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let shown = if firing > height {
        height.saturating_sub(1)
    } else {
        firing
    };
    let name_width = attention(app)
        .take(shown)
        .map(|a| a.node.chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    let mut lines: Vec<Line> = attention(app)
        .take(shown)
        .map(|a| {
            let tag = match a.severity {
                Severity::Critical => "CRIT",
                Severity::Warning => "WARN",
                Severity::Info => "INFO",
            };
            let text = match &a.container {
                Some(c) => format!("{c}: {}", a.summary),
                None => a.summary.clone(),
            };
            Line::from(vec![
                Span::styled(format!(" {tag} "), theme.severity(a.severity)),
                Span::styled(
                    format!("{:<name_width$} ", format::fit(&a.node, name_width)),
                    theme.text,
                ),
                Span::styled(text, theme.label()),
            ])
        })
        .collect();
    if shown < firing {
        lines.push(Line::from(Span::styled(
            format!(
                " {} and {} more",
                if app.ascii { "..." } else { "…" },
                firing - shown
            ),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
