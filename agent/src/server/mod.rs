//! Starting and stopping an agent: listener, sampler, tonic server; and what stands in
//! front of every rpc: the service, caller checks, limits, TLS and call timeouts.

pub mod auth;
pub mod call_timeout;
pub mod limits;
pub mod service;
pub mod stream;
pub mod tls;

mod killable;
use killable::KillableIo;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fleetdeck_proto::agent_server::AgentServer;
use rand::TryRngCore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use self::tls::HandshakeRefusal;
use crate::AgentError;
use crate::actions::{Actions, Refusal};
use crate::audit::AuditLog;
use crate::backup::Registry;
use crate::cancel::{self, Cancel, CancelSource};
use crate::config::AgentConfig;
use crate::health::Checker;
use crate::host::{self, HostProbe};
use crate::hub::{self, HostSource, Hub};
use crate::metrics::http::Serving;
use crate::metrics::{self, MetricsServer, Telemetry};
use crate::model::{NodeInfo, NodeStatus};
use crate::runtime::{DockerConfig, DockerRuntime, Runtime, RuntimeKind, SimConfig, SimRuntime};
use crate::server::auth::layer::RefusedCall;
use crate::server::auth::{AuthLayer, AuthPolicy, TokenStore};
use crate::server::call_timeout::CallTimeoutLayer;
use crate::server::service::AgentService;
use crate::transfer::Transfer;

/// HTTP/2 keepalive ping interval: a vanished client is noticed within seconds.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// How long a keepalive ping may go unanswered.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request accepted (requests are small; this leaves room for future uploads).
pub const MAX_DECODE_BYTES: usize = 1024 * 1024;
/// Longest a call may take to answer (a stream's first response; unary calls whole).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent HTTP/2 streams (calls) on one connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;
/// Largest request header block (tokens are 68 bytes; this bounds hostile headers).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// Largest message sent (a snapshot of a very large node).
const MAX_ENCODE_BYTES: usize = 32 * 1024 * 1024;
/// How long a graceful shutdown waits for connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long `kill` waits for its tasks to go.
const KILL_WAIT: Duration = Duration::from_millis(500);

/// Binds a listener on `addr`; a busy port gives an error naming the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, AgentError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| AgentError::Bind { addr, error })
}

/// A non-zero random epoch from the OS generator.
fn new_epoch() -> u64 {
    let mut rng = rand::rngs::OsRng;
    loop {
        match rng.try_next_u64() {
            Ok(0) => continue,
            Ok(n) => return n,
            // No OS randomness (very unusual): fall back to the clock, still non-zero.
            Err(_) => return host::now_unix_ms() | 1,
        }
    }
}

/// A running agent. Dropping it kills it.
pub struct RunningAgent {
    node_id: String,
    addr: SocketAddr,
    epoch: u64,
    hub: Hub,
    actions: Arc<Actions>,
    stop_streams: CancelSource,
    cut_connections: CancelSource,
    graceful: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    sampler: Option<JoinHandle<()>>,
    housekeeper: Option<JoinHandle<()>>,
    acceptor: Option<JoinHandle<()>>,
    metrics: Option<MetricsServer>,
}

/// How the listener is protected, decided once at start.
struct Exposure {
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    policy: Arc<AuthPolicy>,
    insecure: bool,
}

/// Decides TLS and caller checks for `addr`. A loopback agent may run open; beyond
/// loopback the agent needs TLS and a way to check callers (tokens or client certificates)
/// unless `--insecure` is given, and then it says so loudly.
fn exposure(config: &AgentConfig, addr: SocketAddr) -> Result<Exposure, AgentError> {
    let sec = &config.security;
    let tls = sec.tls.as_ref().map(tls::server_config).transpose()?;
    let client_certs = sec.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    let tokens_path = config.resolved_tokens_file();
    let store = Arc::new(TokenStore::open(tokens_path.clone())?);
    let has_tokens = store.is_enabled();
    // A tokens file that exists with no token in it had tokens once, all revoked: running
    // open on it would undo the revocation, so that takes an explicit flag.
    if store.file_exists() && !has_tokens && !sec.no_tokens {
        return Err(AgentError::Config(format!(
            "tokens file {} holds no token (all revoked): create one with `fleetdeck-agent token create`, \
             or pass --no-tokens to run without tokens",
            tokens_path.display()
        )));
    }
    if has_tokens && sec.no_tokens {
        return Err(AgentError::Config(format!(
            "--no-tokens given but tokens file {} holds tokens; revoke them or drop --no-tokens",
            tokens_path.display()
        )));
    }
    let policy = AuthPolicy::new(Some(store), client_certs, has_tokens);
    let loopback = addr.ip().is_loopback();
    let checks_callers = has_tokens || client_certs;
    let insecure = !loopback && (tls.is_none() || !checks_callers);
    if insecure && !sec.insecure {
        let what = if tls.is_none() {
            "without TLS (give --tls-cert and --tls-key)"
        } else {
            "without checking callers (create a token with `fleetdeck-agent token create`, or give --client-ca)"
        };
        return Err(AgentError::Config(format!(
            "refusing to listen on {addr} {what}; or pass --insecure to accept the risk"
        )));
    }
    if insecure {
        let warning = format!(
            "INSECURE: listening on {addr} {}{}: anyone who can reach this port can read this node{}",
            if tls.is_none() {
                "without TLS"
            } else {
                "with TLS"
            },
            if checks_callers {
                ""
            } else {
                " and without checking callers"
            },
            if checks_callers { "" } else { " and act on it" },
        );
        tracing::warn!("{warning}");
        eprintln!("fleetdeck-agent: WARNING: {warning}");
    }
    if !has_tokens && !client_certs {
        tracing::info!(tokens = %tokens_path.display(), "no tokens: every caller is an anonymous admin");
    }
    Ok(Exposure {
        tls,
        policy: Arc::new(policy),
        insecure,
    })
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("node_id", &self.node_id)
            .field("addr", &self.addr)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

async fn make_runtime(config: &AgentConfig) -> Result<Arc<dyn Runtime>, AgentError> {
    match config.runtime {
        RuntimeKind::Sim => Ok(Arc::new(
            SimRuntime::open(SimConfig {
                node_id: config.node_id.clone(),
                seed: config.seed,
                containers: config.containers,
                step: config.sample_interval,
                start_unix_ms: host::now_unix_ms(),
                faults: config.sim_faults,
                unhealthy_images: config.sim_unhealthy_images.clone(),
                data_dir: Some(config.resolved_state_dir().join("volumes")),
                state_file: Some(
                    config
                        .resolved_state_dir()
                        .join(crate::runtime::sim::store::SIM_STATE_FILE),
                ),
            })
            .map_err(|e| AgentError::Config(e.to_string()))?,
        )),
        RuntimeKind::Docker => {
            let docker = DockerConfig {
                sample_interval: config.sample_interval,
                data_dir: (config.docker.data_dir.clone())
                    .or_else(|| Some(config.resolved_state_dir().join("volumes"))),
                ..config.docker.clone()
            };
            Ok(Arc::new(DockerRuntime::connect(docker).await?))
        }
    }
}

/// Folders of the state directory that earlier versions created open to other users.
const STATE_SUBDIRS: [&str; 2] = ["backups", "volumes"];

/// Makes the state directory owner-only before anything is written there: created so, or
/// tightened (with the folders in it) when an earlier version left it open.
fn secure_state_dir(dir: &std::path::Path) -> Result<(), AgentError> {
    let failed = |path: &std::path::Path, error| AgentError::StateDir {
        path: path.to_owned(),
        error,
    };
    crate::private::secure_dir(dir).map_err(|e| failed(dir, e))?;
    for sub in STATE_SUBDIRS.map(|s| dir.join(s)) {
        if sub.is_dir() {
            crate::private::secure_dir(&sub).map_err(|e| failed(&sub, e))?;
        }
    }
    Ok(())
}

/// Starts an agent on `listener`: samples once, then serves.
pub async fn spawn(config: AgentConfig, listener: TcpListener) -> Result<RunningAgent, AgentError> {
    config.validate()?;
    secure_state_dir(&config.resolved_state_dir())?;
    let addr = listener.local_addr().map_err(|error| AgentError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        error,
    })?;
    let exposure = exposure(&config, addr)?;
    let metrics_listener = match &config.metrics {
        Some(m) => Some(metrics::http::bind(m, config.security.tls.as_ref()).await?),
        None => None,
    };
    let runtime = make_runtime(&config).await?;
    runtime.ping().await?;
    let telemetry = Telemetry::default();
    let audit = AuditLog::open(&config.resolved_state_dir())?
        .with_rotation(config.audit)
        .with_line_counter(telemetry.audit_lines());
    let cordon_file = config
        .resolved_state_dir()
        .join(crate::actions::CORDON_FILE);

    let (mut host_source, checker) = match runtime.simulated_host() {
        Some(_) => (HostSource::Simulated, Checker::simulated()),
        None => (
            HostSource::Probe(Box::new(HostProbe::new()?)),
            Checker::real(),
        ),
    };
    let mut checker = checker;
    let first = hub::take_sample(runtime.as_ref(), &mut host_source, &mut checker).await;
    let o = runtime.node_overrides();
    let probe_cores = match &host_source {
        HostSource::Probe(p) => p.cores(),
        HostSource::Simulated => 0,
    };
    let info = NodeInfo {
        node_id: config.node_id.clone(),
        hostname: o
            .hostname
            .or_else(host::hostname)
            .unwrap_or_else(|| config.node_id.clone()),
        runtime: runtime.kind().name().to_owned(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        cpu_cores: o.cpu_cores.unwrap_or(probe_cores),
        memory_total_bytes: o
            .memory_total_bytes
            .unwrap_or(first.host.memory_total_bytes),
        disk_total_bytes: o.disk_total_bytes.unwrap_or(first.host.disk_total_bytes),
        status: NodeStatus {
            // A node cordoned before a restart stays cordoned.
            mode: if cordon_file.exists() {
                crate::model::NodeMode::Maintenance
            } else {
                config.mode
            },
            labels: config.labels.clone(),
        },
        started_unix_ms: host::now_unix_ms(),
        sample_interval_ms: u32::try_from(config.sample_interval.as_millis()).unwrap_or(u32::MAX),
        max_containers: o.max_containers.unwrap_or(0),
        insecure: exposure.insecure,
        open: exposure.policy.is_open(),
        engine_id: runtime.engine_id().unwrap_or_default(),
    };
    let epoch = new_epoch();
    let hub = Hub::new(epoch, info, first, config.event_buffer);
    if let Some(past) = runtime.past() {
        hub.seed_history(past);
    }
    hub.record_history();
    let closed_hub = hub.clone();
    exposure
        .policy
        .on_required(Arc::new(move || closed_hub.set_open(false)));
    let backups = Registry::new(config.resolved_state_dir().join("backups"));
    let actions = Arc::new(
        Actions::new(hub.clone(), Arc::clone(&runtime), audit, backups.clone())
            .with_cordon_file(cordon_file, config.mode)
            .with_intents_in(config.resolved_state_dir())
            .with_telemetry(telemetry.clone()),
    );

    let (stop_streams, streams_cancel) = cancel::channel();
    let (cut_connections, cut) = cancel::channel();
    let transfer = Arc::new(
        Transfer::new(hub.clone(), Arc::clone(&runtime), backups)
            .with_chunk_idle(config.limits.call_timeout),
    );
    let sampler = tokio::spawn(hub::run_sampler(
        hub.clone(),
        Arc::clone(&runtime),
        host_source,
        checker,
        config.sample_interval,
        streams_cancel.clone(),
        telemetry.clone(),
    ));
    let housekeeper = tokio::spawn(housekeeping(Arc::clone(&actions), streams_cancel.clone()));
    let service = AgentService::new(
        hub.clone(),
        Arc::clone(&actions),
        transfer,
        streams_cancel,
        config.heartbeat_interval,
        config.stream_buffer,
    )
    .with_runtime(Arc::clone(&runtime))
    .with_auth(Arc::clone(&exposure.policy))
    .with_stream_caps(&config.limits)
    .with_action_rate(config.limits.action_burst, config.limits.actions_per_sec)
    .with_exec(config.exec);
    let (watch_cap, logs_cap) = service.stream_caps();
    let (graceful, graceful_rx) = oneshot::channel::<()>();
    let (accepted, acceptor) = tls::accept_loop(
        listener,
        exposure.tls,
        audit_handshakes(Arc::clone(&actions), "tls.handshake"),
    );
    let incoming = ReceiverStream::new(accepted)
        .map(move |a| Ok::<_, io::Error>(KillableIo::new(a, cut.clone())));
    let audit_calls = Arc::clone(&actions);
    let refusals = Arc::new(move |r: RefusedCall| {
        audit_calls.record_refusal(Refusal {
            action_id: "",
            requested_by: "",
            peer: r.peer.remote,
            identity: r.identity.as_ref(),
            action: &format!("rpc:{}", r.path),
            target: None,
            dry_run: None,
            kind: crate::model::ActErrorKind::Denied,
            message: &r.message,
        });
    });
    let router = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .layer(AuthLayer::new(Arc::clone(&exposure.policy), refusals))
        .layer(CallTimeoutLayer::new(config.limits.call_timeout))
        .add_service(
            AgentServer::new(service)
                .max_decoding_message_size(MAX_DECODE_BYTES)
                .max_encoding_message_size(MAX_ENCODE_BYTES),
        );
    let node = config.node_id.clone();
    let serving = Serving::default();
    let serving_now = serving.enter();
    let server = tokio::spawn(async move {
        // Ready until this task ends, however it ends.
        let _serving = serving_now;
        let shutdown = async {
            let _ = graceful_rx.await;
        };
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            tracing::error!(node, "server failed: {e}");
        }
    });
    let metrics = match metrics_listener {
        Some((listener, tls)) => Some(MetricsServer::start(
            listener,
            tls,
            metrics::registry(
                hub.clone(),
                metrics::streams(watch_cap, logs_cap),
                &telemetry,
            ),
            Arc::clone(&runtime),
            serving,
            audit_handshakes(Arc::clone(&actions), "metrics.tls.handshake"),
        )?),
        None => None,
    };
    tracing::info!(node = config.node_id, %addr, epoch, "agent started");
    Ok(RunningAgent {
        node_id: config.node_id,
        addr,
        epoch,
        hub,
        actions,
        stop_streams,
        cut_connections,
        graceful: Some(graceful),
        server: Some(server),
        sampler: Some(sampler),
        housekeeper: Some(housekeeper),
        acceptor: Some(acceptor),
        metrics,
    })
}

/// Writes each refused certificate handshake to the audit log as `action`.
fn audit_handshakes(
    actions: Arc<Actions>,
    action: &'static str,
) -> impl Fn(HandshakeRefusal) + Send + Sync + 'static {
    move |r: HandshakeRefusal| {
        actions.record_refusal(Refusal {
            action_id: "",
            requested_by: "",
            peer: r.remote,
            identity: None,
            action,
            target: None,
            dry_run: None,
            kind: crate::model::ActErrorKind::Denied,
            message: &r.reason,
        });
    }
}

impl RunningAgent {
    /// Address the agent listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This instance's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::addr)
    }

    /// `http(s)://ADDR/metrics`, when metrics are served.
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics.as_ref().map(MetricsServer::url)
    }

    /// The node's action runner, for actions started in-process (scheduled drills).
    pub fn actions(&self) -> Arc<Actions> {
        Arc::clone(&self.actions)
    }

    /// Current state version (for tests and the demo).
    pub fn seq(&self) -> u64 {
        self.hub.seq()
    }

    /// The node's current full state.
    pub fn snapshot(&self) -> crate::model::Snapshot {
        self.hub.snapshot()
    }

    /// Stops cleanly: streams end, connections close, the listener goes.
    pub async fn shutdown(mut self) {
        self.stop_streams.cancel();
        if let Some(m) = self.metrics.take() {
            m.stop();
        }
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        if let Some(g) = self.graceful.take() {
            let _ = g.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            tracing::warn!(
                node = self.node_id,
                "connections did not close in time; cutting them"
            );
            self.cut_connections.cancel();
            server.abort();
            let _ = tokio::time::timeout(KILL_WAIT, server).await;
        }
        for task in [self.sampler.take(), self.housekeeper.take()]
            .into_iter()
            .flatten()
        {
            let _ = tokio::time::timeout(KILL_WAIT, task).await;
        }
        // Refusals counted while connections drained are summarised too, now none can come.
        self.actions.flush_refusals_all();
        tracing::info!(node = self.node_id, "agent stopped");
    }

    /// Stops like a crashed process: connections cut mid-stream, listener closed at once.
    pub async fn kill(mut self) {
        self.cut_now();
        for task in [
            self.server.take(),
            self.sampler.take(),
            self.housekeeper.take(),
            self.acceptor.take(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = tokio::time::timeout(KILL_WAIT, task).await;
        }
    }

    fn cut_now(&mut self) {
        if let Some(m) = self.metrics.take() {
            m.stop();
        }
        self.cut_connections.cancel();
        self.stop_streams.cancel();
        for task in [
            &self.server,
            &self.sampler,
            &self.housekeeper,
            &self.acceptor,
        ]
        .into_iter()
        .flatten()
        {
            task.abort();
        }
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.cut_now();
    }
}

/// How often refusal bursts are checked for a summary to write, and expired intents are
/// rolled back (the reaper interval).
pub const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(5);

/// Periodic chores until `cancel` fires: summarising refusal bursts in the audit log (the
/// last ones are written by `shutdown` once the server has stopped) and rolling back the
/// intents whose lease expired (at once on start too: it may have expired while the agent
/// was down).
async fn housekeeping(actions: Arc<Actions>, cancel: Cancel) {
    let mut every = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = every.tick() => {
                actions.flush_refusals();
                actions.reap_expired().await;
            }
        }
    }
}
