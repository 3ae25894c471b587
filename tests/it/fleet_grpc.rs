//! Console watchers over real gRPC on loopback: against scripted servers (exact message
//! sequences: gaps, silence) and against real in-process agents (convergence, kill,
//! restart). Waits poll with a deadline; no fixed sleep stands in for an assertion.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fleetdeck::client::{AgentAddr, Backoff, WatchOptions, Watchers};
use fleetdeck::model::{AgentUpdate, Fleet, NodeState};
use fleetdeck_proto as pb;
use fleetdeck_proto::watch_event::Body;
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;
type ActStream = Pin<Box<dyn Stream<Item = Result<pb::ActProgress, Status>> + Send>>;
type LogsStream = Pin<Box<dyn Stream<Item = Result<pb::LogChunk, Status>> + Send>>;

/// Upper bound for anything that should happen "at once" or "by itself"; generous because
/// the test machine is shared.
const PATIENCE: Duration = Duration::from_secs(15);

/// A server that plays one scripted list of messages per connection, then keeps the
/// stream open and silent.
struct Scripted {
    scripts: Vec<Vec<pb::WatchEvent>>,
    connections: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl pb::agent_server::Agent for Scripted {
    type WatchStream = EventStream;
    type ActStream = ActStream;
    type LogsStream = LogsStream;
    type ReadVolumesStream = ChunkStream<pb::DataChunk>;
    type ReadBackupStream = ChunkStream<pb::BackupChunk>;
    type WriteBackupStream = ChunkStream<pb::WriteBackupProgress>;
    type ExecStream = ChunkStream<pb::ExecOutput>;

    async fn watch(
        &self,
        _request: Request<pb::WatchRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let n = self.connections.fetch_add(1, Ordering::SeqCst);
        let script = self
            .scripts
            .get(n)
            .or(self.scripts.last())
            .cloned()
            .unwrap_or_default();
        let stream = futures::StreamExt::chain(
            futures::stream::iter(script.into_iter().map(Ok)),
            futures::stream::pending(),
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn act(&self, _request: Request<pb::ActRequest>) -> Result<Response<ActStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    // Like an agent from before History: the console must carry on without it.
    async fn history(
        &self,
        _request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn intent(
        &self,
        _request: Request<pb::IntentRequest>,
    ) -> Result<Response<pb::IntentReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn list_intents(
        &self,
        _request: Request<pb::ListIntentsRequest>,
    ) -> Result<Response<pb::ListIntentsReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn exec(
        &self,
        _request: Request<tonic::Streaming<pb::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn logs(
        &self,
        _request: Request<pb::LogsRequest>,
    ) -> Result<Response<LogsStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn export_spec(
        &self,
        _request: Request<pb::ExportSpecRequest>,
    ) -> Result<Response<pb::PortableSpec>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn read_volumes(
        &self,
        _request: Request<pb::ReadVolumesRequest>,
    ) -> Result<Response<Self::ReadVolumesStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn write_volumes(
        &self,
        _request: Request<tonic::Streaming<pb::DataChunk>>,
    ) -> Result<Response<pb::WriteVolumesReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn read_backup(
        &self,
        _request: Request<pb::ReadBackupRequest>,
    ) -> Result<Response<Self::ReadBackupStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn write_backup(
        &self,
        _request: Request<tonic::Streaming<pb::BackupChunk>>,
    ) -> Result<Response<Self::WriteBackupStream>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn list_backups(
        &self,
        _request: Request<pb::ListBackupsRequest>,
    ) -> Result<Response<pb::ListBackupsReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn list_images(
        &self,
        _request: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }

    async fn list_specs(
        &self,
        _request: Request<pb::ListSpecsRequest>,
    ) -> Result<Response<pb::ListSpecsReply>, Status> {
        Err(Status::unimplemented("scripted server"))
    }
}

/// A boxed stream of one message type, for the calls the scripted server refuses.
type ChunkStream<T> =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

struct ScriptedServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn scripted(scripts: Vec<Vec<pb::WatchEvent>>) -> ScriptedServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let service = Scripted {
        scripts,
        connections: connections.clone(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::agent_server::AgentServer::new(service))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            }),
    );
    ScriptedServer {
        addr,
        connections,
        stop: Some(stop),
    }
}

fn snapshot(epoch: u64, seq: u64, node: &str, containers: u32) -> pb::WatchEvent {
    let containers = (1..=containers)
        .map(|key| pb::Container {
            key,
            name: format!("c{key}"),
            state: pb::ContainerState::Running as i32,
            ..Default::default()
        })
        .collect();
    let snap = pb::Snapshot {
        node: Some(pb::NodeInfo {
            node_id: node.into(),
            ..Default::default()
        }),
        host: Some(pb::HostSample::default()),
        containers,
        health: Vec::new(),
    };
    pb::WatchEvent {
        intents_generation: 0,
        specs_generation: 0,
        epoch,
        seq,
        time_unix_ms: 0,
        body: Some(Body::Snapshot(snap)),
    }
}

fn delta_removing(epoch: u64, seq: u64, key: u32) -> pb::WatchEvent {
    let delta = pb::Delta {
        removed: vec![key],
        ..Default::default()
    };
    pb::WatchEvent {
        intents_generation: 0,
        specs_generation: 0,
        epoch,
        seq,
        time_unix_ms: 0,
        body: Some(Body::Delta(delta)),
    }
}

fn fast_options(silence: Duration) -> WatchOptions {
    WatchOptions {
        silence_timeout: silence,
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
        ..WatchOptions::default()
    }
}

fn addr_of(addr: SocketAddr) -> AgentAddr {
    addr.to_string().parse().unwrap()
}

/// Receives the next update, failing the test after `PATIENCE`.
async fn next(rx: &mut mpsc::Receiver<AgentUpdate>) -> AgentUpdate {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("no update in time")
        .expect("closed")
}

#[tokio::test]
async fn a_delta_gap_forces_a_resync_through_a_fresh_snapshot() {
    let server = scripted(vec![
        vec![
            snapshot(7, 1, "gappy", 3),
            delta_removing(7, 2, 1),
            // seq 3 never arrives.
            delta_removing(7, 4, 2),
        ],
        vec![snapshot(7, 10, "gappy", 2)],
    ])
    .await;
    let (tx, mut rx) = mpsc::channel(16);
    let watchers = Watchers::spawn(&[addr_of(server.addr)], &fast_options(PATIENCE), &tx);
    let mut fleet = Fleet::new(
        [server.addr.to_string()],
        Duration::from_secs(10),
        Instant::now(),
    );

    let first = next(&mut rx).await;
    assert!(
        matches!(first, AgentUpdate::Snapshot { seq: 1, .. }),
        "{first:?}"
    );
    fleet.apply(first, Instant::now());
    let second = next(&mut rx).await;
    assert!(
        matches!(second, AgentUpdate::Delta { seq: 2, .. }),
        "{second:?}"
    );
    fleet.apply(second, Instant::now());
    assert_eq!(fleet.nodes()[0].containers.len(), 2);

    // The out-of-order delta is never forwarded: the node goes down at once instead ...
    let down = next(&mut rx).await;
    let AgentUpdate::Down { slot: 0, reason } = &down else {
        panic!("{down:?}")
    };
    assert_eq!(reason, "missed updates (got 4 after 2)");
    fleet.apply(down, Instant::now());
    assert_eq!(fleet.state(0, Instant::now()), Some(NodeState::Unknown));

    // ... and comes back by itself from a fresh snapshot on a new stream.
    let resync = next(&mut rx).await;
    assert!(
        matches!(resync, AgentUpdate::Snapshot { seq: 10, .. }),
        "{resync:?}"
    );
    fleet.apply(resync, Instant::now());
    assert_eq!(fleet.state(0, Instant::now()), Some(NodeState::Active));
    assert_eq!(fleet.nodes()[0].seq, 10);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    watchers.shutdown().await;
}

#[tokio::test]
async fn a_silent_stream_is_dropped_after_the_silence_window() {
    let server = scripted(vec![vec![snapshot(3, 1, "quiet", 1)]]).await;
    let (tx, mut rx) = mpsc::channel(16);
    let silence = Duration::from_millis(300);
    let _watchers = Watchers::spawn(&[addr_of(server.addr)], &fast_options(silence), &tx);
    assert!(matches!(next(&mut rx).await, AgentUpdate::Snapshot { .. }));
    let opened = Instant::now();
    let down = next(&mut rx).await;
    assert!(
        opened.elapsed() >= silence,
        "dropped before the silence window"
    );
    let AgentUpdate::Down { reason, .. } = down else {
        panic!("{down:?}")
    };
    assert_eq!(reason, "no data for 300 ms");
    // It reconnects and is fed a snapshot again.
    assert!(matches!(next(&mut rx).await, AgentUpdate::Snapshot { .. }));
    assert!(server.connections.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_restart_without_a_snapshot_is_caught() {
    let server = scripted(vec![vec![
        snapshot(1, 5, "n", 1),
        pb::WatchEvent {
            intents_generation: 0,
            specs_generation: 0,
            epoch: 2,
            seq: 6,
            time_unix_ms: 0,
            body: Some(Body::Heartbeat(pb::Heartbeat {})),
        },
    ]])
    .await;
    let (tx, mut rx) = mpsc::channel(16);
    let _watchers = Watchers::spawn(&[addr_of(server.addr)], &fast_options(PATIENCE), &tx);
    assert!(matches!(next(&mut rx).await, AgentUpdate::Snapshot { .. }));
    let down = next(&mut rx).await;
    let AgentUpdate::Down { reason, .. } = down else {
        panic!("{down:?}")
    };
    assert_eq!(reason, "agent restarted without a snapshot");
}

#[tokio::test]
async fn dropping_the_watchers_closes_their_connections() {
    let server = scripted(vec![vec![snapshot(1, 1, "n", 1)]]).await;
    let (tx, mut rx) = mpsc::channel(16);
    let watchers = Watchers::spawn(&[addr_of(server.addr)], &fast_options(PATIENCE), &tx);
    assert_eq!(watchers.len(), 1);
    assert!(matches!(next(&mut rx).await, AgentUpdate::Snapshot { .. }));
    drop(tx);
    watchers.shutdown().await;
    // Every sender is gone once the tasks are: the channel closes.
    let closed = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("still open");
    assert!(closed.is_none());
}

// ---- Real agents ----

/// The console side of a test: a fleet fed by watchers, as the UI task would hold it.
struct Console {
    fleet: Fleet,
    rx: mpsc::Receiver<AgentUpdate>,
    _watchers: Watchers,
}

impl Console {
    fn watch(addrs: &[SocketAddr], failover_timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel(256);
        let agents: Vec<AgentAddr> = addrs.iter().copied().map(addr_of).collect();
        let options = WatchOptions {
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_millis(500)),
            ..WatchOptions::default()
        };
        let watchers = Watchers::spawn(&agents, &options, &tx);
        let fleet = Fleet::new(
            addrs.iter().map(ToString::to_string),
            failover_timeout,
            Instant::now(),
        );
        Self {
            fleet,
            rx,
            _watchers: watchers,
        }
    }

    /// Applies updates as they come until `done` holds; panics after `PATIENCE` naming `what`.
    async fn until(&mut self, what: &str, done: impl Fn(&Fleet, Instant) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let now = Instant::now();
            if done(&self.fleet, now) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting until {what}: {:#?}",
                self.states()
            );
            // Wake up now and then even without updates: FAILED comes from time passing.
            if let Ok(Some(update)) =
                tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await
            {
                self.fleet.apply(update, Instant::now());
            }
        }
    }

    fn states(&self) -> Vec<(String, Option<NodeState>, fleetdeck::model::Link)> {
        let now = Instant::now();
        (0..self.fleet.nodes().len())
            .map(|i| {
                let n = &self.fleet.nodes()[i];
                (
                    n.name().to_string(),
                    self.fleet.state(i, now),
                    n.link.clone(),
                )
            })
            .collect()
    }
}

fn sim(
    node: &str,
    seed: u64,
    containers: usize,
    dir: &tempfile::TempDir,
) -> fleetdeck_agent::AgentConfig {
    fleetdeck_agent::AgentConfig {
        containers,
        sim_faults: false,
        state_dir: Some(dir.path().join(node)),
        ..fleetdeck_agent::AgentConfig::sim(node, seed)
    }
}

async fn start(
    config: fleetdeck_agent::AgentConfig,
    at: SocketAddr,
) -> fleetdeck_agent::RunningAgent {
    // A port just released may take a moment to be bindable again.
    let deadline = Instant::now() + PATIENCE;
    let listener = loop {
        match fleetdeck_agent::bind(at).await {
            Ok(l) => break l,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {at}: {e}"),
        }
    };
    fleetdeck_agent::spawn(config, listener).await.unwrap()
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_converge_in_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [3usize, 5, 8];
    let mut agents = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        agents.push(
            start(
                sim(&format!("node-{i}"), 10 + i as u64, *n, &dir),
                any_port(),
            )
            .await,
        );
    }
    let addrs: Vec<SocketAddr> = agents.iter().map(|a| a.addr()).collect();
    let mut console = Console::watch(&addrs, Duration::from_secs(10));
    console
        .until("every node is ACTIVE with its containers", |fleet, now| {
            fleet.nodes().iter().enumerate().all(|(i, n)| {
                fleet.state(i, now) == Some(NodeState::Active) && n.containers.len() == sizes[i]
            })
        })
        .await;
    for (i, agent) in agents.iter().enumerate() {
        let node = &console.fleet.nodes()[i];
        assert_eq!(node.name(), format!("node-{i}"));
        assert_eq!(node.epoch, agent.epoch());
        // The same count as the agent serves to a fresh client.
        let (_, _, snap) = fleetdeck::client::fetch_snapshot_with(
            &addr_of(agent.addr()),
            "test",
            PATIENCE,
            &fleetdeck::client::Credentials::none(),
        )
        .await
        .unwrap();
        assert_eq!(snap.containers.len(), node.containers.len());
    }
    // Deltas keep arriving and applying in order (seq moves past the snapshot's).
    let seqs: Vec<u64> = console.fleet.nodes().iter().map(|n| n.seq).collect();
    console
        .until("every node advanced past its snapshot", |fleet, _| {
            fleet
                .nodes()
                .iter()
                .zip(&seqs)
                .all(|(n, s)| n.seq > *s && n.is_live())
        })
        .await;
    for agent in agents {
        agent.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_is_unknown_at_once_failed_after_the_timeout_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let steady = start(sim("steady", 1, 4, &dir), any_port()).await;
    let victim = start(sim("victim", 2, 6, &dir), any_port()).await;
    let victim_addr = victim.addr();
    let old_epoch = victim.epoch();
    let failover = Duration::from_secs(1);
    let mut console = Console::watch(&[steady.addr(), victim_addr], failover);
    console
        .until("both nodes are ACTIVE", |fleet, now| {
            (0..2).all(|i| fleet.state(i, now) == Some(NodeState::Active))
        })
        .await;

    victim.kill().await;
    let took = console
        .until("the killed node is UNKNOWN", |fleet, now| {
            fleet.state(1, now) == Some(NodeState::Unknown)
        })
        .await;
    // "At once": the broken stream is noticed, not waited out by the silence window.
    assert!(
        took < fleetdeck::client::DEFAULT_SILENCE_TIMEOUT,
        "took {took:?}"
    );
    let fleetdeck::model::Link::Down { reason, .. } = &console.fleet.nodes()[1].link else {
        panic!("not down: {:?}", console.states())
    };
    // Either the cut connection or the refused reconnect, in words.
    assert!(
        ["connection lost", "stream ended", "connection refused"].contains(&reason.as_str()),
        "{reason}"
    );
    // Stale data is kept, shown as stale.
    assert_eq!(console.fleet.nodes()[1].containers.len(), 6);
    console
        .until("the killed node is FAILED", |fleet, now| {
            fleet.state(1, now) == Some(NodeState::Failed)
        })
        .await;
    assert_eq!(
        console.fleet.state(0, Instant::now()),
        Some(NodeState::Active)
    );

    // Same port, new process: the watcher finds it again by itself.
    let reborn = start(sim("victim", 2, 6, &dir), victim_addr).await;
    assert_ne!(reborn.epoch(), old_epoch);
    let new_epoch = reborn.epoch();
    console
        .until(
            "the node is ACTIVE again on the new epoch",
            move |fleet, now| {
                fleet.state(1, now) == Some(NodeState::Active)
                    && fleet.nodes()[1].epoch == new_epoch
            },
        )
        .await;
    assert_eq!(console.fleet.nodes()[1].restarts_seen, 1);
    reborn.shutdown().await;
    steady.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_keeps_talking_outlives_its_silence_window() {
    let dir = tempfile::tempdir().unwrap();
    let config = fleetdeck_agent::AgentConfig {
        sample_interval: Duration::from_millis(250),
        ..sim("chatty", 5, 3, &dir)
    };
    let agent = start(config, any_port()).await;
    let (tx, mut rx) = mpsc::channel(64);
    // Three windows' worth of messages, six a window: the window must move on with every
    // message, not run out once after the stream opened.
    let silence = Duration::from_millis(1500);
    let _watchers = Watchers::spawn(&[addr_of(agent.addr())], &fast_options(silence), &tx);
    let first = next(&mut rx).await;
    assert!(matches!(first, AgentUpdate::Snapshot { .. }), "{first:?}");
    let mut deltas = 0;
    while deltas < 18 {
        match next(&mut rx).await {
            AgentUpdate::Delta { .. } => deltas += 1,
            AgentUpdate::Down { reason, .. } => panic!("dropped after {deltas} deltas: {reason}"),
            _ => {}
        }
    }
    agent.shutdown().await;
}
