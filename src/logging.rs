//! The console's own log: a file in the state directory, never the terminal it draws on.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use color_eyre::eyre::{Result, WrapErr};
use fleetdeck_core::private;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Events the log pane keeps (older ones stay in the file).
const LOG_PANE_EVENTS: usize = 2000;
/// Folders the console keeps in its state directory.
const STATE_SUBDIRS: [&str; 2] = ["demo", "incidents"];

/// The console's state directory (`$XDG_STATE_HOME/fleetdeck` on Linux).
pub fn state_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "fleetdeck")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// Tightens the state directory and its folders where an earlier version left them open
/// to other users (one warning each, naming the folder and both modes). What is missing is
/// left to be created owner-only when first written to.
pub fn tighten_state_dir(dir: &Path) {
    let dirs = std::iter::once(dir.to_path_buf()).chain(STATE_SUBDIRS.map(|s| dir.join(s)));
    for d in dirs.filter(|d| d.is_dir()) {
        if let Err(e) = private::secure_dir(&d) {
            tracing::warn!("cannot make {} private: {e}", d.display());
        }
    }
}

/// Sends the console's log to `dir/fleetdeck.log` (appending); level from
/// `FLEETDECK_LOG` (default `info`). Returns the file's path.
pub fn init_file_log(dir: &Path) -> Result<PathBuf> {
    private::create_dir(dir)
        .wrap_err_with(|| format!("cannot create the state directory {}", dir.display()))?;
    let path = dir.join("fleetdeck.log");
    let file = private::options()
        .create(true)
        .append(true)
        .open(&path)
        .wrap_err_with(|| format!("cannot open the log file {}", path.display()))?;
    let filter =
        EnvFilter::try_from_env("FLEETDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // The same events go to the file and to the log pane (tui-logger's bounded buffer).
    let _already = tui_logger::init_logger(tui_logger::LevelFilter::Trace);
    tui_logger::set_default_level(tui_logger::LevelFilter::Trace);
    tui_logger::set_buffer_depth(LOG_PANE_EVENTS);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(file)),
        )
        .with(tui_logger::TuiTracingSubscriberLayer)
        .try_init()
        .map_err(|e| color_eyre::eyre::eyre!("cannot start the log: {e}"))?;
    Ok(path)
}

/// Sends the log to stderr for `fleetdeck monitor`: no colours, and no timestamps when
/// stderr goes to journald (`JOURNAL_STREAM` set), which stamps each line itself. Level
/// from `FLEETDECK_LOG` (default `info`).
pub fn init_stderr_log() -> Result<()> {
    let filter =
        EnvFilter::try_from_env("FLEETDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let result = if std::env::var_os("JOURNAL_STREAM").is_some() {
        tracing_subscriber::registry()
            .with(filter)
            .with(layer.without_time())
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init()
    };
    result.map_err(|e| color_eyre::eyre::eyre!("cannot start the log: {e}"))
}
