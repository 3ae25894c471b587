//! The spec cache: every container's last known portable spec, per node, kept in the
//! console's state directory so a failover can re-create a dead node's containers even
//! after the console itself restarted. The TUI and every CLI command that reads the fleet
//! refresh it from the nodes they reach; unreachable nodes keep their last entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fleetdeck_core::private;
use serde::{Deserialize, Serialize};

use super::PortableSpec;
use super::link::{Link, LinkFailure};
use crate::client::Connections;

/// File name of the cache inside the state directory.
pub const SPEC_CACHE_FILE: &str = "specs.json";

/// One container's cached spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedSpec {
    pub spec: PortableSpec,
    /// Whether it was running (failover re-creates running ones).
    pub running: bool,
}

/// One node's cached specs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeSpecs {
    pub endpoint: String,
    pub saved_unix_ms: u64,
    pub specs: Vec<CachedSpec>,
    /// The container engine the node ran on (empty for sim nodes), so a failover planned
    /// after the node died still knows which nodes shared it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub engine_id: String,
}

/// Every node's cached specs, by node name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpecCache {
    pub nodes: BTreeMap<String, NodeSpecs>,
}

impl SpecCache {
    /// The cache file in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(SPEC_CACHE_FILE)
    }

    /// Reads the cache; a missing file is an empty cache, an unreadable one is logged and
    /// replaced at the next save.
    pub fn load(state_dir: &Path) -> Self {
        let path = Self::path(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(
                    "spec cache {} is unreadable ({e}); starting afresh",
                    path.display()
                );
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Writes the cache atomically (temp file, then rename) and owner-only: it holds the
    /// containers' environments.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        private::create_dir(state_dir)?;
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        private::write_atomic(&Self::path(state_dir), &json)
    }

    /// A container's cached spec.
    pub fn get(&self, node: &str, name: &str) -> Option<&CachedSpec> {
        self.nodes
            .get(node)?
            .specs
            .iter()
            .find(|s| s.spec.name == name)
    }

    /// Asks every endpoint for its specs; replaces the entries of those that answer.
    /// Returns how many nodes answered.
    pub async fn refresh(&mut self, conns: &Connections, endpoints: &[String]) -> usize {
        self.refresh_allowed(conns, endpoints, &mut BTreeSet::new())
            .await
    }

    /// [`SpecCache::refresh`], skipping the endpoints in `denied` and adding those that
    /// refuse this console's role: a viewer token (a wall) is refused specs every time, and
    /// asking again only buries real refusals in the agent's audit log.
    pub async fn refresh_allowed(
        &mut self,
        conns: &Connections,
        endpoints: &[String],
        denied: &mut BTreeSet<String>,
    ) -> usize {
        let asks = endpoints
            .iter()
            .filter(|e| !denied.contains(*e))
            .map(|e| async move {
                let mut link = Link::open(conns, e, e).await.map_err(|_| None)?;
                let info = link.info().await.map_err(|_| None)?;
                let specs = link.list_specs().await.map_err(|f| match f {
                    LinkFailure::Denied { reason, .. } => Some((e.clone(), reason)),
                    _ => None,
                })?;
                Ok((e.clone(), info.node_id, info.engine_id, specs))
            });
        let mut answers = Vec::new();
        for answer in futures::future::join_all(asks).await {
            match answer {
                Ok(a) => answers.push(a),
                Err(Some((endpoint, reason))) => {
                    tracing::info!(
                        "{endpoint}: not asking for container specs again ({reason}); failover from \
                         this console will lack its newest specs"
                    );
                    denied.insert(endpoint);
                }
                Err(None) => {}
            }
        }
        let now = crate::tui::unix_ms();
        let mut n = 0;
        for (endpoint, node, engine_id, specs) in answers {
            n += 1;
            let specs = specs
                .into_iter()
                .map(|s| {
                    let running = matches!(
                        fleetdeck_proto::ContainerState::try_from(s.state),
                        Ok(fleetdeck_proto::ContainerState::Running
                            | fleetdeck_proto::ContainerState::Restarting)
                    );
                    CachedSpec {
                        spec: fleetdeck_core::spec::PortableSpec::from_proto(s),
                        running,
                    }
                })
                .collect();
            self.nodes.insert(
                node,
                NodeSpecs {
                    endpoint,
                    saved_unix_ms: now,
                    specs,
                    engine_id,
                },
            );
        }
        n
    }
}
