//! `fleetdeck monitor [--status]` from the command line: settings, the stderr log, the
//! status file's place, and exit statuses.

use std::path::PathBuf;
use std::time::Duration;

use super::status::{self, Health};
use super::{MonitorOptions, run};
use crate::cli::{Cli, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, MonitorArgs};

/// Runs `fleetdeck monitor`; returns the exit status.
pub async fn run_cli(cli: &Cli, args: &MonitorArgs) -> i32 {
    let dir = args.state_dir.clone().or_else(crate::logging::state_dir);
    if args.status {
        return print_status(dir);
    }
    if let Err(e) = crate::logging::init_stderr_log() {
        eprintln!("fleetdeck: {e}");
    }
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if settings.agents.is_empty() {
        return fail(
            "no agents to follow; give --agent HOST:PORT, set FLEETDECK_AGENTS, or list \
             `agents` in the config file",
        );
    }
    let status_path = dir.as_deref().map(status::path_in);
    if status_path.is_none() {
        tracing::warn!("no state directory (is HOME set?): no status file; give --state-dir");
    }
    let options = MonitorOptions {
        resend_interval: Duration::from_secs(args.resend_interval),
        status_path,
    };
    match run(&settings, &options).await {
        Ok(()) => EXIT_OK,
        Err(e) => fail(format!("{e:#}")),
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("fleetdeck: {message}");
    EXIT_USAGE
}

/// `--status`: the table on stdout; 0 when every receiver delivers, 2 otherwise.
fn print_status(dir: Option<PathBuf>) -> i32 {
    let Some(dir) = dir else {
        return fail("no state directory (is HOME set?); give --state-dir");
    };
    match status::read(&status::path_in(&dir)) {
        Ok(s) => {
            let (text, health) = status::report(&s, crate::tui::unix_ms());
            print!("{text}");
            match health {
                Health::Ok => EXIT_OK,
                Health::Failing | Health::NotRunning => EXIT_UNREACHABLE,
            }
        }
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            EXIT_UNREACHABLE
        }
    }
}
