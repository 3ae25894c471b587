//! `fleetdeck monitor` (the real binary) posting to webhooks: a local HTTP/1.1 receiver
//! gets Slack-format JSON for firing and for resolved, with the bearer token from the
//! config; its first refusal is retried; a dead webhook beside it holds nothing up.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetdeck_agent::NodeMode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::alertmanager::free_port;
use crate::support::monitor::{self, Monitor};
use crate::support::ops::Cluster;

/// Bound on anything the test waits for, so a broken build fails instead of hanging.
const WAIT: Duration = Duration::from_secs(30);
/// Largest request body the receiver reads.
const BODY_MAX: usize = 1 << 20;

/// One request as the receiver read it.
#[derive(Debug)]
struct Request {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// A tiny HTTP/1.1 receiver on loopback: reads each request, answers 503 to the first
/// `refuse` of them and 204 to the rest, and hands every request to the test.
async fn receiver(refuse: usize) -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/T0/B0/secret",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let mut stream = BufReader::new(stream);
            // Keep-alive: several requests may come on one connection.
            while let Some(req) = read_request(&mut stream).await {
                seen += 1;
                let reply: &[u8] = if seen <= refuse {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"
                } else {
                    b"HTTP/1.1 204 No Content\r\n\r\n"
                };
                if stream.get_mut().write_all(reply).await.is_err() {
                    break;
                }
                if tx.send(req).await.is_err() {
                    return;
                }
            }
        }
    });
    (url, rx)
}

async fn read_request(stream: &mut BufReader<tokio::net::TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if stream.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let (mut length, mut authorization, mut content_type) = (0, None, None);
    loop {
        line.clear();
        stream.read_line(&mut line).await.ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim().to_string();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "authorization" => authorization = Some(value),
            "content-type" => content_type = Some(value),
            _ => {}
        }
    }
    assert!(length <= BODY_MAX, "body of {length} bytes");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Request {
        path,
        authorization,
        content_type,
        body: serde_json::from_slice(&body).unwrap(),
    })
}

async fn next(rx: &mut mpsc::Receiver<Request>, what: &str, mon: &Monitor) -> Request {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(r)) => r,
        _ => panic!("no {what} request\nmonitor log:\n{}", mon.log()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_webhook_gets_firing_and_resolved_and_a_refusal_is_retried() {
    let (url, mut rx) = receiver(1).await;
    let dead = format!("http://127.0.0.1:{}/dead", free_port());
    let mut cluster = Cluster::start(&[NodeMode::Active, NodeMode::Active], 2).await;
    let notify = format!(
        "[[notify.webhook]]\nurl = {dead:?}\nformat = \"json\"\n\n\
         [[notify.webhook]]\nurl = {url:?}\nformat = \"slack\"\n\
         auth = {{ bearer_token_file = \"hook.token\" }}\n"
    );
    let mut mon = Monitor::start_in(
        &monitor::config(&notify),
        &cluster.endpoints(),
        &[],
        |dir| std::fs::write(dir.join("hook.token"), "s3cret\n").unwrap(),
    );
    mon.wait_status("every agent live", WAIT, |s| s["agents_live"] == 2)
        .await;

    cluster.nodes[0].kill().await;
    let refused = next(&mut rx, "firing", &mon).await;
    let firing = next(&mut rx, "retried firing", &mon).await;
    assert_eq!(
        refused.body, firing.body,
        "the refused message is sent again"
    );
    assert_eq!(firing.path, "/hooks/T0/B0/secret");
    assert_eq!(firing.authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(firing.content_type.as_deref(), Some("application/json"));
    let b = &firing.body;
    assert_eq!(
        b["text"], "[FIRING] critical node-unreachable: node unreachable on n1",
        "{b}"
    );
    let a = &b["attachments"][0];
    assert_eq!(a["color"], "danger", "{b}");
    assert!(
        a["text"]
            .as_str()
            .unwrap()
            .contains("Run: `fleetdeck failover n1`"),
        "{b}"
    );
    assert!(
        a["fields"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"title": "node", "value": "n1", "short": true}))
    );

    cluster.nodes[0].restart().await;
    let resolved = next(&mut rx, "resolved", &mon).await;
    let b = &resolved.body;
    assert_eq!(
        b["text"], "[RESOLVED] critical node-unreachable: node unreachable on n1",
        "{b}"
    );
    assert_eq!(b["attachments"][0]["color"], "good", "{b}");

    let s = mon
        .wait_status("both receivers reported", WAIT, |s| {
            s["receivers"][1]["sent"] == 2
        })
        .await;
    let dead_r = &s["receivers"][0];
    assert!(
        dead_r["name"].as_str().unwrap().ends_with("/…"),
        "no path shown: {s}"
    );
    assert!(dead_r["failing_since_unix_ms"].is_u64(), "{s}");
    assert!(
        !mon.log().contains("secret"),
        "webhook paths stay out of the log:\n{}",
        mon.log()
    );
    assert_eq!(mon.terminate(WAIT).await.code(), Some(0));
}
