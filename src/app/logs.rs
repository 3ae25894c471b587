//! The live log view's keys: `l` opens it on the selected container, then scrolling, search,
//! follow, wrap and close. Part of `App::update`: no I/O here; opening and closing the stream
//! are handed to the run loop as `Effect`s, and its rows come back as `Action::Logs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect};
use crate::logs::{LogEvent, LogView};

/// What a key does in the log view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogCommand {
    Close,
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Follow,
    Resume,
    Wrap,
    Times,
    Search,
    NextMatch,
    PrevMatch,
}

/// The log view's keys, as data: (key, modifiers, command). Help and the footer list them.
pub const LOG_KEYS: [(KeyCode, KeyModifiers, LogCommand); 22] = [
    (KeyCode::Esc, KeyModifiers::NONE, LogCommand::Close),
    (KeyCode::Char('q'), KeyModifiers::NONE, LogCommand::Close),
    (KeyCode::Char('c'), KeyModifiers::CONTROL, LogCommand::Quit),
    (KeyCode::Char('k'), KeyModifiers::NONE, LogCommand::Up),
    (KeyCode::Up, KeyModifiers::NONE, LogCommand::Up),
    (KeyCode::Char('j'), KeyModifiers::NONE, LogCommand::Down),
    (KeyCode::Down, KeyModifiers::NONE, LogCommand::Down),
    (KeyCode::PageUp, KeyModifiers::NONE, LogCommand::PageUp),
    (
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
        LogCommand::PageUp,
    ),
    (KeyCode::PageDown, KeyModifiers::NONE, LogCommand::PageDown),
    (
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
        LogCommand::PageDown,
    ),
    (KeyCode::Char('g'), KeyModifiers::NONE, LogCommand::Top),
    (KeyCode::Home, KeyModifiers::NONE, LogCommand::Top),
    (KeyCode::Char('G'), KeyModifiers::NONE, LogCommand::Bottom),
    (KeyCode::Char('F'), KeyModifiers::NONE, LogCommand::Follow),
    (KeyCode::Char('f'), KeyModifiers::NONE, LogCommand::Follow),
    (KeyCode::End, KeyModifiers::NONE, LogCommand::Resume),
    (KeyCode::Char('w'), KeyModifiers::NONE, LogCommand::Wrap),
    (KeyCode::Char('t'), KeyModifiers::NONE, LogCommand::Times),
    (KeyCode::Char('/'), KeyModifiers::NONE, LogCommand::Search),
    (
        KeyCode::Char('n'),
        KeyModifiers::NONE,
        LogCommand::NextMatch,
    ),
    (
        KeyCode::Char('N'),
        KeyModifiers::NONE,
        LogCommand::PrevMatch,
    ),
];

/// The command bound to `key` in the log view.
pub fn log_command(key: KeyEvent) -> Option<LogCommand> {
    let mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    let code = match key.code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
            KeyCode::Char(c.to_ascii_lowercase())
        }
        other => other,
    };
    LOG_KEYS
        .iter()
        .find(|(c, m, _)| *c == code && *m == mods)
        .map(|(_, _, cmd)| *cmd)
}

/// The open log view and the stream feeding it.
#[derive(Debug, Default)]
pub struct LogsUi {
    /// The view, while open.
    pub view: Option<LogView>,
    /// Rows kept per view (the `log_lines` setting).
    pub max_lines: usize,
    /// Rows of log on screen in the last frame (a page).
    pub page: usize,
    /// Id of the stream the view shows; events of older streams are ignored.
    session: u64,
}

impl LogsUi {
    /// A closed log view keeping `max_lines` rows once open.
    pub fn new(max_lines: usize) -> Self {
        Self {
            max_lines,
            ..Self::default()
        }
    }

    /// Id of the current stream.
    pub fn session(&self) -> u64 {
        self.session
    }
}

impl App {
    /// Opens the log view on the selected container and asks the run loop to stream it.
    pub(super) fn open_logs(&mut self) {
        let Some((node, container)) = self.selected_container() else {
            self.set_status("no container selected: pick one in the container table, then l");
            return;
        };
        if !node.is_live() {
            let name = node.name().to_string();
            self.set_status(format!("{name} is not reachable: no logs to stream"));
            return;
        }
        let view = LogView::new(node.name(), &container.spec.name, self.logs.max_lines);
        let effect = Effect::OpenLogs {
            session: self.logs.session + 1,
            endpoint: node.endpoint.clone(),
            container: container.spec.id.clone(),
            tail: u32::try_from(self.logs.max_lines).unwrap_or(u32::MAX),
        };
        self.logs.session += 1;
        self.logs.view = Some(view);
        self.alert_ui.effects.push(effect);
    }

    /// Closes the log view and stops its stream.
    pub(super) fn close_logs(&mut self) {
        if self.logs.view.take().is_some() {
            self.alert_ui.effects.push(Effect::CloseLogs);
        }
    }

    /// Rows from the stream `session`; dropped if that stream is no longer shown.
    pub(super) fn on_logs(&mut self, session: u64, event: LogEvent) {
        if session != self.logs.session {
            return;
        }
        if let Some(view) = &mut self.logs.view {
            view.apply(event);
            self.request(super::Redraw::Data);
        }
    }

    /// Handles a key while the log view is open; true when it was taken.
    pub(super) fn on_logs_key(&mut self, key: KeyEvent) -> bool {
        let page = self.logs.page.max(1) as isize;
        let Some(view) = &mut self.logs.view else {
            return false;
        };
        if view.searching {
            match key.code {
                KeyCode::Enter => {
                    view.searching = false;
                    view.current_match = None;
                    // From the bottom of the screen upwards: the newest match first.
                    if view.search.is_empty() {
                    } else if view.find(false) {
                        center(view, page);
                    } else {
                        let text = format!("no line matches /{}", view.search);
                        self.set_status(text);
                    }
                }
                KeyCode::Esc => {
                    view.searching = false;
                    view.search.clear();
                    view.current_match = None;
                }
                KeyCode::Backspace => {
                    view.search.pop();
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    view.search.clear();
                }
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.should_quit = true;
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    view.search.push(c);
                }
                _ => {}
            }
            return true;
        }
        let Some(command) = log_command(key) else {
            return true;
        };
        match command {
            LogCommand::Close => self.close_logs(),
            LogCommand::Quit => self.should_quit = true,
            LogCommand::Up => view.scroll(-1),
            LogCommand::Down => view.scroll(1),
            LogCommand::PageUp => view.scroll(-page),
            LogCommand::PageDown => view.scroll(page),
            // Top: the oldest row at the top of the screen, not at its bottom.
            LogCommand::Top => {
                view.scroll(isize::MIN / 2);
                view.scroll(page - 1);
                view.follow = false;
            }
            LogCommand::Bottom | LogCommand::Resume => view.resume(),
            LogCommand::Follow => view.toggle_follow(),
            LogCommand::Wrap => view.wrap = !view.wrap,
            LogCommand::Times => view.times = !view.times,
            LogCommand::Search => {
                view.searching = true;
                view.search.clear();
                view.current_match = None;
            }
            LogCommand::NextMatch | LogCommand::PrevMatch => {
                let forward = command == LogCommand::NextMatch;
                if view.search.is_empty() {
                    self.set_status("no search: press / and type what to find");
                } else if view.find(forward) {
                    center(view, page);
                } else {
                    let text = format!("no line matches /{}", view.search);
                    self.set_status(text);
                }
            }
        }
        true
    }
}

/// Puts the row `find` landed on in the middle of the screen, with context below it.
fn center(view: &mut LogView, page: isize) {
    let half = usize::try_from(page / 2).unwrap_or(0);
    view.scroll_from_bottom = view.scroll_from_bottom.saturating_sub(half);
    view.follow = false;
}
