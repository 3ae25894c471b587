//! One exec session on the wire: the `Exec` rpc's input stream into a running command, the
//! command's output back, the idle timeout, and one audit line when it ends (caller,
//! container, command, start, end, exit code, bytes each way; never the bytes themselves).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fleetdeck_proto as pb;
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{EXEC_BUFFER, ExecControl, ExecEvent, ExecIo, ExecSpec};
use crate::audit::{Caller, clip, now_rfc3339};
use crate::cancel::Cancel;
use crate::server::limits::{REVALIDATE_INTERVAL, StillValid};

/// What tonic streams back for Exec.
pub type ExecStream = ReceiverStream<Result<pb::ExecOutput, Status>>;

/// Longest argument written to the audit line; the command is cut after a few of them.
const AUDIT_ARG_BYTES: usize = 128;
/// Arguments written to the audit line at most.
const AUDIT_ARGS: usize = 16;

/// The audit line of one exec session.
#[derive(Debug, Clone, Serialize)]
pub struct ExecRecord {
    /// When the session ended, RFC 3339.
    pub time: String,
    /// Always `container.exec`.
    pub action: &'static str,
    /// Who ran it.
    pub caller: Caller,
    /// The container's name.
    pub target: String,
    /// The container's runtime id.
    pub container_id: String,
    /// The command and its arguments (long ones cut).
    pub command: Vec<String>,
    /// With a pseudo-terminal.
    pub tty: bool,
    /// When the session started, RFC 3339.
    pub started: String,
    /// When it ended, RFC 3339.
    pub ended: String,
    /// The command's exit status, when it ended by itself.
    pub exit_code: Option<i32>,
    /// How it ended: `exited`, `idle`, `client gone`, `agent stopping`, or the error.
    pub outcome: String,
    /// Stdin bytes received.
    pub bytes_in: u64,
    /// Stdout and stderr bytes sent.
    pub bytes_out: u64,
}

/// Who opened a session on what.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The caller, authenticated.
    pub caller: Caller,
    /// The container's name.
    pub name: String,
    /// Its runtime id.
    pub id: String,
    /// What runs.
    pub spec: ExecSpec,
}

/// Where a session's end is recorded.
pub type Recorder = std::sync::Arc<dyn Fn(&ExecRecord) + Send + Sync>;

/// How a session ended.
enum End {
    Exited(i32),
    Idle,
    ClientGone,
    Stopping,
    Revoked(String),
    Failed(String),
}

/// What bounds a session and where its end goes.
pub struct Rules {
    /// Closed after this long without input or output.
    pub idle: Duration,
    /// Closed when this fires (the agent stopping).
    pub cancel: Cancel,
    /// The session's place under the agent's cap, held until the end.
    pub slot: OwnedSemaphorePermit,
    /// Gets the audit line.
    pub record: Recorder,
    /// Asked every [`REVALIDATE_INTERVAL`]: a caller whose token was revoked loses its
    /// session.
    pub still_valid: Option<StillValid>,
}

/// Serves one session: `inbound` (after its start message) into `io`, `io`'s output back,
/// until the command exits, the client goes, the idle time passes without traffic, the
/// caller's credential is revoked, or the agent stops.
pub fn serve<S>(io: ExecIo, inbound: S, opened: Opened, rules: Rules) -> ExecStream
where
    S: Stream<Item = Result<pb::ExecInput, Status>> + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(EXEC_BUFFER);
    tokio::spawn(async move {
        let Rules {
            idle,
            cancel,
            slot,
            record,
            still_valid,
        } = rules;
        let started = now_rfc3339();
        let mut counts = (0_u64, 0_u64);
        let end = pump(io, inbound, &tx, (idle, &cancel, still_valid), &mut counts).await;
        let (exit_code, outcome) = match &end {
            End::Exited(code) => (Some(*code), "exited".to_owned()),
            End::Idle => (None, "idle".to_owned()),
            End::ClientGone => (None, "client gone".to_owned()),
            End::Stopping => (None, "agent stopping".to_owned()),
            End::Revoked(m) => (None, clip(&format!("revoked: {m}"), 256)),
            End::Failed(m) => (None, clip(m, 256)),
        };
        let last = match end {
            End::Exited(code) => Some(pb::exec_output::Output::ExitCode(code)),
            End::Idle => Some(pb::exec_output::Output::Error(format!(
                "the exec session was closed after {} without input or output",
                fleetdeck_core::format::duration(idle)
            ))),
            End::Stopping => Some(pb::exec_output::Output::Error(
                "the agent is shutting down".into(),
            )),
            End::Failed(m) | End::Revoked(m) => Some(pb::exec_output::Output::Error(m)),
            End::ClientGone => None,
        };
        if let Some(output) = last {
            let _ = tx
                .send(Ok(pb::ExecOutput {
                    output: Some(output),
                }))
                .await;
        }
        let ended = now_rfc3339();
        record(&ExecRecord {
            time: ended.clone(),
            action: "container.exec",
            caller: opened.caller,
            target: clip(&opened.name, AUDIT_ARG_BYTES),
            container_id: opened.id,
            command: opened
                .spec
                .command
                .iter()
                .take(AUDIT_ARGS)
                .map(|a| clip(a, AUDIT_ARG_BYTES))
                .collect(),
            tty: opened.spec.tty,
            started,
            ended,
            exit_code,
            outcome,
            bytes_in: counts.0,
            bytes_out: counts.1,
        });
        drop(slot);
    });
    ReceiverStream::new(rx)
}

/// Moves bytes both ways until the session ends; counts (in, out) as it goes. Input is
/// forwarded by its own task, so a command that is slow to read never stalls its output.
async fn pump<S>(
    io: ExecIo,
    inbound: S,
    tx: &mpsc::Sender<Result<pb::ExecOutput, Status>>,
    (idle, cancel, still_valid): (Duration, &Cancel, Option<StillValid>),
    counts: &mut (u64, u64),
) -> End
where
    S: Stream<Item = Result<pb::ExecInput, Status>> + Send + Unpin + 'static,
{
    let ExecIo { input, mut output } = io;
    let activity = Arc::new(Notify::new());
    let bytes_in = Arc::new(AtomicU64::new(0));
    let mut forward = tokio::spawn(forward_input(
        inbound,
        input,
        Arc::clone(&activity),
        Arc::clone(&bytes_in),
    ));
    let mut forwarding = true;
    let mut last = Instant::now();
    let mut recheck = tokio::time::interval(REVALIDATE_INTERVAL);
    let end = loop {
        let deadline = tokio::time::sleep_until(last + idle);
        tokio::select! {
            biased;
            () = cancel.cancelled() => break End::Stopping,
            () = tx.closed() => break End::ClientGone,
            event = output.recv() => {
                last = Instant::now();
                let out = match event {
                    Some(ExecEvent::Exit(code)) => break End::Exited(code),
                    None => break End::Failed("the command's output ended without an exit status".into()),
                    Some(ExecEvent::Stdout(b)) => pb::exec_output::Output::Stdout(b),
                    Some(ExecEvent::Stderr(b)) => pb::exec_output::Output::Stderr(b),
                };
                if let pb::exec_output::Output::Stdout(b) | pb::exec_output::Output::Stderr(b) = &out {
                    counts.1 += b.len() as u64;
                }
                if tx.send(Ok(pb::ExecOutput { output: Some(out) })).await.is_err() {
                    break End::ClientGone;
                }
            }
            () = activity.notified() => last = Instant::now(),
            done = &mut forward, if forwarding => {
                forwarding = false;
                match done {
                    // The client sent all it will; the command runs on until it exits.
                    Ok(None) => {}
                    Ok(Some(end)) => break end,
                    Err(e) => break End::Failed(format!("the session's input broke: {e}")),
                }
            }
            () = deadline => break End::Idle,
            _ = recheck.tick(), if still_valid.is_some() => {
                if let Some(Err(why)) = still_valid.as_ref().map(|check| check()) {
                    break End::Revoked(why);
                }
            }
        }
    };
    forward.abort();
    counts.0 = bytes_in.load(Ordering::Relaxed);
    end
}

/// Checks and forwards the client's messages to the command until the client stops
/// sending (`None`) or sends something wrong or breaks off (`Some`, the session's end).
async fn forward_input<S>(
    mut inbound: S,
    input: mpsc::Sender<ExecControl>,
    activity: Arc<Notify>,
    bytes_in: Arc<AtomicU64>,
) -> Option<End>
where
    S: Stream<Item = Result<pb::ExecInput, Status>> + Send + Unpin + 'static,
{
    loop {
        let m = match inbound.next().await {
            None => return None,
            Some(Err(_)) => return Some(End::ClientGone),
            Some(Ok(m)) => m,
        };
        activity.notify_one();
        let control = match crate::validate::exec_input(&m) {
            Ok(c) => c,
            Err(e) => return Some(End::Failed(e)),
        };
        if let ExecControl::Stdin(b) = &control {
            bytes_in.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        // A command that has ended takes no more; its exit is on the way.
        let _ = input.send(control).await;
    }
}
