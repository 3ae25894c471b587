//! Rollouts on the real Docker engine: three agents share it, each running one replica of
//! a service whose image has a health check. Rolling to a second tag of that image keeps
//! at least two replicas healthy throughout and ends with all three on it; an image whose
//! health check fails on the second replica pauses the rollout and rolls the first back,
//! ending with three healthy replicas on the previous image. Skips (saying why) without an
//! engine unless FLEETDECK_REQUIRE_DOCKER=1; every container and image it makes is removed.
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

use std::time::Duration;

use crate::support::docker::Engine;
use crate::support::docker_cluster::{Cluster, PATIENCE, eventually, find};
use crate::support::ops::service_replicas;

use fleetdeck::ops::exec::Executor;
use fleetdeck::ops::plan::Plan;
use fleetdeck::ops::{Outcome, Proposal};
use tokio::sync::mpsc;

const SERVICE: &str = "rollweb";
/// The base every image here is committed from (built by tests/docker/build-image.sh).
const BASE: &str = "fleetdeck-test-busybox:latest";
/// Health check of the images: healthy once the container wrote its data; the bad image
/// also fails where a `bad` marker lies in the data.
const GOOD_CHECK: &str = "test -f /data/ready";
const BAD_CHECK: &str = "test -f /data/ready && test ! -f /data/bad";

/// Images this test made; removed once the containers using them are gone.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for i in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", i])
                .output();
        }
    }
}

/// Commits an image from BASE whose health check runs `check` (1 s interval, 2 s start
/// period, 2 retries).
fn image_with_check(engine: &Engine, tag: &str, check: &str) {
    image_with(engine, tag, check, &["2s", "2"]);
}

/// [`image_with_check`] with the start period and retries given.
fn image_with(engine: &Engine, tag: &str, check: &str, [start, retries]: &[&str; 2]) {
    let probe = engine.name(&format!("probe-{}", tag.replace([':', '/'], "-")));
    engine.cli(&[
        "create",
        "--name",
        &probe,
        "--health-cmd",
        check,
        "--health-interval",
        "1s",
        "--health-timeout",
        "1s",
        "--health-start-period",
        start,
        "--health-retries",
        retries,
        BASE,
        "sh",
    ]);
    engine.cli(&["commit", &probe, tag]);
    engine.cli(&["rm", &probe]);
}

/// Replicas of the service on every node: (node, name, image, healthy).
fn replicas(c: &Cluster) -> Vec<(String, String, String, bool)> {
    service_replicas(
        c.nodes.iter().map(|n| (n.name.as_str(), n.agent())),
        SERVICE,
    )
}

fn healthy_on(c: &Cluster, image: &str) -> usize {
    crate::support::ops::healthy_on(&replicas(c), image)
}

/// Runs `plan`, sampling the healthy replicas every 50 ms at most; the outcome, the
/// fewest healthy seen and the number of samples.
async fn run_sampled(c: &Cluster, plan: &Plan) -> (Outcome, usize, usize) {
    let mut exec = Executor::new(Some(c.console_dir()), "rollout-test", c.conns());
    exec.ready_timeout = PATIENCE;
    let (_src, cancel) = fleetdeck_agent::cancel::channel();
    let (tx, mut rx) = mpsc::channel(256);
    let p = plan.clone();
    let task = tokio::spawn(async move { exec.run(1, &p, cancel, tx).await });
    let (mut fewest, mut samples) = (usize::MAX, 0);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(_) => {}
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        fewest = fewest.min(replicas(c).iter().filter(|r| r.3).count());
        samples += 1;
    }
    (task.await.unwrap(), fewest, samples)
}

fn rollout(image: &str) -> Proposal {
    Proposal::Rollout {
        service: SERVICE.into(),
        image: Some(image.into()),
        max_unavailable: 1,
        rollback: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docker_rollout_keeps_two_healthy_and_a_failing_image_rolls_back() {
    let Some(engine) = Engine::get("docker_rollout_keeps_two_healthy") else {
        return;
    };
    build_base();
    let repo = format!("fdrollout-{}", engine.run);
    let (v1, v2, bad) = (
        format!("{repo}:1"),
        format!("{repo}:2"),
        format!("{repo}:bad"),
    );
    // Declared before the cluster, so dropped after its containers are gone.
    let _images = Images(vec![v1.clone(), v2.clone(), bad.clone()]);
    image_with_check(&engine, &v1, GOOD_CHECK);
    engine.cli(&["tag", &v1, &v2]);
    image_with_check(&engine, &bad, BAD_CHECK);
    let c = Cluster::start_n(engine, 3).await;
    for i in 0..3 {
        c.create_from(i, &format!("{SERVICE}-{}", i + 1), SERVICE, Vec::new(), &v1)
            .await;
    }
    eventually("three healthy replicas on :1", || healthy_on(&c, &v1) == 3).await;

    // Refused at plan time: a tag no engine holds.
    let missing = c.plan(&rollout(&format!("{repo}:9"))).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!("{repo}:9 is not on n1's engine; pull it there first")
    );

    let plan = c.plan(&rollout(&v2)).await.unwrap();
    // Beside the old one where the node has room; on a machine whose sampled CPU is full
    // (a shared build host), stopped first: both keep two replicas healthy.
    assert!(
        plan.lines[0].contains("beside it") || plan.lines[0].contains("stop it"),
        "{:?}",
        plan.lines
    );
    assert!(
        plan.lines[0].contains("wait up to 16 s"),
        "start period 2 s + 2 × (1 s + 1 s) + 10 s margin: {:?}",
        plan.lines
    );
    let (outcome, fewest, samples) = run_sampled(&c, &plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(samples > 10, "sampled throughout ({samples})");
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    eventually("three healthy replicas on :2", || healthy_on(&c, &v2) == 3).await;
    let now = replicas(&c);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(now.iter().all(|r| r.2 == v2), "{now:?}");
    // The new replicas run :2 on the engine too, and the old ones are gone from it.
    for (i, n) in c.nodes.iter().enumerate() {
        let ids = c.running_on_engine(i);
        assert_eq!(ids.len(), 1, "{}: {ids:?}", n.name);
        assert_eq!(c.inspect(&ids[0], "{{.Config.Image}}"), v2);
    }

    // The bad image fails where the data holds a `bad` marker: on n2's replica only.
    let ready = find(&c.volumes(1), "ready");
    assert_eq!(ready.len(), 1, "{ready:?}");
    std::fs::write(ready[0].with_file_name("bad"), "fail me").unwrap();
    let plan = c.plan(&rollout(&bad)).await.unwrap();
    let (outcome, fewest, _) = run_sampled(&c, &plan).await;
    let Outcome::Failed(m) = &outcome else {
        panic!("the bad image fails the rollout: {outcome:?}")
    };
    assert!(m.contains("paused at replica 2/3"), "{m}");
    assert!(m.contains("rolled back 1 of 1"), "{m}");
    assert!(fewest >= 2, "never fewer than 2 healthy; saw {fewest}");
    eventually("three healthy replicas on :2 again", || {
        healthy_on(&c, &v2) == 3 && replicas(&c).len() == 3
    })
    .await;
    for i in 0..3 {
        let ids = c.running_on_engine(i);
        assert_eq!(ids.len(), 1, "n{}: {ids:?}", i + 1);
        assert_eq!(c.inspect(&ids[0], "{{.Config.Image}}"), v2);
    }
}

/// Builds BASE if it is missing.
fn build_base() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/docker/build-image.sh");
    let built = std::process::Command::new(&script).output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// BENCHMARKS.md "Rollout of three replicas against the health check's start period": an
/// app that needs `ready_after` seconds to answer its check (the check passes once
/// /data/ready, written at start, is that old), start periods of 2, 5 and 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement; run on demand"]
async fn measure_rollout_against_start_period() {
    let Some(engine) = Engine::get("measure_rollout_against_start_period") else {
        return;
    };
    build_base();
    let repo = format!("fdrollout-{}", engine.run);
    // (start period s, app ready after s)
    let cases = [(2, 0), (2, 1), (5, 4), (10, 0), (10, 9)];
    let mut tags = Vec::new();
    for (start, ready) in cases {
        let check = format!("test $(( $(date +%s) - $(date -r /data/ready +%s) )) -ge {ready}");
        let (a, b) = (
            format!("{repo}:s{start}r{ready}a"),
            format!("{repo}:s{start}r{ready}b"),
        );
        image_with(&engine, &a, &check, &[&format!("{start}s"), "3"]);
        engine.cli(&["tag", &a, &b]);
        tags.push((start, ready, a, b));
    }
    let _images = Images(
        tags.iter()
            .flat_map(|t| [t.2.clone(), t.3.clone()])
            .collect(),
    );
    let c = Cluster::start_n(engine, 3).await;
    println!(
        "| start period | app ready after | settle + margin (plan) | rollout of 3 | per replica |"
    );
    println!("|---|---|---|---|---|");
    for (start, ready, a, b) in &tags {
        let service = format!("bench-s{start}r{ready}");
        for i in 0..3 {
            c.create_from(i, &format!("{service}-{}", i + 1), &service, Vec::new(), a)
                .await;
        }
        let up = || {
            service_replicas(
                c.nodes.iter().map(|n| (n.name.as_str(), n.agent())),
                &service,
            )
        };
        eventually("three healthy", || {
            crate::support::ops::healthy_on(&up(), a) == 3
        })
        .await;
        let plan = c
            .plan(&Proposal::Rollout {
                service: service.clone(),
                image: Some(b.clone()),
                max_unavailable: 1,
                rollback: true,
            })
            .await
            .unwrap();
        let wait = plan.lines[0]
            .split("wait up to ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap_or("?")
            .to_string();
        let t0 = std::time::Instant::now();
        let outcome = c.run(&plan).await;
        let took = t0.elapsed().as_secs_f64();
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        println!(
            "| {start} s | {ready} s | {wait} s | {took:.1} s | {:.1} s |",
            took / 3.0
        );
    }
}
