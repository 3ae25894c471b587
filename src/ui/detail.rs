//! The detail pane: everything about the focused node or container, with small history
//! charts drawn from its ring buffers (newest sample at the right edge).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, RenderDirection, Sparkline};

use super::{format, pane};
use crate::app::{App, Focus};
use crate::model::{CheckStatus, Container, ContainerState, Link, Node, NodeMode, Series};
use crate::theme::Theme;

/// Width of the label column of key/value lines.
const LABEL_WIDTH: usize = 9;
/// Rows of one history chart: a caption and two rows of bars.
const CHART_ROWS: u16 = 3;
/// Rows kept for text before charts are given room.
const MIN_TEXT_ROWS: u16 = 10;

/// Draws the pane for whatever the focused table has selected.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let container = (app.panes.tables.focus == Focus::Containers)
        .then(|| app.selected_container())
        .flatten();
    match (container, app.selected_node()) {
        (Some((node, c)), _) => container_detail(frame, area, app, node, c),
        (None, Some((_, node))) => node_detail(frame, area, app, node),
        (None, None) => {
            let title = Line::from(Span::styled(" Detail ", app.theme.title(false)));
            let inner = pane(frame, area, title, false, &app.theme);
            super::empty(frame, inner, "nothing selected".into(), &app.theme);
        }
    }
}

/// One history chart: caption, current value, series and its full scale.
struct Chart<'a> {
    label: &'static str,
    value: Span<'static>,
    series: &'a Series,
    full_scale: f32,
}

fn node_detail(frame: &mut Frame, area: Rect, app: &App, node: &Node) {
    let theme = &app.theme;
    let live = node.is_live();
    let state = node.state(app.now, app.fleet.failover_timeout());
    let title = Line::from(vec![
        Span::styled(format!(" {} ", node.name()), theme.title(false)),
        Span::styled(format!("{} ", state.as_str()), theme.status(state)),
    ]);
    let inner = pane(frame, area, title, false, theme);
    let plain = theme.plain(live);
    let mut lines = Vec::new();
    match &node.link {
        Link::Live => lines.push(kv(
            "link",
            vec![Span::styled("live", theme.link(true))],
            theme,
        )),
        Link::Connecting => lines.push(kv(
            "link",
            vec![Span::styled("connecting…", theme.stale)],
            theme,
        )),
        Link::Down { since, reason } => {
            let down_for = format::duration(app.now.saturating_duration_since(*since));
            lines.push(kv(
                "link",
                vec![Span::styled(
                    format!("down {down_for}: {reason}"),
                    theme.crit,
                )],
                theme,
            ));
            let seen = node.age(app.now).map_or_else(
                || "never seen".to_string(),
                |a| format!("seen {}", format::ago(a)),
            );
            lines.push(kv(
                "",
                vec![Span::styled(
                    format!("figures are stale, {seen}"),
                    theme.stale,
                )],
                theme,
            ));
        }
    }
    let text = |s: String| vec![Span::styled(s, plain)];
    lines.push(kv("endpoint", text(node.endpoint.clone()), theme));
    let Some(info) = &node.info else {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            " waiting for the agent's first snapshot",
            theme.stale,
        )));
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    };
    if info.insecure {
        // An agent anyone on the network can reach unchecked: say so before anything else.
        let warn = theme.severity(crate::alerts::Severity::Critical);
        lines.push(kv(
            "security",
            vec![Span::styled(
                "INSECURE: no TLS or no caller checks (--insecure)".to_string(),
                warn,
            )],
            theme,
        ));
    }
    if info.open {
        // Fine on a laptop, worth knowing anywhere else: any local user is this node's admin.
        lines.push(kv(
            "security",
            vec![Span::styled(
                "OPEN: no tokens, every local caller is admin".to_string(),
                theme.severity(crate::alerts::Severity::Warning),
            )],
            theme,
        ));
    }
    lines.push(kv("id", text(info.node_id.clone()), theme));
    lines.push(kv("hostname", text(info.hostname.clone()), theme));
    lines.push(kv(
        "runtime",
        text(format!("{} · agent {}", info.runtime, info.agent_version)),
        theme,
    ));
    let mode = match info.status.mode {
        NodeMode::Active => "active",
        NodeMode::Standby => "standby",
        NodeMode::Maintenance => "maintenance (cordoned)",
    };
    lines.push(kv("mode", text(mode.into()), theme));
    lines.push(kv("cores", text(info.cpu_cores.to_string()), theme));
    let host = &node.host;
    lines.push(usage_line(
        "memory",
        host.memory_used_bytes,
        host.memory_total_bytes,
        live,
        theme,
    ));
    lines.push(usage_line(
        "disk",
        host.disk_used_bytes,
        host.disk_total_bytes,
        live,
        theme,
    ));
    let uptime = std::time::Duration::from_secs(host.uptime_secs)
        + format::since_ms(host.time_unix_ms, app.now_unix_ms);
    lines.push(kv("uptime", text(format::duration(uptime)), theme));
    labels(&mut lines, info.status.labels.iter(), plain, theme);
    if node.restarts_seen > 0 {
        lines.push(kv(
            "restarts",
            vec![Span::styled(
                format!("agent restarted {}×", node.restarts_seen),
                theme.warn,
            )],
            theme,
        ));
    }
    lines.push(kv("checks", Vec::new(), theme));
    for check in &node.health {
        let style = if live {
            theme.check(check.status)
        } else {
            theme.stale
        };
        lines.push(Line::from(vec![
            Span::styled("  ● ", style),
            Span::styled(format!("{:<9}", check.name), plain),
            Span::styled(format!("{:<8}", check_name(check.status)), style),
            Span::styled(check.message.clone(), theme.label()),
        ]));
    }
    let charts = [
        Chart {
            label: "cpu",
            value: figure(host.cpu_percent, live, theme),
            series: &node.cpu_history,
            full_scale: 100.0,
        },
        Chart {
            label: "memory",
            value: figure(host.memory_percent(), live, theme),
            series: &node.memory_history,
            full_scale: 100.0,
        },
        Chart {
            label: "load",
            value: figure(node.load(), live, theme),
            series: &node.load_history,
            full_scale: 100.0,
        },
    ];
    text_and_charts(frame, inner, lines, &charts, live, theme);
}

fn container_detail(frame: &mut Frame, area: Rect, app: &App, node: &Node, c: &Container) {
    let theme = &app.theme;
    let live = node.is_live();
    let spec = &c.spec;
    let stats = &c.stats;
    let state_style = if live {
        theme.container_state(spec.state)
    } else {
        theme.stale
    };
    let title = Line::from(vec![
        Span::styled(format!(" {} ", spec.name), theme.title(false)),
        Span::styled(format!("{} ", spec.state.as_str()), state_style),
    ]);
    let inner = pane(frame, area, title, false, theme);
    let plain = theme.plain(live);
    let text = |s: String| vec![Span::styled(s, plain)];
    let mut lines = Vec::new();
    if !live {
        lines.push(kv(
            "",
            vec![Span::styled(
                format!("stale: {} is unreachable", node.name()),
                theme.stale,
            )],
            theme,
        ));
    }
    lines.push(kv(
        "id",
        text(format::short_id(&spec.id).to_string()),
        theme,
    ));
    lines.push(kv("node", text(node.name().to_string()), theme));
    lines.push(kv("image", text(spec.image.to_string()), theme));
    lines.push(kv("service", text(spec.service.to_string()), theme));
    let mut state = vec![Span::styled(spec.state.as_str(), state_style)];
    if matches!(spec.state, ContainerState::Exited | ContainerState::Dead) {
        state.push(Span::styled(
            format!(" (exit code {})", spec.exit_code),
            plain,
        ));
    }
    lines.push(kv("state", state, theme));
    let health_style = if live {
        theme.health(spec.health)
    } else {
        theme.stale
    };
    lines.push(kv(
        "health",
        vec![Span::styled(spec.health.as_str(), health_style)],
        theme,
    ));
    let restarts_style = if live {
        theme.alarm(spec.restart_count as usize, false)
    } else {
        theme.stale
    };
    lines.push(kv(
        "restarts",
        vec![Span::styled(spec.restart_count.to_string(), restarts_style)],
        theme,
    ));
    lines.push(kv(
        "cpu",
        vec![
            figure(stats.cpu_percent, live, theme),
            Span::styled(" of a core", theme.label()),
        ],
        theme,
    ));
    lines.push(usage_line(
        "memory",
        stats.memory_used_bytes,
        stats.memory_limit_bytes,
        live,
        theme,
    ));
    lines.push(kv(
        "net",
        text(format!(
            "rx {}/s · tx {}/s",
            format::bytes(stats.net_rx_bytes_per_sec),
            format::bytes(stats.net_tx_bytes_per_sec)
        )),
        theme,
    ));
    let ports: Vec<String> = spec
        .ports
        .iter()
        .map(|p| {
            let ip = if p.host_ip.is_empty() {
                String::new()
            } else {
                format!("{}:", p.host_ip)
            };
            format!("{ip}{}→{}/{}", p.host_port, p.container_port, p.protocol)
        })
        .collect();
    let ports = if ports.is_empty() {
        "-".to_string()
    } else {
        ports.join(", ")
    };
    lines.push(kv("ports", text(ports), theme));
    let when = |ms: u64| {
        if ms == 0 {
            "-".to_string()
        } else {
            let ago = format::ago(format::since_ms(ms, app.now_unix_ms));
            format!("{} ({ago})", format::utc(ms))
        }
    };
    lines.push(kv("created", text(when(spec.created_unix_ms)), theme));
    lines.push(kv("started", text(when(spec.started_unix_ms)), theme));
    labels(&mut lines, spec.labels.iter(), plain, theme);
    let memory_scale = if stats.memory_limit_bytes > 0 {
        stats.memory_limit_bytes as f32
    } else {
        c.memory_history.max()
    };
    let charts = [
        Chart {
            label: "cpu",
            value: figure(stats.cpu_percent, live, theme),
            series: &c.cpu_history,
            full_scale: c.cpu_history.max().max(100.0),
        },
        Chart {
            label: "memory",
            value: Span::styled(format::bytes(stats.memory_used_bytes), plain),
            series: &c.memory_history,
            full_scale: memory_scale,
        },
    ];
    text_and_charts(frame, inner, lines, &charts, live, theme);
}

/// Key/value lines on top, charts at the bottom when there is room for both.
fn text_and_charts(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    charts: &[Chart<'_>],
    live: bool,
    theme: &Theme,
) {
    let chart_rows = CHART_ROWS * charts.len() as u16;
    let wanted = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    if area.height < chart_rows + wanted.min(MIN_TEXT_ROWS) {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let [text_area, chart_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(chart_rows)]).areas(area);
    frame.render_widget(Paragraph::new(lines), text_area);
    let spark_style = if live { theme.sparkline } else { theme.stale };
    let areas =
        Layout::vertical(charts.iter().map(|_| Constraint::Length(CHART_ROWS))).split(chart_area);
    for (chart, rect) in charts.iter().zip(areas.iter()) {
        let [caption, bars] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(*rect);
        let caption_line = Line::from(vec![
            Span::styled(format!(" {:<LABEL_WIDTH$}", chart.label), theme.label()),
            chart.value.clone(),
        ]);
        frame.render_widget(Paragraph::new(caption_line), caption);
        let bars = Rect {
            x: bars.x + 1,
            width: bars.width.saturating_sub(2),
            ..bars
        };
        let scale = if chart.full_scale > 0.0 {
            chart.full_scale
        } else {
            1.0
        };
        // Newest first, drawn from the right edge, so a young series hugs the present.
        let data: Vec<u64> = chart
            .series
            .iter()
            .rev()
            .take(usize::from(bars.width))
            .map(|v| (v.max(0.0) / scale * 1000.0).round().min(1000.0) as u64)
            .collect();
        let sparkline = Sparkline::default()
            .data(data)
            .max(1000)
            .direction(RenderDirection::RightToLeft)
            .style(spark_style);
        frame.render_widget(sparkline, bars);
    }
}

fn kv(label: &str, value: Vec<Span<'static>>, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(" {label:<LABEL_WIDTH$} "),
        theme.label(),
    )];
    spans.extend(value);
    Line::from(spans)
}

fn usage_line(label: &str, used: u64, total: u64, live: bool, theme: &Theme) -> Line<'static> {
    let plain = theme.plain(live);
    if total == 0 {
        return kv(label, vec![Span::styled(format::bytes(used), plain)], theme);
    }
    let p = (used as f64 / total as f64 * 100.0) as f32;
    kv(
        label,
        vec![
            Span::styled(
                format!("{} / {}  ", format::bytes(used), format::bytes(total)),
                plain,
            ),
            figure(p, live, theme),
        ],
        theme,
    )
}

fn figure(p: f32, live: bool, theme: &Theme) -> Span<'static> {
    Span::styled(format!("{p:.1}%"), theme.figure(p, live))
}

fn labels<'a>(
    lines: &mut Vec<Line<'static>>,
    labels: impl Iterator<Item = (&'a String, &'a String)>,
    style: Style,
    theme: &Theme,
) {
    let mut first = true;
    for (k, v) in labels {
        let label = if first { "labels" } else { "" };
        lines.push(kv(
            label,
            vec![Span::styled(format!("{k}={v}"), style)],
            theme,
        ));
        first = false;
    }
    if first {
        lines.push(kv("labels", vec![Span::styled("-", theme.dim)], theme));
    }
}

fn check_name(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "ok",
        CheckStatus::Warning => "warning",
        CheckStatus::Failing => "failing",
        CheckStatus::Unknown => "unknown",
    }
}
