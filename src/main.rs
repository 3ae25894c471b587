//! The `fleetdeck` binary: the console, `demo`, and the one-shot CLI commands.

use std::process::ExitCode;
use std::time::Instant;

use color_eyre::eyre::{Result, WrapErr, eyre};
use fleetdeck::app::App;
use fleetdeck::cli::{Cli, Command, EXIT_USAGE, GlobalArgs};
use fleetdeck::client::{AgentAddr, Watchers};
use fleetdeck::config::Settings;
#[cfg(feature = "demo")]
use fleetdeck::demo::DemoFleet;
use fleetdeck::keys::KeyMap;
use fleetdeck::model::Fleet;
use fleetdeck::timeline_file::{self, TIMELINE_FILE};
use fleetdeck::tui::{self, LoopOptions, TerminalGuard};
use fleetdeck::{get, limits, logging, ops, theme_file};
use fleetdeck_core::cli_docs;

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("fleetdeck: cannot install the error handler: {e}");
    }
    let cli = Cli::parse_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fleetdeck: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = runtime.block_on(async_main(cli));
    // Watch streams and demo agents are endless; do not wait for them on the way out.
    runtime.shutdown_background();
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

async fn async_main(cli: Cli) -> i32 {
    let outcome = match &cli.command {
        Some(Command::Get(args)) => return get::run_cli(&cli, args).await,
        Some(Command::Ops(cmd)) => return fleetdeck::ops_cli::run_cli(&cli, cmd).await,
        Some(Command::Config(args)) => return fleetdeck::config_cmd::run(&cli, &args.action),
        Some(Command::Logs(args)) => return fleetdeck::logs_cli::run_cli(&cli, args).await,
        Some(Command::Exec(args)) => return fleetdeck::exec_cli::run_cli(&cli, args).await,
        Some(Command::Completions { shell }) => print_docs(&cli_docs::completions(
            <Cli as clap::CommandFactory>::command(),
            *shell,
        )),
        Some(Command::Man) => cli_docs::man_page(<Cli as clap::CommandFactory>::command())
            .wrap_err("cannot render the man page")
            .and_then(|page| print_docs(&page)),
        Some(Command::Monitor(args)) => return fleetdeck::monitor::run_cli(&cli, args).await,
        Some(Command::Demo(args)) => demo(&cli, args).await,
        None => console(&cli).await,
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fleetdeck: {e:#}");
            EXIT_USAGE
        }
    }
}

fn print_docs(bytes: &[u8]) -> Result<()> {
    cli_docs::print(bytes).wrap_err("cannot write to stdout")
}

#[cfg(not(feature = "demo"))]
async fn demo(_cli: &Cli, _args: &fleetdeck::cli::DemoArgs) -> Result<()> {
    Err(eyre!(fleetdeck::demo::NOT_BUILT))
}

#[cfg(feature = "demo")]
async fn demo(cli: &Cli, args: &fleetdeck::cli::DemoArgs) -> Result<()> {
    let settings = cli.settings().map_err(|e| eyre!("{e}"))?;
    let seed = args.seed.unwrap_or_else(tui::unix_ms);
    let state_dir = logging::state_dir().map(|d| d.join("demo"));
    let fleet = DemoFleet::start(args, seed, state_dir.as_deref()).await?;
    let agents = fleet.addrs()?;
    let title = fleetdeck::demo::title(agents.len(), seed);
    // The demo's incidents are kept apart from a real fleet's.
    let result = run_console(&settings, &agents, title, state_dir, &cli.global).await;
    fleet.stop().await;
    result
}

async fn console(cli: &Cli) -> Result<()> {
    let settings = cli.settings().map_err(|e| eyre!("{e}"))?;
    if settings.agents.is_empty() {
        let file = settings
            .config_path
            .clone()
            .or_else(fleetdeck::config::default_path)
            .map_or_else(
                || "the config file".to_string(),
                |p| p.display().to_string(),
            );
        return Err(eyre!(
            "no agents to follow; give --agent HOST:PORT, set FLEETDECK_AGENTS, or list `agents` in {file} (or try `fleetdeck demo`)"
        ));
    }
    let title = format!("{} agents", settings.agents.len());
    let state_dir = logging::state_dir();
    run_console(&settings, &settings.agents, title, state_dir, &cli.global).await
}

async fn run_console(
    settings: &Settings,
    agents: &[AgentAddr],
    title: String,
    timeline_dir: Option<std::path::PathBuf>,
    flags: &GlobalArgs,
) -> Result<()> {
    // A wall screen is read-only; `--read-only` alone keeps the normal views.
    let read_only = flags.read_only || flags.wall;
    limits::ensure_for(agents.len()).map_err(|e| eyre!("{e}"))?;
    // One connection per agent, shared by its Watch stream, actions, logs and transfers.
    let conns = fleetdeck::client::Connections::new(
        settings.credentials.clone(),
        fleetdeck::client::CONNECT_TIMEOUT,
    );
    let keymap = KeyMap::default()
        .with_detach_key(settings.exec.detach_key)
        .patched(&settings.keys)
        .map_err(|e| eyre!("in [keys]: {e}"))?;
    let theme = theme_file::for_terminal(settings.theme.as_deref()).map_err(|e| eyre!("{e}"))?;
    if let Some(dir) = logging::state_dir() {
        let path = logging::init_file_log(&dir)?;
        logging::tighten_state_dir(&dir);
        tracing::info!(agents = agents.len(), log = %path.display(), "console starting");
    }
    let (tx, rx) = tokio::sync::mpsc::channel(agents.len().clamp(64, 8192) * 2);
    let watch_options = fleetdeck::client::WatchOptions {
        connections: Some(conns.clone()),
        ..settings.watch_options()
    };
    let watchers = Watchers::spawn(agents, &watch_options, &tx);
    drop(tx);
    let now = Instant::now();
    let fleet = Fleet::new(
        agents.iter().map(ToString::to_string),
        settings.failover_timeout,
        now,
    );
    let mut app = App::new(fleet, now);
    app.keymap = keymap;
    app.theme = theme;
    app.title = title;
    app.panes.logs = fleetdeck::app::LogsPane::new(settings.log_lines);
    app.panes.exec.command = settings.exec.command.clone();
    let state_dir = logging::state_dir();
    let (mut ops, refresher) = ops::start(&mut app, state_dir, agents, read_only, conns.clone());
    let coordination = settings
        .coordination
        .clone()
        .map(|etcd| ops.runner.coordinate(fleetdeck::coord::Coord::new(etcd)));
    app.ops.coordinated = coordination.is_some();
    app.ascii = settings.ascii;
    app.panes.heatmap.group_label = settings.group_label.clone();
    app.panes.heatmap.window = settings.heatmap_window;
    if flags.wall {
        app.make_wall(settings.wall_rotate);
    }
    app.set_clock(now, tui::unix_ms());
    app.set_alert_rules(settings.alert_rules.clone());
    let alertmanagers = settings.notify.alertmanagers.clone();
    if !alertmanagers.is_empty() {
        let urls = alertmanagers.iter().map(|t| t.url.to_string()).collect();
        app.use_alertmanagers(urls, fleetdeck::notify::silences::created_by());
    }
    // The incident timeline of earlier runs comes back, so an export spans a restart.
    let timeline =
        timeline_dir.map(|dir| timeline_file::resume(&mut app, &dir.join(TIMELINE_FILE)));
    let options = LoopOptions {
        refresh_interval: settings.refresh_interval,
        connections: conns,
        alertmanagers,
        timeline,
    };
    let mut guard = TerminalGuard::enter()?;
    let result = tui::run_with_ops(guard.terminal(), &mut app, rx, options, Some(ops)).await;
    drop(guard);
    refresher.abort();
    if let Some(poller) = coordination {
        poller.abort();
    }
    drop(watchers);
    tracing::info!("console stopped");
    result.wrap_err("the console stopped on an error")
}
