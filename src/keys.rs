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
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

// Key names: parsing and display, in their own file to keep this one about the keymap.
#[path = "key_names.rs"]
mod names;

pub use names::{Key, KeyError, parse_key};

/// Which command each key runs.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: HashMap<Key, Command>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let defaults: &[(&str, Command)] = &[
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
        let mut bindings = HashMap::new();
        for (name, command) in defaults {
            if let Ok(key) = parse_key(name) {
                bindings.insert(key, *command);
            }
        }
        Self { bindings }
    }
}

impl KeyMap {
    /// The defaults patched by `[keys]` entries (`"<Ctrl-n>" = "down"`, `"x" = "none"`).
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, KeyError> {
        let mut map = Self::default();
        for (key_name, command_name) in overrides {
            let key = parse_key(key_name)?;
            if command_name == "none" {
                map.bindings.remove(&key);
                continue;
            }
            let command = Command::from_name(command_name).ok_or_else(|| KeyError::BadCommand {
                key: key_name.clone(),
                command: command_name.clone(),
                known: Command::ALL
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            map.bindings.insert(key, command);
        }
        Ok(map)
    }

    /// The command bound to a key event, if any.
    pub fn command(&self, event: KeyEvent) -> Option<Command> {
        self.bindings.get(&Key::from_event(event)).copied()
    }

    /// Keys bound to a command, shortest name first, for help and hints.
    pub fn keys_for(&self, command: Command) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|(_, c)| **c == command)
            .map(|(k, _)| *k)
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
