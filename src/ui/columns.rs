//! Fitting table columns to the width at hand: size them by what is on screen, drop the
//! least important ones first when the terminal is narrow, cut long text with an ellipsis.

use ratatui::layout::{Alignment, Constraint};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table};

use super::format;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    /// Narrowest and widest it is drawn.
    pub min: u16,
    pub max: u16,
    /// Lower ranks are dropped first when the table does not fit.
    pub rank: u8,
    /// Numbers are right-aligned so their digits line up.
    pub right: bool,
    /// Takes the width left over once every column fits (names, images).
    pub grow: bool,
}

impl Column {
    /// A left-aligned text column.
    pub const fn text(title: &'static str, min: u16, max: u16, rank: u8) -> Self {
        Self {
            title,
            min,
            max,
            rank,
            right: false,
            grow: false,
        }
    }

    /// A right-aligned figure column.
    pub const fn figure(title: &'static str, min: u16, max: u16, rank: u8) -> Self {
        Self {
            right: true,
            ..Self::text(title, min, max, rank)
        }
    }

    /// This column takes the spare width.
    pub const fn growing(self) -> Self {
        Self { grow: true, ..self }
    }

    /// This column is not drawn at all (it would say what the title already says).
    pub const fn hidden(self) -> Self {
        Self {
            min: 0,
            max: 0,
            ..self
        }
    }
}

/// The text of one cell and its style.
#[derive(Debug, Clone, Default)]
pub struct Text {
    pub text: String,
    pub style: Style,
}

impl Text {
    /// A styled cell.
    pub fn new(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

/// Which columns are shown and how wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// Indexes of the columns kept, in order.
    pub keep: Vec<usize>,
    pub widths: Vec<u16>,
    pub spacing: u16,
}

/// Chooses columns and widths for `width` cells from the titles and the rows on screen.
pub fn fit(columns: &[Column], titles: &[String], rows: &[Vec<Text>], width: u16) -> Fitted {
    let natural: Vec<u16> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let title = titles.get(i).map_or(0, |t| t.chars().count());
            let content = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|t| t.text.chars().count())
                .max()
                .unwrap_or(0);
            let want = u16::try_from(title.max(content)).unwrap_or(u16::MAX);
            want.clamp(c.min, c.max.max(c.min))
        })
        .collect();
    let mut keep: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].max > 0).collect();
    let used = |keep: &[usize], spacing: u16| -> u32 {
        let cells: u32 = keep.iter().map(|&i| u32::from(natural[i])).sum();
        cells + u32::from(spacing) * keep.len().saturating_sub(1) as u32
    };
    while keep.len() > 1 && used(&keep, 1) > u32::from(width) {
        let Some(drop) = keep
            .iter()
            .enumerate()
            .min_by_key(|(pos, i)| (columns[**i].rank, usize::MAX - pos))
            .map(|(pos, _)| pos)
        else {
            break;
        };
        keep.remove(drop);
    }
    let gaps = keep.len().saturating_sub(1) as u32;
    let spare = u32::from(width).saturating_sub(used(&keep, 1));
    // Air between columns first (up to three cells), then width for the growing column.
    let extra_spacing = spare.checked_div(gaps).unwrap_or(0).min(2);
    let spacing = 1 + extra_spacing as u16;
    let mut spare = spare - extra_spacing * gaps;
    let mut widths: Vec<u16> = keep.iter().map(|&i| natural[i]).collect();
    for (w, &i) in widths.iter_mut().zip(&keep) {
        let c = &columns[i];
        if c.grow && spare > 0 {
            let room = u32::from(c.max.saturating_sub(*w)).min(spare);
            *w += room as u16;
            spare -= room;
        }
    }
    Fitted {
        keep,
        widths,
        spacing,
    }
}

/// Builds a table of the fitted columns; long cells are cut with an ellipsis.
pub fn table(
    columns: &[Column],
    titles: Vec<String>,
    rows: Vec<Vec<Text>>,
    fitted: &Fitted,
    header_style: Style,
) -> Table<'static> {
    let align = |i: usize| {
        if columns[i].right {
            Alignment::Right
        } else {
            Alignment::Left
        }
    };
    let header = Row::new(fitted.keep.iter().map(|&i| {
        let title = titles.get(i).cloned().unwrap_or_default();
        Cell::from(Line::from(title).alignment(align(i)))
    }))
    .style(header_style);
    let body: Vec<Row<'static>> = rows
        .into_iter()
        .map(|mut row| {
            Row::new(fitted.keep.iter().zip(&fitted.widths).map(|(&i, &w)| {
                let cell = row.get_mut(i).map(std::mem::take).unwrap_or_default();
                let text = format::fit(&cell.text, usize::from(w));
                Cell::from(Line::from(text).alignment(align(i))).style(cell.style)
            }))
        })
        .collect();
    Table::new(body, fitted.widths.iter().map(|w| Constraint::Length(*w)))
        .header(header)
        .column_spacing(fitted.spacing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 3] = [
        Column::text("NAME", 4, 20, 9).growing(),
        Column::text("IMAGE", 5, 30, 1),
        Column::figure("CPU %", 5, 6, 8),
    ];

    fn titles() -> Vec<String> {
        COLUMNS.iter().map(|c| c.title.to_string()).collect()
    }

    fn rows() -> Vec<Vec<Text>> {
        vec![vec![
            Text::new("web-1", Style::new()),
            Text::new("registry.example/team/nginx:1.27", Style::new()),
            Text::new("12.5", Style::new()),
        ]]
    }

    #[test]
    fn columns_take_what_their_content_needs() {
        let f = fit(&COLUMNS, &titles(), &rows(), 44);
        assert_eq!(f.keep, vec![0, 1, 2]);
        assert_eq!(f.widths, vec![5, 30, 5]);
        assert_eq!(f.spacing, 2);
    }

    #[test]
    fn the_least_important_column_goes_first() {
        let f = fit(&COLUMNS, &titles(), &rows(), 20);
        assert_eq!(f.keep, vec![0, 2]);
        assert_eq!(f.spacing, 3);
        assert_eq!(
            f.widths,
            vec![5 + 20 - 5 - 5 - 3, 5],
            "the name takes the rest"
        );
    }

    #[test]
    fn hidden_columns_are_never_drawn() {
        let mut columns = COLUMNS;
        columns[1] = columns[1].hidden();
        let f = fit(&columns, &titles(), &rows(), 200);
        assert_eq!(f.keep, vec![0, 2]);
    }
}
