//! Drawing the console on a TestBackend as the run loop does, and reading the screen back.

#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{Action, App};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

/// Draws like the run loop (its own `tui::draw`), twice so fed-back viewports settle.
pub fn render(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    for _ in 0..2 {
        fleetdeck::tui::draw(&mut terminal, app).expect("draw");
    }
    terminal.backend().buffer().clone()
}

/// Presses one key with no modifiers.
pub fn press(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Types text key by key.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// The buffer's rows as text, trailing blanks trimmed.
pub fn lines(buf: &Buffer) -> Vec<String> {
    let width = usize::from(buf.area.width);
    buf.content()
        .chunks(width)
        .map(|row| {
            let line: String = row.iter().map(|c| c.symbol()).collect();
            line.trim_end().to_string()
        })
        .collect()
}

/// The whole screen as text, one row per line.
pub fn text(buf: &Buffer) -> String {
    lines(buf).join("\n")
}

/// Position of the first cell where `needle` starts, on a line that also holds `on_line`.
pub fn find(buf: &Buffer, needle: &str, on_line: &str) -> (u16, u16) {
    for (y, line) in lines(buf).iter().enumerate() {
        if let (Some(at), true) = (line.find(needle), line.contains(on_line)) {
            return (line[..at].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on a line with {on_line:?}:\n{}", text(buf));
}

/// Style of the first cell of `needle` on screen.
pub fn style_of(buf: &Buffer, needle: &str) -> Style {
    let (x, y) = find(buf, needle, "");
    buf[(x, y)].style()
}

/// The large figure of the wall's tile labelled `label`, read back from the screen's text
/// (rows below the labels down to the next border); a total whose label says what it is out
/// of ("NODES UP of 40") reads whole, "39/40".
pub fn wall_figure(screen: &str, label: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    // Every tile's label is on one line, the first to name the nodes up.
    let y = lines.iter().position(|l| l.contains("NODES UP"))?;
    let line = lines[y];
    let at = line.find(label)?;
    let column = line[..at].chars().count() + label.chars().count() / 2;
    let rows: Vec<&str> = lines[y + 1..]
        .iter()
        .take_while(|l| !l.contains('─'))
        .copied()
        .collect();
    let figure = fleetdeck::ui::big_digits::read_back(&rows, column)?;
    match line[at + label.len()..].strip_prefix(" of ") {
        Some(of) => Some(format!("{figure}/{}", of.split_whitespace().next()?)),
        None => Some(figure),
    }
}
