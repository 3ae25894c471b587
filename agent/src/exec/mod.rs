//! Exec sessions: one command in one container over a bidirectional stream, like
//! `docker exec`. Runtimes run the command ([`crate::runtime::Runtime::exec`]) and speak
//! [`ExecControl`] in and [`ExecEvent`] out; [`session`] carries that over the `Exec` rpc,
//! enforces the idle timeout and writes the session's audit line. [`ExecSessions`] holds
//! the agent's settings and its cap on concurrent sessions.

pub mod session;
pub mod shell;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::server::auth::Role;

/// Default time a session may pass without input or output before the agent closes it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Default number of exec sessions one agent runs at once.
pub const DEFAULT_MAX_SESSIONS: usize = 8;
/// Messages queued each way between a session and its runtime.
pub const EXEC_BUFFER: usize = 32;

/// What to run, checked ([`crate::validate::exec_start`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The command and its arguments (at least one).
    pub command: Vec<String>,
    /// With a pseudo-terminal.
    pub tty: bool,
    /// With stdin open.
    pub stdin: bool,
    /// Terminal rows (0: the runtime's default).
    pub rows: u16,
    /// Terminal columns (0: the runtime's default).
    pub cols: u16,
}

pub use fleetdeck_core::exec::ExecControl;

/// What a running command sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    /// Bytes it wrote to stdout (with a TTY, all its output).
    Stdout(Vec<u8>),
    /// Bytes it wrote to stderr.
    Stderr(Vec<u8>),
    /// It ended with this status; nothing follows.
    Exit(i32),
}

/// The two ends of a running command. Dropping `input` closes its stdin; dropping `output`
/// ends the session (the runtime stops the command where it can).
#[derive(Debug)]
pub struct ExecIo {
    /// Towards the command.
    pub input: mpsc::Sender<ExecControl>,
    /// From the command; ends after [`ExecEvent::Exit`].
    pub output: mpsc::Receiver<ExecEvent>,
}

impl ExecIo {
    /// A pair of channels: the session's end ([`ExecIo`]) and the runtime's.
    pub fn channel() -> (Self, mpsc::Receiver<ExecControl>, mpsc::Sender<ExecEvent>) {
        let (in_tx, in_rx) = mpsc::channel(EXEC_BUFFER);
        let (out_tx, out_rx) = mpsc::channel(EXEC_BUFFER);
        (
            Self {
                input: in_tx,
                output: out_rx,
            },
            in_rx,
            out_tx,
        )
    }
}

/// How an agent runs exec sessions (`--exec-role`, `--exec-idle-timeout-secs`,
/// `--exec-max-sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecConfig {
    /// The role a caller needs: operator (default) or admin.
    pub role: Role,
    /// A session without input or output for this long is closed.
    pub idle_timeout: Duration,
    /// Sessions run at once on this agent; more are refused.
    pub max_sessions: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            role: Role::Operator,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// The agent's exec settings and its count of open sessions.
#[derive(Debug, Clone)]
pub struct ExecSessions {
    config: ExecConfig,
    slots: Arc<Semaphore>,
}

impl ExecSessions {
    /// No session open yet.
    pub fn new(config: ExecConfig) -> Self {
        Self {
            config,
            slots: Arc::new(Semaphore::new(config.max_sessions)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// A slot for one more session; the error is the one-line refusal.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, String> {
        Arc::clone(&self.slots).try_acquire_owned().map_err(|_| {
            format!(
                "exec refused: this agent already runs {} exec sessions (its --exec-max-sessions); end one and retry",
                self.config.max_sessions
            )
        })
    }

    /// Sessions open now.
    pub fn open_count(&self) -> usize {
        self.config
            .max_sessions
            .saturating_sub(self.slots.available_permits())
    }
}
