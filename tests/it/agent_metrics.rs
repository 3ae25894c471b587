//! The agent's metrics endpoint with the real components around it: Debian's Prometheus
//! scraping real agents on loopback (plain, and over mutual TLS beyond loopback), and
//! `/readyz` following the real Docker Engine as a proxy in front of its socket goes away
//! and comes back. Without Prometheus or Docker the tests skip, saying why, unless
//! FLEETDECK_REQUIRE_SERVICES=1 or FLEETDECK_REQUIRE_DOCKER=1.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fleetdeck_agent::config::SecurityConfig;
use fleetdeck_agent::metrics::MetricsConfig;
use fleetdeck_agent::runtime::{DockerConfig, RuntimeKind};
use fleetdeck_agent::tls::TlsFiles;
use fleetdeck_agent::{AgentConfig, RunningAgent};

use crate::support::docker::Engine;
use crate::support::pki::Pki;
use crate::support::prometheus::{self, Prometheus, ScrapeTls, job, sample_value};
use crate::support::unix_proxy::UnixProxy;

/// Bound on Prometheus seeing a target up, or the agent seeing the engine come and go.
const PATIENCE: Duration = Duration::from_secs(30);

async fn start(mut config: AgentConfig, metrics: &str, dir: &Path) -> RunningAgent {
    config.state_dir = Some(dir.join("state"));
    config.metrics = Some(MetricsConfig {
        listen: metrics.parse().unwrap(),
        insecure: false,
    });
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    fleetdeck_agent::spawn(config, listener).await.unwrap()
}

fn sim(node: &str, containers: usize) -> AgentConfig {
    let mut config = AgentConfig::sim(node, 11);
    config.containers = containers;
    config.sim_faults = false;
    config.sample_interval = Duration::from_millis(200);
    config
}

/// The metrics port on loopback (the agent may listen on every address).
fn target(agent: &RunningAgent) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], agent.metrics_addr().unwrap().port()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_agent() {
    if !prometheus::available("prometheus_scrapes_the_agent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = start(sim("prom-1", 5), "127.0.0.1:0", dir.path()).await;
    let prom = Prometheus::start(&[job("fleetdeck", target(&agent), None)]).await;
    prom.wait_for(r#"up{job="fleetdeck"} == 1"#, PATIENCE, |r| r.len() == 1)
        .await;
    let names: Vec<String> = agent
        .snapshot()
        .containers
        .iter()
        .map(|c| c.spec.name.clone())
        .collect();
    let cpu = prom
        .wait_for(
            r#"fleetdeck_container_cpu_usage_ratio{job="fleetdeck"}"#,
            PATIENCE,
            |r| r.len() == 5,
        )
        .await;
    for entry in &cpu {
        let name = entry["metric"]["container"].as_str().unwrap();
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
        assert!(sample_value(entry) >= 0.0, "{entry}");
    }
    let running = prom
        .query(r#"sum(fleetdeck_container_state{job="fleetdeck"})"#)
        .await;
    assert_eq!(sample_value(&running[0]), 5.0, "one state per container");
    let node = prom
        .query(r#"fleetdeck_node_memory_size_bytes{job="fleetdeck"}"#)
        .await;
    assert!(sample_value(&node[0]) > 0.0, "{node:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_mutual_tls_beyond_loopback() {
    if !prometheus::available("prometheus_scrapes_over_mutual_tls_beyond_loopback") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut config = sim("prom-tls", 3);
    config.security = SecurityConfig {
        tls: Some(TlsFiles {
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
            client_ca: Some(pki.ca.clone()),
            crls: vec![pki.crl.clone()],
        }),
        ..SecurityConfig::default()
    };
    // Beyond loopback without --metrics-insecure: allowed because the endpoint has TLS.
    let agent = start(config, "0.0.0.0:0", dir.path()).await;
    assert!(agent.metrics_url().unwrap().starts_with("https://0.0.0.0:"));
    let (cert, key) = (&pki.client.0, &pki.client.1);
    let with_cert = ScrapeTls {
        ca: &pki.ca,
        client: Some((cert, key)),
    };
    let without = ScrapeTls {
        ca: &pki.ca,
        client: None,
    };
    let prom = Prometheus::start(&[
        job("fleetdeck", target(&agent), Some(&with_cert)),
        job("stranger", target(&agent), Some(&without)),
    ])
    .await;
    prom.wait_for(r#"up{job="fleetdeck"} == 1"#, PATIENCE, |r| r.len() == 1)
        .await;
    prom.wait_for(
        r#"fleetdeck_container_info{job="fleetdeck"}"#,
        PATIENCE,
        |r| r.len() == 3,
    )
    .await;
    // A scraper without a client certificate is refused at the handshake.
    prom.wait_for(r#"up{job="stranger"} == 0"#, PATIENCE, |r| r.len() == 1)
        .await;
}

/// `/readyz` status, polled until it is `want` (bounded by [`PATIENCE`]); returns the body.
async fn readyz_becomes(agent: &RunningAgent, want: u16) -> String {
    let since = Instant::now();
    loop {
        let got = prometheus::try_get(target(agent), "/readyz").await;
        if let Ok((status, body)) = &got
            && *status == want
        {
            return body.clone();
        }
        assert!(
            since.elapsed() < PATIENCE,
            "/readyz never answered {want}; last {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_docker_engine() {
    let Some(engine) = Engine::get("readyz_follows_the_docker_engine") else {
        return;
    };
    let docker_socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = UnixProxy::start(&dir.path().join("engine.sock"), Path::new(&docker_socket));
    let web = engine.run("web", &[], "sleep 600");
    let config = AgentConfig {
        node_id: "ready-1".into(),
        runtime: RuntimeKind::Docker,
        sample_interval: Duration::from_millis(200),
        docker: DockerConfig {
            host: Some(proxy.url()),
            scope: Some(engine.scope()),
            ..DockerConfig::default()
        },
        ..AgentConfig::default()
    };
    let agent = start(config, "127.0.0.1:0", dir.path()).await;
    assert_eq!(readyz_becomes(&agent, 200).await, "ready\n");
    // The engine's container has its series.
    let name = engine.name("web");
    let since = Instant::now();
    loop {
        let (_, body) = prometheus::try_get(target(&agent), "/metrics")
            .await
            .unwrap();
        let short = &web[..12];
        let wanted = format!("container=\"{name}\",id=\"{short}\"");
        if body
            .lines()
            .any(|l| l.starts_with("fleetdeck_container_state{") && l.contains(&wanted))
        {
            break;
        }
        assert!(since.elapsed() < PATIENCE, "no series of {name}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    proxy.stop();
    let why = readyz_becomes(&agent, 503).await;
    assert!(why.starts_with("not ready: "), "{why}");
    let (health, _) = prometheus::try_get(target(&agent), "/healthz")
        .await
        .unwrap();
    assert_eq!(health, 200, "the process still serves");

    proxy.resume();
    assert_eq!(readyz_becomes(&agent, 200).await, "ready\n");
    agent.shutdown().await;
}
