//! Pure cluster state: nodes, containers, time series. No I/O, no awaiting.

mod container;
mod fleet;
mod node;
mod series;
mod summary;

pub use container::{
    CONTAINER_HISTORY_SAMPLES, Container, ContainerSpec, ContainerState, ContainerStats, Health,
    Port,
};
pub use fleet::{AgentUpdate, Applied, DEFAULT_FAILOVER_TIMEOUT, Fleet, NodeDelta, NodeSnapshot};
pub use node::{
    CheckStatus, HealthCheck, HostSample, LOAD_HISTORY_SAMPLES, Link, NETWORK_FULL_BYTES_PER_SEC,
    NODE_HISTORY_SAMPLES, Node, NodeInfo, NodeMode, NodeState,
};
pub use series::Series;
pub use summary::{FleetSummary, NodeTotals, StateCounts};
