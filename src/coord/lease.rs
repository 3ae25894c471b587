//! An action's hold on its locks: the lease renewed in the background, and the signal
//! that tells the executor to stop when it can no longer be renewed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_core::cancel::{self, Cancel, CancelSource};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::keys::{self, FailoverClaim, Holder, Wanted};
use super::{Coord, EtcdError};

/// Locks held for one running action; release it when the action ends.
#[derive(Debug)]
pub struct Guard {
    coord: Coord,
    lease: i64,
    holder: Holder,
    wanted: Wanted,
    /// Fires on the operator's cancel or the loss of the lease.
    cancel: Cancel,
    /// Why the lease was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
    stop: CancelSource,
    task: JoinHandle<()>,
}

impl Guard {
    pub(super) fn start(
        coord: Coord,
        lease: i64,
        holder: Holder,
        wanted: Wanted,
        operator: Cancel,
    ) -> Self {
        let (fire, cancel) = cancel::channel();
        let (stop, stopped) = cancel::channel();
        let lost = Arc::new(Mutex::new(None));
        let task = tokio::spawn(keep_alive(
            coord.clone(),
            lease,
            operator,
            stopped,
            fire,
            lost.clone(),
        ));
        Self {
            coord,
            lease,
            holder,
            wanted,
            cancel,
            lost,
            stop,
            task,
        }
    }

    /// The signal the action runs under: the operator's cancel or the lease lost.
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The lease the locks are bound to (an intent's live key is bound to it too).
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// The action's id in etcd.
    pub fn id(&self) -> &str {
        &self.holder.id
    }

    /// Why the lease was lost, when it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// Records in etcd that the failover this guard claimed re-created `names`; it stays
    /// after the locks go, so the node is not failed over again.
    pub async fn record_failover(&self, names: &[String]) -> Result<(), EtcdError> {
        let Some((node, epoch)) = &self.wanted.failover else {
            return Ok(());
        };
        let claim = FailoverClaim {
            by: self.holder.clone(),
            epoch: *epoch,
            names: names.to_vec(),
        };
        let key = keys::failover_key(self.coord.etcd.prefix(), node, *epoch);
        let value = serde_json::to_vec(&claim).unwrap_or_default();
        self.coord.etcd.put(&key, &value, 0).await
    }

    /// Stops renewing and revokes the lease, which deletes every lock it holds (a lease
    /// that cannot be revoked now expires within its TTL).
    pub async fn release(self) {
        self.stop.cancel();
        let _ = self.task.await;
        if let Err(e) = self.coord.etcd.revoke(self.lease).await {
            tracing::warn!(
                "could not release the etcd locks of action {}: {e}; they expire within {} s",
                self.holder.id,
                self.coord.ttl.as_secs()
            );
        }
    }
}

/// Renews `lease` every third of its TTL until `stopped`; passes the operator's cancel on
/// to `fire`, and fires it too, with the reason in `lost`, once the lease may have expired:
/// etcd said it is gone, or two thirds of the TTL passed without a renewal (etcd down,
/// refusing, or too slow to answer), which leaves the action a third of the TTL to stop
/// before another console could take its locks.
async fn keep_alive(
    coord: Coord,
    lease: i64,
    operator: Cancel,
    stopped: Cancel,
    fire: CancelSource,
    lost: Arc<Mutex<Option<String>>>,
) {
    let ttl = coord.ttl;
    let every = ttl / 3;
    let retry = (ttl / 10).max(Duration::from_millis(200));
    let mut last_ok = Instant::now();
    let mut next = last_ok + every;
    let mut last_error = String::from("no answer");
    let mut passed_on = false;
    loop {
        tokio::select! {
            () = stopped.cancelled() => return,
            // The locks stay renewed while the action rolls back.
            () = operator.cancelled(), if !passed_on => {
                fire.cancel();
                passed_on = true;
                continue;
            }
            () = tokio::time::sleep_until(next) => {}
        }
        let limit = last_ok + ttl * 2 / 3;
        let asked = Instant::now();
        let answer = if asked >= limit {
            None
        } else {
            let wait = limit - asked;
            tokio::time::timeout(wait, coord.etcd.keepalive(lease, wait))
                .await
                .ok()
        };
        let reason = match answer {
            Some(Ok(t)) if t > 0 => {
                last_ok = asked;
                next = asked + every;
                continue;
            }
            Some(Ok(_)) => Some("etcd says the lease expired".to_string()),
            other => {
                if let Some(Err(e)) = other {
                    last_error = e.to_string();
                }
                let silent = Instant::now().duration_since(last_ok);
                (Instant::now() >= limit).then(|| {
                    format!(
                        "not renewed for {:.1} s: {last_error}",
                        silent.as_secs_f32()
                    )
                })
            }
        };
        if let Some(why) = reason {
            if let Ok(mut l) = lost.lock() {
                *l = Some(why);
            }
            fire.cancel();
            stopped.cancelled().await;
            return;
        }
        next = (Instant::now() + retry).min(limit);
    }
}
