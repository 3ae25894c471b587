//! Many sim nodes in one process (demos, scale tests): consecutive ports, one state
//! subfolder per node.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::AgentError;
use crate::config::AgentConfig;
use crate::runtime::RuntimeKind;
use crate::server::{RunningAgent, bind, spawn};

/// File descriptors kept free for everything that is not a node listener.
const SPARE_FDS: u64 = 64;
/// File descriptors budgeted per node: its listener and a client connection or two.
const FDS_PER_NODE: u64 = 3;

/// Configuration of node `index` (0-based) of a fleet built from `template`: id
/// `<template id>-0001`.., a seed derived from the template's, and `<state dir>/<id>`.
pub fn node_config(template: &AgentConfig, index: usize) -> AgentConfig {
    let mut config = template.clone();
    config.node_id = format!("{}-{:04}", template.node_id, index + 1);
    config.seed = template.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    config.state_dir = template.state_dir.as_ref().map(|d| d.join(&config.node_id));
    config
}

/// Raises the open-file limit as far as allowed; fails when `nodes` still do not fit.
pub fn raise_fd_limit(nodes: usize) -> Result<u64, AgentError> {
    let need = nodes as u64 * FDS_PER_NODE + SPARE_FDS;
    let have = rlimit::increase_nofile_limit(need.max(4096)).unwrap_or(0);
    if have != 0 && have < need {
        return Err(AgentError::Config(format!(
            "{nodes} nodes need about {need} open files but the limit is {have}; \
             lower --fleet or raise the limit (ulimit -n)"
        )));
    }
    Ok(have)
}

/// Binds `nodes` listeners: consecutive ports from `first`, or each on port 0 when `first`
/// has port 0. All or nothing: on error every listener bound so far is closed.
pub async fn bind_fleet(first: SocketAddr, nodes: usize) -> Result<Vec<TcpListener>, AgentError> {
    let base = first.port();
    if base != 0 && usize::from(base) + nodes > usize::from(u16::MAX) + 1 {
        return Err(AgentError::Config(format!(
            "{nodes} nodes from port {base} run past port 65535; pick a lower --listen port"
        )));
    }
    let mut listeners = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let port = if base == 0 { 0 } else { base + i as u16 };
        listeners.push(bind(SocketAddr::new(first.ip(), port)).await?);
    }
    Ok(listeners)
}

/// Starts a sim node per listener, configured by `node_config(template, i)`.
pub async fn spawn_fleet(
    template: &AgentConfig,
    listeners: Vec<TcpListener>,
) -> Result<Vec<RunningAgent>, AgentError> {
    if template.runtime != RuntimeKind::Sim {
        return Err(AgentError::Config(
            "a fleet runs sim nodes only; use --runtime sim".into(),
        ));
    }
    let mut agents = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        // On error the agents started so far are dropped, which stops them.
        agents.push(spawn(node_config(template, i), listener).await?);
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_configs_differ() {
        let mut t = AgentConfig::sim("sim", 5);
        t.state_dir = Some("/tmp/x".into());
        let a = node_config(&t, 0);
        let b = node_config(&t, 1);
        assert_eq!(a.node_id, "sim-0001");
        assert_eq!(b.node_id, "sim-0002");
        assert_ne!(a.seed, b.seed);
        assert_eq!(
            a.state_dir.as_deref(),
            Some(std::path::Path::new("/tmp/x/sim-0001"))
        );
    }

    #[tokio::test]
    async fn busy_port_in_range_fails_whole_fleet() {
        let busy = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let port = busy.local_addr().unwrap().port();
        let first = SocketAddr::from(([127, 0, 0, 1], port.saturating_sub(1)));
        let err = bind_fleet(first, 3).await.unwrap_err();
        // Normally the busy port itself; any busy port in the range must stop the fleet.
        assert!(
            err.to_string().starts_with("cannot listen on 127.0.0.1:"),
            "{err}"
        );
    }

    #[test]
    fn port_range_checked() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(bind_fleet("127.0.0.1:65535".parse().unwrap(), 2))
            .unwrap_err();
        assert!(err.to_string().contains("65535"));
    }
}
