//! Command-line definitions (clap derive) and how they resolve into [`Settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, AGENTS_ENV, ConfigError, Overrides, Settings};

/// Exit status: everything worked.
pub const EXIT_OK: i32 = 0;
/// Exit status: bad usage or configuration.
pub const EXIT_USAGE: i32 = 1;
/// Exit status: `get` answered, but some agents were unreachable.
pub const EXIT_UNREACHABLE: i32 = 2;

/// fleetdeck: operate a fleet of container hosts from the terminal.
#[derive(Debug, Clone, Parser)]
#[command(name = "fleetdeck", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; none opens the console.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct GlobalArgs {
    /// Agent to follow; repeat for more. Default: $FLEETDECK_AGENTS (comma-separated),
    /// then `agents` in the config file.
    #[arg(long = "agent", value_name = "HOST:PORT", global = true)]
    pub agents: Vec<String>,
    /// Config file [default: config.toml in the platform config dir].
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Seconds an unreachable node stays UNKNOWN before it is FAILED [default: 10].
    #[arg(long, value_name = "SECS", global = true)]
    pub failover_timeout: Option<u64>,
    /// Colour theme: dark, light, high-contrast, colour-blind, a theme in
    /// <config dir>/fleetdeck/themes, or a path to a .toml file. NO_COLOR turns colours off.
    #[arg(long, value_name = "NAME|PATH", global = true)]
    pub theme: Option<String>,
    /// Show the fleet but change nothing (wall screens): actions are refused and stale
    /// copies after a failover are raised as a critical alert instead of being stopped.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Read-only wall screen: fleet summary, heatmap and alerts in rotation; no actions.
    #[arg(long, global = true)]
    pub wall: bool,
    /// ASCII borders and glyphs only (plain consoles, SSH clients without Unicode).
    #[arg(long, global = true)]
    pub ascii: bool,
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Start simulated agents in-process and open the console on them.
    Demo(DemoArgs),
    /// Print nodes or containers once and exit (for scripts and runbooks).
    Get(GetArgs),
    /// Actions: scale, migrate, backup, backups, restore, failover, drain, cordon, ...
    #[command(flatten)]
    Ops(crate::ops_cli::OpsCommand),
    /// Find, check or write the config file.
    Config(ConfigArgs),
    /// Print a container's log, from whichever node runs it (like `docker logs`).
    Logs(crate::logs_cli::LogsArgs),
    /// Run a command in a container, from whichever node runs it (like `docker exec`):
    /// `fleetdeck exec web-1 -it -- sh`.
    Exec(crate::exec_cli::ExecArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: fleetdeck_core::cli_docs::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Evaluate the alert rules with no screen and send alerts to Alertmanager and
    /// webhooks ([notify]); logs to stderr, stops on SIGTERM.
    Monitor(MonitorArgs),
}

/// `fleetdeck monitor`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MonitorArgs {
    /// Alertmanager base URL to post alerts to, added to `[notify] alertmanager`; repeat
    /// for each member of an Alertmanager cluster.
    #[arg(long = "alertmanager", value_name = "URL")]
    pub alertmanagers: Vec<String>,
    /// Print how the running monitor's receivers are doing, then exit: 0 when all
    /// deliver, 2 when one is failing or no monitor is running.
    #[arg(long)]
    pub status: bool,
    /// Folder of the status file [default: the console's state directory].
    #[arg(long, value_name = "PATH")]
    pub state_dir: Option<PathBuf>,
    /// Seconds between two posts of a firing alert to Alertmanager.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub resend_interval: u64,
}

/// `fleetdeck config`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// What `fleetdeck config` does.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ConfigAction {
    /// Print the config file's path.
    Path,
    /// Validate the config file (and the theme and keys it names); one line, non-zero on error.
    Check,
    /// Write a commented default config file.
    Init {
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// `fleetdeck demo`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DemoArgs {
    /// Simulated nodes.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub nodes: u16,
    /// Containers per node.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub containers: u16,
    /// Seed for the simulation (random when left out).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `fleetdeck get`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GetArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: GetWhat,
    /// Only this node (its id, or its agent's HOST:PORT).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// What `get` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetWhat {
    Nodes,
    Containers,
}

/// How `get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// A JSON array for scripts.
    Json,
}

impl Cli {
    /// Parses the process arguments. Help and version exit 0; usage errors print clap's
    /// message and exit 1, since 2 means "some agents unreachable" for `get`.
    pub fn parse_args() -> Self {
        match Self::try_parse() {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
                // Nothing better to do if even stderr is gone.
                let _unprintable = e.print();
                std::process::exit(code)
            }
        }
    }

    /// The flags that override the config file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            agents: self.global.agents.clone(),
            config: self.global.config.clone(),
            failover_timeout_secs: self.global.failover_timeout,
            theme: self.global.theme.clone(),
            ascii: self.global.ascii,
            alertmanagers: match &self.command {
                Some(Command::Monitor(m)) => m.alertmanagers.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// Resolves settings from these flags, `$FLEETDECK_AGENTS` and the config file.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let env = match std::env::var(AGENTS_ENV) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => return Err(ConfigError::Env(AGENTS_ENV)),
        };
        let mut settings = config::resolve(
            &self.overrides(),
            env.as_deref(),
            config::default_path().as_deref(),
        )?;
        let token = match std::env::var(crate::client::TOKEN_ENV) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::Env(crate::client::TOKEN_ENV));
            }
        };
        settings.credentials =
            crate::client::credentials_file::with_env_token(settings.credentials, token.as_deref())
                .map_err(ConfigError::Token)?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleetdeck").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_is_the_console() {
        let cli = parse(&[
            "--agent",
            "a:1",
            "--agent",
            "b:2",
            "--failover-timeout",
            "3",
        ])
        .unwrap();
        assert_eq!(cli.command, None);
        assert_eq!(cli.global.agents, ["a:1", "b:2"]);
        let o = cli.overrides();
        assert_eq!(o.failover_timeout_secs, Some(3));
        assert_eq!(o.agents.len(), 2);
    }

    #[test]
    fn demo_has_defaults() {
        let cli = parse(&["demo"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Demo(DemoArgs {
                nodes: 8,
                containers: 12,
                seed: None
            }))
        );
        let cli = parse(&["demo", "--nodes", "3", "--containers", "0", "--seed", "9"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Demo(DemoArgs {
                nodes: 3,
                containers: 0,
                seed: Some(9)
            }))
        );
        assert!(parse(&["demo", "--nodes", "0"]).is_err());
    }

    #[test]
    fn get_takes_the_global_options_after_the_subcommand() {
        let cli = parse(&[
            "get",
            "containers",
            "--agent",
            "a:1",
            "--node",
            "n1",
            "-o",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.agents, ["a:1"]);
        let Some(Command::Get(get)) = cli.command else {
            panic!("not get")
        };
        assert_eq!(get.what, GetWhat::Containers);
        assert_eq!(get.node.as_deref(), Some("n1"));
        assert_eq!(get.output, OutputFormat::Json);
        let Some(Command::Get(get)) = parse(&["get", "nodes"]).unwrap().command else {
            panic!("not get")
        };
        assert_eq!(
            (get.what, get.output),
            (GetWhat::Nodes, OutputFormat::Table)
        );
    }

    #[test]
    fn monitor_takes_alertmanagers_into_the_overrides() {
        let cli = parse(&[
            "monitor",
            "--alertmanager",
            "http://127.0.0.1:9093",
            "--alertmanager",
            "http://127.0.0.1:9094",
            "--agent",
            "a:1",
        ])
        .unwrap();
        assert_eq!(
            cli.overrides().alertmanagers,
            ["http://127.0.0.1:9093", "http://127.0.0.1:9094"]
        );
        let Some(Command::Monitor(m)) = &cli.command else {
            panic!("not monitor")
        };
        assert_eq!((m.status, m.resend_interval), (false, 30));
        assert!(parse(&["monitor", "--resend-interval", "0"]).is_err());
        assert!(parse(&["get", "nodes", "--alertmanager", "http://h"]).is_err());
    }

    #[test]
    fn usage_errors_are_errors() {
        assert!(parse(&["get"]).is_err());
        assert!(parse(&["get", "pods"]).is_err());
        assert!(parse(&["get", "nodes", "-o", "yaml"]).is_err());
        assert!(parse(&["--failover-timeout", "ten"]).is_err());
        let help = parse(&["--help"]).unwrap_err();
        assert!(!help.use_stderr(), "help goes to stdout and exits 0");
    }
}
