//! The History rpc over real gRPC: a viewer may read it, bounds beyond what the agent keeps
//! are refused with a clear message, and the bytes a console's connect costs per node
//! (run with --nocapture to see the figures).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetdeck_agent::AgentConfig;
use fleetdeck_agent::auth::{Role, TOKENS_FILE, tokens};
use fleetdeck_core::history::History;
use fleetdeck_proto as pb;
use fleetdeck_proto::agent_client::AgentClient;
use prost::Message;
use tonic::transport::Channel;

use crate::common::*;

/// Container samples the console asks for (its sparklines' length).
const CONSOLE_CONTAINER_SAMPLES: u32 = 60;
/// gRPC length prefix (5) + HTTP/2 DATA frame header (9).
const FRAMING_BYTES: usize = 14;

fn with_token(token: &str, req: pb::HistoryRequest) -> tonic::Request<pb::HistoryRequest> {
    let mut req = tonic::Request::new(req);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

#[tokio::test]
async fn a_viewer_reads_the_history_and_bounds_beyond_what_is_kept_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast("h1", 5);
    let state = dir.path().join("h1");
    let wall = tokens::create(&state.join(TOKENS_FILE), "wall", Role::Viewer).unwrap();
    config.state_dir = Some(state);
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    let mut c: AgentClient<Channel> = client(&agent).await;
    let reply = c
        .history(with_token(
            &wall,
            pb::HistoryRequest {
                container_samples: 10,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.epoch, agent.epoch());
    let h = History::from_proto(reply).unwrap();
    // The sim's generated past: 600 samples at 50 ms, the rest of its hour in minutes.
    assert_eq!(h.samples.len(), 600);
    assert!(h.minutes.len() >= 58, "{} minutes", h.minutes.len());
    assert_eq!(h.containers.len(), 5);
    assert!(h.containers.iter().all(|c| c.points.len() == 10));
    let err = c
        .history(with_token(
            &wall,
            pb::HistoryRequest {
                node_samples: 100_000,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("node_samples 100000"),
        "{}",
        err.message()
    );
    let anonymous = c.history(pb::HistoryRequest::default()).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    agent.shutdown().await;
}

#[tokio::test]
async fn the_history_a_console_gets_on_connect_is_small_and_a_reconnect_gets_the_gap() {
    // The default 1 s interval and a typical node: 50 containers.
    let config = AgentConfig {
        sample_interval: Duration::from_secs(1),
        ..fast("bytes", 50)
    };
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let ask = pb::HistoryRequest {
        container_samples: CONSOLE_CONTAINER_SAMPLES,
        ..Default::default()
    };
    let reply = c.history(ask).await.unwrap().into_inner();
    let total = reply.encoded_len() + FRAMING_BYTES;
    let samples = reply.samples.as_ref().unwrap();
    let minutes = reply.minutes.as_ref().unwrap();
    let (n_samples, n_minutes) = (samples.time_unix_ms.len(), minutes.time_unix_ms.len());
    let minutes_bytes = minutes.encoded_len();
    let containers_bytes: usize = reply.containers.iter().map(Message::encoded_len).sum();
    let per_minute = minutes_bytes as f64 / n_minutes.max(1) as f64;
    // A node up for a day holds 1,440 minutes: the same series, longer.
    let day = total as f64 + (1440 - n_minutes) as f64 * per_minute;
    println!(
        "history on connect, 50 containers x {CONSOLE_CONTAINER_SAMPLES} samples: {total} B \
         (node samples {n_samples}: {} B; minutes {n_minutes}: {minutes_bytes} B = \
         {per_minute:.1} B each; containers: {containers_bytes} B); \
         with 24 h of minutes about {day:.0} B",
        samples.encoded_len()
    );
    assert_eq!(n_samples, 600);
    assert_eq!(reply.containers.len(), 50);
    // Bounds the connect cost of a node; BENCHMARKS.md records the figures.
    assert!(total < 48 * 1024, "{total} B");
    assert!(day < 64.0 * 1024.0, "{day} B");
    // A reconnect after a 10 s outage asks for the gap only.
    let newest = *History::from_proto(reply)
        .unwrap()
        .samples
        .last()
        .map(|(t, _)| t)
        .unwrap();
    let gap = c
        .history(pb::HistoryRequest {
            since_unix_ms: newest - 10_000,
            container_samples: CONSOLE_CONTAINER_SAMPLES,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let gap_bytes = gap.encoded_len() + FRAMING_BYTES;
    println!("history after a 10 s outage: {gap_bytes} B");
    assert!(gap_bytes < total / 4, "{gap_bytes} B");
    // And the gap is what the reply holds: the last ten seconds or so, nothing older.
    let gap = History::from_proto(gap).unwrap();
    assert!(
        (9..=11).contains(&gap.samples.len()),
        "{}",
        gap.samples.len()
    );
    assert!(gap.samples.iter().all(|(t, _)| *t > newest - 10_000));
    agent.shutdown().await;
}
