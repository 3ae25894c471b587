//! The console's settings: a TOML file in the platform config dir, patched by the
//! environment and the command line. Every setting is optional; unknown keys are errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::client::{AddrError, AgentAddr, WatchOptions};

/// Environment variable naming agents, comma-separated, when no `--agent` is given.
pub const AGENTS_ENV: &str = "FLEETDECK_AGENTS";
/// Default time an unreachable node stays UNKNOWN before it is FAILED.
pub const DEFAULT_FAILOVER_TIMEOUT_SECS: u64 = 10;
/// Default silence after which a stream is dropped: three missed 2 s heartbeats.
pub const DEFAULT_HEARTBEAT_SILENCE_SECS: u64 = 6;
/// Default cadence at which the UI redraws changed agent data.
pub const DEFAULT_REFRESH_INTERVAL_MS: u64 = 1000;

/// Default time each wall-screen view stays up before the next one.
pub const DEFAULT_WALL_ROTATE_SECS: u64 = 20;
/// Default node label that groups nodes on the heatmap.
pub const DEFAULT_GROUP_LABEL: &str = "rack";
/// Default span of the nodes x time heatmap.
pub const DEFAULT_HEATMAP_WINDOW_MINS: u64 = 10;

const WALL_ROTATE_RANGE_SECS: (u64, u64) = (0, 86_400);
const HEATMAP_WINDOW_RANGE_MINS: (u64, u64) = (1, 60);
const FAILOVER_RANGE_SECS: (u64, u64) = (1, 86_400);
const SILENCE_RANGE_SECS: (u64, u64) = (1, 3_600);
const REFRESH_RANGE_MS: (u64, u64) = (50, 60_000);
/// Lines a log view may keep: enough to scroll back through, bounded so memory is.
const LOG_LINES_RANGE: (u64, u64) = (100, 1_000_000);

/// The config file as written; absent settings take their defaults.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Agent addresses, `host:port`.
    pub agents: Vec<String>,
    /// Seconds an unreachable node stays UNKNOWN before it is FAILED.
    pub failover_timeout_secs: u64,
    /// Seconds without any message (heartbeats included) before a stream is dropped.
    pub heartbeat_silence_secs: u64,
    /// Milliseconds between redraws of changed agent data.
    pub refresh_interval_ms: u64,
    /// Theme name; `None` = the built-in default.
    pub theme: Option<String>,
    /// Key name -> command name patches over the default keymap.
    pub keys: BTreeMap<String, String>,
    /// Seconds each wall-screen view stays up; 0 = no rotation.
    pub wall_rotate_secs: u64,
    /// ASCII borders and glyphs only (plain consoles, hostile SSH clients).
    pub ascii: bool,
    /// Node label that groups nodes on the heatmap (else the name prefix).
    pub group_label: String,
    /// Minutes of history the nodes x time heatmap spans.
    pub heatmap_window_mins: u64,
    /// `[[alerts.rules]]`: patches over the default alert rules, and new ones.
    pub alerts: crate::alerts::AlertsConfig,
    /// Lines kept by the log view (older ones are dropped).
    pub log_lines: u64,
    /// Token sent to agents (prefer `token_file`; `FLEETDECK_TOKEN` overrides both).
    pub token: Option<String>,
    /// File holding the token.
    pub token_file: Option<PathBuf>,
    /// CA (PEM) that signed the agents' certificates; set = TLS to every agent.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for agents that require mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// Name expected in the agents' certificates, when not their address's host.
    pub tls_server_name: Option<String>,
    /// `[notify]`: Alertmanager and webhooks.
    pub notify: crate::notify::NotifyConfig,
    /// `[coordination]`: the etcd cluster consoles exclude each other through.
    pub coordination: crate::coord::CoordConfig,
    /// `[exec]`: the shell `e` opens in a container.
    pub exec: crate::config_exec::ExecConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            agents: Vec::new(),
            failover_timeout_secs: DEFAULT_FAILOVER_TIMEOUT_SECS,
            heartbeat_silence_secs: DEFAULT_HEARTBEAT_SILENCE_SECS,
            refresh_interval_ms: DEFAULT_REFRESH_INTERVAL_MS,
            theme: None,
            keys: BTreeMap::new(),
            wall_rotate_secs: DEFAULT_WALL_ROTATE_SECS,
            ascii: false,
            group_label: DEFAULT_GROUP_LABEL.to_string(),
            heatmap_window_mins: DEFAULT_HEATMAP_WINDOW_MINS,
            alerts: crate::alerts::AlertsConfig::default(),
            log_lines: crate::logs::DEFAULT_MAX_LINES as u64,
            token: None,
            token_file: None,
            ca: None,
            client_cert: None,
            client_key: None,
            tls_server_name: None,
            notify: crate::notify::NotifyConfig::default(),
            coordination: crate::coord::CoordConfig::default(),
            exec: crate::config_exec::ExecConfig::default(),
        }
    }
}

/// Where a config problem is: the file and, when known, line and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config file {}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " (`{key}`)")?;
        }
        Ok(())
    }
}

/// Where the agent list came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSource {
    Flag,
    Env,
    File(Location),
    None,
}

impl fmt::Display for AgentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("--agent"),
            Self::Env => f.write_str(AGENTS_ENV),
            Self::File(loc) => loc.fmt(f),
            Self::None => f.write_str("nowhere"),
        }
    }
}

/// A settings problem, written for the user on one line: what, where, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` named a file that is not there.
    #[error("config file {} does not exist; create it or leave out --config", .0.display())]
    Missing(PathBuf),
    /// The file exists but cannot be read.
    #[error("cannot read config file {}: {source}; check its permissions", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or a setting has the wrong type or name.
    #[error("{at}: {message}; fix or remove that setting")]
    Parse { at: Location, message: String },
    /// A setting has the right type but an unusable value.
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
    /// `FLEETDECK_TOKEN` holds an unusable token.
    #[error("{0}; fix or unset it")]
    Token(String),
    /// An environment variable holds an unusable value.
    #[error("{var}: {message}; fix or unset it")]
    EnvValue { var: &'static str, message: String },
    /// An environment variable holds something that is not text.
    #[error("{0} is not valid UTF-8; unset it or fix its value")]
    Env(&'static str),
    /// An agent address cannot be used.
    #[error("{source} (from {from})")]
    Agent {
        from: AgentSource,
        source: AddrError,
    },
}

/// Settings from the command line that override the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--agent` values, in order.
    pub agents: Vec<String>,
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--failover-timeout SECS`.
    pub failover_timeout_secs: Option<u64>,
    /// `--theme NAME`.
    pub theme: Option<String>,
    /// `--ascii`.
    pub ascii: bool,
    /// `--alertmanager URL` values, added to the file's `[notify] alertmanager`.
    pub alertmanagers: Vec<String>,
    /// `FLEETDECK_ETCD` endpoints, replacing the file's `[coordination] etcd`.
    pub etcd: Vec<String>,
}

/// Everything the console runs with, resolved from flags, environment and file.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Agents to follow, in slot order.
    pub agents: Vec<AgentAddr>,
    /// Where `agents` came from.
    pub agents_from: AgentSource,
    /// The config file read, if any.
    pub config_path: Option<PathBuf>,
    pub failover_timeout: Duration,
    pub silence_timeout: Duration,
    pub refresh_interval: Duration,
    pub theme: Option<String>,
    pub keys: BTreeMap<String, String>,
    /// Time each wall-screen view stays up; zero = no rotation.
    pub wall_rotate: Duration,
    pub ascii: bool,
    pub group_label: String,
    pub heatmap_window: Duration,
    /// Alert rules: the defaults patched by the config file.
    pub alert_rules: Vec<crate::alerts::Rule>,
    /// Lines kept by the log view.
    pub log_lines: usize,
    /// Token and TLS settings for agent connections (`FLEETDECK_TOKEN` applied by
    /// `Cli::settings`).
    pub credentials: crate::client::Credentials,
    /// Alertmanager and webhook receivers, resolved.
    pub notify: crate::notify::NotifySettings,
    /// etcd, when consoles coordinate (`[coordination]`, `FLEETDECK_ETCD`).
    pub coordination: Option<crate::coord::Etcd>,
    /// The shell `e` opens, and the key that leaves it.
    pub exec: crate::config_exec::ExecSettings,
}

impl Settings {
    /// Watcher options matching these settings.
    pub fn watch_options(&self) -> WatchOptions {
        WatchOptions {
            silence_timeout: self.silence_timeout,
            credentials: self.credentials.clone(),
            ..WatchOptions::default()
        }
    }
}

/// The non-empty, trimmed items of a comma-separated environment value.
pub fn comma_list(value: Option<&str>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The default config file: `<platform config dir>/fleetdeck/config.toml`, if the platform
/// has a config dir (no home directory: none).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "fleetdeck").map(|d| d.config_dir().join("config.toml"))
}

/// Resolves settings: agents from `--agent`, else `env_agents`, else the file; the file is
/// `--config` (must exist) or `default_path` (may be missing: defaults).
pub fn resolve(
    overrides: &Overrides,
    env_agents: Option<&str>,
    default_path: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let (config, path, text) = match (&overrides.config, default_path) {
        (Some(path), _) => {
            let text = read(path, true)?.unwrap_or_default();
            (parse(&text, path)?, Some(path.clone()), text)
        }
        (None, Some(path)) => match read(path, false)? {
            Some(text) => (parse(&text, path)?, Some(path.to_path_buf()), text),
            None => (Config::default(), None, String::new()),
        },
        (None, None) => (Config::default(), None, String::new()),
    };
    let at = |key: &str| Location {
        path: path.clone().unwrap_or_default(),
        line: line_of_key(&text, key),
        key: Some(key.to_string()),
    };
    let check = |key: &str, value: u64, (lo, hi): (u64, u64), unit: &str| {
        if (lo..=hi).contains(&value) {
            Ok(value)
        } else {
            let message = format!("{value} is out of range; use {lo} to {hi} {unit}");
            Err(ConfigError::Invalid {
                at: at(key),
                message,
            })
        }
    };
    let failover_secs = match overrides.failover_timeout_secs {
        Some(secs) if !(FAILOVER_RANGE_SECS.0..=FAILOVER_RANGE_SECS.1).contains(&secs) => {
            let (lo, hi) = FAILOVER_RANGE_SECS;
            let message = format!("{secs} is out of range; use {lo} to {hi} seconds");
            let at = Location {
                path: "--failover-timeout".into(),
                line: None,
                key: None,
            };
            return Err(ConfigError::Invalid { at, message });
        }
        Some(secs) => secs,
        None => check(
            "failover_timeout_secs",
            config.failover_timeout_secs,
            FAILOVER_RANGE_SECS,
            "s",
        )?,
    };
    let silence_secs = check(
        "heartbeat_silence_secs",
        config.heartbeat_silence_secs,
        SILENCE_RANGE_SECS,
        "s",
    )?;
    let refresh_ms = check(
        "refresh_interval_ms",
        config.refresh_interval_ms,
        REFRESH_RANGE_MS,
        "ms",
    )?;
    let log_lines = check("log_lines", config.log_lines, LOG_LINES_RANGE, "lines")?;

    let wall_rotate_secs = check(
        "wall_rotate_secs",
        config.wall_rotate_secs,
        WALL_ROTATE_RANGE_SECS,
        "s",
    )?;
    let heatmap_window_mins = check(
        "heatmap_window_mins",
        config.heatmap_window_mins,
        HEATMAP_WINDOW_RANGE_MINS,
        "minutes",
    )?;

    let env_list = comma_list(env_agents);
    let (agents, from) = if !overrides.agents.is_empty() {
        (overrides.agents.clone(), AgentSource::Flag)
    } else if !env_list.is_empty() {
        (env_list, AgentSource::Env)
    } else if !config.agents.is_empty() {
        (config.agents.clone(), AgentSource::File(at("agents")))
    } else {
        (Vec::new(), AgentSource::None)
    };
    let agents = agents
        .iter()
        .map(|a| {
            a.parse::<AgentAddr>().map_err(|source| {
                let from = match &from {
                    AgentSource::File(loc) => AgentSource::File(Location {
                        line: line_of_value(&text, a).or(loc.line),
                        ..loc.clone()
                    }),
                    other => other.clone(),
                };
                ConfigError::Agent { from, source }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let alert_rules = crate::alerts::rules_from_config(&config.alerts.rules).map_err(|e| {
        ConfigError::Invalid {
            at: Location {
                path: path.clone().unwrap_or_default(),
                line: line_of_value(&text, &e.name).or_else(|| {
                    text.lines()
                        .position(|l| l.trim() == "[[alerts.rules]]")
                        .map(|i| i + 1)
                }),
                key: Some("alerts.rules".to_string()),
            },
            message: e.to_string(),
        }
    })?;

    let credentials = crate::client::credentials_file::from_config(&config, path.as_deref())
        .map_err(|(key, message)| ConfigError::Invalid {
            at: at(key),
            message,
        })?;
    let notify = crate::notify::NotifySettings::resolve(
        &config.notify,
        &overrides.alertmanagers,
        path.as_deref(),
    )
    .map_err(|e| {
        let line = e
            .value
            .as_deref()
            .and_then(|v| line_of_value(&text, v))
            .or_else(|| line_of_notify(&text, &e.key));
        let at = match (&e.value, e.key.as_str()) {
            // A URL from --alertmanager has no place in the file.
            (Some(v), "notify.alertmanager")
                if line.is_none() && overrides.alertmanagers.contains(v) =>
            {
                Location {
                    path: "--alertmanager".into(),
                    line: None,
                    key: None,
                }
            }
            _ => Location {
                path: path.clone().unwrap_or_default(),
                line,
                key: Some(e.key.clone()),
            },
        };
        ConfigError::Invalid {
            at,
            message: e.message,
        }
    })?;
    let coordination =
        crate::coord::config::resolve(&config.coordination, &overrides.etcd, path.as_deref())
            .map_err(|e| {
                if e.key == "coordination.etcd" && !overrides.etcd.is_empty() {
                    return ConfigError::EnvValue {
                        var: crate::coord::ETCD_ENV,
                        message: e.message,
                    };
                }
                let at = Location {
                    path: path.clone().unwrap_or_default(),
                    line: line_in_table(&text, "[coordination", &e.key),
                    key: Some(e.key.clone()),
                };
                ConfigError::Invalid {
                    at,
                    message: e.message,
                }
            })?;
    let exec = crate::config_exec::resolve(&config.exec).map_err(|(key, message)| {
        let name = key.rsplit('.').next().unwrap_or(key);
        ConfigError::Invalid {
            at: Location {
                path: path.clone().unwrap_or_default(),
                line: line_of_key(&text, name),
                key: Some(key.to_string()),
            },
            message,
        }
    })?;
    Ok(Settings {
        coordination,
        exec,
        notify,
        credentials,
        agents,
        agents_from: from,
        config_path: path,
        failover_timeout: Duration::from_secs(failover_secs),
        silence_timeout: Duration::from_secs(silence_secs),
        refresh_interval: Duration::from_millis(refresh_ms),
        theme: overrides.theme.clone().or(config.theme),
        keys: config.keys,
        wall_rotate: Duration::from_secs(wall_rotate_secs),
        ascii: overrides.ascii || config.ascii,
        group_label: config.group_label,
        heatmap_window: Duration::from_secs(heatmap_window_mins * 60),
        alert_rules,
        log_lines: usize::try_from(log_lines).unwrap_or(crate::logs::DEFAULT_MAX_LINES),
    })
}

/// Parses config text read from `path` (used for error locations only).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_at(text, span.start));
        let key = line.and_then(|n| key_on_line(text, n));
        let first = e.message().lines().next().unwrap_or("invalid TOML").trim();
        // Users write numbers, not Rust types.
        let message = first.replace("expected u64", "expected a whole number (no units)");
        ConfigError::Parse {
            at: Location {
                path: path.to_path_buf(),
                line,
                key,
            },
            message,
        }
    })
}

fn read(path: &Path, must_exist: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if must_exist {
                Err(ConfigError::Missing(path.to_path_buf()))
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key assigned on 1-based line `n`, if that line is `key = ...`.
fn key_on_line(text: &str, n: usize) -> Option<String> {
    let line = text.lines().nth(n.checked_sub(1)?)?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_string())
}

/// 1-based line where top-level `key` is assigned.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
        .map(|i| i + 1)
}

/// 1-based line of the `[notify]` setting named by `key` (`notify.webhook.auth.ca`): the
/// first line after `[notify]` or `[[notify.webhook]]` that assigns or mentions its last part.
fn line_of_notify(text: &str, key: &str) -> Option<usize> {
    line_in_table(text, "[notify", key)
}

/// 1-based line of the setting named by `key` in the table whose header starts with
/// `table` (`[notify`, `[coordination`): the first line from the header on that mentions
/// its last part.
fn line_in_table(text: &str, table: &str, key: &str) -> Option<usize> {
    let last = key.rsplit('.').next()?;
    let start = text.lines().position(|l| {
        let l = l.trim_start();
        l.starts_with(table) || l.strip_prefix('[').is_some_and(|r| r.starts_with(table))
    })?;
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(last))
        .map(|(i, _)| i + 1)
}

/// 1-based line holding the quoted string `value`.
fn line_of_value(text: &str, value: &str) -> Option<usize> {
    let quoted = format!("\"{value}\"");
    text.lines()
        .position(|l| l.contains(&quoted))
        .map(|i| i + 1)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
