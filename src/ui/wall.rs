//! The read-only wall screen: a title bar, a stale-data banner when it applies, the worst
//! firing alert as a banner, the fleet's totals in large figures with a clock, the rotating
//! view (heatmaps, node table) and the firing alerts. It fits any terminal from 80x24 to a
//! few hundred columns: the figures grow with the room there is.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::glyphs;
use super::wall_tiles::{self, TilePlan};
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

/// Rows of the worst-alert banner on a wall this tall or taller: a band of colour seen
/// from across the room.
const TALL_BANNER_MIN_ROWS: u16 = 50;
/// Rows of the worst-alert banner on a tall wall.
const TALL_BANNER_ROWS: u16 = 3;

/// Where each part of the wall goes inside its area.
struct Areas {
    title: Rect,
    stale: Rect,
    alert: Rect,
    tiles: Rect,
    plan: TilePlan,
    view: Rect,
    attention: Rect,
}

fn areas(area: Rect, app: &App, stale_banner: bool) -> Areas {
    let plan = wall_tiles::plan(area, app);
    let alert_rows = if area.height >= TALL_BANNER_MIN_ROWS {
        TALL_BANNER_ROWS
    } else {
        1
    };
    let [title, stale, alert, tiles, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(stale_banner)),
        Constraint::Length(alert_rows),
        Constraint::Length(plan.rows()),
        Constraint::Fill(1),
    ])
    .areas(area);
    let (view, attention) = if area.width >= SIDE_ATTENTION_MIN_WIDTH {
        let [v, a] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(SIDE_ATTENTION_COLUMNS),
        ])
        .areas(body);
        (v, a)
    } else {
        // On a short terminal the view keeps at least half the body.
        let rows = ATTENTION_ROWS.min(body.height / 2);
        let [v, a] = Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(body);
        (v, a)
    };
    Areas {
        title,
        stale,
        alert,
        tiles,
        plan,
        view,
        attention,
    }
}

/// What one wall frame drew: the rows of the heatmap and of the node table (0 when not
/// shown), and where the rotating view sits, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drawn {
    pub heatmap_rows: usize,
    pub node_rows: usize,
    pub view: Rect,
}

/// Draws the wall screen.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> Drawn {
    let Some(wall) = app.panes.wall() else {
        return Drawn::default();
    };
    let theme = &app.theme;
    let stale = banner(app);
    let at = areas(area, app, stale.is_some());
    title(frame, at.title, app);
    if let Some(banner) = stale {
        frame.render_widget(Paragraph::new(banner), at.stale);
    }
    // Firing alerts, worst first, read once for the banner and the list.
    let firing: Vec<&Alert> = attention(app).collect();
    worst_alert(frame, at.alert, app, &firing);
    wall_tiles::draw(frame, at.tiles, app, at.plan);
    let prefix = format!("{}/{} ", wall.index + 1, WallView::ALL.len());
    let (heatmap_rows, node_rows) = match wall.view() {
        WallView::LoadOverTime | WallView::Resources => {
            (heatmap::draw(frame, at.view, app, &prefix), 0)
        }
        WallView::Nodes => (0, nodes::draw(frame, at.view, app)),
    };
    attention_pane(frame, at.attention, app, theme, &firing);
    Drawn {
        heatmap_rows,
        node_rows,
        view: at.view,
    }
}

fn title(frame: &mut Frame, area: Rect, app: &App) {
    // Longest first; each next one leaves out what matters least: the date, the console's
    // name, the rotation's countdown.
    let line = [
        (true, true, true),
        (false, true, true),
        (false, false, true),
    ]
    .into_iter()
    .map(|(date, name, countdown)| title_line(app, date, name, countdown))
    .find(|l| l.width() <= usize::from(area.width))
    .unwrap_or_else(|| title_line(app, false, false, false));
    frame.render_widget(Paragraph::new(line), area);
}

fn title_line(app: &App, date: bool, name: bool, countdown: bool) -> Line<'static> {
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
        if countdown && !wall.rotate_every.is_zero() {
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
    let time = format::utc(app.now_unix_ms);
    let time = if date {
        time
    } else {
        time.split_once(' ')
            .map_or(time.clone(), |(_, t)| t.to_string())
    };
    spans.push(Span::styled(format!("{time} UTC"), theme.label()));
    if name && !app.title.is_empty() {
        spans.push(Span::styled(format!(" {} ", g.bar), theme.dim));
        spans.push(Span::styled(app.title.clone(), theme.info));
    }
    Line::from(spans)
}

/// The worst firing alert across the whole width (the alert book lists worst first), with
/// how long it has fired and how many more fire; a calm line when none does.
fn worst_alert(frame: &mut Frame, area: Rect, app: &App, firing: &[&Alert]) {
    let theme = &app.theme;
    let g = glyphs::of(app.ascii);
    let Some(worst) = firing.first() else {
        let line = Line::from(Span::styled("all clear: no alert firing", theme.ok)).centered();
        let middle = Rect {
            y: area.y + area.height / 2,
            height: area.height.min(1),
            ..area
        };
        frame.render_widget(Paragraph::new(line), middle);
        return;
    };
    let more = firing.len() - 1;
    let style = theme.alert_banner(worst.severity);
    let mut text = format!(
        " {} {} {} ",
        tag(worst.severity),
        g.dot,
        match &worst.container {
            Some(c) => format!("{}/{c}: {}", worst.node, worst.summary),
            None => format!("{}: {}", worst.node, worst.summary),
        }
    );
    if let Some(fired) = worst.fired {
        let age = app.now.saturating_duration_since(fired.at);
        text.push_str(&format!("{} firing for {} ", g.dot, format::duration(age)));
    }
    if more > 0 {
        text.push_str(&format!("{} {more} more firing ", g.dot));
    }
    // The whole band takes the alert's colour, so it is seen before it is read.
    let band = Paragraph::new(vec![Line::default(); usize::from(area.height)]).style(style);
    frame.render_widget(band, area);
    let middle = Rect {
        y: area.y + area.height / 2,
        height: area.height.min(1),
        ..area
    };
    let line = Line::from(Span::styled(
        format::fit(&text, usize::from(area.width)),
        style,
    ))
    .centered();
    frame.render_widget(Paragraph::new(line), middle);
}

/// Four letters for a severity, as the attention list and the banner show it.
fn tag(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRIT",
        Severity::Warning => "WARN",
        Severity::Info => "INFO",
    }
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

fn attention_pane(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, alerts: &[&Alert]) {
    let g = glyphs::of(app.ascii);
    let counts = app.alerts.counts();
    let firing = alerts.len();
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
    let name_width = alerts
        .iter()
        .take(shown)
        .map(|a| a.node.chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    let mut lines: Vec<Line> = alerts
        .iter()
        .take(shown)
        .map(|a| {
            let tag = tag(a.severity);
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
