//! fleetdeck: a terminal console for live operations on a fleet of container hosts.

pub mod cli;
pub mod client;
pub mod config;
pub mod fixtures;
pub mod get;
pub mod limits;
pub mod model;
