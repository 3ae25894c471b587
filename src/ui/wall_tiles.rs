//! The wall's fleet totals as tiles of large figures, and the clock beside them when there
//! is room. The plan picks the largest glyphs that fit the terminal: a wall across a room
//! gets figures ten rows tall, an 80x24 terminal three-row figures, and a terminal too small
//! for those the figures in plain text.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::big_digits::{self, BigDigits};
use super::glyphs;
use crate::app::App;

/// Scales of the large figures on bordered tiles, largest first (a pixel is `scale`
/// columns wide and `scale` half rows tall; even scales keep ASCII pixels whole).
const BORDERED_SCALES: [u16; 3] = [6, 4, 2];
/// Columns between tiles drawn without borders (the smallest scale).
const OPEN_TILE_GAP: u16 = 2;
/// Columns a bordered tile adds around its figure: two borders and one blank each side.
const BORDERED_CHROME: u16 = 4;
/// Rows of a tile of plain text or of three-row figures.
const SMALL_TILE_ROWS: u16 = 4;
/// Share of the wall's height the tiles may take: one row in this many.
const TILE_HEIGHT_DIVISOR: u16 = 4;

/// How the tiles are drawn on a terminal of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePlan {
    /// Scale of the large figures; 0 draws them as plain text.
    pub scale: u16,
    /// Totals show their first figure only ("39", its "of 40" beside the label).
    pub short: bool,
    /// A tile with the clock follows the totals.
    pub clock: bool,
}

impl TilePlan {
    /// Plain text in bordered tiles: what fits anywhere.
    const PLAIN: Self = Self {
        scale: 0,
        short: false,
        clock: false,
    };

    /// Rows the tiles take.
    pub fn rows(&self) -> u16 {
        match self.scale {
            0 | 1 => SMALL_TILE_ROWS,
            s => 3 + big_digits::height(s),
        }
    }

    fn bordered(&self) -> bool {
        self.scale != 1
    }

    /// Columns one tile needs for `label` over `value`.
    fn need(&self, label: &str, value: &str) -> u16 {
        let label = label.chars().count() as u16;
        let value = match self.scale {
            0 => value.chars().count() as u16,
            s => big_digits::width(value, s),
        };
        let chrome = if self.bordered() { BORDERED_CHROME } else { 0 };
        label.max(value) + chrome
    }

    fn gap(&self) -> u16 {
        if self.bordered() { 0 } else { OPEN_TILE_GAP }
    }
}

/// One tile: label over value.
struct Tile {
    label: &'static str,
    /// The first figure ("39" of "39/40").
    value: String,
    /// The figure it is out of, if any ("40").
    of: Option<String>,
    style: Style,
}

impl Tile {
    fn label(&self, plan: TilePlan) -> String {
        match (&self.of, plan.short) {
            (Some(of), true) => format!("{} of {of}", self.label),
            _ => self.label.to_string(),
        }
    }

    fn value(&self, plan: TilePlan) -> String {
        match (&self.of, plan.short) {
            (Some(of), false) => format!("{}/{of}", self.value),
            _ => self.value.clone(),
        }
    }
}

fn totals(app: &App) -> Vec<Tile> {
    let theme = &app.theme;
    let s = app.fleet.summary();
    let counts = s.states(app.now, app.fleet.failover_timeout());
    let total = app.fleet.nodes().len();
    let up = counts.active + counts.standby + counts.maintenance;
    let stale = app.all_stale_for().is_some();
    let pick = |style: Style| if stale { theme.stale } else { style };
    let (used, mem_total) = s.memory_bytes();
    let mem = (mem_total > 0).then(|| (used as f64 / mem_total as f64 * 100.0) as f32);
    let down = counts.unknown + counts.failed;
    vec![
        Tile {
            label: "NODES UP",
            value: up.to_string(),
            of: Some(total.to_string()),
            style: pick(if down > 0 { theme.warn } else { theme.ok }),
        },
        Tile {
            label: "DOWN",
            value: down.to_string(),
            of: None,
            style: pick(theme.alarm(down, counts.failed > 0)),
        },
        Tile {
            label: "CONTAINERS",
            value: s.running().to_string(),
            of: Some(s.containers().to_string()),
            style: pick(theme.text),
        },
        Tile {
            label: "UNHEALTHY",
            value: s.unhealthy().to_string(),
            of: None,
            style: pick(theme.alarm(s.unhealthy(), true)),
        },
        Tile {
            label: "CPU",
            value: s.cpu_percent().map_or("-".into(), |c| format!("{c:.0}%")),
            of: None,
            style: pick(s.cpu_percent().map_or(theme.dim, |c| theme.usage(c))),
        },
        Tile {
            label: "MEMORY",
            value: mem.map_or("-".into(), |m| format!("{m:.0}%")),
            of: None,
            style: pick(mem.map_or(theme.dim, |m| theme.usage(m))),
        },
    ]
}

/// The clock tile: hours and minutes, UTC like every time the console shows.
fn clock(app: &App) -> Tile {
    let time = i64::try_from(app.now_unix_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| "-".to_string(), |t| t.format("%H:%M").to_string());
    Tile {
        label: "UTC",
        value: time,
        of: None,
        style: app.theme.text,
    }
}

fn tiles(app: &App, plan: TilePlan) -> Vec<Tile> {
    let mut list = totals(app);
    if plan.clock {
        list.push(clock(app));
    }
    list
}

/// Columns the tiles of `plan` need, gaps included.
fn width_needed(list: &[Tile], plan: TilePlan) -> u16 {
    let tiles: u16 = list
        .iter()
        .map(|t| plan.need(&t.label(plan), &t.value(plan)))
        .sum();
    tiles + plan.gap() * (list.len() as u16).saturating_sub(1)
}

/// The plans to try, best first: the largest figures, with the clock and whole totals
/// where they fit; plain text last.
fn candidates() -> impl Iterator<Item = TilePlan> {
    let bordered = |clock| {
        BORDERED_SCALES.into_iter().flat_map(move |scale| {
            [false, true].map(|short| TilePlan {
                scale,
                short,
                clock,
            })
        })
    };
    let smallest = [true, false].into_iter().flat_map(|clock| {
        [false, true].map(|short| TilePlan {
            scale: 1,
            short,
            clock,
        })
    });
    bordered(true)
        .chain(bordered(false))
        .chain(smallest)
        .chain(std::iter::once(TilePlan::PLAIN))
}

/// The tiles' plan for a wall of `area`.
pub fn plan(area: Rect, app: &App) -> TilePlan {
    let max_rows = (area.height / TILE_HEIGHT_DIVISOR).max(SMALL_TILE_ROWS);
    let with_clock = tiles(
        app,
        TilePlan {
            clock: true,
            ..TilePlan::PLAIN
        },
    );
    let without = &with_clock[..with_clock.len() - 1];
    candidates()
        .find(|p| {
            let list = if p.clock { &with_clock[..] } else { without };
            p.scale == 0
                || (p.rows() <= max_rows
                    && list.iter().all(|t| big_digits::supports(&t.value(*p)))
                    && width_needed(list, *p) <= area.width)
        })
        .unwrap_or(TilePlan::PLAIN)
}

/// Splits `width` among tiles in proportion to what each needs.
fn widths(needs: &[u16], gap: u16, width: u16) -> Vec<u16> {
    let n = needs.len() as u16;
    let sum: u32 = needs.iter().map(|&w| u32::from(w)).sum();
    let room = width.saturating_sub(gap * n.saturating_sub(1));
    let extra = u32::from(room).saturating_sub(sum);
    let mut out: Vec<u16> = needs
        .iter()
        .map(|&w| w + (extra * u32::from(w) / sum.max(1)) as u16)
        .collect();
    let mut left = room.saturating_sub(out.iter().sum());
    for w in out.iter_mut() {
        if left == 0 {
            break;
        }
        *w += 1;
        left -= 1;
    }
    out
}

/// Draws the tiles of `plan` in `area`.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, plan: TilePlan) {
    let list = tiles(app, plan);
    let areas: Vec<Rect> = if plan.scale == 0 {
        Layout::horizontal(vec![Constraint::Fill(1); list.len()])
            .split(area)
            .to_vec()
    } else {
        let needs: Vec<u16> = list
            .iter()
            .map(|t| plan.need(&t.label(plan), &t.value(plan)))
            .collect();
        let mut x = area.x;
        widths(&needs, plan.gap(), area.width)
            .into_iter()
            .map(|w| {
                let r = Rect {
                    x,
                    width: w,
                    ..area
                }
                .intersection(area);
                x = x.saturating_add(w + plan.gap());
                r
            })
            .collect()
    };
    for (tile, area) in list.iter().zip(areas) {
        draw_tile(frame, area, app, tile, plan);
    }
}

fn draw_tile(frame: &mut Frame, area: Rect, app: &App, tile: &Tile, plan: TilePlan) {
    let theme = &app.theme;
    let inner = if plan.bordered() {
        let block = glyphs::of(app.ascii)
            .block()
            .border_style(theme.border(false));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        inner
    } else {
        area
    };
    let style = tile.style.add_modifier(Modifier::BOLD);
    let value = tile.value(plan);
    let [label_area, value_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(tile.label(plan), theme.label())).centered()),
        label_area,
    );
    if plan.scale == 0 {
        let line = Line::from(Span::styled(value, style)).centered();
        frame.render_widget(Paragraph::new(line), value_area);
        return;
    }
    let width = big_digits::width(&value, plan.scale);
    let at = Rect {
        x: value_area.x + value_area.width.saturating_sub(width) / 2,
        width: width.min(value_area.width),
        ..value_area
    };
    frame.render_widget(
        BigDigits::new(&value, plan.scale)
            .ascii(app.ascii)
            .style(style),
        at,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fill_the_row_in_proportion() {
        assert_eq!(widths(&[10, 20, 10], 0, 80), [20, 40, 20]);
        let w = widths(&[7, 3, 11], 2, 80);
        assert_eq!(w.iter().sum::<u16>() + 4, 80);
        assert!(w[2] > w[0] && w[0] > w[1], "{w:?}");
    }

    #[test]
    fn candidates_put_larger_figures_and_the_clock_first() {
        let all: Vec<TilePlan> = candidates().collect();
        assert_eq!(
            all[0],
            TilePlan {
                scale: 6,
                short: false,
                clock: true
            }
        );
        assert_eq!(all.last(), Some(&TilePlan::PLAIN));
        let first_without_clock = all.iter().position(|p| !p.clock).unwrap_or(0);
        assert!(all[..first_without_clock].iter().all(|p| p.scale >= 2));
    }
}
