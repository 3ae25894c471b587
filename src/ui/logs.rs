//! The live log view: one container's lines, newest at the bottom, search matches
//! highlighted. Only the rows on screen are laid out, and each row at most a screenful of
//! its text, so a 10,000-row ring or a megabyte-long line costs no more than a short one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use super::{format, pane};
use crate::app::App;
use crate::keys::{Command, KeyMap, Mode};
use crate::logs::{LogRow, LogStatus, LogView, match_ranges};
use crate::theme::Theme;

/// Width of the time column, `HH:MM:SS `.
const TIME_COLUMNS: usize = 9;

/// Draws the log view in `area` and its keys or search prompt on the status line;
/// returns how many rows of log it has room for.
pub fn draw(frame: &mut Frame, area: Rect, status_area: Rect, app: &App) -> usize {
    let theme = &app.theme;
    let Some(view) = app.panes.log_view() else {
        return 0;
    };
    let text_area = pane(frame, area, title(view, theme), true, theme);
    let height = usize::from(text_area.height);
    let lines = visible_lines(view, theme, usize::from(text_area.width), height);
    frame.render_widget(Paragraph::new(lines), text_area);
    let message = app
        .status_message()
        .map(|m| Line::from(Span::styled(format!("{m} "), theme.info)));
    let message_width = message.as_ref().map_or(0, Line::width) as u16;
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(message_width.min(status_area.width / 2)),
    ])
    .areas(status_area);
    frame.render_widget(Paragraph::new(footer(view, theme, &app.keymap)), left);
    if let Some(message) = message {
        frame.render_widget(Paragraph::new(message.right_aligned()), right);
    }
    height
}

fn title(view: &LogView, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(" Logs {} / {} ", view.node, view.container),
        theme.title(true),
    )];
    let sep = || Span::styled("· ", theme.dim);
    match &view.status {
        LogStatus::Connecting => spans.push(Span::styled("connecting… ", theme.stale)),
        LogStatus::Streaming if view.follow => {
            spans.push(Span::styled("following ", theme.ok));
        }
        LogStatus::Streaming => spans.push(Span::styled("paused ", theme.warn)),
        LogStatus::Ended(why) => spans.push(Span::styled(format!("ended: {why} "), theme.crit)),
    }
    spans.push(sep());
    spans.push(Span::styled(
        format!("{}/{} lines ", view.rows().len(), view.max_rows()),
        theme.label(),
    ));
    if view.evicted > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("{} older dropped ", view.evicted),
            theme.label(),
        ));
    }
    if view.wrap {
        spans.push(sep());
        spans.push(Span::styled("wrap ", theme.label()));
    }
    Line::from(spans)
}

/// The log view's keys, or the search prompt with its keys, as the keymap binds them.
fn footer(view: &LogView, theme: &Theme, keymap: &KeyMap) -> Line<'static> {
    if view.searching {
        let find = format::mode_key(keymap, Mode::Prompt, Command::Confirm);
        let cancel = format::mode_key(keymap, Mode::Prompt, Command::Cancel);
        return Line::from(vec![
            Span::styled(format!(" /{}", view.search), theme.filter()),
            Span::styled("█", theme.filter()),
            Span::styled(format!("  {find} find · {cancel} cancel"), theme.dim),
        ]);
    }
    let mut spans = vec![Span::raw(" ")];
    if !view.search.is_empty() {
        spans.push(Span::styled(format!("/{}  ", view.search), theme.filter()));
    }
    let key = |command, usual| format::mode_key_or(keymap, Mode::Log, command, usual);
    let pair = |commands, usual_keys, usual| {
        format::mode_pair(keymap, Mode::Log, commands, usual_keys, usual)
    };
    let hints = [
        (
            pair((Command::Down, Command::Up), ("j", "k"), "j/k"),
            "scroll",
        ),
        (key(Command::Search, "/"), "search"),
        (
            pair((Command::NextMatch, Command::PrevMatch), ("n", "N"), "n/N"),
            "next/prev",
        ),
        (
            key(Command::Follow, "F"),
            if view.follow { "pause" } else { "follow" },
        ),
        (key(Command::Wrap, "w"), "wrap"),
        (key(Command::Times, "t"), "time"),
        (key(Command::Cancel, "<Esc>"), "close"),
    ];
    for (i, (key, what)) in hints.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("   ", theme.dim));
        }
        spans.push(Span::styled(key, theme.key_hint));
        spans.push(Span::styled(format!(" {what}"), theme.dim));
    }
    Line::from(spans)
}

/// The screen lines for the rows ending at the view's bottom row, oldest first.
fn visible_lines(view: &LogView, theme: &Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let Some(bottom) = view.bottom_index() else {
        let message = match &view.status {
            LogStatus::Connecting => "waiting for the first lines…",
            _ => "no lines",
        };
        return vec![Line::styled(message, theme.dim)];
    };
    let mut out: Vec<Line<'static>> = Vec::with_capacity(height);
    // Walk up from the bottom row until the screen is full; each row's lines in order.
    let mut i = bottom + 1;
    while out.len() < height && i > 0 {
        i -= 1;
        let Some(row) = view.rows().get(i) else {
            break;
        };
        let mut lines = row_lines(view, i, row, theme, width, height);
        lines.append(&mut out);
        out = lines;
    }
    // A wrapped row taller than what is left loses its top, never the bottom row.
    let excess = out.len().saturating_sub(height);
    out.drain(..excess);
    out
}

fn row_lines(
    view: &LogView,
    index: usize,
    row: &LogRow,
    theme: &Theme,
    width: usize,
    height: usize,
) -> Vec<Line<'static>> {
    let (time_unix_ms, stderr, text) = match row {
        LogRow::Skipped(n) => {
            let text =
                format!("⋯ {n} lines skipped: they came faster than the console could take them ⋯");
            return vec![Line::styled(text, theme.warn)];
        }
        LogRow::Line {
            time_unix_ms,
            stderr,
            text,
        } => (*time_unix_ms, *stderr, text.as_str()),
    };
    let prefix = if view.times {
        Some(Span::styled(clock(time_unix_ms), theme.dim))
    } else {
        None
    };
    let indent = if view.times { TIME_COLUMNS } else { 0 };
    let room = width.saturating_sub(indent).max(1);
    // At most a screenful of the text is ever laid out.
    let budget = if view.wrap {
        room.saturating_mul(height)
    } else {
        room
    };
    let text = cut_chars(text, budget);
    let base = theme.log_line(stderr);
    let current = view.current_match == Some(index);
    let mut segments: Vec<(String, Style)> = Vec::new();
    let mut at = 0;
    for range in match_ranges(text, &view.search) {
        if range.start > at {
            segments.push((clean(&text[at..range.start]), base));
        }
        segments.push((clean(&text[range.clone()]), theme.search_match(current)));
        at = range.end;
    }
    if at < text.len() || segments.is_empty() {
        segments.push((clean(&text[at..]), base));
    }
    if !view.wrap {
        let mut spans: Vec<Span<'static>> = prefix.into_iter().collect();
        spans.extend(segments.into_iter().map(|(t, s)| Span::styled(t, s)));
        return vec![Line::from(spans)];
    }
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = prefix.into_iter().collect();
    let mut used = 0;
    for (segment, style) in segments {
        let mut piece = String::new();
        for c in segment.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > room && used > 0 {
                if !piece.is_empty() {
                    spans.push(Span::styled(std::mem::take(&mut piece), style));
                }
                lines.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw(" ".repeat(indent)));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            spans.push(Span::styled(piece, style));
        }
    }
    lines.push(Line::from(spans));
    lines
}

/// `HH:MM:SS ` in UTC, or dashes when the agent gave no time.
fn clock(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "--:--:-- ".to_string(),
            |t| t.format("%H:%M:%S ").to_string(),
        )
}

/// The first `chars` characters of `text`.
fn cut_chars(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Tabs and control characters would move the terminal's cursor: draw them as spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogEvent;

    fn view(rows: &[&str]) -> LogView {
        let mut v = LogView::new("n", "c", 100);
        v.times = false;
        v.apply(LogEvent::Rows(
            rows.iter()
                .map(|t| LogRow::Line {
                    time_unix_ms: 0,
                    stderr: false,
                    text: (*t).into(),
                })
                .collect(),
        ));
        v
    }

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn only_the_rows_on_screen_are_laid_out_bottom_first() {
        let v = view(&["a", "b", "c", "d"]);
        let lines = visible_lines(&v, &Theme::default(), 20, 2);
        assert_eq!(text(&lines), ["c", "d"]);
    }

    #[test]
    fn wrapping_keeps_the_bottom_row_whole() {
        let mut v = view(&["first", "0123456789abcdef"]);
        v.wrap = true;
        let lines = visible_lines(&v, &Theme::default(), 6, 3);
        assert_eq!(text(&lines), ["012345", "6789ab", "cdef"]);
        let lines = visible_lines(&v, &Theme::default(), 6, 4);
        assert_eq!(text(&lines), ["first", "012345", "6789ab", "cdef"]);
    }

    #[test]
    fn a_huge_line_is_cut_to_the_screen() {
        let long = "x".repeat(1_000_000);
        let v = view(&[long.as_str()]);
        let lines = visible_lines(&v, &Theme::default(), 50, 10);
        assert_eq!(lines[0].width(), 50);
    }
}
