//! The help overlay's scrolling: on a short terminal (80x24) the command list is longer
//! than the screen, so the movement keys scroll it and any other key closes it.

use super::App;
use crate::keys::Command;

/// Rows around the list inside the help popup: borders and a blank line above it.
pub const HELP_CHROME_ROWS: usize = 4;

/// Command rows the help popup shows on a terminal `height` rows tall.
pub fn help_visible_rows(height: u16) -> usize {
    let rows = Command::ALL.len();
    (usize::from(height).min(rows + HELP_CHROME_ROWS))
        .saturating_sub(HELP_CHROME_ROWS)
        .max(1)
}

/// Largest scroll offset that still fills the popup on a terminal `height` rows tall
/// (0 = unknown height: allow up to the last row, rendering clamps).
pub fn help_max_offset(height: u16) -> usize {
    let rows = Command::ALL.len();
    if height == 0 {
        return rows.saturating_sub(1);
    }
    rows.saturating_sub(help_visible_rows(height))
}

impl App {
    /// A key while help is open: scrolls on movement keys (true), else false (close).
    pub(super) fn scroll_help(&mut self, command: Command) -> bool {
        let max = help_max_offset(self.screen_height);
        if max == 0 {
            // It all fits: nothing to scroll, and the footer says any key closes.
            return false;
        }
        let page = help_visible_rows(self.screen_height).max(1);
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
