//! fleetdeck: a terminal console for live operations on a fleet of container hosts.

pub mod client;
pub mod fixtures;
pub mod model;
