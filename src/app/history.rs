//! The history pane: the action history under the tables. While it is the top view it has
//! the movement keys; Back or the history key closes it.

use super::App;
use super::panes::{Outcome, PaneKind};
use crate::keys::Command;

/// The history pane's scroll.
#[derive(Debug, Clone, Default)]
pub struct HistoryPane {
    /// History rows scrolled past, counted from the newest.
    pub offset: usize,
    /// History rows the last frame showed (0 before one did: paging then estimates it
    /// from the terminal's height).
    pub page: usize,
}

impl HistoryPane {
    /// Scrolls by `delta` rows (positive: older), `page` rows shown, `len` entries.
    pub fn scroll(&mut self, delta: isize, page: usize, len: usize) {
        let max = len.saturating_sub(page.max(1));
        self.offset = self.offset.saturating_add_signed(delta).min(max);
    }

    /// A command while the history is drawn, `page` rows a page, `len` entries.
    pub fn on_command(&mut self, command: Command, page: usize, len: usize) -> Outcome {
        match command {
            Command::Up => self.scroll(-1, page, len),
            Command::Down => self.scroll(1, page, len),
            Command::PageUp => self.scroll(-(page as isize), page, len),
            Command::PageDown => self.scroll(page as isize, page, len),
            Command::Top => self.offset = 0,
            Command::Bottom => self.scroll(isize::MAX / 2, page, len),
            Command::Back | Command::History => return Outcome::Close,
            _ => return Outcome::Pass,
        }
        Outcome::Taken
    }
}

impl App {
    /// A command reaching the history pane; true when it took it.
    pub(super) fn on_history_command(&mut self, command: Command) -> bool {
        let page = match self.panes.history.page {
            0 => crate::ui::history_page(self, self.screen_height),
            drawn => drawn,
        };
        let len = self.ops.log.len();
        match self.panes.history.on_command(command, page, len) {
            Outcome::Pass => return false,
            Outcome::Taken => {}
            Outcome::Close => {
                self.panes.remove(PaneKind::History);
            }
        }
        true
    }
}
