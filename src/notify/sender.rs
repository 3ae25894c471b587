//! One task per receiver, fed through its bounded `Outbox`: pushing a notice never waits
//! on the network, so a dead receiver never holds up rule evaluation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::deliver::Receiver;
use super::notice::Notice;
use super::queue::{Outbox, ReceiverStatus};

struct Shared {
    receiver: Receiver,
    outbox: Mutex<Outbox<Notice>>,
    wake: Notify,
    stopping: AtomicBool,
}

impl Shared {
    fn outbox(&self) -> MutexGuard<'_, Outbox<Notice>> {
        // The outbox holds no invariant a panicking holder could break halfway.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A receiver's sender task and its queue; dropping it stops the task at once.
pub struct Sender {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Sender {
    /// Starts the task for `receiver` with a queue of `capacity` notices. Must be called
    /// within a tokio runtime.
    pub fn spawn(receiver: Receiver, capacity: usize) -> Self {
        let outbox = Outbox::new(receiver.name(), capacity);
        let shared = Arc::new(Shared {
            receiver,
            outbox: Mutex::new(outbox),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
        });
        let task = tokio::spawn(run(Arc::clone(&shared)));
        Self {
            shared,
            task: Some(task),
        }
    }

    /// Queues `notice`; returns at once.
    pub fn push(&self, notice: &Notice) {
        let key = self.shared.receiver.dedups().then(|| notice.fingerprint());
        self.shared.outbox().push(key, notice.clone());
        self.shared.wake.notify_one();
    }

    /// True for Alertmanager, which expects firing alerts resent; a webhook gets each
    /// transition once.
    pub fn wants_resends(&self) -> bool {
        matches!(self.shared.receiver, Receiver::Alertmanager(_))
    }

    /// How the receiver is doing.
    pub fn status(&self) -> ReceiverStatus {
        self.shared.outbox().status()
    }

    /// Sends what can be sent within `within` (no waiting out a backoff), then stops.
    /// Returns the standing at the end.
    pub async fn stop(mut self, within: Duration) -> ReceiverStatus {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(within, &mut task).await.is_err() {
                task.abort();
            }
        }
        self.status()
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn run(shared: Arc<Shared>) {
    let mut rng = SmallRng::seed_from_u64(crate::tui::unix_ms());
    let max = shared.receiver.batch_max();
    loop {
        let now = Instant::now();
        let (batch, due) = {
            let mut outbox = shared.outbox();
            (outbox.take(now, max), outbox.due(now))
        };
        if let Some(batch) = batch {
            let notices: Vec<&Notice> = batch.iter().map(|q| &q.item).collect();
            let result = shared.receiver.send(&notices).await;
            let mut outbox = shared.outbox();
            match result {
                Ok(()) => {
                    if let Some(line) = outbox.succeeded(batch.len(), crate::tui::unix_ms()) {
                        tracing::info!("{line}");
                    }
                }
                Err(e) => {
                    let (now, unix_ms) = (Instant::now(), crate::tui::unix_ms());
                    if let Some(line) = outbox.failed(batch, &e, now, unix_ms, &mut rng) {
                        tracing::warn!("{line}");
                    }
                }
            }
            continue;
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(due.unwrap_or(now).into()), if due.is_some() => {}
        }
    }
}
