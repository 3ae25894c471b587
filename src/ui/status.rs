//! The status line (key hints, the filter prompt, messages) and the help overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Row, Table};

use super::format;
use crate::app::{App, Focus};
use crate::keys::{Command, KeyMap, Mode};
use crate::theme::Theme;

/// The hints the status line offers, most useful first (narrow terminals keep the first).
const HINTS: [(Command, &str); 7] = [
    (Command::Help, "help"),
    (Command::Filter, "filter"),
    (Command::SortNext, "sort"),
    (Command::FocusNext, "pane"),
    (Command::ToggleScope, "scope"),
    (Command::ToggleDetail, "detail"),
    (Command::Quit, "quit"),
];

/// The hints while the alert pane or view has the keys: what can be done to an alert.
const ALERT_HINTS: [(Command, &str); 9] = [
    (Command::Acknowledge, "ack"),
    (Command::Silence, "silence"),
    (Command::Open, "jump"),
    (Command::Propose, "action"),
    (Command::ExportTimeline, "export"),
    (Command::Alerts, "view"),
    (Command::Palette, "palette"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];
/// Rows around the help list: borders and a blank line above it.
const HELP_CHROME_ROWS: usize = 4;
/// Width from which help too tall for one column is laid out in two instead of scrolling.
pub const HELP_TWO_COLUMNS_MIN_WIDTH: u16 = 140;

/// Cursor shown at the end of the filter being typed.
const FILTER_CURSOR: &str = "▏";

/// Draws the bottom line.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    // Other consoles' actions in flight (etcd) show while no message of this one does.
    let message = app
        .status_message()
        .map(str::to_string)
        .or_else(|| app.ops.elsewhere_line())
        .map(|m| Line::from(Span::styled(format!("{m} "), theme.info)));
    let message_width = message.as_ref().map_or(0, Line::width) as u16;
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(message_width.min(area.width / 2)),
    ])
    .areas(area);
    let line = if app.panes.filtering() {
        let (filter, table) = match app.panes.tables.focus {
            Focus::Nodes | Focus::Alerts => (&app.panes.tables.nodes.filter, "nodes"),
            Focus::Containers => (&app.panes.tables.containers.filter, "containers"),
        };
        Line::from(vec![
            Span::styled(" /", theme.filter()),
            Span::styled(filter.clone(), theme.filter()),
            Span::styled(FILTER_CURSOR, theme.filter()),
            Span::styled(format!("  filtering {table} · "), theme.label()),
            Span::styled(
                format::mode_key(&app.keymap, Mode::Prompt, Command::Confirm),
                theme.key_hint,
            ),
            Span::styled(" keep  ", theme.label()),
            Span::styled(
                format::mode_key(&app.keymap, Mode::Prompt, Command::Cancel),
                theme.key_hint,
            ),
            Span::styled(" clear", theme.label()),
        ])
    } else {
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1;
        let hints: &[(Command, &str)] = if app.alerts_have_keys() {
            &ALERT_HINTS
        } else {
            &HINTS
        };
        for &(command, label) in hints {
            let key = format::key_text(&app.keymap.hint(command));
            if key.is_empty() {
                continue;
            }
            let width = key.chars().count() + label.len() + 3;
            if used + width > usize::from(left.width) {
                break;
            }
            used += width;
            spans.push(Span::styled(key, theme.key_hint));
            spans.push(Span::styled(format!(" {label}   "), theme.label()));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), left);
    if let Some(message) = message {
        frame.render_widget(Paragraph::new(message.right_aligned()), right);
    }
}

/// How the help overlay is laid out on a terminal of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpGeometry {
    /// 1 or 2 columns of command rows.
    pub columns: usize,
    /// Command rows shown per column.
    pub rows: usize,
    /// Command rows in all.
    pub total: usize,
    /// Popup size.
    pub width: u16,
    pub height: u16,
    /// Lines of the compact action and mode key lists under the table.
    pub action_lines: usize,
}

impl HelpGeometry {
    /// True when some command rows are off screen (j/k scroll them).
    pub fn scrolls(&self) -> bool {
        self.columns * self.rows < self.total
    }

    /// Largest useful scroll offset.
    pub fn max_offset(&self) -> usize {
        if self.scrolls() {
            self.total.saturating_sub(self.rows)
        } else {
            0
        }
    }
}

fn help_rows(keymap: &KeyMap) -> Vec<(String, &'static str)> {
    Command::ALL
        .iter()
        .filter(|c| !c.is_action())
        .map(|c| {
            let keys: Vec<String> = keymap.keys_for(*c).iter().map(format::key).collect();
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.join(", ")
            };
            (keys, c.describe())
        })
        .collect()
}

/// The help layout for a `width` x `height` terminal: all rows in one column when they
/// fit, else two columns on a wide terminal, else one scrolling column. Pure, so `update`
/// uses it to know when j/k scroll.
pub fn help_geometry(keymap: &KeyMap, width: u16, height: u16) -> HelpGeometry {
    let rows = help_rows(keymap);
    let total = rows.len();
    let keys_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let text_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let one = (keys_width + text_width + 7).min(usize::from(width)) as u16;
    let lines_at = |w: u16| action_lines(keymap, &Theme::default(), w.saturating_sub(4)).len();
    let fit = |columns: usize, rows: usize, w: u16| {
        let action_lines = lines_at(w);
        HelpGeometry {
            columns,
            rows,
            total,
            width: w,
            height: (rows + HELP_CHROME_ROWS + action_lines).min(usize::from(height)) as u16,
            action_lines,
        }
    };
    let h = usize::from(height);
    let single = fit(1, total, one);
    if height == 0 || total + HELP_CHROME_ROWS + single.action_lines <= h {
        return single;
    }
    if width >= HELP_TWO_COLUMNS_MIN_WIDTH {
        let two = fit(2, total.div_ceil(2), one.saturating_mul(2).min(width));
        if two.rows + HELP_CHROME_ROWS + two.action_lines <= h {
            return two;
        }
    }
    let visible = h
        .saturating_sub(HELP_CHROME_ROWS + single.action_lines)
        .max(1);
    fit(1, visible, one)
}

/// Draws the help overlay in the middle of `area`.
pub fn help(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let rows = help_rows(&app.keymap);
    let g = help_geometry(&app.keymap, area.width, area.height);
    let keys_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let offset = app.panes.help_offset().unwrap_or(0).min(g.max_offset());
    let (width, height) = (g.width, g.height);
    let actions = action_lines(&app.keymap, theme, width.saturating_sub(4));
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(" Help — keys ", theme.title(true)));
    let block = if g.scrolls() {
        let (first, last) = (offset + 1, offset + g.rows);
        block
            .title(
                Line::from(Span::styled(
                    format!(" {first}-{last} of {} ", g.total),
                    theme.label(),
                ))
                .right_aligned(),
            )
            .title_bottom(
                Line::from(Span::styled(
                    " j/k scroll · any other key closes ",
                    theme.label(),
                ))
                .centered(),
            )
    } else {
        block.title_bottom(Line::from(Span::styled(" any key closes ", theme.label())).centered())
    };
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let inner = Rect {
        x: inner.x + 1,
        y: inner.y + 1,
        width: inner.width.saturating_sub(2),
        height: inner.height.saturating_sub(1),
    };
    let [table_area, actions_area] = Layout::vertical([
        Constraint::Length(inner.height.saturating_sub(actions.len() as u16)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let columns = Layout::horizontal(vec![Constraint::Fill(1); g.columns])
        .spacing(2)
        .split(table_area);
    let keys_width = u16::try_from(keys_width).unwrap_or(u16::MAX);
    let mut shown = rows.into_iter().skip(offset);
    for column in columns.iter() {
        let table = Table::new(
            shown.by_ref().take(g.rows).map(|(keys, text)| {
                Row::new(vec![
                    Span::styled(keys, theme.key_hint),
                    Span::styled(text, theme.text),
                ])
            }),
            [Constraint::Length(keys_width), Constraint::Fill(1)],
        )
        .column_spacing(2);
        frame.render_widget(table, *column);
    }
    frame.render_widget(Paragraph::new(actions), actions_area);
}

/// Action keys, compactly: `actions: m migrate · s scale · …`, then the keys of the dialog,
/// prompt and log modes the same way (`dialog: Enter confirm · Esc cancel · …`, named as in
/// the config file), each wrapped at `width`.
fn action_lines(keymap: &KeyMap, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let actions = Command::ALL
        .iter()
        .filter(|c| c.is_action())
        .map(|c| (keymap.hint(*c), c.describe()));
    let mut lines = compact_lines("actions:", actions, theme, width);
    for mode in [Mode::Dialog, Mode::Prompt, Mode::Log] {
        let keys = mode
            .commands()
            .into_iter()
            .map(|c| (keymap.hint_in(mode, c), c.name()))
            .collect::<Vec<_>>();
        lines.extend(compact_lines(
            &format!("{}:", mode.name()),
            keys.into_iter(),
            theme,
            width,
        ));
    }
    lines
}

/// `label key what key what …` wrapped at `width`; unbound keys (empty) are left out.
fn compact_lines(
    label: &str,
    keys: impl Iterator<Item = (String, &'static str)>,
    theme: &Theme,
    width: u16,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut spans = vec![Span::styled(label.to_string(), theme.label())];
    let mut used = label.chars().count();
    for (hint, what) in keys {
        let key = format::key_text(&hint);
        if key.is_empty() {
            continue;
        }
        let len = key.chars().count() + what.len() + 2;
        if used + len > usize::from(width) {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, theme.key_hint));
        spans.push(Span::styled(format!(" {what}"), theme.text));
        used += len;
    }
    lines.push(Line::from(spans));
    lines
}
