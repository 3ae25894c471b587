//! A console whose token may not read container specs (a wall with a viewer token) asks
//! each agent once, not every refresh: its periodic refresh must not fill the agent's audit
//! log with refusals. Real agent on loopback, real gRPC, the console's own refresher.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use fleetdeck::client::{CONNECT_TIMEOUT, Connections, Credentials};
use fleetdeck::ops::specs::SpecCache;
use fleetdeck_agent::AgentConfig;
use fleetdeck_agent::auth::{Role, TOKENS_FILE, tokens};

#[tokio::test]
async fn a_viewer_console_asks_for_specs_once_and_is_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("w1");
    let viewer = tokens::create(&state.join(TOKENS_FILE), "wall", Role::Viewer).unwrap();
    let ops = tokens::create(&state.join(TOKENS_FILE), "ops", Role::Operator).unwrap();
    let config = AgentConfig {
        containers: 3,
        sample_interval: Duration::from_millis(100),
        state_dir: Some(state.clone()),
        ..AgentConfig::sim("w1", 3)
    };
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    let endpoints = vec![agent.addr().to_string()];
    let refusals = || {
        std::fs::read_to_string(state.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ListSpecs"))
            .count()
    };

    let wall = Connections::new(
        Credentials::none().with_token(&viewer).unwrap(),
        CONNECT_TIMEOUT,
    );
    let mut cache = SpecCache::default();
    let mut denied = BTreeSet::new();
    for _ in 0..5 {
        assert_eq!(
            cache.refresh_allowed(&wall, &endpoints, &mut denied).await,
            0
        );
    }
    assert_eq!(refusals(), 1, "asked once, refused once");
    assert!(denied.contains(&endpoints[0]));

    // An operator console gets the specs, and nothing more is refused.
    let console = Connections::new(
        Credentials::none().with_token(&ops).unwrap(),
        CONNECT_TIMEOUT,
    );
    let mut denied = BTreeSet::new();
    assert_eq!(
        cache
            .refresh_allowed(&console, &endpoints, &mut denied)
            .await,
        1
    );
    assert_eq!(
        wall.open_count(),
        1,
        "one connection per agent, however often asked"
    );
    assert_eq!(cache.nodes["w1"].specs().len(), 3);
    assert!(denied.is_empty());
    assert_eq!(refusals(), 1);
    agent.shutdown().await;
}
