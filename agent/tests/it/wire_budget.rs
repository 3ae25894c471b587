//! Bytes on the wire for one node with 50 containers (run with --nocapture to see figures).

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use fleetdeck_agent::AgentConfig;
use fleetdeck_proto::watch_event::Body;
use prost::Message;

/// gRPC length prefix (5) + HTTP/2 DATA frame header (9) per message.
const FRAMING_BYTES: usize = 14;

#[tokio::test]
async fn fifty_containers_stay_under_budget() {
    // One sim step per sample whatever the interval, so bytes per delta here equal bytes
    // per second at the default 1 Hz; a short interval keeps the test fast.
    let config = AgentConfig {
        sample_interval: Duration::from_millis(100),
        ..fast("wire", 50)
    };
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let snapshot = next(&mut s).await;
    let (mut deltas, mut bytes, mut stats) = (0_usize, 0_usize, 0_usize);
    while deltas < 30 {
        let ev = next(&mut s).await;
        if let Some(Body::Delta(d)) = &ev.body {
            deltas += 1;
            stats += d.stats.len();
            bytes += ev.encoded_len() + FRAMING_BYTES;
        }
    }
    let per_delta = bytes / deltas;
    println!(
        "snapshot {} B; delta avg {per_delta} B incl. framing ({} stats/delta) => {per_delta} B/s at 1 Hz",
        snapshot.encoded_len(),
        stats / deltas,
    );
    assert!(per_delta < 5_000, "{per_delta} B per delta");
    agent.shutdown().await;
}
