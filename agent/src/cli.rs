//! Command line of `fleetdeck-agent` and what it runs.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::config::{AgentConfig, DEFAULT_SIM_CONTAINERS};
use crate::fleet::{bind_fleet, raise_fd_limit, spawn_fleet};
use crate::model::NodeMode;
use crate::runtime::{DockerConfig, RuntimeKind, StatsSource};
use crate::server::{RunningAgent, bind, spawn};
use crate::{AgentError, host};

/// Container runtime to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeArg {
    /// Simulated node (demos, tests, scale runs).
    Sim,
    /// Docker Engine (DOCKER_HOST honoured).
    Docker,
}

/// Mode at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Takes placements.
    Active,
    /// Held in reserve.
    Standby,
}

/// fleetdeck node agent: serves this node's containers, resources and health over gRPC.
#[derive(Debug, Parser)]
#[command(name = "fleetdeck-agent", version)]
pub struct Cli {
    /// Container runtime.
    #[arg(long, value_enum, default_value_t = RuntimeArg::Docker)]
    pub runtime: RuntimeArg,
    /// Node name [default: host name]; with --fleet, the prefix of `NAME-0001`...
    #[arg(long, value_name = "NAME", global = true)]
    pub node_id: Option<String>,
    /// Address to serve on; with --fleet, the first of consecutive ports.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7400")]
    pub listen: SocketAddr,
    /// Sim: seed [default: derived from the node id, so a node looks the same every run].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Sim: containers per node [default: 20; with --fleet, 12-50 per node].
    #[arg(long, value_name = "N")]
    pub containers: Option<usize>,
    /// Sim: run N nodes in this process on consecutive ports.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub fleet: Option<u32>,
    /// Sim: no faults (crash loops, failing health checks, hot containers).
    #[arg(long)]
    pub no_faults: bool,
    /// Sim: put a fault on a container SECONDS after the start (crash_loop, unhealthy,
    /// cpu_spike, clear); repeat for more. Audited like any action.
    #[arg(long = "fault", value_name = "KIND:CONTAINER[@SECONDS]")]
    pub faults: Vec<crate::drill::FaultArg>,
    /// Time between samples, milliseconds.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub sample_interval_ms: u64,
    /// Quiet time on a Watch stream before a heartbeat, milliseconds.
    #[arg(long, value_name = "N", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub heartbeat_interval_ms: u64,
    /// Mode at start.
    #[arg(long, value_enum, default_value_t = ModeArg::Active)]
    pub mode: ModeArg,
    /// Node label `key=value`; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// State directory (audit log) [default: per node under the platform data dir]; with
    /// --fleet, one subfolder per node.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Docker: only containers carrying this label belong to this node (several agents can
    /// share one engine, each with its own set).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub scope_label: Option<(String, String)>,
    /// Docker: where container CPU, memory, network and disk figures come from.
    #[arg(long, value_enum, default_value_t = StatsArg::Auto)]
    pub docker_stats: StatsArg,
    /// TLS certificate chain (PEM); with --tls-key, every connection is TLS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to: mutual TLS, every client must show
    /// a valid, unexpired, unrevoked certificate.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Certificate revocation list (PEM) for client certificates; repeat for more.
    #[arg(long = "crl", value_name = "PEM", requires = "client_ca")]
    pub crls: Vec<PathBuf>,
    /// Tokens file [default: tokens.toml in the state directory].
    #[arg(long, value_name = "FILE", global = true)]
    pub tokens: Option<PathBuf>,
    /// Allow listening beyond loopback without TLS or without checking callers (warns).
    #[arg(long)]
    pub insecure: bool,
    /// Run without tokens although the tokens file exists with none left (every token was
    /// revoked); without this flag such an agent refuses to start.
    #[arg(long)]
    pub no_tokens: bool,
    /// Concurrent Watch streams one caller (token, certificate, or address) may hold.
    #[arg(long, value_name = "N", default_value_t = crate::server::limits::MAX_WATCH_STREAMS_PER_CALLER as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_watch_per_caller: u32,
    /// Concurrent Logs streams one caller may hold.
    #[arg(long, value_name = "N", default_value_t = crate::server::limits::MAX_LOGS_STREAMS_PER_CALLER as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_logs_per_caller: u32,
    /// Size at which the audit log is rotated, MiB.
    #[arg(long, value_name = "MIB", default_value_t = crate::audit::DEFAULT_MAX_MIB,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub audit_max_mib: u64,
    /// Rotated audit logs kept (audit.jsonl.1 is the newest).
    #[arg(long, value_name = "N", default_value_t = crate::audit::DEFAULT_KEEP,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub audit_keep: u32,
    /// Serve Prometheus metrics (`/metrics`), `/healthz` and `/readyz` on this address;
    /// over TLS when --tls-cert is given. Off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Allow --metrics-listen beyond loopback without TLS (warns).
    #[arg(long, requires = "metrics_listen")]
    pub metrics_insecure: bool,
    /// The role `fleetdeck exec` needs on this agent: operator, or admin to keep shells in
    /// containers to administrators.
    #[arg(long, value_enum, value_name = "ROLE", default_value_t = ExecRoleArg::Operator)]
    pub exec_role: ExecRoleArg,
    /// Seconds an exec session may pass without input or output before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = crate::exec::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub exec_idle_timeout_secs: u64,
    /// Exec sessions this agent runs at once; more are refused.
    #[arg(long, value_name = "N", default_value_t = crate::exec::DEFAULT_MAX_SESSIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub exec_max_sessions: u32,
    /// Manage tokens or certificates, or print completions or the man page, instead of
    /// serving.
    #[command(subcommand)]
    pub command: Option<crate::commands::AgentCommand>,
}

/// Who may exec into containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecRoleArg {
    /// Operators and admins.
    Operator,
    /// Admins only.
    Admin,
}

/// Source of docker container figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsArg {
    /// cgroup files where readable, the engine's stats API for the rest.
    Auto,
    /// cgroup files only.
    Cgroup,
    /// The engine's stats API only (costlier with many containers).
    Api,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// A seed that depends only on the node id (FNV-1a; stable across runs and builds).
fn seed_from(node_id: &str) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(node_id.as_bytes());
    h.finish()
}

impl Cli {
    /// The agent configuration these flags describe (the template, for a fleet).
    pub fn config(&self) -> Result<AgentConfig, AgentError> {
        let runtime = match self.runtime {
            RuntimeArg::Sim => RuntimeKind::Sim,
            RuntimeArg::Docker => RuntimeKind::Docker,
        };
        if !self.faults.is_empty() && (runtime != RuntimeKind::Sim || self.fleet.is_some()) {
            return Err(AgentError::Config(
                "--fault drills one simulated node; use it with --runtime sim and no --fleet"
                    .into(),
            ));
        }
        if runtime == RuntimeKind::Docker && self.fleet.is_some() {
            return Err(AgentError::Config(
                "--fleet runs simulated nodes; use it with --runtime sim".into(),
            ));
        }
        if self.metrics_listen.is_some() && self.fleet.is_some() {
            return Err(AgentError::Config(
                "--metrics-listen serves one node; use it without --fleet".into(),
            ));
        }
        let node_id = match &self.node_id {
            Some(id) => id.clone(),
            None => host::hostname().unwrap_or_else(|| "node".to_owned()),
        };
        let containers = match (self.containers, self.fleet) {
            (Some(n), _) => n,
            (None, Some(_)) => 0,
            (None, None) => DEFAULT_SIM_CONTAINERS,
        };
        let config = AgentConfig {
            seed: self.seed.unwrap_or_else(|| seed_from(&node_id)),
            node_id,
            runtime,
            containers,
            sim_faults: !self.no_faults,
            sample_interval: Duration::from_millis(self.sample_interval_ms),
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            mode: match self.mode {
                ModeArg::Active => NodeMode::Active,
                ModeArg::Standby => NodeMode::Standby,
            },
            labels: self.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
            state_dir: self.state_dir.clone(),
            docker: DockerConfig {
                scope: self.scope_label.clone(),
                stats: match self.docker_stats {
                    StatsArg::Auto => StatsSource::Auto,
                    StatsArg::Cgroup => StatsSource::Cgroup,
                    StatsArg::Api => StatsSource::Api,
                },
                ..DockerConfig::default()
            },
            security: crate::config::SecurityConfig {
                tls: match (&self.tls_cert, &self.tls_key) {
                    (Some(cert), Some(key)) => Some(crate::server::tls::TlsFiles {
                        cert: cert.clone(),
                        key: key.clone(),
                        client_ca: self.client_ca.clone(),
                        crls: self.crls.clone(),
                    }),
                    _ => None,
                },
                tokens_file: self.tokens.clone(),
                insecure: self.insecure,
                no_tokens: self.no_tokens,
            },
            limits: crate::config::LimitsConfig {
                max_watch_per_caller: self.max_watch_per_caller as usize,
                max_logs_per_caller: self.max_logs_per_caller as usize,
                ..crate::config::LimitsConfig::default()
            },
            audit: crate::audit::Rotation {
                max_bytes: self.audit_max_mib.saturating_mul(1024 * 1024),
                keep: self.audit_keep,
            },
            metrics: self
                .metrics_listen
                .map(|listen| crate::metrics::MetricsConfig {
                    listen,
                    insecure: self.metrics_insecure,
                }),
            exec: crate::exec::ExecConfig {
                role: match self.exec_role {
                    ExecRoleArg::Operator => crate::server::auth::Role::Operator,
                    ExecRoleArg::Admin => crate::server::auth::Role::Admin,
                },
                idle_timeout: Duration::from_secs(self.exec_idle_timeout_secs),
                max_sessions: self.exec_max_sessions as usize,
            },
            ..AgentConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}

/// What the user should do about `err`, appended to its one-line message.
pub fn advice(err: &AgentError) -> &'static str {
    match err {
        AgentError::Bind { error, .. } if error.kind() == std::io::ErrorKind::AddrInUse => {
            "; pick another --listen port or stop what is using it"
        }
        AgentError::Bind { .. } => "; check the --listen address",
        AgentError::RuntimeUnavailable(_) => "; use --runtime sim",
        AgentError::Runtime(crate::runtime::RuntimeError::Unavailable(_)) => {
            "; start the Docker engine, point DOCKER_HOST at it, or use --runtime sim"
        }
        AgentError::StateDir { .. } | AgentError::Audit(_) => "; pass a writable --state-dir",
        AgentError::Tls(_) => "; check --tls-cert, --tls-key, --client-ca and --crl",
        AgentError::Pki(_) | AgentError::Output(_) => "",
        AgentError::Config(_)
        | AgentError::Runtime(_)
        | AgentError::Host(_)
        | AgentError::Tokens(_) => "",
    }
}

/// Starts the agent(s) the flags describe, prints one `listening` line per node, and runs
/// until SIGTERM or Ctrl-C. Nothing is left running when it fails.
pub async fn run(cli: Cli) -> Result<(), AgentError> {
    if let Some(command) = &cli.command {
        return crate::commands::run(command, &cli);
    }
    let template = cli.config()?;
    let stop = StopSignal::register();
    let agents: Vec<RunningAgent> = match cli.fleet {
        Some(n) => {
            let nodes = n as usize;
            let limit = raise_fd_limit(nodes)?;
            tracing::debug!(limit, "open-file limit");
            let listeners = bind_fleet(cli.listen, nodes).await?;
            spawn_fleet(&template, listeners).await?
        }
        None => {
            let listener = bind(cli.listen).await?;
            vec![spawn(template, listener).await?]
        }
    };
    let drills: Vec<_> = agents
        .iter()
        .flat_map(|a| crate::drill::schedule(a, &cli.faults))
        .collect();
    for a in &agents {
        println!(
            "listening node={} addr={} epoch={}",
            a.node_id(),
            a.addr(),
            a.epoch()
        );
    }
    for (a, url) in agents.iter().filter_map(|a| Some((a, a.metrics_url()?))) {
        println!("metrics node={} url={url}", a.node_id());
    }
    stop.wait().await;
    drills.iter().for_each(tokio::task::JoinHandle::abort);
    tracing::info!(nodes = agents.len(), "stopping");
    futures::future::join_all(agents.into_iter().map(RunningAgent::shutdown)).await;
    Ok(())
}

/// SIGTERM and Ctrl-C, registered when made: a signal that comes right after the
/// `listening` lines must already find the handler in place.
struct StopSignal {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignal {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!("cannot watch SIGTERM/SIGINT: {e}; falling back to Ctrl-C");
                    None
                }
            };
            Self { streams }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.streams {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot watch Ctrl-C: {e}; running until killed");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleetdeck-agent").chain(args.iter().copied()))
    }

    #[test]
    fn sim_flags() {
        let cli = parse(&[
            "--runtime",
            "sim",
            "--node-id",
            "n1",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "9",
            "--label",
            "zone=a",
            "--label",
            "rack=r1",
            "--mode",
            "standby",
        ])
        .unwrap();
        let c = cli.config().unwrap();
        assert_eq!(c.node_id, "n1");
        assert_eq!(c.seed, 9);
        assert_eq!(c.mode, NodeMode::Standby);
        assert_eq!(c.labels.get("zone").map(String::as_str), Some("a"));
        assert_eq!(c.containers, DEFAULT_SIM_CONTAINERS);
    }

    #[test]
    fn fleet_picks_container_counts_from_seed() {
        let cli = parse(&["--runtime", "sim", "--fleet", "3"]).unwrap();
        assert_eq!(cli.config().unwrap().containers, 0);
    }

    #[test]
    fn bad_values_refused() {
        assert!(parse(&["--label", "novalue"]).is_err());
        assert!(parse(&["--sample-interval-ms", "0"]).is_err());
        assert!(parse(&["--mode", "maintenance"]).is_err());
        let fleet = parse(&["--fleet", "2"]).unwrap().config().unwrap_err();
        assert!(fleet.to_string().contains("--runtime sim"), "{fleet}");
        assert!(parse(&["--scope-label", "nokey"]).is_err());
        let scoped = parse(&["--scope-label", "team=a", "--docker-stats", "api"]).unwrap();
        let c = scoped.config().unwrap();
        assert_eq!(c.runtime, RuntimeKind::Docker);
        assert_eq!(c.docker.scope, Some(("team".into(), "a".into())));
        assert_eq!(c.docker.stats, StatsSource::Api);
    }

    #[test]
    fn default_seed_is_stable() {
        assert_eq!(seed_from("web-1"), seed_from("web-1"));
        assert_ne!(seed_from("web-1"), seed_from("web-2"));
    }
}
