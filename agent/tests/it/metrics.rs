//! The metrics endpoint of a real agent on loopback: `/healthz`, `/readyz`, the exposition's
//! names, types, units and labels, the agent's own counters, series that go with their
//! container, and the exposure rule of the real binary.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_agent::metrics::MetricsConfig;
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;

use crate::common::http_get::{self as http, Sample};
use crate::common::{act, client, container_req, fast, node_req, result, start, watch};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck-agent");
/// Bound on waiting for a figure to change.
const PATIENCE: Duration = Duration::from_secs(10);

fn with_metrics(mut config: AgentConfig) -> AgentConfig {
    config.metrics = Some(MetricsConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        insecure: false,
    });
    config.sim_faults = false;
    config
}

async fn scrape(agent: &RunningAgent) -> (String, Vec<Sample>) {
    let reply = http::get(agent.metrics_addr().unwrap(), "/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let samples = http::samples(&reply.body);
    (reply.body, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .map(|s| s.value)
}

#[tokio::test]
async fn healthz_readyz_and_unknown_paths() {
    let (agent, _dir) = start(with_metrics(fast("m-health", 3))).await;
    let addr = agent.metrics_addr().unwrap();
    assert!(
        agent
            .metrics_url()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let health = http::get(addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let ready = http::get(addr, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    let missing = http::get(addr, "/nope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("/metrics"), "{}", missing.body);
    let post = http::call(addr, "POST", "/metrics").await;
    assert_eq!(post.status, 405);
    let metrics = http::get(addr, "/metrics").await;
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        metrics.headers
    );
    // Stopped with the agent.
    agent.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn metrics_are_off_unless_asked_for() {
    let (agent, _dir) = start(fast("m-off", 2)).await;
    assert_eq!(agent.metrics_addr(), None);
}

/// `# TYPE` and `# UNIT` lines of an exposition.
fn families(text: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut types = BTreeMap::new();
    let mut units = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("#"), Some("TYPE"), Some(name), Some(kind)) => {
                types.insert(name.to_owned(), kind.to_owned());
            }
            (Some("#"), Some("UNIT"), Some(name), Some(unit)) => {
                units.insert(name.to_owned(), unit.to_owned());
            }
            _ => {}
        }
    }
    (types, units)
}

#[tokio::test]
async fn names_types_units_and_labels_follow_prometheus_conventions() {
    let (agent, _dir) = start(with_metrics(fast("m-names", 4))).await;
    let (text, samples) = scrape(&agent).await;
    assert!(text.ends_with("# EOF\n"), "{text}");
    let (types, units) = families(&text);
    for name in types.keys() {
        assert!(name.starts_with("fleetdeck_"), "{name}");
    }
    for (name, unit) in &units {
        assert!(
            name.ends_with(&format!("_{unit}")),
            "{name} has unit {unit}"
        );
    }
    for s in &samples {
        let family = types
            .keys()
            .filter(|f| s.name.starts_with(f.as_str()))
            .max_by_key(|f| f.len())
            .unwrap_or_else(|| panic!("no # TYPE for {}", s.name));
        let suffix = &s.name[family.len()..];
        match types[family].as_str() {
            "counter" => assert_eq!(suffix, "_total", "counter {}", s.name),
            "gauge" => {
                assert_eq!(suffix, "", "gauge {}", s.name);
                assert!(
                    !s.name.ends_with("_total"),
                    "gauge named like a counter: {}",
                    s.name
                );
            }
            "histogram" => {
                assert!(
                    ["_bucket", "_sum", "_count"].contains(&suffix),
                    "{}",
                    s.name
                );
                assert!(family.ends_with("_seconds"), "{family}");
            }
            other => panic!("unexpected type {other} of {family}"),
        }
    }
    let expected = [
        ("fleetdeck_node_info", "gauge"),
        ("fleetdeck_node_cpu_usage_ratio", "gauge"),
        ("fleetdeck_node_memory_used_bytes", "gauge"),
        ("fleetdeck_node_memory_size_bytes", "gauge"),
        ("fleetdeck_node_disk_used_bytes", "gauge"),
        ("fleetdeck_node_network_receive_bytes_per_second", "gauge"),
        ("fleetdeck_node_network_transmit_bytes_per_second", "gauge"),
        ("fleetdeck_node_load1", "gauge"),
        ("fleetdeck_node_load15", "gauge"),
        ("fleetdeck_container_cpu_usage_ratio", "gauge"),
        ("fleetdeck_container_memory_used_bytes", "gauge"),
        (
            "fleetdeck_container_network_receive_bytes_per_second",
            "gauge",
        ),
        ("fleetdeck_container_restarts", "counter"),
        ("fleetdeck_container_state", "gauge"),
        ("fleetdeck_container_health", "gauge"),
        ("fleetdeck_agent_open_streams", "gauge"),
        ("fleetdeck_agent_audit_lines", "counter"),
        ("fleetdeck_agent_sample_duration_seconds", "histogram"),
    ];
    for (name, kind) in expected {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    // One series per container and figure, labelled by name, short id and service: the
    // series count follows the containers that exist.
    let snap = agent.snapshot();
    let names: BTreeSet<String> = snap
        .containers
        .iter()
        .map(|c| c.spec.name.clone())
        .collect();
    assert_eq!(names.len(), 4);
    for s in samples
        .iter()
        .filter(|s| s.name.starts_with("fleetdeck_container_"))
    {
        let name = s.label("container").unwrap_or_else(|| panic!("{s:?}"));
        assert!(names.contains(name), "{s:?}");
        let c = snap
            .containers
            .iter()
            .find(|c| c.spec.name == name)
            .unwrap();
        assert_eq!(s.label("id"), Some(&c.spec.id[..12]), "{s:?}");
        assert_eq!(s.label("service"), Some(c.spec.service.as_str()), "{s:?}");
    }
    let count = |name: &str| samples.iter().filter(|s| s.name == name).count();
    assert_eq!(count("fleetdeck_container_cpu_usage_ratio"), 4);
    assert_eq!(count("fleetdeck_container_restarts_total"), 4);
    assert_eq!(count("fleetdeck_container_state"), 4 * 6);
    assert_eq!(count("fleetdeck_container_health"), 4 * 4);
    for c in &snap.containers {
        let name = c.spec.name.as_str();
        let state = c.status.state.as_str();
        let now = value(
            &samples,
            "fleetdeck_container_state",
            &[("container", name), ("state", state)],
        );
        assert_eq!(now, Some(1.0), "{name} is {state}");
        let states: f64 = samples
            .iter()
            .filter(|s| s.name == "fleetdeck_container_state" && s.label("container") == Some(name))
            .map(|s| s.value)
            .sum();
        assert_eq!(states, 1.0, "exactly one state of {name}");
    }
    let ratio = value(&samples, "fleetdeck_node_cpu_usage_ratio", &[]).unwrap();
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    assert_eq!(
        value(
            &samples,
            "fleetdeck_node_info",
            &[("node", "m-names"), ("runtime", "sim")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&samples, "fleetdeck_node_containers", &[]), Some(4.0));
}

#[tokio::test]
async fn actions_audit_lines_streams_and_samples_are_counted() {
    let (agent, dir) = start(with_metrics(fast("m-count", 3))).await;
    let mut c = client(&agent).await;
    let done = act(&mut c, node_req("cordon-1", pb::node_action::Verb::Cordon)).await;
    assert!(matches!(result(&done), pb::act_progress::Result::Done(_)));
    let verb = pb::container_action::Verb::Stop;
    let missing = act(&mut c, container_req("stop-1", verb, "no-such-container")).await;
    assert!(matches!(
        result(&missing),
        pb::act_progress::Result::Error(_)
    ));
    let mut events = watch(&mut c).await;
    let _ = crate::common::next(&mut events).await;
    let (_, samples) = scrape(&agent).await;
    let actions = "fleetdeck_agent_actions_total";
    assert_eq!(
        value(
            &samples,
            actions,
            &[("action", "node.cordon"), ("outcome", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            actions,
            &[("action", "container.stop"), ("outcome", "not_found")]
        ),
        Some(1.0)
    );
    let lines = crate::common::audit_lines(&dir, "m-count").len() as f64;
    assert_eq!(lines, 2.0);
    assert_eq!(
        value(&samples, "fleetdeck_agent_audit_lines_total", &[]),
        Some(lines)
    );
    let watching = [("rpc", "watch")];
    assert_eq!(
        value(&samples, "fleetdeck_agent_open_streams", &watching),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "fleetdeck_agent_open_streams", &[("rpc", "logs")]),
        Some(0.0)
    );
    // Sampling passes are timed: the histogram fills as the sampler runs.
    let since = Instant::now();
    loop {
        let (_, samples) = scrape(&agent).await;
        let passes = value(
            &samples,
            "fleetdeck_agent_sample_duration_seconds_count",
            &[],
        );
        let everything = value(
            &samples,
            "fleetdeck_agent_sample_duration_seconds_bucket",
            &[("le", "+Inf")],
        );
        assert_eq!(everything, passes, "the +Inf bucket holds every pass");
        if passes.unwrap() >= 2.0 {
            break;
        }
        assert!(since.elapsed() < PATIENCE, "no sampling pass timed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A closed stream is no longer counted.
    drop(events);
    let since = Instant::now();
    loop {
        let (_, samples) = scrape(&agent).await;
        if value(&samples, "fleetdeck_agent_open_streams", &watching) == Some(0.0) {
            break;
        }
        assert!(
            since.elapsed() < PATIENCE,
            "the closed Watch stream is still counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_removed_containers_series_disappear() {
    let (agent, _dir) = start(with_metrics(fast("m-remove", 3))).await;
    let gone = agent.snapshot().containers[0].spec.name.clone();
    let (_, before) = scrape(&agent).await;
    let of_gone = |samples: &[Sample]| {
        samples
            .iter()
            .filter(|s| s.label("container") == Some(gone.as_str()))
            .count()
    };
    assert!(of_gone(&before) > 10, "{before:?}");
    let mut c = client(&agent).await;
    for (id, verb) in [
        ("stop-gone", pb::container_action::Verb::Stop),
        ("remove-gone", pb::container_action::Verb::Remove),
    ] {
        let done = act(&mut c, container_req(id, verb, &gone)).await;
        assert!(
            matches!(result(&done), pb::act_progress::Result::Done(_)),
            "{done:?}"
        );
    }
    let since = Instant::now();
    while agent
        .snapshot()
        .containers
        .iter()
        .any(|c| c.spec.name == gone)
    {
        assert!(since.elapsed() < PATIENCE, "{gone} still listed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, after) = scrape(&agent).await;
    assert_eq!(of_gone(&after), 0, "series of {gone} outlived it");
    assert_eq!(value(&after, "fleetdeck_node_containers", &[]), Some(2.0));
    assert_eq!(
        after
            .iter()
            .filter(|s| s.name == "fleetdeck_container_cpu_usage_ratio")
            .count(),
        2
    );
}

fn one_line_error(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success(), "should fail");
    assert!(out.stdout.is_empty(), "nothing started");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    err
}

#[test]
fn metrics_beyond_loopback_need_tls_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let base = [
        "--runtime",
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        state,
        "--metrics-listen",
        "0.0.0.0:0",
    ];
    let err = one_line_error(&base);
    assert!(
        err.contains("refusing to serve metrics on 0.0.0.0:0 without TLS"),
        "{err}"
    );
    assert!(err.contains("--metrics-insecure"), "{err}");
    let fleet = one_line_error(&[
        "--runtime",
        "sim",
        "--fleet",
        "2",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    assert!(fleet.contains("without --fleet"), "{fleet}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let mut taken = base;
    taken[7] = &busy_addr;
    let err = one_line_error(&taken);
    assert!(
        err.contains(&format!(
            "cannot serve metrics on {busy_addr}: address already in use"
        )),
        "{err}"
    );

    let mut child = Command::new(BIN)
        .args(base)
        .arg("--metrics-insecure")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut warning = String::new();
    stderr.read_line(&mut warning).unwrap();
    assert!(
        warning.contains("WARNING: INSECURE: serving metrics on 0.0.0.0:0 without TLS"),
        "{warning}"
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = stdout.next().unwrap().unwrap();
    assert!(listening.starts_with("listening node="), "{listening}");
    let metrics = stdout.next().unwrap().unwrap();
    let url = metrics
        .split("url=")
        .nth(1)
        .unwrap_or_else(|| panic!("{metrics}"));
    let port = url
        .strip_prefix("http://0.0.0.0:")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let reply = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(http::get(
            format!("127.0.0.1:{port}").parse().unwrap(),
            "/healthz",
        ));
    assert_eq!(reply.status, 200);
    crate::common::term_and_wait(&mut child);
}
