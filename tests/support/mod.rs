//! Helpers shared by the integration tests.

pub mod docker;
pub mod tmux;
