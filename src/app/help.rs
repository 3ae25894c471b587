//! The help overlay's layout and scrolling: on a short terminal the command list is longer
//! than the screen; a wide one shows it in two columns, a narrow one (80x24) lets the
//! movement keys scroll it. Any other key closes it.

use super::App;
use crate::keys::Command;

/// Rows around the list inside the help popup: borders and a blank line above it.
pub const HELP_CHROME_ROWS: usize = 4;
/// Width from which help that is too tall for one column is laid out in two instead of
/// scrolling (two default-width columns side by side).
pub const HELP_TWO_COLUMNS_MIN_WIDTH: u16 = 140;

/// How the help list is laid out on a terminal of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpLayout {
    /// 1 or 2.
    pub columns: usize,
    /// Command rows shown in each column.
    pub rows: usize,
}

impl HelpLayout {
    /// True when not every command is on screen at once.
    pub fn scrolls(&self) -> bool {
        self.columns * self.rows < Command::ALL.len()
    }
}

/// The help layout for a `width` x `height` terminal (0 x 0 = not known yet: one column,
/// all rows; rendering clamps).
pub fn help_layout(width: u16, height: u16) -> HelpLayout {
    let total = Command::ALL.len();
    let height = usize::from(height);
    if height == 0 || total + HELP_CHROME_ROWS <= height {
        return HelpLayout {
            columns: 1,
            rows: total,
        };
    }
    let half = total.div_ceil(2);
    if width >= HELP_TWO_COLUMNS_MIN_WIDTH && half + HELP_CHROME_ROWS <= height {
        return HelpLayout {
            columns: 2,
            rows: half,
        };
    }
    HelpLayout {
        columns: 1,
        rows: height.saturating_sub(HELP_CHROME_ROWS).max(1),
    }
}

/// Largest scroll offset that still fills the popup (0 = unknown size: allow up to the
/// last row, rendering clamps).
pub fn help_max_offset(width: u16, height: u16) -> usize {
    let total = Command::ALL.len();
    if height == 0 {
        return total.saturating_sub(1);
    }
    let layout = help_layout(width, height);
    if layout.scrolls() {
        total.saturating_sub(layout.rows)
    } else {
        0
    }
}

impl App {
    /// A key while help is open: scrolls on movement keys (true), else false (close).
    pub(super) fn scroll_help(&mut self, command: Command) -> bool {
        let max = help_max_offset(self.screen_width, self.screen_height);
        if max == 0 {
            // It all fits: nothing to scroll, and the footer says any key closes.
            return false;
        }
        let page = help_layout(self.screen_width, self.screen_height)
            .rows
            .max(1);
        let offset = self.help_offset;
        self.help_offset = match command {
            Command::Up => offset.saturating_sub(1),
            Command::Down => offset + 1,
            Command::PageUp => offset.saturating_sub(page),
            Command::PageDown => offset + page,
            Command::Top => 0,
            Command::Bottom => max,
            _ => return false,
        }
        .min(max);
        true
    }
}
