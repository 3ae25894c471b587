//! Exec on the Docker Engine: `create_exec` and an attached `start_exec`, with the TTY
//! resized through the engine's exec resize. The engine has no call that signals an exec'd
//! process, so on a TTY the signals a terminal makes from keys (INT, QUIT, TSTP) are sent
//! as those keys; others are not delivered.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::DockerRuntime;
use crate::exec::{ExecControl, ExecEvent, ExecIo, ExecSpec};
use crate::runtime::RuntimeError;

/// Largest output frame read from the engine at once.
const OUTPUT_CAPACITY_BYTES: usize = 64 * 1024;
/// Inspections of an exec whose output ended, before its exit status is given up on.
const EXIT_POLLS: u32 = 50;
/// Pause between those inspections.
const EXIT_POLL_PAUSE: Duration = Duration::from_millis(20);
/// What the engine's exit status is when none could be read (as a shell reports a lost
/// process).
const UNKNOWN_EXIT: i32 = 255;

impl DockerRuntime {
    /// Runs `spec` in container `id` through the engine's exec API.
    pub(super) async fn exec_in(&self, id: &str, spec: &ExecSpec) -> Result<ExecIo, RuntimeError> {
        let options = CreateExecOptions::<String> {
            attach_stdin: Some(spec.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(spec.tty),
            cmd: Some(spec.command.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, options)
            .await
            .map_err(|e| self.api_error(id, e))?;
        let exec_id = created.id;
        let start = StartExecOptions {
            detach: false,
            tty: spec.tty,
            output_capacity: Some(OUTPUT_CAPACITY_BYTES),
        };
        let started = self
            .docker
            .start_exec(&exec_id, Some(start))
            .await
            .map_err(|e| self.api_error(id, e))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(RuntimeError::Failed(
                "the engine started the command detached".into(),
            ));
        };
        if spec.tty && spec.rows > 0 && spec.cols > 0 {
            resize(&self.docker, &exec_id, spec.rows, spec.cols).await;
        }
        let (io, controls, events) = ExecIo::channel();
        tokio::spawn(write_input(
            self.docker.clone(),
            exec_id.clone(),
            spec.tty,
            input,
            controls,
        ));
        tokio::spawn(read_output(self.docker.clone(), exec_id, output, events));
        Ok(io)
    }
}

async fn resize(docker: &bollard::Docker, exec_id: &str, rows: u16, cols: u16) {
    let size = ResizeExecOptions {
        height: rows,
        width: cols,
    };
    if let Err(e) = docker.resize_exec(exec_id, size).await {
        tracing::debug!("exec resize failed: {e}");
    }
}

/// The session's input into the command until the session ends.
async fn write_input(
    docker: bollard::Docker,
    exec_id: String,
    tty: bool,
    mut stdin: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    mut controls: mpsc::Receiver<ExecControl>,
) {
    let mut open = true;
    while let Some(control) = controls.recv().await {
        let bytes = match control {
            ExecControl::Stdin(b) => b,
            ExecControl::Resize { rows, cols } => {
                if tty {
                    resize(&docker, &exec_id, rows, cols).await;
                }
                continue;
            }
            ExecControl::Signal(name) => match (tty, name.as_str()) {
                (true, "INT") => vec![0x03],
                (true, "QUIT") => vec![0x1c],
                (true, "TSTP") => vec![0x1a],
                _ => {
                    tracing::debug!(
                        signal = name,
                        "the docker runtime cannot deliver this signal"
                    );
                    continue;
                }
            },
            ExecControl::CloseStdin => {
                if open {
                    // End of file for the command: the write half of the connection closes.
                    let _ = stdin.shutdown().await;
                    open = false;
                }
                continue;
            }
        };
        if open && (stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err()) {
            open = false;
        }
    }
}

/// The command's output to the session, then its exit status.
async fn read_output(
    docker: bollard::Docker,
    exec_id: String,
    mut output: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    events: mpsc::Sender<ExecEvent>,
) {
    while let Some(frame) = output.next().await {
        let event = match frame {
            Ok(LogOutput::StdErr { message }) => ExecEvent::Stderr(message.to_vec()),
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                ExecEvent::Stdout(message.to_vec())
            }
            Ok(LogOutput::StdIn { .. }) => continue,
            Err(e) => {
                tracing::debug!("exec output broke: {e}");
                break;
            }
        };
        if events.send(event).await.is_err() {
            // The session is gone; dropping the connection hangs up a TTY command.
            return;
        }
    }
    let code = exit_code(&docker, &exec_id).await;
    let _ = events.send(ExecEvent::Exit(code)).await;
}

/// The exec's exit status once the engine has it.
async fn exit_code(docker: &bollard::Docker, exec_id: &str) -> i32 {
    for _ in 0..EXIT_POLLS {
        match docker.inspect_exec(exec_id).await {
            Ok(r) if r.running != Some(true) => {
                return r
                    .exit_code
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(UNKNOWN_EXIT);
            }
            Ok(_) => tokio::time::sleep(EXIT_POLL_PAUSE).await,
            Err(e) => {
                tracing::debug!("cannot inspect exec: {e}");
                return UNKNOWN_EXIT;
            }
        }
    }
    UNKNOWN_EXIT
}
