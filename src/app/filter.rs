//! The filter pane: while it is up, keys edit the focused table's filter (prompt mode of
//! the keymap) until Confirm keeps it or Cancel clears it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::panes::Outcome;
use super::tables_pane::Tables;
use crate::keys::Command;

impl Tables {
    /// A key while the filter is on top: `command` is its prompt-mode binding. Quit is
    /// passed on (the console quits); Close keeps the filter, or cleared on Cancel.
    pub fn on_filter_key(&mut self, command: Option<Command>, key: KeyEvent) -> Outcome {
        let outcome = match command {
            Some(Command::Confirm) => Outcome::Close,
            Some(Command::Cancel) => {
                self.filter_mut().clear();
                Outcome::Close
            }
            Some(Command::DeleteChar) => {
                self.filter_mut().pop();
                Outcome::Taken
            }
            Some(Command::ClearInput) => {
                self.filter_mut().clear();
                Outcome::Taken
            }
            Some(Command::Quit) => Outcome::Pass,
            Some(_) => return Outcome::Taken,
            None => match typed(key) {
                Some(c) => {
                    self.push_filter(c);
                    Outcome::Taken
                }
                None => return Outcome::Taken,
            },
        };
        self.mark_focused_dirty();
        outcome
    }
}

/// The character a key types, if it types one (Ctrl chords do not).
pub(super) fn typed(key: KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    }
}
