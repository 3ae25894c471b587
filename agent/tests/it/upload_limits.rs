//! The call limit does not cut off an upload that keeps sending (a large volume copy takes
//! as long as its data needs), while an upload that stops sending is ended; other calls keep
//! the limit. A stream that breaks is told apart from an archive that is corrupt. Real
//! agent, real gRPC, with the limit lowered to one second.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use fleetdeck_agent::AgentConfig;
use fleetdeck_proto as pb;
use pb::container_action::Verb as CV;

const LIMIT: Duration = Duration::from_secs(1);

fn limited(node: &str) -> AgentConfig {
    let mut config = AgentConfig {
        sim_faults: false,
        ..fast(node, 4)
    };
    config.limits.call_timeout = LIMIT;
    config
}

/// A stopped container of `agent`, ready to take volume data.
async fn stopped(agent: &fleetdeck_agent::RunningAgent) -> String {
    let name = agent.snapshot().containers[0].spec.name.clone();
    let mut c = client(agent).await;
    let msgs = act(&mut c, container_req("stop", CV::Stop, &name)).await;
    assert!(
        matches!(result(&msgs), pb::act_progress::Result::Done(_)),
        "{msgs:?}"
    );
    name
}

/// A tar holding `data/slow.txt` with `body`.
fn archive(body: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "data/slow.txt", body).unwrap();
    b.into_inner().unwrap()
}

/// Sends `tar` to `container` in small chunks, waiting `gaps[i]` before chunk `i`.
async fn upload(
    agent: &fleetdeck_agent::RunningAgent,
    container: &str,
    tar: Vec<u8>,
    gaps: Vec<Duration>,
) -> Result<pb::WriteVolumesReply, tonic::Status> {
    let size = tar.len().div_ceil(gaps.len());
    let chunks: Vec<Vec<u8>> = tar.chunks(size).map(<[u8]>::to_vec).collect();
    assert_eq!(chunks.len(), gaps.len());
    let head = pb::DataChunk {
        container: container.to_string(),
        data: Vec::new(),
    };
    let body = futures::stream::iter(chunks.into_iter().zip(gaps)).then(|(data, gap)| async move {
        tokio::time::sleep(gap).await;
        pb::DataChunk {
            container: String::new(),
            data,
        }
    });
    let stream = futures::stream::once(async { head }).chain(body);
    let mut c = client(agent).await;
    c.write_volumes(stream)
        .await
        .map(tonic::Response::into_inner)
}

/// The file names and contents ReadVolumes gives for `container`.
async fn read_back(
    agent: &fleetdeck_agent::RunningAgent,
    container: &str,
) -> Vec<(String, Vec<u8>)> {
    let mut c = client(agent).await;
    let mut s = c
        .read_volumes(pb::ReadVolumesRequest {
            container: container.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = s.message().await.unwrap() {
        bytes.extend(chunk.data);
    }
    let mut out = Vec::new();
    for e in tar::Archive::new(bytes.as_slice()).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        out.push((path, body));
    }
    out
}

use futures::StreamExt;

#[tokio::test]
async fn an_upload_that_keeps_sending_outlasts_the_call_limit() {
    let (agent, _dir) = start(limited("n1")).await;
    let name = stopped(&agent).await;
    let body = b"written over two and a half seconds".repeat(100);
    // Ten chunks, 250 ms apart: 2.5 s in all, each gap well under the 1 s limit.
    let gaps = vec![Duration::from_millis(250); 10];
    let reply = upload(&agent, &name, archive(&body), gaps).await;
    assert!(reply.is_ok(), "{reply:?}");
    let files = read_back(&agent, &name).await;
    assert!(
        files
            .iter()
            .any(|(p, b)| p.ends_with("data/slow.txt") && *b == body),
        "{:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_upload_that_stops_sending_is_ended_and_keeps_nothing() {
    let (agent, _dir) = start(limited("n1")).await;
    let name = stopped(&agent).await;
    let before = read_back(&agent, &name).await;
    let gaps = vec![Duration::ZERO, Duration::ZERO, LIMIT * 3, Duration::ZERO];
    let err = upload(&agent, &name, archive(&[7; 4096]), gaps)
        .await
        .expect_err("a silent upload must end");
    assert!(err.message().contains("no data for 1 s"), "{err:?}");
    assert_eq!(err.code(), tonic::Code::Aborted, "{err:?}");
    assert!(err.message().contains("stream broke"), "{err:?}");
    assert_eq!(read_back(&agent, &name).await, before, "nothing written");
}

/// DataChunk with its `container` field as raw bytes, so a test can send one the agent
/// cannot decode: the stream breaks on the agent's side while the call stays up.
#[derive(Clone, PartialEq, prost::Message)]
struct RawChunk {
    #[prost(bytes = "vec", tag = "1")]
    container: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    data: Vec<u8>,
}

#[tokio::test]
async fn a_stream_that_breaks_mid_archive_is_aborted_not_called_corrupt() {
    let (agent, _dir) = start(limited("n1")).await;
    let name = stopped(&agent).await;
    let before = read_back(&agent, &name).await;
    let tar = archive(&[7; 8192]);
    let half = tar.len() / 2;
    let chunks = vec![
        RawChunk {
            container: name.clone().into_bytes(),
            data: Vec::new(),
        },
        RawChunk {
            container: Vec::new(),
            data: tar[..half].to_vec(),
        },
        // Not UTF-8 in a string field: the agent's stream fails to decode it.
        RawChunk {
            container: vec![0xff, 0xfe],
            data: tar[half..].to_vec(),
        },
    ];
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", agent.addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/fleetdeck.v1.Agent/WriteVolumes");
    let codec = tonic_prost::ProstCodec::<RawChunk, pb::WriteVolumesReply>::default();
    let err = grpc
        .client_streaming(
            tonic::Request::new(futures::stream::iter(chunks)),
            path,
            codec,
        )
        .await
        .expect_err("a broken stream must fail");
    assert_eq!(err.code(), tonic::Code::Aborted, "{err:?}");
    assert!(err.message().contains("stream broke"), "{err:?}");
    assert_eq!(read_back(&agent, &name).await, before, "nothing written");
}

#[tokio::test]
async fn an_archive_that_ends_early_is_invalid() {
    let (agent, _dir) = start(limited("n1")).await;
    let name = stopped(&agent).await;
    let before = read_back(&agent, &name).await;
    let mut tar = archive(&[7; 8192]);
    tar.truncate(tar.len() / 2);
    let gaps = vec![Duration::ZERO; 2];
    let err = upload(&agent, &name, tar, gaps)
        .await
        .expect_err("a truncated archive must be refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("truncated or corrupt"), "{err:?}");
    assert!(!err.message().contains("stream broke"), "{err:?}");
    assert_eq!(read_back(&agent, &name).await, before, "nothing written");
}
