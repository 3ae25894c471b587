use fleetdeck_proto as pb;

use super::*;

fn ev(epoch: u64, seq: u64, body: Body) -> WatchEvent {
    WatchEvent {
        intents_generation: 0,
        specs_generation: 0,
        epoch,
        seq,
        time_unix_ms: 0,
        body: Some(body),
    }
}
fn snap(epoch: u64, seq: u64) -> WatchEvent {
    ev(epoch, seq, Body::Snapshot(pb::Snapshot::default()))
}
fn delta(epoch: u64, seq: u64) -> WatchEvent {
    ev(epoch, seq, Body::Delta(pb::Delta::default()))
}
fn beat(epoch: u64, seq: u64) -> WatchEvent {
    ev(epoch, seq, Body::Heartbeat(pb::Heartbeat {}))
}

#[test]
fn a_stream_in_order_is_accepted() {
    let mut s = Sequence::default();
    for e in [
        snap(5, 10),
        delta(5, 11),
        beat(5, 11),
        delta(5, 12),
        snap(5, 40),
        delta(5, 41),
    ] {
        s.accept(&e).unwrap();
    }
    // A new epoch is fine when it comes with a snapshot.
    s.accept(&snap(6, 1)).unwrap();
    s.accept(&delta(6, 2)).unwrap();
}

#[test]
fn gaps_restarts_and_a_missing_snapshot_break_the_stream() {
    let e = Sequence::default().accept(&delta(5, 1)).unwrap_err();
    assert!(e.to_string().contains("snapshot"), "{e}");

    let mut s = Sequence::default();
    s.accept(&snap(5, 10)).unwrap();
    let e = s.clone().accept(&delta(5, 12)).unwrap_err();
    assert_eq!(e.to_string(), "missed updates (got 12 after 10)");
    assert!(
        s.clone().accept(&delta(5, 10)).is_err(),
        "a replayed delta is a break too"
    );
    assert!(s.clone().accept(&beat(5, 11)).is_err());
    let e = s.clone().accept(&delta(6, 11)).unwrap_err();
    assert_eq!(e.to_string(), "agent restarted without a snapshot");
    let empty = WatchEvent {
        intents_generation: 0,
        specs_generation: 0,
        epoch: 5,
        seq: 11,
        time_unix_ms: 0,
        body: None,
    };
    assert!(matches!(s.accept(&empty), Err(LinkError::Malformed(_))));
}

#[test]
fn reasons_are_short_and_human() {
    assert_eq!(
        LinkError::Silent(Duration::from_secs(6)).to_string(),
        "no data for 6 s"
    );
    assert_eq!(
        LinkError::Silent(Duration::from_millis(1500)).to_string(),
        "no data for 1.5 s"
    );
    assert_eq!(
        LinkError::Timeout(Duration::from_millis(300)).to_string(),
        "timed out after 300 ms"
    );
    assert_eq!(LinkError::Ended.to_string(), "stream ended");
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(reason(&refused, "x"), "connection refused");
    let status = tonic::Status::unavailable("agent is shutting down\nmore");
    assert_eq!(
        reason(&status, "stream failed"),
        "stream failed: agent is shutting down"
    );
}

/// An error with a cause, as hyper and tonic nest theirs.
#[derive(Debug)]
struct Nested(&'static str, Option<Box<Nested>>);

impl std::fmt::Display for Nested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl StdError for Nested {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

fn nested(texts: &[&'static str]) -> Nested {
    let (first, rest) = texts.split_first().unwrap();
    Nested(first, (!rest.is_empty()).then(|| Box::new(nested(rest))))
}

#[test]
fn an_overloaded_link_is_not_taken_for_a_tls_agent() {
    // What a 5,000-node connect storm gave before: both read as "the agent may require TLS".
    let plain = Credentials::none();
    let keepalive = nested(&["http2 error", "keep-alive timed out", "operation timed out"]);
    assert_eq!(
        link_reason(&keepalive, "watch refused", &plain),
        "keepalive pings unanswered"
    );
    let goaway = nested(&[
        "h2 protocol error: http2 error",
        "connection error received: not a result of an error",
    ]);
    assert_eq!(
        link_reason(&goaway, "watch refused", &plain),
        "the agent closed the connection"
    );
    // A TLS agent's alert read as HTTP/2 still says so.
    let alert = nested(&["h2 protocol error: http2 error", "frame with invalid size"]);
    assert!(link_reason(&alert, "watch refused", &plain).contains("may require TLS"));
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_refused_quickly() {
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: AgentAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let err = fetch_snapshot_with(&addr, "test", Duration::from_secs(3), &Credentials::none())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "connection refused");
}

#[tokio::test]
async fn a_watcher_reports_down_at_once_and_keeps_retrying() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: AgentAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let options = WatchOptions {
        backoff: super::super::Backoff::new(Duration::from_millis(5), Duration::from_millis(20)),
        ..WatchOptions::default()
    };
    let task = tokio::spawn(watch_forever(4, addr, options, tx));
    for _ in 0..3 {
        let update = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap();
        let Some(AgentUpdate::Down { slot, reason }) = update else {
            panic!("{update:?}")
        };
        assert_eq!((slot, reason.as_str()), (4, "connection refused"));
    }
    // Dropping the receiver stops the watcher.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
