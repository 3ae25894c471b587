//! Hostile clients over real gRPC: raw malformed and oversized protobuf bodies, unknown enum
//! values, traversal / NUL / shell metacharacters in every field that reaches the engine,
//! stream caps, per-caller action rates, and watchers that never read. After each, the
//! agent still serves an honest client.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{STEP, client, fast, start, watch};
use fleetdeck_agent::config::LimitsConfig;
use fleetdeck_proto as pb;
use pb::watch_event::Body;
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Sends bytes as they are and returns the response body's bytes: a client that can say
/// anything, which a generated client never would.
#[derive(Default, Clone)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn raw_call(addr: std::net::SocketAddr, method: &str, body: Vec<u8>) -> tonic::Status {
    let ch = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_maybe_shared(format!("/fleetdeck.v1.Agent/{method}"))
        .unwrap();
    let r = grpc
        .server_streaming(tonic::Request::new(body), path, Raw)
        .await;
    match r {
        Err(s) => s,
        Ok(resp) => {
            let mut s = resp.into_inner();
            match tokio::time::timeout(STEP, s.message()).await.unwrap() {
                Err(status) => status,
                Ok(m) => tonic::Status::new(tonic::Code::Ok, format!("{m:?}")),
            }
        }
    }
}

async fn still_serves(agent: &fleetdeck_agent::RunningAgent) {
    let mut c = client(agent).await;
    let mut s = watch(&mut c).await;
    let first = common::next(&mut s).await;
    assert!(matches!(first.body, Some(Body::Snapshot(_))));
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_and_the_agent_lives_on() {
    let (agent, _dir) = start(fast("h1", 4)).await;
    let addr = agent.addr();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A field 1 (string) claiming 100 bytes with 3 present.
        ("Act", vec![0x0a, 100, b'a', b'b', b'c']),
        // Wire type 7 does not exist.
        ("Act", vec![0x0f, 0x01]),
        // A varint that never ends.
        (
            "Watch",
            vec![0x08; 11].into_iter().chain([0xff; 11]).collect(),
        ),
        ("Logs", vec![0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]),
    ];
    for (method, body) in cases {
        let status = raw_call(addr, method, body.clone()).await;
        assert_ne!(status.code(), tonic::Code::Ok, "{method} {body:?} accepted");
        assert!(
            status.message().to_lowercase().contains("decode")
                || status.code() == tonic::Code::Internal,
            "{method}: {status:?}"
        );
    }
    // Two megabytes: more than the 1 MiB cap, refused before it is decoded.
    let huge = {
        let mut b = vec![0x0a];
        let len = 2 * 1024 * 1024u32;
        prost::encoding::encode_varint(u64::from(len), &mut b);
        b.extend(std::iter::repeat_n(b'x', len as usize));
        b
    };
    let status = raw_call(addr, "Act", huge).await;
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("message length too large"),
        "{status:?}"
    );
    // An rpc the agent does not have needs admin first, then is unimplemented.
    let status = raw_call(addr, "Restore", vec![]).await;
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    still_serves(&agent).await;
    agent.shutdown().await;
}

fn act(container: &str, verb: i32) -> pb::ActRequest {
    pb::ActRequest {
        action_id: format!("id-{}", container.len()),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb,
            container: container.into(),
        })),
        ..Default::default()
    }
}

async fn act_error(
    c: &mut fleetdeck_proto::agent_client::AgentClient<Channel>,
    req: pb::ActRequest,
) -> pb::ActError {
    let msgs = common::act(c, req.clone()).await;
    match msgs.last().and_then(|m| m.result.clone()) {
        Some(pb::act_progress::Result::Error(e)) => e,
        other => panic!("{req:?} -> {other:?}"),
    }
}

#[tokio::test]
async fn hostile_names_and_unknown_enums_are_invalid_and_audited() {
    let (agent, dir) = start(fast("h2", 4)).await;
    let mut c = client(&agent).await;
    let hostile = [
        "../../etc/passwd",
        "web\0",
        "web; rm -rf /",
        "$(reboot)",
        "`id`",
        "a|b",
        "..",
        "/..",
        "web\nforged audit line",
    ];
    for (i, name) in hostile.iter().enumerate() {
        let mut req = act(name, pb::container_action::Verb::Stop as i32);
        req.action_id = format!("h{i}");
        let e = act_error(&mut c, req).await;
        assert_eq!(
            e.kind(),
            pb::ActErrorKind::Invalid,
            "{name:?}: {}",
            e.message
        );
        assert!(
            !e.message.contains('\n') && !e.message.contains('\0'),
            "{}",
            e.message
        );
        let logs = c
            .logs(pb::LogsRequest {
                container: (*name).into(),
                tail: 10,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(logs.code(), tonic::Code::InvalidArgument, "{name:?}");
    }
    // Unknown enum values: a verb the agent does not know is invalid, never a default.
    let mut req = act("web-1", 99);
    req.action_id = "u1".into();
    let e = act_error(&mut c, req).await;
    assert_eq!(e.kind(), pb::ActErrorKind::Invalid);
    let mut req = act("web-1", 1);
    req.action = Some(pb::act_request::Action::Node(pb::NodeAction { verb: -5 }));
    req.action_id = "u2".into();
    assert_eq!(
        act_error(&mut c, req).await.kind(),
        pb::ActErrorKind::Invalid
    );
    // Control characters in the ids that go to the audit log.
    let mut req = act("web-1", 2);
    req.action_id = "a\nb".into();
    assert_eq!(
        act_error(&mut c, req).await.kind(),
        pb::ActErrorKind::Invalid
    );
    let mut req = act("web-1", 2);
    req.action_id = "ok-id".into();
    req.requested_by = "eve\u{1b}[2J".into();
    assert_eq!(
        act_error(&mut c, req).await.kind(),
        pb::ActErrorKind::Invalid
    );

    let text = std::fs::read_to_string(dir.path().join("h2").join("audit.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        hostile.len() + 4,
        "one audit line per request:\n{text}"
    );
    assert!(!text.contains("forged audit line\n"), "no forged line");
    still_serves(&agent).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn watch_streams_are_capped_and_actions_rate_limited() {
    let mut config = fast("h3", 4);
    config.limits = LimitsConfig {
        max_watch_streams: 3,
        max_logs_streams: 1,
        action_burst: 2,
        actions_per_sec: 1,
        ..LimitsConfig::default()
    };
    let (agent, dir) = start(config).await;
    let mut c = client(&agent).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(watch(&mut c).await);
    }
    let e = c.watch(pb::WatchRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(e.message().contains("3 Watch streams"), "{}", e.message());
    drop(open.pop());
    // The slot frees once the server notices the stream is gone.
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        match c.watch(pb::WatchRequest::default()).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(e.code(), tonic::Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("slot never freed: {e}"),
        }
    }

    let node = pb::act_request::Action::Node(pb::NodeAction {
        verb: pb::node_action::Verb::SetActive as i32,
    });
    let mut codes = Vec::new();
    for i in 0..3 {
        let req = pb::ActRequest {
            action_id: format!("r{i}"),
            action: Some(node.clone()),
            ..Default::default()
        };
        codes.push(match c.act(req).await {
            Ok(_) => tonic::Code::Ok,
            Err(s) => {
                assert!(s.message().contains("too many actions"), "{s:?}");
                s.code()
            }
        });
    }
    assert_eq!(
        codes,
        [
            tonic::Code::Ok,
            tonic::Code::Ok,
            tonic::Code::ResourceExhausted
        ]
    );
    let text = std::fs::read_to_string(dir.path().join("h3").join("audit.jsonl")).unwrap();
    assert!(text.contains("too many actions"), "{text}");
    agent.shutdown().await;
}

#[tokio::test]
async fn watchers_that_never_read_stay_bounded() {
    let mut config = fast("h4", 60);
    config.sample_interval = Duration::from_millis(10);
    let (agent, _dir) = start(config).await;
    // Each stalled watcher on its own connection with the smallest HTTP/2 windows.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut c = common::small_window_client(&agent).await;
        stalled.push((watch(&mut c).await, c));
    }
    let seq_before = agent.seq();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let produced = agent.seq() - seq_before;
    assert!(
        produced > 100,
        "the agent kept changing ({produced} versions)"
    );
    // A stalled stream, read now, catches up by a fresh snapshot well before it could have
    // replayed every version: nothing queued the whole backlog.
    let (s, _) = &mut stalled[0];
    let mut read = 0;
    let mut snapshots = 0;
    while snapshots < 2 {
        let ev = common::next(s).await;
        read += 1;
        if matches!(ev.body, Some(Body::Snapshot(_))) {
            snapshots += 1;
        }
        assert!(
            read < produced,
            "read {read} of {produced} without a fresh snapshot"
        );
    }
    still_serves(&agent).await;
    drop(stalled);
    agent.shutdown().await;
}
