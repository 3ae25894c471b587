//! How many colours the terminal shows, from `TERM`/`COLORTERM`, and how a theme's colours
//! are brought down to what it can show (SSH into an old console, a plain Linux VT).

use ratatui::style::Color;

/// Colours a terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourDepth {
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    TrueColour,
    /// The xterm 256-colour palette (`TERM=*-256color`).
    Palette256,
    /// The 16 ANSI colours only (the Linux console, `xterm`, `screen`, `vt100`, unknown).
    Ansi16,
}

impl ColourDepth {
    /// The depth advertised by these `TERM` and `COLORTERM` values.
    pub fn detect(term: Option<&str>, colorterm: Option<&str>) -> Self {
        let colorterm = colorterm.unwrap_or("").to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return Self::TrueColour;
        }
        let term = term.unwrap_or("").to_ascii_lowercase();
        if term.contains("256color") || term.contains("direct") {
            Self::Palette256
        } else {
            Self::Ansi16
        }
    }

    /// The depth of the terminal this process runs in.
    pub fn from_env() -> Self {
        let term = std::env::var("TERM").ok();
        let colorterm = std::env::var("COLORTERM").ok();
        Self::detect(term.as_deref(), colorterm.as_deref())
    }

    /// The colour closest to `colour` that this depth can show.
    pub fn map(self, colour: Color) -> Color {
        match (self, colour) {
            (Self::TrueColour, c) => c,
            (Self::Palette256, Color::Rgb(r, g, b)) => Color::Indexed(nearest_256(r, g, b)),
            (Self::Palette256, c) => c,
            (Self::Ansi16, Color::Rgb(r, g, b)) => nearest_16(r, g, b),
            (Self::Ansi16, Color::Indexed(i)) if i < 16 => ANSI16[usize::from(i)].0,
            (Self::Ansi16, Color::Indexed(i)) => {
                let (r, g, b) = rgb_of_index(i);
                nearest_16(r, g, b)
            }
            (Self::Ansi16, c) => c,
        }
    }
}

/// The 16 ANSI colours with the RGB values xterm gives them.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// Steps of the 6x6x6 colour cube of the 256-colour palette.
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn distance((r1, g1, b1): (u8, u8, u8), (r2, g2, b2): (u8, u8, u8)) -> u32 {
    let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).unsigned_abs();
    // Weighted for the eye's sensitivity (green most, blue least).
    3 * d(r1, r2).pow(2) + 4 * d(g1, g2).pow(2) + 2 * d(b1, b2).pow(2)
}

fn nearest_16(r: u8, g: u8, b: u8) -> Color {
    ANSI16
        .iter()
        .min_by_key(|(_, rgb)| distance(*rgb, (r, g, b)))
        .map_or(Color::White, |(c, _)| *c)
}

fn rgb_of_index(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[usize::from(i)].1,
        16..=231 => {
            let i = i - 16;
            (
                CUBE[usize::from(i / 36)],
                CUBE[usize::from(i / 6 % 6)],
                CUBE[usize::from(i % 6)],
            )
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    (16..=255u8)
        .min_by_key(|&i| distance(rgb_of_index(i), (r, g, b)))
        .unwrap_or(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_comes_from_term_and_colorterm() {
        use ColourDepth::*;
        assert_eq!(
            ColourDepth::detect(Some("xterm-256color"), Some("truecolor")),
            TrueColour
        );
        assert_eq!(
            ColourDepth::detect(Some("xterm"), Some("24bit")),
            TrueColour
        );
        assert_eq!(
            ColourDepth::detect(Some("screen-256color"), None),
            Palette256
        );
        assert_eq!(ColourDepth::detect(Some("linux"), None), Ansi16);
        assert_eq!(ColourDepth::detect(Some("vt100"), Some("")), Ansi16);
        assert_eq!(ColourDepth::detect(None, None), Ansi16);
    }

    #[test]
    fn colours_come_down_to_what_the_terminal_shows() {
        let d16 = ColourDepth::Ansi16;
        assert_eq!(d16.map(Color::Rgb(230, 159, 0)), Color::Yellow, "orange");
        assert_eq!(
            d16.map(Color::Rgb(0, 114, 178)),
            Color::Cyan,
            "blue stays cold"
        );
        assert_eq!(d16.map(Color::Indexed(237)), Color::Black);
        assert_eq!(d16.map(Color::Indexed(9)), Color::LightRed);
        assert_eq!(d16.map(Color::Red), Color::Red);
        assert_eq!(d16.map(Color::Reset), Color::Reset);
        let d256 = ColourDepth::Palette256;
        assert_eq!(d256.map(Color::Rgb(255, 135, 0)), Color::Indexed(208));
        assert_eq!(d256.map(Color::Indexed(237)), Color::Indexed(237));
        let rgb = Color::Rgb(1, 2, 3);
        assert_eq!(ColourDepth::TrueColour.map(rgb), rgb);
    }
}
