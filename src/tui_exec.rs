//! The run loop's side of the exec pane: opens the session `Effect::OpenExec` asks for in a
//! task of its own (the loop never waits on the network), queues what is typed while it
//! opens, then hands keys to the session without waiting and its output back to
//! `App::update` as `Action::Exec`. Dropping it ends the session.

use tokio::sync::{mpsc, oneshot};

use crate::app::{Action, ExecEvent};
use crate::client::Connections;
use crate::client::exec::{self, ExecError, ExecIn, ExecOut, ExecRequest, ExecSession};

/// Most output messages taken between two looks at the keyboard: a flood of output waits
/// its turn behind the keys, and the agent is slowed by the full channel, never dropped.
pub const EXEC_BATCH: usize = 16;
/// Inputs held while the session opens (what is typed before the shell is there); more
/// are dropped and said so, as when the open session's queue is full.
const PENDING_INPUTS: usize = 64;

/// The open (or opening) exec session.
pub struct ExecLink {
    session: u64,
    state: State,
}

enum State {
    Opening {
        opened: oneshot::Receiver<Result<ExecSession, ExecError>>,
        task: tokio::task::JoinHandle<()>,
        pending: Vec<ExecIn>,
    },
    Open(ExecSession),
    /// The session ended and said so; nothing more comes.
    Done,
}

impl Drop for ExecLink {
    fn drop(&mut self) {
        if let State::Opening { task, .. } = &self.state {
            task.abort();
        }
    }
}

impl ExecLink {
    /// Starts opening session `session`.
    pub fn open(
        conns: &Connections,
        session: u64,
        node: String,
        endpoint: String,
        request: ExecRequest,
    ) -> Self {
        let (tx, opened) = oneshot::channel();
        let conns = conns.clone();
        let task = tokio::spawn(async move {
            // Nobody to tell if the pane was left meanwhile.
            let _ = tx.send(exec::open(&conns, &node, &endpoint, request).await);
        });
        Self {
            session,
            state: State::Opening {
                opened,
                task,
                pending: Vec::new(),
            },
        }
    }

    /// The session's id.
    pub fn session(&self) -> u64 {
        self.session
    }

    /// Hands `input` to the session without waiting. A full queue (the agent or the shell
    /// is not reading) drops it: the returned event says how many bytes were lost.
    pub fn send(&mut self, input: ExecIn) -> Option<ExecEvent> {
        let dropped = |input: &ExecIn| match input {
            ExecIn::Stdin(bytes) => ExecEvent::InputDropped(bytes.len()),
            _ => ExecEvent::InputDropped(0),
        };
        match &mut self.state {
            State::Opening { pending, .. } if pending.len() < PENDING_INPUTS => {
                pending.push(input);
                None
            }
            State::Opening { .. } => Some(dropped(&input)),
            State::Open(s) => match s.input.try_send(input) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(input)) => Some(dropped(&input)),
                // The session is ending; its Exit or Failed is on the way.
                Err(mpsc::error::TrySendError::Closed(_)) => None,
            },
            State::Done => None,
        }
    }

    /// Waits for the session to open or for its next output; returns the events for
    /// `App::update`, in order (empty only when nothing more will come).
    pub async fn next(&mut self, batch: &mut Vec<ExecOut>) -> Vec<ExecEvent> {
        match &mut self.state {
            State::Opening { opened, .. } => {
                let result = match opened.await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err("the exec session's task ended before it opened".to_string()),
                };
                let pending = match std::mem::replace(&mut self.state, State::Done) {
                    State::Opening { pending, .. } => pending,
                    _ => Vec::new(),
                };
                match result {
                    Ok(session) => {
                        self.state = State::Open(session);
                        let mut events = vec![ExecEvent::Opened];
                        events.extend(pending.into_iter().filter_map(|i| self.send(i)));
                        events
                    }
                    Err(why) => vec![ExecEvent::Failed(why)],
                }
            }
            State::Open(session) => {
                if session.output.recv_many(batch, EXEC_BATCH).await == 0 {
                    self.state = State::Done;
                    return Vec::new();
                }
                batch.drain(..).map(event).collect()
            }
            State::Done => std::future::pending().await,
        }
    }
}

fn event(out: ExecOut) -> ExecEvent {
    match out {
        // A TTY has one stream; without one the pane still shows both, in order.
        ExecOut::Stdout(bytes) | ExecOut::Stderr(bytes) => ExecEvent::Output(bytes),
        ExecOut::Exit(code) => ExecEvent::Exit(code),
        ExecOut::Failed(why) => ExecEvent::Failed(why),
    }
}

/// Waits for the open session's next events, forever when there is none.
pub async fn next_events(
    link: &mut Option<ExecLink>,
    batch: &mut Vec<ExecOut>,
) -> (u64, Vec<ExecEvent>) {
    match link {
        Some(l) => (l.session, l.next(batch).await),
        None => std::future::pending().await,
    }
}

/// Applies what the session reported.
pub fn deliver(app: &mut crate::app::App, session: u64, events: Vec<ExecEvent>) {
    for event in events {
        app.update(Action::Exec { session, event });
    }
}
