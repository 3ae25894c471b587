//! One Watch stream: snapshot first, then deltas and heartbeats through a bounded channel.
//! A client too slow for the broadcast buffer gets a fresh snapshot instead of a gap.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fleetdeck_proto as pb;
use pb::watch_event::Body;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::cancel::Cancel;
use crate::convert;
use crate::host::now_unix_ms;
use crate::hub::Hub;

/// What tonic streams to the client.
pub type WatchStream = ReceiverStream<Result<pb::WatchEvent, Status>>;

/// Starts the producer for one Watch call; every event carries the generation of the
/// node's intents as it is when the event is sent.
pub fn open(
    (hub, intents): (Hub, Arc<AtomicU64>),
    cancel: Cancel,
    heartbeat: Duration,
    buffer: usize,
    client: String,
) -> WatchStream {
    let (tx, rx) = mpsc::channel(buffer.max(1));
    tokio::spawn(async move {
        forward(&hub, &Sender { tx, intents }, &cancel, heartbeat).await;
        tracing::debug!(client, "watch stream ended");
    });
    ReceiverStream::new(rx)
}

/// The stream's side of the channel to tonic, and the intents' generation to stamp.
struct Sender {
    tx: mpsc::Sender<Result<pb::WatchEvent, Status>>,
    intents: Arc<AtomicU64>,
}

/// Sends one event unless the agent stops first; false when the stream is over.
async fn send(out: &Sender, mut ev: pb::WatchEvent, cancel: &Cancel) -> bool {
    ev.intents_generation = out.intents.load(Ordering::Relaxed);
    tokio::select! {
        biased;
        () = cancel.cancelled() => false,
        sent = out.tx.send(Ok(ev)) => sent.is_ok(),
    }
}

async fn forward(hub: &Hub, tx: &Sender, cancel: &Cancel, heartbeat: Duration) {
    let (mut events, snapshot) = hub.subscribe();
    let mut seq = snapshot.seq;
    if !send(tx, snapshot, cancel).await {
        return;
    }
    loop {
        let idle_until = Instant::now() + heartbeat;
        let ev = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            () = tx.tx.closed() => return,
            got = events.recv() => match got {
                Ok(ev) => (*ev).clone(),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "slow watcher: sending a snapshot instead");
                    let (fresh, snapshot) = hub.subscribe();
                    events = fresh;
                    snapshot
                }
                Err(RecvError::Closed) => return,
            },
            () = tokio::time::sleep_until(idle_until) => {
                let mut beat = convert::event(
                    hub.epoch(), seq, now_unix_ms(), Body::Heartbeat(pb::Heartbeat {}),
                );
                beat.specs_generation = hub.specs_generation();
                beat
            }
        };
        seq = ev.seq;
        if !send(tx, ev, cancel).await {
            return;
        }
    }
}
