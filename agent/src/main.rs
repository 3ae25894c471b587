//! `fleetdeck-agent`: parse the command line, set up logging, run the agent(s).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use color_eyre::eyre::WrapErr;
use fleetdeck_agent::cli::{self, Cli};
use tracing_subscriber::filter::Targets;

const NAME: &str = "fleetdeck-agent";

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{NAME}: {}; see {NAME} --help", what_was_wrong(&e));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = color_eyre::install() {
        eprintln!("{NAME}: cannot install error reporting: {e}");
    }
    init_logging();
    // One node's agent waits on the engine, the disk and its callers far more than it
    // computes (0.3 % of a core with 50 containers): one thread serves it, and each worker
    // thread more would hold a stack and a malloc arena. A sim fleet in one process gets a
    // worker per core.
    let runtime = if cli.fleet.is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .wrap_err("cannot start the async runtime");
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{NAME}: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e}{}", cli::advice(&e));
            ExitCode::FAILURE
        }
    }
}

/// clap's first line says what was wrong, with the list it introduces when it ends in `:`
/// (missing arguments), on one line; usage follows on request.
fn what_was_wrong(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if !first.ends_with(':') {
        return first.to_owned();
    }
    let listed: Vec<&str> = lines
        .take_while(|l| l.starts_with(char::is_whitespace) && !l.trim().is_empty())
        .map(str::trim)
        .collect();
    format!("{first} {}", listed.join(", "))
}

/// Logs to stderr, filtered by RUST_LOG (default info); plain and without timestamps under
/// journald, which adds its own. RUST_LOG is a level or a list of `target=level`: the
/// `Targets` filter reads that without the regex engine `EnvFilter` brings, which would
/// stay in the agent's memory for the sake of one line read at start.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if std::env::var_os("JOURNAL_STREAM").is_some() {
        registry.with(layer.without_time()).try_init()
    } else {
        registry.with(layer).try_init()
    };
    if let Err(e) = result {
        eprintln!("{NAME}: cannot set up logging: {e}");
    }
}
