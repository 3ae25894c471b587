//! The log pane: `l` opens it on the selected container, then scrolling, search, follow,
//! wrap and close, through the log mode of the keymap. Part of `App::update`: no I/O here;
//! opening and closing the stream are handed to the run loop as `Effect`s, and its rows
//! come back as `Action::Logs`.

use crossterm::event::KeyEvent;

use super::filter::typed;
use super::panes::{Pane, PaneKind};
use super::{App, Effect};
use crate::keys::{Command, KeyMap, Mode};
use crate::logs::{LogEvent, LogView};

/// The log pane's settings and the stream feeding it; the view itself is on the stack.
#[derive(Debug, Default)]
pub struct LogsPane {
    /// Rows kept per view (the `log_lines` setting).
    pub max_lines: usize,
    /// Rows of log on screen in the last frame (a page).
    pub page: usize,
    /// Id of the stream the view shows; events of older streams are ignored.
    session: u64,
}

impl LogsPane {
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

    /// A key while `view` is on top: it takes them all, looked up in the log mode of
    /// `keymap` (and its prompt mode while a search is typed).
    pub fn on_key(&self, view: &mut LogView, keymap: &KeyMap, key: KeyEvent) -> LogOutcome {
        let page = self.page.max(1) as isize;
        let command = keymap.command_in(Mode::Log, key);
        let prompt = keymap.command_in(Mode::Prompt, key);
        on_key(view, command, prompt, key, page)
    }
}

impl App {
    /// Opens the log view on the selected container and asks the run loop to stream it.
    pub(super) fn open_logs(&mut self) {
        let (node, container) = match self.selected_live_container("l", "no logs to stream") {
            Ok(selected) => selected,
            Err(why) => return self.set_status(why),
        };
        let logs = &self.panes.logs;
        let view = LogView::new(node.name(), &container.spec.name, logs.max_lines);
        let effect = Effect::OpenLogs {
            session: logs.session + 1,
            endpoint: node.endpoint.clone(),
            container: container.spec.id.clone(),
            tail: u32::try_from(logs.max_lines).unwrap_or(u32::MAX),
        };
        self.panes.logs.session += 1;
        self.panes.remove(PaneKind::Logs);
        self.panes.push(Pane::Logs(Box::new(view)));
        self.emit(effect);
    }

    /// Closes the log view and stops its stream.
    fn close_logs(&mut self) {
        if self.panes.remove(PaneKind::Logs).is_some() {
            self.emit(Effect::CloseLogs);
        }
    }

    /// Rows from the stream `session`; dropped if that stream is no longer shown.
    pub(super) fn on_logs(&mut self, session: u64, event: LogEvent) {
        let Some((pane, view)) = self.panes.log_pane_mut() else {
            return;
        };
        if session == pane.session {
            view.apply(event);
            self.request(super::Redraw::Data);
        }
    }

    /// A key while the log view is on top: the pane handles it, the console follows up.
    pub(super) fn on_logs_key(&mut self, key: KeyEvent) {
        let Some((pane, view)) = self.panes.log_pane_mut() else {
            return;
        };
        match pane.on_key(view, &self.keymap, key) {
            LogOutcome::Done => {}
            LogOutcome::Close => self.close_logs(),
            LogOutcome::Quit => self.should_quit = true,
            LogOutcome::Status(text) => self.set_status(text),
        }
    }
}

/// What a key did to the log view that the console must follow up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutcome {
    /// Nothing more to do.
    Done,
    /// Close the view and stop its stream.
    Close,
    /// Quit the console.
    Quit,
    /// Show this on the status line.
    Status(String),
}

/// A key in the log view: `command` is its log-mode binding, `prompt` its prompt-mode
/// one (while a search is typed), `page` the rows on screen.
fn on_key(
    view: &mut LogView,
    command: Option<Command>,
    prompt: Option<Command>,
    key: KeyEvent,
    page: isize,
) -> LogOutcome {
    let no_match = |view: &LogView| LogOutcome::Status(format!("no line matches /{}", view.search));
    if view.searching {
        match prompt {
            Some(Command::Confirm) => {
                view.searching = false;
                view.current_match = None;
                // From the bottom of the screen upwards: the newest match first.
                if view.search.is_empty() {
                } else if view.find(false) {
                    center(view, page);
                } else {
                    return no_match(view);
                }
            }
            Some(Command::Cancel) => {
                view.searching = false;
                view.search.clear();
                view.current_match = None;
            }
            Some(Command::DeleteChar) => {
                view.search.pop();
            }
            Some(Command::ClearInput) => view.search.clear(),
            Some(Command::Quit) => return LogOutcome::Quit,
            Some(_) => {}
            None => {
                if let Some(c) = typed(key) {
                    view.search.push(c);
                }
            }
        }
        return LogOutcome::Done;
    }
    let Some(command) = command else {
        return LogOutcome::Done;
    };
    match command {
        Command::Cancel => return LogOutcome::Close,
        Command::Quit => return LogOutcome::Quit,
        Command::Up => view.scroll(-1),
        Command::Down => view.scroll(1),
        Command::PageUp => view.scroll(-page),
        Command::PageDown => view.scroll(page),
        // Top: the oldest row at the top of the screen, not at its bottom.
        Command::Top => {
            view.scroll(isize::MIN / 2);
            view.scroll(page - 1);
            view.follow = false;
        }
        Command::Bottom => view.resume(),
        Command::Follow => view.toggle_follow(),
        Command::Wrap => view.wrap = !view.wrap,
        Command::Times => view.times = !view.times,
        Command::Search => {
            view.searching = true;
            view.search.clear();
            view.current_match = None;
        }
        Command::NextMatch | Command::PrevMatch => {
            let forward = command == Command::NextMatch;
            if view.search.is_empty() {
                return LogOutcome::Status("no search: press / and type what to find".into());
            } else if view.find(forward) {
                center(view, page);
            } else {
                return no_match(view);
            }
        }
        _ => {}
    }
    LogOutcome::Done
}

/// Puts the row `find` landed on in the middle of the screen, with context below it.
fn center(view: &mut LogView, page: isize) {
    let half = usize::try_from(page / 2).unwrap_or(0);
    view.scroll_from_bottom = view.scroll_from_bottom.saturating_sub(half);
    view.follow = false;
}
