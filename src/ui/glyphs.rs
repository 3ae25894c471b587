//! Characters the console draws with, in a Unicode set and an ASCII set for plain
//! consoles and SSH clients that mangle anything else (`--ascii`).

use ratatui::symbols::border;
use ratatui::widgets::{Block, BorderType};

use crate::theme::HEAT_LEVELS;

/// One set of glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    /// Heat scale, idle to hot.
    pub ramp: [char; HEAT_LEVELS],
    /// A heatmap cell with no sample.
    pub no_data: char,
    /// Marker of a folded group.
    pub folded: &'static str,
    /// Marker of an open group.
    pub open: &'static str,
    /// Times sign in "(x8)".
    pub times: &'static str,
    /// Separator between header fields.
    pub bar: &'static str,
    /// Separator in lists.
    pub dot: &'static str,
    /// Sort markers: ascending, descending.
    pub sort: [char; 2],
    ascii: bool,
}

/// Box drawing, shading blocks and triangles.
pub const UNICODE: Glyphs = Glyphs {
    ramp: [' ', '░', '▒', '▓', '█'],
    no_data: '·',
    folded: "▸",
    open: "▾",
    times: "×",
    bar: "│",
    dot: "·",
    sort: ['▲', '▼'],
    ascii: false,
};

/// Printable ASCII only.
pub const ASCII: Glyphs = Glyphs {
    ramp: [' ', '.', ':', '*', '#'],
    no_data: '-',
    folded: "+",
    open: "-",
    times: "x",
    bar: "|",
    dot: "-",
    sort: ['^', 'v'],
    ascii: true,
};

/// Borders made of `+ - |`.
const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// The glyph set for this console.
pub fn of(ascii: bool) -> &'static Glyphs {
    if ascii { &ASCII } else { &UNICODE }
}

impl Glyphs {
    /// A bordered block in this set's style.
    pub fn block(&self) -> Block<'static> {
        if self.ascii {
            Block::bordered().border_set(ASCII_BORDER)
        } else {
            Block::bordered().border_type(BorderType::Rounded)
        }
    }

    /// The ramp character for a heat level.
    pub fn heat(&self, level: usize) -> char {
        self.ramp[level.min(HEAT_LEVELS - 1)]
    }
}

/// Replaces every non-ASCII symbol in the frame with an ASCII stand-in, so `--ascii` holds
/// for every view, including ones that draw box lines, arrows or bars of their own.
pub fn asciify(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        let symbol = cell.symbol();
        if symbol.is_ascii() {
            continue;
        }
        cell.set_symbol(ascii_for(symbol.chars().next().unwrap_or(' ')));
    }
}

/// The ASCII stand-in for a character the console draws; `?` for one it does not know.
fn ascii_for(c: char) -> &'static str {
    match c {
        '─' | '━' | '═' | '╌' | '—' | '–' => "-",
        '│' | '┃' | '║' | '╎' | '▏' | '▕' => "|",
        '╭' | '╮' | '╰' | '╯' | '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' => {
            "+"
        }
        '▲' | '▴' => "^",
        '▼' | '▾' => "v",
        '▸' | '►' | '→' => ">",
        '◂' | '◄' | '←' => "<",
        '…' => "~",
        '·' | '•' => ".",
        '●' => "*",
        '×' => "x",
        '░' | '▁' | '▂' => ".",
        '▒' | '▃' | '▄' => ":",
        '▓' | '▅' | '▆' => "*",
        '▀' => "\"",
        '█' | '▇' => "#",
        c if c.is_whitespace() => " ",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_the_widgets_draw_has_a_real_ascii_stand_in() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("alerts.rs"),
            include_str!("big_digits.rs"),
            include_str!("columns.rs"),
            include_str!("containers.rs"),
            include_str!("detail.rs"),
            include_str!("format.rs"),
            include_str!("header.rs"),
            include_str!("heatmap.rs"),
            include_str!("log.rs"),
            include_str!("nodes.rs"),
            include_str!("status.rs"),
            include_str!("wall.rs"),
            include_str!("wall_tiles.rs"),
        ];
        for c in sources
            .iter()
            .flat_map(|s| s.chars())
            .filter(|c| !c.is_ascii())
        {
            assert_ne!(ascii_for(c), "?", "no ASCII stand-in for {c:?}");
        }
    }
}
