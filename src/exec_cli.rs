//! `fleetdeck exec CONTAINER -- CMD [ARGS...]`: a command in a container on whichever node
//! runs it, like `docker exec`. `-i` pipes stdin to it, `-t` gives it a terminal (the local
//! one goes into raw mode and is restored on every way out, and its size follows the
//! window), and its exit status is this command's. Its stderr goes to stderr.
//!
//! Exit status 125 means exec itself failed (refused, unreachable, no such container), as
//! with `docker exec`; anything else is the command's.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::Cli;
use crate::client::Connections;
use crate::client::exec::{self, ExecIn, ExecOut, ExecRequest};
use crate::logs_cli::EXIT_INTERRUPTED;

/// Exit status when exec itself failed, as `docker exec` has it.
pub const EXIT_EXEC_FAILED: i32 = 125;
/// Time allowed to find the container.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// Stdin bytes read at once.
const STDIN_CHUNK_BYTES: usize = 16 * 1024;

/// `fleetdeck exec`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExecArgs {
    /// Container name, id or id prefix.
    pub container: String,
    /// The node it runs on (needed when the name is on several nodes).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Keep stdin open and send it to the command.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the command a terminal (raw mode here; Ctrl-c goes to the command).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// What `main` calls for `fleetdeck exec`; returns the exit status.
pub async fn run_cli(cli: &Cli, args: &ExecArgs) -> i32 {
    if cli.global.read_only || cli.global.wall {
        eprintln!(
            "fleetdeck: exec is refused on a read-only console (--read-only, --wall); run it without those flags"
        );
        return EXIT_EXEC_FAILED;
    }
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            return EXIT_EXEC_FAILED;
        }
    };
    if settings.agents.is_empty() {
        eprintln!(
            "fleetdeck: no agents to ask; pass --agent HOST:PORT, set FLEETDECK_AGENTS, or add agents = [\"HOST:PORT\"] to the config file"
        );
        return EXIT_EXEC_FAILED;
    }
    let conns = Connections::new(settings.credentials.clone(), LOOKUP_TIMEOUT);
    let fleet = crate::get::fleet_once(&settings.agents, LOOKUP_TIMEOUT, &conns).await;
    let (node, container) =
        match crate::model::locate::find_container(&fleet, args.node.as_deref(), &args.container) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("fleetdeck: {e}");
                return EXIT_EXEC_FAILED;
            }
        };
    let raw = args.tty && std::io::stdin().is_terminal();
    let (cols, rows) = if args.tty {
        crossterm::terminal::size().unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    let request = ExecRequest {
        container: container.spec.id.clone(),
        command: args.command.clone(),
        tty: args.tty,
        stdin: args.interactive,
        rows,
        cols,
    };
    let session = match exec::open(&conns, node.name(), &node.endpoint, request).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            return EXIT_EXEC_FAILED;
        }
    };
    let guard = if raw {
        match RawMode::enter() {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("fleetdeck: cannot put the terminal in raw mode: {e}");
                return EXIT_EXEC_FAILED;
            }
        }
    } else {
        None
    };
    let outcome = run_session(session, args, raw).await;
    // The terminal is itself again before anything more is printed.
    drop(guard);
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("fleetdeck: {message}");
            EXIT_EXEC_FAILED
        }
    }
}

/// Puts the local terminal in raw mode; restores it when dropped (also on a panic's unwind).
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<Self> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Copies stdin in (with `-i`), output out, window sizes in (with `-t`), until the command
/// exits (its status) or the session fails (one line). SIGTERM and SIGHUP end it; without a
/// terminal, so does Ctrl-c (status 130).
async fn run_session(
    mut session: exec::ExecSession,
    args: &ExecArgs,
    raw: bool,
) -> Result<i32, String> {
    if args.interactive {
        spawn_stdin_reader(session.input.clone());
    }
    let mut winch = if args.tty {
        signal(SignalKind::window_change()).ok()
    } else {
        None
    };
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut interrupt = if raw {
        None
    } else {
        signal(SignalKind::interrupt()).ok()
    };
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    loop {
        tokio::select! {
            out = session.output.recv() => match out {
                Some(ExecOut::Stdout(b)) => {
                    // A closed stdout (`| head`) is not the command's business.
                    let _ = stdout.write_all(&b).and_then(|()| stdout.flush());
                }
                Some(ExecOut::Stderr(b)) => {
                    let _ = stderr.write_all(&b).and_then(|()| stderr.flush());
                }
                Some(ExecOut::Exit(code)) => return Ok(code),
                Some(ExecOut::Failed(m)) => return Err(m),
                None => return Err("the exec session ended without an exit status".into()),
            },
            Some(()) = recv(&mut winch) => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = session.input.send(ExecIn::Resize { rows, cols }).await;
                }
            }
            Some(()) = recv(&mut interrupt) => return Ok(EXIT_INTERRUPTED),
            _ = term.recv() => return Ok(128 + 15),
            _ = hangup.recv() => return Ok(128 + 1),
        }
    }
}

/// The next signal from `s`, or never when there is no handler.
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads stdin on its own thread (reads block) and sends it on; at its end, closes the
/// command's stdin.
fn spawn_stdin_reader(input: mpsc::Sender<ExecIn>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0_u8; STDIN_CHUNK_BYTES];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = input.blocking_send(ExecIn::CloseStdin);
                    return;
                }
                Ok(n) => {
                    if input
                        .blocking_send(ExecIn::Stdin(buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
}
