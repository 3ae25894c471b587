//! Keymap as data: default bindings in code, patched by the config file's `[keys]` table.

use std::collections::{BTreeMap, HashMap};

use crossterm::event::KeyEvent;

/// Something a key can ask the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    FocusNext,
    FocusPrev,
    Open,
    Back,
    Filter,
    SortNext,
    SortReverse,
    ToggleScope,
    ToggleDetail,
    Help,
    Migrate,
    Scale,
    Backup,
    Restore,
    Failover,
    Drain,
    Cordon,
    Uncordon,
    Start,
    Stop,
    Restart,
    History,
    /// Show the heatmap instead of the tables, or back.
    Heatmap,
    /// Fold every heatmap group, or open them all.
    FoldAll,
    /// Scroll the nodes x time heatmap back in time.
    ScrollOlder,
    /// Scroll the nodes x time heatmap towards now.
    ScrollNewer,
    /// Show or hide the console's own log.
    ToggleLog,
    /// Open or close the full alert view.
    Alerts,
    /// Acknowledge the selected alert (with an optional note).
    Acknowledge,
    /// Silence the selected alert for a while.
    Silence,
    /// Open the selected alert's recommended action.
    Propose,
    /// Export the incident timeline as Markdown.
    ExportTimeline,
    /// Open the command palette.
    Palette,
    /// Open the live log view of the selected container.
    Logs,
    // Keys of the dialog, prompt and log modes (see `Mode`); help and the palette list the
    // commands of `Command::ALL` only.
    /// Accept: run the plan, submit the prompt, keep the filter.
    Confirm,
    /// Close the dialog, prompt, filter or log view without doing anything.
    Cancel,
    /// Previous choice to the side (the restore dialog's target node).
    Left,
    /// Next choice to the side.
    Right,
    /// One more (replicas).
    More,
    /// One fewer (replicas).
    Less,
    /// Delete the last character typed.
    DeleteChar,
    /// Clear what was typed.
    ClearInput,
    /// Complete: the next choice, or write out the name to confirm.
    Complete,
    /// Log view: follow new lines, or pause.
    Follow,
    /// Log view: wrap long lines.
    Wrap,
    /// Log view: show times.
    Times,
    /// Log view: search.
    Search,
    /// Log view: next match (older).
    NextMatch,
    /// Log view: previous match (newer).
    PrevMatch,
}

impl Command {
    /// Every command, in the order help lists them.
    pub const ALL: [Command; 41] = [
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::FocusNext,
        Command::FocusPrev,
        Command::Open,
        Command::Back,
        Command::Filter,
        Command::SortNext,
        Command::SortReverse,
        Command::ToggleScope,
        Command::ToggleDetail,
        Command::Heatmap,
        Command::FoldAll,
        Command::ScrollOlder,
        Command::ScrollNewer,
        Command::ToggleLog,
        Command::Logs,
        Command::Alerts,
        Command::Acknowledge,
        Command::Silence,
        Command::Propose,
        Command::ExportTimeline,
        Command::Palette,
        Command::Help,
        Command::Quit,
        Command::Migrate,
        Command::Scale,
        Command::Backup,
        Command::Restore,
        Command::Failover,
        Command::Drain,
        Command::Cordon,
        Command::Uncordon,
        Command::Start,
        Command::Stop,
        Command::Restart,
        Command::History,
    ];

    /// The commands only the dialog, prompt and log modes bind.
    pub const MODE_ONLY: [Command; 15] = [
        Command::Confirm,
        Command::Cancel,
        Command::Left,
        Command::Right,
        Command::More,
        Command::Less,
        Command::DeleteChar,
        Command::ClearInput,
        Command::Complete,
        Command::Follow,
        Command::Wrap,
        Command::Times,
        Command::Search,
        Command::NextMatch,
        Command::PrevMatch,
    ];

    /// True for commands that only change what is shown, never the fleet. A read-only
    /// console (the wall screen) runs these and nothing else, so a command added later is
    /// refused there until it is listed here. Acknowledging, silencing, proposing an action,
    /// exporting and the palette (which runs any command) are operator work, not viewing.
    pub fn is_view_only(self) -> bool {
        matches!(
            self,
            Self::Quit
                | Self::Up
                | Self::Down
                | Self::PageUp
                | Self::PageDown
                | Self::Top
                | Self::Bottom
                | Self::FocusNext
                | Self::FocusPrev
                | Self::Open
                | Self::Back
                | Self::Filter
                | Self::SortNext
                | Self::SortReverse
                | Self::ToggleScope
                | Self::ToggleDetail
                | Self::Help
                | Self::Heatmap
                | Self::FoldAll
                | Self::ScrollOlder
                | Self::ScrollNewer
                | Self::ToggleLog
                | Self::Alerts
        )
    }

    /// Name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Up => "up",
            Self::Down => "down",
            Self::PageUp => "page_up",
            Self::PageDown => "page_down",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::FocusNext => "focus_next",
            Self::FocusPrev => "focus_prev",
            Self::Open => "open",
            Self::Back => "back",
            Self::Filter => "filter",
            Self::SortNext => "sort_next",
            Self::SortReverse => "sort_reverse",
            Self::ToggleScope => "toggle_scope",
            Self::ToggleDetail => "toggle_detail",
            Self::Help => "help",
            Self::Migrate => "migrate",
            Self::Scale => "scale",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Failover => "failover",
            Self::Drain => "drain",
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::History => "history",
            Self::Heatmap => "heatmap",
            Self::FoldAll => "fold_all",
            Self::ScrollOlder => "scroll_older",
            Self::ScrollNewer => "scroll_newer",
            Self::ToggleLog => "toggle_log",
            Self::Alerts => "alerts",
            Self::Acknowledge => "acknowledge",
            Self::Silence => "silence",
            Self::Propose => "propose",
            Self::ExportTimeline => "export_timeline",
            Self::Palette => "palette",
            Self::Logs => "logs",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Left => "left",
            Self::Right => "right",
            Self::More => "more",
            Self::Less => "less",
            Self::DeleteChar => "delete_char",
            Self::ClearInput => "clear_input",
            Self::Complete => "complete",
            Self::Follow => "follow",
            Self::Wrap => "wrap",
            Self::Times => "times",
            Self::Search => "search",
            Self::NextMatch => "next_match",
            Self::PrevMatch => "prev_match",
        }
    }

    /// What the command does, for the help view.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Up => "move up",
            Self::Down => "move down",
            Self::PageUp => "page up",
            Self::PageDown => "page down",
            Self::Top => "go to the first row",
            Self::Bottom => "go to the last row",
            Self::FocusNext => "focus the next pane",
            Self::FocusPrev => "focus the previous pane",
            Self::Open => "open: a node's containers",
            Self::Back => "back: clear filter, close overlay",
            Self::Filter => "filter the focused table",
            Self::SortNext => "sort by the next column",
            Self::SortReverse => "reverse the sort order",
            Self::ToggleScope => "containers: selected node / whole fleet",
            Self::ToggleDetail => "show or hide the detail pane",
            Self::Help => "this help",
            Self::Migrate => "migrate",
            Self::Scale => "scale",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Failover => "failover",
            Self::Drain => "drain",
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::History => "history",
            Self::Heatmap => "heatmap / tables (Tab: time or resources)",
            Self::FoldAll => "heatmap: fold or open all groups",
            Self::ScrollOlder => "heatmap: back in time",
            Self::ScrollNewer => "heatmap: towards now",
            Self::ToggleLog => "show or hide the console's log",
            Self::Alerts => "alerts: full view (recommendations, timeline)",
            Self::Acknowledge => "acknowledge the selected alert (note optional)",
            Self::Silence => "silence the selected alert (15m, 1h, 4h, typed)",
            Self::Propose => "open the alert's recommended action",
            Self::ExportTimeline => "export the incident timeline (Markdown)",
            Self::Palette => "command palette: any command or view by name",
            Self::Logs => "live log of the selected container",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Left => "previous target",
            Self::Right => "next target",
            Self::More => "one more",
            Self::Less => "one fewer",
            Self::DeleteChar => "delete the last character",
            Self::ClearInput => "clear the input",
            Self::Complete => "next choice, or write the name out",
            Self::Follow => "follow new lines, or pause",
            Self::Wrap => "wrap long lines",
            Self::Times => "show times",
            Self::Search => "search",
            Self::NextMatch => "next match",
            Self::PrevMatch => "previous match",
        }
    }

    /// Actions on nodes and containers (help lists them on their own, compactly).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Self::Migrate
                | Self::Scale
                | Self::Backup
                | Self::Restore
                | Self::Failover
                | Self::Drain
                | Self::Cordon
                | Self::Uncordon
                | Self::Start
                | Self::Stop
                | Self::Restart
                | Self::History
        )
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::MODE_ONLY)
            .find(|c| c.name() == name)
    }
}

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
}

impl Mode {
    /// The modes a config key can name, as `"dialog:<Esc>"`.
    const NAMED: [Mode; 3] = [Mode::Dialog, Mode::Prompt, Mode::Log];

    /// Prefix in the config file (`"prompt:<Ctrl-w>" = "clear_input"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Dialog => "dialog",
            Self::Prompt => "prompt",
            Self::Log => "log",
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
        let mut bindings = HashMap::new();
        for (mode, table) in [
            (Mode::Normal, normal),
            (Mode::Dialog, dialog),
            (Mode::Prompt, prompt),
            (Mode::Log, log),
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
        let mut map = Self::default();
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
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|((mode, _), c)| *mode == Mode::Normal && **c == command)
            .map(|((_, k), _)| *k)
            .collect();
        keys.sort_by_key(|k| (k.to_string().len(), k.to_string()));
        keys
    }

    /// The shortest key for a command, as text (`"?"`, `"<Tab>"`), or empty if unbound.
    pub fn hint(&self, command: Command) -> String {
        self.keys_for(command)
            .first()
            .map(Key::to_string)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn parses_characters_and_named_keys() {
        assert_eq!(
            parse_key("j").unwrap(),
            Key {
                code: KeyCode::Char('j'),
                modifiers: KeyModifiers::NONE
            }
        );
        assert_eq!(
            parse_key("<Ctrl-d>").unwrap(),
            Key {
                code: KeyCode::Char('d'),
                modifiers: KeyModifiers::CONTROL
            }
        );
        assert_eq!(
            parse_key("<C-D>").unwrap(),
            Key {
                code: KeyCode::Char('d'),
                modifiers: KeyModifiers::CONTROL
            }
        );
        assert_eq!(parse_key("<S-Tab>").unwrap().code, KeyCode::BackTab);
        assert_eq!(parse_key("<Shift-g>").unwrap(), parse_key("G").unwrap());
        assert_eq!(parse_key("<F5>").unwrap().code, KeyCode::F(5));
        assert_eq!(parse_key("<pagedown>").unwrap().code, KeyCode::PageDown);
        assert_eq!(parse_key("<Alt-x>").unwrap().modifiers, KeyModifiers::ALT);
        assert_eq!(
            parse_key("<Ctrl-->").unwrap(),
            Key {
                code: KeyCode::Char('-'),
                modifiers: KeyModifiers::CONTROL
            }
        );
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for bad in ["", "jj", "<Hyper-x>", "<F99>", "<>", "<Ctrl->", "Enter"] {
            assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn terminal_events_match_bindings() {
        let map = KeyMap::default();
        assert_eq!(
            map.command(ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Command::Bottom)
        );
        assert_eq!(
            map.command(ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Command::PageDown)
        );
        assert_eq!(
            map.command(ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            map.command(ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Command::Help)
        );
        assert_eq!(
            map.command(ev(KeyCode::Char('z'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn config_overrides_patch_the_defaults() {
        let overrides = BTreeMap::from([
            ("<Ctrl-n>".to_string(), "down".to_string()),
            ("q".to_string(), "none".to_string()),
        ]);
        let map = KeyMap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.command(ev(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Command::Down)
        );
        assert_eq!(
            map.command(ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.hint(Command::Quit), "<Ctrl-c>");
        let bad = BTreeMap::from([("x".to_string(), "explode".to_string())]);
        let err = KeyMap::with_overrides(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown command \"explode\""), "{err}");
    }

    #[test]
    fn dialog_prompt_and_log_keys_are_patched_by_mode() {
        let map = KeyMap::default();
        let esc = ev(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(map.command_in(Mode::Dialog, esc), Some(Command::Cancel));
        assert_eq!(map.command_in(Mode::Prompt, esc), Some(Command::Cancel));
        assert_eq!(map.command_in(Mode::Log, esc), Some(Command::Cancel));
        assert_eq!(map.command(esc), Some(Command::Back));
        let ctrl_u = ev(KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert_eq!(
            map.command_in(Mode::Prompt, ctrl_u),
            Some(Command::ClearInput)
        );
        assert_eq!(map.command_in(Mode::Log, ctrl_u), Some(Command::PageUp));
        assert_eq!(
            map.command_in(Mode::Prompt, ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None,
            "typed, not a command"
        );

        let overrides = BTreeMap::from([
            ("dialog:<Ctrl-g>".to_string(), "cancel".to_string()),
            ("prompt:<Ctrl-w>".to_string(), "clear_input".to_string()),
            ("log:p".to_string(), "follow".to_string()),
            ("log:f".to_string(), "none".to_string()),
        ]);
        let map = KeyMap::with_overrides(&overrides).unwrap();
        let ctrl = |c| ev(KeyCode::Char(c), KeyModifiers::CONTROL);
        let plain = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(
            map.command_in(Mode::Dialog, ctrl('g')),
            Some(Command::Cancel)
        );
        assert_eq!(map.command(ctrl('g')), None, "only in dialogs");
        assert_eq!(
            map.command_in(Mode::Prompt, ctrl('w')),
            Some(Command::ClearInput)
        );
        assert_eq!(map.command_in(Mode::Log, plain('p')), Some(Command::Follow));
        assert_eq!(map.command_in(Mode::Log, plain('f')), None);
        assert_eq!(map.command(plain('f')), Some(Command::Failover));

        for (key, command) in [
            ("dialog:x", "failover"),
            ("log:x", "confirm"),
            ("x", "wrap"),
        ] {
            let bad = BTreeMap::from([(key.to_string(), command.to_string())]);
            let err = KeyMap::with_overrides(&bad).unwrap_err().to_string();
            assert!(err.contains("unknown command"), "{key}: {err}");
        }
        let bad = BTreeMap::from([("dialog:<Nope>".to_string(), "cancel".to_string())]);
        assert!(KeyMap::with_overrides(&bad).is_err());
        // A colon alone is still the palette's key.
        let colon = BTreeMap::from([(":".to_string(), "help".to_string())]);
        let map = KeyMap::with_overrides(&colon).unwrap();
        assert_eq!(map.command(plain(':')), Some(Command::Help));
    }

    #[test]
    fn key_names_round_trip() {
        for name in [
            "j",
            "?",
            "<Ctrl-d>",
            "<Enter>",
            "<Shift-Tab>",
            "<F5>",
            "<PgDn>",
            "<Space>",
        ] {
            let key = parse_key(name).unwrap();
            assert_eq!(parse_key(&key.to_string()).unwrap(), key, "{name}");
        }
    }
}
