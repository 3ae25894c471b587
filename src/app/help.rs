//! The help pane's scrolling: on a short, narrow terminal (80x24) the command list is
//! longer than the screen, so the movement keys scroll it; any other key closes it. The
//! layout itself (one column, two, or scrolling) is `ui::help_geometry`, shared with the
//! renderer so both agree on when rows are hidden.

use super::panes::Outcome;
use crate::keys::Command;
use crate::ui::HelpGeometry;

/// The help overlay's state: how far it is scrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelpPane {
    /// Command rows scrolled past.
    pub offset: usize,
}

impl HelpPane {
    /// A command while help is on top, laid out as `g` (`size_known`: the terminal's size
    /// has been told, else scrolling may reach the last row and rendering clamps). Movement
    /// scrolls; any other command closes help.
    pub fn on_command(&mut self, command: Command, g: &HelpGeometry, size_known: bool) -> Outcome {
        let max = if size_known {
            g.max_offset()
        } else {
            g.total.saturating_sub(1)
        };
        if max == 0 {
            // It all fits: nothing to scroll, and the footer says any key closes.
            return Outcome::Close;
        }
        let page = g.rows.max(1);
        let offset = self.offset;
        self.offset = match command {
            Command::Up => offset.saturating_sub(1),
            Command::Down => offset + 1,
            Command::PageUp => offset.saturating_sub(page),
            Command::PageDown => offset + page,
            Command::Top => 0,
            Command::Bottom => max,
            _ => return Outcome::Close,
        }
        .min(max);
        Outcome::Taken
    }
}
