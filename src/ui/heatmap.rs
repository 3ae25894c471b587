//! The load heatmap: nodes x time or nodes x resource, groups folded to one row showing
//! their maximum. Only the rows on screen are computed; every cell carries a shading
//! character as well as a colour, so it reads with no colour at all.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::glyphs::{self, Glyphs};
use super::{format, window};
use crate::app::App;
use crate::heatmap::{self, HeatKind, HeatRow};
use crate::model::{NETWORK_FULL_BYTES_PER_SEC, Node, NodeState};
use crate::theme::{HEAT_LEVELS, Theme};

/// Widest the label column gets.
const LABEL_MAX_COLUMNS: usize = 24;
/// Resource columns of the nodes x resource view.
const RESOURCES: [&str; 6] = ["CPU", "MEM", "DISK", "NET", "CTRS", "LOAD"];
/// Narrowest resource column: a shading bar of two and " 100%".
const RESOURCE_MIN_COLUMNS: usize = 7;
/// Widest resource column.
const RESOURCE_MAX_COLUMNS: usize = 16;

/// Draws the heatmap in `area` (a bordered pane); returns the rows it had room for.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, title_prefix: &str) -> usize {
    let theme = &app.theme;
    let g = glyphs::of(app.ascii);
    let hm = &app.panes.heatmap;
    // The fleet's sample interval, looked up once a frame (it scans the nodes).
    let interval = heatmap::sample_interval(&app.fleet);
    let kind = match hm.kind {
        HeatKind::Time => "load over time",
        HeatKind::Resource => "resources now",
    };
    let mut title = vec![
        Span::styled(format!(" {title_prefix}{kind} "), theme.title(true)),
        Span::styled(
            format!(
                "{} nodes in {} groups ",
                app.fleet.nodes().len(),
                hm.groups.len()
            ),
            theme.label(),
        ),
    ];
    if hm.kind == HeatKind::Time && hm.scroll_back > 0 {
        // Where in time the view is, so a scrolled map is never taken for the present.
        let back = interval * u32::try_from(hm.scroll_back).unwrap_or(u32::MAX);
        title.push(Span::styled(
            format!("scrolled back {} ", format::duration(back)),
            theme.warn,
        ));
    }
    let title = Line::from(title);
    let block = g.block().border_style(theme.border(true)).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < 20 {
        return 0;
    }
    let label_width = label_width(app, g).min(usize::from(inner.width) / 3);
    let rows_height = usize::from(inner.height - 2);
    let (offset, rows) = window(&hm.rows, hm.cursor, rows_height);
    let cells_width = usize::from(inner.width).saturating_sub(label_width + 1);
    let mut lines = Vec::with_capacity(rows.len() + 2);
    let (per_cell, cells) = heatmap::time_cells(cells_width, hm.window, interval);
    lines.push(match hm.kind {
        HeatKind::Time => time_axis(
            app,
            label_width + cells_width - cells,
            cells,
            per_cell,
            interval,
        ),
        HeatKind::Resource => resource_axis(theme, label_width, cells_width),
    });
    for (i, row) in rows.iter().enumerate() {
        let selected = offset + i == hm.cursor.row && app.panes.wall().is_none();
        let mut spans = vec![label(app, g, *row, label_width, selected)];
        spans.push(Span::raw(" "));
        if hm.kind == HeatKind::Time {
            // Now is always at the right edge.
            spans.push(Span::raw(" ".repeat(cells_width - cells)));
        }
        match hm.kind {
            HeatKind::Time => time_cells(app, g, *row, cells, per_cell, interval, &mut spans),
            HeatKind::Resource => resource_cells(app, g, *row, cells_width, &mut spans),
        }
        lines.push(Line::from(spans));
    }
    while lines.len() < usize::from(inner.height) - 1 {
        lines.push(Line::default());
    }
    lines.push(legend(theme, g));
    frame.render_widget(Paragraph::new(lines), inner);
    rows_height
}

fn label_width(app: &App, g: &Glyphs) -> usize {
    let hm = &app.panes.heatmap;
    let groups = hm
        .groups
        .iter()
        .map(|gr| {
            group_label(g, &gr.name, gr.slots.len(), true)
                .chars()
                .count()
        })
        .max()
        .unwrap_or(0);
    // Node names are not walked per frame: ids are short, and long ones are cut.
    let nodes = app.fleet.nodes().first().map_or(8, |n| n.name().len() + 2);
    groups.max(nodes).clamp(8, LABEL_MAX_COLUMNS)
}

fn group_label(g: &Glyphs, name: &str, nodes: usize, folded: bool) -> String {
    let marker = if folded { g.folded } else { g.open };
    format!("{marker} {name} ({}{nodes})", g.times)
}

fn label(app: &App, g: &Glyphs, row: HeatRow, width: usize, selected: bool) -> Span<'static> {
    let theme = &app.theme;
    let (text, style) = match row {
        HeatRow::Group { group, folded } => {
            let gr = &app.panes.heatmap.groups[group];
            let down = gr
                .slots
                .iter()
                .filter_map(|&s| app.fleet.state(s, app.now))
                .filter(|s| matches!(s, NodeState::Failed | NodeState::Unknown))
                .count();
            let style = if down > 0 {
                theme.crit
            } else {
                theme.title(false)
            };
            (group_label(g, &gr.name, gr.slots.len(), folded), style)
        }
        HeatRow::Node { slot } => {
            let node = &app.fleet.nodes()[slot];
            let state = node.state(app.now, app.fleet.failover_timeout());
            let style = match state {
                NodeState::Failed | NodeState::Unknown => theme.status(state),
                _ => theme.text,
            };
            let indent = if app.panes.heatmap.groups.len() > 1 {
                "  "
            } else {
                ""
            };
            (format!("{indent}{}", node.name()), style)
        }
    };
    let style = if selected {
        style.patch(theme.selection(true))
    } else {
        style
    };
    Span::styled(format!("{:<width$}", format::fit(&text, width)), style)
}

/// Samples a silent node has missed: its row is shifted so the silence shows as a gap.
fn lag(app: &App, node: &Node, interval: Duration) -> usize {
    if node.is_live() {
        return 0;
    }
    let silent = node.age(app.now).unwrap_or_default();
    (silent.as_millis() / interval.as_millis().max(1)) as usize
}

fn time_axis(
    app: &App,
    label_width: usize,
    cells: usize,
    per_cell: usize,
    interval: Duration,
) -> Line<'static> {
    let theme = &app.theme;
    let back = |samples: usize| interval * u32::try_from(samples).unwrap_or(u32::MAX);
    let right = app.panes.heatmap.scroll_back;
    let left = right + cells * per_cell;
    let right_text = if right == 0 {
        "now".to_string()
    } else {
        format!("-{}", format::duration(back(right)))
    };
    let left_text = format!("-{}", format::duration(back(left)));
    let gap = cells.saturating_sub(left_text.len() + right_text.len());
    let cell = format!("{}/cell", format::duration(back(per_cell)));
    let (pad_l, pad_r) = if gap > cell.len() + 2 {
        let l = (gap - cell.len()) / 2;
        (l, gap - cell.len() - l)
    } else {
        (gap, 0)
    };
    let middle = if gap > cell.len() + 2 {
        cell
    } else {
        String::new()
    };
    Line::from(vec![
        Span::raw(" ".repeat(label_width + 1)),
        Span::styled(left_text, theme.label()),
        Span::raw(" ".repeat(pad_l)),
        Span::styled(middle, theme.dim),
        Span::raw(" ".repeat(pad_r)),
        Span::styled(right_text, theme.label()),
    ])
}

fn time_cells(
    app: &App,
    g: &Glyphs,
    row: HeatRow,
    cells: usize,
    per_cell: usize,
    interval: Duration,
    spans: &mut Vec<Span<'static>>,
) {
    let theme = &app.theme;
    let nodes = app.fleet.nodes();
    let slots: &[usize] = match &row {
        HeatRow::Group { group, .. } => &app.panes.heatmap.groups[*group].slots,
        HeatRow::Node { slot } => std::slice::from_ref(slot),
    };
    let lags: Vec<(usize, usize, bool)> = slots
        .iter()
        .map(|&s| (s, lag(app, &nodes[s], interval), nodes[s].is_live()))
        .collect();
    let mut run = String::new();
    let mut run_style = Style::default();
    for c in 0..cells {
        let from_back = app.panes.heatmap.scroll_back + (cells - 1 - c) * per_cell;
        let (value, live) = lags
            .iter()
            .filter_map(|&(s, lag, live)| {
                heatmap::node_cell(&nodes[s], from_back, per_cell, lag, interval).map(|v| (v, live))
            })
            .fold(None, |acc: Option<(f32, bool)>, (v, live)| match acc {
                Some((m, l)) => Some((m.max(v), l || live)),
                None => Some((v, live)),
            })
            .map_or((None, true), |(v, l)| (Some(v), l));
        let (ch, style) = match value {
            Some(v) => {
                let level = Theme::heat_level(v);
                let style = if live { theme.heat(level) } else { theme.stale };
                (g.heat(level), style)
            }
            None => (g.no_data, theme.dim),
        };
        if style != run_style && !run.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut run), run_style));
        }
        run_style = style;
        run.push(ch);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, run_style));
    }
}

fn resource_axis(theme: &Theme, label_width: usize, width: usize) -> Line<'static> {
    let col = resource_width(width);
    let mut spans = vec![Span::raw(" ".repeat(label_width + 1))];
    for name in RESOURCES {
        spans.push(Span::styled(format!("{name:<col$}"), theme.table_header));
    }
    Line::from(spans)
}

fn resource_width(width: usize) -> usize {
    (width / RESOURCES.len()).clamp(RESOURCE_MIN_COLUMNS, RESOURCE_MAX_COLUMNS)
}

/// A node's resources in percent, in `RESOURCES` order.
fn resources(node: &Node) -> [f32; 6] {
    let h = &node.host;
    let net = (h.net_rx_bytes_per_sec + h.net_tx_bytes_per_sec) as f64;
    let max = node.info.as_ref().map_or(0, |i| i.max_containers);
    let ctrs = if max == 0 {
        0.0
    } else {
        node.containers.len() as f32 / max as f32 * 100.0
    };
    [
        h.cpu_percent,
        h.memory_percent(),
        h.disk_percent(),
        (net / NETWORK_FULL_BYTES_PER_SEC * 100.0).min(100.0) as f32,
        ctrs.min(100.0),
        node.load(),
    ]
}

fn resource_cells(
    app: &App,
    g: &Glyphs,
    row: HeatRow,
    width: usize,
    spans: &mut Vec<Span<'static>>,
) {
    let theme = &app.theme;
    let nodes = app.fleet.nodes();
    let slots: &[usize] = match &row {
        HeatRow::Group { group, .. } => &app.panes.heatmap.groups[*group].slots,
        HeatRow::Node { slot } => std::slice::from_ref(slot),
    };
    // Unreached nodes have no figures; unreachable ones keep their last, shown stale.
    let mut values: Option<[f32; 6]> = None;
    let mut live = false;
    for &s in slots {
        let node = &nodes[s];
        if node.info.is_none() {
            continue;
        }
        live |= node.is_live();
        let r = resources(node);
        values = Some(match values {
            Some(v) => std::array::from_fn(|i| v[i].max(r[i])),
            None => r,
        });
    }
    let col = resource_width(width);
    for i in 0..RESOURCES.len() {
        match values {
            Some(v) => {
                let level = Theme::heat_level(v[i]);
                let style = if live { theme.heat(level) } else { theme.stale };
                let bar: String = std::iter::repeat_n(g.heat(level), col - 6).collect();
                spans.push(Span::styled(bar, style));
                let figure = if live { theme.usage(v[i]) } else { theme.stale };
                spans.push(Span::styled(format!("{:>4.0}% ", v[i]), figure));
            }
            None => spans.push(Span::styled(
                format!("{:<col$}", g.no_data.to_string()),
                theme.dim,
            )),
        }
    }
}

fn legend(theme: &Theme, g: &Glyphs) -> Line<'static> {
    let step = 100 / HEAT_LEVELS;
    let mut spans = vec![Span::styled(" % ", theme.label())];
    for level in 1..HEAT_LEVELS {
        spans.push(Span::styled(g.heat(level).to_string(), theme.heat(level)));
        let upper = if level + 1 == HEAT_LEVELS {
            "+".to_string()
        } else {
            format!("-{}", (level + 1) * step)
        };
        spans.push(Span::styled(
            format!("{}{upper} ", level * step),
            theme.label(),
        ));
    }
    spans.push(Span::styled(
        format!(" blank <{step}  {} no data  ", g.no_data),
        theme.dim,
    ));
    spans.push(Span::styled(
        format!("{} group: max", g.folded),
        theme.label(),
    ));
    Line::from(spans)
}
