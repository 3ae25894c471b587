//! Pure cluster state: nodes, containers, time series. No I/O, no awaiting.

mod backfill;
mod container;
mod fleet;
mod intern;
pub mod locate;
mod minutes;
mod node;
mod series;
mod summary;

pub use container::{CONTAINER_HISTORY_SAMPLES, Container, ContainerSpec};
pub use fleet::{AgentUpdate, Applied, DEFAULT_FAILOVER_TIMEOUT, Fleet, NodeDelta, NodeSnapshot};
pub use fleetdeck_core::container::{ContainerStats, PortMapping};
pub use fleetdeck_core::history::History;
pub use fleetdeck_core::node::{
    CheckStatus, HealthCheck, HostSample, NodeInfo, NodeMode, NodeStatus, RUNTIME_CHECK,
};
pub use fleetdeck_core::spec::{ContainerState, HealthState};
pub use intern::{Interner, Labels};
pub use minutes::{LOAD_MINUTES, Minutes};
pub use node::{
    LOAD_HISTORY_SAMPLES, Link, NETWORK_FULL_BYTES_PER_SEC, NODE_HISTORY_SAMPLES, Node, NodeState,
    load_of,
};
pub use series::{Scale, Series};
pub use summary::{FleetSummary, NodeTotals, StateCounts};
