//! Agent connections: one tokio task per agent watches its node and sends plain
//! [`AgentUpdate`]s to the UI task over a bounded channel. The UI never awaits the network.

mod backoff;
mod connection;
pub mod convert;
pub mod credentials;
pub mod credentials_file;
mod endpoint;
pub mod exec;
mod pool;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use backoff::{Backoff, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP};
pub use connection::{
    AgentConn, LinkError, Sequence, connect_with, fetch_snapshot_on, fetch_snapshot_with,
    watch_forever,
};
pub use credentials::{Credentials, TOKEN_ENV};
pub use endpoint::{
    AddrError, AgentAddr, CONNECT_TIMEOUT, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, parse_all,
};
pub use pool::Connections;

use crate::model::AgentUpdate;

/// Heartbeat interval agents use unless told otherwise.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// Silence after which a stream is taken as dead: three missed heartbeats.
pub const DEFAULT_SILENCE_TIMEOUT: Duration = Duration::from_secs(6);
/// Name the console gives itself in the agents' logs.
pub const CLIENT_NAME: &str = concat!("fleetdeck-console/", env!("CARGO_PKG_VERSION"));

/// How watchers connect and when they give up on a stream.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Sent to the agent for its log.
    pub client_name: String,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// No message for this long (about 3 heartbeats) and the stream is dropped.
    pub silence_timeout: Duration,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    /// Token and TLS settings.
    pub credentials: Credentials,
    /// The console's connections: with them, a watcher's stream shares its agent's one
    /// connection with actions and logs; without, it opens its own with `credentials`.
    pub connections: Option<Connections>,
    /// Ask each agent for its recent history once per connect (beside the stream), so the
    /// heatmap and sparklines are full from the first frame.
    pub history: bool,
    /// Shared by the watchers of one [`Watchers::spawn`]: history waits until every node's
    /// first snapshot is in (or [`HISTORY_GATE_MAX`] passed), so a connect storm's first
    /// full screen does not wait for anyone's history.
    pub first_screen: Option<FirstScreen>,
    /// History calls in flight at once, shared by every watcher made from these options
    /// (clones share it).
    pub history_calls: std::sync::Arc<tokio::sync::Semaphore>,
}

/// History calls the watchers of one console make at a time. Each reply is tens of KiB to
/// decode; 5,000 of them at once kept both the console's and the agents' runtimes so busy
/// that HTTP/2 keepalive pings went unanswered for 5 s and the connections were dropped,
/// which made the console reconnect and ask again. History only fills the heatmap's past,
/// so it can come in a few seconds later.
pub const HISTORY_CALLS_AT_ONCE: usize = 32;

/// Longest a watcher's first History call waits for the other nodes' first snapshots.
pub const HISTORY_GATE_MAX: Duration = Duration::from_secs(3);

/// Counts the watchers still waiting for their first snapshot; opens once all are in.
#[derive(Debug, Clone)]
pub struct FirstScreen {
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Sent once, when the count reaches zero: a waiter is woken once, when it opens. A
    /// channel of the count woke every waiter at every arrival, some 12 million wake-ups
    /// while 5,000 first snapshots came in.
    open: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl FirstScreen {
    /// A count of `watchers` still to bring their first snapshot.
    pub fn new(watchers: usize) -> Self {
        Self {
            waiting: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(watchers)),
            open: std::sync::Arc::new(tokio::sync::watch::Sender::new(watchers == 0)),
        }
    }

    /// One watcher's first snapshot is in (call once per watcher).
    pub fn arrived(&self) {
        use std::sync::atomic::Ordering;
        let before = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if before == Ok(1) {
            self.open.send_replace(true);
        }
    }

    /// Waits until every watcher's first snapshot is in, or `limit` passed.
    pub async fn wait(&self, limit: Duration) {
        let mut rx = self.open.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|open| *open)).await;
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            client_name: CLIENT_NAME.to_string(),
            connect_timeout: CONNECT_TIMEOUT,
            silence_timeout: DEFAULT_SILENCE_TIMEOUT,
            backoff: Backoff::default(),
            credentials: Credentials::default(),
            connections: None,
            history: true,
            first_screen: None,
            history_calls: std::sync::Arc::new(tokio::sync::Semaphore::new(HISTORY_CALLS_AT_ONCE)),
        }
    }
}

/// The running watcher tasks, one per agent; dropping this cancels them all.
#[derive(Debug)]
pub struct Watchers {
    tasks: Vec<JoinHandle<()>>,
}

impl Watchers {
    /// Spawns one watcher per address on the current tokio runtime; updates for
    /// `addrs[i]` carry `slot: i`. Must be called from within a tokio runtime.
    pub fn spawn(
        addrs: &[AgentAddr],
        options: &WatchOptions,
        updates: &mpsc::Sender<AgentUpdate>,
    ) -> Self {
        let options = WatchOptions {
            first_screen: Some(FirstScreen::new(addrs.len())),
            ..options.clone()
        };
        let tasks = addrs
            .iter()
            .enumerate()
            .map(|(slot, addr)| {
                let task = watch_forever(slot, addr.clone(), options.clone(), updates.clone());
                tokio::spawn(task)
            })
            .collect();
        Self { tasks }
    }

    /// Number of watchers.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when there are no watchers.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Cancels every watcher and waits until they have stopped (their sockets closed).
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // A cancelled task reports a JoinError by design; nothing else can come back.
            let _cancelled = task.await;
        }
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_waits_for_every_first_snapshot_or_the_limit() {
        let gate = FirstScreen::new(2);
        let started = tokio::time::Instant::now();
        gate.wait(Duration::from_millis(100)).await;
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "one node still missing"
        );
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait(Duration::from_secs(30)).await }
        });
        gate.arrived();
        gate.arrived();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("opens once every node's first snapshot is in")
            .unwrap();
    }
}
