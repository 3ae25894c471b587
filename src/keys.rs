//! Keymap as data: default bindings in code, patched by the config file's `[keys]` table.

use std::collections::{BTreeMap, HashMap};

use crossterm::event::KeyEvent;

// Commands: names, descriptions, read-only safety, in their own file to keep this one about
// the keymap.
#[path = "key_commands.rs"]
mod commands;

pub use commands::Command;

/// Which keymap a key is looked up in: what has the keyboard decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// The tables, heatmap, alert view, history, help and the wall.
    Normal,
    /// The action dialogs (pick a target or a backup, replicas, a running action).
    Dialog,
    /// Anything typed: the filter, the prompts and palette, the log search, the typed
    /// confirmation of an action. Keys bound here are never typed.
    Prompt,
    /// The live log view.
    Log,
    /// The exec pane: every key not bound here goes to the remote shell.
    Exec,
}

impl Mode {
    /// The modes a config key can name, as `"dialog:<Esc>"`.
    const NAMED: [Mode; 4] = [Mode::Dialog, Mode::Prompt, Mode::Log, Mode::Exec];

    /// Prefix in the config file (`"prompt:<Ctrl-w>" = "clear_input"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Dialog => "dialog",
            Self::Prompt => "prompt",
            Self::Log => "log",
            Self::Exec => "exec",
        }
    }

    /// The commands that mean something in this mode.
    pub fn commands(self) -> Vec<Command> {
        use Command as C;
        match self {
            Self::Normal => C::ALL.to_vec(),
            Self::Dialog => vec![
                C::Quit,
                C::Confirm,
                C::Cancel,
                C::Up,
                C::Down,
                C::Left,
                C::Right,
                C::More,
                C::Less,
                C::DeleteChar,
            ],
            Self::Prompt => vec![
                C::Quit,
                C::Confirm,
                C::Cancel,
                C::Up,
                C::Down,
                C::DeleteChar,
                C::ClearInput,
                C::Complete,
            ],
            Self::Log => vec![
                C::Quit,
                C::Cancel,
                C::Up,
                C::Down,
                C::PageUp,
                C::PageDown,
                C::Top,
                C::Bottom,
                C::Follow,
                C::Wrap,
                C::Times,
                C::Search,
                C::NextMatch,
                C::PrevMatch,
            ],
            // Few on purpose: each one is a key the shell cannot have.
            Self::Exec => vec![C::Detach, C::PageUp, C::PageDown],
        }
    }

    /// Splits `"dialog:<Esc>"` into its mode and key name; a plain key name is `Normal`.
    fn split(key_name: &str) -> (Mode, &str) {
        for mode in Self::NAMED {
            if let Some(rest) = key_name
                .strip_prefix(mode.name())
                .and_then(|r| r.strip_prefix(':'))
                .filter(|r| !r.is_empty())
            {
                return (mode, rest);
            }
        }
        (Mode::Normal, key_name)
    }
}

// Key names: parsing and display, in their own file to keep this one about the keymap.
#[path = "key_names.rs"]
mod names;

pub use names::{Key, KeyError, parse_key};

/// Which command each key runs, in each mode.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: HashMap<(Mode, Key), Command>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let normal: &[(&str, Command)] = &[
            ("q", Command::Quit),
            ("<Ctrl-c>", Command::Quit),
            ("k", Command::Up),
            ("<Up>", Command::Up),
            ("j", Command::Down),
            ("<Down>", Command::Down),
            ("<Ctrl-u>", Command::PageUp),
            ("<PageUp>", Command::PageUp),
            ("<Ctrl-d>", Command::PageDown),
            ("<PageDown>", Command::PageDown),
            ("g", Command::Top),
            ("<Home>", Command::Top),
            ("G", Command::Bottom),
            ("<End>", Command::Bottom),
            ("<Tab>", Command::FocusNext),
            ("<Right>", Command::FocusNext),
            ("<S-Tab>", Command::FocusPrev),
            ("<Left>", Command::FocusPrev),
            ("<Enter>", Command::Open),
            ("<Esc>", Command::Back),
            ("/", Command::Filter),
            ("o", Command::SortNext),
            ("O", Command::SortReverse),
            ("0", Command::ToggleScope),
            ("i", Command::ToggleDetail),
            ("?", Command::Help),
            ("m", Command::Migrate),
            ("s", Command::Scale),
            ("b", Command::Backup),
            ("R", Command::Restore),
            ("f", Command::Failover),
            ("d", Command::Drain),
            ("c", Command::Cordon),
            ("u", Command::Uncordon),
            ("t", Command::Start),
            ("X", Command::Stop),
            ("r", Command::Restart),
            ("U", Command::Rollout),
            ("H", Command::History),
            ("M", Command::Heatmap),
            ("Z", Command::FoldAll),
            ("[", Command::ScrollOlder),
            ("]", Command::ScrollNewer),
            ("L", Command::ToggleLog),
            ("a", Command::Alerts),
            ("A", Command::Acknowledge),
            ("S", Command::Silence),
            ("x", Command::Propose),
            ("E", Command::ExportTimeline),
            (":", Command::Palette),
            ("l", Command::Logs),
            ("e", Command::Exec),
        ];
        let dialog: &[(&str, Command)] = &[
            ("<Ctrl-c>", Command::Quit),
            ("<Enter>", Command::Confirm),
            ("<Esc>", Command::Cancel),
            ("k", Command::Up),
            ("<Up>", Command::Up),
            ("j", Command::Down),
            ("<Down>", Command::Down),
            ("h", Command::Left),
            ("<Left>", Command::Left),
            ("l", Command::Right),
            ("<Right>", Command::Right),
            ("+", Command::More),
            ("-", Command::Less),
            ("<Backspace>", Command::DeleteChar),
        ];
        let prompt: &[(&str, Command)] = &[
            ("<Ctrl-c>", Command::Quit),
            ("<Enter>", Command::Confirm),
            ("<Esc>", Command::Cancel),
            ("<Up>", Command::Up),
            ("<Left>", Command::Up),
            ("<S-Tab>", Command::Up),
            ("<Down>", Command::Down),
            ("<Right>", Command::Down),
            ("<Backspace>", Command::DeleteChar),
            ("<Ctrl-u>", Command::ClearInput),
            ("<Tab>", Command::Complete),
        ];
        let log: &[(&str, Command)] = &[
            ("<Ctrl-c>", Command::Quit),
            ("<Esc>", Command::Cancel),
            ("q", Command::Cancel),
            ("k", Command::Up),
            ("<Up>", Command::Up),
            ("j", Command::Down),
            ("<Down>", Command::Down),
            ("<PageUp>", Command::PageUp),
            ("<Ctrl-u>", Command::PageUp),
            ("<PageDown>", Command::PageDown),
            ("<Ctrl-d>", Command::PageDown),
            ("g", Command::Top),
            ("<Home>", Command::Top),
            ("G", Command::Bottom),
            ("<End>", Command::Bottom),
            ("F", Command::Follow),
            ("f", Command::Follow),
            ("w", Command::Wrap),
            ("t", Command::Times),
            ("/", Command::Search),
            ("n", Command::NextMatch),
            ("N", Command::PrevMatch),
        ];
        // The detach key comes from `[exec] detach_key` (`with_detach_key`); Shift-PgUp
        // and Shift-PgDn scroll back as in most terminals, and never reach the shell.
        let exec: &[(&str, Command)] = &[
            (crate::config_exec::DEFAULT_DETACH_KEY, Command::Detach),
            ("<S-PageUp>", Command::PageUp),
            ("<S-PageDown>", Command::PageDown),
        ];
        let mut bindings = HashMap::new();
        for (mode, table) in [
            (Mode::Normal, normal),
            (Mode::Dialog, dialog),
            (Mode::Prompt, prompt),
            (Mode::Log, log),
            (Mode::Exec, exec),
        ] {
            for (name, command) in table {
                if let Ok(key) = parse_key(name) {
                    bindings.insert((mode, key), *command);
                }
            }
        }
        Self { bindings }
    }
}

impl KeyMap {
    /// The defaults patched by `[keys]` entries (`"<Ctrl-n>" = "down"`, `"x" = "none"`).
    /// A key name prefixed with a mode patches that mode: `"dialog:<Ctrl-g>" = "cancel"`,
    /// `"prompt:<Ctrl-w>" = "clear_input"`, `"log:p" = "follow"`.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, KeyError> {
        Self::default().patched(overrides)
    }

    /// The exec pane's detach key (`[exec] detach_key`) instead of the default one.
    pub fn with_detach_key(mut self, key: Key) -> Self {
        self.bindings
            .retain(|(mode, _), command| !(*mode == Mode::Exec && *command == Command::Detach));
        self.bindings.insert((Mode::Exec, key), Command::Detach);
        self
    }

    /// This keymap patched by `[keys]` entries, as `with_overrides` patches the defaults.
    pub fn patched(self, overrides: &BTreeMap<String, String>) -> Result<Self, KeyError> {
        let mut map = self;
        for (key_name, command_name) in overrides {
            let (mode, name) = Mode::split(key_name);
            let key = parse_key(name)?;
            if command_name == "none" {
                map.bindings.remove(&(mode, key));
                continue;
            }
            let known = mode.commands();
            let command = Command::from_name(command_name)
                .filter(|c| known.contains(c))
                .ok_or_else(|| KeyError::BadCommand {
                    key: key_name.clone(),
                    command: command_name.clone(),
                    known: known
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            map.bindings.insert((mode, key), command);
        }
        Ok(map)
    }

    /// The command bound to a key event in the normal mode, if any.
    pub fn command(&self, event: KeyEvent) -> Option<Command> {
        self.command_in(Mode::Normal, event)
    }

    /// The command bound to a key event in `mode`, if any.
    pub fn command_in(&self, mode: Mode, event: KeyEvent) -> Option<Command> {
        self.bindings.get(&(mode, Key::from_event(event))).copied()
    }

    /// Keys bound to a command in the normal mode, shortest name first, for help and hints.
    pub fn keys_for(&self, command: Command) -> Vec<Key> {
        self.keys_in(Mode::Normal, command)
    }

    /// Keys bound to a command in `mode`, shortest name first.
    /// True when `key` runs `command` in `mode`: one lookup, for hints drawn every frame.
    pub fn binds(&self, mode: Mode, key: Key, command: Command) -> bool {
        self.bindings.get(&(mode, key)) == Some(&command)
    }

    pub fn keys_in(&self, mode: Mode, command: Command) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|((m, _), c)| *m == mode && **c == command)
            .map(|((_, k), _)| *k)
            .collect();
        keys.sort_by_key(|k| (k.to_string().len(), k.to_string()));
        keys
    }

    /// The shortest key for a command, as text (`"?"`, `"<Tab>"`), or empty if unbound.
    pub fn hint(&self, command: Command) -> String {
        self.hint_in(Mode::Normal, command)
    }

    /// The shortest key for a command in `mode`, as text, or empty if unbound.
    pub fn hint_in(&self, mode: Mode, command: Command) -> String {
        self.keys_in(mode, command)
            .first()
            .map(Key::to_string)
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
