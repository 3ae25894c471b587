//! Shared helpers: real agents on 127.0.0.1:0, real tonic clients.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use fleetdeck_agent::{AgentConfig, RunningAgent, bind, spawn};
use fleetdeck_proto as pb;
use fleetdeck_proto::agent_client::AgentClient;
use pb::watch_event::Body;
use tonic::transport::{Channel, Endpoint};

pub mod http_get;

pub const STEP: Duration = Duration::from_secs(5);

/// A sim agent with a temporary state dir (kept alive by the returned guard).
pub async fn start(mut config: AgentConfig) -> (RunningAgent, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    config.state_dir = Some(dir.path().join(&config.node_id));
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (spawn(config, listener).await.unwrap(), dir)
}

pub fn fast(node: &str, containers: usize) -> AgentConfig {
    AgentConfig {
        containers,
        sample_interval: Duration::from_millis(50),
        ..AgentConfig::sim(node, 7)
    }
}

pub async fn client(agent: &RunningAgent) -> AgentClient<Channel> {
    AgentClient::connect(format!("http://{}", agent.addr()))
        .await
        .unwrap()
}

pub async fn small_window_client(agent: &RunningAgent) -> AgentClient<Channel> {
    let ch = Endpoint::from_shared(format!("http://{}", agent.addr()))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    AgentClient::new(ch)
}

pub type Events = tonic::Streaming<pb::WatchEvent>;

pub async fn watch(c: &mut AgentClient<Channel>) -> Events {
    c.watch(pb::WatchRequest {
        client_name: "test".into(),
    })
    .await
    .unwrap()
    .into_inner()
}

pub async fn next(s: &mut Events) -> pb::WatchEvent {
    tokio::time::timeout(STEP, s.message())
        .await
        .expect("event in time")
        .unwrap()
        .unwrap()
}

/// A client's copy of a node, fed by Watch events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Model {
    pub seq: u64,
    pub host: Option<pb::HostSample>,
    pub containers: BTreeMap<u32, pb::Container>,
    pub health: BTreeMap<String, pb::HealthCheck>,
    pub mode: i32,
}

impl Model {
    pub fn from_snapshot(ev: &pb::WatchEvent) -> Self {
        let Some(Body::Snapshot(s)) = &ev.body else {
            panic!("not a snapshot: {ev:?}")
        };
        Self {
            seq: ev.seq,
            host: s.host.clone(),
            containers: s.containers.iter().map(|c| (c.key, c.clone())).collect(),
            health: s
                .health
                .iter()
                .map(|h| (h.name.clone(), h.clone()))
                .collect(),
            mode: s.node.as_ref().unwrap().mode,
        }
    }

    /// Applies a delta, checking it carries only changes.
    pub fn apply(&mut self, ev: &pb::WatchEvent) {
        let Some(Body::Delta(d)) = &ev.body else {
            panic!("not a delta: {ev:?}")
        };
        assert_eq!(ev.seq, self.seq + 1, "delta must move seq by one");
        self.seq = ev.seq;
        if let Some(h) = &d.host {
            self.host = Some(h.clone());
        }
        for c in &d.upserts {
            if let Some(old) = self.containers.get(&c.key) {
                assert_ne!(old, c, "upsert of an unchanged container");
            }
            self.containers.insert(c.key, c.clone());
        }
        for s in &d.stats {
            assert!(
                d.upserts.iter().all(|u| u.key != s.key),
                "stats and upsert for one key"
            );
            let c = self
                .containers
                .get_mut(&s.key)
                .expect("stats for a known container");
            assert_ne!(c.stats.as_ref(), Some(s), "stats that did not change");
            c.stats = Some(*s);
        }
        for k in &d.removed {
            assert!(
                self.containers.remove(k).is_some(),
                "removal of an unknown key"
            );
        }
        for h in &d.health {
            self.health.insert(h.name.clone(), h.clone());
        }
        if let Some(s) = &d.status {
            self.mode = s.mode;
        }
    }
}

pub async fn act(c: &mut AgentClient<Channel>, req: pb::ActRequest) -> Vec<pb::ActProgress> {
    let mut s = c.act(req).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(m) = tokio::time::timeout(STEP, s.message())
        .await
        .unwrap()
        .unwrap()
    {
        out.push(m);
    }
    out
}

pub fn container_req(id: &str, verb: pb::container_action::Verb, target: &str) -> pb::ActRequest {
    pb::ActRequest {
        action_id: id.into(),
        requested_by: "tester".into(),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: verb as i32,
            container: target.into(),
        })),
        ..Default::default()
    }
}

pub fn node_req(id: &str, verb: pb::node_action::Verb) -> pb::ActRequest {
    pb::ActRequest {
        action_id: id.into(),
        requested_by: "tester".into(),
        action: Some(pb::act_request::Action::Node(pb::NodeAction {
            verb: verb as i32,
        })),
        ..Default::default()
    }
}

pub fn result(msgs: &[pb::ActProgress]) -> &pb::act_progress::Result {
    let finals: Vec<_> = msgs.iter().filter(|m| m.result.is_some()).collect();
    assert_eq!(finals.len(), 1, "exactly one final message: {msgs:?}");
    assert!(
        msgs.last().unwrap().result.is_some(),
        "final message comes last"
    );
    finals[0].result.as_ref().unwrap()
}

pub fn audit_lines(dir: &tempfile::TempDir, node: &str) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(dir.path().join(node).join("audit.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Sends SIGTERM to the agent process `child` and waits (bounded) for a clean exit.
pub fn term_and_wait(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let t0 = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
