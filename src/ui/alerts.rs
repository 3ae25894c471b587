//! The alert pane (always on screen), the full alert view (`a`), and the incident
//! overlays: acknowledge and silence prompts, the command palette, a proposed action.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::{format, pane, window};
use crate::alerts::{Alert, AlertKey, AlertState, Counts, format_duration, utc};
use crate::app::{App, Focus, PromptKind, SILENCE_CHOICES, palette_matches};
use crate::keys::{Command, Mode};

/// Most rows the alert pane takes in the main view (it shrinks to what it lists).
pub const ALERT_PANE_MAX_ROWS: u16 = 8;
/// Timeline entries the alert view shows (newest last).
const TIMELINE_SHOWN: usize = 200;

/// Height of the alert pane for the current alerts.
pub fn pane_height(app: &App) -> u16 {
    let rows = u16::try_from(app.alerts.rows().len()).unwrap_or(u16::MAX);
    rows.max(1).saturating_add(2).min(ALERT_PANE_MAX_ROWS)
}

/// Title spans: counts by severity, then pending, acked, silenced.
fn title(app: &App, focused: bool, label: &str) -> Line<'static> {
    let theme = &app.theme;
    let c: Counts = app.alerts.counts();
    let mut spans = vec![Span::styled(format!(" {label} "), theme.title(focused))];
    let mut count = |n: usize, text: &str, style: Style| {
        spans.push(Span::styled(
            format!("{n} {text}"),
            if n == 0 { theme.dim } else { style },
        ));
        spans.push(Span::styled(" · ", theme.dim));
    };
    use crate::alerts::Severity;
    count(c.critical, "critical", theme.severity(Severity::Critical));
    count(c.warning, "warning", theme.severity(Severity::Warning));
    count(c.info, "info", theme.severity(Severity::Info));
    count(c.pending, "pending", theme.text);
    count(c.acked, "acked", theme.info);
    count(c.silenced, "silenced", theme.text);
    if c.stale > 0 {
        count(c.stale, "stale", theme.dim);
    }
    spans.pop();
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// One alert as table cells: severity, state, what, where, value, for how long, marks.
fn cells(app: &App, a: &Alert, wide: bool) -> Vec<Span<'static>> {
    let theme = &app.theme;
    let resolved = a.state == AlertState::Resolved;
    let silence = app.alerts.silence(&a.key);
    let remote = app.alerts.remote_silence(&a.key);
    let dim = resolved
        || silence.is_some()
        || remote.is_some()
        || matches!(a.state, AlertState::Pending | AlertState::Stale);
    let plain = if dim { theme.dim } else { theme.text };
    let sev_style = if resolved || a.state == AlertState::Stale {
        theme.dim
    } else {
        theme.severity(a.severity)
    };
    let age_from = match a.state {
        AlertState::Resolved => a.resolved.unwrap_or(a.since),
        _ => a.since,
    };
    let age = format::duration(app.now.saturating_duration_since(age_from.at));
    let since = match a.state {
        AlertState::Resolved => format!("{age} ago"),
        _ => age,
    };
    let mut mark = Vec::new();
    if let Some(ack) = &a.ack {
        mark.push(if ack.note.is_empty() {
            "ACK".to_string()
        } else {
            format!("ACK: {}", ack.note)
        });
    }
    if let Some(s) = silence {
        let left = s.until.saturating_duration_since(app.now);
        mark.push(format!("SILENCED {} left", format::duration(left)));
    } else if let Some(r) = remote.filter(|_| !resolved) {
        let left = Duration::from_millis(r.ends_unix_ms.saturating_sub(app.now_unix_ms));
        mark.push(format!(
            "SILENCED in Alertmanager {} left",
            format::duration(left)
        ));
    }
    if let Some(p) = a.proposal.as_ref().filter(|_| !resolved) {
        mark.push(format!("→ {p}"));
    }
    let mut row = vec![
        Span::styled(a.severity.short(), sev_style),
        Span::styled(a.state.as_str(), state_style(app, a.state)),
        Span::styled(a.summary.clone(), plain),
        Span::styled(a.location(), plain),
        Span::styled(a.value_text(), plain),
        Span::styled(since, plain),
    ];
    if wide {
        row.push(Span::styled(mark.join(" · "), theme.info));
    }
    row
}

fn state_style(app: &App, state: AlertState) -> Style {
    match state {
        AlertState::Firing => app.theme.crit,
        AlertState::Pending => app.theme.warn,
        AlertState::Resolved => app.theme.ok,
        // Suspended on stale data: never styled as if live.
        AlertState::Stale => app.theme.dim,
    }
}

const WIDTHS: [Constraint; 7] = [
    Constraint::Length(4),
    Constraint::Length(8),
    Constraint::Length(22),
    Constraint::Length(26),
    Constraint::Length(12),
    Constraint::Length(10),
    Constraint::Fill(1),
];

fn table<'a>(app: &App, area: Rect, focused: bool) -> (Table<'a>, TableState, bool) {
    let rows = app.alerts.rows();
    let height = usize::from(area.height.saturating_sub(1));
    let (offset, shown) = window(rows, app.panes.alerts.cursor, height);
    let widget = Table::new(shown.iter().map(|a| Row::new(cells(app, a, true))), WIDTHS)
        .header(
            Row::new([
                "SEV",
                "STATE",
                "ALERT",
                "WHERE",
                "VALUE",
                "FOR",
                "ACK · SILENCE · ACTION",
            ])
            .style(app.theme.table_header),
        )
        .column_spacing(1)
        .row_highlight_style(app.theme.selection(focused));
    let selected = app
        .panes
        .alerts
        .cursor
        .row
        .checked_sub(offset)
        .filter(|r| *r < shown.len());
    (
        widget,
        TableState::default().with_selected(selected),
        shown.is_empty(),
    )
}

/// Draws the alert pane of the main view.
pub fn draw_pane(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.panes.tables.focus == Focus::Alerts;
    let inner = pane(
        frame,
        area,
        title(app, focused, "Alerts"),
        focused,
        &app.theme,
    );
    if app.alerts.rows().is_empty() {
        let line = Line::from(vec![
            Span::styled(" no alerts", app.theme.ok),
            Span::styled(
                format!(
                    " · {} rules watching",
                    app.alerts.rules().iter().filter(|r| r.enabled).count()
                ),
                app.theme.dim,
            ),
        ]);
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    // No header row in the pane: every row reads on its own.
    let height = usize::from(inner.height);
    let rows = app.alerts.rows();
    let (offset, shown) = window(rows, app.panes.alerts.cursor, height);
    let widget = Table::new(shown.iter().map(|a| Row::new(cells(app, a, true))), WIDTHS)
        .column_spacing(1)
        .row_highlight_style(app.theme.selection(focused));
    let selected = app
        .panes
        .alerts
        .cursor
        .row
        .checked_sub(offset)
        .filter(|r| *r < shown.len() && focused);
    frame.render_stateful_widget(
        widget,
        inner,
        &mut TableState::default().with_selected(selected),
    );
}

/// Draws the full alert view: the list, the selected alert, recommendations, timeline.
pub fn draw_view(frame: &mut Frame, area: Rect, app: &App) {
    let list_height = (area.height * 55 / 100).max(5);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Fill(1)]).areas(area);
    let inner = pane(
        frame,
        top,
        title(app, true, "Alerts — all"),
        true,
        &app.theme,
    );
    let (widget, mut state, empty) = table(app, inner, true);
    frame.render_stateful_widget(widget, inner, &mut state);
    if empty {
        super::empty(
            frame,
            inner,
            "no alerts: every rule is quiet".into(),
            &app.theme,
        );
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(bottom);
    detail(frame, left, app);
    timeline(frame, right, app);
}

fn detail(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let inner = pane(
        frame,
        area,
        Line::from(Span::styled(
            " Selected alert · recommendations ",
            theme.title(false),
        )),
        false,
        theme,
    );
    let mut lines: Vec<Line> = Vec::new();
    let kv = |k: &str, v: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), theme.label()),
            Span::styled(v, style),
        ])
    };
    match app.selected_alert() {
        None => lines.push(Line::from(Span::styled("no alert selected", theme.dim))),
        Some(a) => {
            let rule = app.alerts.rules().get(a.key.rule);
            lines.push(kv(
                "alert",
                format!("{} [{}]", a.summary, a.rule),
                theme.severity(a.severity),
            ));
            lines.push(kv("where", a.location(), theme.text));
            if let Some(r) = rule {
                lines.push(kv(
                    "rule",
                    format!("{} for {}", r.when, format_duration(r.for_)),
                    theme.text,
                ));
            }
            lines.push(kv("value", a.value_text(), theme.text));
            lines.push(kv("since", utc(a.since.unix_ms), theme.text));
            if let Some(f) = a.fired {
                lines.push(kv("firing", utc(f.unix_ms), theme.text));
            }
            if let Some(r) = a.resolved {
                lines.push(kv("resolved", utc(r.unix_ms), theme.ok));
            }
            if let Some(ack) = &a.ack {
                let note = if ack.note.is_empty() {
                    "(no note)".into()
                } else {
                    ack.note.clone()
                };
                lines.push(kv(
                    "acked",
                    format!("{} · {note}", utc(ack.at.unix_ms)),
                    theme.info,
                ));
            }
            if let Some(s) = app.alerts.silence(&a.key) {
                let mut text = format!("until {}", utc(s.until_unix_ms));
                if !s.links.is_empty() {
                    text.push_str(" · in Alertmanager too");
                }
                lines.push(kv("silenced", text, theme.info));
            }
            if let Some(r) = app
                .alerts
                .remote_silence(&a.key)
                .filter(|_| a.state != AlertState::Resolved)
            {
                let who = if r.created_by.is_empty() {
                    "(unnamed)"
                } else {
                    r.created_by.as_str()
                };
                lines.push(kv(
                    "in AM",
                    format!("silenced by {who} until {}", utc(r.ends_unix_ms)),
                    theme.info,
                ));
                if !r.comment.trim().is_empty() {
                    lines.push(kv("", r.comment.trim().to_string(), theme.dim));
                }
            }
        }
    }
    lines.push(Line::default());
    let key = |c: Command| format::key_text(&app.keymap.hint(c));
    let proposals: Vec<&Alert> = app
        .alerts
        .rows()
        .iter()
        .filter(|a| a.proposal.is_some() && a.state != AlertState::Resolved)
        .collect();
    lines.push(Line::from(vec![
        Span::styled(
            format!("Recommendations ({}) ", proposals.len()),
            theme.table_header,
        ),
        Span::styled(key(Command::Propose), theme.key_hint),
        Span::styled(" opens the selected one", theme.label()),
    ]));
    for a in proposals {
        if let Some(p) = &a.proposal {
            lines.push(Line::from(vec![
                Span::styled("→ ", theme.info),
                Span::styled(p.to_string(), theme.text),
                Span::styled(format!("  ({} · {})", a.summary, a.location()), theme.dim),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn timeline(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let t = app.alerts.timeline();
    let title = Line::from(vec![
        Span::styled(
            format!(" Incident timeline ({}) ", t.len()),
            theme.title(false),
        ),
        Span::styled(
            format::key_text(&app.keymap.hint(Command::ExportTimeline)),
            theme.key_hint,
        ),
        Span::styled(" export ", theme.label()),
    ]);
    let inner = pane(frame, area, title, false, theme);
    let height = usize::from(inner.height);
    let skip = t.len().saturating_sub(height.min(TIMELINE_SHOWN));
    let lines: Vec<Line> = t
        .entries()
        .skip(skip)
        .map(|e| {
            let time = utc(e.at.unix_ms);
            let time = time.get(11..).unwrap_or(&time).to_string();
            Line::from(vec![
                Span::styled(format!("{time} "), theme.dim),
                Span::styled(
                    format!("{:<13}", e.kind.as_str()),
                    e.severity.map_or(theme.info, |s| theme.severity(s)),
                ),
                Span::styled(e.text.clone(), theme.text),
            ])
        })
        .collect();
    if lines.is_empty() {
        super::empty(frame, inner, "nothing has happened yet".into(), theme);
        return;
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, title: &str, app: &App) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 3,
        width,
        height,
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(app.theme.border(true))
        .title(Span::styled(format!(" {title} "), app.theme.title(true)));
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    inner
}

/// Draws the open prompt, if any, over `area`.
pub fn draw_overlays(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let Some(prompt) = app.panes.prompt() else {
        return;
    };
    let cursor = Span::styled("▏", theme.filter());
    let mut lines = Vec::new();
    let what = |key: &AlertKey| {
        app.alerts.get(key).map_or_else(
            || "(resolved)".to_string(),
            |a: &Alert| format!("{} on {}", a.summary, a.location()),
        )
    };
    // The keys the hints name, as the keymap binds them.
    let ok = || {
        Span::styled(
            format::mode_key(&app.keymap, Mode::Prompt, Command::Confirm),
            theme.key_hint,
        )
    };
    let cancel = || {
        Span::styled(
            format::mode_key(&app.keymap, Mode::Prompt, Command::Cancel),
            theme.key_hint,
        )
    };
    let (title, height) = match &prompt.kind {
        PromptKind::Ack(key) => {
            lines.push(Line::from(Span::styled(what(key), theme.text)));
            lines.push(Line::from(vec![
                Span::styled("note: ", theme.label()),
                Span::styled(prompt.text.clone(), theme.filter()),
                cursor,
            ]));
            lines.push(Line::from(vec![
                ok(),
                Span::styled(" acknowledge (note optional)  ", theme.label()),
                cancel(),
                Span::styled(" cancel", theme.label()),
            ]));
            ("Acknowledge", 6)
        }
        PromptKind::Silence(key) => {
            lines.push(Line::from(Span::styled(what(key), theme.text)));
            let mut choices = vec![Span::styled("for: ", theme.label())];
            for (i, (_, label)) in SILENCE_CHOICES.iter().enumerate() {
                let style = if prompt.text.is_empty() && i == prompt.choice {
                    theme.selected
                } else {
                    theme.text
                };
                choices.push(Span::styled(format!(" {label} "), style));
                choices.push(Span::raw(" "));
            }
            choices.push(Span::styled("or type: ", theme.label()));
            choices.push(Span::styled(prompt.text.clone(), theme.filter()));
            choices.push(cursor);
            lines.push(Line::from(choices));
            lines.push(Line::from(vec![
                Span::styled("←/→", theme.key_hint),
                Span::styled(" choose  ", theme.label()),
                ok(),
                Span::styled(" silence  ", theme.label()),
                cancel(),
                Span::styled(" cancel", theme.label()),
            ]));
            ("Silence", 6)
        }
        PromptKind::Image { service, current } => {
            lines.push(Line::from(Span::styled(
                format!("roll {service} out, one replica at a time; {current} restarts it"),
                theme.text,
            )));
            lines.push(Line::from(vec![
                Span::styled("image: ", theme.label()),
                Span::styled(prompt.text.clone(), theme.filter()),
                cursor,
            ]));
            lines.push(Line::from(vec![
                ok(),
                Span::styled(" plan  ", theme.label()),
                cancel(),
                Span::styled(" cancel", theme.label()),
            ]));
            ("Rollout", 6)
        }
        PromptKind::Palette => {
            lines.push(Line::from(vec![
                Span::styled(":", theme.filter()),
                Span::styled(prompt.text.clone(), theme.filter()),
                cursor,
            ]));
            let found = palette_matches(&prompt.text, &app.keymap);
            let room = usize::from(area.height.saturating_sub(8)).clamp(3, 14);
            let start = prompt.choice.saturating_sub(room - 1);
            for (i, e) in found.iter().enumerate().skip(start).take(room) {
                let style = if i == prompt.choice {
                    theme.selected
                } else {
                    theme.text
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<18}", e.name), style),
                    Span::styled(format!("{:<10}", format::key_text(&e.key)), theme.key_hint),
                    Span::styled(e.describe, theme.label()),
                ]));
            }
            if found.is_empty() {
                lines.push(Line::from(Span::styled(
                    "no command or view matches",
                    theme.dim,
                )));
            }
            ("Command palette", (lines.len() + 2).min(20) as u16)
        }
        PromptKind::Exec(target) => {
            lines.push(Line::from(vec![
                Span::styled("in ", theme.label()),
                Span::styled(target.container.clone(), theme.text),
                Span::styled(" on ", theme.label()),
                Span::styled(target.node.clone(), theme.text),
            ]));
            lines.push(Line::from(vec![
                Span::styled("run: ", theme.label()),
                Span::styled(prompt.text.clone(), theme.filter()),
                cursor,
            ]));
            let detach = format::mode_key(&app.keymap, Mode::Exec, Command::Detach);
            lines.push(Line::from(vec![
                ok(),
                Span::styled(" open a terminal  ", theme.label()),
                cancel(),
                Span::styled(" cancel  ", theme.label()),
                Span::styled(detach, theme.key_hint),
                Span::styled(" leaves it", theme.label()),
            ]));
            ("Shell in a container", 6)
        }
    };
    if let Some(e) = &prompt.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.crit)));
    }
    let height = height + u16::from(prompt.error.is_some());
    let inner = popup(frame, area, 76, height, title, app);
    frame.render_widget(Paragraph::new(lines), inner);
}
