//! One agent connection: connect, watch, check sequencing, convert, forward; on any failure
//! report the node down at once and retry with backoff, until cancelled.

use std::error::Error as StdError;
use std::time::Duration;

use fleetdeck_proto::agent_client::AgentClient;
use fleetdeck_proto::watch_event::Body;
use fleetdeck_proto::{HistoryReply, HistoryRequest, WatchEvent, WatchRequest};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::mpsc;
use tonic::Streaming;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::convert::{self, ConvertError};
use super::credentials::{Credentials, TokenInterceptor};
use super::{AgentAddr, WatchOptions};
use crate::model::{AgentUpdate, CONTAINER_HISTORY_SAMPLES, History, NodeSnapshot};

/// Longest the History call after a stream opens may take; the stream goes on without it.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(20);

/// Reason shown when HTTP/2 pings went unanswered.
const KEEPALIVE_UNANSWERED: &str = "keepalive pings unanswered";
/// Reason shown when the agent ended the connection in order (GOAWAY without an error).
const AGENT_CLOSED: &str = "the agent closed the connection";

/// A History call in flight.
type HistoryCall =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<HistoryReply, String>> + Send>>;

/// Why a link to an agent is not (or no longer) usable; `Display` is the short reason shown
/// on screen ("connection refused", "no data for 6 s").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The address could not be turned into an endpoint.
    #[error("{0}")]
    Address(String),
    /// Opening the connection failed.
    #[error("{0}")]
    Connect(String),
    /// The stream (or the call opening it) failed.
    #[error("{0}")]
    Stream(String),
    /// The agent closed the stream.
    #[error("stream ended")]
    Ended,
    /// Nothing arrived for this long.
    #[error("no data for {}", secs(*.0))]
    Silent(Duration),
    /// A message did not follow the previous one (a gap, or a restart without a snapshot).
    #[error("{0}")]
    OutOfSequence(String),
    /// A message the console cannot use.
    #[error("bad message: {0}")]
    Malformed(#[from] ConvertError),
    /// The whole exchange took longer than allowed.
    #[error("timed out after {}", secs(*.0))]
    Timeout(Duration),
}

/// Tracks the (epoch, seq) a stream has left the console at, so a missed message or an
/// agent restart without a fresh snapshot is caught instead of applied on stale state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequence {
    at: Option<(u64, u64)>,
}

impl Sequence {
    /// Accepts `event` as the next message of the stream, or says why it does not follow.
    pub fn accept(&mut self, event: &WatchEvent) -> Result<(), LinkError> {
        let (epoch, seq) = (event.epoch, event.seq);
        match (&event.body, self.at) {
            (Some(Body::Snapshot(_)), _) => {
                self.at = Some((epoch, seq));
                Ok(())
            }
            (None, _) => Err(ConvertError::EmptyBody.into()),
            (Some(_), None) => Err(LinkError::OutOfSequence(
                "stream did not open with a snapshot".into(),
            )),
            (Some(_), Some((e, _))) if e != epoch => Err(LinkError::OutOfSequence(
                "agent restarted without a snapshot".into(),
            )),
            (Some(Body::Delta(_)), Some((_, last))) if seq != last.wrapping_add(1) => Err(
                LinkError::OutOfSequence(format!("missed updates (got {seq} after {last})")),
            ),
            (Some(Body::Heartbeat(_)), Some((_, last))) if seq != last => {
                Err(LinkError::OutOfSequence(format!(
                    "missed updates (heartbeat at {seq}, have {last})"
                )))
            }
            (Some(_), Some(_)) => {
                self.at = Some((epoch, seq));
                Ok(())
            }
        }
    }
}

/// A connection to one agent that sends the console's token on every call.
pub type AgentConn = AgentClient<InterceptedService<Channel, TokenInterceptor>>;

/// Opens a connection to one agent with `credentials`.
pub async fn connect_with(
    addr: &AgentAddr,
    connect_timeout: Duration,
    credentials: &Credentials,
) -> Result<AgentConn, LinkError> {
    let channel = connect_channel(addr, connect_timeout, credentials).await?;
    Ok(AgentClient::with_interceptor(
        channel,
        credentials.interceptor(),
    ))
}

/// Opens the HTTP/2 connection to one agent (shared by many calls; see
/// [`super::Connections`]).
pub(super) async fn connect_channel(
    addr: &AgentAddr,
    connect_timeout: Duration,
    credentials: &Credentials,
) -> Result<Channel, LinkError> {
    let endpoint = addr
        .endpoint_with(connect_timeout, credentials.tls_config(addr.host()))
        .map_err(|e| LinkError::Address(e.to_string()))?;
    // The endpoint's timeout covers the TCP connect; this one also covers name resolution.
    match tokio::time::timeout(connect_timeout, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(LinkError::Connect(link_reason(
            &e,
            "cannot connect",
            credentials,
        ))),
        Err(_) => Err(LinkError::Connect("connect timed out".into())),
    }
}

/// Why a connection failed, with the likely TLS mismatch named: a plaintext console
/// talking to a TLS agent sees the connection closed, a TLS console a handshake error.
fn link_reason(e: &(dyn StdError + 'static), fallback: &str, credentials: &Credentials) -> String {
    let text = reason(e, fallback);
    let mut chain = String::new();
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        chain.push_str(&c.to_string().to_lowercase());
        chain.push(' ');
        cause = c.source();
    }
    tracing::debug!(target: "fleetdeck::link", "{fallback}: {chain}");
    if credentials.uses_tls() {
        if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake") {
            return format!("TLS handshake failed: {}", tls_detail(&chain));
        }
        // Under TLS 1.3 an agent checks the client's certificate after the client has
        // finished its side of the handshake, so a missing one often shows only as the
        // agent hanging up on the first call, its alert unread.
        if !credentials.has_client_cert() && hung_up(&text, &chain) {
            return "the agent closed the connection: it may require a client certificate; \
                    set `client_cert` and `client_key`"
                .into();
        }
    } else if looks_like_tls(&text, &chain) {
        // A TLS server answers an HTTP/2 preface with an alert (read as a bad frame) or
        // hangs up.
        return "connection closed during setup: the agent may require TLS; set `ca` in the config file".into();
    }
    text
}

/// A plaintext console's failure as a TLS agent causes it: a closed connection or a bad
/// frame. A failure with a cause of its own (keepalive, an orderly GOAWAY) is not one.
fn looks_like_tls(text: &str, chain: &str) -> bool {
    if [KEEPALIVE_UNANSWERED, AGENT_CLOSED].contains(&text) {
        return false;
    }
    text == "connection lost"
        || [
            "connection closed",
            "frame with invalid size",
            "protocol error",
        ]
        .iter()
        .any(|s| chain.contains(s))
}

/// The peer closed or reset the connection.
fn hung_up(text: &str, chain: &str) -> bool {
    text == "connection lost"
        || ["connection closed", "connection reset", "broken pipe"]
            .iter()
            .any(|s| chain.contains(s))
}

/// The useful part of a rustls error chain, on one short line.
fn tls_detail(chain: &str) -> String {
    for (needle, say) in [
        (
            "unknownissuer",
            "the agent's certificate is not signed by `ca`",
        ),
        (
            "notvalidforname",
            "the agent's certificate does not name this host; set `tls_server_name`",
        ),
        ("expired", "a certificate has expired"),
        ("revoked", "a certificate is revoked"),
        (
            "certificaterequired",
            "the agent requires a client certificate; set `client_cert` and `client_key`",
        ),
        ("decrypterror", "bad certificate"),
        (
            "corrupt message",
            "the agent does not speak TLS; remove `ca` from the config file",
        ),
        (
            "invalidcontenttype",
            "the agent does not speak TLS; remove `ca` from the config file",
        ),
    ] {
        if chain.contains(needle) {
            return say.into();
        }
    }
    chain
        .split_whitespace()
        .take(16)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Connects with `credentials`, opens a watch and returns its first message (a snapshot)
/// as `(epoch, seq, snapshot)`, all within `timeout`.
pub async fn fetch_snapshot_with(
    addr: &AgentAddr,
    client_name: &str,
    timeout: Duration,
    credentials: &Credentials,
) -> Result<(u64, u64, NodeSnapshot), LinkError> {
    fetch_snapshot(addr, client_name, timeout, credentials, None).await
}

/// [`fetch_snapshot_with`] on the agent's connection in `conns`.
pub async fn fetch_snapshot_on(
    conns: &super::Connections,
    addr: &AgentAddr,
    client_name: &str,
    timeout: Duration,
) -> Result<(u64, u64, NodeSnapshot), LinkError> {
    fetch_snapshot(addr, client_name, timeout, conns.credentials(), Some(conns)).await
}

async fn fetch_snapshot(
    addr: &AgentAddr,
    client_name: &str,
    timeout: Duration,
    credentials: &Credentials,
    shared: Option<&super::Connections>,
) -> Result<(u64, u64, NodeSnapshot), LinkError> {
    let work = async {
        let (_, mut stream) =
            open_watch(addr, client_name, timeout, timeout, credentials, shared).await?;
        let event = stream
            .message()
            .await
            .map_err(|s| LinkError::Stream(reason(&s, "stream failed")))?
            .ok_or(LinkError::Ended)?;
        Sequence::default().accept(&event)?;
        match event.body {
            Some(Body::Snapshot(s)) => Ok((event.epoch, event.seq, convert::snapshot(s)?)),
            _ => Err(LinkError::OutOfSequence(
                "stream did not open with a snapshot".into(),
            )),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(LinkError::Timeout(timeout)))
}

async fn open_watch(
    addr: &AgentAddr,
    client_name: &str,
    connect_timeout: Duration,
    response_timeout: Duration,
    credentials: &Credentials,
    shared: Option<&super::Connections>,
) -> Result<(AgentConn, Streaming<WatchEvent>), LinkError> {
    let mut client = match shared {
        Some(conns) => conns.client(addr).await?,
        None => connect_with(addr, connect_timeout, credentials).await?,
    };
    let request = WatchRequest {
        client_name: client_name.to_string(),
    };
    match tokio::time::timeout(response_timeout, client.watch(request)).await {
        Ok(Ok(response)) => Ok((client, response.into_inner())),
        Ok(Err(status)) => Err(LinkError::Stream(link_reason(
            &status,
            "watch refused",
            credentials,
        ))),
        Err(_) => Err(LinkError::Silent(response_timeout)),
    }
}

/// Follows the agent in `slot` forever: every message becomes an update on `updates`, every
/// failure an `AgentUpdate::Down` followed by a retry. Returns when `updates` is closed.
pub async fn watch_forever(
    slot: usize,
    addr: AgentAddr,
    options: WatchOptions,
    updates: mpsc::Sender<AgentUpdate>,
) {
    let mut backoff = options.backoff.clone();
    let mut rng = SmallRng::seed_from_u64(jitter_seed(slot));
    // Agent time of the newest host sample passed on: a reconnect asks for what came after.
    let mut newest_ms = 0u64;
    // Until this watcher's first snapshot, it holds back the others' history calls.
    let mut first_screen = options.first_screen.clone();
    loop {
        let failure = match watch_once(
            slot,
            &addr,
            &options,
            &updates,
            &mut backoff,
            &mut newest_ms,
            &mut first_screen,
        )
        .await
        {
            Ok(()) => return,
            Err(e) => e,
        };
        let down = AgentUpdate::Down {
            slot,
            reason: failure.to_string(),
        };
        if updates.send(down).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff.next_delay(&mut rng)).await;
    }
}

/// Asks the agent for its recent history: what came after `since_ms` (0: all it holds),
/// container series as long as the console keeps them.
fn ask_history(
    client: &AgentConn,
    since_ms: u64,
    gate: Option<super::FirstScreen>,
    calls: std::sync::Arc<tokio::sync::Semaphore>,
) -> HistoryCall {
    let mut client = client.clone();
    let request = HistoryRequest {
        since_unix_ms: since_ms,
        node_samples: 0,
        container_samples: CONTAINER_HISTORY_SAMPLES as u32,
        minutes: 0,
    };
    Box::pin(async move {
        if let Some(gate) = gate {
            gate.wait(super::HISTORY_GATE_MAX).await;
        }
        // Held until the reply is decoded; the semaphore is never closed.
        let _slot = calls.acquire_owned().await.ok();
        match tokio::time::timeout(HISTORY_TIMEOUT, client.history(request)).await {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            Ok(Err(status)) => Err(reason(&status, "history refused")),
            Err(_) => Err("history timed out".to_string()),
        }
    })
}

/// The agent time of the newest host sample in `update`, if it carries one.
fn host_time(update: &AgentUpdate) -> Option<u64> {
    match update {
        AgentUpdate::Snapshot { snapshot, .. } => Some(snapshot.host.time_unix_ms),
        AgentUpdate::Delta { delta, .. } => delta.host.as_ref().map(|h| h.time_unix_ms),
        _ => None,
    }
}

/// One connection's life. `Ok(())` means the receiver is gone and the watcher should stop.
/// Once the stream's snapshot is passed on, the agent's history is asked for beside the
/// stream, so the first full screen never waits for it.
async fn watch_once(
    slot: usize,
    addr: &AgentAddr,
    options: &WatchOptions,
    updates: &mpsc::Sender<AgentUpdate>,
    backoff: &mut super::Backoff,
    newest_ms: &mut u64,
    first_screen: &mut Option<super::FirstScreen>,
) -> Result<(), LinkError> {
    let silence = options.silence_timeout;
    let (client, mut stream) = open_watch(
        addr,
        &options.client_name,
        options.connect_timeout,
        silence,
        &options.credentials,
        options.connections.as_ref(),
    )
    .await?;
    let mut sequence = Sequence::default();
    // The generation of the agent's intents passed on to the connections (for the
    // runner's poll, which asks only agents whose intents changed).
    let mut intents_seen = 0u64;
    // The same for the generation of its specs (for the spec refresh).
    let mut specs_seen = 0u64;
    let mut history: Option<HistoryCall> = None;
    let mut asked = false;
    // Only a watcher's first connect waits for the others' first snapshots; a reconnect
    // fills its gap at once.
    let gate = first_screen
        .is_some()
        .then(|| options.first_screen.clone())
        .flatten();
    // One timer for the stream's silence, moved on only when it runs out: a timeout made
    // for every message put an entry in tokio's timer wheel and took it out again, a
    // thousand times a second at a thousand nodes.
    let mut heard = tokio::time::Instant::now();
    let quiet = tokio::time::sleep(silence);
    tokio::pin!(quiet);
    loop {
        let message = tokio::select! {
            message = stream.message() => Ok(message),
            () = &mut quiet => {
                let due = heard + silence;
                if tokio::time::Instant::now() < due {
                    quiet.as_mut().reset(due);
                    continue;
                }
                Err(())
            }
            Some(reply) = async {
                match history.as_mut() {
                    Some(call) => Some(call.await),
                    None => None,
                }
            }, if history.is_some() => {
                history = None;
                if let Some(update) = history_update(slot, addr, reply) {
                    if updates.send(update).await.is_err() {
                        return Ok(());
                    }
                    // Time spent waiting for room in the channel is not the agent's silence.
                    heard = tokio::time::Instant::now();
                }
                continue;
            }
        };
        let event = match message {
            Err(()) => return Err(LinkError::Silent(silence)),
            Ok(Err(status)) => return Err(LinkError::Stream(reason(&status, "stream failed"))),
            Ok(Ok(None)) => return Err(LinkError::Ended),
            Ok(Ok(Some(event))) => event,
        };
        sequence.accept(&event)?;
        if let Some(conns) = &options.connections
            && event.intents_generation != 0
            && intents_seen != event.intents_generation
        {
            intents_seen = event.intents_generation;
            conns.note_intents(&addr.to_string(), intents_seen);
        }
        if let Some(conns) = &options.connections
            && event.specs_generation != 0
            && specs_seen != event.specs_generation
        {
            specs_seen = event.specs_generation;
            conns.note_specs(&addr.to_string(), specs_seen);
        }
        let is_snapshot = matches!(event.body, Some(Body::Snapshot(_)));
        let update = convert::watch_event(slot, event)?;
        let since = *newest_ms;
        if let Some(t) = host_time(&update) {
            *newest_ms = (*newest_ms).max(t);
        }
        if updates.send(update).await.is_err() {
            return Ok(());
        }
        // Heard from now: a wait for room in the channel above is not the agent's silence.
        heard = tokio::time::Instant::now();
        if is_snapshot {
            // A working stream: the next failure is retried quickly again.
            backoff.reset();
            if let Some(gate) = first_screen.take() {
                gate.arrived();
            }
            // Once per connection: a later snapshot on the same stream (a slow reader's)
            // leaves no gap the agent's history could fill.
            if !asked && options.history {
                asked = true;
                history = Some(ask_history(
                    &client,
                    since,
                    gate.clone(),
                    std::sync::Arc::clone(&options.history_calls),
                ));
            }
        }
    }
}

/// The update a History reply makes; `None` (logged) when the agent has none to give,
/// e.g. an agent from before History.
fn history_update(
    slot: usize,
    addr: &AgentAddr,
    reply: Result<HistoryReply, String>,
) -> Option<AgentUpdate> {
    let decoded = reply.and_then(|r| History::from_proto(r).map_err(|e| e.to_string()));
    match decoded {
        Ok(history) => Some(AgentUpdate::History {
            slot,
            epoch: history.epoch,
            history: Box::new(history),
        }),
        Err(why) => {
            tracing::debug!("no history from {addr}: {why}");
            None
        }
    }
}

/// A short human reason for a transport error or a gRPC status, from its cause chain.
fn reason(err: &(dyn StdError + 'static), fallback: &str) -> String {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    let mut texts = Vec::new();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_reason(io);
        }
        if let Some(status) = e.downcast_ref::<tonic::Status>() {
            texts.push(status.message().to_string());
        } else {
            texts.push(e.to_string());
        }
        cause = e.source();
    }
    let all = texts.join(": ").to_lowercase();
    if all.contains("keep-alive timed out") {
        // One side's runtime too busy to answer pings for KEEPALIVE_TIMEOUT (an overloaded
        // console or agent), or the peer gone: not a failure to connect.
        KEEPALIVE_UNANSWERED.into()
    } else if all.contains("not a result of an error") {
        // HTTP/2 GOAWAY with NO_ERROR: the agent shut the connection down in order (its own
        // keepalive ran out, or it is stopping).
        AGENT_CLOSED.into()
    } else if all.contains("timed out") || all.contains("elapsed") {
        "connect timed out".into()
    } else if all.contains("dns") || all.contains("lookup") || all.contains("resolve") {
        "host not found".into()
    } else if all.contains("connection reset") || all.contains("broken pipe") {
        "connection lost".into()
    } else if let Some(text) = texts.into_iter().rev().find(|t| !t.trim().is_empty()) {
        // The innermost cause says the most; keep it to one short line.
        let line: String = text
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect();
        format!("{fallback}: {line}")
    } else {
        fallback.to_string()
    }
}

fn io_reason(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::TimedOut => "connect timed out".into(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            "connection lost".into()
        }
        K::NotFound => "host not found".into(),
        _ if io.to_string().contains("lookup") => "host not found".into(),
        kind => kind.to_string(),
    }
}

/// "6 s", "1.5 s", "250 ms": durations as the reasons show them.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Different per slot and per run, so consoles and connections do not retry in lockstep.
fn jitter_seed(slot: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
