//! fleetdeck: a terminal console for live operations on a fleet of container hosts.

pub mod alerts;
pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod fixtures;
pub mod get;
pub mod keys;
pub mod limits;
pub mod logging;
pub mod logs;
pub mod model;
pub mod ops;
pub mod ops_cli;
pub mod theme;
pub mod tui;
pub mod ui;
