//! Durable intents on the real Docker engine: the console (the real binary) is killed with
//! SIGKILL in the middle of a migrate's, and of a drain's, 200 MiB volume copy between two
//! agents on one engine. Within the lease plus one reaper pass the half-made copy and its volume are gone
//! from the engine, the source runs, and a retry succeeds with the original names. Skips
//! (saying why) without an engine unless FLEETDECK_REQUIRE_DOCKER=1.
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

use std::time::{Duration, Instant};

use fleetdeck_core::labels::INTENT_LABEL;

use crate::intents::{console, run};
use crate::support::docker::Engine;
use crate::support::docker_cluster::{Cluster, eventually};

/// Writes 200 MiB into the named volume, then says it is ready.
const BIG_CMD: &str = "trap 'exit 0' TERM; [ -f /data/big ] || { head -c 209715200 /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; }; echo ready > /data/ready; sleep 600 & wait";

/// Polls `f` for up to the lease plus one reaper pass, with room (30 s).
async fn within_lease(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "not within 30 s: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_console_killed_mid_volume_copy_leaves_no_copy_nor_volume_on_the_engine() {
    let Some(engine) = Engine::get("a_console_killed_mid_volume_copy") else {
        return;
    };
    killed_mid_copy(
        Cluster::start(engine).await,
        &["migrate", "store", "--node", "n1", "--to", "n2", "--yes"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_killed_mid_volume_copy_leaves_no_copy_nor_volume_on_the_engine() {
    let Some(engine) = Engine::get("a_drain_killed_mid_volume_copy") else {
        return;
    };
    killed_mid_copy(Cluster::start(engine).await, &["drain", "n1", "--yes"]).await;
}

/// Runs `args`, an action that moves n1's `store` (200 MiB in a named volume) to n2,
/// kills the console once its copy exists on n2, checks that the copy and its volume are
/// gone within the lease and that the source runs, then runs `args` again to the end.
async fn killed_mid_copy(c: Cluster, args: &[&str]) {
    let run_id = c.engine.run.clone();
    let vol = format!("{run_id}-bigdata");
    let mount = format!("{vol}:/data");
    let src = c.docker_run(
        0,
        "store",
        &[
            "-v",
            &mount,
            "--health-cmd",
            "test -f /data/ready",
            "--health-interval",
            "1s",
        ],
        BIG_CMD,
    );
    within_lease("the source holds its 200 MiB", || {
        c.inspect(&src, "{{.State.Health.Status}}") == "healthy"
    })
    .await;
    eventually("n1 sees store", || c.runs(0, "store")).await;
    let home = tempfile::tempdir().unwrap();
    let copy = || {
        c.nodes[1]
            .agent()
            .snapshot()
            .containers
            .iter()
            .find_map(|x| {
                x.spec
                    .labels
                    .get(INTENT_LABEL)
                    .map(|i| (x.spec.name.clone(), i.clone()))
            })
    };
    // As `plan_when_room`: a console that planned before the agents reported room exits
    // at once; it is started again until its copy is on n2.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut child = console(home.path(), &c.endpoints(), args);
    while copy().is_none() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(
                Instant::now() < deadline,
                "the migrate never started ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            child = console(home.path(), &c.endpoints(), args);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (copy_name, intent) = copy().unwrap();
    child.kill().unwrap(); // SIGKILL, mid copy
    child.wait().unwrap();
    let n2_volumes = || {
        let prefix = format!("{}.", c.nodes[1].scope.1);
        c.engine
            .cli(&["volume", "ls", "-q"])
            .split_whitespace()
            .filter(|v| v.starts_with(&prefix))
            .count()
    };
    let by_intent = format!("label={INTENT_LABEL}={intent}");
    within_lease("the copy and its volume are gone from the engine", || {
        c.engine
            .cli(&["ps", "-aq", "--filter", &by_intent])
            .trim()
            .is_empty()
            && n2_volumes() == 0
    })
    .await;
    assert!(c.runs(0, "store"), "the source still runs on n1");
    // The docker nodes report the host's CPU, which a loaded test run can fill for a
    // moment: a plan refused for room is tried again, as a person would.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (ok, err) = loop {
        let (ok, _, err) = run(home.path(), &c.endpoints(), args).await;
        if ok || !err.contains("no node has room") || Instant::now() > deadline {
            break (ok, err);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(ok, "the retry succeeds: {err}");
    assert_eq!(copy_name, "store", "the copy has the source's name");
    eventually("store runs on n2 under its name", || c.runs(1, "store")).await;
    assert_eq!(n2_volumes(), 1, "one volume for the copy, no leftover");
}
