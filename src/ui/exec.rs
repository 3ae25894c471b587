//! The exec pane: a title bar (where, what, the session's state and the keys that are not
//! the shell's) over the remote terminal as the VT parser holds it, cell by cell with its
//! colours and attributes, and the remote cursor.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use crate::app::{App, EXEC_TITLE_ROWS, ExecStatus, ExecView};
use crate::keys::{Command, Mode};

/// Draws the exec pane over the whole of `area`.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(view) = app.panes.exec_view() else {
        return;
    };
    let [bar, term] =
        Layout::vertical([Constraint::Length(EXEC_TITLE_ROWS), Constraint::Fill(1)]).areas(area);
    draw_bar(frame, bar, app, view);
    draw_screen(frame.buffer_mut(), term, view.screen());
    if let Some(end) = ended(view, app) {
        let last = Rect {
            y: term.bottom().saturating_sub(1),
            height: term.height.min(1),
            ..term
        };
        frame.render_widget(Paragraph::new(end), last);
    }
    let screen = view.screen();
    if view.is_live() && view.scrolled_back() == 0 && !screen.hide_cursor() {
        let (row, col) = screen.cursor_position();
        if row < term.height && col < term.width {
            frame.set_cursor_position(Position::new(term.x + col, term.y + row));
        }
    }
}

fn draw_bar(frame: &mut Frame, area: Rect, app: &App, view: &ExecView) {
    let theme = &app.theme;
    let sep = || Span::styled(" · ", theme.dim);
    let mut left = vec![
        Span::styled(
            format!(" Shell {} / {} ", view.target.node, view.target.container),
            theme.title(true),
        ),
        Span::styled("· ", theme.dim),
        Span::styled(view.command.clone(), theme.text),
        sep(),
    ];
    left.push(match &view.status {
        ExecStatus::Connecting => Span::styled("connecting…", theme.stale),
        ExecStatus::Running => Span::styled("running", theme.ok),
        ExecStatus::Exited(0) => Span::styled("exited with code 0", theme.info),
        ExecStatus::Exited(code) => Span::styled(format!("exited with code {code}"), theme.warn),
        ExecStatus::Failed(why) => Span::styled(format!("failed: {why}"), theme.crit),
    });
    if view.scrolled_back() > 0 {
        left.push(sep());
        left.push(Span::styled(
            format!("{} rows back", view.scrolled_back()),
            theme.warn,
        ));
    }
    let key = |command| format::mode_key(&app.keymap, Mode::Exec, command);
    let right = if !view.is_live() {
        Vec::new()
    } else if let Some(message) = app.status_message() {
        vec![Span::styled(format!("{message} "), theme.info)]
    } else {
        vec![
            Span::styled(key(Command::Detach), theme.key_hint),
            Span::styled(" detach  ", theme.label()),
            Span::styled(key(Command::PageUp), theme.key_hint),
            Span::styled(" scroll back ", theme.label()),
        ]
    };
    let left = Line::from(left);
    let right = Line::from(right);
    // Where the session is and how it stands come first; the hints get what is left.
    let room = usize::from(area.width).saturating_sub(left.width());
    let right_width = u16::try_from(right.width().min(room)).unwrap_or(0);
    let [l, r] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right.right_aligned()), r);
}

/// The line across the bottom of an ended session: how it ended, and that any key returns.
fn ended(view: &ExecView, app: &App) -> Option<Line<'static>> {
    let theme = &app.theme;
    let (text, style) = match &view.status {
        ExecStatus::Connecting | ExecStatus::Running => return None,
        ExecStatus::Exited(0) => ("exited with code 0".to_string(), theme.info),
        ExecStatus::Exited(code) => (format!("exited with code {code}"), theme.warn),
        ExecStatus::Failed(why) => (format!("failed: {why}"), theme.crit),
    };
    Some(Line::from(vec![
        Span::styled(format!(" {text} "), style.add_modifier(Modifier::REVERSED)),
        Span::styled(" any key returns to the console", theme.key_hint),
    ]))
}

/// Copies the parser's screen into `area`, cell by cell; the screen is the pane's size, so
/// nothing is laid out twice and nothing off screen is touched.
fn draw_screen(buf: &mut Buffer, area: Rect, screen: &vt100::Screen) {
    for row in 0..area.height {
        for col in 0..area.width {
            let Some(cell) = screen.cell(row, col) else {
                continue;
            };
            // The right half of a wide character: the left half covers it.
            if cell.is_wide_continuation() {
                continue;
            }
            let Some(out) = buf.cell_mut(Position::new(area.x + col, area.y + row)) else {
                continue;
            };
            let text = cell.contents();
            out.set_symbol(if text.is_empty() { " " } else { text });
            out.set_style(style(cell));
        }
    }
}

/// A cell's colours and attributes as ratatui's.
fn style(cell: &vt100::Cell) -> Style {
    let mut style = Style::default()
        .fg(colour(cell.fgcolor()))
        .bg(colour(cell.bgcolor()));
    for (on, modifier) in [
        (cell.bold(), Modifier::BOLD),
        (cell.dim(), Modifier::DIM),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ] {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

fn colour(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}
