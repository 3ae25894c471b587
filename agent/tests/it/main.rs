//! The agent's integration tests, linked once as one binary: each file here is a module,
//! `common` holds what they share. None needs a process of its own.

mod common;

mod act;
mod archive_reader;
mod auth_mode;
mod cli;
mod exec;
mod history_rpc;
mod hostile;
mod hostile_refs;
mod metrics;
mod pki;
mod private_files;
mod sim_fault;
mod upload_limits;
mod watch;
mod wire_budget;
