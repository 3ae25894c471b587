//! Reading a rendered TestBackend buffer as text, for snapshots and cell lookups.

#![allow(dead_code)]

use ratatui::buffer::Buffer;
use ratatui::style::Style;

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
