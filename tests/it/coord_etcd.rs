//! Consoles that exclude each other through a real etcd (Debian's `etcd-server`, started
//! on free loopback ports): two consoles with different agent lists over sim agents race
//! for a failover and a migrate, a drain runs into a migrate, etcd dies mid-action, and
//! an unreachable etcd refuses actions while the fleet is still read.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleetdeck::client::AgentAddr;
use fleetdeck::coord::{Coord, Refusal};
use fleetdeck::model::Fleet;
use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::plan::{self, Plan, PlanInput};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck::ops::{OpEvent, Outcome, Proposal};
use fleetdeck_agent::NodeMode;
use tokio::sync::mpsc;

use crate::support::etcd::{self, EtcdServer};
use crate::support::ops::{Cluster, eventually, running};
use crate::support::tcp_proxy::TcpProxy;

/// One console: the agents it follows (its own view), its state directory, its etcd.
struct Console {
    agents: Vec<String>,
    dir: PathBuf,
    coord: Coord,
    conns: fleetdeck::client::Connections,
}

impl Console {
    fn new(c: &Cluster, name: &str, agents: Vec<String>, coord: Coord) -> Self {
        let dir = c.dir.path().join(format!("console-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            agents,
            dir,
            coord,
            conns: c.conns(),
        }
    }

    async fn fleet(&self) -> Fleet {
        let addrs: Vec<AgentAddr> = self.agents.iter().map(|e| e.parse().unwrap()).collect();
        fleetdeck::get::fleet_once(&addrs, Duration::from_secs(2), &self.conns).await
    }

    async fn specs(&self) -> SpecCache {
        let mut cache = SpecCache::load(&self.dir);
        cache.refresh(&self.conns, &self.agents).await;
        cache.save(&self.dir).unwrap();
        cache
    }

    /// Plans `p` against this console's view, without asking etcd.
    async fn plan_only(&self, p: &Proposal) -> Result<Plan, String> {
        let fleet = self.fleet().await;
        let specs = self.specs().await;
        let input = PlanInput {
            fleet: &fleet,
            now: Instant::now(),
            specs: &specs,
            fencing: &[],
            read_only: false,
            claims: &[],
        };
        plan::plan(&input, p).map_err(|e| e.to_string())
    }

    /// Plans `p` against this console's view, then checks etcd's locks as the CLI does.
    async fn plan(&self, p: &Proposal) -> Result<Plan, String> {
        let plan = self.plan_only(p).await?;
        self.coord
            .check(&plan)
            .await
            .map_err(|e: Refusal| e.to_string())?;
        Ok(plan)
    }

    fn executor(&self) -> Executor {
        let mut e = Executor::new(Some(self.dir.clone()), "coord-test", self.conns.clone());
        e.ready_timeout = Duration::from_secs(20);
        e.coord = Some(self.coord.clone());
        e
    }

    fn spawn(
        &self,
        plan: &Plan,
    ) -> (
        tokio::task::JoinHandle<Outcome>,
        mpsc::Receiver<OpEvent>,
        fleetdeck_agent::cancel::CancelSource,
    ) {
        crate::support::ops::spawn_on(self.executor(), plan)
    }

    async fn run(&self, plan: &Plan) -> Outcome {
        let (task, mut rx, src) = self.spawn(plan);
        while rx.recv().await.is_some() {}
        drop(src);
        task.await.unwrap()
    }
}

/// A prefix of this test's own, so tests sharing nothing still never share a key.
fn prefix(test: &str) -> String {
    format!("/fleetdeck-test-{test}/")
}

/// A running container of n1 with 48 MiB of volume data: long enough to copy that an
/// action paused mid-copy is still copying.
async fn stateful_n1(c: &Cluster) -> String {
    let (spec, vol) = c.stateful(0).await;
    let data: Vec<u8> = (0..48 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    std::fs::write(vol.join("big.bin"), data).unwrap();
    spec.name
}

/// Waits for progress at `stage` (the migrate's copy has begun).
async fn until_stage(rx: &mut mpsc::Receiver<OpEvent>, stage: &str) {
    while let Some(ev) = rx.recv().await {
        if matches!(&ev, OpEvent::Progress { stage: s, .. } if s == stage) {
            return;
        }
    }
    panic!("the action ended before stage {stage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failover_of_one_node_recreates_each_container_once() {
    if !etcd::available("concurrent_failover_of_one_node_recreates_each_container_once") {
        return;
    }
    let server = EtcdServer::start().await;
    // n1 and n2 STANDBY: each alone has room for all of n3's containers.
    let mut c = Cluster::start(&[NodeMode::Standby, NodeMode::Standby, NodeMode::Active], 4).await;
    let e = c.endpoints();
    let p = prefix("failover");
    // Console A follows n1 and n3, console B n2 and n3: neither sees the other's copies.
    let a = Console::new(&c, "a", vec![e[0].clone(), e[2].clone()], server.coord(&p));
    let b = Console::new(&c, "b", vec![e[1].clone(), e[2].clone()], server.coord(&p));
    a.specs().await;
    b.specs().await;
    let originals: Vec<String> = running(c.nodes[2].agent())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!originals.is_empty());
    c.nodes[2].kill().await;
    let failover = Proposal::Failover { node: "n3".into() };
    let pa = a.plan(&failover).await.unwrap();
    let pb = b.plan(&failover).await.unwrap();
    let (ra, rb) = tokio::join!(a.run(&pa), b.run(&pb));
    let (done, refused) = match (&ra, &rb) {
        (Outcome::Done(_), Outcome::Failed(m)) | (Outcome::Failed(m), Outcome::Done(_)) => (
            if matches!(ra, Outcome::Done(_)) {
                "a"
            } else {
                "b"
            },
            m.clone(),
        ),
        other => panic!("one failover must run and one be refused: {other:?}"),
    };
    assert!(
        refused.starts_with("node n3: failover in progress by ")
            || refused.starts_with("node n3: already failed over by "),
        "{refused}"
    );
    assert!(!refused.contains('\n'));
    // Every container of n3 runs again exactly once, on the winner's side.
    let copies: Vec<(String, String)> = c.nodes[..2]
        .iter()
        .flat_map(|n| {
            let node = n.config.node_id.clone();
            n.agent()
                .snapshot()
                .containers
                .into_iter()
                .filter_map(move |x| {
                    let r = x.spec.labels.get("fleetdeck.replaces")?.clone();
                    Some((node.clone(), r))
                })
        })
        .collect();
    for name in &originals {
        let n = copies
            .iter()
            .filter(|(_, r)| *r == format!("n3/{name}"))
            .count();
        assert_eq!(n, 1, "{name} re-created {n} times: {copies:?}");
    }
    let winner_node = if done == "a" { "n1" } else { "n2" };
    assert!(copies.iter().all(|(n, _)| n == winner_node), "{copies:?}");
    // The failover is recorded in etcd: the other console, which cannot see the copies,
    // is refused at plan time when it tries again.
    let loser = if done == "a" { &b } else { &a };
    let again = loser.plan(&failover).await.unwrap_err();
    assert!(
        again.starts_with("node n3: already failed over by "),
        "{again}"
    );
}

/// Two consoles over three sim agents sharing `server`: A reaches n2 through a proxy
/// the test can pause, B follows n1 and n3. A starts migrating a container of n1 with
/// 48 MiB of data to n2 and is held mid-copy. Returns the container's name, the consoles,
/// the proxy (paused) and A's run with its cancel switch (dropping it cancels A).
async fn a_migrate_held_mid_copy(
    c: &Cluster,
    server: &EtcdServer,
    test: &str,
) -> (
    String,
    Console,
    Console,
    TcpProxy,
    (
        tokio::task::JoinHandle<Outcome>,
        mpsc::Receiver<OpEvent>,
        fleetdeck_agent::cancel::CancelSource,
    ),
) {
    let name = stateful_n1(c).await;
    let e = c.endpoints();
    let p = prefix(test);
    let proxy = TcpProxy::start(&e[1]).await;
    let a = Console::new(
        c,
        "a",
        vec![e[0].clone(), proxy.addr.clone()],
        server.coord(&p),
    );
    let b = Console::new(c, "b", vec![e[0].clone(), e[2].clone()], server.coord(&p));
    let migrate = Proposal::Migrate {
        node: "n1".into(),
        container: name.clone(),
        to: Some("n2".into()),
    };
    let pa = a.plan(&migrate).await.unwrap();
    let (task, mut rx, cancel) = a.spawn(&pa);
    until_stage(&mut rx, "copy").await;
    proxy.pause();
    (name, a, b, proxy, (task, rx, cancel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrate_of_one_container_refuses_the_second_naming_the_holder() {
    if !etcd::available("concurrent_migrate_of_one_container_refuses_the_second_naming_the_holder")
    {
        return;
    }
    let server = EtcdServer::start().await;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 8).await;
    let (name, a, b, proxy, (task, mut rx, _cancel)) =
        a_migrate_held_mid_copy(&c, &server, "migrate").await;
    let to = |n: &str| Proposal::Migrate {
        node: "n1".into(),
        container: name.clone(),
        to: Some(n.into()),
    };
    // B is refused at plan time, naming A's action...
    let refused = b.plan(&to("n3")).await.unwrap_err();
    let holder = format!(
        "container {name} on n1: migrate in progress by {}",
        a.coord.owner
    );
    assert!(refused.starts_with(&holder), "{refused}");
    assert!(refused.contains("(action "), "{refused}");
    // ...and at run time, when it planned before A took the locks.
    let pb = b.plan_only(&to("n3")).await.unwrap();
    match b.run(&pb).await {
        Outcome::Failed(m) => assert!(m.starts_with(&holder), "{m}"),
        other => panic!("B must be refused: {other:?}"),
    }
    proxy.resume();
    while rx.recv().await.is_some() {}
    let outcome = task.await.unwrap();
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(running(c.nodes[1].agent()).iter().any(|(n, _)| *n == name));
    assert!(running(c.nodes[0].agent()).iter().all(|(n, _)| *n != name));
    assert!(
        c.nodes[2]
            .agent()
            .snapshot()
            .containers
            .iter()
            .all(|x| x.spec.name != name)
    );
    // A's locks are gone with its action.
    assert!(a.coord.held().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_against_an_overlapping_migrate_is_refused() {
    if !etcd::available("a_drain_against_an_overlapping_migrate_is_refused") {
        return;
    }
    let server = EtcdServer::start().await;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 8).await;
    let (_name, a, b, proxy, (task, mut rx, _cancel)) =
        a_migrate_held_mid_copy(&c, &server, "drain").await;
    let drain = Proposal::Drain { node: "n1".into() };
    let refused = b.plan(&drain).await.unwrap_err();
    assert!(
        refused.starts_with(&format!(
            "node n1: migrate in progress by {}",
            a.coord.owner
        )),
        "{refused}"
    );
    // A drain of n3, which the migrate does not touch, is not held up.
    b.plan(&Proposal::Drain { node: "n3".into() })
        .await
        .unwrap();
    proxy.resume();
    while rx.recv().await.is_some() {}
    assert!(matches!(task.await.unwrap(), Outcome::Done(_)));
    assert_eq!(
        c.nodes[0].agent().snapshot().node.status.mode,
        NodeMode::Active,
        "the refused drain changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_killed_mid_action_stops_it_and_rolls_back() {
    if !etcd::available("etcd_killed_mid_action_stops_it_and_rolls_back") {
        return;
    }
    let mut server = EtcdServer::start().await;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 8).await;
    let name = stateful_n1(&c).await;
    let src_id = running(c.nodes[0].agent())
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1;
    let e = c.endpoints();
    let proxy = TcpProxy::start(&e[1]).await;
    let mut coord = server.coord(&prefix("killed"));
    // A short lease, so its loss is noticed well before the paused link's HTTP/2 keepalive
    // gives up on the target.
    coord.ttl = Duration::from_secs(3);
    let a = Console::new(&c, "a", vec![e[0].clone(), proxy.addr.clone()], coord);
    let pa = a
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let (task, mut rx, _cancel) = a.spawn(&pa);
    until_stage(&mut rx, "copy").await;
    proxy.pause();
    server.kill();
    // The lease cannot be renewed: the migrate stops mid-copy and rolls back.
    until_stage(&mut rx, "rollback").await;
    proxy.resume();
    while rx.recv().await.is_some() {}
    let outcome = task.await.unwrap();
    let Outcome::Failed(m) = &outcome else {
        panic!("expected a failure: {outcome:?}")
    };
    assert!(m.contains("etcd lease"), "{m}");
    assert!(m.contains(&format!("{name} still runs on n1")), "{m}");
    assert!(!m.contains('\n'));
    let n2 = c.nodes[1].agent();
    eventually("the copy is removed from n2", || {
        n2.snapshot().containers.iter().all(|x| x.spec.name != name)
    })
    .await;
    assert!(
        running(c.nodes[0].agent())
            .iter()
            .any(|(_, id)| *id == src_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_etcd_refuses_actions_in_one_line_and_watching_goes_on() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let dead = format!("http://127.0.0.1:{}", crate::support::services::free_port());
    let coord = Coord::new(etcd::handle(&dead, "/fleetdeck/"));
    let a = Console::new(&c, "a", c.endpoints(), coord.clone());
    let name = running(c.nodes[0].agent())[0].0.clone();
    let migrate = Proposal::Migrate {
        node: "n1".into(),
        container: name.clone(),
        to: Some("n2".into()),
    };
    // Through the CLI: refused before anything is asked, in one line.
    let mut settings = fleetdeck::config::resolve(&Default::default(), None, None).unwrap();
    settings.agents = c.endpoints().iter().map(|e| e.parse().unwrap()).collect();
    settings.coordination = Some(coord.etcd.clone());
    let ctx = fleetdeck::ops_cli::Context {
        settings,
        state_dir: Some(a.dir.clone()),
        read_only: false,
        confirm: fleetdeck::ops_cli::Confirm::Answer("n".into()),
        live_progress: false,
    };
    let cmd = {
        use clap::Parser;
        let cli = fleetdeck::cli::Cli::try_parse_from([
            "fleetdeck",
            "migrate",
            &name,
            "--node",
            "n1",
            "--to",
            "n2",
            "--yes",
        ])
        .unwrap();
        let Some(fleetdeck::cli::Command::Ops(cmd)) = cli.command else {
            panic!("not an action command")
        };
        cmd
    };
    let out = fleetdeck::ops_cli::run(&cmd, &ctx).await;
    assert_eq!(out.status, fleetdeck::ops_cli::EXIT_FAILED, "{out:?}");
    let line = out.stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(
        line.contains(&format!("cannot reach etcd at {dead}")),
        "{line}"
    );
    assert!(line.contains("FLEETDECK_ETCD"), "{line}");
    // An executor refuses the same way; nothing moved.
    let plan = a.plan_only(&migrate).await.unwrap();
    match a.run(&plan).await {
        Outcome::Failed(m) => assert!(m.contains("cannot reach etcd"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(running(c.nodes[0].agent()).iter().any(|(n, _)| *n == name));
    // The console's lock reader reports etcd as unreachable, while the agents are still
    // watched: the fleet is read as before.
    let (tx, mut rx) = mpsc::channel(16);
    let mut runner = fleetdeck::ops::runner::Runner::new(None, "coord-test", c.conns(), tx);
    let poller = runner.coordinate(coord);
    match rx.recv().await {
        Some(OpEvent::Locks(Err(e))) => assert!(e.contains("cannot reach etcd"), "{e}"),
        other => panic!("{other:?}"),
    }
    poller.abort();
    let fleet = a.fleet().await;
    assert!(
        fleet.nodes().iter().all(|n| n.is_live()),
        "watching goes on"
    );
}
