//! A command in a container, like `docker exec`: the console's side of the agent's `Exec`
//! rpc. [`open`] starts a session on the agent's shared connection and hands back two
//! channels: what to send the command ([`ExecIn`]) and what it sends back ([`ExecOut`]),
//! which ends with exactly one [`ExecOut::Exit`] or [`ExecOut::Failed`]. Dropping the
//! [`ExecSession`] ends the session (the agent hangs up the command's terminal).
//!
//! `fleetdeck exec` (the CLI) and the console's terminal pane both use it.

use std::str::FromStr;

use fleetdeck_proto as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{AgentAddr, CLIENT_NAME, Connections};

/// Messages queued each way between a session's user and its tasks.
const SESSION_BUFFER: usize = 64;
/// Most stdin bytes sent in one message (the agent takes up to 64 KiB).
const STDIN_CHUNK_BYTES: usize = 32 * 1024;

/// What to run, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Container id, name or unique id prefix on that node.
    pub container: String,
    /// The command and its arguments (not run through a shell).
    pub command: Vec<String>,
    /// Give it a pseudo-terminal (stdout and stderr then arrive as stdout).
    pub tty: bool,
    /// Keep its stdin open for [`ExecIn::Stdin`].
    pub stdin: bool,
    /// Terminal rows (0: the runtime's default).
    pub rows: u16,
    /// Terminal columns (0: the runtime's default).
    pub cols: u16,
}

/// What the console sends a running command: the agent reads the same type.
pub use fleetdeck_core::exec::ExecControl as ExecIn;

/// What a running command sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOut {
    /// Bytes it wrote to stdout (with a TTY, all its output).
    Stdout(Vec<u8>),
    /// Bytes it wrote to stderr.
    Stderr(Vec<u8>),
    /// It ended with this status; the last message.
    Exit(i32),
    /// The session broke or the agent ended it (idle, shutdown): one line; the last message.
    Failed(String),
}

/// An open session: send on `input`, read `output` until its `Exit` or `Failed`.
#[derive(Debug)]
pub struct ExecSession {
    /// Towards the command.
    pub input: mpsc::Sender<ExecIn>,
    /// From the command.
    pub output: mpsc::Receiver<ExecOut>,
}

/// Why a session could not be opened; `Display` is one line for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The endpoint is not `HOST:PORT`.
    #[error("{0}")]
    Address(String),
    /// The agent could not be reached.
    #[error("{node}: cannot reach its agent: {message}")]
    Unreachable {
        /// The node's name.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// The agent refused the session (role, cap, no such container, bad request, ...).
    #[error("{node}: {message}")]
    Refused {
        /// The node's name.
        node: String,
        /// The agent's reason.
        message: String,
    },
}

/// Opens a session on the agent at `endpoint` (`HOST:PORT`, the node named `node`) over the
/// shared pooled connection.
pub async fn open(
    conns: &Connections,
    node: &str,
    endpoint: &str,
    req: ExecRequest,
) -> Result<ExecSession, ExecError> {
    let addr = AgentAddr::from_str(endpoint).map_err(|e| ExecError::Address(e.to_string()))?;
    let mut client = conns
        .client(&addr)
        .await
        .map_err(|e| ExecError::Unreachable {
            node: node.to_owned(),
            message: e.to_string(),
        })?;
    let (wire_tx, wire_rx) = mpsc::channel(SESSION_BUFFER);
    let start = pb::ExecInput {
        input: Some(pb::exec_input::Input::Start(pb::ExecStart {
            container: req.container,
            command: req.command,
            tty: req.tty,
            stdin: req.stdin,
            rows: u32::from(req.rows),
            cols: u32::from(req.cols),
            requested_by: CLIENT_NAME.to_owned(),
        })),
    };
    // The channel is empty and its receiver alive: this cannot wait or fail.
    let _ = wire_tx.send(start).await;
    let response = client
        .exec(ReceiverStream::new(wire_rx))
        .await
        .map_err(|s| refusal(node, &s))?;
    let (in_tx, in_rx) = mpsc::channel(SESSION_BUFFER);
    let (out_tx, out_rx) = mpsc::channel(SESSION_BUFFER);
    tokio::spawn(send_input(in_rx, wire_tx));
    tokio::spawn(read_output(response.into_inner(), out_tx, node.to_owned()));
    Ok(ExecSession {
        input: in_tx,
        output: out_rx,
    })
}

/// The agent's refusal as one line.
fn refusal(node: &str, status: &tonic::Status) -> ExecError {
    use tonic::Code;
    let message = match status.code() {
        Code::Unavailable | Code::Unknown | Code::Cancelled if status.message().is_empty() => {
            return ExecError::Unreachable {
                node: node.to_owned(),
                message: status.code().description().to_owned(),
            };
        }
        Code::Unavailable => {
            return ExecError::Unreachable {
                node: node.to_owned(),
                message: status.message().to_owned(),
            };
        }
        Code::Unimplemented => "this agent cannot run commands in containers; upgrade it".into(),
        _ => status.message().to_owned(),
    };
    ExecError::Refused {
        node: node.to_owned(),
        message: one_line(&message),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The user's input onto the wire until the user drops its sender or the call ends.
async fn send_input(mut input: mpsc::Receiver<ExecIn>, wire: mpsc::Sender<pb::ExecInput>) {
    use pb::exec_input::Input;
    while let Some(message) = input.recv().await {
        let parts: Vec<Input> = match message {
            ExecIn::Stdin(bytes) => bytes
                .chunks(STDIN_CHUNK_BYTES)
                .map(|c| Input::Stdin(c.to_vec()))
                .collect(),
            ExecIn::Resize { rows, cols } => vec![Input::Resize(pb::ExecResize {
                rows: u32::from(rows),
                cols: u32::from(cols),
            })],
            ExecIn::Signal(name) => vec![Input::Signal(name)],
            ExecIn::CloseStdin => vec![Input::CloseStdin(true)],
        };
        for part in parts {
            if wire
                .send(pb::ExecInput { input: Some(part) })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// The agent's output to the user, ending with one `Exit` or `Failed`; stops (and so ends
/// the call) as soon as the user drops its receiver.
async fn read_output(
    mut stream: tonic::Streaming<pb::ExecOutput>,
    out: mpsc::Sender<ExecOut>,
    node: String,
) {
    use pb::exec_output::Output;
    loop {
        let next = tokio::select! {
            () = out.closed() => return,
            next = stream.message() => next,
        };
        let (message, last) = match next {
            Ok(Some(pb::ExecOutput { output: Some(o) })) => match o {
                Output::Stdout(b) => (ExecOut::Stdout(b), false),
                Output::Stderr(b) => (ExecOut::Stderr(b), false),
                Output::ExitCode(c) => (ExecOut::Exit(c), true),
                Output::Error(e) => (ExecOut::Failed(format!("{node}: {}", one_line(&e))), true),
            },
            Ok(Some(pb::ExecOutput { output: None })) => continue,
            Ok(None) => (
                ExecOut::Failed(format!(
                    "{node}: the agent ended the session without an exit status"
                )),
                true,
            ),
            Err(s) => (
                ExecOut::Failed(format!(
                    "{node}: exec session lost: {}",
                    one_line(s.message())
                )),
                true,
            ),
        };
        if out.send(message).await.is_err() || last {
            return;
        }
    }
}
