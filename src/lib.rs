//! fleetdeck: a terminal console for live operations on a fleet of container hosts.

pub mod alerts;
pub mod app;
pub mod cli;
pub mod client;
pub mod colour;
pub mod config;
pub mod config_cmd;
pub mod demo;
pub mod fixtures;
pub mod get;
pub mod heatmap;
pub mod keys;
pub mod limits;
pub mod logging;
pub mod logs;
pub mod model;
pub mod monitor;
pub mod notify;
pub mod ops;
pub mod ops_cli;
pub mod theme;
pub mod theme_file;
pub mod toml_error;
pub mod tui;
pub mod ui;
