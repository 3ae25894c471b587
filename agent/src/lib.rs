//! fleetdeck agent: one per node. Serves the node's containers, resources and health over
//! gRPC (`fleetdeck.v1`), runs actions on it and audits them.
//!
//! In-process use (the console's demo, integration tests):
//!
//! ```no_run
//! # async fn demo() -> Result<(), fleetdeck_agent::AgentError> {
//! use fleetdeck_agent::{AgentConfig, bind, spawn};
//! let listener = bind("127.0.0.1:0".parse().expect("address")).await?;
//! let agent = spawn(AgentConfig::sim("node-1", 42), listener).await?;
//! println!("listening on {} (epoch {})", agent.addr(), agent.epoch());
//! agent.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;

pub mod actions;
pub mod audit;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod convert;
pub mod convert_ops;
pub mod drill;
pub mod exec;
pub mod fleet;
pub mod health;
pub mod history;
pub mod host;
pub mod hub;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod pki;
pub mod runtime;
pub mod server;
pub mod token_cli;
pub mod transfer;
pub mod validate;

pub use config::{AgentConfig, default_state_dir};
pub use fleet::{bind_fleet, node_config, raise_fd_limit, spawn_fleet};
pub use fleetdeck_core::{cancel, private};
pub use model::NodeMode;
pub use runtime::{Runtime, RuntimeKind};
pub use server::{RunningAgent, bind, spawn};
/// Roles, tokens and caller identities, and the TLS files: what consoles and tools outside
/// the agent use to deploy and reach it.
pub use server::{auth, tls};

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {}", describe_io(.error))]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The runtime backend is not part of this build.
    #[error("the {0} runtime is not available in this build")]
    RuntimeUnavailable(&'static str),
    /// The runtime did not answer.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    /// The state directory could not be created.
    #[error("cannot create the state directory {path}: {error}")]
    StateDir {
        /// The state directory.
        path: std::path::PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    /// The host could not be probed.
    #[error(transparent)]
    Host(#[from] host::HostError),
    /// TLS material could not be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The tokens file could not be used.
    #[error(transparent)]
    Tokens(#[from] auth::tokens::TokenError),
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// A certificate could not be made or written (`pki`).
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// What a command prints could not be written out.
    #[error("cannot write to stdout: {0}")]
    Output(std::io::Error),
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
        std::io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}
