//! Figures in large glyphs for the wall screen, readable across a room: a 3x5 pixel font of
//! digits and the few signs the wall's totals use, drawn with half blocks so a pixel is
//! square on a terminal's tall cells, at any whole scale. Under `--ascii` the smallest
//! scale is drawn as seven-segment figures of `_ | /` and the larger ones with `#`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

/// Pixel rows of a glyph.
const PIXEL_ROWS: u16 = 5;

/// One glyph: its pixel rows (bit 2 is the leftmost column) and width in pixels.
struct Glyph {
    rows: [u8; PIXEL_ROWS as usize],
    width: u16,
    /// The glyph at scale 1 in printable ASCII, three rows of `width` characters.
    ascii: [&'static str; 3],
}

const fn glyph(rows: [u8; 5], ascii: [&'static str; 3]) -> Glyph {
    Glyph {
        rows,
        width: 3,
        ascii,
    }
}

/// The glyph for `c`, `None` for a character the font does not have.
fn glyph_of(c: char) -> Option<Glyph> {
    Some(match c {
        '0' => glyph([0b111, 0b101, 0b101, 0b101, 0b111], [" _ ", "| |", "|_|"]),
        '1' => glyph([0b010, 0b110, 0b010, 0b010, 0b111], ["   ", "  |", "  |"]),
        '2' => glyph([0b111, 0b001, 0b111, 0b100, 0b111], [" _ ", " _|", "|_ "]),
        '3' => glyph([0b111, 0b001, 0b111, 0b001, 0b111], [" _ ", " _|", " _|"]),
        '4' => glyph([0b101, 0b101, 0b111, 0b001, 0b001], ["   ", "|_|", "  |"]),
        '5' => glyph([0b111, 0b100, 0b111, 0b001, 0b111], [" _ ", "|_ ", " _|"]),
        '6' => glyph([0b111, 0b100, 0b111, 0b101, 0b111], [" _ ", "|_ ", "|_|"]),
        '7' => glyph([0b111, 0b001, 0b001, 0b001, 0b001], [" _ ", "  |", "  |"]),
        '8' => glyph([0b111, 0b101, 0b111, 0b101, 0b111], [" _ ", "|_|", "|_|"]),
        '9' => glyph([0b111, 0b101, 0b111, 0b001, 0b111], [" _ ", "|_|", " _|"]),
        '/' => glyph([0b001, 0b001, 0b010, 0b100, 0b100], ["   ", "  /", " / "]),
        '%' => glyph([0b101, 0b001, 0b010, 0b100, 0b101], ["   ", "o/ ", "/o "]),
        '-' => glyph([0b000, 0b000, 0b111, 0b000, 0b000], ["   ", "---", "   "]),
        ':' => Glyph {
            rows: [0b0, 0b1, 0b0, 0b1, 0b0],
            width: 1,
            ascii: [" ", ".", "."],
        },
        _ => return None,
    })
}

/// True when every character of `text` has a large glyph.
pub fn supports(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| glyph_of(c).is_some())
}

/// Columns `text` takes at `scale` (a pixel's width and the gap between glyphs).
pub fn width(text: &str, scale: u16) -> u16 {
    let glyphs: u16 = text
        .chars()
        .filter_map(glyph_of)
        .map(|g| g.width * scale)
        .sum();
    let gaps = (text.chars().count() as u16).saturating_sub(1) * scale;
    glyphs + gaps
}

/// Rows a glyph takes at `scale`: a pixel is `scale` half rows tall.
pub fn height(scale: u16) -> u16 {
    (PIXEL_ROWS * scale).div_ceil(2)
}

/// A figure in large glyphs, drawn from the top left of its area and clipped to it.
#[derive(Debug, Clone, Copy)]
pub struct BigDigits<'a> {
    text: &'a str,
    scale: u16,
    ascii: bool,
    style: Style,
}

impl<'a> BigDigits<'a> {
    /// `text` at `scale` (1: three rows, 2: five rows, ...); characters without a glyph are
    /// skipped, so check [`supports`] first.
    pub fn new(text: &'a str, scale: u16) -> Self {
        Self {
            text,
            scale: scale.max(1),
            ascii: false,
            style: Style::new(),
        }
    }

    /// Printable ASCII only.
    pub fn ascii(mut self, ascii: bool) -> Self {
        self.ascii = ascii;
        self
    }

    /// The style of the glyphs' cells.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// The cell of glyph `g` at column `x`, row `y` (both within the glyph).
    fn cell(&self, g: &Glyph, x: u16, y: u16) -> &'static str {
        let s = self.scale;
        if self.ascii && s == 1 {
            let row = g.ascii[usize::from(y.min(2))];
            return row.get(usize::from(x)..usize::from(x) + 1).unwrap_or(" ");
        }
        let pixel = |half_row: u16| {
            let row = half_row / s;
            row < PIXEL_ROWS && (g.rows[usize::from(row)] >> (g.width - 1 - x / s)) & 1 == 1
        };
        match (pixel(2 * y), pixel(2 * y + 1), self.ascii) {
            (true, true, false) => "█",
            (true, false, false) => "▀",
            (false, true, false) => "▄",
            // Odd scales above 1 split a pixel across cells: ASCII shows the half as whole.
            (true, _, true) | (_, true, true) => "#",
            (false, false, _) => " ",
        }
    }
}

impl Widget for BigDigits<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = height(self.scale).min(area.height);
        let mut left = area.x;
        for g in self.text.chars().filter_map(glyph_of) {
            let columns = g.width * self.scale;
            for y in 0..rows {
                for x in 0..columns {
                    let at = (left.saturating_add(x), area.y + y);
                    if at.0 >= area.right() {
                        break;
                    }
                    let symbol = self.cell(&g, x, y);
                    if symbol != " " {
                        buf[at].set_symbol(symbol).set_style(self.style);
                    }
                }
            }
            left = left.saturating_add(columns + self.scale);
        }
    }
}

/// Reads back the figure drawn (Unicode, any scale) nearest to column `column` of `rows`,
/// the screen's rows that hold the figure, top to bottom: what a person sees, for tests
/// that read the screen as text. `None` when nothing there reads as a figure.
pub fn read_back(rows: &[&str], column: usize) -> Option<String> {
    let cells: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
    let height = cells.len();
    let scale = (2 * height / usize::from(PIXEL_ROWS)).max(1);
    let first = cells.first()?;
    // A tile's borders bound its figure.
    let left = first[..column.min(first.len())]
        .iter()
        .rposition(|c| *c == '│')
        .map_or(0, |x| x + 1);
    let right = first
        .iter()
        .skip(column)
        .position(|c| *c == '│')
        .map_or(usize::MAX, |x| x + column);
    // Half-row pixels: (column, half row) -> drawn.
    let half = |x: usize, h: usize| {
        let c = cells
            .get(h / 2)
            .and_then(|r| r.get(x))
            .copied()
            .unwrap_or(' ');
        match c {
            '█' => true,
            '▀' => h % 2 == 0,
            '▄' => h % 2 == 1,
            _ => false,
        }
    };
    let width = cells.iter().map(Vec::len).max()?.min(right);
    let used = |x: usize| (0..2 * height).any(|h| half(x, h));
    // Runs of drawn columns; one glyph each (no glyph has a blank column inside).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut x = left;
    while x < width {
        if used(x) {
            let start = x;
            while x < width && used(x) {
                x += 1;
            }
            runs.push((start, x));
        }
        x += 1;
    }
    // Glyphs one pixel apart make a figure; a wider gap starts another one.
    let mut figures: Vec<Vec<(usize, usize)>> = Vec::new();
    for run in runs {
        match figures.last_mut() {
            Some(f) if f.last().is_some_and(|last| run.0 - last.1 <= scale) => f.push(run),
            _ => figures.push(vec![run]),
        }
    }
    let distance = |f: &Vec<(usize, usize)>| {
        let (a, b) = (f[0].0, f[f.len() - 1].1);
        if column < a {
            a - column
        } else {
            column.saturating_sub(b)
        }
    };
    let figure = figures.iter().min_by_key(|f| distance(f))?;
    figure
        .iter()
        .map(|&(start, end)| {
            let pixels = (end - start) / scale;
            let mut rows = [0u8; PIXEL_ROWS as usize];
            for (py, row) in rows.iter_mut().enumerate() {
                for px in 0..pixels {
                    if half(start + px * scale, py * scale) {
                        *row |= 1 << (pixels - 1 - px);
                    }
                }
            }
            "0123456789/%-:".chars().find(|&c| {
                glyph_of(c).is_some_and(|g| usize::from(g.width) == pixels && g.rows == rows)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(text: &str, scale: u16, ascii: bool) -> Vec<String> {
        let area = Rect::new(0, 0, width(text, scale), height(scale));
        let mut buf = Buffer::empty(area);
        BigDigits::new(text, scale)
            .ascii(ascii)
            .render(area, &mut buf);
        buf.content()
            .chunks(usize::from(area.width))
            .map(|row| row.iter().map(|c| c.symbol()).collect())
            .collect()
    }

    #[test]
    fn digits_at_scale_one_are_three_rows_of_half_blocks() {
        assert_eq!(
            draw("10", 1, false),
            ["▄█  █▀█", " █  █ █", "▀▀▀ ▀▀▀"].map(String::from)
        );
        assert_eq!(height(1), 3);
        assert_eq!(width("39/40", 1), 19);
    }

    #[test]
    fn scale_two_draws_square_pixels_of_full_blocks() {
        let rows = draw("7", 2, false);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0], "██████");
        assert_eq!(rows[1], "    ██");
        assert_eq!(rows[4], "    ██");
        assert_eq!(width("12:02", 2), 4 * 6 + 2 + 4 * 2);
    }

    #[test]
    fn ascii_is_seven_segments_at_scale_one_and_hashes_above() {
        assert_eq!(
            draw("42%", 1, true),
            ["     _     ", "|_|  _| o/ ", "  | |_  /o "].map(String::from)
        );
        let big = draw("1", 4, true);
        assert!(big.iter().all(|r| r.is_ascii()), "{big:?}");
        assert!(big[0].contains('#'));
        for scale in 1..=6 {
            let rows = draw("0123456789/%-:", scale, true);
            assert!(rows.iter().all(|r| r.is_ascii()), "scale {scale}: {rows:?}");
        }
    }

    #[test]
    fn what_is_drawn_reads_back_at_every_scale() {
        for scale in 1..=6 {
            for text in ["0123456789", "39/40", "145/160", "7%", "-", "12:05", "1"] {
                let rows = draw(text, scale, false);
                let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
                let got = read_back(&rows, 0);
                assert_eq!(got.as_deref(), Some(text), "scale {scale}");
            }
        }
        // Two figures side by side: the one nearest the column.
        let rows: Vec<String> = draw("12", 1, false)
            .into_iter()
            .zip(draw("7", 1, false))
            .map(|(a, b)| format!("{a}  │ {b}"))
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        assert_eq!(read_back(&rows, 1).as_deref(), Some("12"));
        assert_eq!(read_back(&rows, 12).as_deref(), Some("7"));
        assert_eq!(read_back(&["", "abc", ""], 0), None);
    }

    #[test]
    fn unknown_characters_are_not_supported() {
        assert!(supports("145/160"));
        assert!(supports("12:05"));
        assert!(!supports("n/a"));
        assert!(!supports(""));
    }
}
