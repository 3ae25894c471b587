//! The docker runtime: a real Docker Engine through its API (bollard), honouring DOCKER_HOST.
//!
//! Each pass lists the containers (one request), inspects only those that are new or that an
//! engine event or a changed list entry marked, and reads resource counters from the
//! containers' cgroup files (the engine's stats API where those cannot be read). Engine
//! events wake the sampler at once, so a container that dies reaches watchers in the time
//! of one list and one inspect, not at the next tick. The pass itself is in `sample`,
//! what actions need in `ops`, `spec` and `volumes`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as ApiError;
use bollard::query_parameters::{
    RemoveContainerOptions, RestartContainerOptions, StopContainerOptions,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod convert;
mod events;
mod exec;
mod images;
mod logs;
mod ops;
mod sample;
mod spec;
mod stats;
mod volumes;

use crate::logs::{LineStream, LogQuery};
use crate::model::{ContainerSample, ContainerVerb, PortableSpec};
use crate::runtime::{Runtime, RuntimeError, RuntimeKind};

/// Longest wait for one engine request of a sampling pass: a hung engine turns the runtime
/// check red instead of stalling the sampler.
const API_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for an action's request (a stop waits for the container's grace period).
const ACTION_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds a stopping container gets between SIGTERM and SIGKILL.
const STOP_GRACE_SECS: i32 = 10;

/// The engine's usual socket, used when neither the config nor DOCKER_HOST names one.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where resource figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatsSource {
    /// cgroup files where readable, the stats API for the rest.
    #[default]
    Auto,
    /// cgroup files only (containers whose files cannot be read show no figures).
    Cgroup,
    /// The engine's stats API only.
    Api,
}

/// How to reach and read the engine.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    /// Engine address (`unix://...`, `tcp://...`); `None` = DOCKER_HOST or the default socket.
    pub host: Option<String>,
    /// Only containers carrying this label (key, value) belong to this node.
    pub scope: Option<(String, String)>,
    /// The sampler's interval: figures are refreshed at most about this often.
    pub sample_interval: Duration,
    /// Where resource figures come from.
    pub stats: StatsSource,
    /// Where containers this agent creates keep their volume data; `None` = none created
    /// with volumes.
    pub data_dir: Option<std::path::PathBuf>,
}

/// Containers the sampler must inspect again, marked by events and actions.
#[derive(Debug, Default)]
struct Dirty {
    ids: HashSet<String>,
    all: bool,
}

/// What the event watcher and the runtime share.
struct Shared {
    dirty: Mutex<Dirty>,
    changes: Arc<Notify>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Dirty> {
        // A set of ids stays usable whatever panicked while holding it.
        self.dirty
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks one container for a fresh inspect and wakes the sampler.
    fn touch(&self, id: &str) {
        self.lock().ids.insert(id.to_owned());
        self.changes.notify_one();
    }

    /// Marks every container (after a gap in the events) and wakes the sampler.
    fn touch_all(&self) {
        self.lock().all = true;
        self.changes.notify_one();
    }

    fn take(&self) -> Dirty {
        std::mem::take(&mut *self.lock())
    }
}

/// A Docker Engine.
pub struct DockerRuntime {
    docker: Docker,
    endpoint: String,
    config: DockerConfig,
    shared: Arc<Shared>,
    cache: tokio::sync::Mutex<sample::Cache>,
    events: JoinHandle<()>,
    /// The engine's ID from its info, when it gave one.
    engine_id: Option<String>,
    /// Migration copies committed (their pending label hidden), see `docker_ops`.
    committed: Mutex<HashSet<String>>,
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        self.events.abort();
    }
}

/// The engine address `config` and the environment name.
pub fn endpoint(config: &DockerConfig) -> String {
    config
        .host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_owned())
}

/// Why the engine at `endpoint` did not answer, in words a user can act on.
pub fn describe_unreachable(endpoint: &str, e: &ApiError) -> String {
    if let Some(path) = endpoint.strip_prefix("unix://") {
        // The socket itself says more than the HTTP client's wrapped error.
        if let Err(io) = std::os::unix::net::UnixStream::connect(path) {
            let why = match io.kind() {
                std::io::ErrorKind::NotFound => "no socket there".to_owned(),
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied (run as root or join the docker group)".to_owned()
                }
                std::io::ErrorKind::ConnectionRefused => "nothing is listening".to_owned(),
                _ => io.to_string(),
            };
            return format!("cannot reach the Docker engine at {endpoint}: {why}");
        }
    }
    format!("cannot reach the Docker engine at {endpoint}: {e}")
}

fn is_connection(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::HyperLegacyError { .. }
            | ApiError::IOError { .. }
            | ApiError::RequestTimeoutError
            | ApiError::SocketNotFoundError(_)
    )
}

fn status_code(e: &ApiError) -> Option<u16> {
    match e {
        ApiError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl DockerRuntime {
    /// Connects to the engine and agrees on an API version; fails with one line naming the
    /// address tried when nothing answers there.
    pub async fn connect(config: DockerConfig) -> Result<Self, RuntimeError> {
        let endpoint = endpoint(&config);
        let docker = Docker::connect_with_host(&endpoint)
            .map_err(|e| match e {
                ApiError::SocketNotFoundError(_) => {
                    RuntimeError::Unavailable(describe_unreachable(&endpoint, &e))
                }
                _ => RuntimeError::Unavailable(format!("cannot use {endpoint}: {e}")),
            })?
            .with_timeout(ACTION_TIMEOUT);
        let docker = match tokio::time::timeout(API_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                return Err(RuntimeError::Unavailable(describe_unreachable(
                    &endpoint, &e,
                )));
            }
            Err(_) => {
                return Err(RuntimeError::Unavailable(format!(
                    "the Docker engine at {endpoint} did not answer within {} s",
                    API_TIMEOUT.as_secs()
                )));
            }
        };
        let shared = Arc::new(Shared {
            dirty: Mutex::default(),
            changes: Arc::default(),
        });
        let events = tokio::spawn(events::watch(
            docker.clone(),
            Arc::clone(&shared),
            config.scope.clone(),
        ));
        tracing::info!(endpoint, "connected to the Docker engine");
        // Nodes that share this engine share its host ports: the console's planner compares
        // this ID. An engine that does not say is treated as unshared.
        let engine_id = match tokio::time::timeout(API_TIMEOUT, docker.info()).await {
            Ok(Ok(info)) => info.id.filter(|id| !id.is_empty()),
            _ => {
                tracing::warn!(endpoint, "the Docker engine did not give its ID");
                None
            }
        };
        let committed = config
            .data_dir
            .as_deref()
            .map(ops::load_committed)
            .unwrap_or_default();
        Ok(Self {
            docker,
            endpoint,
            config,
            shared,
            cache: tokio::sync::Mutex::default(),
            events,
            engine_id,
            committed: Mutex::new(committed),
        })
    }

    /// The engine address in use.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn unreachable(&self, e: &ApiError) -> RuntimeError {
        RuntimeError::Unavailable(describe_unreachable(&self.endpoint, e))
    }

    fn api_error(&self, id: &str, e: ApiError) -> RuntimeError {
        match (status_code(&e), &e) {
            (Some(404), _) => RuntimeError::NotFound(id.to_owned()),
            (Some(409), ApiError::DockerResponseServerError { message, .. }) => {
                RuntimeError::Conflict(message.clone())
            }
            (_, ApiError::DockerResponseServerError { message, .. }) => {
                RuntimeError::Failed(message.clone())
            }
            _ if is_connection(&e) => self.unreachable(&e),
            _ => RuntimeError::Failed(e.to_string()),
        }
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    async fn containers(&self) -> Result<Vec<ContainerSample>, RuntimeError> {
        self.sample().await
    }

    fn engine_id(&self) -> Option<String> {
        self.engine_id.clone()
    }

    fn changes(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.shared.changes))
    }

    async fn ping(&self) -> Result<(), RuntimeError> {
        match tokio::time::timeout(API_TIMEOUT, self.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.unreachable(&e)),
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "the Docker engine at {} did not answer within {} s",
                self.endpoint,
                API_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn act(&self, verb: ContainerVerb, id: &str) -> Result<(), RuntimeError> {
        if verb == ContainerVerb::Commit {
            // The engine fixes labels at creation: the pending label stays on the engine and
            // the agent records the commit itself (see docker_ops).
            self.inspect_ours(id).await?;
            if let Some(dir) = &self.config.data_dir {
                ops::mark_committed(dir, id)?;
            }
            self.committed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id.to_owned());
            self.shared.touch(id);
            return Ok(());
        }
        // The managed volume data, and the volumes made for a copy, go with the container.
        let (volumes, owned) = if verb == ContainerVerb::Remove {
            match self.inspect(id).await {
                Ok(i) => (ops::volume_dir(&i), self.owned_volumes(&i).await),
                Err(_) => (None, Vec::new()),
            }
        } else {
            (None, Vec::new())
        };
        let d = &self.docker;
        let grace = Some(STOP_GRACE_SECS);
        let result = match verb {
            ContainerVerb::Start => d.start_container(id, None).await,
            ContainerVerb::Stop => {
                let o = StopContainerOptions {
                    t: grace,
                    signal: None,
                };
                d.stop_container(id, Some(o)).await
            }
            ContainerVerb::Restart => {
                let o = RestartContainerOptions {
                    t: grace,
                    signal: None,
                };
                d.restart_container(id, Some(o)).await
            }
            ContainerVerb::Remove => {
                // Anonymous volumes go with it (nothing else can name them); named ones stay.
                let o = RemoveContainerOptions {
                    force: false,
                    v: true,
                    link: false,
                };
                d.remove_container(id, Some(o)).await
            }
            ContainerVerb::Commit => Ok(()),
        };
        self.shared.touch(id);
        if verb == ContainerVerb::Remove && result.is_ok() {
            ops::forget(self.config.data_dir.as_deref(), id, volumes.as_deref());
            self.remove_volumes(&owned).await;
            self.committed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(id);
        }
        match result {
            Ok(()) => Ok(()),
            // 304: already in the asked-for state.
            Err(e) if status_code(&e) == Some(304) => Ok(()),
            Err(e) => Err(self.api_error(id, e)),
        }
    }

    async fn logs(&self, id: &str, query: LogQuery) -> Result<LineStream, RuntimeError> {
        Ok(logs::stream(&self.docker, id, query))
    }

    async fn exec(
        &self,
        id: &str,
        spec: &crate::exec::ExecSpec,
    ) -> Result<crate::exec::ExecIo, RuntimeError> {
        self.exec_in(id, spec).await
    }

    async fn export_spec(&self, id: &str) -> Result<PortableSpec, RuntimeError> {
        self.export_portable(id).await
    }

    async fn create(&self, spec: &PortableSpec) -> Result<String, RuntimeError> {
        self.create_from(spec).await
    }

    async fn images(&self) -> Result<Vec<fleetdeck_core::image::EngineImage>, RuntimeError> {
        self.engine_images().await
    }

    async fn volume_dir(&self, id: &str) -> Result<std::path::PathBuf, RuntimeError> {
        self.managed_volume_dir(id).await
    }

    async fn check_create(&self, spec: &PortableSpec) -> Result<(), RuntimeError> {
        self.check_copy(spec).await
    }

    fn volumes_read(&self, dir: &std::path::Path) {
        if self.is_staged(dir) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    async fn volumes_written(&self, id: &str, dir: &std::path::Path) -> Result<(), RuntimeError> {
        if self.is_staged(dir) {
            self.upload_staged(id, dir).await
        } else {
            Ok(())
        }
    }
}
