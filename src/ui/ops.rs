//! Action dialogs (target picker, scale, backup picker, plan confirmation, progress), the
//! action history pane. Pure rendering.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Gauge, Paragraph, Wrap};

use super::format;
use crate::app::{App, Dialog};
use crate::keys::{Command, Mode};
use crate::ops::{EntryState, Outcome, Proposal};
use crate::theme::Theme;

/// Widest a dialog gets.
const DIALOG_MAX_WIDTH: u16 = 96;
/// Share of the body the history pane takes, percent.
const HISTORY_PERCENT: u16 = 40;
/// Cursor shown where the operator types.
const TYPE_CURSOR: &str = "▏";

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let width = width
        .min(area.width.saturating_sub(2))
        .max(10.min(area.width));
    let height = height
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn frame_box(frame: &mut Frame, rect: Rect, title: &str, hint: &str, theme: &Theme) -> Rect {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title(true)))
        .title_bottom(Line::from(Span::styled(format!(" {hint} "), theme.label())).centered());
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

fn outcome_style(theme: &Theme, outcome: &Outcome) -> Style {
    match outcome {
        Outcome::Done(_) => theme.ok,
        Outcome::Failed(_) => theme.crit,
        Outcome::Cancelled(_) => theme.warn,
    }
}

/// Draws the open dialog, if any, over `area`.
pub fn dialog(frame: &mut Frame, area: Rect, app: &App) {
    let Some(d) = &app.panes.dialog() else { return };
    let theme = &app.theme;
    // The keys the hints name, as the keymap binds them.
    let key = |mode, command| format::mode_key(&app.keymap, mode, command);
    let (ok, cancel) = (
        key(Mode::Dialog, Command::Confirm),
        key(Mode::Dialog, Command::Cancel),
    );
    let pair = |commands, usual_keys, usual| {
        format::mode_pair(&app.keymap, Mode::Dialog, commands, usual_keys, usual)
    };
    let updown = pair((Command::Up, Command::Down), ("<Up>", "<Down>"), "↑↓");
    let left_right = pair((Command::Left, Command::Right), ("<Left>", "<Right>"), "←→");
    let more_less = pair((Command::More, Command::Less), ("+", "-"), "+/-");
    let width = DIALOG_MAX_WIDTH.min(area.width);
    let text_width = usize::from(width.saturating_sub(4));
    match d {
        Dialog::PickTarget {
            node,
            container,
            choices,
            selected,
        } => {
            let mut lines = vec![Line::from(Span::styled(
                format!(
                    "{:<16} {:>10} {:>12}",
                    "TARGET NODE", "FREE CPU", "FREE MEMORY"
                ),
                theme.table_header,
            ))];
            for (i, c) in choices.iter().enumerate() {
                let mut note = String::new();
                if c.standby {
                    note.push_str(" STANDBY");
                }
                if !c.fits {
                    note.push_str(" (no room)");
                }
                let text = format!(
                    "{:<16} {:>9.0}% {:>12}{note}",
                    format::fit(&c.name, 16),
                    c.free_cpu_percent,
                    format::bytes(c.free_memory_bytes)
                );
                let style = if i == *selected {
                    theme.selection(true)
                } else if c.fits {
                    theme.text
                } else {
                    theme.dim
                };
                lines.push(Line::from(Span::styled(
                    format::fit(&text, text_width),
                    style,
                )));
            }
            let height = lines.len() as u16 + 3;
            let inner = frame_box(
                frame,
                popup(area, width, height),
                &format!("Migrate {container} from {node} to…"),
                &format!("{updown} choose · {ok} plan · {cancel} cancel"),
                theme,
            );
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Dialog::Scale {
            service,
            current,
            replicas,
        } => {
            let lines = vec![
                Line::from(Span::styled(
                    format!("{service} runs {current} replicas on reachable nodes"),
                    theme.text,
                )),
                Line::from(vec![
                    Span::styled("replicas: ", theme.label()),
                    Span::styled(format!("{replicas}{TYPE_CURSOR}"), theme.filter()),
                ]),
            ];
            let inner = frame_box(
                frame,
                popup(area, width.min(60), 5),
                &format!("Scale {service}"),
                &format!("{more_less} or digits · {ok} plan · {cancel} cancel"),
                theme,
            );
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Dialog::PickBackup {
            node,
            list,
            selected,
            targets,
            to,
        } => {
            let mut lines: Vec<Line> = match list {
                None => vec![Line::from(Span::styled(
                    format!("asking {node} for its backups…"),
                    theme.dim,
                ))],
                Some(Err(e)) => vec![Line::from(Span::styled(e.clone(), theme.crit))],
                Some(Ok(l)) if l.is_empty() => vec![Line::from(Span::styled(
                    format!("{node} holds no backups yet (b backs up)"),
                    theme.dim,
                ))],
                Some(Ok(l)) => {
                    let mut lines = vec![Line::from(Span::styled(
                        format!(
                            "{:<19}  {:<16} {:>9}  {}",
                            "TAKEN (UTC)", "CONTAINER", "SIZE", "SHA-256"
                        ),
                        theme.table_header,
                    ))];
                    for (i, b) in l.iter().enumerate() {
                        let text = format!(
                            "{:<19}  {:<16} {:>9}  {}…",
                            format::utc(b.created_unix_ms),
                            format::fit(&b.container, 16),
                            format::bytes(b.size_bytes),
                            &b.sha256[..b.sha256.len().min(16)]
                        );
                        let style = if i == *selected {
                            theme.selection(true)
                        } else {
                            theme.text
                        };
                        lines.push(Line::from(Span::styled(
                            format::fit(&text, text_width),
                            style,
                        )));
                    }
                    lines
                }
            };
            let on = targets.get(*to).map_or(node.as_str(), String::as_str);
            let mut target = vec![
                Span::styled("restore on: ", theme.label()),
                Span::styled(format!("‹ {on} ›"), theme.selection(true)),
            ];
            if on != node {
                target.push(Span::styled(
                    format!("  (the archive is copied from {node} first)"),
                    theme.dim,
                ));
            }
            lines.push(Line::default());
            lines.push(Line::from(target));
            let height = lines.len() as u16 + 3;
            let inner = frame_box(
                frame,
                popup(area, width, height),
                &format!("Restore from {node}: choose a backup and a node"),
                &format!("{updown} backup · {left_right} node · {ok} plan · {cancel} cancel"),
                theme,
            );
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Dialog::Confirm { plan, typed } => {
            let mut lines: Vec<Line> = plan
                .lines
                .iter()
                .map(|l| {
                    Line::from(vec![
                        Span::styled("• ", theme.dim),
                        Span::styled(l.clone(), theme.text),
                    ])
                })
                .collect();
            if plan.data_bytes > 0 {
                lines.push(Line::from(vec![
                    Span::styled("data: ", theme.label()),
                    Span::styled(format::bytes(plan.data_bytes), theme.text),
                ]));
            }
            // Without etcd, a console following other agents would not see this claim: the
            // same line the CLI prints.
            if !app.ops.coordinated
                && matches!(
                    plan.proposal,
                    Proposal::Failover { .. } | Proposal::Drain { .. }
                )
            {
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(
                    crate::ops::intent::UNCOORDINATED_WARNING,
                    theme.warn,
                )));
            }
            // The typed confirmation takes the prompt mode's keys.
            let (run, back, fill) = (
                key(Mode::Prompt, Command::Confirm),
                key(Mode::Prompt, Command::Cancel),
                key(Mode::Prompt, Command::Complete),
            );
            let hint = match &plan.confirm {
                Some(name) => {
                    lines.push(Line::default());
                    let style = if typed == name {
                        theme.ok
                    } else {
                        theme.filter()
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!("type {name} to confirm: "), theme.warn),
                        Span::styled(format!("{typed}{TYPE_CURSOR}"), style),
                    ]));
                    format!("type the name ({fill} writes it) · {run} run · {back} cancel")
                }
                None => format!("{run} run · {back} cancel"),
            };
            let wrapped: u16 = lines
                .iter()
                .map(|l| {
                    (l.width() as u16)
                        .div_ceil(width.saturating_sub(4).max(1))
                        .max(1)
                })
                .sum();
            let inner = frame_box(
                frame,
                popup(area, width, wrapped + 3),
                &plan.title,
                &hint,
                theme,
            );
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Dialog::Running { op } => {
            let Some(entry) = app.ops.log.get(*op) else {
                return;
            };
            let (percent, line, style, hint) = match &entry.state {
                EntryState::Running {
                    stage,
                    percent,
                    message,
                } => (
                    *percent,
                    format!("{stage}: {message}"),
                    theme.info,
                    format!("{cancel} cancel safely · {ok} hide"),
                ),
                EntryState::Cancelling => (
                    0.0,
                    "cancelling: undoing what was started…".to_string(),
                    theme.warn,
                    format!("{ok} hide"),
                ),
                EntryState::Finished(o) => {
                    let text = match o {
                        Outcome::Done(m) => format!("done: {m}"),
                        Outcome::Failed(m) => format!("failed: {m}"),
                        Outcome::Cancelled(m) => format!("cancelled: {m}"),
                    };
                    let p = if matches!(o, Outcome::Done(_)) {
                        100.0
                    } else {
                        0.0
                    };
                    (
                        p,
                        text,
                        outcome_style(theme, o),
                        "any key closes".to_string(),
                    )
                }
            };
            let lines = (line.chars().count() as u16)
                .div_ceil(width.saturating_sub(4).max(1))
                .max(1);
            let inner = frame_box(
                frame,
                popup(area, width, lines + 5),
                &entry.title,
                &hint,
                theme,
            );
            let [gauge_area, _, text_area] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(1),
                Constraint::Fill(1),
            ])
            .areas(inner);
            let gauge = Gauge::default()
                .gauge_style(theme.info)
                .percent(percent.clamp(0.0, 100.0) as u16)
                .label(format!("{percent:.0}%"));
            frame.render_widget(gauge, gauge_area);
            frame.render_widget(
                Paragraph::new(Line::from(Span::styled(line, style))).wrap(Wrap { trim: false }),
                text_area,
            );
        }
        Dialog::Refused { title, message } => {
            let lines = (message.chars().count() as u16)
                .div_ceil(width.saturating_sub(4).max(1))
                .max(1);
            let inner = frame_box(
                frame,
                popup(area, width, lines + 2),
                title,
                "any key closes",
                theme,
            );
            frame.render_widget(
                Paragraph::new(Line::from(Span::styled(message.clone(), theme.crit)))
                    .wrap(Wrap { trim: false }),
                inner,
            );
        }
        Dialog::Waiting { title, message } => {
            let inner = frame_box(
                frame,
                popup(area, width, 3),
                title,
                "any key cancels",
                theme,
            );
            frame.render_widget(
                Paragraph::new(Line::from(Span::styled(message.clone(), theme.info))),
                inner,
            );
        }
    }
}

/// Rows the history pane takes out of a body of `height` rows (0 when hidden).
pub fn history_height(app: &App, height: u16) -> u16 {
    if app.panes.history_shown() {
        (height * HISTORY_PERCENT / 100).max(5).min(height)
    } else {
        0
    }
}

/// Widths of the history's fixed columns: time, action, target, duration.
const HISTORY_COLUMNS: [usize; 4] = [14, 9, 26, 8];

/// Draws the action history: newest first, one row per action with its time, action,
/// target, duration and outcome, scrolled by `history_offset`. Returns the rows shown.
pub fn history(frame: &mut Frame, area: Rect, app: &App) -> usize {
    let theme = &app.theme;
    let log = &app.ops.log;
    let inner_rows = usize::from(area.height.saturating_sub(3));
    let first = app
        .panes
        .history
        .offset
        .min(log.len().saturating_sub(inner_rows.max(1)));
    let shown = inner_rows.min(log.len().saturating_sub(first));
    let mut title = format!(" Actions · {} · {} running ", log.len(), log.running());
    if shown > 0 && shown < log.len() {
        title.push_str(&format!(
            "· {}–{} of {} ",
            first + 1,
            first + shown,
            log.len()
        ));
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title(true)))
        .title_bottom(
            Line::from(Span::styled(
                " j/k ↑↓ PgUp/PgDn g/G scroll · Esc/H close ",
                theme.label(),
            ))
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let flagged = intent_lines(app, usize::from(inner.width));
    if log.is_empty() && flagged.is_empty() {
        super::empty(
            frame,
            inner,
            "no actions yet: m migrate · s scale · b backup · d drain …".into(),
            theme,
        );
        return inner_rows;
    }
    let [time_w, action_w, target_w, duration_w] = HISTORY_COLUMNS;
    let width = usize::from(inner.width);
    let head = format!(
        "{:<time_w$} {:<action_w$} {:<target_w$} {:>duration_w$}  OUTCOME",
        "TIME (UTC)", "ACTION", "TARGET", "TOOK"
    );
    let mut lines = flagged;
    lines.push(Line::from(Span::styled(
        format::fit(&head, width),
        theme.header,
    )));
    lines.extend(log.entries().rev().skip(first).take(shown).map(|e| {
        let (state, style) = match &e.state {
            EntryState::Running {
                stage,
                percent,
                message,
            } => (format!("{percent:>3.0}% {stage}: {message}"), theme.info),
            EntryState::Cancelling => ("cancelling…".to_string(), theme.warn),
            EntryState::Finished(o) => {
                let text = match o {
                    Outcome::Done(m) => format!("done: {m}"),
                    Outcome::Failed(m) => format!("FAILED: {m}"),
                    Outcome::Cancelled(m) => format!("cancelled: {m}"),
                };
                (text, outcome_style(theme, o))
            }
        };
        let time = format::utc(e.started_unix_ms);
        let time = time.get(5..).unwrap_or(&time).to_string();
        let took = e
            .elapsed(app.now)
            .map_or_else(|| "-".to_string(), crate::ops::history::duration_text);
        let head = format!(
            "{time:<time_w$} {:<action_w$} {:<target_w$} {took:>duration_w$}  ",
            format::fit(&e.action, action_w),
            format::fit(&e.target, target_w),
        );
        let rest = width.saturating_sub(head.chars().count());
        Line::from(vec![
            Span::styled(head, theme.text),
            Span::styled(format::fit(&state, rest), style),
        ])
    }));
    frame.render_widget(Paragraph::new(lines), inner);
    inner_rows
}

/// Most rows the history gives to other consoles' and interrupted actions.
const INTENT_ROWS: usize = 3;

/// Rows for actions this console does not run that the agents hold: other consoles' in
/// flight, and interrupted ones (the newest with the keys that resume or roll it back).
fn intent_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let me = std::process::id();
    let mut first_interrupted = true;
    app.ops
        .intents
        .iter()
        .filter(|i| i.is_interrupted() || (i.is_live() && i.owner_pid != me))
        .take(INTENT_ROWS)
        .map(|i| {
            let since = fleetdeck_core::intent::clock(i.started_unix_ms);
            let id = fleetdeck_core::intent::short_id(&i.id);
            let (text, style) = if i.is_interrupted() {
                let keys = if std::mem::take(&mut first_interrupted) {
                    " · Enter resume · X roll back"
                } else {
                    ""
                };
                (
                    format!(
                        "INTERRUPTED {}: {} at step {}/{} (by {}, action {id}){keys}",
                        i.action, i.title, i.step, i.steps, i.owner
                    ),
                    theme.warn,
                )
            } else {
                (
                    format!(
                        "IN FLIGHT   {}: {} by {} since {since} (action {id})",
                        i.action, i.title, i.owner
                    ),
                    theme.info,
                )
            };
            Line::from(Span::styled(format::fit(&text, width), style))
        })
        .collect()
}
