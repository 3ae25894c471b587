//! The help pane's scrolling: on a short, narrow terminal (80x24) the command list is
//! longer than the screen, so the movement keys scroll it; any other key closes it. The
//! layout itself (one column, two, or scrolling) is `ui::help_geometry`, shared with the
//! renderer so both agree on when rows are hidden.

use super::App;
use super::panes::Pane;
use crate::keys::Command;

impl App {
    /// A key while help is on top: scrolls on movement keys (true), else false (close).
    pub(super) fn scroll_help(&mut self, command: Command) -> bool {
        let g = crate::ui::help_geometry(&self.keymap, self.screen_width, self.screen_height);
        // Size not known yet: allow scrolling to the last row; rendering clamps.
        let max = if self.screen_height == 0 {
            g.total.saturating_sub(1)
        } else {
            g.max_offset()
        };
        if max == 0 {
            // It all fits: nothing to scroll, and the footer says any key closes.
            return false;
        }
        let page = g.rows.max(1);
        let Some(Pane::Help { offset }) = self.panes.top() else {
            return false;
        };
        let offset = *offset;
        let new = match command {
            Command::Up => offset.saturating_sub(1),
            Command::Down => offset + 1,
            Command::PageUp => offset.saturating_sub(page),
            Command::PageDown => offset + page,
            Command::Top => 0,
            Command::Bottom => max,
            _ => return false,
        }
        .min(max);
        self.panes.pop();
        self.panes.push(Pane::Help { offset: new });
        true
    }
}
