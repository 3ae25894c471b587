//! The history pane: the action history under the tables. While it is the top view it has
//! the movement keys; Back or the history key closes it.

use super::App;
use super::panes::PaneKind;
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
}

impl App {
    /// A command reaching the history pane; true when it took it.
    pub(super) fn on_history_command(&mut self, command: Command) -> bool {
        if command != Command::History && !self.panes.history_shown() {
            // Under another view: that view has the keys.
            return false;
        }
        let page = match self.panes.history.page {
            0 => crate::ui::history_page(self, self.screen_height),
            drawn => drawn,
        };
        let len = self.ops.log.len();
        let history = &mut self.panes.history;
        match command {
            Command::Up => history.scroll(-1, page, len),
            Command::Down => history.scroll(1, page, len),
            Command::PageUp => history.scroll(-(page as isize), page, len),
            Command::PageDown => history.scroll(page as isize, page, len),
            Command::Top => history.offset = 0,
            Command::Bottom => history.scroll(isize::MAX / 2, page, len),
            Command::Back | Command::History => {
                self.panes.remove(PaneKind::History);
            }
            _ => return false,
        }
        true
    }
}
