//! `fleetdeck demo`: simulated agents started in this process, each on its own loopback
//! port, watched through the same gRPC client a real fleet uses. Built with the `demo`
//! feature (on by default); a console built without it has no agent code in it.

#[cfg(feature = "demo")]
pub use fleet::DemoFleet;

/// What `fleetdeck demo` says when the console was built without the `demo` feature.
pub const NOT_BUILT: &str = "this fleetdeck was built without the `demo` feature; run \
                             `cargo run --release -- demo` in its source tree, or install it \
                             with the default features";

#[cfg(feature = "demo")]
mod fleet {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::path::Path;

    use color_eyre::eyre::{Result, WrapErr};
    use fleetdeck_agent::{AgentConfig, NodeMode, RunningAgent};

    use crate::cli::DemoArgs;
    use crate::client::AgentAddr;

    /// The simulated agents of a demo; dropping them stops them.
    pub struct DemoFleet {
        agents: Vec<RunningAgent>,
    }

    impl DemoFleet {
        /// Starts `args.nodes` sim agents on 127.0.0.1, ports chosen by the system. Each keeps
        /// its state (audit log, container data) under `state_dir/<node>`.
        pub async fn start(args: &DemoArgs, seed: u64, state_dir: Option<&Path>) -> Result<Self> {
            let nodes = usize::from(args.nodes);
            let mut agents = Vec::with_capacity(nodes);
            for i in 0..nodes {
                let node_id = format!("node-{:02}", i + 1);
                let mut config = AgentConfig::sim(&node_id, seed.wrapping_add(i as u64 * 7919));
                config.containers = usize::from(args.containers);
                // One node in eight waits as a standby for failovers.
                if nodes >= 4 && i % 8 == 7 {
                    config.mode = NodeMode::Standby;
                }
                config
                    .labels
                    .insert("rack".into(), format!("r{}", i / 4 + 1));
                config.state_dir = state_dir.map(|d| d.join(&node_id));
                let listener = fleetdeck_agent::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .wrap_err("cannot start a demo agent on loopback")?;
                let agent = fleetdeck_agent::spawn(config, listener)
                    .await
                    .wrap_err_with(|| format!("cannot start demo agent {node_id}"))?;
                agents.push(agent);
            }
            Ok(Self { agents })
        }

        /// Where the console reaches each agent, in node order.
        pub fn addrs(&self) -> Result<Vec<AgentAddr>> {
            self.agents
                .iter()
                .map(|a| a.addr().to_string().parse::<AgentAddr>())
                .collect::<Result<_, _>>()
                .wrap_err("a demo agent has an unusable address")
        }

        /// Stops every agent, letting their streams end cleanly.
        pub async fn stop(self) {
            for agent in self.agents {
                agent.shutdown().await;
            }
        }
    }
}

/// The demo console's title: how many agents, and the seed that replays the same fleet.
pub fn title(agents: usize, seed: u64) -> String {
    format!("demo · {agents} simulated agents on loopback · seed {seed}")
}
