//! The status line (key hints, the filter prompt, messages) and the help overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Row, Table};

use super::format;
use crate::app::{App, Focus, Input};
use crate::keys::Command;

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

/// Cursor shown at the end of the filter being typed.
const FILTER_CURSOR: &str = "▏";

/// Draws the bottom line.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let message = app
        .status_message()
        .map(|m| Line::from(Span::styled(format!("{m} "), theme.info)));
    let message_width = message.as_ref().map_or(0, Line::width) as u16;
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(message_width.min(area.width / 2)),
    ])
    .areas(area);
    let line = if app.input == Input::Filter {
        let (filter, table) = match app.focus {
            Focus::Nodes | Focus::Alerts => (&app.nodes.filter, "nodes"),
            Focus::Containers => (&app.containers.filter, "containers"),
        };
        Line::from(vec![
            Span::styled(" /", theme.filter()),
            Span::styled(filter.clone(), theme.filter()),
            Span::styled(FILTER_CURSOR, theme.filter()),
            Span::styled(format!("  filtering {table} · "), theme.label()),
            Span::styled("Enter", theme.key_hint),
            Span::styled(" keep  ", theme.label()),
            Span::styled("Esc", theme.key_hint),
            Span::styled(" clear", theme.label()),
        ])
    } else {
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1;
        for (command, label) in HINTS {
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

/// Draws the help overlay in the middle of `area`.
pub fn help(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let rows: Vec<(String, &str)> = Command::ALL
        .iter()
        .filter(|c| !c.is_action())
        .map(|c| {
            let keys: Vec<String> = app.keymap.keys_for(*c).iter().map(format::key).collect();
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.join(", ")
            };
            (keys, c.describe())
        })
        .collect();
    let keys_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let text_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let width = (keys_width + text_width + 7).min(usize::from(area.width)) as u16;
    let actions = action_lines(app, width.saturating_sub(4));
    let height = (rows.len() + 4 + actions.len()).min(usize::from(area.height)) as u16;
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border(true))
        .title(Span::styled(" Help — keys ", theme.title(true)))
        .title_bottom(Line::from(Span::styled(" any key closes ", theme.label())).centered());
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let keys_width = u16::try_from(keys_width).unwrap_or(u16::MAX);
    let table = Table::new(
        rows.into_iter().map(|(keys, text)| {
            Row::new(vec![
                Span::styled(keys, theme.key_hint),
                Span::styled(text, theme.text),
            ])
        }),
        [Constraint::Length(keys_width), Constraint::Fill(1)],
    )
    .column_spacing(2);
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
    frame.render_widget(table, table_area);
    frame.render_widget(Paragraph::new(actions), actions_area);
}

/// Action keys, compactly: `actions: m migrate · s scale · …`, wrapped at `width`.
fn action_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = Vec::new();
    let mut spans = vec![Span::styled("actions:", theme.label())];
    let mut used = 8;
    for c in Command::ALL.iter().filter(|c| c.is_action()) {
        let key = format::key_text(&app.keymap.hint(*c));
        if key.is_empty() {
            continue;
        }
        let len = key.chars().count() + c.describe().len() + 2;
        if used + len > usize::from(width) {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, theme.key_hint));
        spans.push(Span::styled(format!(" {}", c.describe()), theme.text));
        used += len;
    }
    lines.push(Line::from(spans));
    lines
}
