//! The exec pane: `e` on a container asks what to run (the configured command, editable),
//! then a full-screen terminal shows the remote PTY through a VT parser. Every key but the
//! detach key and the scrollback keys (the exec mode of the keymap) goes to the shell as the
//! bytes an xterm sends. Part of `App::update`: no I/O here; opening, input and closing are
//! `Effect`s for the run loop, and output comes back as `Action::Exec`.

use std::fmt;
use std::num::NonZeroU16;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::exec_keys;
use super::panes::{Pane, PaneKind};
use super::prompt::PromptKind;
use super::{App, Effect, Redraw};
use crate::client::exec::{ExecIn, ExecRequest};
use crate::keys::{Command, KeyMap, Mode};

/// Rows of scrollback the pane keeps above the screen (32 B a cell: under 8 MB at 250
/// columns); older rows are dropped.
pub const EXEC_SCROLLBACK_ROWS: usize = 1000;
/// Terminal size offered before the console knows its own.
const DEFAULT_PTY: (u16, u16) = (24, 80);
/// Rows the pane's title bar takes above the terminal.
pub const EXEC_TITLE_ROWS: u16 = 1;

/// What the session reported, through the run loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    /// The agent accepted the session.
    Opened,
    /// The shell wrote this (stdout and stderr are one stream on a TTY).
    Output(Vec<u8>),
    /// The command ended with this exit code.
    Exit(i32),
    /// The session could not open or broke; one line saying why.
    Failed(String),
    /// The session's input queue was full: this many bytes of input were dropped (0: a
    /// resize or a signal).
    InputDropped(usize),
}

/// The session's state, for the title bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecStatus {
    /// Asked for; the agent has not answered yet.
    Connecting,
    /// The shell is running.
    Running,
    /// The command ended with this code; any key returns.
    Exited(i32),
    /// The session failed; any key returns.
    Failed(String),
}

/// What the exec pane keeps between sessions: the command `e` offers, the session count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPane {
    /// The command the prompt is filled with (`[exec] command`).
    pub command: String,
    /// Id of the newest session; output of older ones is ignored.
    session: u64,
}

impl Default for ExecPane {
    fn default() -> Self {
        Self {
            command: crate::config_exec::DEFAULT_EXEC_COMMAND.to_string(),
            session: 0,
        }
    }
}

/// Who asked `e`: the container and its node, kept with the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub node: String,
    pub endpoint: String,
    /// The runtime's id of the container (what the agent is asked for).
    pub container_id: String,
    /// Its name (what the operator sees).
    pub container: String,
}

/// The terminal's answers to the queries programs send it (where is the cursor, what are
/// you), which the parser does not answer itself; sent back to the shell after each batch.
#[derive(Debug, Default)]
pub struct Replies {
    pending: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, c, first) {
            // Device status report: "OK".
            (None, 'n', 5) => self.pending.extend_from_slice(b"\x1b[0n"),
            // Cursor position report, 1-based.
            (None, 'n', 6) => {
                let (row, col) = screen.cursor_position();
                let reply = format!("\x1b[{};{}R", u32::from(row) + 1, u32::from(col) + 1);
                self.pending.extend_from_slice(reply.as_bytes());
            }
            // Primary device attributes: a VT100 with advanced video, as xterm says.
            (None, 'c', 0) => self.pending.extend_from_slice(b"\x1b[?1;2c"),
            _ => {}
        }
    }
}

/// One session's terminal, on the pane stack.
pub struct ExecView {
    pub session: u64,
    pub target: ExecTarget,
    /// The command as typed.
    pub command: String,
    pub status: ExecStatus,
    /// Bytes sent to the shell and received from it.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Inputs dropped because the session's queue was full.
    pub dropped: u64,
    parser: vt100::Parser<Replies>,
}

impl fmt::Debug for ExecView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, cols) = self.size();
        f.debug_struct("ExecView")
            .field("session", &self.session)
            .field("target", &self.target)
            .field("command", &self.command)
            .field("status", &self.status)
            .field("size", &(rows, cols))
            .finish_non_exhaustive()
    }
}

impl ExecView {
    /// A terminal of `rows` x `cols` for session `session`, waiting for the agent.
    pub fn new(session: u64, target: ExecTarget, command: String, rows: u16, cols: u16) -> Self {
        let parser = vt100::Parser::new_with_callbacks(
            nonzero(rows),
            nonzero(cols),
            EXEC_SCROLLBACK_ROWS,
            Replies::default(),
        );
        Self {
            session,
            target,
            command,
            status: ExecStatus::Connecting,
            bytes_in: 0,
            bytes_out: 0,
            dropped: 0,
            parser,
        }
    }

    /// The remote screen as the parser holds it (scrolled back, if it is).
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// Rows and columns of the terminal.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    /// Feeds the shell's output through the parser; returns the terminal's answers to any
    /// queries in it, to be sent back.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.bytes_out += bytes.len() as u64;
        self.parser.process(bytes);
        std::mem::take(&mut self.parser.callbacks_mut().pending)
    }

    /// Sets the terminal's size; true if it changed.
    pub fn resize(&mut self, rows: u16, cols: u16) -> bool {
        if self.size() == (rows.max(1), cols.max(1)) {
            return false;
        }
        self.parser.set_size(nonzero(rows), nonzero(cols));
        true
    }

    /// True while the shell can be typed into.
    pub fn is_live(&self) -> bool {
        matches!(self.status, ExecStatus::Connecting | ExecStatus::Running)
    }

    /// Rows scrolled back (0 = the live screen).
    pub fn scrolled_back(&self) -> usize {
        self.parser.screen().scrollback()
    }

    /// Scrolls the view `delta` rows back (positive) or forward; the parser clamps.
    fn scroll(&mut self, delta: isize) {
        let now = self.scrolled_back();
        let to = now.saturating_add_signed(delta);
        self.parser.screen_mut().set_scrollback(to);
    }

    /// What typing `key` sends, or None when it sends nothing.
    fn encode(&self, key: KeyEvent) -> Option<Vec<u8>> {
        exec_keys::encode(key, self.parser.screen().application_cursor())
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

/// The remote terminal's size for a console of `width` x `height` (0 = not known yet):
/// the whole screen under the pane's title bar.
pub fn pty_size(width: u16, height: u16) -> (u16, u16) {
    if width == 0 || height == 0 {
        return DEFAULT_PTY;
    }
    (height.saturating_sub(EXEC_TITLE_ROWS).max(1), width)
}

/// What a key did in the exec pane that the console must follow up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Nothing more (scrolled, or nothing to send).
    Done,
    /// Send these bytes to the shell.
    Send(Vec<u8>),
    /// Leave the pane and close the session (detach, or any key once it ended).
    Close,
}

impl ExecView {
    /// A key while the pane is on top: the exec mode of `keymap` first, then the shell.
    pub fn on_key(&mut self, keymap: &KeyMap, key: KeyEvent) -> ExecOutcome {
        if key.kind == KeyEventKind::Release {
            return ExecOutcome::Done;
        }
        if !self.is_live() {
            return ExecOutcome::Close;
        }
        let page = usize::from(self.size().0.max(2) - 1) as isize;
        match keymap.command_in(Mode::Exec, key) {
            Some(Command::Detach) => return ExecOutcome::Close,
            Some(Command::PageUp) => {
                self.scroll(page);
                return ExecOutcome::Done;
            }
            Some(Command::PageDown) => {
                self.scroll(-page);
                return ExecOutcome::Done;
            }
            _ => {}
        }
        match self.encode(key) {
            Some(bytes) => {
                // Typing brings the live screen back, as terminals do.
                self.parser.screen_mut().set_scrollback(0);
                ExecOutcome::Send(bytes)
            }
            None => ExecOutcome::Done,
        }
    }
}

impl App {
    /// `e`: asks what to run in the selected container, filled with the configured command.
    pub(super) fn start_exec(&mut self) {
        let (node, container) = match self.selected_live_container("e", "no shell to open") {
            Ok(selected) => selected,
            Err(why) => return self.set_status(why),
        };
        let target = ExecTarget {
            node: node.name().to_string(),
            endpoint: node.endpoint.clone(),
            container_id: container.spec.id.clone(),
            container: container.spec.name.clone(),
        };
        let command = self.panes.exec.command.clone();
        self.open_prompt_with(PromptKind::Exec(Box::new(target)), command);
    }

    /// The exec prompt was submitted: opens the pane and asks the run loop for a session.
    pub(super) fn open_exec(&mut self, target: &ExecTarget, line: &str) -> Result<(), String> {
        let command = crate::config_exec::split_command(line)?;
        let (rows, cols) = pty_size(self.screen_width, self.screen_height);
        self.panes.exec.session += 1;
        let session = self.panes.exec.session;
        let view = ExecView::new(session, target.clone(), line.trim().to_string(), rows, cols);
        self.close_exec_pane();
        self.panes.push(Pane::Exec(Box::new(view)));
        self.emit(Effect::OpenExec {
            session,
            node: target.node.clone(),
            endpoint: target.endpoint.clone(),
            request: ExecRequest {
                container: target.container_id.clone(),
                command,
                tty: true,
                stdin: true,
                rows,
                cols,
            },
        });
        Ok(())
    }

    /// A key while the exec pane is on top.
    pub(super) fn on_exec_key(&mut self, key: KeyEvent) {
        let Some(view) = self.panes.exec_view_mut() else {
            return;
        };
        let live = view.is_live();
        let container = view.target.container.clone();
        let session = view.session;
        match view.on_key(&self.keymap, key) {
            ExecOutcome::Done => {}
            ExecOutcome::Send(bytes) => self.send_exec(session, bytes),
            ExecOutcome::Close => {
                self.close_exec_pane();
                if live {
                    self.set_status(format!("detached: the shell in {container} was closed"));
                }
            }
        }
    }

    /// A paste while the exec pane is on top goes to the shell as one input.
    pub(super) fn on_exec_paste(&mut self, text: &str) {
        let Some(view) = self.panes.exec_view_mut().filter(|v| v.is_live()) else {
            return;
        };
        let bytes = exec_keys::paste(text, view.screen().bracketed_paste());
        view.parser.screen_mut().set_scrollback(0);
        let session = view.session;
        self.send_exec(session, bytes);
    }

    fn send_exec(&mut self, session: u64, bytes: Vec<u8>) {
        if let Some(view) = self.panes.exec_view_mut() {
            view.bytes_in += bytes.len() as u64;
        }
        self.emit(Effect::ExecInput {
            session,
            input: ExecIn::Stdin(bytes),
        });
    }

    /// Takes the exec pane off the stack, wherever it is, and closes its session.
    fn close_exec_pane(&mut self) {
        if let Some(Pane::Exec(view)) = self.panes.remove(PaneKind::Exec) {
            self.emit(Effect::CloseExec {
                session: view.session,
            });
        }
    }

    /// What session `session` reported; dropped if that session is no longer shown.
    pub(super) fn on_exec(&mut self, session: u64, event: ExecEvent) {
        let Some(view) = self.panes.exec_view_mut().filter(|v| v.session == session) else {
            return;
        };
        match event {
            ExecEvent::Opened => {
                if view.status == ExecStatus::Connecting {
                    view.status = ExecStatus::Running;
                }
            }
            ExecEvent::Output(bytes) => {
                if view.status == ExecStatus::Connecting {
                    view.status = ExecStatus::Running;
                }
                let replies = view.feed(&bytes);
                if !replies.is_empty() && view.is_live() {
                    self.send_exec(session, replies);
                }
                self.request(Redraw::Data);
                return;
            }
            ExecEvent::Exit(code) => view.status = ExecStatus::Exited(code),
            ExecEvent::Failed(why) => view.status = ExecStatus::Failed(why),
            ExecEvent::InputDropped(bytes) => {
                view.dropped += 1;
                let what = match bytes {
                    0 => "a resize was dropped".to_string(),
                    n => format!("{n} bytes dropped"),
                };
                self.set_status(format!("the shell is not reading its input: {what}"));
            }
        }
        self.request(Redraw::Now);
    }

    /// The console was resized: the remote terminal follows.
    pub(super) fn resize_exec(&mut self) {
        let (rows, cols) = pty_size(self.screen_width, self.screen_height);
        let Some(view) = self.panes.exec_view_mut() else {
            return;
        };
        if view.resize(rows, cols) && view.is_live() {
            let session = view.session;
            self.emit(Effect::ExecInput {
                session,
                input: ExecIn::Resize { rows, cols },
            });
        }
    }
}
