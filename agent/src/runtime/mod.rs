//! Container runtimes behind one trait: `sim` (simulated nodes) and `docker` (a real
//! Docker Engine through bollard).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::exec::{ExecIo, ExecSpec};
use crate::logs::{LineStream, LogQuery};
use crate::model::{ContainerSample, ContainerVerb, HostSample, PortableSpec, SimFaultKind};

pub mod cgroup;
pub mod counters;
pub mod docker;
pub mod sim;

pub use docker::{DockerConfig, DockerRuntime, StatsSource};
pub use sim::{SimConfig, SimRuntime};

/// Which runtime backend an agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeKind {
    /// Simulated node (demos, tests, scale runs).
    #[default]
    Sim,
    /// Docker Engine API.
    Docker,
}

impl RuntimeKind {
    /// Name used on the wire and in flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Docker => "docker",
        }
    }
}

/// A runtime failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The container does not exist (any more).
    #[error("no such container: {0}")]
    NotFound(String),
    /// The request conflicts with the container's state.
    #[error("{0}")]
    Conflict(String),
    /// The runtime cannot be reached.
    #[error("runtime unreachable: {0}")]
    Unavailable(String),
    /// Anything else the runtime reported.
    #[error("{0}")]
    Failed(String),
    /// This runtime cannot do that (yet).
    #[error("the {runtime} runtime cannot {what}")]
    Unsupported {
        /// Runtime name.
        runtime: &'static str,
        /// What was asked, e.g. "export a container's spec".
        what: &'static str,
    },
}

/// Node facts a runtime knows better than the host probe (all of them, for sim nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeOverrides {
    /// Host name to report.
    pub hostname: Option<String>,
    /// CPU cores.
    pub cpu_cores: Option<u32>,
    /// Total memory, bytes.
    pub memory_total_bytes: Option<u64>,
    /// Total disk, bytes.
    pub disk_total_bytes: Option<u64>,
    /// Most containers the node is meant to hold.
    pub max_containers: Option<u32>,
}

/// A container runtime: the agent's only view of containers.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Which backend this is.
    fn kind(&self) -> RuntimeKind;

    /// Moves simulated time one sample interval on; real runtimes ignore it.
    fn advance(&self) {}

    /// All containers with fresh resource figures, in a stable order.
    async fn containers(&self) -> Result<Vec<ContainerSample>, RuntimeError>;

    /// Signalled whenever containers changed outside the sampling rhythm (docker events,
    /// actions), so the hub resamples at once instead of at the next tick.
    fn changes(&self) -> Option<Arc<Notify>> {
        None
    }

    /// Node facts that replace the host probe's.
    fn node_overrides(&self) -> NodeOverrides {
        NodeOverrides::default()
    }

    /// A generated past to start the node's history with (sim nodes: an hour from their
    /// load curves); real runtimes have none and start empty.
    fn past(&self) -> Option<crate::history::Past> {
        None
    }

    /// Host figures when the host is simulated; `None` means probe the real host.
    fn simulated_host(&self) -> Option<HostSample> {
        None
    }

    /// Identity of the engine behind this runtime, when it has one: nodes on one engine
    /// share its host ports.
    fn engine_id(&self) -> Option<String> {
        None
    }

    /// Checks that the runtime answers.
    async fn ping(&self) -> Result<(), RuntimeError>;

    /// Runs `verb` on the container with runtime id `id`.
    async fn act(&self, verb: ContainerVerb, id: &str) -> Result<(), RuntimeError>;

    /// Puts fault `kind` on the container with runtime id `id` for `duration` (`None`:
    /// until cleared) and says what it did. Only simulated runtimes can.
    async fn inject_fault(
        &self,
        kind: SimFaultKind,
        id: &str,
        duration: Option<std::time::Duration>,
    ) -> Result<String, RuntimeError> {
        let _ = (kind, id, duration);
        Err(self.unsupported("inject faults (only sim nodes can)"))
    }

    /// The portable description of container `id` (volume_bytes may be an estimate).
    async fn export_spec(&self, id: &str) -> Result<PortableSpec, RuntimeError> {
        let _ = id;
        Err(self.unsupported("export a container's spec"))
    }

    /// The images this node's engine holds, with their health check timing.
    async fn images(&self) -> Result<Vec<fleetdeck_core::image::EngineImage>, RuntimeError> {
        Err(self.unsupported("list images"))
    }

    /// Creates, without starting, a container from `spec`; returns its runtime id.
    async fn create(&self, spec: &PortableSpec) -> Result<String, RuntimeError> {
        let _ = spec;
        Err(self.unsupported("create containers"))
    }

    /// The directory holding container `id`'s volumes, one subdirectory per volume,
    /// created (and for sim nodes filled with seed data) on first use.
    async fn volume_dir(&self, id: &str) -> Result<PathBuf, RuntimeError> {
        let _ = id;
        Err(self.unsupported("reach volume data"))
    }

    /// Refuses, before anything is made, a copy of `spec` this node cannot hold.
    async fn check_create(&self, spec: &PortableSpec) -> Result<(), RuntimeError> {
        let _ = spec;
        Ok(())
    }

    /// Called after new data was put into `dir` (from [`Runtime::volume_dir`] of container
    /// `id`): a runtime whose folder was only a staging copy sends the data on.
    async fn volumes_written(&self, id: &str, dir: &std::path::Path) -> Result<(), RuntimeError> {
        let _ = (id, dir);
        Ok(())
    }

    /// Called once the data in `dir` (from [`Runtime::volume_dir`]) has been read: a runtime
    /// whose folder was only a staging copy removes it, so repeated backups do not pile up.
    fn volumes_read(&self, dir: &std::path::Path) {
        let _ = dir;
    }

    /// Sets and removes labels of container `id`.
    async fn relabel(
        &self,
        id: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), RuntimeError> {
        let _ = (id, set, remove);
        Err(self.unsupported("change labels"))
    }

    /// The typed error for an operation this runtime lacks.
    fn unsupported(&self, what: &'static str) -> RuntimeError {
        RuntimeError::Unsupported {
            runtime: self.kind().name(),
            what,
        }
    }

    /// Runs `spec` in the running container with runtime id `id`, like `docker exec`.
    async fn exec(&self, id: &str, spec: &ExecSpec) -> Result<ExecIo, RuntimeError> {
        let _ = (id, spec);
        Err(self.unsupported("run commands in containers"))
    }

    /// Log lines of the container with runtime id `id`.
    async fn logs(&self, id: &str, query: LogQuery) -> Result<LineStream, RuntimeError> {
        let _ = (id, query);
        Err(RuntimeError::Failed("this runtime keeps no logs".into()))
    }
}
