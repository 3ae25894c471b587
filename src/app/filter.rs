//! Typing a table's `/` filter: the keys edit the focused table's filter until Enter keeps
//! it or Esc clears it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Focus, Input};

impl App {
    pub(super) fn on_filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.input = Input::Normal,
            KeyCode::Esc => {
                self.filter_mut().clear();
                self.input = Input::Normal;
            }
            KeyCode::Backspace => {
                self.filter_mut().pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter_mut().clear();
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.should_quit = true;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter_mut().push(c);
            }
            _ => return,
        }
        self.mark_focused_dirty();
    }

    pub(super) fn filter_mut(&mut self) -> &mut String {
        match self.focus {
            Focus::Nodes | Focus::Alerts => &mut self.nodes.filter,
            Focus::Containers => &mut self.containers.filter,
        }
    }

    pub(super) fn mark_focused_dirty(&mut self) {
        match self.focus {
            Focus::Nodes | Focus::Alerts => self.nodes.dirty = true,
            Focus::Containers => self.containers.dirty = true,
        }
    }
}
