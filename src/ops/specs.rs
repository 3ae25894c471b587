//! The spec cache: every container's last known portable spec, per node, kept in the
//! console's state directory so a failover can re-create a dead node's containers even
//! after the console itself restarted. The TUI and every CLI command that reads the fleet
//! refresh it from the nodes they reach; unreachable nodes keep their last entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;

use fleetdeck_core::private;
use serde::{Deserialize, Serialize};

use super::PortableSpec;
use super::link::{Link, LinkFailure};
use crate::client::Connections;

/// File name of the cache inside the state directory.
pub const SPEC_CACHE_FILE: &str = "specs.json";
/// Nodes asked for their specs at once: each answer is folded in (and dropped) as it
/// comes, so a 5,000-node refresh never holds 5,000 replies at the same time.
const ASKS_AT_ONCE: usize = 64;

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

/// Every node's cached specs, by node name. A node's entry is packed and shared: cloning
/// the cache (the refresher hands one to the console every refresh) costs a pointer per
/// node, and a refresh only replaces the entries of nodes whose specs changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpecCache {
    #[serde(with = "packed")]
    pub nodes: BTreeMap<String, Arc<PackedNode>>,
}

/// One node's cached specs as the cache holds them: the specs in their wire form, one
/// allocation per node instead of a dozen or more per container (strings, label and
/// environment maps); they are unpacked when an action is planned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackedNode {
    pub endpoint: String,
    pub saved_unix_ms: u64,
    /// See [`NodeSpecs::engine_id`].
    pub engine_id: String,
    /// A `ListSpecsReply`; each spec's `state` says only whether it was running (what
    /// [`CachedSpec::running`] keeps: a cached spec has no state of its own).
    specs: Box<[u8]>,
}

impl PackedNode {
    /// Packs a node's specs.
    pub fn pack(node: &NodeSpecs) -> Self {
        let specs = fleetdeck_proto::ListSpecsReply {
            specs: node
                .specs
                .iter()
                .map(|c| {
                    let mut wire = c.spec.to_proto();
                    wire.state = if c.running {
                        fleetdeck_proto::ContainerState::Running
                    } else {
                        fleetdeck_proto::ContainerState::Exited
                    } as i32;
                    wire
                })
                .collect(),
        };
        Self {
            endpoint: node.endpoint.clone(),
            saved_unix_ms: node.saved_unix_ms,
            engine_id: node.engine_id.clone(),
            specs: prost::Message::encode_to_vec(&specs).into_boxed_slice(),
        }
    }

    /// The node's specs, unpacked.
    pub fn specs(&self) -> Vec<CachedSpec> {
        // Packed by `pack` from well-formed specs: decoding them back cannot fail.
        let reply: fleetdeck_proto::ListSpecsReply =
            prost::Message::decode(&self.specs[..]).unwrap_or_default();
        reply.specs.into_iter().map(cached).collect()
    }

    /// The whole entry, unpacked.
    pub fn unpack(&self) -> NodeSpecs {
        NodeSpecs {
            endpoint: self.endpoint.clone(),
            saved_unix_ms: self.saved_unix_ms,
            specs: self.specs(),
            engine_id: self.engine_id.clone(),
        }
    }

    /// Bytes the packed specs take.
    pub fn packed_len(&self) -> usize {
        self.specs.len()
    }
}

impl From<NodeSpecs> for Arc<PackedNode> {
    fn from(node: NodeSpecs) -> Self {
        Arc::new(PackedNode::pack(&node))
    }
}

/// A spec from the wire as the cache keeps it: running or not, no state of its own.
fn cached(s: fleetdeck_proto::PortableSpec) -> CachedSpec {
    let running = matches!(
        fleetdeck_proto::ContainerState::try_from(s.state),
        Ok(fleetdeck_proto::ContainerState::Running | fleetdeck_proto::ContainerState::Restarting)
    );
    CachedSpec {
        spec: PortableSpec::from_proto(s),
        running,
    }
}

/// One node's answer: `(endpoint, node name, engine id, specs)`; on failure, the refusal
/// to remember when the agent denied this console's role.
async fn ask_specs(
    conns: &Connections,
    endpoint: &str,
) -> Result<Answer, Option<(String, String)>> {
    let mut link = Link::open(conns, endpoint, endpoint)
        .await
        .map_err(|_| None)?;
    let info = link.info().await.map_err(|_| None)?;
    let specs = link.list_specs().await.map_err(|f| match f {
        LinkFailure::Denied { reason, .. } => Some((endpoint.to_string(), reason)),
        _ => None,
    })?;
    Ok((endpoint.to_string(), info.node_id, info.engine_id, specs))
}

type Answer = (String, String, String, Vec<fleetdeck_proto::PortableSpec>);

/// The cache file holds each node's entry unpacked, as [`NodeSpecs`].
mod packed {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::{NodeSpecs, PackedNode};

    pub fn serialize<S: Serializer>(
        nodes: &BTreeMap<String, Arc<PackedNode>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(nodes.iter().map(|(k, v)| (k, v.unpack())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Arc<PackedNode>>, D::Error> {
        let nodes = BTreeMap::<String, NodeSpecs>::deserialize(d)?;
        Ok(nodes.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

/// How many refreshes pass before a node whose specs did not change is asked again all the
/// same (its stream may be down, its agent too old to say, or a spec changed in a way its
/// agent does not notice, such as a restart policy updated in place): a slice of them in
/// turn at each refresh.
pub const REASK_EVERY: usize = 10;

/// What the console's periodic refresh last heard from each node: the generation of its
/// specs (as its Watch stream said) when it last answered.
#[derive(Debug, Default)]
pub struct Asked {
    heard: std::collections::HashMap<String, u64>,
    turn: usize,
}

impl Asked {
    /// The endpoints to ask now: those never heard, those whose generation moved or is
    /// not known, and this refresh's share of the rest.
    fn due<'a>(&mut self, conns: &Connections, endpoints: &'a [String]) -> Vec<&'a String> {
        let heard = &self.heard;
        super::due_in_turn(endpoints, &mut self.turn, REASK_EVERY, |e| {
            match (heard.get(e), conns.specs_generation(e)) {
                (Some(h), Some(g)) => *h != g,
                _ => true,
            }
        })
    }
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refreshed {
    /// Nodes that answered.
    pub answered: usize,
    /// Nodes whose specs (or endpoint or engine) differ from what the cache held.
    pub changed: usize,
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
    pub fn get(&self, node: &str, name: &str) -> Option<CachedSpec> {
        self.nodes
            .get(node)?
            .specs()
            .into_iter()
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
        self.refresh_counted(conns, endpoints, denied)
            .await
            .answered
    }

    /// [`SpecCache::refresh_allowed`], saying how many nodes answered and how many of
    /// them changed (nothing to save when none did).
    pub async fn refresh_counted(
        &mut self,
        conns: &Connections,
        endpoints: &[String],
        denied: &mut BTreeSet<String>,
    ) -> Refreshed {
        self.refresh_some(conns, endpoints.iter(), denied, |_| {})
            .await
    }

    /// [`SpecCache::refresh_counted`] asking only the endpoints that `asked` finds due:
    /// those whose Watch streams say their specs changed since they were last asked, and in
    /// turn the rest. The console's periodic refresh, which would otherwise ask every node
    /// for every spec each time, for specs that seldom change.
    pub async fn refresh_due(
        &mut self,
        conns: &Connections,
        endpoints: &[String],
        denied: &mut BTreeSet<String>,
        asked: &mut Asked,
    ) -> Refreshed {
        // The generation each is asked at: a change after this is asked for next time.
        let due: Vec<(&String, Option<u64>)> = asked
            .due(conns, endpoints)
            .into_iter()
            .map(|e| (e, conns.specs_generation(e)))
            .collect();
        let at: std::collections::HashMap<&str, u64> = due
            .iter()
            .filter_map(|(e, g)| g.map(|g| (e.as_str(), g)))
            .collect();
        let heard = &mut asked.heard;
        self.refresh_some(conns, due.iter().map(|(e, _)| *e), denied, |e| {
            if let Some(g) = at.get(e) {
                heard.insert(e.to_string(), *g);
            }
        })
        .await
    }

    /// Asks `endpoints` (less those `denied`) for their specs and folds the answers in;
    /// `answered` sees each endpoint that answered.
    async fn refresh_some<'a>(
        &mut self,
        conns: &Connections,
        endpoints: impl Iterator<Item = &'a String>,
        denied: &mut BTreeSet<String>,
        mut answered: impl FnMut(&str),
    ) -> Refreshed {
        // Collected first: the futures start only as the stream below polls them.
        let asks: Vec<_> = endpoints
            .filter(|e| !denied.contains(*e))
            .map(|e| ask_specs(conns, e))
            .collect();
        let mut answers = futures::stream::iter(asks).buffer_unordered(ASKS_AT_ONCE);
        let now = crate::tui::unix_ms();
        let mut done = Refreshed::default();
        while let Some(answer) = answers.next().await {
            match answer {
                Ok((endpoint, node, engine_id, specs)) => {
                    done.answered += 1;
                    answered(&endpoint);
                    if self.put(node, endpoint, engine_id, specs, now) {
                        done.changed += 1;
                    }
                }
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
        done
    }

    /// Puts one node's answer in; false when it is what the cache held already (the held
    /// entry stays, with the time it was first seen so).
    fn put(
        &mut self,
        node: String,
        endpoint: String,
        engine_id: String,
        specs: Vec<fleetdeck_proto::PortableSpec>,
        now: u64,
    ) -> bool {
        let specs: Vec<CachedSpec> = specs.into_iter().map(cached).collect();
        if let Some(held) = self.nodes.get(&node)
            && held.endpoint == endpoint
            && held.engine_id == engine_id
            && held.specs() == specs
        {
            return false;
        }
        let entry = NodeSpecs {
            endpoint,
            saved_unix_ms: now,
            specs,
            engine_id,
        };
        self.nodes.insert(node, entry.into());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(running: &[(&str, bool)]) -> NodeSpecs {
        NodeSpecs {
            endpoint: "127.0.0.1:7001".into(),
            saved_unix_ms: 42,
            specs: running
                .iter()
                .map(|(name, running)| CachedSpec {
                    spec: PortableSpec {
                        name: (*name).into(),
                        image: "nginx:1.27".into(),
                        labels: BTreeMap::from([("a".to_owned(), "1".to_owned())]),
                        env: BTreeMap::from([("K".to_owned(), "v".to_owned())]),
                        ports: vec![(80, 8080, "tcp".into())],
                        volumes: vec!["data".into()],
                        volume_bytes: 7,
                        memory_limit_bytes: 1 << 30,
                        cpu_limit_cores: 1.5,
                        ..PortableSpec::from_proto(fleetdeck_proto::PortableSpec::default())
                    },
                    running: *running,
                })
                .collect(),
            engine_id: "engine-1".into(),
        }
    }

    #[test]
    fn packed_specs_unpack_to_what_was_packed_running_or_not() {
        let plain = node(&[("web-1", true), ("job-1", false)]);
        let packed = PackedNode::pack(&plain);
        assert_eq!(packed.unpack(), plain);
        assert!(packed.packed_len() > 0);
        let cache = SpecCache {
            nodes: BTreeMap::from([("n1".to_owned(), plain.clone().into())]),
        };
        assert_eq!(cache.get("n1", "job-1").map(|c| c.running), Some(false));
        assert_eq!(cache.get("n1", "web-1").map(|c| c.running), Some(true));
        assert_eq!(cache.get("n1", "nope"), None);
        assert_eq!(cache.get("n2", "web-1"), None);
    }

    #[test]
    fn the_file_keeps_each_node_unpacked() {
        let plain = node(&[("web-1", true)]);
        let cache = SpecCache {
            nodes: BTreeMap::from([("n1".to_owned(), plain.clone().into())]),
        };
        let json = serde_json::to_value(&cache).unwrap();
        assert_eq!(json["nodes"]["n1"], serde_json::to_value(&plain).unwrap());
        let back: SpecCache = serde_json::from_value(json).unwrap();
        assert_eq!(back, cache);
    }

    #[test]
    fn an_unchanged_answer_keeps_the_held_entry() {
        let mut cache = SpecCache::default();
        let wire = |running: bool| {
            let mut s = node(&[("web-1", running)]).specs[0].spec.to_proto();
            s.state = if running {
                fleetdeck_proto::ContainerState::Running
            } else {
                fleetdeck_proto::ContainerState::Exited
            } as i32;
            vec![s]
        };
        let (endpoint, engine) = ("127.0.0.1:7001".to_owned(), "engine-1".to_owned());
        assert!(cache.put("n1".into(), endpoint.clone(), engine.clone(), wire(true), 1));
        let held = Arc::clone(&cache.nodes["n1"]);
        assert!(!cache.put("n1".into(), endpoint.clone(), engine.clone(), wire(true), 2));
        assert!(Arc::ptr_eq(&held, &cache.nodes["n1"]), "not replaced");
        assert_eq!(cache.nodes["n1"].saved_unix_ms, 1);
        assert!(cache.put("n1".into(), endpoint, engine, wire(false), 3));
        assert_eq!(cache.get("n1", "web-1").map(|c| c.running), Some(false));
    }
}
