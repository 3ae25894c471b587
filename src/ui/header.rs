//! The header: the console's name and mode, then fleet totals from the cached summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use crate::app::App;
use crate::model::NodeState;

/// Below this width the header uses short labels and leaves out zero counts.
const COMPACT_BELOW_COLUMNS: u16 = 110;

/// The console's title is cut to fit, but never shorter than this (else it is left out).
const TITLE_MIN_COLUMNS: usize = 8;

/// Draws the two header lines.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let compact = area.width < COMPACT_BELOW_COLUMNS;
    let lines = vec![
        nodes_line(app, compact, usize::from(area.width)),
        containers_line(app, compact),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

/// The console's name and title, then the node counts by state. The counts are what the
/// line is for: when the line is too long for `width` the labels shorten first, then the
/// title is cut, then left out.
fn nodes_line(app: &App, compact: bool, width: usize) -> Line<'static> {
    let theme = &app.theme;
    let title = |counts: &[Span<'static>], room: usize| -> Vec<Span<'static>> {
        let mut spans = vec![Span::styled(" fleetdeck", theme.header)];
        let used: usize = counts.iter().map(Span::width).sum::<usize>() + spans[0].width();
        let left = room.saturating_sub(used + 1);
        if !app.title.is_empty() && left >= TITLE_MIN_COLUMNS.min(app.title.chars().count()) {
            spans.push(Span::styled(
                format!(" {}", format::fit(&app.title, left)),
                theme.info,
            ));
        }
        spans.extend(counts.iter().cloned());
        spans
    };
    let long = node_counts(app, compact);
    if compact {
        return Line::from(title(&long, width));
    }
    let full = title(&long, usize::MAX);
    if full.iter().map(Span::width).sum::<usize>() <= width {
        return Line::from(full);
    }
    Line::from(title(&node_counts(app, true), width))
}

/// " │ 8 nodes: 7 active · 1 standby ..." and the nodes whose runtime is down.
fn node_counts(app: &App, compact: bool) -> Vec<Span<'static>> {
    let theme = &app.theme;
    let summary = app.fleet.summary();
    let counts = summary.states(app.now, app.fleet.failover_timeout());
    let mut spans = Vec::new();
    spans.push(Span::styled(" │ ", theme.dim));
    spans.push(Span::styled(
        format!("{} nodes", app.fleet.nodes().len()),
        theme.text,
    ));
    let states = [
        (NodeState::Active, counts.active, "active", "active"),
        (NodeState::Standby, counts.standby, "standby", "standby"),
        (
            NodeState::Maintenance,
            counts.maintenance,
            "maintenance",
            "maint",
        ),
        (NodeState::Unknown, counts.unknown, "unknown", "unknown"),
        (NodeState::Failed, counts.failed, "failed", "failed"),
    ];
    let mut first = true;
    for (state, count, long, short) in states {
        if compact && count == 0 && state != NodeState::Active {
            continue;
        }
        spans.push(Span::styled(if first { ": " } else { " · " }, theme.dim));
        first = false;
        let style = if count == 0 {
            theme.dim
        } else {
            theme.status(state)
        };
        let label = if compact { short } else { long };
        spans.push(Span::styled(format!("{count} {label}"), style));
    }
    // Counted over the nodes, not cached: a handful of checks per node, once per frame.
    let runtime_down = app
        .fleet
        .nodes()
        .iter()
        .filter(|n| n.runtime_down())
        .count();
    if runtime_down > 0 {
        spans.push(Span::styled(" · ", theme.dim));
        let label = if compact {
            "rt down"
        } else {
            "runtime down (!RT)"
        };
        spans.push(Span::styled(
            format!("{runtime_down} {label}"),
            theme.runtime_down(),
        ));
    }
    spans
}

fn containers_line(app: &App, compact: bool) -> Line<'static> {
    let theme = &app.theme;
    let s = app.fleet.summary();
    let mut spans = vec![
        Span::styled(
            if compact { " ctrs " } else { " containers " },
            theme.label(),
        ),
        Span::styled(format!("{}/{}", s.running(), s.containers()), theme.text),
        Span::styled(" running", theme.label()),
    ];
    let mut count = |n: usize, label: &str, style: Style| {
        spans.push(Span::styled(" · ", theme.dim));
        spans.push(Span::styled(format!("{n} {label}"), style));
    };
    count(s.unhealthy(), "unhealthy", theme.alarm(s.unhealthy(), true));
    count(
        s.restarting(),
        "restarting",
        theme.alarm(s.restarting(), false),
    );
    if s.stale_containers() > 0 {
        count(s.stale_containers(), "stale", theme.stale);
    }
    spans.push(Span::styled(" │ ", theme.dim));
    spans.push(Span::styled("cpu ", theme.label()));
    match s.cpu_percent() {
        Some(cpu) => {
            spans.push(Span::styled(format!("{cpu:.1}%"), theme.usage(cpu)));
            if !compact {
                spans.push(Span::styled(
                    format!(" of {} cores", s.cores()),
                    theme.label(),
                ));
            }
        }
        None => spans.push(Span::styled("-", theme.dim)),
    }
    spans.push(Span::styled(" │ ", theme.dim));
    spans.push(Span::styled("mem ", theme.label()));
    let (used, total) = s.memory_bytes();
    if total == 0 {
        spans.push(Span::styled("-", theme.dim));
    } else {
        let p = (used as f64 / total as f64 * 100.0) as f32;
        spans.push(Span::styled(format!("{p:.1}%"), theme.usage(p)));
        if !compact {
            spans.push(Span::styled(
                format!(" {} / {}", format::bytes(used), format::bytes(total)),
                theme.label(),
            ));
        }
    }
    Line::from(spans)
}
