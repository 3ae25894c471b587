//! `fleetdeck monitor` (the real binary) against real sim agents on loopback and a real
//! Prometheus Alertmanager started by the test: a killed agent pages, a restarted one
//! resolves, an unreachable Alertmanager gets its alerts once it is back while the
//! monitor keeps evaluating, and SIGTERM stops it cleanly.
//!
//! `measure_fault_to_alertmanager` (ignored by default) prints the figures recorded in
//! BENCHMARKS.md.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use fleetdeck_agent::NodeMode;

use crate::support::alertmanager::{self, Alertmanager};
use crate::support::monitor::{self, Monitor};
use crate::support::ops::Cluster;

/// The rule's `for` in `monitor::RULES`.
const FOR: Duration = Duration::from_secs(1);
/// What the issue allows beyond the `for`: the alert is in Alertmanager within this.
const PAGE_SLACK: Duration = Duration::from_secs(5);
/// Bound on anything else the tests wait for, so a broken build fails instead of hanging.
const WAIT: Duration = Duration::from_secs(30);

fn notify(urls: &[String]) -> String {
    let list: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    format!("[notify]\nalertmanager = [{}]\n", list.join(", "))
}

async fn all_live(m: &Monitor, n: u64) {
    m.wait_status("every agent live", WAIT, |s| s["agents_live"] == n)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_pages_through_alertmanager_and_resolves_on_restart() {
    if !alertmanager::available("monitor_alertmanager") {
        return;
    }
    let am = Alertmanager::start().await;
    let mut cluster = Cluster::start(&[NodeMode::Active, NodeMode::Active], 2).await;
    let config = monitor::config(&notify(&[am.url()]));
    let mut mon = Monitor::start(&config, &cluster.endpoints(), &[]);
    // A second monitor for HA, as the README suggests: Alertmanager dedups the two.
    let mut twin = Monitor::start(&config, &cluster.endpoints(), &[]);
    all_live(&mon, 2).await;
    all_live(&twin, 2).await;
    assert!(
        am.alerts().await.is_empty(),
        "nothing fires on a calm fleet"
    );

    cluster.nodes[1].kill().await;
    let killed = Instant::now();
    let labels = [("alertname", "node-unreachable"), ("node", "n2")];
    let alert = am
        .wait_for_alert(&labels, FOR + PAGE_SLACK)
        .await
        .unwrap_or_else(|| {
            panic!(
                "no alert in Alertmanager {:?} after the kill\nmonitor log:\n{}",
                killed.elapsed(),
                mon.log()
            )
        });
    let l = &alert["labels"];
    assert_eq!(l["severity"], "critical", "{alert}");
    assert!(
        l.get("container").is_none() && l.get("service").is_none(),
        "{alert}"
    );
    let a = &alert["annotations"];
    assert_eq!(a["summary"], "node unreachable on n2", "{alert}");
    assert_eq!(a["command"], "fleetdeck failover n2", "{alert}");
    assert!(
        a["recommendation"]
            .as_str()
            .unwrap()
            .starts_with("failover n2"),
        "{alert}"
    );
    assert_eq!(alert["status"]["state"], "active", "{alert}");
    let ends = chrono::DateTime::parse_from_rfc3339(alert["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > chrono::Utc::now(),
        "a firing alert ends in the future: {alert}"
    );
    twin.wait_status("the twin told it too", WAIT, |s| {
        s["firing"] == 1 && s["receivers"][0]["sent"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(
        am.alerts().await.len(),
        1,
        "only the lost node pages, once for both monitors"
    );

    cluster.nodes[1].restart().await;
    let deadline = Instant::now() + WAIT;
    while am.wait_for_alert(&labels, Duration::ZERO).await.is_some() {
        assert!(
            Instant::now() < deadline,
            "still firing after the restart\nmonitor log:\n{}",
            mon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Either monitor's resolution may have reached Alertmanager first: both resolve it.
    for m in [&mon, &twin] {
        m.wait_status("resolved", WAIT, |s| s["firing"] == 0).await;
        let log = m.log();
        assert!(log.contains("firing: node unreachable on n2"), "{log}");
        assert!(log.contains("resolved"), "{log}");
    }

    let status = mon.status_command();
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(status.status.code(), Some(0), "{table}");
    assert!(
        table.contains(&format!("alertmanager {}/", am.url())),
        "{table}"
    );

    assert_eq!(twin.terminate(WAIT).await.code(), Some(0));
    let exit = mon.terminate(WAIT).await;
    assert_eq!(
        exit.code(),
        Some(0),
        "SIGTERM is a clean stop\n{}",
        mon.log()
    );
    let status = mon.status_command();
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(
        status.status.code(),
        Some(2),
        "a stopped monitor is not healthy"
    );
    assert!(table.starts_with("monitor: stopped"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_alertmanager_gets_the_queue_once_back_and_evaluation_goes_on() {
    if !alertmanager::available("monitor_alertmanager") {
        return;
    }
    // Nothing listens here until the test starts Alertmanager on it.
    let port = alertmanager::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut cluster = Cluster::start(&[NodeMode::Active; 3], 1).await;
    let config = monitor::config(&notify(std::slice::from_ref(&url)));
    // Resent every second: the queue must still hold one notice per alert, not a backlog.
    let mut mon = Monitor::start(&config, &cluster.endpoints(), &["--resend-interval", "1"]);
    all_live(&mon, 3).await;

    cluster.nodes[1].kill().await;
    let failing = mon
        .wait_status("the receiver failing", WAIT, |s| {
            s["firing"] == 1 && s["receivers"][0]["failing_since_unix_ms"].is_u64()
        })
        .await;
    let r = &failing["receivers"][0];
    let error = r["last_error"].as_str().unwrap().to_lowercase();
    assert!(error.contains("connect"), "{r}");
    let status = mon.status_command();
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(status.status.code(), Some(2), "{table}");
    assert!(table.contains("FAILING"), "{table}");

    // Evaluation goes on: a second node lost while Alertmanager is down is seen too.
    let before = failing["evaluations"].as_u64().unwrap();
    cluster.nodes[2].kill().await;
    let later = mon
        .wait_status("the second alert", WAIT, |s| s["firing"] == 2)
        .await;
    assert!(later["evaluations"].as_u64().unwrap() > before, "{later}");
    // Several resends later the queue still holds one notice per alert, none dropped.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let s = mon.status_file().unwrap();
    let r = &s["receivers"][0];
    assert_eq!(r["queued"], 2, "one notice per firing alert: {s}");
    assert_eq!(r["dropped"], 0, "{s}");
    assert_eq!(r["sent"], 0, "{s}");
    assert!(r["failures"].as_u64().unwrap() >= 3, "retried: {s}");
    assert!(mon.log().contains("delivery failing"), "{}", mon.log());

    let am = Alertmanager::start_on(port).await;
    for node in ["n2", "n3"] {
        let labels = [("alertname", "node-unreachable"), ("node", node)];
        let found = am.wait_for_alert(&labels, WAIT).await;
        assert!(found.is_some(), "{node} never arrived\n{}", mon.log());
    }
    mon.wait_status("the receiver delivering again", WAIT, |s| {
        s["receivers"][0]["failing_since_unix_ms"].is_null()
    })
    .await;
    assert!(mon.log().contains("delivering again"), "{}", mon.log());
    assert_eq!(mon.status_command().status.code(), Some(0));
    assert_eq!(mon.terminate(WAIT).await.code(), Some(0));
}

/// Fault (an agent killed) to alert in Alertmanager, over several runs: median and max.
/// `cargo test --release -p fleetdeck --test it monitor_alertmanager::measure -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures for BENCHMARKS.md"]
async fn measure_fault_to_alertmanager() {
    if !alertmanager::available("measure_fault_to_alertmanager") {
        return;
    }
    const RUNS: usize = 7;
    let am = Alertmanager::start().await;
    let mut cluster = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let config = monitor::config(&notify(&[am.url()]));
    let mon = Monitor::start(&config, &cluster.endpoints(), &[]);
    all_live(&mon, 2).await;
    let labels = [("alertname", "node-unreachable"), ("node", "n2")];
    let mut times = Vec::new();
    for _ in 0..RUNS {
        cluster.nodes[1].kill().await;
        let killed = Instant::now();
        // Polled every 10 ms so the figure is the monitor's, not the poll's.
        loop {
            if am.wait_for_alert(&labels, Duration::ZERO).await.is_some() {
                break;
            }
            assert!(killed.elapsed() < WAIT, "{}", mon.log());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        times.push(killed.elapsed());
        cluster.nodes[1].restart().await;
        while am.wait_for_alert(&labels, Duration::ZERO).await.is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        all_live(&mon, 2).await;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "fault to alert in Alertmanager (rule `for` {FOR:?}), {RUNS} runs: median {:.0} ms, max {:.0} ms, min {:.0} ms",
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1]),
        ms(times[0])
    );
}
