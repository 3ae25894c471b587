//! How to run one agent.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::AgentError;
use crate::model::NodeMode;
use crate::runtime::{DockerConfig, RuntimeKind};
use crate::server::tls::TlsFiles;

/// Default time between samples.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Default quiet time on a Watch stream before a heartbeat.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// Containers a sim node starts with unless told otherwise.
pub const DEFAULT_SIM_CONTAINERS: usize = 20;
/// Longest node id (fits a DNS label).
const MAX_NODE_ID_LEN: usize = 63;

/// Configuration of one agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Node name: letters, digits, `.`, `_`, `-`.
    pub node_id: String,
    /// Container runtime backend.
    pub runtime: RuntimeKind,
    /// Sim: seed of the simulated node.
    pub seed: u64,
    /// Sim: containers to start with; 0 picks 12-50 from the seed.
    pub containers: usize,
    /// Sim: whether faults happen (crash loops, failing health checks, hot containers).
    pub sim_faults: bool,
    /// Sim: images whose health check fails on this node (beside any whose name contains
    /// `unhealthy`), so a rollout that fails on one node only can be rehearsed.
    pub sim_unhealthy_images: Vec<String>,
    /// Time between samples (also one simulated step).
    pub sample_interval: Duration,
    /// Quiet time on a Watch stream before a heartbeat.
    pub heartbeat_interval: Duration,
    /// Mode at start.
    pub mode: NodeMode,
    /// Operator labels.
    pub labels: BTreeMap<String, String>,
    /// Where the audit log lives; `None` = `default_state_dir(node_id)`.
    pub state_dir: Option<PathBuf>,
    /// Events kept for slow watchers before they are sent a snapshot instead.
    pub event_buffer: usize,
    /// Messages queued per Watch stream towards tonic.
    pub stream_buffer: usize,
    /// Docker: engine address, label scope, stats source (its interval is `sample_interval`).
    pub docker: DockerConfig,
    /// TLS, tokens, and whether an unprotected non-loopback listener is allowed.
    pub security: SecurityConfig,
    /// When the audit log is rotated and how many old ones are kept.
    pub audit: crate::audit::Rotation,
    /// Caps on streams and action rates.
    pub limits: LimitsConfig,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`; `None` = not served.
    pub metrics: Option<crate::metrics::MetricsConfig>,
    /// Who may exec into containers, the idle timeout and the cap on sessions.
    pub exec: crate::exec::ExecConfig,
}

/// Caps that keep one caller from exhausting the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Concurrent Watch streams, all callers together.
    pub max_watch_streams: usize,
    /// Concurrent Logs streams, all callers together.
    pub max_logs_streams: usize,
    /// Concurrent Watch streams of one caller.
    pub max_watch_per_caller: usize,
    /// Concurrent Logs streams of one caller.
    pub max_logs_per_caller: usize,
    /// Actions a caller may send at once.
    pub action_burst: u32,
    /// Actions a second a caller may sustain.
    pub actions_per_sec: u32,
    /// Time limit of every call; uploads are bounded by the gap between chunks instead.
    pub call_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        use crate::server::limits as l;
        Self {
            max_watch_streams: l::MAX_WATCH_STREAMS,
            max_logs_streams: l::MAX_LOGS_STREAMS,
            max_watch_per_caller: l::MAX_WATCH_STREAMS_PER_CALLER,
            max_logs_per_caller: l::MAX_LOGS_STREAMS_PER_CALLER,
            action_burst: l::ACTION_BURST,
            actions_per_sec: l::ACTIONS_PER_SEC,
            call_timeout: crate::server::CALL_TIMEOUT,
        }
    }
}

/// How the agent protects its listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    /// TLS certificate, key, and optional client CA and CRLs.
    pub tls: Option<TlsFiles>,
    /// Tokens file; `None` = `tokens.toml` in the state directory.
    pub tokens_file: Option<PathBuf>,
    /// Allow a non-loopback listener without TLS or caller checks.
    pub insecure: bool,
    /// Start without tokens although the tokens file exists and is empty.
    pub no_tokens: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            node_id: "sim-node".to_owned(),
            runtime: RuntimeKind::Sim,
            seed: 1,
            containers: DEFAULT_SIM_CONTAINERS,
            sim_faults: true,
            sim_unhealthy_images: Vec::new(),
            sample_interval: DEFAULT_SAMPLE_INTERVAL,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            mode: NodeMode::Active,
            labels: BTreeMap::new(),
            state_dir: None,
            event_buffer: 32,
            stream_buffer: 2,
            docker: DockerConfig::default(),
            security: SecurityConfig::default(),
            limits: LimitsConfig::default(),
            audit: crate::audit::Rotation::default(),
            metrics: None,
            exec: crate::exec::ExecConfig::default(),
        }
    }
}

impl AgentConfig {
    /// A sim node with default settings.
    pub fn sim(node_id: impl Into<String>, seed: u64) -> Self {
        Self {
            node_id: node_id.into(),
            seed,
            ..Self::default()
        }
    }

    /// Checks the settings; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = |m: String| Err(AgentError::Config(m));
        let id = &self.node_id;
        let id_ok = id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if id.is_empty() || id.len() > MAX_NODE_ID_LEN || !id_ok || id.starts_with('.') {
            return bad(format!(
                "node id `{id}` is not valid: use 1-{MAX_NODE_ID_LEN} letters, digits, `.`, `_` or `-`"
            ));
        }
        if self.sample_interval < Duration::from_millis(1) {
            return bad("sample interval must be at least 1 ms".into());
        }
        if self.heartbeat_interval < Duration::from_millis(1) {
            return bad("heartbeat interval must be at least 1 ms".into());
        }
        for (k, v) in self
            .labels
            .iter()
            .chain(self.docker.scope.iter().map(|(k, v)| (k, v)))
        {
            crate::validate::label(k, v).map_err(AgentError::Config)?;
        }
        Ok(())
    }

    /// The state directory this agent uses.
    pub fn resolved_state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(&self.node_id))
    }

    /// The tokens file this agent reads.
    pub fn resolved_tokens_file(&self) -> PathBuf {
        self.security.tokens_file.clone().unwrap_or_else(|| {
            self.resolved_state_dir()
                .join(crate::server::auth::TOKENS_FILE)
        })
    }
}

/// Default per-node state directory: `<data dir>/fleetdeck/agent/<node>` (e.g.
/// `~/.local/share/fleetdeck/agent/<node>`), or `/var/lib/fleetdeck-agent/<node>` without a
/// home directory.
pub fn default_state_dir(node_id: &str) -> PathBuf {
    directories::ProjectDirs::from("", "", "fleetdeck")
        .map(|d| d.data_dir().join("agent"))
        .unwrap_or_else(|| PathBuf::from("/var/lib/fleetdeck-agent"))
        .join(node_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_rules() {
        assert!(AgentConfig::sim("node-1.a_b", 1).validate().is_ok());
        for bad in ["", "a/b", "..", "with space", &"x".repeat(64)] {
            let err = AgentConfig::sim(bad, 1).validate().unwrap_err();
            assert!(err.to_string().contains("node id"), "{err}");
        }
    }

    #[test]
    fn state_dir_is_per_node() {
        let a = AgentConfig::sim("a", 1).resolved_state_dir();
        let b = AgentConfig::sim("b", 1).resolved_state_dir();
        assert_ne!(a, b);
        assert!(a.ends_with("a"));
    }
}
