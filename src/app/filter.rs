//! The filter pane: while it is up, keys edit the focused table's filter (prompt mode of
//! the keymap) until Confirm keeps it or Cancel clears it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::App;
use crate::keys::{Command, Mode};

impl App {
    pub(super) fn on_filter_key(&mut self, key: KeyEvent) {
        let tables = &mut self.panes.tables;
        match self.keymap.command_in(Mode::Prompt, key) {
            Some(Command::Confirm) => {
                self.panes.pop();
            }
            Some(Command::Cancel) => {
                tables.filter_mut().clear();
                self.panes.pop();
            }
            Some(Command::DeleteChar) => {
                tables.filter_mut().pop();
            }
            Some(Command::ClearInput) => tables.filter_mut().clear(),
            Some(Command::Quit) => self.should_quit = true,
            Some(_) => return,
            None => match typed(key) {
                Some(c) => tables.filter_mut().push(c),
                None => return,
            },
        }
        self.panes.tables.mark_focused_dirty();
    }
}

/// The character a key types, if it types one (Ctrl chords do not).
pub(super) fn typed(key: KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    }
}
