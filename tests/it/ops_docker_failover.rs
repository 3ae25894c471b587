//! Drain, failover and fencing against the real Docker engine with three agents sharing it,
//! each managing its own label-scoped set of containers as a node, through the console's
//! own planner, executor and fencing over real gRPC. Skips (saying why) without an engine
//! unless FLEETDECK_REQUIRE_DOCKER=1.
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

use crate::support::docker;
use crate::support::docker_cluster;

use docker::Engine;
use docker_cluster::{Cluster, eventually};
use fleetdeck::ops::Proposal;
use fleetdeck::ops::fence::{self, Failovers};

/// Writes 2 MB into /data once, answers SIGTERM.
const DATA_CMD: &str = "trap 'exit 0' TERM; [ -f /data/big ] || { head -c 2000000 /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; }; echo ready > /data/ready; sleep 600 & wait";

/// Waits until /data/ready exists inside container `id`.
async fn ready(c: &Cluster, id: &str) {
    eventually("the container's data", || {
        c.engine.cli(&[
            "exec",
            id,
            "sh",
            "-c",
            "test -f /data/ready && echo yes || true",
        ]) == "yes"
    })
    .await;
}

/// Running containers on the engine, among this test's nodes, whose fleet name is `name`
/// or which replace `replaces`.
fn running_copies(c: &Cluster, name: &str, replaces: &str) -> usize {
    let mut n = 0;
    for node in 0..c.nodes.len() {
        for id in c.running_on_engine(node) {
            let fleet_name = c.inspect(&id, "{{index .Config.Labels \"fleetdeck.name\"}}");
            let repl = c.inspect(&id, "{{index .Config.Labels \"fleetdeck.replaces\"}}");
            if fleet_name == name || repl == replaces {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drain_moves_every_container_with_its_data() {
    let Some(engine) = Engine::get("drain_moves_every_container_with_its_data") else {
        return;
    };
    let c = Cluster::start_n(engine, 3).await;
    c.create(0, "db", "db", Vec::new()).await;
    let vol = format!("{}-cache", c.engine.run);
    let cache = c.docker_run(0, "cache", &["-v", &format!("{vol}:/data")], DATA_CMD);
    eventually("n1 runs both", || c.runs(0, "db") && c.runs(0, "cache")).await;
    let db = c.engine_id(0, "db");
    ready(&c, &db).await;
    ready(&c, &cache).await;
    let digests = [
        ("db", c.sha_inside(&db, "/data/big")),
        ("cache", c.sha_inside(&cache, "/data/big")),
    ];

    // The plan says, under each move, what the copy makes of each mount.
    let plan = c
        .plan_when_room(&Proposal::Drain { node: "n1".into() })
        .await;
    let at = plan
        .lines
        .iter()
        .position(|l| l.starts_with("migrate cache to "))
        .unwrap_or_else(|| panic!("{:?}", plan.lines));
    let to = plan.lines[at]["migrate cache to ".len()..]
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(
        plan.lines[at + 1],
        format!(
            "  named volume {vol} (/data) becomes a new volume on {to}, named for {to}'s scope"
        ),
        "{:?}",
        plan.lines
    );
    let done = match c.run(&plan).await {
        fleetdeck::ops::Outcome::Done(m) => m,
        other => panic!("drain: {other:?}"),
    };
    assert!(done.contains("db") && done.contains("cache"), "{done}");
    assert!(c.on_engine(0).is_empty(), "nothing left on n1: {done}");
    for (name, digest) in &digests {
        let holders: Vec<usize> = (1..3).filter(|&n| c.runs(n, name)).collect();
        assert_eq!(holders.len(), 1, "{name} runs once: {holders:?}");
        let id = c.engine_id(holders[0], name);
        assert_eq!(&c.sha_inside(&id, "/data/big"), digest, "{name}'s data");
    }
    // n1 takes no new placements.
    let fleet = c.fleet().await;
    let n1 = fleet.nodes().iter().find(|n| n.name() == "n1").unwrap();
    assert!(
        format!("{:?}", n1.info.as_ref().unwrap().status.mode).contains("Maintenance"),
        "{:?}",
        n1.info
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_then_fencing_leaves_one_copy_of_each() {
    let Some(engine) = Engine::get("failover_then_fencing_leaves_one_copy_of_each") else {
        return;
    };
    let mut c = Cluster::start_n(engine, 3).await;
    c.create(1, "svc", "svc", Vec::new()).await;
    let vol = format!("{}-side", c.engine.run);
    let side = c.docker_run(1, "side", &["-v", &format!("{vol}:/data")], DATA_CMD);
    eventually("n2 runs both", || c.runs(1, "svc") && c.runs(1, "side")).await;
    let svc = c.engine_id(1, "svc");
    c.specs().await; // the console's cache of n2's specs

    // n2's agent dies; its containers go on running on the engine.
    c.nodes[1].kill().await;
    let done = c.must(&Proposal::Failover { node: "n2".into() }).await;
    for name in ["svc", "side"] {
        let replaces = format!("n2/{name}");
        let copies: usize = [0, 2]
            .iter()
            .map(|&n| {
                c.running_on_engine(n)
                    .iter()
                    .filter(|id| {
                        c.inspect(id, "{{index .Config.Labels \"fleetdeck.replaces\"}}") == replaces
                    })
                    .count()
            })
            .sum();
        assert_eq!(copies, 1, "{name} re-created once: {done}");
    }
    // Both originals still run: the engine never failed, only the agent.
    for id in [&svc, &side] {
        assert_eq!(c.inspect(id, "{{.State.Running}}"), "true");
    }

    // n2's agent returns: its copies are stale, and the first operator console fences them.
    c.nodes[1].restart().await;
    eventually("n2 sees its old containers", || {
        c.runs(1, "svc") && c.runs(1, "side")
    })
    .await;
    let fleet = c.fleet().await;
    let records = Failovers::load(&c.console_dir());
    assert_eq!(records.pending(), vec!["n2".to_string()]);
    let stale = records.stale(&fleet);
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].running.len(), 2, "{:?}", stale[0].running);
    let msg = fence::fence(&c.conns(), &c.console_dir(), &stale[0], "ops-docker-test")
        .await
        .unwrap();
    assert!(msg.contains("stopped stale copies"), "{msg}");
    eventually("stale copies stopped on the engine", || {
        c.running_on_engine(1).is_empty()
    })
    .await;
    for name in ["svc", "side"] {
        assert_eq!(
            running_copies(&c, name, &format!("n2/{name}")),
            1,
            "{name} runs exactly once"
        );
    }
    assert!(Failovers::load(&c.console_dir()).pending().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_on_a_shared_engine_says_up_front_a_fixed_host_port_cannot_move() {
    let Some(engine) = Engine::get("failover_on_a_shared_engine_fixed_host_port") else {
        return;
    };
    let mut c = Cluster::start_n(engine, 2).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let web = c.docker_run(
        0,
        "web",
        &["-p", &format!("127.0.0.1:{port}:8080")],
        "trap 'exit 0' TERM; sleep 600 & wait",
    );
    c.docker_run(0, "side", &[], "trap 'exit 0' TERM; sleep 600 & wait");
    eventually("n1 runs both", || c.runs(0, "web") && c.runs(0, "side")).await;
    c.specs().await; // the console's cache of n1's specs, with its engine

    // n1's agent dies; web goes on running on the shared engine, holding the port.
    c.nodes[0].kill().await;
    let plan = c
        .plan_when_room(&Proposal::Failover { node: "n1".into() })
        .await;
    let shown = plan.lines.join("\n");
    let refusals: Vec<&String> = plan
        .lines
        .iter()
        .filter(|l| l.contains("not re-created"))
        .collect();
    assert_eq!(refusals.len(), 1, "{shown}");
    assert!(
        refusals[0].contains(&format!("web publishes host port {port}/tcp"))
            && refusals[0].contains("shares n1's Docker engine"),
        "{shown}"
    );
    assert!(shown.contains("re-create side on n2"), "{shown}");
    assert!(!shown.contains("re-create web"), "{shown}");
    let outcome = c.run(&plan).await;
    assert!(
        matches!(&outcome, fleetdeck::ops::Outcome::Done(_)),
        "{outcome:?}"
    );
    eventually("side re-created on n2", || c.runs(1, "side")).await;
    assert!(!c.runs(1, "web"), "no copy of web was attempted on n2");
    assert_eq!(c.inspect(&web, "{{.State.Running}}"), "true");

    // With nothing else to re-create, the failover is refused with that one line.
    let refused = c
        .plan(&Proposal::Failover { node: "n1".into() })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("web publishes host port") && refused.lines().count() == 1,
        "{refused}"
    );
}
